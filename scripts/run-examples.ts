/**
 * Runs every example (examples/*.ts, built into dist/examples/) in its own process, one after another, and
 * fails if any of them fails: each example asserts what it demonstrates and throws otherwise.
 * `npm run examples` builds first; `node dist/scripts/run-examples.js 03 06` runs the examples whose file
 * names contain one of the arguments.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
const filters = process.argv.slice(2);
const examples = readdirSync(dir)
  .filter((f) => /^\d+-.*\.js$/.test(f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (examples.length === 0) {
  console.error(
    `no examples in ${dir}${filters.length ? ` matching ${filters.join(', ')}` : ''}: build first (npm run build)`,
  );
  process.exitCode = 1;
} else {
  const failed: string[] = [];
  // The README lists every example with one line; one missing from it counts as a failure.
  const readme = readFileSync(join(dir, '..', '..', 'README.md'), 'utf8');
  for (const file of examples) {
    const source = `${file.replace(/\.js$/, '.ts')}`;
    if (!readme.includes(`\`${source}\``)) failed.push(`examples/${source} (not listed in README.md)`);
  }
  const start = performance.now();
  for (const file of examples) {
    const name = `examples/${file.replace(/\.js$/, '.ts')}`;
    console.log(`\n=== ${name}`);
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(dir, file)], { stdio: 'inherit' });
    const seconds = ((performance.now() - t) / 1000).toFixed(1);
    if (r.status === 0) console.log(`--- ${name}: ok (${seconds} s)`);
    else {
      console.log(`--- ${name}: FAILED (${r.signal ?? `exit code ${r.status}`}, ${seconds} s)`);
      failed.push(name);
    }
  }
  const total = ((performance.now() - start) / 1000).toFixed(1);
  console.log(`\n${examples.length - failed.length}/${examples.length} examples passed in ${total} s`);
  if (failed.length) {
    console.log(`failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}
