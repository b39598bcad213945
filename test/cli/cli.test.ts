import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastJson, makeBarFolder, startTsgrad, tempDir, tsgrad } from '../helpers/cli-run.js';

/** A temporary folder holding data/left and data/right: 16×16 PNGs, a bar on either side. */
function makeFolder(perClass: number): string {
  const root = tempDir('cli');
  makeBarFolder(root, perClass);
  return root;
}

test('help and usage errors exit with clear messages, no stack traces', () => {
  const h = tsgrad('--help');
  assert.equal(h.code, 0);
  for (const c of ['train', 'eval', 'predict', 'summary', 'resume']) assert.match(h.stdout, new RegExp(c));
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['train', '--model', 'nope'], /--model must be one of lenet5, lenet5-classic, alexnet, .*densenet201; got 'nope'/],
    [['train', '--epochs', 'abc'], /--epochs must be an integer; got 'abc'/],
    [['train', '--epochs', '0'], /--epochs must be >= 1/],
    [['train', '--bogus'], /unknown option --bogus/],
    [['train', '--dataset', '/no/such/folder'], /--dataset \/no\/such\/folder: the folder does not exist/],
    [['eval'], /--checkpoint DIR is required/],
    [['resume', '/no/such/run'], /not a tsgrad run directory/],
  ];
  for (const [args, re] of cases) {
    const r = tsgrad(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('bad arguments never leave a run directory behind', () => {
  const root = tempDir('cli');
  const out = join(root, 'run');
  const r = tsgrad('train', '--dataset', join(root, 'missing'), '--out', out);
  assert.equal(r.code, 2);
  assert.equal(existsSync(out), false);
});

test('summary prints the layer table and LeNet-5 totals', () => {
  const r = tsgrad('summary', '--model', 'lenet5');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /features\.0 Conv2d\(1, 6, kernel=5x5, padding=2\)\s+\[1, 6, 28, 28\]\s+156/);
  assert.match(r.stdout, /Total params: 61,706/);
});

test("summary --model NAME prints a zoo model's torchvision parameter count at 224x224, 1000 classes", () => {
  for (const [name, count] of [
    ['resnet50', '25,557,032'],
    ['densenet121', '7,978,856'],
  ]) {
    const r = tsgrad('summary', '--model', name!);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Total params: ${count}\\n`));
    assert.match(r.stdout, /\[1, 1000\]/);
  }
  const small = tsgrad('summary', '--model', 'resnet18', '--size', '32', '--classes', '10');
  assert.match(small.stdout, /conv1 Conv2d\(3, 64, kernel=3x3, padding=1, bias=false\)\s+\[1, 64, 32, 32\]/);
});

test('train on a folder, then eval, predict and resume the run', () => {
  const root = makeFolder(40);
  const out = join(root, 'run');
  const t = tsgrad(
    'train',
    '--dataset',
    join(root, 'data'),
    '--epochs',
    '2',
    '--batch-size',
    '8',
    '--lr',
    '0.01',
    '--augment',
    'none',
    '--json',
    '--out',
    out,
  );
  assert.equal(t.code, 0, t.stderr);
  const result = lastJson(t.stdout);
  assert.equal(typeof result['test_accuracy'], 'number');
  assert.ok((result['test_accuracy'] as number) >= 0.9, `accuracy ${result['test_accuracy']}`);
  assert.equal(result['epochs'], 2);
  for (const f of ['config.json', 'checkpoint.json', 'model.safetensors', 'log.csv', 'log.jsonl', 'result.json']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  assert.equal(readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n').length, 3, 'header + 2 epochs');
  assert.equal(readdirSync(out).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp files left');

  const e = tsgrad('eval', '--checkpoint', out, '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.equal(lastJson(e.stdout)['test_accuracy'], result['test_accuracy']);

  const img = join(root, 'data', 'right', '003.png');
  const p = tsgrad('predict', '--checkpoint', out, img, '--top', '2', '--json');
  assert.equal(p.code, 0, p.stderr);
  const preds = lastJson(p.stdout)['predictions'] as { file: string; top: { class: string; probability: number }[] }[];
  assert.equal(preds[0]!.top.length, 2);
  assert.equal(preds[0]!.top[0]!.class, 'right');
  assert.ok(Math.abs(preds[0]!.top[0]!.probability + preds[0]!.top[1]!.probability - 1) < 1e-5);

  const r = tsgrad('resume', out, '--epochs', '3', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout)['epochs'], 3);
  assert.equal(readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n').length, 4, 'the log continues');
});

test('a corrupt checkpoint gives an error naming the file', () => {
  const root = makeFolder(10);
  const out = join(root, 'run');
  assert.equal(tsgrad('train', '--dataset', join(root, 'data'), '--epochs', '1', '--json', '--out', out).code, 0);
  writeFileSync(join(out, 'checkpoint.json'), '{"format": "tsgrad-checkpoint", "weights": ');
  const r = tsgrad('resume', out);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /checkpoint\.json: not valid JSON/);
});

test('Ctrl-C saves a checkpoint and exits; resume finishes the run', async () => {
  const root = makeFolder(60);
  const out = join(root, 'run');
  const child = startTsgrad([
    'train',
    '--dataset',
    join(root, 'data'),
    '--epochs',
    '200',
    '--batch-size',
    '4',
    '--out',
    out,
  ]);
  child.stdin.end();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  // Wait for the first epoch's checkpoint, then interrupt.
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(out, 'checkpoint.json')) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /checkpoint saved\. Continue with: tsgrad resume/);
  const state = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { state: { epoch: number } };
  assert.ok(state.state.epoch < 200);
  const r = tsgrad('resume', out, '--epochs', String(state.state.epoch + 1), '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout)['epochs'], state.state.epoch + 1);
});
