/**
 * tsgrad viz and tsgrad plot on a real run: a tiny LeNet-5 run on a folder of PNGs, then
 * every image and the curves; and the failures (bad checkpoint, unknown layer, a file that
 * is not an image) that must print one error line and write nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng } from '../../src/data/png.js';
import { makeBarFolder, tempDir, tsgrad } from '../helpers/cli-run.js';

const root = tempDir('viz');
const run = join(root, 'run');
let trained = false;
function trainedRun(): string {
  if (!trained) {
    const r = tsgrad(
      'train',
      '--dataset',
      makeBarFolder(root, 12),
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--out',
      run,
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    trained = true;
  }
  return run;
}

test('tsgrad viz writes filters, a feature map per conv layer, saliency, Grad-CAM, confusion and curves', () => {
  const dir = trainedRun();
  const out = join(root, 'viz');
  const r = tsgrad('viz', '--checkpoint', dir, '--input', join(root, 'data', 'left', '000.png'), '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /saliency and Grad-CAM \(features\.5\)/);
  const files = readdirSync(out).sort();
  assert.deepEqual(files, [
    'confusion.png',
    'curves.svg',
    'features-features.0.png',
    'features-features.3.png',
    'filters.png',
    'gradcam.png',
    'saliency.png',
  ]);
  const size = (f: string): [number, number] => {
    const img = decodePng(readFileSync(join(out, f)));
    return [img.width, img.height];
  };
  assert.deepEqual(size('filters.png'), [3 * 20 + 4, 2 * 20 + 3]);
  assert.deepEqual(size('features-features.0.png'), [3 * 56 + 4, 2 * 56 + 3]);
  assert.deepEqual(size('gradcam.png'), [112, 112]);
  assert.deepEqual(size('saliency.png'), [112, 112]);
  const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /Loss per epoch/);
  assert.match(svg, /Loss per batch/);
});

test('tsgrad viz: a bad checkpoint, an unknown layer or a non-image input is one error line and writes nothing', () => {
  const dir = trainedRun();
  const notImage = join(root, 'notes.png');
  writeFileSync(notImage, 'this is text, not a PNG');
  const broken = join(root, 'broken-run');
  mkdirSync(broken, { recursive: true });
  writeFileSync(join(broken, 'config.json'), readFileSync(join(dir, 'config.json')));
  writeFileSync(join(broken, 'model.safetensors'), 'garbage');
  const input = join(root, 'data', 'left', '000.png');
  const cases: [string[], RegExp][] = [
    [['--checkpoint', join(root, 'nope'), '--input', input], /not a tsgrad run directory/],
    [['--checkpoint', broken, '--input', input], /model\.safetensors/],
    [['--checkpoint', dir, '--input', input, '--layer', 'features.9'], /unknown layer 'features\.9'/],
    [['--checkpoint', dir, '--input', notImage], /notes\.png: /],
    [['--checkpoint', dir, '--input', join(root, 'missing.png')], /missing\.png/],
  ];
  for (const [args, re] of cases) {
    const out = join(root, `out-${Math.random().toString(36).slice(2)}`);
    const r = tsgrad('viz', ...args, '--out', out);
    assert.notEqual(r.code, 0, args.join(' '));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^error: /);
    assert.match(lines[0]!, re);
    assert.equal(existsSync(out), false, `nothing written for ${args.join(' ')}`);
  }
});

test('tsgrad plot overlays runs in one SVG and refuses a folder that is not a run', () => {
  const dir = trainedRun();
  const svgPath = join(root, 'compare.svg');
  const r = tsgrad('plot', dir, dir, '--compare', '--out', svgPath);
  assert.equal(r.code, 0, r.stderr);
  const svg = readFileSync(svgPath, 'utf8');
  assert.match(svg, /run train/);
  assert.match(svg, /run \(2\) train/);
  const bad = tsgrad('plot', root, '--out', join(root, 'x.svg'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: .*log\.jsonl: no log\.jsonl here/);
  assert.equal(existsSync(join(root, 'x.svg')), false);
  assert.match(tsgrad('plot', dir, '--out', join(root, 'x.png')).stderr, /--out must name an \.svg file/);
});

test('tsgrad plot overlays a tuning study: each trial per step, and the trial values with the best so far', async () => {
  const { Study, MedianPruner, RandomStrategy, TrialPruned, hp, readStudyFile } =
    await import('../../src/tune/index.js');
  const { studyPoints } = await import('../../src/viz/plots.js');
  const studyDir = join(root, 'study');
  const study = new Study({
    space: { x: hp.float(0, 1) },
    strategy: new RandomStrategy(),
    pruner: new MedianPruner({ startupTrials: 2 }),
    direction: 'maximize',
    metric: 'score',
    seed: 3,
    dir: studyDir,
    name: 'toy',
  });
  await study.optimize(
    async (trial) => {
      const x = trial.params['x'] as number;
      for (let step = 1; step <= 4; step++) {
        await trial.report(step, x * step);
        if (trial.shouldPrune()) throw new TrialPruned();
      }
      return x * 4;
    },
    { trials: 8 },
  );
  const file = readStudyFile(studyDir);
  const states = file.trials.map((t) => t.state);
  assert.ok(states.includes('complete'), states.join(' '));

  // The best-so-far line is the running maximum of the complete trials' values, in trial order.
  const points = studyPoints([{ name: 'toy', metric: 'score', direction: 'maximize', trials: file.trials }]);
  const best = points.filter((p) => p.series === 'best so far');
  let running = -Infinity;
  const want = file.trials
    .filter((t) => t.state === 'complete')
    .sort((a, b) => a.number - b.number)
    .map((t) => (running = Math.max(running, t.value!)));
  assert.deepEqual(
    best.map((p) => p.value),
    want,
  );
  const perStep = points.filter((p) => p.chart === 'trial_curves');
  assert.equal(
    perStep.length,
    file.trials.reduce((n, t) => n + t.intermediate.length, 0),
  );

  const svgPath = join(root, 'study.svg');
  const r = tsgrad('plot', studyDir, trainedRun(), '--out', svgPath);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /study toy: 8 trials/);
  const svg = readFileSync(svgPath, 'utf8');
  assert.match(svg, /Trials: score per step/);
  assert.match(svg, /Trials: score by trial/);
  assert.match(svg, /best so far/);
  for (const t of file.trials) assert.match(svg, new RegExp(`trial ${t.number}\\b`));
  assert.match(svg, /Loss per epoch/, 'the run is drawn beside the study');
  // A study.json that is not a journal: one error line naming the file.
  const broken = join(root, 'broken-study');
  mkdirSync(broken, { recursive: true });
  writeFileSync(join(broken, 'study.json'), '{"format":"something-else"}');
  const bad = tsgrad('plot', broken, '--out', join(root, 'y.svg'));
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /^error: .*study\.json: not a tsgrad study journal/);
  assert.equal(existsSync(join(root, 'y.svg')), false);
});
