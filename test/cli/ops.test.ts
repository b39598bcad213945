/**
 * `tsgrad ops`: one row per primitive of the op table, read from the real tables
 * (gradient rules, the wasm backend's native table, webgpu's native dtypes), and
 * the README section made from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { opCoverage, type OpCoverage } from '../../src/cli/ops.js';
import { opDefs } from '../../src/core/ops.js';
import { WASM_NATIVE } from '../../src/backend/wasm/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

test('tsgrad ops --json lists every primitive with its gradient rule and native backends', () => {
  const r = spawnSync(process.execPath, [CLI, 'ops', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as OpCoverage[];
  assert.deepEqual(
    rows.map((x) => x.op),
    Object.keys(opDefs),
  );
  const by = new Map(rows.map((x) => [x.op, x]));
  assert.equal(by.get('sign')!.gradient, 'none');
  assert.equal(by.get('argmax')!.gradient, 'none');
  assert.equal(by.get('maxPool2dGrad')!.gradient, 'yes (first order)');
  assert.equal(by.get('conv2d')!.gradient, 'yes');
  assert.equal(by.get('reshape')!.kind, 'view');
  assert.equal(by.get('compare')!.wasm, 'float32 -> bool');
  assert.equal(by.get('exp')!.wasm, 'float32');
  assert.equal(by.get('pow')!.wasm, 'cpu kernel');
  // Every op the wasm table lists natively shows up as native, and no other.
  for (const x of rows) if (x.kind !== 'view') assert.equal(x.wasm !== 'cpu kernel', x.op in WASM_NATIVE, x.op);
  assert.ok(rows.every((x) => x.cpu !== 'missing' && x.wasm !== 'missing' && x.webgpu !== 'missing'));
  // The dtype columns follow each op's declared dtypes: conv2d takes floats only, so webgpu
  // runs it natively for float32 alone; ops that only move values take every dtype.
  assert.equal(by.get('conv2d')!.cpu, 'float32, float64');
  assert.equal(by.get('conv2d')!.webgpu, 'float32');
  assert.equal(by.get('add')!.webgpu, 'float32, int32');
  assert.equal(by.get('concat')!.cpu, 'float32, float64, int32, bool');
  assert.equal(by.get('concat')!.webgpu, 'float32, int32, bool');
  for (const x of rows) {
    if (x.kind === 'view') continue;
    const declared = opDefs[x.op].dtypes;
    assert.equal(x.cpu, declared.join(', '), x.op);
    for (const d of x.webgpu.split(', ')) assert.ok(declared.includes(d as never), `${x.op} webgpu ${d}`);
  }
  const text = spawnSync(process.execPath, [CLI, 'ops'], { encoding: 'utf8' });
  assert.match(text.stdout, /conv2dGradWeight\s+kernel\s+yes/);
});

test("the README's op table lists every row of opCoverage()", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- ops:start -->'), readme.indexOf('<!-- ops:end -->'));
  for (const r of opCoverage()) assert.match(section, new RegExp(`\\| \`${r.op}\`\\s+\\| ${r.kind}\\s+\\|`), r.op);
});
