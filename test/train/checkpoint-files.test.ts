/**
 * The checkpoint's files one by one: which tensors go where and under which names, what is cleaned up
 * and what is left alone, each corrupt file's error, and ModelCheckpoint's best-file rule driven epoch
 * by epoch. Fast: one short training provides a real state (with Adam's moments) for all of them.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArgumentError,
  DataFileError,
  ModelCheckpoint,
  Tensor,
  Trainer,
  TsgradError,
  loadSafetensors,
  manualSeed,
  readCheckpoint,
  saveCheckpoint,
  saveSafetensors,
  tensor,
  type Sequential,
  type TrainingState,
} from '../../src/index.js';
import { makeModel, makeTrainer } from '../helpers/checkpoint-fixture.js';

let model: Sequential;
let state: TrainingState;

before(async () => {
  model = makeModel(3);
  manualSeed(5);
  const trainer = makeTrainer(model, { epochs: 1 });
  await trainer.fit();
  state = trainer.getState();
});

const tmp = (): string => mkdtempSync(join(tmpdir(), 'tsgrad-ckpt-files-'));
const values = (t: Tensor): number[] => Array.from(t.dataSync());

test('the weights and optimizer files carry the epoch and step; the moments are tensors named <param>.<key>', () => {
  const dir = tmp();
  saveCheckpoint(dir, model, state);
  const file = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as {
    format: string;
    version: number;
    weights: string;
    optimizerTensors: string;
    state: { optimizer: { state: Record<string, Record<string, unknown>> } };
  };
  assert.equal(file.format, 'tsgrad-checkpoint');
  assert.equal(file.version, 1);
  assert.equal(file.weights, 'weights-00000008.safetensors');
  assert.equal(file.optimizerTensors, 'optimizer-00000008.safetensors');
  for (const name of [file.weights, file.optimizerTensors]) {
    assert.deepEqual(loadSafetensors(join(dir, name)).metadata, { epoch: '1', step: '8' }, name);
  }
  const opt = loadSafetensors(join(dir, file.optimizerTensors)).tensors;
  const saved = state.optimizer.state as Record<string, Record<string, { data: number[] } | number>>;
  for (const [index, entry] of Object.entries(saved)) {
    for (const [key, v] of Object.entries(entry)) {
      if (typeof v === 'number') assert.equal(file.state.optimizer.state[index]![key], v);
      else {
        assert.deepEqual(file.state.optimizer.state[index]![key], { tensor: `${index}.${key}` });
        assert.deepEqual(values(opt[`${index}.${key}`]!), Array.from(Float32Array.from(v.data)));
      }
    }
  }
  // And back: readCheckpoint gives the optimizer state it was given (float32 values).
  const back = readCheckpoint(dir).state;
  assert.deepEqual(back.optimizer, JSON.parse(JSON.stringify(state.optimizer)));
  assert.deepEqual(back.history, state.history);
});

test("tensors anywhere in a callback's state (in arrays and objects) round-trip under callbacks.<i>.<path>", () => {
  const dir = tmp();
  const kept = tensor([1, 2, 3]);
  const nested = tensor([[4], [5]]);
  const plain = {
    notATensor: { tensor: 5 }, // a one-key object whose value is not a name stays as it is
    twoKeys: { tensor: 'x', other: 1 },
    list: [1, 'a', null],
    label: { name: 'text' }, // one key with a string value, but not 'tensor': not a reference
  };
  const callbacks = [{ count: 2 }, { best: kept, history: [0.5, nested], plain }];
  saveCheckpoint(dir, model, { ...state, callbacks });
  const tensors = loadSafetensors(join(dir, 'optimizer-00000008.safetensors')).tensors;
  assert.deepEqual(values(tensors['callbacks.1.best']!), [1, 2, 3]);
  assert.deepEqual(values(tensors['callbacks.1.history.1']!), [4, 5]);
  const json = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { state: { callbacks: unknown } };
  assert.deepEqual(json.state.callbacks, [
    { count: 2 },
    { best: { tensor: 'callbacks.1.best' }, history: [0.5, { tensor: 'callbacks.1.history.1' }], plain },
  ]);
  const back = readCheckpoint(dir).state.callbacks as [unknown, { best: Tensor; history: [number, Tensor] }];
  assert.deepEqual(back[0], { count: 2 });
  assert.ok(back[1].best instanceof Tensor);
  assert.deepEqual(values(back[1].best), [1, 2, 3]);
  assert.deepEqual(back[1].history[0], 0.5);
  assert.deepEqual([...back[1].history[1].shape], [2, 1]);
  assert.deepEqual(values(back[1].history[1]), [4, 5]);
  assert.deepEqual((back[1] as unknown as { plain: unknown }).plain, plain);
});

test('a tensor named in checkpoint.json but missing from the optimizer file is an error naming both', () => {
  const dir = tmp();
  saveCheckpoint(dir, model, { ...state, callbacks: [{ best: tensor([1]) }] });
  const optPath = join(dir, 'optimizer-00000008.safetensors');
  const all = loadSafetensors(optPath).tensors;
  const [someMoment] = Object.keys(all).filter((k) => !k.startsWith('callbacks.'));
  const { [someMoment!]: _dropped, ...withoutMoment } = all;
  saveSafetensors(optPath, withoutMoment);
  assert.throws(
    () => readCheckpoint(dir),
    (e: unknown) =>
      e instanceof DataFileError &&
      e.file === optPath &&
      e.message.includes(`optimizer tensor '${someMoment}' is missing`),
  );
  const { ['callbacks.0.best']: _best, ...withoutBest } = all;
  saveSafetensors(optPath, withoutBest);
  assert.throws(
    () => readCheckpoint(dir),
    (e: unknown) =>
      e instanceof DataFileError &&
      e.file === optPath &&
      e.message.includes("callback tensor 'callbacks.0.best' is missing"),
  );
});

test('checkpoint.json without a format, a weights name or a state object, or naming missing files, is refused', () => {
  const dir = tmp();
  const write = (o: unknown): void => writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(o));
  for (const bad of [
    { weights: 'w.safetensors', state: {} },
    { format: 'tsgrad-checkpoint', state: {} },
    { format: 'tsgrad-checkpoint', weights: 3, state: {} },
    { format: 'tsgrad-checkpoint', weights: 'w.safetensors' },
    { format: 'tsgrad-checkpoint', weights: 'w.safetensors', state: 'x' },
  ]) {
    write(bad);
    assert.throws(
      () => readCheckpoint(dir),
      (e: unknown) =>
        e instanceof DataFileError && /not a tsgrad checkpoint \(missing format, weights or state\)/.test(e.message),
      JSON.stringify(bad),
    );
  }
  write({ format: 'tsgrad-checkpoint', weights: 'w.safetensors', state: {} });
  assert.throws(
    () => readCheckpoint(dir),
    (e: unknown) =>
      e instanceof DataFileError &&
      e.file === join(dir, 'w.safetensors') &&
      e.message.includes(`weights file named by ${join(dir, 'checkpoint.json')} is missing`),
  );
  writeFileSync(join(dir, 'w.safetensors'), '');
  // No optimizer file named (an older checkpoint): the state is returned as it is.
  assert.deepEqual(readCheckpoint(dir).state, {});
  write({ format: 'tsgrad-checkpoint', weights: 'w.safetensors', optimizerTensors: 'o.safetensors', state: {} });
  assert.throws(
    () => readCheckpoint(dir),
    (e: unknown) =>
      e instanceof DataFileError &&
      e.file === join(dir, 'o.safetensors') &&
      e.message.includes(`optimizer file named by ${join(dir, 'checkpoint.json')} is missing`),
  );
});

test("saving removes older checkpoints' files and other processes' dead temporary files, and nothing else", () => {
  const dir = tmp();
  const otherPid = process.pid === 99_999 ? 99_998 : 99_999;
  const removed = [
    'weights-00000003.safetensors',
    'optimizer-00000003.safetensors',
    `.weights-00000012.safetensors.${otherPid}.ab12.tmp`,
    `.optimizer-00000012.safetensors.${otherPid}.ab12.tmp`,
    `.checkpoint.json.${otherPid}.0f.tmp`,
    `.best.safetensors.${otherPid}.3c9.tmp`,
  ];
  const kept = [
    'my-weights-00000003.safetensors', // not a checkpoint's name: the pattern is anchored at both ends
    'weights-00000003.safetensors.bak',
    'weights-latest.safetensors',
    'model.safetensors',
    `.checkpoint.json.${process.pid}.ab.tmp`, // this process's own write in progress
    `x.checkpoint.json.${otherPid}.ab.tmp`,
    `.checkpoint.json.${otherPid}.ab.tmp.keep`,
    `.checkpoint.json.${otherPid}.xyz.tmp`, // not a random hex suffix
    `.checkpoint.json.pid.ab.tmp`,
    `.log.csv.${otherPid}.ab.tmp`, // not one of the checkpoint's files
  ];
  for (const f of [...removed, ...kept]) writeFileSync(join(dir, f), 'x');
  saveCheckpoint(dir, model, state);
  const left = readdirSync(dir);
  for (const f of removed) assert.ok(!left.includes(f), `${f} is removed`);
  for (const f of kept) assert.ok(left.includes(f), `${f} is kept`);
  assert.ok(left.includes('weights-00000008.safetensors') && left.includes('optimizer-00000008.safetensors'));
});

/**
 * Runs ModelCheckpoint's epoch end over these logs with a stand-in for the trainer (without saveLast the
 * best file needs only the model's state dict), whose one weight is the epoch's index: it tells which was saved.
 */
