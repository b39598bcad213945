#!/usr/bin/env node
// Mutation testing (StrykerJS over node's test runner), one source file at a time, so a run can be
// stopped and finished in parts: each file keeps its own incremental file and JSON report under
// bench/results/mutation/, and later runs retest only changed code and tests (Stryker's incremental mode).
// Then it writes bench/results/mutation/summary.json and summary.md: the score per file and per folder.
//
//   npm run mutate                      # every file of src/autograd, src/nn, src/optim, src/train, src/io
//   npm run mutate -- src/optim/sgd.ts  # only these files
//   npm run mutate -- --summary         # only rebuild the summary from the saved reports
//
// Outside CI: on this project's 2-core machine it takes about a second per mutant (see the README).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'bench', 'results', 'mutation');
const base = JSON.parse(readFileSync(join(root, 'stryker.config.json'), 'utf8'));
const FOLDERS = ['src/autograd', 'src/nn', 'src/optim', 'src/train', 'src/io'];

const walk = (dir) =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(root, path)).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });

/**
 * The fast unit test files that aim at each part of the code: a mutant runs only those of them that
 * execute it (Stryker's perTest coverage, per test file here). Without this, a surviving mutant of a
 * widely used file (an optimizer) would run every test that trains anything: 20 s a mutant instead of 2.
 * The op table (50 s a run) is left out; rules.ts is covered by test/autograd/rules.test.ts (the rules the
 * reference tests miss, in float64 gradchecks) and the reference and gradcheck tests.
 */
