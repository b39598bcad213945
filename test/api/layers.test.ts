/**
 * The dependency picture of README.md ("Project layout") and DESIGN, checked against the code:
 *
 *   core ← backend ← tensor ← autograd ← nn, optim ← io ← data, models ← train ← parallel, tune, interop, viz ← cli
 *
 * Every runtime import under src/ (static `import … from`, `export … from`, dynamic `import()`) between two
 * layer folders must point from a higher rank to a strictly lower one; layers of the same rank (nn and optim,
 * data and models, tune and viz, …) do not import each other. Type-only imports (`import type`) are erased by
 * the compiler and are allowed one level of slack: they may name a layer of the same rank or above, since they
 * cannot form a load-order cycle; they are still listed if they form a cycle between layers. src/index.ts and
 * src/browser.ts are the package entry points, above every layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');

/** The rank of each layer folder in the picture: an import must go to a strictly lower rank. */
const RANK: Record<string, number> = {
  core: 0,
  backend: 1,
  tensor: 2,
  autograd: 3,
  nn: 4,
  optim: 4,
  io: 5,
  data: 6,
  models: 6,
  train: 7,
  parallel: 8,
  tune: 8,
  interop: 8,
  viz: 8,
  cli: 9,
  '(entry)': 10,
};

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
  line: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      // AssemblyScript kernels are compiled to wasm by scripts/build-wasm.mjs, not imported as modules.
      if (name === 'assembly') continue;
      out.push(...sourceFiles(p));
    } else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Strips comments and string/template contents that are not module specifiers (good enough for our code). */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Every relative import in a module's text: specifier, whether it is type-only, and its line. */
function parseImports(text: string): { spec: string; typeOnly: boolean; line: number }[] {
  const src = stripComments(text);
  const out: { spec: string; typeOnly: boolean; line: number }[] = [];
  const lineAt = (i: number): number => src.slice(0, i).split('\n').length;
  // import x from '…'; import { a, type b } from '…'; import type { … } from '…'; export { … } from '…'; export * from '…'
  const stmt = /(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (let m; (m = stmt.exec(src));) {
    const clause = m[3]!;
    // `import { type A, type B } from` is type-only too; `import { type A, b }` is not.
    const braces = /^\{([\s\S]*)\}$/.exec(clause.trim());
    const allTypes =
      braces !== null &&
      braces[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith('type '));
    out.push({ spec: m[4]!, typeOnly: Boolean(m[2]) || allTypes, line: lineAt(m.index) });
  }
  // side-effect imports: import '…';
  const bare = /(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g;
  for (let m; (m = bare.exec(src));) out.push({ spec: m[1]!, typeOnly: false, line: lineAt(m.index) });
  // dynamic imports with a literal specifier
  const dyn = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m; (m = dyn.exec(src));) out.push({ spec: m[1]!, typeOnly: false, line: lineAt(m.index) });
  return out.filter((i) => i.spec.startsWith('.'));
}

/** The layer folder of a file under src/ ('(entry)' for src/index.ts and src/browser.ts). */
function layerOf(file: string): string {
  const rel = relative(SRC, file).split(/[\\/]/);
  return rel.length === 1 ? '(entry)' : rel[0]!;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const imp of parseImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), imp.spec);
      const rel = relative(SRC, target);
      assert.ok(!rel.startsWith('..'), `${relative(ROOT, file)}:${imp.line} imports '${imp.spec}', outside src/`);
      out.push({
        from: `${relative(ROOT, file)}:${imp.line}`,
        to: `src/${rel}`,
        typeOnly: imp.typeOnly,
        line: imp.line,
      });
    }
  }
  return out;
}

const layerOfPath = (p: string): string => layerOf(join(ROOT, p.replace(/:\d+$/, '')));

