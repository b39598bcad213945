/** Reading a run directory's logs for plots (Node only: files). */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataFileError } from '../core/errors.js';
import { readFileBytes } from '../io/read-file.js';
import type { BatchRecord, EpochRecord, RunCurves } from './plots.js';

function readJsonLines<T>(path: string): T[] {
  const text = new TextDecoder().decode(readFileBytes(path, 'a JSON-lines log'));
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new DataFileError(path, `line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new DataFileError(path, `line ${i + 1} is not a JSON object`);
    }
    out.push(v as T);
  });
  return out;
}

/**
 * The curves of a run written by `tsgrad train` (or any Trainer with JSONLinesLogger):
 * `log.jsonl` per epoch and, where present, `batches.jsonl` per batch. `path` is the run
 * directory or a log.jsonl file.
 * @example const run = readRunCurves('runs/lenet5-mnist-20261201-0930');
 */
export function readRunCurves(path: string, name?: string): RunCurves {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  const dir = isDir ? path : join(path, '..');
  const log = isDir ? join(path, 'log.jsonl') : path;
  if (!existsSync(log)) {
    throw new DataFileError(log, isDir ? 'no log.jsonl here: is this a tsgrad run directory?' : 'no such file');
  }
  const epochs = readJsonLines<EpochRecord>(log);
  const batchFile = join(dir, 'batches.jsonl');
  const batches = isDir && existsSync(batchFile) ? readJsonLines<BatchRecord>(batchFile) : undefined;
  return { name: name ?? basename(isDir ? path : dir), epochs, ...(batches ? { batches } : {}) };
}
