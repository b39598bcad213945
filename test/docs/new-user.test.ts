/**
 * The new-user path, end to end and offline: `npm pack` this package, install the tarball into
 * a fresh `npm init -y` project (its dependencies from this repository's node_modules, so no
 * network is needed), run the README's first example there as the README says (an .mjs file,
 * then ESM via "type": "module", and the CommonJS form), compile every README example and a
 * custom CNN (test/new-user/custom-cnn.ts) with tsc --strict against the installed types, run
 * them, and run `npx tsgrad train --epochs 1` in that project.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const OWN = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** The ```lang block after each `<!-- docs-test: kind -->` marker. */
function marked(kind: string): string[] {
  const re = new RegExp(`<!-- docs-test: ${kind} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``, 'g');
  return [...README.matchAll(re)].map((m) => m[1]!);
}

const ENV = {
  ...process.env,
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  npm_config_loglevel: 'warn',
};

function run(cmd: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${r.stderr}\n${r.stdout}`);
  return r;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test(
  'a fresh project installs the packed tarball offline and runs the README examples and the CLI',
  { timeout: 300_000 },
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsgrad-new-user-'));
    try {
      // The build is already in dist/ (npm test builds first); --ignore-scripts skips prepack's rebuild.
      const packed = JSON.parse(
        run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT).stdout,
      ) as {
        filename: string;
        files: { path: string }[];
      }[];
      const tarball = join(tmp, packed[0]!.filename);
      assert.ok(packed[0]!.files.some((f) => f.path === 'dist/src/index.js'));
      assert.ok(!packed[0]!.files.some((f) => f.path.startsWith('dist/test/')), 'tests are not published');

      const app = join(tmp, 'app');
      mkdirSync(app);
      run(npm, ['init', '-y'], app);
      const install = run(
        npm,
        // tsgrad's dependencies as this repository installed them (folders, so no registry is asked).
        [
          'install',
          '--ignore-scripts',
          tarball,
          ...Object.keys(OWN.dependencies).map((name) => join(ROOT, 'node_modules', name)),
        ],
        app,
      );
      const installed = JSON.parse(readFileSync(join(app, 'node_modules/tsgrad/package.json'), 'utf8')) as {
        scripts?: Record<string, string>;
      };
      assert.equal(installed.scripts?.['prepare'], undefined, 'no prepare script in the published package');
      assert.doesNotMatch(install.stderr, /prepare/);

      // The README's first example, saved as an .mjs file, in the project exactly as npm init left it.
      const [first] = marked('ts');
      assert.ok(first?.includes("from 'tsgrad'"));
      writeFileSync(join(app, 'first.mjs'), first!);
      assert.match(run(process.execPath, ['first.mjs'], app).stdout, /^9 \d/m);

      // The CommonJS form (require of ES modules: Node >= 20.19 / 22.12).
      const [cjs] = marked('cjs');
      assert.ok(cjs?.includes("require('tsgrad')"), 'the README shows require()');
      writeFileSync(join(app, 'first.cjs'), cjs!);
      if ((process.features as { require_module?: boolean }).require_module)
        assert.match(run(process.execPath, ['first.cjs'], app).stdout, /tensor\(/);

      // ESM and TypeScript as the README sets them up: "type": "module", tsc --strict.
      run(npm, ['pkg', 'set', 'type=module'], app);
      mkdirSync(join(app, 'src'));
      const examples = marked('ts');
      examples.forEach((source, i) => writeFileSync(join(app, 'src', `readme-${i + 1}.ts`), source));
      copyFileSync(join(ROOT, 'test/new-user/custom-cnn.ts'), join(app, 'src', 'custom-cnn.ts'));
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            outDir: 'dist',
            // TypeScript and @types/node are this repository's (the project installs nothing from the network).
            typeRoots: [join(ROOT, 'node_modules/@types')],
            types: ['node'],
          },
          include: ['src'],
        }),
      );
      run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
      for (let i = 1; i <= examples.length; i++) run(process.execPath, [`dist/readme-${i}.js`], app);
      const cnn = run(process.execPath, ['dist/custom-cnn.js'], app).stdout;
      assert.match(cnn, /Total params: /);
      assert.match(cnn, /train accuracy 0\.\d+/);

      // The command line from the installed package.
      const train = run(
        process.platform === 'win32' ? 'npx.cmd' : 'npx',
        ['tsgrad', 'train', '--epochs', '1', '--json'],
        app,
      );
      const result = JSON.parse(train.stdout.trim().split('\n').pop()!) as { test_accuracy: number };
      assert.ok(result.test_accuracy > 0.8, `one epoch reaches ${result.test_accuracy}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
