/**
 * Runs the README's marked examples: every ```ts block after a
 * `<!-- docs-test: ts -->` line (transpiled and run as a module that imports
 * 'tsgrad', i.e. this package) and every `tsgrad ...` line of a ```sh block
 * after `<!-- docs-test: cli -->` (run in order through the built CLI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

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
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    // Inside the package, so that `import 'tsgrad'` resolves to this package's build (self-reference).
    const dir = join(ROOT, 'dist', '.docs-test');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `example-${i + 1}.mjs`);
    writeFileSync(file, js);
    const r = spawnSync(process.execPath, [file], {
      encoding: 'utf8',
      cwd: mkdtempSync(join(tmpdir(), 'tsgrad-docs-')),
    });
    assert.equal(r.status, 0, `example ${i + 1} failed:\n${r.stderr}\n${r.stdout}`);
  });
});

test('the README command-line sequence runs', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tsgrad-docs-'));
  const lines = markedBlocks('cli')[0]!
    .source.split('\n')
    .filter((l) => l.startsWith('tsgrad '));
  assert.ok(lines.length >= 3);
  for (const line of lines) {
    // Paths in the examples are relative to the repository (fixtures) or to the working directory (runs/).
    const args = line
      .split(/\s+/)
      .slice(1)
      .map((a) => (a.startsWith('test/') ? join(ROOT, a) : a));
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', cwd });
    assert.equal(r.status, 0, `${line}\n${r.stderr}`);
    if (line.includes('--json')) {
      const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { test_accuracy: number };
      assert.ok(last.test_accuracy > 0.8, `one epoch reaches ${last.test_accuracy}`);
    }
    if (line.startsWith('tsgrad predict')) {
      assert.match(r.stdout, /digit-7\.png: 7 /);
      assert.match(r.stdout, /digit-2\.png: 2 /);
    }
  }
});
