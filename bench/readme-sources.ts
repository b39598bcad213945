/**
 * Every measured figure in the README names the script that measured it and the saved run it comes from,
 * in a marker written right after the figure:
 *
 *   **98.05%**<!-- source: bench/train-run.ts bench/results/2026-12-01-mnist-wasm.json#result.test_accuracy*100 -->
 *
 * `<script> <file>#<path>[*k | /k]`: the program that wrote the file (a path in this repository; src/cli/main.ts
 * for a saved `tsgrad` command's output), the saved JSON (or JSON-lines:
 * `#<line>.` first) and a dotted path to a number in it (array items by index), optionally scaled (×100 for a
 * percentage, /60 for minutes). The figure is the last number before the marker on its line (after any
 * earlier marker); thousands separators are allowed. It must agree with the saved value to the digits it
 * shows: within half a unit of its last written digit (298 s stands for 297.5 ≤ x < 298.5).
 *
 *   node dist/bench/readme-sources.js --check   # CI: every marker's figure against its file; exit 1 on any mismatch
 *   node dist/bench/readme-sources.js           # lists the markers and the values they check
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKER = /<!-- source: (\S+) ([^#\s]+)(?:#([^\s*]*?))?(?:([*/])([\d.e+-]+))? -->/g;
const NUMBER = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]?\d+)?/gi;

export interface SourcedFigure {
  line: number;
  figure: string;
  script: string;
  file: string;
  path: string;
  saved?: number;
  problem?: string;
}

/** Half a unit of the last digit written (0.5 for an integer). */
export function halfUnit(figure: string): number {
  const m = /\.(\d+)/.exec(figure);
  return 0.5 * 10 ** -(m ? m[1]!.length : 0);
}

function lookUp(root: string, file: string, path: string): number | string {
  const full = join(root, file);
  if (!existsSync(full)) return `${file} does not exist`;
  const text = readFileSync(full, 'utf8');
  let value: unknown;
  try {
    value = file.endsWith('.jsonl')
      ? text
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as unknown)
      : JSON.parse(text);
  } catch (e) {
    return `${file} is not valid JSON: ${(e as Error).message}`;
  }
  for (const key of path ? path.split('.') : []) {
    if (value === null || typeof value !== 'object' || !(key in value)) return `${file} has no '${path}'`;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'number' ? value : `${file}#${path} is not a number (${JSON.stringify(value)})`;
}

/** Every marker of `readme` with its figure and, where it fails, why. */
export function checkSources(readme: string, root: string): SourcedFigure[] {
  const out: SourcedFigure[] = [];
  readme.split('\n').forEach((text, i) => {
    let from = 0;
    const written = text.split('<!-- source:').length - 1;
    const parsed = [...text.matchAll(MARKER)].length;
    if (written !== parsed) {
      out.push({
        line: i + 1,
        figure: '',
        script: '',
        file: '',
        path: '',
        problem: 'a source marker that does not parse',
      });
    }
    for (const m of text.matchAll(MARKER)) {
      const before = text.slice(from, m.index).replace(/<!--[\s\S]*?-->/g, '');
      from = m.index + m[0].length;
      const [, script, file, path = '', op, factor] = [...m] as (string | undefined)[];
      const figure = [...before.matchAll(NUMBER)].pop()?.[0];
      const entry: SourcedFigure = { line: i + 1, figure: figure ?? '', script: script!, file: file!, path };
      out.push(entry);
      if (!figure) {
        entry.problem = 'no figure before the marker';
        continue;
      }
      if (!existsSync(join(root, script!))) {
        entry.problem = `script ${script} does not exist`;
        continue;
      }
      const found = lookUp(root, file!, path);
      if (typeof found === 'string') {
        entry.problem = found;
        continue;
      }
      const k = Number(factor ?? 1);
      entry.saved = op === '/' ? found / k : found * k;
      const shown = Number(figure.replace(/,/g, ''));
      if (!(Math.abs(shown - entry.saved) <= halfUnit(figure) * (1 + 1e-9))) {
        entry.problem = `the README says ${figure}, ${file}#${path}${op ?? ''}${factor ?? ''} is ${entry.saved}`;
      }
    }
  });
  return out;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const figures = checkSources(readFileSync(join(root, 'README.md'), 'utf8'), root);
  const bad = figures.filter((f) => f.problem);
  if (process.argv.includes('--check')) {
    for (const f of bad) console.error(`README.md:${f.line}: ${f.problem}`);
    console.log(
      `${figures.length - bad.length} of ${figures.length} sourced README figures agree with their saved runs`,
    );
    process.exitCode = bad.length ? 1 : 0;
  } else {
    for (const f of figures) {
      console.log(`README.md:${f.line}  ${f.figure}  ${f.file}#${f.path} = ${f.saved ?? '?'}  ${f.problem ?? 'ok'}`);
    }
  }
}
