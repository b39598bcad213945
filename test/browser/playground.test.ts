/**
 * The playground in a real browser: playwright-core drives Debian's Chromium against
 * `tsgrad playground`'s server. On wasm (Web Worker, thread pool) LeNet-5 trains on the
 * bundled digits until the page shows a held-out accuracy of at least 95%; a 7 and a 2
 * drawn with the mouse are recognized; no console error and no main-thread long task over
 * 200 ms happen while training. Then, with --enable-unsafe-webgpu, the page trains on
 * WebGPU (SwiftShader) and its losses match Node's cpu backend for the same seed.
 * Screenshots of each view go to test-output/playground/ (or $TSGRAD_TEST_OUTPUT).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPlayground } from '../../src/cli/playground-server.js';
import {
  OUT,
  type Page,
  launch,
  pageState,
  skipWithoutChromium as skip,
  waitFor,
  watch,
} from '../helpers/playground-page.js';

/** Draws a polyline on the pad with mouse events (pad coordinates 0..280). */
async function draw(page: Page, points: [number, number][]): Promise<void> {
  await page.locator('#pad').scrollIntoViewIfNeeded();
  const box = (await page.locator('#pad').boundingBox())!;
  const sx = box.width / 280;
  const sy = box.height / 280;
  await page.mouse.move(box.x + points[0]![0] * sx, box.y + points[0]![1] * sy);
  await page.mouse.down();
  for (let i = 1; i < points.length; i++) {
    await page.mouse.move(box.x + points[i]![0] * sx, box.y + points[i]![1] * sy, { steps: 8 });
  }
  await page.mouse.up();
}

async function topPrediction(page: Page): Promise<string> {
  await page.waitForTimeout(300);
  await page.waitForFunction(() => document.querySelectorAll('#top3 li').length === 3);
  return (await page.locator('#top3 li').first().getAttribute('data-class')) ?? '';
}

test(
  'playground on wasm: trains LeNet-5 to >= 95% held-out accuracy, reads drawn digits, page stays responsive',
  { skip, timeout: 150_000 },
  async (t) => {
    mkdirSync(OUT, { recursive: true });
    const server = await startPlayground({ port: 0 });
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1150, height: 900 } });
      const { errors } = await watch(page);
      await page.goto(`${server.url}?epochs=3&batch=32&lr=0.002`);
      await waitFor(page, 'the data', (s) => s.status === 'idle', 60_000);
      const ready = await pageState(page);
      assert.equal(ready.backend, 'wasm', 'no WebGPU adapter without --enable-unsafe-webgpu: wasm');
      assert.match((await page.locator('#backend').textContent()) ?? '', /wasm with \d threads?/);
      t.diagnostic(`backend: ${await page.locator('#backend').textContent()}`);
      const startedAt = await page.evaluate(() => performance.now());
      await page.click('#start');
      const trained = await waitFor(
        page,
        'held-out accuracy >= 95%',
        (s) => (s.accuracy ?? 0) >= 0.95 || s.status === 'done',
        110_000,
      );
      const shown = Number.parseFloat((await page.locator('#stat-accuracy').textContent()) ?? '');
      assert.ok(shown >= 95, `the page shows ${shown}% held-out accuracy after ${trained.step} steps`);
      const longTasks = await page.evaluate(
        (from) =>
          (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks.filter(
            (l) => l.start >= from,
          ),
        startedAt,
      );
      const worst = Math.max(0, ...longTasks.map((l) => l.duration));
      t.diagnostic(
        `${trained.step} steps to ${shown}%; ${longTasks.length} long tasks while training, the longest ${worst.toFixed(0)} ms`,
      );
      assert.ok(worst <= 200, `a main-thread long task of ${worst} ms while training`);
      await page.click('#stop').catch(() => undefined);
      await waitFor(page, 'training to stop', (s) => s.status === 'done', 30_000);
      await page.locator('#view-train').screenshot({ path: join(OUT, 'train.png') });
      await page.locator('#view-inside').screenshot({ path: join(OUT, 'inside.png') });
      await page.locator('#view-results').screenshot({ path: join(OUT, 'results.png') });

      // A 7: a top bar and a long diagonal stroke.
      await draw(page, [
        [70, 60],
        [210, 60],
        [120, 240],
      ]);
      const seven = await topPrediction(page);
      await page.locator('#view-draw').screenshot({ path: join(OUT, 'draw-7.png') });
      await page.click('#clear');
      // A 2: an arc over the top, a diagonal down to the left, a flat base.
      await draw(page, [
        [80, 100],
        [100, 60],
        [140, 45],
        [185, 60],
        [200, 100],
        [180, 140],
        [80, 230],
        [210, 230],
      ]);
      const two = await topPrediction(page);
      await page.locator('#view-draw').screenshot({ path: join(OUT, 'draw-2.png') });
      await page.screenshot({ path: join(OUT, 'page.png'), fullPage: true });
      assert.equal(seven, '7', 'the drawn 7');
      assert.equal(two, '2', 'the drawn 2');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await browser.close();
      await server.close();
    }
  },
);