function epochs(checkpoint: ModelCheckpoint, logs: Record<string, number>[]): void {
  logs.forEach((l, epoch) => {
    const t = { model: { stateDict: () => ({ bias: tensor([epoch]) }) } } as unknown as Trainer;
    checkpoint.afterEpoch(t, epoch, { loss: 0, lr: 0.1, ...l });
  });
}

function bestOf(dir: string): { epoch: string; bias: number; metadata: Record<string, string> } | undefined {
  const path = join(dir, 'best.safetensors');
  if (!existsSync(path)) return undefined;
  const { tensors, metadata } = loadSafetensors(path);
  return { epoch: metadata['epoch']!, bias: tensors['bias']!.dataSync()[0]!, metadata };
}

test('best.safetensors: the strictly best epoch by the monitored metric, in the mode given or guessed from its name', () => {
  const run = (options: ConstructorParameters<typeof ModelCheckpoint>[1], logs: Record<string, number>[]) => {
    const dir = tmp();
    epochs(new ModelCheckpoint(dir, { saveLast: false, ...options }), logs);
    return bestOf(dir);
  };
  const losses = [{ val_loss: 2 }, { val_loss: 1 }, { val_loss: 1 }, { val_loss: 3 }];
  // Lower is better for a loss; a tie does not replace the earlier epoch.
  assert.deepEqual(run({ monitor: 'val_loss' }, losses), {
    epoch: '2',
    bias: 1,
    metadata: { epoch: '2', val_loss: '1' },
  });
  assert.equal(run({ monitor: 'val_loss', mode: 'auto' }, losses)?.epoch, '2');
  assert.equal(run({ monitor: 'val_loss', mode: 'max' }, losses)?.epoch, '4');
  assert.equal(run({ monitor: 'val_loss', mode: 'min' }, losses)?.epoch, '2');
  // Higher is better for accuracy and top-k, whatever the first value.
  const accs = [{ val_accuracy: -5 }, { val_accuracy: 0.5 }, { val_accuracy: 0.5 }, { val_accuracy: 0.25 }];
  assert.equal(run({ monitor: 'val_accuracy' }, accs)?.epoch, '2');
  assert.equal(run({ monitor: 'val_accuracy', mode: 'min' }, accs)?.epoch, '1');
  assert.equal(run({ monitor: 'val_top5' }, [{ val_top5: 0.1 }, { val_top5: 0.2 }])?.epoch, '2');
  // A first epoch at +/-Infinity's other side is still an improvement on "nothing yet".
  assert.equal(run({ monitor: 'val_loss' }, [{ val_loss: 1e300 }])?.epoch, '1');
  assert.equal(run({ monitor: 'val_accuracy' }, [{ val_accuracy: -1e300 }])?.epoch, '1');
  // No monitor: no best file.
  assert.equal(run({}, losses), undefined);
});

