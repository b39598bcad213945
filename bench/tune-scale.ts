/**
 * Scale of tsgrad tune: trials per hour with 1 and 2 local workers (in-process, worker
 * threads) and with 2 `tsgrad tune-worker` processes on a local redis-server, for trials
 * of a fixed length (bench/tune-sleep-objective.ts, 10 reports each), and the overhead per
 * trial of the queue against local workers. Saves bench/results/<date>-tune-scale.json.
 *   node dist/bench/tune-scale.js [--trial-ms 10000] [--trials 6] [--name suffix]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { option } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '../src/cli/main.js');
const OBJECTIVE = join(here, 'tune-sleep-objective.js');
const trialMs = Number(option('trial-ms') ?? 10000);
const trials = Number(option('trials') ?? 6);
const root = mkdtempSync(join(tmpdir(), 'tsgrad-bench-scale-'));
writeFileSync(join(root, 'space.json'), JSON.stringify({ x: { type: 'float', low: 0, high: 1 } }));
const env = { ...process.env, TSGRAD_BENCH_TRIAL_MS: String(trialMs) };

function run(
  cmd: string,
  args: string[],
): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, done: new Promise((r) => child.on('exit', (code) => r({ code, out }))) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function study(label: string, extra: string[]): Promise<Record<string, number | string>> {
  const out = join(root, label.replace(/\W+/g, '-'));
  const start = performance.now();
  const r = await run(process.execPath, [
    CLI,
    'tune',
    '--space',
    join(root, 'space.json'),
    '--objective',
    OBJECTIVE,
    '--strategy',
    'random',
    '--pruner',
    'median',
    '--trials',
    String(trials),
    '--out',
    out,
    '--study',
    label.replace(/\W+/g, '-'),
    '--json',
    ...extra,
  ]).done;
  const wall = (performance.now() - start) / 1000;
  if (r.code !== 0) throw new Error(`${label}: ${r.out}`);
  const journal = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as { trials: { seconds: number }[] };
  const perTrial = journal.trials.reduce((a, t) => a + t.seconds, 0) / journal.trials.length;
  const row = {
    runner: label,
    trials,
    wallSeconds: wall,
    trialsPerHour: (trials / wall) * 3600,
    meanTrialSeconds: perTrial,
    overheadPerTrialSeconds: perTrial - trialMs / 1000,
  };
  console.log(
    `${label.padEnd(26)} ${row.trialsPerHour.toFixed(0).padStart(6)} trials/hour  (${wall.toFixed(1)} s wall; a trial takes ${perTrial.toFixed(3)} s, ${(row.overheadPerTrialSeconds * 1000).toFixed(0)} ms over its ${trialMs / 1000} s)`,
  );
  return row;
}

const rows: Record<string, number | string>[] = [];
rows.push(await study('local, 1 worker', []));
rows.push(await study('local, 2 worker threads', ['--workers', '2']));
const port = await freePort();
const redis = run('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
await new Promise((r) => setTimeout(r, 500));
const url = `redis://127.0.0.1:${port}`;
const label = 'redis, 2 worker processes';
const workers = [0, 1].map(() =>
  run(process.execPath, [
    CLI,
    'tune-worker',
    '--redis',
    url,
    '--study',
    label.replace(/\W+/g, '-'),
    '--objective',
    OBJECTIVE,
  ]),
);
await new Promise((r) => setTimeout(r, 1500));
rows.push(await study(label, ['--redis', url, '--workers', '2']));
for (const w of workers) w.child.kill('SIGTERM');
await Promise.all(workers.map((w) => w.done));
redis.child.kill('SIGTERM');
await redis.done;

const local2 = rows[1]!;
const queued = rows[2]!;
const overhead =
  (Number(queued['meanTrialSeconds']) - Number(local2['meanTrialSeconds'])) / Number(local2['meanTrialSeconds']);
console.log(
  `queue overhead per trial against 2 local worker threads: ${(overhead * 100).toFixed(2)}% of a ${trialMs / 1000} s trial (${((Number(queued['meanTrialSeconds']) - Number(local2['meanTrialSeconds'])) * 1000).toFixed(0)} ms)`,
);
const date = new Date().toISOString().slice(0, 10);
const name = option('name');
mkdirSync('bench/results', { recursive: true });
const file = join('bench/results', `${date}-tune-scale${name ? `-${name}` : ''}.json`);
writeJsonAtomic(file, {
  benchmark: 'tune-scale',
  date,
  trialSeconds: trialMs / 1000,
  reportsPerTrial: 10,
  machine:
    'shared 2-core machine (several other jobs running); fixed-length trials (timers), so the numbers measure coordination, not compute',
  runners: rows,
  queueOverheadVsLocal: overhead,
});
console.log(`saved ${file}`);
