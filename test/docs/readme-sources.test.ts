import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSources } from '../../bench/readme-sources.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

test("every sourced figure in the README agrees with its saved run, and the README's results are sourced", () => {
  const figures = checkSources(readFileSync(join(ROOT, 'README.md'), 'utf8'), ROOT);
  assert.deepEqual(
    figures.filter((f) => f.problem).map((f) => `README.md:${f.line}: ${f.problem}`),
    [],
  );
  assert.ok(figures.length >= 20, `${figures.length} sourced figures`);
});

test('a figure that disagrees with its run, or a missing file, path or script, is reported', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsgrad-sources-'));
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'make.ts'), '');
  writeFileSync(join(root, 'bench', 'results', 'r.json'), JSON.stringify({ a: { acc: 0.9805, s: [297.6, 12] } }));
  writeFileSync(join(root, 'bench', 'results', 'm.jsonl'), '{"g": 0.0103}\n{"g": 0.023}\n');
  const m = (path: string, script = 'bench/make.ts'): string => `<!-- source: ${script} bench/results/${path} -->`;
  const check = (line: string): (string | undefined)[] => checkSources(line, root).map((f) => f.problem);
  assert.deepEqual(check(`**98.05%**${m('r.json#a.acc*100')} in 298 s${m('r.json#a.s.0')}`), [undefined, undefined]);
  assert.deepEqual(check(`1.0%${m('m.jsonl#0.g*100')} and 2.3%${m('m.jsonl#1.g*100')}`), [undefined, undefined]);
  assert.deepEqual(check(`1,200${m('r.json#a.s.1*100')}`), [undefined], 'thousands separators');
  assert.deepEqual(check(`0.2976${m('r.json#a.s.0/1000')}`), [undefined]);
  assert.match(check(`**98.2%**${m('r.json#a.acc*100')}`)[0]!, /the README says 98\.2, .* is 98\.05/);
  assert.match(check(`297 s${m('r.json#a.s.0')}`)[0]!, /says 297/, 'an integer is exact to half a unit');
  assert.match(check(`1${m('r.json#a.b')}`)[0]!, /has no 'a\.b'/);
  assert.match(check(`1${m('r.json#a')}`)[0]!, /is not a number/);
  assert.match(check(`1${m('x.json#a')}`)[0]!, /x\.json does not exist/);
  assert.match(check(`1${m('r.json#a.acc', 'bench/gone.ts')}`)[0]!, /script bench\/gone\.ts does not exist/);
  assert.match(check(`no figure ${m('r.json#a.acc')}`)[0]!, /no figure before the marker/);
  assert.match(check('1<!-- source: bench/make.ts -->')[0]!, /does not parse/);
  writeFileSync(join(root, 'bench', 'results', 's.json'), JSON.stringify({ folders: { 'src/io': { score: 0.9031 } } }));
  assert.deepEqual(check(`90.3%${m('s.json#folders.src/io.score*100')}`), [undefined], 'a key with a slash');
});