test("ModelCheckpoint's best value is its state: restored, it decides whether a later epoch improves", () => {
  const dir = tmp();
  const first = new ModelCheckpoint(dir, { monitor: 'val_loss', saveLast: false });
  epochs(first, [{ val_loss: 0.5 }]);
  assert.deepEqual(first.stateDict(), { best: 0.5 });

  const resumedDir = tmp();
  const resumed = new ModelCheckpoint(resumedDir, { monitor: 'val_loss', saveLast: false });
  resumed.loadStateDict(first.stateDict());
  epochs(resumed, [{ val_loss: 0.7 }]);
  assert.equal(bestOf(resumedDir), undefined, 'worse than the restored best: not written');
  epochs(resumed, [{ val_loss: 0.25 }]);
  assert.equal(bestOf(resumedDir)?.metadata['val_loss'], '0.25');

  // A state saved before any epoch (best: Infinity becomes null in JSON) restores "nothing yet", in both modes.
  for (const [monitor, mode, value] of [
    ['val_loss', 'min', 1e300],
    ['val_accuracy', 'max', -1e300],
  ] as const) {
    const d = tmp();
    const c = new ModelCheckpoint(d, { monitor, mode, saveLast: false });
    c.loadStateDict(JSON.parse(JSON.stringify(c.stateDict())));
    assert.deepEqual(JSON.parse(JSON.stringify(c.stateDict())), { best: null });
    epochs(c, [{ [monitor]: value }]);
    assert.equal(bestOf(d)?.epoch, '1', `${mode}: the first epoch is an improvement`);
  }
});

