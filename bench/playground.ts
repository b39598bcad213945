/**
 * The playground's costs, measured in headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium) against Node on the same machine:
 *  - training throughput of the page's Web Worker (wasm, N threads) against the same
 *    TrainingSession (web/session.ts) in Node on the same backend and thread count: the ratio
 *    of the medians of three alternated rounds;
 *  - time from page load to the first trained epoch (LeNet-5, the bundled digits, batch 64);
 *  - the cost of live visualization (filters and feature maps every 20 batches, the page's
 *    default) as a fraction of training time, and the throughput with it off.
 * Usage: node dist/bench/playground.js [--steps 60] [--threads 2] [--save NAME]
 * Results are written to bench/results/<date>-NAME.json with --save.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { option } from './args.js';
import { startPlayground } from '../src/cli/playground-server.js';
import { loadMnistPackage } from '../src/data/mnist.js';
import * as T from '../src/index.js';
import { wasmThreadsReady } from '../src/backend/wasm/index.js';
import { TrainingSession, type SessionConfig } from '../web/session.js';

const steps = Number(option('steps') ?? 60);
const threads = Number(option('threads') ?? 2);
const batch = 64;
const loadAtStart = loadavg();

interface PageState {
  status: string;
  backend: string;
  threads: number;
  losses: number[];
  epochs: { at: number; testAccuracy: number }[];
  progress: { trainMs: number; vizMs: number; step: number } | null;
}

async function nodeThroughput(): Promise<{ samplesPerSecond: number; msPerStep: number }> {
  await T.wasmReady();
  T.setBackend('wasm');
  T.setNumThreads(threads);
  if (threads > 1 && !(await wasmThreadsReady(20000))) throw new Error('the wasm thread pool did not start');
  const { train, test } = loadMnistPackage();
  const config: SessionConfig = {
    model: 'lenet5',
    epochs: 1,
    batchSize: batch,
    optimizer: 'adam',
    lr: 0.002,
    augment: 'none',
    seed: 0,
    maxSteps: steps,
  };
  const s = new TrainingSession(config, train, test, 10);
  const start = performance.now();
  while (!s.done) {
    await s.trainStep();
    // The page's worker yields once per step; so does this loop.
    await new Promise((r) => setImmediate(r));
  }
  const ms = performance.now() - start;
  return { samplesPerSecond: (steps * batch * 1000) / ms, msPerStep: ms / steps };
}

async function main(): Promise<void> {
  const { chromium } = await import('playwright-core');
  const server = await startPlayground({ port: 0 });
  const browser = await chromium.launch({
    executablePath: process.env['CHROME_BIN'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const state = async (page: import('playwright-core').Page): Promise<PageState> =>
    page.evaluate(() => (window as unknown as { playground: PageState }).playground);
  const until = async (page: import('playwright-core').Page, pred: (s: PageState) => boolean): Promise<PageState> => {
    for (;;) {
      const s = await state(page);
      if (pred(s)) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    // 1. Throughput: the same N steps, no visualization, page against Node, alternated
    // (three rounds each) because the machine is shared and its load drifts.
    const pageRun = async (): Promise<PageState> => {
      const page = await browser.newPage();
      await page.goto(
        `${server.url}?backend=wasm&threads=${threads}&batch=${batch}&steps=${steps}&viz-every=0&epochs=1`,
      );
      await until(page, (s) => s.status === 'idle');
      await page.click('#start');
      const r = await until(page, (s) => s.losses.length >= steps && s.progress?.step === steps);
      await page.close();
      return r;
    };
    const pageRates: number[] = [];
    const nodeRates: number[] = [];
    let run: PageState | undefined;
    for (let round = 0; round < 3; round++) {
      run = await pageRun();
      pageRates.push((steps * batch * 1000) / run.progress!.trainMs);
      nodeRates.push((await nodeThroughput()).samplesPerSecond);
      console.log(
        `round ${round + 1}: page ${pageRates.at(-1)!.toFixed(0)}, Node ${nodeRates.at(-1)!.toFixed(0)} samples/s`,
      );
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    const pageRate = median(pageRates);
    const node = { samplesPerSecond: median(nodeRates) };

    // 2. and 3. A full epoch from page load, with the default live visualization, then without.
    const epoch = async (
      vizEvery: number,
    ): Promise<{ firstEpochMs: number; vizFraction: number; trainMs: number; accuracy: number }> => {
      const p = await browser.newPage();
      await p.goto(`${server.url}?backend=wasm&threads=${threads}&batch=${batch}&epochs=1&viz-every=${vizEvery}`);
      await until(p, (s) => s.status === 'idle');
      await p.click('#start');
      const s = await until(p, (x) => x.epochs.length > 0);
      await p.close();
      return {
        firstEpochMs: s.epochs[0]!.at,
        vizFraction: s.progress!.vizMs / s.progress!.trainMs,
        trainMs: s.progress!.trainMs,
        accuracy: s.epochs[0]!.testAccuracy,
      };
    };
    const withViz = await epoch(20);
    const withoutViz = await epoch(0);
    const result = {
      date: new Date().toISOString(),
      machine: 'shared 2-core machine (timings noisy)',
      // 1, 5 and 15 minute load averages when the run started and ended.
      loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
      threads,
      batch,
      steps,
      backend: run!.backend,
      pageThreads: run!.threads,
      throughput: {
        pageSamplesPerSecond: pageRate,
        nodeSamplesPerSecond: node.samplesPerSecond,
        ratio: pageRate / node.samplesPerSecond,
        pageRounds: pageRates,
        nodeRounds: nodeRates,
      },
      firstEpoch: { fromPageLoadMs: withViz.firstEpochMs, heldOutAccuracy: withViz.accuracy },
      liveVisualization: {
        every: 20,
        fractionOfTrainingTime: withViz.vizFraction,
        epochTrainMsWithViz: withViz.trainMs,
        epochTrainMsWithoutViz: withoutViz.trainMs,
      },
    };
    console.log(
      `page worker ${pageRate.toFixed(0)} samples/s, Node ${node.samplesPerSecond.toFixed(0)} samples/s: ratio ${result.throughput.ratio.toFixed(2)} (wasm, ${threads} threads, batch ${batch}, ${steps} steps)`,
    );
    console.log(
      `first trained epoch ${(withViz.firstEpochMs / 1000).toFixed(1)} s after page load (held-out accuracy ${(withViz.accuracy * 100).toFixed(2)}%)`,
    );
    console.log(
      `live visualization every 20 batches: ${(withViz.vizFraction * 100).toFixed(2)}% of training time (epoch ${(withViz.trainMs / 1000).toFixed(1)} s with, ${(withoutViz.trainMs / 1000).toFixed(1)} s without)`,
    );
    const name = option('save');
    if (name) {
      const dir = join('bench', 'results');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${result.date.slice(0, 10)}-${name}.json`);
      writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
      console.log(`saved ${file}`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
