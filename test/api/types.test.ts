/**
 * The public types as a user's `strict` TypeScript sees them: test/types/ok.ts must compile
 * (its `@ts-expect-error` lines must each be errors), and test/types/mistakes.ts must fail
 * with exactly the error codes its `// error TSnnnn` comments name, line by line. Both import
 * 'tsgrad', which resolves to this package's build (dist/src/index.d.ts) by self-reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURES = join(ROOT, 'test', 'types');

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ['node'],
  skipLibCheck: true,
};

/** `line:TScode` for every error tsc reports in `file`. */
function errors(file: string): { found: string[]; text: string } {
  const program = ts.createProgram([file], OPTIONS);
  const diags = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file || !d.file);
  const found = diags.map((d) => {
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 : 0;
    return `${line}:TS${d.code}`;
  });
  const text = ts.formatDiagnostics(diags, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  });
  return { found, text };
}

test('test/types/ok.ts compiles under strict, and its @ts-expect-error lines are errors', () => {
  const { found, text } = errors(join(FIXTURES, 'ok.ts'));
  assert.deepEqual(found, [], text);
  // The file holds mistakes behind @ts-expect-error; tsc fails on an unused one (TS2578), so they count.
  assert.ok((readFileSync(join(FIXTURES, 'ok.ts'), 'utf8').match(/@ts-expect-error/g) ?? []).length >= 3);
});

test('test/types/mistakes.ts fails with exactly the marked errors (logs.val_acc, a wrong typed array)', () => {
  const file = join(FIXTURES, 'mistakes.ts');
  const expected = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => [...line.matchAll(/\/\/ error (TS\d+)/g)].map((m) => `${i + 1}:${m[1]}`));
  assert.ok(expected.length >= 5);
  const { found, text } = errors(file);
  assert.deepEqual(found.sort(), expected.sort(), text);
});