test('a monitored metric missing from the logs is an error listing the metrics there', () => {
  const c = new ModelCheckpoint(tmp(), { monitor: 'val_accuracy', saveLast: false });
  assert.throws(
    () => epochs(c, [{ accuracy: 0.5 }]),
    (e: unknown) =>
      e instanceof TsgradError &&
      e.message === "ModelCheckpoint: metric 'val_accuracy' is not in the epoch logs (loss, lr, accuracy)",
  );
});

test('saveLast writes the resumable state after each epoch by default, and not when turned off', async () => {
  for (const saveLast of [undefined, true, false]) {
    const dir = tmp();
    const m = makeModel(1);
    await makeTrainer(m, {
      epochs: 1,
      samples: 32,
      after: [new ModelCheckpoint(dir, saveLast === undefined ? {} : { saveLast })],
    }).fit();
    assert.equal(existsSync(join(dir, 'checkpoint.json')), saveLast !== false, `saveLast ${saveLast}`);
  }
});

test('ModelCheckpoint accepts the smallest valid intervals and refuses the rest, naming the value', () => {
  assert.doesNotThrow(() => new ModelCheckpoint('x', { everySteps: 1 }));
  assert.doesNotThrow(() => new ModelCheckpoint('x', { everyMinutes: 1e-9 }));
  for (const everySteps of [0, -1, 2.5, Number.NaN]) {
    assert.throws(
      () => new ModelCheckpoint('x', { everySteps }),
      (e: unknown) =>
        e instanceof ArgumentError &&
        e.message === `ModelCheckpoint: everySteps must be a positive integer, got ${everySteps}`,
    );
  }
  for (const everyMinutes of [0, -1, Infinity, Number.NaN]) {
    assert.throws(
      () => new ModelCheckpoint('x', { everyMinutes }),
      (e: unknown) =>
        e instanceof ArgumentError &&
        e.message === `ModelCheckpoint: everyMinutes must be a positive number, got ${everyMinutes}`,
    );
  }
});

test("an epoch's last batch is saved once, by the epoch end with its metrics, even when everySteps falls on it", async () => {
  const dir = tmp();
  const seen: [number, number][] = [];
  const record = {
    afterBatch(t: Trainer) {
      const f = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { state: { step: number } };
      seen.push([t.step, f.state.step]);
    },
  };
  writeFileSync(join(dir, 'checkpoint.json'), '{"state": {"step": 0}}');
  // 32 samples in batches of 8: 4 batches an epoch, and everySteps 2 falls on the last one.
  await makeTrainer(makeModel(1), {
    epochs: 2,
    samples: 32,
    after: [new ModelCheckpoint(dir, { everySteps: 2 }), record],
  }).fit();
  assert.deepEqual(seen, [
    [1, 0],
    [2, 2],
    [3, 2],
    [4, 2], // not saved mid-epoch at its last batch: the epoch end saves it
    [5, 4],
    [6, 6],
    [7, 6],
    [8, 6],
  ]);
});
