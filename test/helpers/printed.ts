/**
 * Compares what documentation says a line prints with what it printed. The rule, written in the README's
 * contributing section for authors of examples:
 *   - both texts are split into numbers, words and punctuation; white space does not matter
 *     (`[null, 3]` matches util.inspect's `[ null, 3 ]`);
 *   - a number written without a decimal point (a shape, a count) must be printed exactly;
 *   - a number written with a decimal point or an exponent matches a printed number that rounds to it:
 *     it agrees within half a unit of its last written digit (`0.693` matches 0.69314718, not 0.6936);
 *   - `...` stands for anything (zero or more tokens), for values that vary from run to run.
 */

type Token = { kind: 'num'; text: string; value: number } | { kind: 'text'; text: string } | { kind: 'any' };

const TOKEN = /\.\.\.|-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|[A-Za-z_][\w$]*|\S/gi;

function tokenize(s: string): Token[] {
  return [...s.matchAll(TOKEN)].map(([t]): Token => {
    if (t === '...') return { kind: 'any' };
    if (/^-?[\d.]/.test(t) && t !== '.') return { kind: 'num', text: t, value: Number(t) };
    return { kind: 'text', text: t };
  });
}

/** Half a unit of the last digit written in `text` (0 for an integer written without point or exponent). */
function tolerance(text: string): number {
  const m = /^-?(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
  if (!m || (m[2] === undefined && m[3] === undefined)) return 0;
  const decimals = m[2]?.length ?? 0;
  const exponent = Number(m[3] ?? 0);
  return 0.5 * 10 ** (exponent - decimals);
}

function tokenMatches(want: Token, got: Token): boolean {
  if (want.kind === 'num') {
    if (got.kind !== 'num') return false;
    // A relative epsilon on top, so that 0.1 written matches 0.1 printed despite binary rounding of the bound.
    return Math.abs(got.value - want.value) <= tolerance(want.text) + 1e-12 * Math.abs(want.value);
  }
  return want.kind === 'text' && got.kind === 'text' && want.text === got.text;
}

function matchFrom(want: Token[], i: number, got: Token[], j: number): boolean {
  if (i === want.length) return j === got.length;
  const w = want[i]!;
  if (w.kind === 'any') {
    for (let k = j; k <= got.length; k++) if (matchFrom(want, i + 1, got, k)) return true;
    return false;
  }
  return j < got.length && tokenMatches(w, got[j]!) && matchFrom(want, i + 1, got, j + 1);
}

/** True when `printed` is what `documented` says (see the rule above). */
export function printedMatches(documented: string, printed: string): boolean {
  return matchFrom(tokenize(documented), 0, tokenize(printed), 0);
}

/** A `console.log(...);` line with a trailing comment: the comment is what it prints. */
const PRINTS = /^(\s*)console\.log\((.*)\);\s*\/\/ (.*)$/;

/**
 * Rewrites the example so that each commented console.log line also records what it printed, keyed by
 * the line's number in the block, into the JSON file named by TSGRAD_DOCS_PRINTED when the process exits.
 */
export function instrument(source: string): { source: string; expected: Map<number, string> } {
  const expected = new Map<number, string>();
  const lines = source.split('\n').map((line, n) => {
    const m = PRINTS.exec(line);
    if (!m) return line;
    expected.set(n + 1, m[3]!.trim());
    return `${m[1]}__docsPrinted(${n + 1}, ${m[2]});`;
  });
  const prelude = [
    "import { format as __docsFormat } from 'node:util';",
    "import { writeFileSync as __docsWrite } from 'node:fs';",
    'const __docsOut = [];',
    'globalThis.__docsPrinted = (line, ...args) => { const s = __docsFormat(...args); __docsOut.push([line, s]); console.log(s); };',
    "process.on('exit', () => __docsWrite(process.env.TSGRAD_DOCS_PRINTED, JSON.stringify(__docsOut)));",
  ].join(' ');
  return { source: `${prelude}\n${lines.join('\n')}`, expected };
}

/** Each documented line's output compared with what it printed; the failures as text, empty when all agree. */
export function compareOutputs(expected: Map<number, string>, printed: [number, string][]): string[] {
  const failures: string[] = [];
  for (const [line, want] of expected) {
    const got = printed.filter(([l]) => l === line).map(([, s]) => s);
    if (got.length === 0) failures.push(`line ${line}: documented as printing '${want}' but never ran`);
    for (const s of got) {
      if (!printedMatches(want, s)) failures.push(`line ${line}: the README says '${want}', it printed '${s}'`);
    }
  }
  return failures;
}

/** The shown lines that are not found in `stdout`'s lines in their order; empty when all are. */
export function missingLines(shown: string[], stdout: string): string[] {
  const lines = stdout.split('\n');
  let at = 0;
  const missing: string[] = [];
  for (const want of shown) {
    const k = lines.findIndex((l, i) => i >= at && printedMatches(want, l));
    if (k < 0) missing.push(want);
    else at = k + 1;
  }
  return missing;
}
