// The log files' exact contents: CSVLogger's columns and empty cells, JSONLinesLogger's lines, and
// BatchJSONLinesLogger's per-batch records, with what a resumed run keeps of an older file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchJSONLinesLogger, CSVLogger, JSONLinesLogger, type Logs, type Trainer } from '../../src/index.js';

function scratch(): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-loggers-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The fields of a Trainer the loggers read. */
function trainer(fields: {
  history?: Logs[];
  step?: number;
  epoch?: number;
}): Trainer & { step: number; epoch: number } {
  return { history: [], step: 0, epoch: 0, ...fields } as unknown as Trainer & { step: number; epoch: number };
}

test('CSVLogger: a header of every key in order of appearance, one row per epoch, empty cells for missing ones', () => {
  const { dir, done } = scratch();
  try {
    const path = join(dir, 'log.csv');
    const history: Logs[] = [{ epoch: 1, loss: 0.5, accuracy: 0.25, lr: 0.1 }];
    const log = new CSVLogger(path);
    assert.equal(log.path, path);
    log.onEpochEnd(trainer({ history }));
    assert.equal(readFileSync(path, 'utf8'), 'epoch,loss,accuracy,lr\n1,0.5,0.25,0.1\n');
    // The file is rewritten from the whole history; a later column joins the header, earlier rows leave it empty,
    // and a zero is written as 0.
    history.push({ epoch: 2, loss: 0.125, lr: 0.01, val_loss: 0 });
    log.onEpochEnd(trainer({ history }));
    assert.equal(readFileSync(path, 'utf8'), 'epoch,loss,accuracy,lr,val_loss\n1,0.5,0.25,0.1,\n2,0.125,,0.01,0\n');
    assert.deepEqual(readdirSync(dir), ['log.csv'], 'written atomically: no temporary file left');
  } finally {
    done();
  }
});

test('JSONLinesLogger: one JSON object per epoch, each on its own line', () => {
  const { dir, done } = scratch();
  try {
    const path = join(dir, 'log.jsonl');
    const history: Logs[] = [
      { epoch: 1, loss: 0.5, lr: 0.1 },
      { epoch: 2, loss: 0.25, lr: 0.1, val_accuracy: 1 },
    ];
    new JSONLinesLogger(path).onEpochEnd(trainer({ history }));
    assert.equal(
      readFileSync(path, 'utf8'),
      '{"epoch":1,"loss":0.5,"lr":0.1}\n{"epoch":2,"loss":0.25,"lr":0.1,"val_accuracy":1}\n',
    );
    assert.deepEqual(readdirSync(dir), ['log.jsonl']);
  } finally {
    done();
  }
});

test('BatchJSONLinesLogger: a record per batch (1-based epoch and batch), written at epoch ends and at the end', () => {
  const { dir, done } = scratch();
  try {
    const path = join(dir, 'batches.jsonl');
    // A file left by an earlier run: a fresh run (step 0) starts it again.
    writeFileSync(
      path,
      '{"step":0,"epoch":1,"batch":0,"loss":9,"lr":9}\n{"step":1,"epoch":1,"batch":1,"loss":9,"lr":9}\n',
    );
    const log = new BatchJSONLinesLogger(path);
    assert.equal(log.path, path);
    const t = trainer({});
    log.onTrainBegin(t);
    t.step = 1;
    log.onBatchEnd(t, 0, { loss: 0.5, lr: 0.1 });
    t.step = 2;
    log.onBatchEnd(t, 1, { loss: 0.25, lr: 0.1 });
    assert.match(readFileSync(path, 'utf8'), /"loss":9/, 'nothing written before the epoch ends');
    log.onEpochEnd();
    const first =
      '{"step":1,"epoch":1,"batch":1,"loss":0.5,"lr":0.1}\n{"step":2,"epoch":1,"batch":2,"loss":0.25,"lr":0.1}\n';
    assert.equal(readFileSync(path, 'utf8'), first);
    t.step = 3;
    t.epoch = 1;
    log.onBatchEnd(t, 0, { loss: 0.125, lr: 0.05 });
    log.onTrainEnd();
    assert.equal(readFileSync(path, 'utf8'), first + '{"step":3,"epoch":2,"batch":1,"loss":0.125,"lr":0.05}\n');
    assert.deepEqual(readdirSync(dir), ['batches.jsonl']);
    // A run that took no batch writes an empty file, not a blank line.
    const none = new BatchJSONLinesLogger(join(dir, 'none.jsonl'));
    none.onTrainBegin(trainer({}));
    none.onTrainEnd();
    assert.equal(readFileSync(join(dir, 'none.jsonl'), 'utf8'), '');
  } finally {
    done();
  }
});

test('BatchJSONLinesLogger resumed at step N keeps the earlier records up to step N and drops damaged lines', () => {
  const { dir, done } = scratch();
  try {
    const path = join(dir, 'batches.jsonl');
    const rec = (step: number) => JSON.stringify({ step, epoch: 1, batch: step, loss: step / 10, lr: 0.1 });
    writeFileSync(
      path,
      [rec(1), '', '   ', '{"step":', rec(2), '{"step":"2","loss":1}', 'null', rec(3), rec(4), rec(5)].join('\n') +
        '\n',
    );
    const log = new BatchJSONLinesLogger(path);
    const t = trainer({ step: 3, epoch: 0 });
    log.onTrainBegin(t);
    t.step = 4;
    log.onBatchEnd(t, 3, { loss: 7, lr: 0.2 });
    log.onEpochEnd();
    assert.equal(
      readFileSync(path, 'utf8'),
      [rec(1), rec(2), rec(3), '{"step":4,"epoch":1,"batch":4,"loss":7,"lr":0.2}'].join('\n') + '\n',
    );
    // Resumed with no file yet: nothing to keep, no error.
    const fresh = new BatchJSONLinesLogger(join(dir, 'missing.jsonl'));
    fresh.onTrainBegin(trainer({ step: 5 }));
    fresh.onTrainEnd();
    assert.equal(readFileSync(join(dir, 'missing.jsonl'), 'utf8'), '');
    // A second fit of the same logger starts from the file again, not from the records in memory.
    const again = new BatchJSONLinesLogger(join(dir, 'again.jsonl'));
    const t2 = trainer({});
    again.onTrainBegin(t2);
    t2.step = 1;
    again.onBatchEnd(t2, 0, { loss: 1, lr: 1 });
    again.onTrainBegin(trainer({}));
    again.onTrainEnd();
    assert.equal(readFileSync(join(dir, 'again.jsonl'), 'utf8'), '');
  } finally {
    done();
  }
});