const TESTS = [
  // lrMultiplierGroups is exercised by the transfer-learning tests.
  [/^src\/optim\/param-groups/, ['optim/*.test.js', 'nn/transfer.test.js']],
  // The schedules' closed forms first; then the LR callbacks and the loops that step them.
  [
    /^src\/optim\/schedules/,
    [
      'optim/schedules-mutation.test.js',
      'train/callbacks-mutation.test.js',
      'train/fit.test.js',
      'nn/transfer.test.js',
    ],
  ],
  [/^src\/optim\//, ['optim/*.test.js']],
  [/^src\/autograd\/gradcheck/, ['nn/gradcheck*.test.js']],
  // The engine's own cases (hooks, retained graphs, accumulation, errors) first.
  [
    /^src\/autograd\/engine/,
    [
      'autograd/engine.test.js',
      'autograd/recycle.test.js',
      'autograd/rules.test.js',
      'tensor/tensor.test.js',
      'nn/hooks.test.js',
      'ops/ties.test.js',
    ],
  ],
  [
    /^src\/autograd\//,
    [
      'autograd/rules.test.js',
      'ops/ties.test.js',
      'ops/torch-reference.test.js',
      'nn/gradcheck*.test.js',
      'nn/torch-reference.test.js',
    ],
  ],
  [
    /^src\/nn\/module/,
    [
      'nn/module-mutation.test.js',
      'nn/fused-epilogue.test.js',
      'nn/module.test.js',
      'nn/module-api.test.js',
      'nn/hooks.test.js',
      'nn/transfer.test.js',
    ],
  ],
  // Forward and backward hooks, featureMaps and summary: the hook and summary tests.
  [/^src\/nn\/(backward-hooks|hooks)/, ['nn/hooks-mutation.test.js', 'nn/hooks.test.js', 'nn/module.test.js']],
  [/^src\/nn\/summary/, ['nn/summary-mutation.test.js', 'nn/summary-init.test.js', 'nn/hooks.test.js']],
  // The functional ops (losses, norms, LRN, PReLU/RReLU, maxout, transposed conv, stochastic pooling,
  // L-Softmax): the PyTorch references and the float64 gradchecks.
  [
    /^src\/nn\/functional/,
    [
      'nn/functional-mutation.test.js',
      'nn/fused-epilogue.test.js',
      'nn/layer-params.test.js',
      'nn/torch-reference.test.js',
      'nn/module-reference.test.js',
      'nn/gradcheck.test.js',
      'nn/layers-gradcheck.test.js',
      'nn/layers.test.js',
    ],
  ],
  [
    /^src\/nn\/penalty/,
    ['nn/layers-mutation-penalty.test.js', 'nn/penalty-mutation.test.js', 'train/regularization.test.js'],
  ],
  [
    /^src\/nn\/init/,
    ['nn/layers-mutation-init.test.js', 'nn/init-mutation.test.js', 'nn/summary-init.test.js', 'nn/layers.test.js'],
  ],
  // Layers: their case-by-case tests (layers-mutation-*: printing, option checks, initialization bounds,
  // hand-computed outputs), the PyTorch module fixtures and the option checks first (fast, and they kill
  // most mutants), then the layer tests and the layers' gradchecks; the order matters, as a mutant stops
  // at its first failing file.
  [
    /^src\/nn\/layers\//,
    [
      'nn/layers-mutation-*.test.js',
      'nn/fused-epilogue.test.js',
      'nn/layer-params.test.js',
      'nn/module-reference.test.js',
      'nn/conv-pool-options.test.js',
      'nn/conv-pool-plan.test.js',
      'nn/torch-reference.test.js',
      'nn/layers.test.js',
      'nn/layers-gradcheck.test.js',
    ],
  ],
  [
    /^src\/nn\//,
    [
      'nn/layers.test.js',
      'nn/module-reference.test.js',
      'nn/torch-reference.test.js',
      'nn/layers-gradcheck.test.js',
      'nn/gradcheck.test.js',
    ],
  ],
  [/^src\/train\/checkpoint/, ['train/checkpoint*.test.js']],
  // The loop's own bookkeeping (fit-loop) first: it kills most mutants in a second; resume and penalties after.
  [
    /^src\/train\/fit/,
    ['train/fit-loop.test.js', 'train/fit.test.js', 'train/regularization.test.js', 'train/checkpoint-every.test.js'],
  ],
  // Callbacks, metrics, loggers and recipes: the loop's tests, which drive them.
  [
    /^src\/train\/callbacks/,
    ['train/callbacks-mutation.test.js', 'train/fit-loop.test.js', 'train/fit.test.js', 'train/checkpoint*.test.js'],
  ],
  [/^src\/train\/metrics/, ['train/metrics-mutation.test.js', 'train/fit-loop.test.js', 'train/fit.test.js']],
  [/^src\/train\/loggers/, ['train/loggers-mutation.test.js', 'train/fit-loop.test.js', 'train/fit.test.js']],
  [/^src\/train\/recipe/, ['train/recipe-mutation.test.js', 'train/recipe.test.js']],
  [/^src\/train\//, ['train/fit.test.js', 'train/checkpoint*.test.js']],
  [/^src\/io\//, ['io/*.test.js']],
];
const testsFor = (file) => (TESTS.find(([re]) => re.test(file))?.[1] ?? []).map((t) => `dist/test/${t}`);

/** bench/results/mutation/<file with / replaced by ->.{json,incremental.json} */
const stem = (file) => join(outDir, file.replace(/^src\//, '').replace(/[/.]/g, '-'));

function mutateFile(file) {
  const config = {
    ...base,
    mutate: [file],
    incrementalFile: relative(root, `${stem(file)}.incremental.json`),
    jsonReporter: { fileName: relative(root, `${stem(file)}.json`) },
    reporters: ['clear-text', 'json'],
    tap: { ...base.tap, testFiles: testsFor(file).length ? testsFor(file) : base.tap.testFiles },
  };
  delete config.htmlReporter;
  // Without an incremental file Stryker tests every mutant: that run's time is the file's full cost.
  const fullRun = !existsSync(`${stem(file)}.incremental.json`);
  const configPath = join(root, `.stryker-${process.pid}.config.json`);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const started = Date.now();
  const r = spawnSync('npx', ['stryker', 'run', configPath], { cwd: root, stdio: 'inherit' });
  spawnSync('rm', ['-f', configPath]);
  const seconds = (Date.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`stryker failed on ${file} (exit ${r.status})`);
  const timingsPath = join(outDir, 'timings.json');
  const timings = existsSync(timingsPath) ? JSON.parse(readFileSync(timingsPath, 'utf8')) : {};
  const full = fullRun ? Math.round(seconds) : timings[file]?.fullSeconds;
  timings[file] = { seconds: Math.round(seconds), finished: new Date().toISOString(), fullSeconds: full };
  writeFileSync(timingsPath, JSON.stringify(timings, null, 2) + '\n');
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

function summarize() {
  const timingsPath = join(outDir, 'timings.json');
  const timings = existsSync(timingsPath) ? JSON.parse(readFileSync(timingsPath, 'utf8')) : {};
  const equivalentPath = join(outDir, 'equivalent.json');
  const equivalent = existsSync(equivalentPath) ? JSON.parse(readFileSync(equivalentPath, 'utf8')) : {};
  const files = {};
  for (const name of readdirSync(outDir).filter((n) => n.endsWith('.json') && !n.includes('.incremental.'))) {
    const report = JSON.parse(readFileSync(join(outDir, name), 'utf8'));
    // Only Stryker's reports (summary.json, timings.json and equivalent.json are this script's own).
    if (!report.schemaVersion || !report.files) continue;
    for (const [file, { mutants }] of Object.entries(report.files)) {
      const counts = { killed: 0, survived: 0, equivalent: 0, errors: 0 };
      const survivors = [];
      for (const m of mutants) {
        const key = `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}`;
        if (DETECTED.has(m.status)) counts.killed++;
        else if (UNDETECTED.has(m.status)) {
          if (equivalent[key]) counts.equivalent++;
          else {
            counts.survived++;
            survivors.push(`${key} → ${JSON.stringify(m.replacement ?? '')} (${m.status})`);
          }
        } else counts.errors++;
      }
      const scored = counts.killed + counts.survived;
      files[file] = {
        ...counts,
        score: scored ? counts.killed / scored : null,
        seconds: timings[file]?.seconds,
        survivors,
      };
    }
  }
  const folders = {};
  for (const [file, f] of Object.entries(files)) {
    const folder = FOLDERS.find((d) => file.startsWith(d + '/')) ?? dirname(file);
    const agg = (folders[folder] ??= { killed: 0, survived: 0, equivalent: 0, seconds: 0, files: 0 });
    agg.killed += f.killed;
    agg.survived += f.survived;
    agg.equivalent += f.equivalent;
    agg.seconds += f.seconds ?? 0;
    agg.files++;
  }
  for (const f of Object.values(folders)) f.score = f.killed / Math.max(1, f.killed + f.survived);
  // Seconds of each file's full (non-incremental) run where one was timed, keyed like the report files
  // (no dots, so that README source markers can name them).
  const fullRunSeconds = Object.fromEntries(
    Object.entries(timings)
      .filter(([, t]) => t.fullSeconds !== undefined)
      .map(([file, t]) => [file.replace(/^src\//, '').replace(/[/.]/g, '-'), t.fullSeconds]),
  );
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify({ folders, files, fullRunSeconds }, null, 2) + '\n');
  const pct = (s) => (s === null ? '—' : `${(100 * s).toFixed(1)}%`);
  const lines = [
    '# Mutation score (StrykerJS, `npm run mutate`)',
    '',
    'Score = killed (incl. timeouts) / (killed + survived + no coverage); mutants listed in equivalent.json are left out.',
    '',
    'Time: the last run of each file (an incremental rerun takes far less than a full one; see fullRunSeconds in summary.json).',
    '',
    '| folder | files run | killed | survived | equivalent | score | time |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(folders).map(
      ([d, f]) =>
        `| ${d} | ${f.files} | ${f.killed} | ${f.survived} | ${f.equivalent} | ${pct(f.score)} | ${f.seconds} s |`,
    ),
    '',
    '| file | killed | survived | equivalent | score | time |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(files).map(
      ([n, f]) => `| ${n} | ${f.killed} | ${f.survived} | ${f.equivalent} | ${pct(f.score)} | ${f.seconds ?? '?'} s |`,
    ),
    '',
    '## Surviving mutants',
    '',
    ...Object.entries(files).flatMap(([, f]) => f.survivors.map((s) => `- ${s}`)),
    '',
  ];
  writeFileSync(join(outDir, 'summary.md'), lines.join('\n'));
  console.log(lines.slice(0, 6 + Object.keys(folders).length).join('\n'));
}

mkdirSync(outDir, { recursive: true });
const args = process.argv.slice(2);
if (!args.includes('--summary')) {
  const targets = args.length ? args : FOLDERS.flatMap(walk);
  for (const file of targets) mutateFile(file);
}
summarize();
