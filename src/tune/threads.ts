/**
 * Local parallel trials: N worker threads, each with its own backend and thread
 * count, running an objective module. Every message carries its trial number, so
 * results and reports can never be attributed to the wrong trial.
 */
import { Worker } from 'node:worker_threads';
import { TsgradError } from '../core/errors.js';
import type { TrialOutcome } from './remote.js';
import { settleOutcome } from './remote.js';
import type { Trial, TrialRunner } from './study.js';

export interface ThreadRunnerOptions {
  /** Worker threads (trials at once). */
  workers: number;
  /** Module exporting `objective(trial, payload)`: a file:// URL or an absolute path. */
  objectiveModule: string;
  /** Sent to every trial's objective (JSON-serializable). */
  payload?: unknown;
  /** Compute threads of each worker's wasm backend; default 1. */
  threadsPerWorker?: number;
  /** Backend of each worker ('wasm', 'cpu', 'auto'); default: the environment's. */
  backend?: string;
}

interface Slot {
  worker: Worker;
  id: number;
  busy: { trial: Trial; resolve: (o: TrialOutcome) => void; reject: (e: Error) => void } | null;
}

/**
 * @example
 * const runner = new ThreadRunner({ workers: 2, objectiveModule: new URL('./objective.js', import.meta.url).href });
 * await study.optimize(null, { trials: 20, runner });
 * await runner.close();
 */
export class ThreadRunner implements TrialRunner {
  readonly concurrency: number;
  private slots: Slot[] = [];
  private closed = false;

  constructor(readonly opts: ThreadRunnerOptions) {
    if (!(Number.isInteger(opts.workers) && opts.workers >= 1))
      throw new TsgradError(`ThreadRunner: workers must be a positive integer, got ${opts.workers}`);
    this.concurrency = opts.workers;
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.spawn(i));
  }

  private spawn(id: number): Slot {
    const env: Record<string, string | undefined> = {
      ...process.env,
      TSGRAD_NUM_THREADS: String(this.opts.threadsPerWorker ?? 1),
    };
    if (this.opts.backend) env['TSGRAD_BACKEND'] = this.opts.backend;
    const worker = new Worker(new URL('./thread-worker.js', import.meta.url), {
      workerData: { objectiveModule: this.opts.objectiveModule },
      env,
    });
    const slot: Slot = { worker, id, busy: null };
    worker.on(
      'message',
      (msg: { type: string; number: number; step?: number; value?: number; outcome?: TrialOutcome }) => {
        const job = slot.busy;
        if (!job || job.trial.number !== msg.number) return; // never attribute a message to another trial
        if (msg.type === 'report') {
          void job.trial.report(msg.step!, msg.value!).then(
            () =>
              worker.postMessage({
                type: 'decision',
                number: msg.number,
                step: msg.step,
                prune: job.trial.shouldPrune(),
              }),
            () => worker.postMessage({ type: 'decision', number: msg.number, step: msg.step, prune: false }),
          );
        } else if (msg.type === 'done') {
          slot.busy = null;
          job.resolve(msg.outcome!);
        }
      },
    );
    const lost = (why: string): void => {
      const job = slot.busy;
      slot.busy = null;
      if (job) job.reject(new TsgradError(`worker thread ${id} was lost during the trial: ${why}`));
      if (!this.closed) this.slots[this.slots.indexOf(slot)] = this.spawn(id);
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => {
      if (!this.closed) lost(`exit code ${code}`);
    });
    return slot;
  }

  async run(trial: Trial): Promise<number> {
    const slot = this.slots.find((s) => !s.busy);
    if (!slot) throw new TsgradError('ThreadRunner: more trials at once than worker threads');
    trial.setAttr('worker', `thread-${slot.id}`);
    const outcome = await new Promise<TrialOutcome>((resolve, reject) => {
      slot.busy = { trial, resolve, reject };
      slot.worker.postMessage({
        type: 'run',
        number: trial.number,
        params: trial.params,
        dir: trial.dir,
        payload: this.opts.payload ?? null,
      });
    });
    return settleOutcome(trial, outcome);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
