/**
 * Distributed trials on a real redis-server (Debian's package) on 127.0.0.1 at a free
 * port: a coordinator and two worker processes; one worker is killed with SIGKILL in the
 * middle of a trial, the coordinator is killed and resumed, and every trial must complete
 * exactly once. Skips when redis-server is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '../../src/cli/main.js');
const OBJECTIVE = join(here, '../helpers/tune-objective.js');
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Proc {
  child: ChildProcess;
  out: string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', exited: new Promise((r) => child.on('exit', (code) => r(code))) };
  child.stdout!.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (p.out += d.toString()));
  return p;
}

async function until(what: string, ok: () => boolean, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startRedis(extra: string[] = []): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const proc = start('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    ...extra,
  ]);
  await until('redis-server', () => proc.out.includes('Ready to accept connections'), 10000);
  return { port, proc };
}

async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}

const space = JSON.stringify({ x: { type: 'float', low: 0, high: 1 } });

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test(
  'Redis: two workers, one killed mid-trial, the coordinator killed and resumed: every trial completes exactly once',
  { skip: !hasRedis && 'redis-server not installed', timeout: 90000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgrad-redis-'));
    const redis = await startRedis();
    const procs: Proc[] = [];
    try {
      writeFileSync(join(dir, 'space.json'), space);
      const log = join(dir, 'completed.log');
      const env = { TSGRAD_TEST_TUNE_LOG: log, TSGRAD_TEST_TUNE_STEP_MS: '150' };
      const url = `redis://127.0.0.1:${redis.port}`;
      const out = join(dir, 'study');
      const coordArgs = ['--redis', url, '--workers', '2', '--json'];
      const coord1 = start(
        process.execPath,
        [
          CLI,
          'tune',
          '--space',
          join(dir, 'space.json'),
          '--objective',
          OBJECTIVE,
          '--strategy',
          'random',
          '--pruner',
          'none',
          '--trials',
          '8',
          '--out',
          out,
          '--study',
          'dist1',
          ...coordArgs,
        ],
        env,
      );
      procs.push(coord1);
      const worker = (): Proc =>
        start(
          process.execPath,
          [
            CLI,
            'tune-worker',
            '--redis',
            url,
            '--study',
            'dist1',
            '--objective',
            OBJECTIVE,
            '--lock-duration',
            '1000',
            '--stalled-interval',
            '500',
          ],
          env,
        );
      const a = worker();
      const b = worker();
      procs.push(a, b);
      // Kill worker a in the middle of its first trial.
      await until('worker a to start a trial', () => /trial \d+ started/.test(a.out));
      await new Promise((r) => setTimeout(r, 200));
      const killed = Number(/trial (\d+) started/.exec(a.out)![1]);
      a.child.kill('SIGKILL');
      await a.exited;
      // Kill the coordinator once a few trials are done, and resume it.
      await until(
        'three completed trials',
        () => existsSync(log) && readFileSync(log, 'utf8').trim().split('\n').length >= 3,
        30000,
      );
      coord1.child.kill('SIGKILL');
      await coord1.exited;
      const coord2 = start(process.execPath, [CLI, 'tune', '--resume', out, ...coordArgs], env);
      procs.push(coord2);
      const code = await coord2.exited;
      assert.equal(code, 0, coord2.out);
      const summary = JSON.parse(coord2.out.trim().split('\n').pop()!) as { complete: number; trials: number };
      assert.equal(summary.trials, 8);
      assert.equal(summary.complete, 8);
      const journal = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as {
        trials: { number: number; state: string; value: number; attrs: Record<string, unknown> }[];
      };
      assert.deepEqual(
        journal.trials.map((t) => t.number),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
      for (const t of journal.trials) assert.equal(t.state, 'complete', `trial ${t.number}`);
      const completions = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => Number(l.split(' ')[0]));
      assert.deepEqual(
        [...completions].sort((x, y) => x - y),
        [0, 1, 2, 3, 4, 5, 6, 7],
        `each trial completed exactly once: ${completions}`,
      );
      // The killed worker's trial was finished by the other worker.
      assert.equal(journal.trials[killed]!.attrs['pid'], b.child.pid);
      assert.match(b.out, new RegExp(`trial ${killed} started \\(job [^,]+, attempt 2\\)`));
    } finally {
      for (const p of procs) await stop(p, 'SIGKILL');
      await stop(redis.proc);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'Redis: a password URL works and is never printed or stored; a wrong one and an unreachable server fail fast and clearly',
  { skip: !hasRedis && 'redis-server not installed', timeout: 60000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgrad-redis-'));
    const secret = 'pw-Zq81xv';
    const redis = await startRedis(['--requirepass', secret]);
    const procs: Proc[] = [];
    try {
      writeFileSync(join(dir, 'space.json'), space);
      const url = `redis://:${secret}@127.0.0.1:${redis.port}`;
      const env = { TSGRAD_TEST_TUNE_STEP_MS: '20' };
      const w = start(
        process.execPath,
        [CLI, 'tune-worker', '--redis', url, '--study', 'pw', '--objective', OBJECTIVE],
        env,
      );
      procs.push(w);
      const coord = start(
        process.execPath,
        [
          CLI,
          'tune',
          '--space',
          join(dir, 'space.json'),
          '--objective',
          OBJECTIVE,
          '--trials',
          '3',
          '--strategy',
          'random',
          '--out',
          join(dir, 'study'),
          '--study',
          'pw',
          '--redis',
          url,
        ],
        env,
      );
      procs.push(coord);
      assert.equal(await coord.exited, 0, coord.out);
      assert.match(coord.out, /Redis redis:\/\/\*\*\*@127\.0\.0\.1/);
      for (const f of filesUnder(join(dir, 'study')))
        assert.ok(!readFileSync(f, 'utf8').includes(secret), `${f} holds the password`);

      // A job that is not a trial, and a trial of another study, are refused; the worker keeps going.
      const { Queue } = await import('bullmq');
      const q = new Queue('tsgrad-tune-pw', { connection: { host: '127.0.0.1', port: redis.port, password: secret } });
      const bad = await q.add('trial', { hello: 'world' }, { jobId: 'malformed-1' });
      const other = await q.add(
        'trial',
        {
          format: 'tsgrad-trial',
          version: 1,
          study: 'other',
          studyId: 'x',
          number: 0,
          params: { x: 1 },
          payload: null,
        },
        { jobId: 'other-1' },
      );
      await until(
        'the worker to refuse both jobs',
        () => /refused malformed job malformed-1/.test(w.out) && /belongs to study 'other'/.test(w.out),
      );
      assert.equal(await bad.getState(), 'failed');
      assert.equal(await other.getState(), 'failed');
      await q.close();
      assert.equal(w.child.exitCode, null, 'the worker is still running');
      await stop(w);
      assert.ok(!w.out.includes(secret) && !coord.out.includes(secret));

      const wrong = spawnSync(
        process.execPath,
        [
          CLI,
          'tune',
          '--space',
          join(dir, 'space.json'),
          '--objective',
          OBJECTIVE,
          '--out',
          join(dir, 'wrong'),
          '--redis',
          `redis://:not-${secret}@127.0.0.1:${redis.port}`,
        ],
        { encoding: 'utf8', timeout: 20000 },
      );
      assert.equal(wrong.status, 1, wrong.stderr);
      assert.match(
        wrong.stderr,
        /error: cannot use Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+ .*(WRONGPASS|invalid|AUTH)/i,
      );
      assert.ok(!(wrong.stdout + wrong.stderr).includes(secret));
      assert.ok(!existsSync(join(dir, 'wrong')), 'no study directory for a study that could not start');

      const closed = await freePort();
      const t0 = Date.now();
      const down = spawnSync(
        process.execPath,
        [CLI, 'tune-worker', '--redis', `redis://:${secret}@127.0.0.1:${closed}`, '--study', 'pw'],
        { encoding: 'utf8', timeout: 30000 },
      );
      assert.equal(down.status, 1, down.stderr);
      assert.match(
        down.stderr,
        /error: cannot use Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+ \(gave up after 5 attempts\): .*ECONNREFUSED/,
      );
      assert.ok(Date.now() - t0 < 20000, 'bounded retry');
      assert.ok(!down.stderr.includes(secret));
    } finally {
      for (const p of procs) await stop(p, 'SIGKILL');
      await stop(redis.proc);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('Redis URLs: password, user, database and TLS are parsed; every form is redacted', async () => {
  const { parseRedisUrl, redactRedisUrl, RedisTuneError } = await import('../../src/tune/redis.js');
  const a = parseRedisUrl('redis://:p%40ss@10.0.0.5:6380/2');
  assert.deepEqual(a.connection, { host: '10.0.0.5', port: 6380, password: 'p@ss', db: 2 });
  assert.equal(a.redacted, 'redis://***@10.0.0.5:6380/2');
  const b = parseRedisUrl('rediss://alice:secret@redis.example:6390');
  assert.deepEqual(b.connection, { host: 'redis.example', port: 6390, username: 'alice', password: 'secret', tls: {} });
  assert.equal(b.redacted, 'rediss://***@redis.example:6390');
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1').connection, { host: '127.0.0.1', port: 6379 });
  assert.equal(redactRedisUrl('redis://127.0.0.1:1'), 'redis://127.0.0.1:1');
  for (const bad of ['http://:pw-x@host:1', 'redis://:pw-x@host:1/db', 'not a url :pw-x@']) {
    assert.throws(
      () => parseRedisUrl(bad),
      (e: unknown) => e instanceof RedisTuneError && !(e as Error).message.includes('pw-x'),
    );
  }
});
