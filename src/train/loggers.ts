import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import { type Callback, type Logs, type Trainer, metricValue } from './fit.js';

/**
 * Rewrites a log file from the whole history after every epoch (atomically,
 * so a crash never leaves a torn line, and a resumed run continues the same file).
 */
abstract class HistoryFileLogger implements Callback {
  constructor(readonly path: string) {}
  protected abstract render(history: readonly Logs[]): string;
  onEpochEnd(t: Trainer): void {
    writeFileAtomic(this.path, this.render(t.history));
  }
}

/** One CSV row per epoch (epoch, loss, accuracy, lr, val_loss, ...). @example new CSVLogger('runs/x/log.csv') */
export class CSVLogger extends HistoryFileLogger {
  protected render(history: readonly Logs[]): string {
    const columns = [...new Set(history.flatMap((h) => Object.keys(h)))];
    const rows = history.map((h) => columns.map((c) => metricValue(h, c) ?? '').join(','));
    return `${columns.join(',')}\n${rows.join('\n')}\n`;
  }
}

/** One JSON object per epoch, one per line. @example new JSONLinesLogger('runs/x/log.jsonl') */
export class JSONLinesLogger extends HistoryFileLogger {
  protected render(history: readonly Logs[]): string {
    return history.map((h) => JSON.stringify(h)).join('\n') + '\n';
  }
}

/** One per-batch record of BatchJSONLinesLogger. */
export interface BatchLog {
  /** Optimizer steps so far, counting this batch (1-based). */
  step: number;
  /** Epoch of the batch (1-based, as in the epoch log). */
  epoch: number;
  /** Batch within the epoch (1-based). */
  batch: number;
  loss: number;
  lr: number;
}

/**
 * One JSON object per training batch (step, epoch, batch, loss, lr), for per-batch curves.
 * The file is rewritten atomically at the end of each epoch and of training; a resumed run
 * keeps the lines of the steps it had already taken and continues from there.
 * @example new BatchJSONLinesLogger('runs/x/batches.jsonl')
 */
export class BatchJSONLinesLogger implements Callback {
  private records: BatchLog[] = [];
  constructor(readonly path: string) {}

  onTrainBegin(t: Trainer): void {
    this.records = [];
    if (t.step === 0 || !existsSync(this.path)) return;
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as BatchLog;
        if (typeof r.step === 'number' && r.step <= t.step) this.records.push(r);
      } catch {
        // A damaged line from an older run is dropped; the epoch log stays the reference.
      }
    }
  }

  onBatchEnd(t: Trainer, batch: number, logs: Logs): void {
    this.records.push({ step: t.step, epoch: t.epoch + 1, batch: batch + 1, loss: logs['loss']!, lr: logs['lr']! });
  }

  onEpochEnd(): void {
    this.flush();
  }

  onTrainEnd(): void {
    this.flush();
  }

  private flush(): void {
    writeFileAtomic(
      this.path,
      this.records.map((r) => JSON.stringify(r)).join('\n') + (this.records.length ? '\n' : ''),
    );
  }
}
