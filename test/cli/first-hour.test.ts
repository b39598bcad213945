/**
 * The command line as a new user meets it: help that fits 100 columns, `tsgrad models`,
 * image folders with stray or corrupt files, single-class folders, top-5 only where it means
 * something, a missing --dataset folder, a batch larger than the data, and resume with
 * nothing left to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../../src/data/png.js';
import { MODELS, LeNet5, LeNet5Classic, alexnet } from '../../src/models/index.js';
import { DEFAULT_PARAMETER_COUNTS } from '../../src/cli/models.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '../../src/cli/main.js');
const TORCHVISION = JSON.parse(readFileSync(join(HERE, '../../../test/fixtures/torchvision-models.json'), 'utf8')) as {
  models: Record<string, { params: number }>;
};

function tsgrad(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A folder of 16x16 gray PNGs, `perClass` per class; class k is a bright bar at column 2k. Run directories go beside it. */
function makeFolder(classes: number, perClass: number): string {
  const root = join(mkdtempSync(join(tmpdir(), 'tsgrad-first-hour-')), 'data');
  for (let k = 0; k < classes; k++) {
    const dir = join(root, `class${k}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = new Uint8Array(16 * 16);
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) px[y * 16 + x] = x === 2 * k ? 220 : (i + x + y) % 30;
      writeFileSync(join(dir, `${i}.png`), encodePng(16, 16, 1, px));
    }
  }
  return root;
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

test('every --help fits 100 columns; the model list points to tsgrad models; predict --help describes predict', () => {
  for (const args of [
    ['--help'],
    ...['train', 'eval', 'predict', 'summary', 'resume', 'models'].map((c) => [c, '--help']),
  ]) {
    const r = tsgrad(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    for (const line of r.stdout.split('\n'))
      assert.ok(line.length <= 100, `${args.join(' ')}: ${line.length} columns: ${line}`);
  }
  const train = tsgrad('train', '--help').stdout;
  assert.match(
    train,
    /--model VALUE\s+architecture: lenet5, lenet5-classic or a zoo model \(list them: tsgrad\s+models\)/,
  );
  assert.doesNotMatch(train, /resnet50/, 'the zoo is listed by tsgrad models, not in --help');
  // the augmentations wrap instead of widening the left column
  assert.match(train, /--augment VALUE\s+training-time augmentation: auto, none, shift/);
  const predict = tsgrad('predict', '--help').stdout;
  assert.match(predict, /^usage: tsgrad predict --checkpoint DIR IMAGE\.\.\.\n\nClassify PNG or JPEG images/);
  assert.match(predict, /--json\s+print one JSON object with every prediction/);
});

test('tsgrad models lists every model with the parameter count of its default configuration', () => {
  const r = tsgrad('models');
  assert.equal(r.code, 0, r.stderr);
  for (const line of r.stdout.split('\n')) assert.ok(line.length <= 100, line);
  for (const name of Object.keys(MODELS)) {
    const count = DEFAULT_PARAMETER_COUNTS[name];
    assert.ok(count !== undefined, `no count for ${name}`);
    assert.match(r.stdout, new RegExp(`^${name}\\s+${count.toLocaleString('en-US')}\\s`, 'm'));
    // The zoo test checks each model against these torchvision counts; LeNet-5 is built here.
    if (TORCHVISION.models[name]) assert.equal(count, TORCHVISION.models[name]!.params, name);
  }
  // The paper's AlexNet has no torchvision twin: built here (test/models/alexnet-paper.test.ts counts it by hand).
  assert.equal(DEFAULT_PARAMETER_COUNTS['alexnet-paper'], alexnet({ variant: 'paper' }).numParameters());
  assert.equal(DEFAULT_PARAMETER_COUNTS['lenet5'], new LeNet5().numParameters());
  assert.equal(DEFAULT_PARAMETER_COUNTS['lenet5-classic'], new LeNet5Classic().numParameters());
  const json = JSON.parse(tsgrad('models', '--json').stdout) as Record<string, { parameters: number }>;
  assert.equal(json['resnet18']!.parameters, 11_689_512);
});

test('a folder with stray files: skipped and counted; top-5 only with more than 5 classes', () => {
  const two = makeFolder(2, 10);
  writeFileSync(join(two, 'class0', 'notes.txt'), 'x');
  writeFileSync(join(two, 'class1', 'photo.gif'), 'GIF89a');
  const out = join(two, '..', 'run');
  const r = tsgrad('train', '--dataset', two, '--epochs', '1', '--batch-size', '4', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /note: .*: skipped 2 files that are not PNG or JPEG images \(by name\): .*notes\.txt, .*photo\.gif/,
  );
  assert.match(r.stdout, /test accuracy: [\d.]+%  \(test loss [\d.]+, [\d.]+ s\)/);
  assert.doesNotMatch(r.stdout, /top-5/);
  assert.equal(lastJson(tsgrad('eval', '--checkpoint', out, '--json').stdout)['test_top5'], undefined);
  assert.doesNotMatch(tsgrad('eval', '--checkpoint', out).stdout, /top-5/);

  const six = makeFolder(6, 5);
  const r6 = tsgrad(
    'train',
    '--dataset',
    six,
    '--epochs',
    '1',
    '--batch-size',
    '8',
    '--json',
    '--out',
    join(six, '..', 'run'),
  );
  assert.equal(r6.code, 0, r6.stderr);
  assert.equal(typeof lastJson(r6.stdout)['test_top5'], 'number');
});

test('a single-class folder, a missing folder and several corrupt files are refused clearly', () => {
  const one = makeFolder(1, 5);
  const r1 = tsgrad('train', '--dataset', one, '--out', join(one, '..', 'run'));
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /has one class folder \('class0'\); a classifier needs at least two/);
  assert.equal(existsSync(join(one, '..', 'run')), false);

  const cwd = mkdtempSync(join(tmpdir(), 'tsgrad-first-hour-'));
  const missing = spawnSync(process.execPath, [CLI, 'train', '--dataset', './missing'], { encoding: 'utf8', cwd });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^error: --dataset \.\/missing: the folder does not exist/);

  const bad = makeFolder(2, 3);
  for (const f of ['class0/x.png', 'class1/y.png', 'class1/z.jpg']) writeFileSync(join(bad, f), 'not an image');
  const r = tsgrad('train', '--dataset', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /3 of 9 images cannot be read/);
  for (const f of ['x.png', 'y.png', 'z.jpg']) assert.match(r.stderr, new RegExp(f.replace('.', '\\.')));
});

test('a batch larger than the training set warns and takes the whole set per step; resume with nothing to do says so', () => {
  const root = makeFolder(2, 10); // 16 training images after the 1-in-5 test split
  const out = join(root, '..', 'run');
  const r = tsgrad('train', '--dataset', root, '--epochs', '2', '--batch-size', '64', '--json', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: --batch-size 64 is larger than the 16 training images; each step uses all of them/);
  const state = (JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { state: { step: number } }).state;
  assert.equal(state.step, 2, 'one step per epoch');

  for (const args of [['--epochs', '2'], ['--epochs', '1'], []]) {
    const again = tsgrad('resume', out, ...args);
    assert.equal(again.code, 2, `resume ${args.join(' ')}: ${again.stderr}`);
    assert.match(again.stderr, /nothing to do/);
  }
  const more = tsgrad('resume', out, '--epochs', '3', '--json');
  assert.equal(more.code, 0, more.stderr);
  assert.equal(lastJson(more.stdout)['epochs'], 3);
});
