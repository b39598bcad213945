/**
 * The interop commands end to end: tsgrad import (ONNX file -> run directory) then
 * eval, predict, summary, export and train --init-from on that directory; summary of
 * an .onnx file; one 'error:' line and the usual exit codes on bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { exportOnnx } from '../../src/interop/onnx-export.js';
import { LeNet5 } from '../../src/models/lenet.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { makeBarFolder, tempDir, tsgrad } from '../helpers/cli-run.js';

test('import an ONNX file, then eval, predict, summary, export and train --init-from accept the run', async () => {
  const root = tempDir('interop-cli');
  const data = makeBarFolder(root, 6, 28);
  manualSeed(4);
  const onnxFile = join(root, 'lenet.onnx');
  await exportOnnx(new LeNet5({ numClasses: 2 }), randn([1, 1, 28, 28]), onnxFile);

  const run = join(root, 'runs', 'imported');
  const imp = tsgrad('import', onnxFile, '--out', run, '--classes', 'left,right', '--dataset', data);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /input \[batch, 1, 28, 28\], 2 classes, 61,\d{3} parameters/);
  for (const f of ['config.json', 'model.onnx', 'model.safetensors']) assert.ok(existsSync(join(run, f)), f);

  const ev = tsgrad('eval', '--checkpoint', run, '--json');
  assert.equal(ev.code, 0, ev.stderr);
  const evJson = JSON.parse(ev.stdout.trim().split('\n').pop()!) as { count: number; test_accuracy: number };
  assert.ok(evJson.count > 0);

  const pr = tsgrad('predict', '--checkpoint', run, join(data, 'left', '000.png'), '--json');
  assert.equal(pr.code, 0, pr.stderr);
  const top = (JSON.parse(pr.stdout.trim().split('\n').pop()!) as { predictions: { top: { probability: number }[] }[] })
    .predictions[0]!.top;
  assert.ok(Math.abs(top.reduce((s, t) => s + t.probability, 0) - 1) < 1e-5);

  const sumRun = tsgrad('summary', run);
  assert.equal(sumRun.code, 0, sumRun.stderr);
  assert.match(sumRun.stdout, /Conv/);
  assert.match(sumRun.stdout, /Total params: 61,\d{3}/);
  const sumFile = tsgrad('summary', onnxFile);
  assert.equal(sumFile.code, 0, sumFile.stderr);
  assert.match(sumFile.stdout, /input input \[batch|input input \[\?, 1, 28, 28\]/);
  assert.match(sumFile.stdout, /\[1, 6, 28, 28\]/);

  const out = join(root, 'again.onnx');
  const ex = tsgrad('export', '--checkpoint', run, '--format', 'onnx', '--out', out);
  assert.equal(ex.code, 0, ex.stderr);
  const session = await ort.InferenceSession.create(readFileSync(out));
  const r = await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 28 * 28), [2, 1, 28, 28]) });
  assert.deepEqual([...r['output']!.dims], [2, 2]);

  const tr = tsgrad(
    'train',
    '--model',
    'lenet5',
    '--dataset',
    data,
    '--epochs',
    '1',
    '--batch-size',
    '4',
    '--init-from',
    run,
    '--out',
    join(root, 'runs', 'tuned'),
  );
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stdout, /initialized 10 tensors from/);
});

test('interop commands report bad input in one error line', async () => {
  const root = tempDir('interop-cli');
  const bad = join(root, 'bad.onnx');
  writeFileSync(bad, new Uint8Array([0x0a, 0xff, 0xff, 0x01, 0x02]));
  const cases: [string[], number, RegExp][] = [
    [['import', bad, '--out', join(root, 'r')], 1, /bad\.onnx: is not a valid ONNX protobuf/],
    [['import', join(root, 'missing.onnx'), '--out', join(root, 'r')], 1, /missing\.onnx: file not found/],
    [['import', bad], 2, /--out DIR is required/],
    [['export', '--checkpoint', root], 2, /--out FILE is required/],
    [['export', '--checkpoint', root, '--out', join(root, 'x.onnx')], 2, /not a tsgrad run directory/],
    [['summary', bad], 1, /bad\.onnx/],
  ];
  for (const [args, code, re] of cases) {
    const r = tsgrad(...args);
    assert.equal(r.code, code, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: /);
  }
  assert.ok(!existsSync(join(root, 'r')), 'a failed import leaves no run directory');
});
