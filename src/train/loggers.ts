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
