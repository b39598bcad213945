/**
 * TF.js Layers import checked against @tensorflow/tfjs-layers: models built and
 * saved by tfjs (model.json + a weight shard, written by a save handler the
 * way model.save('file://...') writes them) import into tsgrad and give tfjs's
 * outputs within 1e-4 on the same (NHWC vs NCHW) input; 'same' padding is
 * exact at strides 1, 2 and 3 on odd and even sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  UnsupportedError,
  exportOnnxBytes,
  fromArray,
  importOnnx,
  importTfjsLayersModel,
  noGrad,
} from '../../src/index.js';

tf.env().set('PROD', true);

async function saveModel(model: tfl.LayersModel, dir: string): Promise<string> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(data));
      const json = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(dir, 'model.json');
}

/** Random weights (BatchNorm statistics included, so it is not the identity). */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  model.setWeights(
    model.getWeights().map((w, i) => {
      const name = model.weights[i]!.name;
      if (/moving_variance/.test(name)) return tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed + i);
      return tf.randomNormal(w.shape, 0, 0.3, 'float32', seed + i);
    }),
  );
}

async function checkAgainstTfjs(model: tfl.LayersModel, inputHWC: number[], seed: number): Promise<void> {
  randomizeWeights(model, seed);
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tfjs-'));
  try {
    const file = await saveModel(model, dir);
    const imported = await importTfjsLayersModel(file);
    imported.eval();
    const xTf = tf.randomNormal([3, ...inputHWC], 0, 1, 'float32', seed + 100);
    const y = model.predict(xTf) as tf.Tensor;
    // tfjs answers in NHWC, tsgrad in NCHW.
    const want = (y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y).dataSync();
    const x = inputHWC.length === 3 ? tf.transpose(xTf, [0, 3, 1, 2]) : xTf;
    const got = noGrad(() => imported.forward(fromArray(x.dataSync() as Float32Array, x.shape))).dataSync();
    assert.equal(got.length, want.length);
    let diff = 0;
    let scale = 0;
    want.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - got[i]!));
      scale = Math.max(scale, Math.abs(v));
    });
    assert.ok(diff / scale < 1e-4, `differs from tfjs by ${diff / scale} (relative)`);
    // The imported model exports to ONNX and comes back with the same outputs.
    const again = await importOnnx(await exportOnnxBytes(imported, fromArray(x.dataSync() as Float32Array, x.shape)));
    again.eval();
    const y2 = noGrad(() => again.forward(fromArray(x.dataSync() as Float32Array, x.shape))).dataSync();
    assert.deepEqual(y2, got);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a Sequential CNN saved by tfjs-layers imports and gives tfjs outputs', async () => {
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [11, 10, 3],
        filters: 6,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.batchNormalization(),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }),
      tfl.layers.leakyReLU({ alpha: 0.2 }),
      tfl.layers.separableConv2d({ filters: 8, kernelSize: 2, strides: 1, padding: 'same' }),
      tfl.layers.elu(),
      tfl.layers.zeroPadding2d({
        padding: [
          [1, 0],
          [0, 2],
        ],
      }),
      tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 2, strides: 3, padding: 'same' }),
      tfl.layers.reLU({ maxValue: 6 }),
      tfl.layers.flatten(),
      tfl.layers.dropout({ rate: 0.3 }),
      tfl.layers.dense({ units: 5, activation: 'softmax' }),
    ],
  });
  await checkAgainstTfjs(m, [11, 10, 3], 1);
});

test('a functional model with Add and Concatenate imports and gives tfjs outputs', async () => {
  const input = tfl.input({ shape: [9, 9, 4] });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.activation({ activation: 'tanh' }).apply(a) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([b, input]) as tfl.SymbolicTensor;
  const c = tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'sigmoid' }).apply(sum) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate().apply([sum, c]) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(cat) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(pooled) as tfl.SymbolicTensor;
  await checkAgainstTfjs(tfl.model({ inputs: input, outputs: out }), [9, 9, 4], 2);
});

for (const size of [7, 8]) {
  for (const stride of [1, 2, 3]) {
    test(`padding 'same' matches tfjs at input ${size}, stride ${stride} (conv and both pools)`, async () => {
      const m = tfl.sequential({
        layers: [
          tfl.layers.conv2d({
            inputShape: [size, size, 2],
            filters: 3,
            kernelSize: 4,
            strides: stride,
            padding: 'same',
          }),
          tfl.layers.maxPooling2d({ poolSize: 2, strides: stride, padding: 'same' }),
          tfl.layers.averagePooling2d({ poolSize: 3, strides: stride, padding: 'same' }),
        ],
      });
      await checkAgainstTfjs(m, [size, size, 2], 10 + size * stride);
    });
  }
}

test('an unsupported layer is named in the error', async () => {
  const m = tfl.sequential({
    layers: [tfl.layers.conv2d({ inputShape: [4, 4, 1], filters: 1, kernelSize: 1 }), tfl.layers.upSampling2d({})],
  });
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tfjs-'));
  try {
    const file = await saveModel(m, dir);
    await assert.rejects(
      () => importTfjsLayersModel(file),
      (e: Error) => e instanceof UnsupportedError && /UpSampling2D/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsgrad import model.json makes a run directory that summary and export accept', async () => {
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3 }),
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tfjs-'));
  try {
    const file = await saveModel(m, dir);
    const cli = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    const imp = run('import', file, '--out', join(dir, 'run'));
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stdout, /input \[batch, 1, 12, 12\], 3 classes/);
    const sum = run('summary', join(dir, 'run'));
    assert.equal(sum.status, 0, sum.stderr);
    assert.match(sum.stdout, /Conv/);
    const ex = run('export', '--checkpoint', join(dir, 'run'), '--out', join(dir, 'm.onnx'));
    assert.equal(ex.status, 0, ex.stderr);
    assert.ok(existsSync(join(dir, 'm.onnx')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
