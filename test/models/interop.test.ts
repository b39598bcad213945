/**
 * torchvision state dicts load into the zoo's models (loadStateDict strict) and give
 * torchvision's outputs within 1e-4: small models with the real structure and names
 * (test/fixtures/models/*.safetensors, scripts/make-model-fixtures.py). The other direction,
 * tsgrad's weights into torchvision, and the full-size models are checked by that script's
 * --check-tsgrad and --full modes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TsgradError, init, noGrad } from '../../src/index.js';
import { buildFromConfig, readFixture, relativeError } from '../../scripts/zoo-interop.js';
import { repoRoot } from '../helpers/nn-fixtures.js';

const dir = join(repoRoot(), 'test', 'fixtures', 'models');
const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));

test('the model fixtures are all there', () => {
  assert.ok(files.length >= 7, `found ${files.join(', ')}`);
});

for (const file of files) {
  test(`${file}: torchvision weights load strictly and reproduce its eval output`, () => {
    const f = readFixture(join(dir, file));
    const net = init.skipInit(() => buildFromConfig(f.config));
    // Every parameter and running statistic is random (biases included), so each one shapes the output.
    for (const [key, t] of Object.entries(f.stateDict)) {
      if (t.dtype === 'int32' || key.endsWith('num_batches_tracked')) continue;
      const v = t.dataSync();
      assert.ok(
        v.some((e) => e !== v[0]),
        `${file}: ${key} is constant (${v[0]})`,
      );
    }
    const r = net.loadStateDict(f.stateDict, { strict: true });
    assert.equal(r.loadedKeys.length, Object.keys(f.stateDict).length);
    net.eval();
    const y = noGrad(() => net.forward(f.input));
    assert.deepEqual(y.shape, f.output.shape);
    const err = relativeError(y, f.output);
    assert.ok(err <= 1e-4, `max relative error ${err}`);
  });
}

test('a state dict with a key renamed is refused in strict mode, naming both keys', () => {
  const f = readFixture(join(dir, 'resnet-basic.safetensors'));
  const net = init.skipInit(() => buildFromConfig(f.config));
  const { ['fc.weight']: w, ...rest } = f.stateDict;
  assert.throws(
    () => net.loadStateDict({ ...rest, 'fc.weights': w! }, { strict: true }),
    (e: Error) => e instanceof TsgradError && /fc\.weight\b/.test(e.message) && /fc\.weights/.test(e.message),
  );
});
