/**
 * Imported ONNX models run on every backend: PyTorch's fixtures give PyTorch's
 * outputs (1e-4) on cpu, wasm and, where an adapter exists (CI: lavapipe), webgpu,
 * and one training step of the imported model runs there too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as T from '../../src/index.js';
import { repoRoot } from '../helpers/nn-fixtures.js';

await T.initWebGPU();
const dir = join(repoRoot(), 'test', 'fixtures', 'onnx');

for (const backend of T.listBackends()) {
  for (const name of ['googlenet-mini', 'resnet-narrow-unfolded']) {
    test(`${name}.onnx imports and runs on the ${backend} backend`, async () => {
      const previous = T.getBackend();
      T.setBackend(backend);
      try {
        const io = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as {
          input: { shape: number[]; data: number[] };
          output: { shape: number[]; data: number[] };
        };
        const model = await T.importOnnx(join(dir, `${name}.onnx`));
        model.eval();
        const x = T.fromArray(Float32Array.from(io.input.data), io.input.shape);
        const y = T.noGrad(() => model.forward(x));
        assert.equal(y.backend.name, backend);
        const got = await y.data();
        let diff = 0;
        let scale = 0;
        io.output.data.forEach((v, i) => {
          diff = Math.max(diff, Math.abs(v - got[i]!));
          scale = Math.max(scale, Math.abs(v));
        });
        assert.ok(diff / scale < 1e-4, `differs from PyTorch by ${diff / scale}`);
        // One training step: gradients reach the imported parameters.
        model.train();
        const loss = T.crossEntropy(model.forward(x), T.fromArray(Int32Array.from([1, 2, 3]), [3], { dtype: 'int32' }));
        loss.backward();
        const grads = model.parameters().filter((p) => p.grad !== null);
        assert.equal(grads.length, model.parameters().length);
        assert.ok(Number.isFinite(await loss.item()));
      } finally {
        T.setBackend(previous);
      }
    });
  }
}