// SwiftShader (Chromium's software WebGPU adapter, the only one headless Chromium exposes
// here) runs WGSL on the CPU. The backend picks its barrier-free kernels there (setWebGPUKernels),
// and the run is sized to fit CI: 300 Adam steps of 2 images (about 0.5 s a step on a 2-core
// machine at load average 15, far less when it is quiet; SwiftShader's time grows with the batch).
// The page evaluates the 2,004 held-out digits after the last step; the test reads the losses
// as soon as the steps are done.
const GPU_STEPS = 300;

test(
  'playground on WebGPU (SwiftShader): the page reports webgpu and its losses match Node cpu for the same seed',
  { skip, timeout: 480_000 },
  async (t) => {
    mkdirSync(OUT, { recursive: true });
    const server = await startPlayground({ port: 0 });
    const browser = await launch(['--enable-unsafe-webgpu']);
    try {
      const page = await browser.newPage({ viewport: { width: 1150, height: 900 } });
      const { errors } = await watch(page);
      const config = {
        model: 'lenet5',
        epochs: 1,
        batchSize: 2,
        optimizer: 'adam',
        lr: 0.003,
        augment: 'none',
        seed: 4,
      } as const;
      await page.goto(
        `${server.url}?backend=webgpu&epochs=1&batch=${config.batchSize}&optimizer=${config.optimizer}&lr=${config.lr}&seed=${config.seed}&steps=${GPU_STEPS}&viz-every=0`,
      );
      await waitFor(page, 'the data', (s) => s.status === 'idle', 60_000);
      const ready = await pageState(page);
      const label = (await page.locator('#backend').textContent()) ?? '';
      t.diagnostic(label);
      assert.equal(ready.backend, 'webgpu', label);
      assert.match(label, /^Backend: WebGPU \(swiftshader, barrier-free kernels\)/i);
      await page.click('#start');
      const done = await waitFor(page, `${GPU_STEPS} WebGPU steps`, (s) => s.losses.length >= GPU_STEPS, 400_000);
      await page.locator('#view-train').screenshot({ path: join(OUT, 'train-webgpu.png') });
      assert.equal(done.losses.length, GPU_STEPS);

      const { TrainingSession } = await import('../../web/session.js');
      const { loadMnistPackage } = await import('../../src/data/mnist.js');
      const T = await import('../../src/index.js');
      const previous = T.getBackend().name;
      T.setBackend('cpu');
      try {
        const { train, test: testSet } = loadMnistPackage();
        const node = new TrainingSession({ ...config, maxSteps: GPU_STEPS }, train, testSet, 10);
        const losses: number[] = [];
        while (!node.done) losses.push((await node.trainStep()).loss);
        let worst = 0;
        losses.forEach((l, i) => (worst = Math.max(worst, Math.abs(l - done.losses[i]!))));
        t.diagnostic(
          `losses ${done.losses[0]!.toFixed(4)} -> ${done.losses.at(-1)!.toFixed(4)}; largest difference from Node cpu ${worst.toExponential(2)}`,
        );
        assert.ok(worst <= 1e-3, `WebGPU and cpu losses differ by ${worst}`);
        // Two images a step are noisy: compare the means of the first and last 50 steps.
        const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
        const head = mean(losses.slice(0, 50));
        const tail = mean(losses.slice(-50));
        assert.ok(tail < head * 0.8, `the loss falls: ${head} -> ${tail} (means of the first and last 50 steps)`);
      } finally {
        T.setBackend(previous);
      }
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