test('the import scanner reads every form of import, and which are type-only', () => {
  const text = [
    "import { a, b } from '../tensor/ops.js';",
    "import type { T } from '../nn/module.js';",
    "import { type A, type B } from '../optim/sgd.js';",
    "import { type A, c } from '../io/index.js';",
    "import * as ops from './ops.js';",
    "export { x } from '../data/png.js';",
    "export * from '../models/index.js';",
    "export type { Y } from '../train/fit.js';",
    "import '../autograd/engine.js';",
    "const m = await import('../viz/plots.js');",
    "// import { gone } from '../cli/main.js';",
    "/* import { gone } from '../cli/main.js'; */",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  const got = parseImports(text).map((i) => `${i.spec}${i.typeOnly ? ' (type)' : ''}`);
  assert.deepEqual(got.sort(), [
    '../autograd/engine.js',
    '../data/png.js',
    '../io/index.js',
    '../models/index.js',
    '../nn/module.js (type)',
    '../optim/sgd.js (type)',
    '../tensor/ops.js',
    '../train/fit.js (type)',
    '../viz/plots.js',
    './ops.js',
  ]);
});

test('the import scanner sees the kinds of import the code uses', () => {
  const all = edges();
  assert.ok(all.length > 300, `only ${all.length} relative imports found under src/`);
  assert.ok(all.some((e) => e.typeOnly) && all.some((e) => !e.typeOnly));
  // Every folder under src/ is a layer of the picture: a new folder must be placed in it deliberately.
  for (const name of readdirSync(SRC)) {
    if (statSync(join(SRC, name)).isDirectory()) assert.ok(name in RANK, `src/${name}/ is not in the layer picture`);
  }
});

test('every runtime import between layers points down the picture', () => {
  const wrong = edges()
    .filter((e) => !e.typeOnly)
    .map((e) => ({ ...e, a: layerOfPath(e.from), b: layerOfPath(e.to) }))
    .filter((e) => e.a !== e.b && !(RANK[e.a]! > RANK[e.b]!))
    .map((e) => `${e.from} (${e.a}) imports ${e.to} (${e.b})`);
  assert.deepEqual(wrong, [], `imports against the layer picture:\n${wrong.join('\n')}`);
});

test('type-only imports between layers never point above the importer', () => {
  const wrong = edges()
    .filter((e) => e.typeOnly)
    .map((e) => ({ ...e, a: layerOfPath(e.from), b: layerOfPath(e.to) }))
    .filter((e) => RANK[e.b]! > RANK[e.a]!)
    .map((e) => `${e.from} (${e.a}) imports type from ${e.to} (${e.b})`);
  assert.deepEqual(wrong, [], wrong.join('\n'));
});

test('no cycle between layers, counting type-only imports', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edges()) {
    const a = layerOfPath(e.from);
    const b = layerOfPath(e.to);
    if (a !== b) (graph.get(a) ?? graph.set(a, new Set()).get(a)!).add(b);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' → '));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  assert.deepEqual(cycles, [], `cycles between layers:\n${cycles.join('\n')}`);
});

test('library code runs the autograd engine through an import of it, never relying on an entry point to load it', () => {
  // Tensor.backward() works once src/autograd/engine.ts has loaded (it hands itself to the tensor layer).
  // The entry points load it; library modules that start a backward pass import it themselves, so deep
  // imports (the CLI imports modules, not src/index.ts) work too.
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const rel = relative(ROOT, file);
    if (rel === 'src/tensor/tensor.ts') continue;
    const text = stripComments(readFileSync(file, 'utf8'));
    if (!/\.backward\(/.test(text)) continue;
    const loadsEngine = parseImports(text).some(
      (i) => resolve(dirname(file), i.spec) === join(SRC, 'autograd/engine.js'),
    );
    if (!loadsEngine) offenders.push(rel);
  }
  assert.deepEqual(
    offenders,
    [],
    `call .backward() without importing src/autograd/engine.ts:\n${offenders.join('\n')}`,
  );
});
