#!/usr/bin/env node
/**
 * Summarises V8 .cpuprofile files (node --cpu-prof) by where self time went: WebAssembly
 * kernels, the cpu backend's JS kernels, the rest of src/backend (dispatch to kernels,
 * copies in and out of linear memory, planning), the other JS of tsgrad (tensor, autograd,
 * nn, optim), the garbage collector, and the rest (Node internals, idle). "Outside kernels"
 * is everything but the first two (and idle). Also lists the top self-time functions.
 *
 * Usage: node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile-step.js --plain --threads 1
 *        node scripts/cpuprofile-summary.mjs /tmp/prof/*.cpuprofile [--top=25]
 */
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);

function category(frame) {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)') return 'idle/program';
  if (url.startsWith('wasm://') || /^\$|wasm-function/.test(functionName)) return 'wasm kernels';
  if (url.includes('/src/backend/cpu/')) return 'cpu JS kernels';
  if (url.includes('/src/backend/')) return 'backend JS (dispatch, copies, plans)';
  if (url.includes('/dist/src/')) return 'tsgrad JS (tensor, autograd, nn, optim)';
  return 'other (node, bench script)';
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i];
    self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
  }
  const cats = new Map();
  const fns = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const f = byId.get(id).callFrame;
    const c = category(f);
    cats.set(c, (cats.get(c) ?? 0) + us);
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/dist\//, '').replace(/^wasm:\/\/.*/, 'wasm')}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    total += us;
  }
  const busy = total - (cats.get('idle/program') ?? 0);
  const pct = (us, of) => ((100 * us) / of).toFixed(1).padStart(5) + '%';
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy`);
  for (const [c, us] of [...cats].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${c.padEnd(42)} ${(us / 1e3).toFixed(0).padStart(7)} ms ${pct(us, busy)} of busy`);
  }
  const kernels = (cats.get('wasm kernels') ?? 0) + (cats.get('cpu JS kernels') ?? 0);
  console.log(`  outside kernels: ${pct(busy - kernels, busy)} of busy time`);
  console.log(`  top ${top} self-time functions:`);
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${pct(us, busy)} ${(us / 1e3).toFixed(0).padStart(6)} ms  ${k}`);
  }
}
