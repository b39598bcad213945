/**
 * The wasm backend's kernel interface has one source of truth: kernels-abi.ts is generated
 * from the AssemblyScript source (scripts/wasm-abi.mjs), and the TypeScript side is typed
 * over it. Here the generator runs on edited copies of kernels.ts, and the wasm backend is
 * type-checked against each result (the edited interface replaces kernels-abi.ts through a
 * compiler host): the real source compiles; an export added without a caller, an export
 * removed while still called, a parameter added to a called kernel, and an op code under a
 * name that is no op all fail to compile. Also: the checked-in build matches the source, and
 * importing tsgrad compiles and probes nothing (that happens on first use).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE = 'src/backend/wasm/assembly/kernels.ts';
const ABI_FILE = join(ROOT, 'src/backend/wasm/kernels-abi.ts');
const ENTRY = join(ROOT, 'src/backend/wasm/index.ts');

interface AbiModule {
  readAbi(src: string): { functions: { name: string }[]; codes: Record<string, { key: string; value: number }[]> };
  abiText(abi: ReturnType<AbiModule['readAbi']>, source: string): string;
}
const abi = (await import(pathToFileURL(join(ROOT, 'scripts/wasm-abi.mjs')).href)) as AbiModule;
const kernelsSource = readFileSync(join(ROOT, SOURCE), 'utf8');

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  skipLibCheck: true,
};

/** One host for all checks (lib and src files parse once); kernels-abi.ts is whatever `current` holds. */
let current = '';
const host = ts.createCompilerHost(OPTIONS);
const cache = new Map<string, ts.SourceFile>();
const getSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (name, version, onError, create) => {
  if (name === ABI_FILE) return ts.createSourceFile(name, current, version);
  let sf = cache.get(name);
  if (!sf) {
    sf = getSourceFile(name, version, onError, create);
    if (sf) cache.set(name, sf);
  }
  return sf;
};
const readFile = host.readFile.bind(host);
host.readFile = (name) => (name === ABI_FILE ? current : readFile(name));
host.fileExists = (
  (exists) => (name: string) =>
    name === ABI_FILE || exists(name)
)(host.fileExists.bind(host));

/** tsc's errors (file:line TScode message) for the wasm backend against the interface generated from `source`. */
function errorsWith(source: string): string[] {
  current = abi.abiText(abi.readAbi(source), SOURCE);
  const program = ts.createProgram([ENTRY], OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file
      ? `${d.file.fileName.slice(ROOT.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : '';
    return `${where} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

function edited(from: string, to: string): string {
  assert.ok(kernelsSource.includes(from), `kernels.ts no longer contains ${JSON.stringify(from)}`);
  return kernelsSource.replace(from, to);
}

test('the generated kernels-abi.ts is the one the build wrote from kernels.ts', () => {
  assert.equal(readFileSync(ABI_FILE, 'utf8'), abi.abiText(abi.readAbi(kernelsSource), SOURCE));
});

test('the wasm backend compiles against the interface generated from kernels.ts', () => {
  assert.deepEqual(errorsWith(kernelsSource), []);
});

// One program for all four edits (each type-check of the backend takes seconds); each must give its own error.
const brokenErrors = (() => {
  let src = kernelsSource + '\nexport function addedKernel(x: usize, n: i32): void {}\n';
  const edit = (from: string, to: string): void => {
    assert.ok(src.includes(from), `kernels.ts no longer contains ${JSON.stringify(from)}`);
    src = src.replace(from, to);
  };
  edit('export function boolToF32(', 'function boolToF32(');
  edit(
    'export function unary(op: i32, x: usize, out: usize, n: i32)',
    'export function unary(op: i32, x: usize, out: usize, n: i32, extra: i32)',
  );
  edit('const UNARY_SQRT = 3;', 'const UNARY_SQRT = 3;\nconst UNARY_FROBNICATE = 99;');
  let errors: string[] | null = null;
  return (): string[] => (errors ??= errorsWith(src));
})();

test('a kernel exported by kernels.ts without a caller in TypeScript is a compile error', () => {
  const errors = brokenErrors();
  assert.ok(
    errors.some((e) => e.includes('src/backend/wasm/index.ts') && e.includes('addedKernel')),
    errors.join('\n'),
  );
});

test('a kernel TypeScript calls but kernels.ts no longer exports is a compile error', () => {
  const errors = brokenErrors();
  assert.ok(
    errors.some((e) => e.includes('kernels/elementwise.ts') && e.includes('boolToF32')),
    errors.join('\n'),
  );
});

test('a parameter added to a kernel TypeScript calls directly is a compile error', () => {
  const errors = brokenErrors();
  assert.ok(
    errors.some((e) => e.includes('kernels/elementwise.ts') && e.includes('TS2554')),
    errors.join('\n'),
  );
});

test('an op code in kernels.ts whose name is no op of the op table is a compile error', () => {
  const errors = brokenErrors();
  assert.ok(
    errors.some((e) => e.includes('kernels/elementwise.ts') && e.includes('frobnicate')),
    errors.join('\n'),
  );
});

test('the generator refuses duplicate op codes and parameters it cannot type', () => {
  assert.throws(
    () => abi.readAbi(edited('const UNARY_SQRT = 3;', 'const UNARY_SQRT = 3;\nconst UNARY_EXP = 3;')),
    /duplicate/,
  );
  assert.throws(() => abi.readAbi('export function f(x: v128): void {}'), /cannot read parameter/);
});

test('the register-tile sizes the TypeScript side plans with come from kernels.ts', () => {
  const tiles = (src: string): string =>
    /export const TILE = \{[^}]*\}/.exec(abi.abiText(abi.readAbi(src), SOURCE))![0];
  assert.match(tiles(kernelsSource), /GMR: 6,/);
  assert.match(tiles(edited('const GMR: i32 = 6;', 'const GMR: i32 = 7;')), /GMR: 7,/);
  assert.throws(() => abi.readAbi(edited('const MR3: i32 = 3;', 'const MR3_RENAMED: i32 = 3;')), /const MR3: i32/);
});

test('importing tsgrad compiles, instantiates and probes no WebAssembly (that waits for first use)', () => {
  // A preload counts every WebAssembly entry point; then tsgrad is imported and, separately, used.
  const script = `
    const counts = { validate: 0, Module: 0, compile: 0, instantiate: 0 };
    const W = WebAssembly;
    const validate = W.validate, compile = W.compile, instantiate = W.instantiate, Module = W.Module;
    W.validate = (...a) => (counts.validate++, validate(...a));
    W.compile = (...a) => (counts.compile++, compile(...a));
    W.instantiate = (...a) => (counts.instantiate++, instantiate(...a));
    W.Module = new Proxy(Module, { construct: (t, a) => (counts.Module++, new t(...a)) });
    const T = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/index.js')).href)});
    const atImport = { ...counts };
    const used = T.wasmFeatures().kernels !== null;
    if (used) { T.setBackend('wasm'); T.matmul(T.randn([8, 8]), T.randn([8, 8])).dataSync(); }
    console.log(JSON.stringify({ atImport, afterUse: counts, used }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    atImport: Record<string, number>;
    afterUse: Record<string, number>;
    used: boolean;
  };
  assert.deepEqual(out.atImport, { validate: 0, Module: 0, compile: 0, instantiate: 0 });
  assert.ok(out.afterUse['validate']! > 0, 'the first use probes');
  if (out.used) assert.ok(out.afterUse['Module']! > 0, 'the first wasm kernel call compiles the kernels');
});
