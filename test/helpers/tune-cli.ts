/**
 * Shared plumbing of the `tsgrad tune` tests (test/tune/cli-tune, test/tune/redis): running the
 * CLI to completion or as a background process, the `tune` / `tune-worker` argument lists, a
 * redis-server of their own on 127.0.0.1 at a free port, and waiting for output.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The built CLI. */
export const CLI = join(here, '../../src/cli/main.js');
/** The cheap test objective (test/helpers/tune-objective.ts). */
export const OBJECTIVE = join(here, 'tune-objective.js');

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsgrad ARGS` to completion (env added to the test's own). */
export function tsgrad(args: string[], env: Record<string, string> = {}, timeoutMs?: number): Finished {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    ...(timeoutMs ? { timeout: timeoutMs } : {}),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A background process with its stdout and stderr collected together in `out`. */
export interface Proc {
  child: ChildProcess;
  out: string;
  exited: Promise<number | null>;
}

export function start(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', exited: new Promise((r) => child.on('exit', (code) => r(code))) };
  child.stdout!.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (p.out += d.toString()));
  return p;
}

/** `tsgrad ARGS` in the background. */
export function startTsgrad(args: string[], env: Record<string, string> = {}): Proc {
  return start(process.execPath, [CLI, ...args], env);
}

/** Stops a process (if it still runs) and waits for it. */
export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}

/** Polls `ok` every 50 ms; throws naming `what` after `ms`. */
export async function until(what: string, ok: () => boolean, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The options of a `tsgrad tune` study run with the test objective (or the built-in one with objective: null). */
export interface TuneArgs {
  space: string;
  out: string;
  trials?: number;
  strategy?: string;
  pruner?: string;
  study?: string;
  objective?: string | null;
}

/** `tune --space … --out …` with the test objective by default, plus `extra`. */
export function tuneArgs(o: TuneArgs, extra: string[] = []): string[] {
  const args = ['tune', '--space', o.space, '--out', o.out];
  const objective = o.objective === undefined ? OBJECTIVE : o.objective;
  if (objective) args.push('--objective', objective);
  if (o.strategy) args.push('--strategy', o.strategy);
  if (o.pruner) args.push('--pruner', o.pruner);
  if (o.trials !== undefined) args.push('--trials', String(o.trials));
  if (o.study) args.push('--study', o.study);
  return [...args, ...extra];
}

/** `tune-worker --redis URL --study NAME --objective <test objective>`, plus `extra`. */
export function tuneWorkerArgs(url: string, study: string, extra: string[] = []): string[] {
  return ['tune-worker', '--redis', url, '--study', study, '--objective', OBJECTIVE, ...extra];
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether Debian's redis-server is installed. */
export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

/** Files of a TLS server certificate for 127.0.0.1 and the CA that signed it. */
export interface TestCertificates {
  ca: string;
  cert: string;
  key: string;
}

/**
 * A throwaway CA and a server certificate it signs for 127.0.0.1 / localhost (EC P-256, one
 * day), made with the openssl command in `dir`. Returns a reason string when openssl is missing.
 */
export function makeTestCertificates(dir: string): TestCertificates | string {
  if (spawnSync('openssl', ['version']).status !== 0) return 'the openssl command is not installed';
  const f = (name: string): string => join(dir, name);
  writeFileSync(f('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const steps = [
    ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=tsgrad test CA'],
    ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1'],
    ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial'],
  ];
  steps[2]!.push('-out', f('server.crt'), '-days', '1', '-extfile', f('san.cnf'));
  for (const args of steps) {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  }
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** redis-server exited instead of listening; `output` is what it printed. */
export class RedisStartError extends Error {
  constructor(readonly output: string) {
    super(`redis-server did not start: ${output}`);
  }
}

/**
 * A throwaway redis-server on 127.0.0.1 (no persistence) at a free port. With `tls`, that port
 * speaks TLS only (the plain port is closed) and clients need no certificate of their own.
 */
export async function startRedis(
  extra: string[] = [],
  opts: { tls?: TestCertificates } = {},
): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const listen = opts.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        opts.tls.cert,
        '--tls-key-file',
        opts.tls.key,
        '--tls-ca-cert-file',
        opts.tls.ca,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  const proc = start('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra]);
  await until(
    'redis-server',
    () => proc.out.includes('Ready to accept connections') || proc.child.exitCode !== null,
    10000,
  );
  if (!proc.out.includes('Ready to accept connections')) {
    await stop(proc, 'SIGKILL');
    throw new RedisStartError(proc.out);
  }
  return { port, proc };
}

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}
