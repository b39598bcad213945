/**
 * Driving the playground page from tests: Chromium through playwright-core, the page's
 * `window.playground` state, console errors and main-thread long tasks, and waiting for a
 * state with the page's own errors reported at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './nn-fixtures.js';

export const CHROMIUM = process.env['CHROME_BIN'] ?? '/usr/bin/chromium';
export const OUT = process.env['TSGRAD_TEST_OUTPUT'] ?? join(repoRoot(), 'test-output', 'playground');

/** false where Chromium is installed, else why the browser tests skip. */
export const skipWithoutChromium: false | string = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROME_BIN)`;

export type Browser = import('playwright-core').Browser;
export type Page = import('playwright-core').Page;

export async function launch(args: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...args], headless: true });
}

/** What web/app.ts publishes as window.playground. */
export interface PageState {
  backend: string;
  threads: number;
  status: string;
  accuracy: number | null;
  step: number;
  losses: number[];
  errors: string[];
  epochs: { epoch: number; step: number; testAccuracy: number; at: number }[];
  loadedAt: number;
  progress: { samplesPerSecond: number; trainMs: number; vizMs: number; totalSteps: number } | null;
}

export const pageState = (page: Page): Promise<PageState> =>
  page.evaluate(() => (window as unknown as { playground: PageState }).playground);

/** Records console errors, page errors and long tasks (PerformanceObserver 'longtask'). */
export async function watch(page: Page): Promise<{ errors: string[] }> {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: { start: number; duration: number }[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  return { errors };
}

/** Polls the page state until `pred` holds; a message in the page's error line fails at once. */
export async function waitFor(
  page: Page,
  what: string,
  pred: (s: PageState) => boolean,
  timeoutMs: number,
  { failOnPageError = true } = {},
): Promise<PageState> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await pageState(page);
    if (pred(s)) return s;
    if (failOnPageError && s.errors.length)
      throw new Error(`page error while waiting for ${what}: ${s.errors.join('; ')}`);
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what} (state ${JSON.stringify({ ...s, losses: s.losses.length })})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
