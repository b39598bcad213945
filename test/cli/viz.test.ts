/**
 * tsgrad viz and tsgrad plot on a real run: a tiny LeNet-5 run on a folder of PNGs, then
 * every image and the curves; and the failures (bad checkpoint, unknown layer, a file that
 * is not an image) that must print one error line and write nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePng, encodePng } from '../../src/data/png.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function tsgrad(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Two classes of 16×16 PNGs: a bright bar on the left or on the right. */
function makeFolder(root: string, perClass: number): string {
  for (const [cls, side] of [
    ['left', 0],
    ['right', 1],
  ] as const) {
    mkdirSync(join(root, 'data', cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = new Uint8Array(16 * 16);
      for (let y = 0; y < 16; y++)
        for (let x = 0; x < 16; x++)
          px[y * 16 + x] = (side === 0 ? x < 6 : x >= 10) ? 200 + (i % 50) : (i * 7 + x * 3 + y) % 40;
      writeFileSync(join(root, 'data', cls, `${i}.png`), encodePng(16, 16, 1, px));
    }
  }
  return join(root, 'data');
}

const root = mkdtempSync(join(tmpdir(), 'tsgrad-viz-'));
const run = join(root, 'run');
let trained = false;
function trainedRun(): string {
  if (!trained) {
    const r = tsgrad(
      'train',
      '--dataset',
      makeFolder(root, 12),
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
  const r = tsgrad('viz', '--checkpoint', dir, '--input', join(root, 'data', 'left', '0.png'), '--out', out);
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
  const input = join(root, 'data', 'left', '0.png');
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
