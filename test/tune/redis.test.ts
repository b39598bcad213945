/**
 * Distributed trials on a real redis-server (Debian's package) on 127.0.0.1 at a free
 * port: a coordinator and two worker processes; one worker is killed with SIGKILL in the
 * middle of a trial, the coordinator is killed and resumed, and every trial must complete
 * exactly once; then the same over TLS (rediss://) with a throwaway CA. Skips when redis-server (or
 * its TLS, or openssl) is missing, unless TSGRAD_REQUIRE=redis (as in CI) makes that a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessRequired } from '../helpers/require.js';
import {
  type Proc,
  RedisStartError,
  filesUnder,
  freePort,
  hasRedis,
  makeTestCertificates,
  startRedis,
  startTsgrad,
  stop,
  tuneArgs,
  tsgrad,
  tuneWorkerArgs,
  until,
} from '../helpers/tune-cli.js';

const noRedis = skipUnlessRequired('redis', !hasRedis && 'redis-server not installed');

const space = JSON.stringify({ x: { type: 'float', low: 0, high: 1 } });

test(
  'Redis: two workers, one killed mid-trial, the coordinator killed and resumed: every trial completes exactly once',
  { skip: noRedis, timeout: 90000 },
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
      const coord1 = startTsgrad(
        tuneArgs(
          { space: join(dir, 'space.json'), out, strategy: 'random', pruner: 'none', trials: 8, study: 'dist1' },
          coordArgs,
        ),
        env,
      );
      procs.push(coord1);
      const worker = (): Proc =>
        startTsgrad(tuneWorkerArgs(url, 'dist1', ['--lock-duration', '1000', '--stalled-interval', '500']), env);
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
      const coord2 = startTsgrad(['tune', '--resume', out, ...coordArgs], env);
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
  { skip: noRedis, timeout: 60000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgrad-redis-'));
    const secret = 'pw-Zq81xv';
    const redis = await startRedis(['--requirepass', secret]);
    const procs: Proc[] = [];
    try {
      writeFileSync(join(dir, 'space.json'), space);
      const url = `redis://:${secret}@127.0.0.1:${redis.port}`;
      const env = { TSGRAD_TEST_TUNE_STEP_MS: '20' };
      const w = startTsgrad(tuneWorkerArgs(url, 'pw'), env);
      procs.push(w);
      const coord = startTsgrad(
        tuneArgs(
          { space: join(dir, 'space.json'), out: join(dir, 'study'), trials: 3, strategy: 'random', study: 'pw' },
          ['--redis', url],
        ),
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

      const wrong = tsgrad(
        tuneArgs({ space: join(dir, 'space.json'), out: join(dir, 'wrong') }, [
          '--redis',
          `redis://:not-${secret}@127.0.0.1:${redis.port}`,
        ]),
        {},
        20000,
      );
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(
        wrong.stderr,
        /error: cannot use Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+ .*(WRONGPASS|invalid|AUTH)/i,
      );
      assert.ok(!(wrong.stdout + wrong.stderr).includes(secret));
      assert.ok(!existsSync(join(dir, 'wrong')), 'no study directory for a study that could not start');

      const closed = await freePort();
      const t0 = Date.now();
      const down = tsgrad(
        ['tune-worker', '--redis', `redis://:${secret}@127.0.0.1:${closed}`, '--study', 'pw'],
        {},
        30000,
      );
      assert.equal(down.code, 1, down.stderr);
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

test(
  'Redis over TLS (rediss://): a TLS-only redis-server with a password runs the study, no credential is printed or stored; an untrusted certificate and a plain redis:// URL fail fast and clearly',
  { skip: noRedis, timeout: 60000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgrad-rediss-'));
    const secret = 'tls-pw-4Kd9s';
    const procs: Proc[] = [];
    let redis: Awaited<ReturnType<typeof startRedis>> | null = null;
    try {
      const certs = makeTestCertificates(dir);
      if (typeof certs === 'string') {
        t.skip(skipUnlessRequired('redis', certs) || undefined);
        return;
      }
      try {
        redis = await startRedis(['--requirepass', secret], { tls: certs });
      } catch (e) {
        if (!(e instanceof RedisStartError && /tls/i.test(e.output))) throw e;
        const why =
          e.output
            .trim()
            .split('\n')
            .find((l) => /tls/i.test(l)) ?? e.output;
        t.skip(skipUnlessRequired('redis', `redis-server cannot serve TLS: ${why}`) || undefined);
        return;
      }
      writeFileSync(join(dir, 'space.json'), space);
      // The plain port is closed: only a TLS connection can reach this server.
      const url = `rediss://:${secret}@127.0.0.1:${redis.port}`;
      const env = { NODE_EXTRA_CA_CERTS: certs.ca, TSGRAD_TEST_TUNE_STEP_MS: '20' };
      const w = startTsgrad(tuneWorkerArgs(url, 'tls'), env);
      procs.push(w);
      const out = join(dir, 'study');
      const coord = startTsgrad(
        tuneArgs({ space: join(dir, 'space.json'), out, trials: 3, strategy: 'random', study: 'tls' }, [
          '--redis',
          url,
        ]),
        env,
      );
      procs.push(coord);
      assert.equal(await coord.exited, 0, coord.out);
      const journal = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as { trials: { state: string }[] };
      assert.deepEqual(
        journal.trials.map((tr) => tr.state),
        ['complete', 'complete', 'complete'],
      );
      assert.match(coord.out, /Redis rediss:\/\/\*\*\*@127\.0\.0\.1:\d+/);
      await until('the worker to report its trials', () => (w.out.match(/trial \d+ started/g) ?? []).length === 3);
      await stop(w);
      for (const f of filesUnder(out)) assert.ok(!readFileSync(f, 'utf8').includes(secret), `${f} holds the password`);
      assert.ok(!w.out.includes(secret) && !coord.out.includes(secret), 'no password in the logs');

      // Without trusting the CA, the certificate is refused at once (no five attempts), with a hint.
      const untrusted = tsgrad(
        tuneArgs({ space: join(dir, 'space.json'), out: join(dir, 'untrusted') }, ['--redis', url]),
        {},
        20000,
      );
      assert.equal(untrusted.code, 1, untrusted.stderr);
      assert.match(
        untrusted.stderr,
        /error: cannot use Redis at rediss:\/\/\*\*\*@127\.0\.0\.1:\d+ \(gave up after 1 attempt\): .*certificate.*NODE_EXTRA_CA_CERTS/i,
      );
      assert.ok(!(untrusted.stdout + untrusted.stderr).includes(secret));
      assert.ok(!existsSync(join(dir, 'untrusted')), 'no study directory for a study that could not start');

      // A plain redis:// URL at the TLS port: a clear error after the bounded retry, not a hang.
      const t0 = Date.now();
      const plain = tsgrad(
        ['tune-worker', '--redis', `redis://:${secret}@127.0.0.1:${redis.port}`, '--study', 'tls'],
        env,
        30000,
      );
      assert.equal(plain.code, 1, plain.stderr);
      assert.match(plain.stderr, /error: cannot use Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+ \(gave up after/);
      assert.ok(Date.now() - t0 < 25000, 'bounded retry');
      assert.ok(!(plain.stdout + plain.stderr).includes(secret));
    } finally {
      for (const p of procs) await stop(p, 'SIGKILL');
      if (redis) await stop(redis.proc);
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
