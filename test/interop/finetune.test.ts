/**
 * Fine-tuning an imported ONNX model: freeze, replace the head by node name or
 * by value name, train with Trainer (only the head moves), export again and
 * check the new file in onnxruntime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import {
  Adam,
  ArgumentError,
  ArrayDataset,
  LeNet5,
  Linear,
  Sequential,
  ReLU,
  Trainer,
  exportOnnxBytes,
  importOnnx,
  manualSeed,
  noGrad,
  randn,
} from '../../src/index.js';

test('freeze, replace the head by node name, train with Trainer, export again', async () => {
  manualSeed(5);
  const model = await importOnnx(await exportOnnxBytes(new LeNet5({ numClasses: 10 }), randn([1, 1, 28, 28])));
  const before = model.stateDict();
  model.freeze();
  model.replaceHead('/classifier.5/Gemm', new Linear(84, 3));
  // The old head's parameters are gone, the new head's are named head.*.
  const names = model.namedParameters().map(([k]) => k);
  assert.ok(!names.includes('classifier.5.weight'));
  assert.deepEqual(
    names.filter((k) => k.startsWith('head.')),
    ['head.weight', 'head.bias'],
  );
  const headBefore = model.stateDict()['head.weight']!.dataSync().slice();
  const images = Float32Array.from({ length: 24 * 28 * 28 }, (_, i) => ((i * 7919) % 255) / 255);
  const labels = Uint8Array.from({ length: 24 }, (_, i) => i % 3);
  const trainer = new Trainer(model, {
    train: new ArrayDataset(images, labels, [1, 28, 28]),
    epochs: 2,
    batchSize: 8,
    optimizer: new Adam(
      model.parameters().filter((p) => p.requiresGrad),
      { lr: 0.01 },
    ),
  });
  await trainer.fit();
  const after = model.stateDict();
  for (const k of Object.keys(before)) {
    if (k.startsWith('classifier.5')) continue;
    assert.deepEqual(after[k]!.dataSync(), before[k]!.dataSync(), `${k} is frozen`);
  }
  assert.notDeepEqual(after['head.weight']!.dataSync(), headBefore, 'the head trained');

  model.eval();
  const x = randn([2, 1, 28, 28]);
  const bytes = await exportOnnxBytes(model, x);
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', x.dataSync() as Float32Array, [2, 1, 28, 28]) });
  const want = noGrad(() => model.forward(x)).dataSync();
  const got = out['output']!.data as Float32Array;
  assert.equal(got.length, 6);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-4 * Math.max(1, Math.abs(want[i]!))));
  // Re-imported, the fine-tuned model keeps its names.
  const again = await importOnnx(bytes);
  assert.ok(Object.keys(again.stateDict()).includes('head.weight'));
});

test('replace the head at a value name; unknown names are an error listing nodes', async () => {
  const model = await importOnnx(await exportOnnxBytes(new LeNet5({ numClasses: 10 }), randn([1, 1, 28, 28])));
  const relu = model.nodes.find((n) => n.name.startsWith('/classifier.2/Relu'))!;
  model.replaceHead(relu.outputs[0]!, new Sequential(new Linear(120, 16), new ReLU(), new Linear(16, 4)));
  model.eval();
  assert.deepEqual([...noGrad(() => model.forward(randn([3, 1, 28, 28]))).shape], [3, 4]);
  assert.ok(!model.namedParameters().some(([k]) => k.startsWith('classifier.3')));
  assert.throws(() => model.replaceHead('/nope', new Linear(1, 1)), ArgumentError);
});
