/**
 * Trials over Redis with BullMQ. The coordinator (RedisRunner) enqueues one job per
 * trial in the study's queue, relays the workers' reports to the study's pruner and
 * answers with the decision; `runRedisWorker` pulls jobs, runs them and returns the
 * outcome. A worker killed mid-trial stops renewing its job's lock; BullMQ's stalled-job
 * check then moves the job back to the queue and another worker runs it. Job ids are
 * `<study id>-<trial number>`, so re-adding a trial after a coordinator restart finds the
 * job already queued, running or finished instead of running it twice.
 *
 * bullmq and ioredis are loaded on first use (dynamic import): `import 'tsgrad'` does not
 * load them. Credentials in a Redis URL are never printed: messages use redactRedisUrl.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TsgradError } from '../core/errors.js';
import { type ModuleObjective, type TrialOutcome, runModuleTrial, settleOutcome } from './remote.js';
import type { Params } from './space.js';
import type { Study, Trial, TrialRunner } from './study.js';

/** Redis could not be reached, refused the credentials, or a job was refused. */
export class RedisTuneError extends TsgradError {}

export interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
}

/** The URL with any user name and password replaced by '***'. */
export function redactRedisUrl(url: string): string {
  // Any scheme, and no scheme at all: a mistyped URL must not leak its password either.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/** Parses redis://[user][:password@]host[:port][/db] and rediss:// (TLS). Errors never show the password. */
export function parseRedisUrl(url: string): {
  connection: RedisConnectionOptions;
  redacted: string;
  secrets: string[];
} {
  const redacted = redactRedisUrl(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisTuneError(`not a Redis URL: ${redacted} (expected redis://HOST:PORT or rediss://...)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new RedisTuneError(`not a Redis URL: ${redacted} (the scheme must be redis:// or rediss://)`);
  if (!u.hostname) throw new RedisTuneError(`Redis URL ${redacted} has no host`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !(Number.isInteger(db) && db >= 0))
    throw new RedisTuneError(`Redis URL ${redacted}: the database must be a number, got '${u.pathname.slice(1)}'`);
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const connection: RedisConnectionOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const secrets = [password, u.password, username, u.username].filter((s): s is string => !!s && s.length > 0);
  return { connection, redacted, secrets };
}

/** Removes every secret from a message. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

async function importBullmq(): Promise<typeof import('bullmq')> {
  try {
    return await import('bullmq');
  } catch (e) {
    throw new RedisTuneError(
      `distributed trials need the bullmq package (npm install bullmq): ${(e as Error).message}`,
    );
  }
}

export interface ConnectOptions {
  /** Connection attempts before giving up; default 5. */
  attempts?: number;
  /** Pause between attempts in ms; default 500. */
  delayMs?: number;
  /** Timeout of one attempt in ms; default 2000. */
  connectTimeoutMs?: number;
}

/** TLS verification failures: retrying cannot fix them. */
const CERTIFICATE_ERROR = /certificate|CERT_|SELF_SIGNED|altnames/i;

/**
 * Checks that Redis answers PING (with the URL's credentials), retrying a bounded number
 * of times; throws RedisTuneError naming the redacted URL and the last error.
 */
export async function checkRedis(url: string, opts: ConnectOptions = {}): Promise<void> {
  const { connection, redacted, secrets } = parseRedisUrl(url);
  const { Redis } = await import('ioredis');
  const attempts = opts.attempts ?? 5;
  let last = '';
  let tried = 0;
  for (let i = 1; i <= attempts; i++) {
    tried = i;
    const client = new Redis({
      ...connection,
      lazyConnect: true,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    let eventError = '';
    client.on('error', (e: Error) => {
      eventError = e.message;
    });
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch (e) {
      // The 'error' event carries the cause (WRONGPASS, ECONNREFUSED); the rejection often only says the connection closed.
      last = eventError || (e as Error).message;
      client.disconnect();
      if (/WRONGPASS|NOAUTH|invalid password|AUTH/i.test(last)) break; // more attempts will not help
      if (CERTIFICATE_ERROR.test(last)) {
        last += '; for a server certificate signed by a private CA, start tsgrad with NODE_EXTRA_CA_CERTS=ca.pem';
        break;
      }
      if (i < attempts) await new Promise((r) => setTimeout(r, opts.delayMs ?? 500));
    }
  }
  throw new RedisTuneError(
    `cannot use Redis at ${redacted} (gave up after ${tried} attempt${tried > 1 ? 's' : ''}): ${redactSecrets(last, secrets)}`,
  );
}

/** BullMQ queue names may not hold ':'; the study name is kept readable. */
export function queueName(study: string): string {
  return `tsgrad-tune-${study.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** A trial as it travels in a job. */
export interface TrialJob {
  format: 'tsgrad-trial';
  version: 1;
  study: string;
  studyId: string;
  number: number;
  params: Params;
  payload: unknown;
}

/** Checks a job's data; returns a reason when it is malformed. */
export function checkTrialJob(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return 'the job data is not an object';
  const d = data as Partial<TrialJob>;
  if (d.format !== 'tsgrad-trial') return `the job is not a tsgrad trial (format ${JSON.stringify(d.format)})`;
  if (d.version !== 1) return `unsupported trial job version ${JSON.stringify(d.version)}`;
  if (typeof d.study !== 'string' || typeof d.studyId !== 'string') return 'the job names no study';
  if (!(Number.isInteger(d.number) && d.number! >= 0)) return `bad trial number ${JSON.stringify(d.number)}`;
  if (typeof d.params !== 'object' || d.params === null || Array.isArray(d.params))
    return 'the job has no params object';
  for (const [k, v] of Object.entries(d.params))
    if (!['number', 'string', 'boolean'].includes(typeof v)) return `param '${k}' is not a number, string or boolean`;
  return null;
}

/** A plain ioredis connection for the pruning-decision keys. */
async function plainClient(connection: RedisConnectionOptions, secrets: string[]): Promise<import('ioredis').Redis> {
  const { Redis } = await import('ioredis');
  const kv = new Redis({ ...connection, maxRetriesPerRequest: null });
  kv.on('error', (e: Error) => process.stderr.write(`warning: Redis: ${redactSecrets(e.message, secrets)}\n`));
  return kv;
}

const decisionKey = (queue: string, jobId: string, token: string, step: number): string =>
  `${queue}:decision:${jobId}:${token}:${step}`;

export interface RedisRunnerOptions {
  url: string;
  /** Trials queued at once; default 2. */
  concurrency?: number;
  /** Sent to every trial's objective (JSON-serializable). */
  payload?: unknown;
  connect?: ConnectOptions;
}

type Progress =
  { type: 'report'; token: string; step: number; value: number } | { type: 'start'; worker: string; token: string };

/**
 * The coordinator's side: runs a study's trials on Redis workers.
 * @example
 * const runner = await RedisRunner.connect(study, { url: 'redis://127.0.0.1:6379', concurrency: 4 });
 * await study.optimize(null, { trials: 20, runner });
 * await runner.close();
 */
export class RedisRunner implements TrialRunner {
  readonly concurrency: number;
  private handlers = new Map<string, (p: Progress) => Promise<void>>();

  private constructor(
    private readonly study: Study,
    private readonly queue: import('bullmq').Queue,
    private readonly events: import('bullmq').QueueEvents,
    private readonly opts: RedisRunnerOptions,
    private readonly secrets: string[],
    private readonly kv: import('ioredis').Redis,
  ) {
    this.concurrency = opts.concurrency ?? 2;
    events.on('progress', ({ jobId, data }) => {
      const h = this.handlers.get(jobId);
      if (h && typeof data === 'object' && data !== null) void h(data as Progress);
    });
  }

  static async connect(study: Study, opts: RedisRunnerOptions): Promise<RedisRunner> {
    await checkRedis(opts.url, opts.connect);
    const { Queue, QueueEvents } = await importBullmq();
    const { connection, secrets } = parseRedisUrl(opts.url);
    const name = queueName(study.name);
    const queue = new Queue(name, { connection: { ...connection, maxRetriesPerRequest: null } });
    const events = new QueueEvents(name, { connection: { ...connection, maxRetriesPerRequest: null } });
    const quiet = (e: Error): void => {
      process.stderr.write(`warning: Redis: ${redactSecrets(e.message, secrets)}\n`);
    };
    queue.on('error', quiet);
    events.on('error', quiet);
    const kv = await plainClient(connection, secrets);
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new RedisRunner(study, queue, events, opts, secrets, kv);
  }

  async run(trial: Trial): Promise<number> {
    const jobId = `${this.study.id}-${trial.number}`;
    const client = this.kv;
    this.handlers.set(jobId, async (p) => {
      if (p.type === 'start') {
        trial.setAttr('worker', p.worker);
        return;
      }
      if (p.type !== 'report' || typeof p.step !== 'number' || typeof p.value !== 'number') return;
      await trial.report(p.step, p.value);
      await client.set(
        decisionKey(this.queue.name, jobId, p.token, p.step),
        trial.shouldPrune() ? '1' : '0',
        'EX',
        86400,
      );
    });
    try {
      const data: TrialJob = {
        format: 'tsgrad-trial',
        version: 1,
        study: this.study.name,
        studyId: this.study.id,
        number: trial.number,
        params: trial.params,
        payload: this.opts.payload ?? null,
      };
      const job = await this.queue.add('trial', data, {
        jobId,
        attempts: 1,
        removeOnComplete: false,
        removeOnFail: false,
      });
      let outcome: TrialOutcome;
      try {
        outcome = (await job.waitUntilFinished(this.events)) as TrialOutcome;
      } catch (e) {
        throw new RedisTuneError(
          redactSecrets(`a worker refused or lost the trial: ${(e as Error).message}`, this.secrets),
        );
      }
      if (!outcome || typeof outcome !== 'object' || !('state' in outcome))
        throw new RedisTuneError(`trial ${trial.number}: the worker returned no outcome`);
      return settleOutcome(trial, outcome);
    } finally {
      this.handlers.delete(jobId);
    }
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
    this.kv.disconnect();
  }
}

export interface RedisWorkerOptions {
  url: string;
  /** Only jobs of this study are run. */
  study: string;
  objective: ModuleObjective;
  /** How long a job's lock lasts without renewal (ms); a killed worker's trial is retried after it. Default 30000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for (ms); default 30000. */
  stalledIntervalMs?: number;
  /** How many times one trial may be recovered from a lost worker; default 3. */
  maxStalledCount?: number;
  /** How long a report waits for the coordinator's pruning decision (ms); default 10000. */
  decisionTimeoutMs?: number;
  log?(line: string): void;
  connect?: ConnectOptions;
}

/**
 * A Redis trial worker: pulls the named study's trials until closed.
 * @example
 * const w = await runRedisWorker({ url, study: 'tune1', objective });
 * process.on('SIGTERM', () => void w.close());
 */
export async function runRedisWorker(opts: RedisWorkerOptions): Promise<{ close(): Promise<void>; id: string }> {
  await checkRedis(opts.url, opts.connect);
  const { Worker, UnrecoverableError } = await importBullmq();
  const { connection, secrets } = parseRedisUrl(opts.url);
  const log = opts.log ?? ((l: string) => console.log(l));
  const id = `${hostname()}:${process.pid}`;
  const name = queueName(opts.study);
  const kv = await plainClient(connection, secrets);
  const worker = new Worker(
    name,
    async (job) => {
      const problem = checkTrialJob(job.data);
      if (problem) throw new UnrecoverableError(`refused malformed job ${job.id}: ${problem}`);
      const data = job.data as TrialJob;
      if (data.study !== opts.study)
        throw new UnrecoverableError(
          `refused job ${job.id}: it belongs to study '${data.study}', this worker runs '${opts.study}'`,
        );
      const token = randomBytes(4).toString('hex');
      await job.updateProgress({ type: 'start', worker: id, token });
      log(`trial ${data.number} started (job ${job.id}, attempt ${job.attemptsStarted})`);
      const outcome = await runModuleTrial(
        opts.objective,
        { number: data.number, params: data.params, dir: null, payload: data.payload },
        async (step, value) => {
          await job.updateProgress({ type: 'report', token, step, value });
          const key = decisionKey(name, job.id!, token, step);
          const deadline = Date.now() + (opts.decisionTimeoutMs ?? 10000);
          while (Date.now() < deadline) {
            const v = await kv.get(key);
            if (v !== null) return v === '1';
            await new Promise((r) => setTimeout(r, 25));
          }
          return false; // no coordinator answer (restarting?): keep going rather than stall
        },
      );
      outcome.attrs['worker'] = id;
      log(`trial ${data.number} ${outcome.state}${outcome.state === 'complete' ? ` ${outcome.value}` : ''}`);
      return outcome;
    },
    {
      connection: { ...connection, maxRetriesPerRequest: null },
      concurrency: 1,
      lockDuration: opts.lockDurationMs ?? 30000,
      stalledInterval: opts.stalledIntervalMs ?? 30000,
      maxStalledCount: opts.maxStalledCount ?? 3,
    },
  );
  worker.on('failed', (job, err) => log(`error: ${redactSecrets(err.message, secrets)}${job ? '' : ''}`));
  worker.on('error', (e) => log(`warning: Redis: ${redactSecrets(e.message, secrets)}`));
  await worker.waitUntilReady();
  log(`tune-worker ${id} waiting for trials of study '${opts.study}' (queue ${name})`);
  return {
    id,
    close: async () => {
      await worker.close();
      kv.disconnect();
    },
  };
}
