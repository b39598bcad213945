/**
 * Runs the README's marked examples: every ```ts block after a
 * `<!-- docs-test: ts -->` line (transpiled and run as a module that imports
 * 'tsgrad', i.e. this package) and every `tsgrad ...` line of a ```sh block
 * after `<!-- docs-test: cli -->` (run in order through the built CLI).
 * What the README shows as output is checked against what the example prints
 * (test/helpers/printed.ts has the matching rule):
 *   - in a ts block, the trailing `// ...` comment of a `console.log(...);` line is what that line prints,
 *     every time it runs;
 *   - in a cli block, the lines under a `tsgrad ...` line, up to the next command, are lines that its
 *     output contains, in that order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { compareOutputs, instrument, missingLines } from '../helpers/printed.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The marked blocks with the README section each is in. */
function markedBlocks(kind: 'ts' | 'cli'): { section: string; source: string }[] {
  const re = new RegExp(`<!-- docs-test: ${kind} -->\\s*\`\`\`(\\w+)\\n([\\s\\S]*?)\`\`\``, 'g');
  return [...README.matchAll(re)].map((m) => ({
    section:
      README.slice(0, m.index)
        .match(/^## (.*)$/gm)
        ?.pop()
        ?.slice(3) ?? '',
    source: m[2]!,
  }));
}

const tsBlocks = markedBlocks('ts');

test('the README marks its examples for testing', () => {
  assert.ok(tsBlocks.length >= 4, `found ${tsBlocks.length} TypeScript examples`);
  assert.equal(markedBlocks('cli').length, 1);
});

tsBlocks.forEach(({ section, source }, i) => {
  test(`README example ${i + 1} (${section}) runs`, () => {
    const { source: instrumented, expected } = instrument(source);
    const js = ts.transpileModule(instrumented, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    // Inside the package, so that `import 'tsgrad'` resolves to this package's build (self-reference).
    const dir = join(ROOT, 'dist', '.docs-test');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `example-${i + 1}.mjs`);
    writeFileSync(file, js);
    const cwd = mkdtempSync(join(tmpdir(), 'tsgrad-docs-'));
    const printedFile = join(cwd, 'printed.json');
    const r = spawnSync(process.execPath, [file], {
      encoding: 'utf8',
      cwd,
      env: { ...process.env, TSGRAD_DOCS_PRINTED: printedFile },
    });
    assert.equal(r.status, 0, `example ${i + 1} failed:\n${r.stderr}\n${r.stdout}`);
    const printed = JSON.parse(readFileSync(printedFile, 'utf8')) as [number, string][];
    assert.deepEqual(
      compareOutputs(expected, printed),
      [],
      `example ${i + 1} (${section}) prints what the README shows`,
    );
  });
});

/**
 * The `tsgrad ...` lines of the marked command-line block, and the lines of the ```text block that follows
 * it (blank lines and one sentence between allowed): lines that the sequence's output contains, in order.
 */
function commandSequence(): { commands: string[]; shown: string[] } {
  const m =
    /<!-- docs-test: cli -->\s*```\w+\n([\s\S]*?)```\n(?:\n(?!```)[^\n]*\n)?\n*(?:```text\n([\s\S]*?)```)?/.exec(
      README,
    );
  assert.ok(m, 'the README has a marked command-line block');
  return {
    commands: m[1]!.split('\n').filter((l) => l.startsWith('tsgrad ')),
    shown: (m[2] ?? '').split('\n').filter((l) => l.trim()),
  };
}

test('the README command-line sequence runs and prints what the README shows', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tsgrad-docs-'));
  const { commands, shown } = commandSequence();
  assert.ok(commands.length >= 3);
  assert.ok(shown.length > 0, 'the README shows some of the output');
  let output = '';
  for (const line of commands) {
    // Paths in the examples are relative to the repository (fixtures) or to the working directory (runs/).
    const args = line
      .split(/\s+/)
      .slice(1)
      .map((a) => (a.startsWith('test/') ? join(ROOT, a) : a));
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', cwd });
    assert.equal(r.status, 0, `${line}\n${r.stderr}`);
    output += r.stdout;
    if (line.includes('--json')) {
      const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { test_accuracy: number };
      assert.ok(last.test_accuracy > 0.8, `one epoch reaches ${last.test_accuracy}`);
    }
  }
  assert.deepEqual(
    missingLines(shown, output),
    [],
    `lines the README shows that the sequence did not print:\n${output}`,
  );
});
