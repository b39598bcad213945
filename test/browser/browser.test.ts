/**
 * tsgrad in a real browser: headless Chromium loads the platform-free entry
 * (dist/src/browser.js) from a local cross-origin isolated server, trains LeNet-5 for a few
 * steps on the page's main thread (one thread) and in a module Web Worker with two threads
 * (the wasm backend's Web Worker pool over shared memory), and posts the results back. The
 * losses must fall and equal Node's for the same seed, and the worker's pool must be up.
 * Skips, saying why, where no Chromium is installed (CI installs Debian's `chromium`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { repoRoot } from '../helpers/nn-fixtures.js';
import { trainSteps, type BrowserRun } from '../helpers/lenet-workload.js';
import { skipUnlessRequired } from '../helpers/require.js';

function findChromium(): string | null {
  for (const name of [process.env['CHROME_BIN'], 'chromium', 'chromium-browser', 'google-chrome']) {
    if (name && spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0) return name;
  }
  return null;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>tsgrad</title>
<script type="module">
import * as T from '/dist/src/browser.js';
import { trainSteps } from '/dist/test/helpers/lenet-workload.js';
const post = (o) => fetch('/__result', { method: 'POST', body: JSON.stringify(o) });
try {
  await T.wasmReady();
  const main = await trainSteps(T, 1);
  const worker = new Worker('/__worker.js', { type: 'module' });
  const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter().catch(() => null) : null;
  const webgpu = !('gpu' in navigator) ? 'no navigator.gpu' : adapter ? 'adapter available' : 'no adapter';
  worker.onmessage = (e) => post({ main, worker: e.data, crossOriginIsolated, webgpu });
  worker.onerror = (e) => post({ main, error: 'worker: ' + e.message });
} catch (e) { post({ error: String(e && e.stack || e) }); }
</script>`;

const WORKER = `import * as T from '/dist/src/browser.js';
import { wasmThreadsReady } from '/dist/src/backend/wasm/index.js';
import { trainSteps } from '/dist/test/helpers/lenet-workload.js';
try {
  await T.wasmReady();
  const threads = T.setNumThreads(2);
  const poolUp = await wasmThreadsReady(20000);
  postMessage({ ...(await trainSteps(T, threads)), poolUp });
} catch (e) { postMessage({ error: String(e && e.stack || e) }); }`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.map': 'application/json', '.html': 'text/html' };

interface Result {
  main?: BrowserRun;
  worker?: BrowserRun & { poolUp: boolean; error?: string };
  crossOriginIsolated?: boolean;
  webgpu?: string;
  error?: string;
}

/** Serves the repository with the headers that make a page cross-origin isolated; resolves with the posted result. */
async function runInChromium(chromium: string): Promise<Result> {
  const root = repoRoot();
  let resolveResult!: (r: Result) => void;
  const result = new Promise<Result>((r) => (resolveResult = r));
  const server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/__result') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.end('ok');
        resolveResult(JSON.parse(body) as Result);
      });
      return;
    }
    const inline = url.pathname === '/' ? PAGE : url.pathname === '/__worker.js' ? WORKER : null;
    if (inline !== null) {
      res.setHeader('Content-Type', url.pathname === '/' ? 'text/html' : 'text/javascript');
      res.end(inline);
      return;
    }
    const path = normalize(join(root, url.pathname));
    if (!path.startsWith(join(root, 'dist'))) return void res.writeHead(404).end();
    readFile(path).then(
      (data) => {
        res.setHeader('Content-Type', TYPES[extname(path)] ?? 'application/octet-stream');
        res.end(data);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const profile = mkdtempSync(join(tmpdir(), 'tsgrad-chromium-'));
  const browser = spawn(
    chromium,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      `http://127.0.0.1:${port}/`,
    ],
    // Its own process group, so that the renderer, zygote and crash handler end with it and
    // none of them is still writing into the profile when the profile is removed.
    { stdio: 'ignore', detached: true },
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Result>(
    (r) => (timer = setTimeout(() => r({ error: 'no result from Chromium in 120 s' }), 120_000)),
  );
  try {
    return await Promise.race([result, timeout]);
  } finally {
    clearTimeout(timer);
    const exited = new Promise((r) => (browser.exitCode !== null ? r(null) : browser.once('exit', r)));
    try {
      process.kill(-browser.pid!, 'SIGKILL');
    } catch {
      browser.kill('SIGKILL'); // the group is already gone
    }
    await exited;
    server.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

const chromium = findChromium();

test(
  'Chromium: LeNet-5 trains on the main thread and in a Web Worker with a 2-thread pool, as in Node',
  {
    skip: skipUnlessRequired(
      'browser',
      !chromium && 'no Chromium found (apt-get install -y chromium, or set CHROME_BIN)',
    ),
    timeout: 180_000,
  },
  async (t) => {
    const r = await runInChromium(chromium!);
    t.diagnostic(`WebGPU in this headless Chromium: ${r.webgpu}`);
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.worker?.error, undefined, r.worker?.error);
    const main = r.main!;
    const worker = r.worker!;
    assert.equal(r.crossOriginIsolated, true);
    assert.equal(main.backend, 'wasm');
    assert.equal(worker.backend, 'wasm');
    assert.equal(main.threads, 1, 'the main thread may not block, so it runs one thread');
    assert.equal(worker.threads, 2);
    assert.equal(worker.poolUp, true, 'the Web Worker pool started');
    // Splits never cut a sum, so any thread count gives the same losses; and Node with the same seed too.
    assert.deepEqual(worker.losses, main.losses);
    const { losses } = await trainSteps(await import('../../src/browser.js'), 1);
    assert.ok(main.losses.at(-1)! < main.losses[0]! * 0.75, `losses ${main.losses.join(' ')}`);
    for (let i = 0; i < losses.length; i++) {
      assert.ok(Math.abs(main.losses[i]! - losses[i]!) <= 1e-4 * Math.max(1, Math.abs(losses[i]!)), `step ${i}`);
    }
  },
);
