/**
 * Runs one `tsgrad train` and saves what the README's Results section quotes: the command, every epoch's
 * logged metrics (with `--eval-test`, the test accuracy of each epoch), the final result and the wall time,
 * with the machine and its load, as bench/results/<date>-<name>.json.
 *
 *   node dist/bench/train-run.js --save mnist-wasm                                   # `npm start`'s run
 *   node dist/bench/train-run.js --save fashion-wasm -- --dataset fashion-mnist --epochs 10 --eval-test
 *   TSGRAD_BACKEND=cpu node dist/bench/train-run.js --save fashion-cpu -- --dataset fashion-mnist ...
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../src/io/atomic.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const saveAt = argv.indexOf('--save');
const name = saveAt >= 0 ? argv[saveAt + 1] : undefined;
if (!name) {
  console.error('usage: node dist/bench/train-run.js --save NAME [-- <tsgrad train options>]');
  process.exit(2);
}
const dash = argv.indexOf('--');
const trainArgs = dash >= 0 ? argv.slice(dash + 1) : [];
const out = join(mkdtempSync(join(tmpdir(), 'tsgrad-train-run-')), 'run');
const args = ['train', ...trainArgs, '--out', out, '--json'];
const loadStart = loadavg();
const started = Date.now();
const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), ...args], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
const seconds = (Date.now() - started) / 1000;
if (r.status !== 0) {
  console.error(r.stdout);
  throw new Error(`tsgrad ${args.join(' ')} exited with ${r.status}`);
}
const epochs = readFileSync(join(out, 'log.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Record<string, number>);
const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Record<string, unknown>;
delete result['run_dir'];
const date = new Date().toISOString();
const file = join(root, 'bench', 'results', `${date.slice(0, 10)}-${name}.json`);
writeJsonAtomic(file, {
  benchmark: 'train-run',
  date,
  command: `tsgrad ${['train', ...trainArgs].join(' ')}`,
  backend: process.env['TSGRAD_BACKEND'] ?? 'default (wasm)',
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  loadavg_start: loadStart,
  loadavg_end: loadavg(),
  wall_seconds: seconds,
  epochs,
  result,
});
console.log(`${file}: test accuracy ${result['test_accuracy']}, ${seconds.toFixed(0)} s`);
