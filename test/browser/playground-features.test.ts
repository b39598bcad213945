/**
 * The playground's other controls in a real browser (wasm backend): Pause / Resume / Stop;
 * downloading the weights as safetensors and loading them back (the same held-out accuracy);
 * a dropped set of PNGs (a Playwright DataTransfer on the drop zone) with a malformed and a
 * huge file among them, reported in the page; a `tsgrad train` run's model.safetensors loaded
 * onto that data; a malformed weights file; and Fashion-MNIST where it is installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPlayground, type PlaygroundServer } from '../../src/cli/playground-server.js';
import { findFashionMnist } from '../../src/data/mnist.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { LeNet5 } from '../../src/models/lenet.js';
import { lastJson, makeBarFolder, tempDir, tsgrad } from '../helpers/cli-run.js';
import {
  type Browser,
  OUT,
  type Page,
  launch,
  pageState,
  skipWithoutChromium as skip,
  waitFor,
  watch,
} from '../helpers/playground-page.js';

let server: PlaygroundServer;
let browser: Browser;
const root = tempDir('playground-features');

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  server = await startPlayground({ port: 0 });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1150, height: 900 }, acceptDownloads: true });
  const { errors } = await watch(page);
  await page.goto(`${server.url}?${query}`);
  await waitFor(page, 'the data', (s) => s.status === 'idle', 60_000);
  return { page, errors };
}

const text = async (page: Page, id: string): Promise<string> => (await page.locator(`#${id}`).textContent()) ?? '';

test('Pause holds the step count, Resume continues, Stop ends the run early', { skip, timeout: 120_000 }, async () => {
  const { page, errors } = await open('epochs=1&batch=16&viz-every=0');
  try {
    await page.click('#start');
    await waitFor(page, 'a few steps', (s) => s.step >= 5, 60_000);
    await page.click('#pause');
    const paused = await waitFor(page, 'the paused state', (s) => s.status === 'paused', 20_000);
    assert.equal(await text(page, 'pause'), 'Resume');
    await page.waitForTimeout(1500);
    const still = await pageState(page);
    assert.equal(still.step, paused.step, 'no step while paused');
    assert.equal(still.losses.length, paused.losses.length);
    await page.click('#pause');
    await waitFor(page, 'steps after Resume', (s) => s.status === 'training' && s.step > paused.step + 2, 60_000);
    assert.equal(await text(page, 'pause'), 'Pause');
    await page.click('#stop');
    const stopped = await waitFor(page, 'the stop', (s) => s.status === 'done', 30_000);
    assert.equal(await text(page, 'stat-eta'), 'stopped');
    assert.ok(
      stopped.step < stopped.progress!.totalSteps,
      `stopped at ${stopped.step} of ${stopped.progress!.totalSteps}`,
    );
    await page.waitForTimeout(500);
    assert.equal((await pageState(page)).step, stopped.step, 'no step after Stop');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test(
  'weights download as safetensors and load back into a fresh page with the same held-out accuracy',
  { skip, timeout: 150_000 },
  async () => {
    const first = await open('epochs=1&batch=32&viz-every=0&steps=60');
    const file = join(root, 'playground.safetensors');
    let accuracy: number;
    try {
      await first.page.click('#start');
      const done = await waitFor(
        first.page,
        'the run and its evaluation',
        (s) => s.status === 'done' && s.accuracy !== null,
        90_000,
      );
      accuracy = done.accuracy!;
      const [download] = await Promise.all([first.page.waitForEvent('download'), first.page.click('#download')]);
      assert.equal(download.suggestedFilename(), 'lenet5-playground.safetensors');
      await download.saveAs(file);
      assert.match(await text(first.page, 'weights-status'), /^Saved lenet5-playground\.safetensors/);
      assert.deepEqual(first.errors, []);
    } finally {
      await first.page.close();
    }
    const contents = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    const want = new LeNet5({ numClasses: 10 }).stateDict();
    assert.deepEqual(Object.keys(contents.tensors).sort(), Object.keys(want).sort());
    for (const [k, t] of Object.entries(want)) assert.deepEqual(contents.tensors[k]!.shape, t.shape, k);
    assert.equal(contents.metadata?.['model'], 'lenet5');

    const second = await open('viz-every=0');
    try {
      assert.equal((await pageState(second.page)).accuracy, null, 'a fresh page has no accuracy yet');
      await second.page.setInputFiles('#weights', file);
      const loaded = await waitFor(second.page, 'the loaded weights evaluated', (s) => s.accuracy !== null, 60_000);
      assert.match(await text(second.page, 'weights-status'), /^loaded playground\.safetensors \(10 tensors, lenet5\)/);
      assert.equal(loaded.accuracy, accuracy, 'the same weights give the same held-out accuracy');
      assert.ok(accuracy > 0.5, `accuracy ${accuracy} after 60 steps`);
      assert.deepEqual(second.errors, []);
    } finally {
      await second.page.close();
    }
  },
);

test(
  'dropped PNGs become the data set (a malformed and a huge file are reported in the page); a tsgrad train run loads onto them',
  { skip, timeout: 180_000 },
  async (t) => {
    const data = makeBarFolder(root, 25, 28);
    const run = join(root, 'run');
    const trained = tsgrad(
      'train',
      '--dataset',
      data,
      '--model',
      'lenet5',
      '--epochs',
      '5',
      '--augment',
      'none',
      '--batch-size',
      '8',
      '--out',
      run,
      '--json',
    );
    assert.equal(trained.code, 0, trained.stderr);
    // (No augmentation: a flip would make the left and right bars one class.)
    assert.equal(lastJson(trained.stdout)['test_accuracy'], 1, trained.stdout);
    const files: { name: string; bytes: number[] }[] = [];
    for (const cls of ['left', 'right'])
      for (const f of readdirSync(join(data, cls)))
        files.push({ name: `${cls}_${f}`, bytes: [...readFileSync(join(data, cls, f))] });
    const { page, errors } = await open('viz-every=0');
    try {
      const dataTransfer = await page.evaluateHandle(
        ({ files, huge }) => {
          const dt = new DataTransfer();
          for (const f of files) dt.items.add(new File([Uint8Array.from(f.bytes)], f.name, { type: 'image/png' }));
          dt.items.add(new File(['this is text, not a PNG'], 'left_broken.png', { type: 'image/png' }));
          dt.items.add(new File([new Uint8Array(huge)], 'right_huge.png', { type: 'image/png' }));
          return dt;
        },
        { files, huge: 9 * 1024 * 1024 },
      );
      await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
      await page.waitForFunction(
        () => /^dropped folder/.test(document.getElementById('data-status')!.textContent ?? ''),
        null,
        {
          timeout: 60_000,
        },
      );
      const status = await text(page, 'data-status');
      // 25 per class, every fifth held out: 20 + 20 training and 5 + 5 held-out images.
      assert.match(status, /^dropped folder: 40 training and 10 held-out images, 2 classes; skipped 2: /);
      assert.match(status, /left\/left_broken\.png: not a readable image/);
      assert.match(status, /right\/right_huge\.png: 9\.0 MiB is over the 8 MiB limit/);
      assert.equal(await page.locator('#dataset').inputValue(), 'folder');

      await page.setInputFiles('#weights', join(run, 'model.safetensors'));
      const loaded = await waitFor(page, 'the tsgrad train weights evaluated', (s) => s.accuracy !== null, 60_000);
      assert.match(await text(page, 'weights-status'), /^loaded model\.safetensors \(10 tensors, lenet5\)/);
      assert.ok(loaded.accuracy! >= 0.9, `held-out accuracy ${loaded.accuracy} with the tsgrad train weights`);
      await page.locator('#view-results').screenshot({ path: join(OUT, 'dropped-folder.png') });

      // A weights file that is not safetensors: a message in the page, and the page still works.
      await page.setInputFiles('#weights', {
        name: 'bad.safetensors',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('garbage'),
      });
      await page.waitForFunction(
        () => (document.getElementById('error')!.textContent ?? '').includes('bad.safetensors'),
        null,
        {
          timeout: 30_000,
        },
      );
      t.diagnostic(`the page says: ${await text(page, 'error')}`);
      assert.deepEqual(errors, [], 'messages go to the page, not the console');
    } finally {
      await page.close();
    }
  },
);

const fashion = ((): boolean => {
  try {
    findFashionMnist();
    return true;
  } catch {
    return false;
  }
})();
test(
  'Fashion-MNIST, where installed, is offered, loads with its class names and trains',
  {
    skip: skip || (!fashion && 'Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)'),
    timeout: 120_000,
  },
  async () => {
    const { page, errors } = await open('dataset=fashion-mnist&batch=32&steps=30&viz-every=0');
    try {
      assert.equal(await page.locator('#dataset').inputValue(), 'fashion-mnist');
      assert.match(
        await text(page, 'data-status'),
        /^fashion-mnist: 10,000 training and 2,000 held-out images, 10 classes/,
      );
      await page.click('#start');
      const done = await waitFor(
        page,
        '30 steps and the evaluation',
        (s) => s.status === 'done' && s.accuracy !== null,
        90_000,
      );
      assert.equal(done.losses.length, 30);
      assert.ok(done.accuracy! > 0.3, `held-out accuracy ${done.accuracy} after 30 steps (chance: 0.1)`);
      const worst = await page.locator('#worst figure').first().getAttribute('title');
      assert.match(worst ?? '', /true (T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  },
);
