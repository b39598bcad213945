/**
 * The playground server: what it serves, with which headers, and that nothing else is
 * reachable: path traversal, plain or percent-encoded (once or twice), backslashes, NULs,
 * absolute paths and files beside the served ones all get 404.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPlayground } from '../../src/cli/playground-server.js';

/** A GET with the path sent byte for byte (no URL normalization on the client side). */
function get(url: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the page, its scripts, tsgrad, Vega and the bundled digits, cross-origin isolated', async () => {
  const server = await startPlayground({ port: 0 });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.url, '/');
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<title>tsgrad playground<\/title>/);
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    for (const path of [
      '/web/app.js',
      '/web/worker.js',
      '/web/style.css',
      '/src/browser.js',
      '/src/viz/index.js',
      '/vendor/vega.min.js',
      '/vendor/vega-lite.min.js',
    ]) {
      const r = await get(server.url, path);
      assert.equal(r.status, 200, path);
      assert.ok(r.body.length > 100, path);
    }
    const index = JSON.parse((await get(server.url, '/data/index.json')).body.toString()) as {
      name: string;
      train: number;
      test: number;
    }[];
    assert.equal(index[0]!.name, 'mnist');
    const mnist = await get(server.url, '/data/mnist.bin');
    assert.equal(mnist.body.subarray(0, 4).toString(), 'TSGD');
    assert.equal(mnist.body.readUInt32LE(8), index[0]!.train);
    assert.equal(mnist.body.readUInt32LE(12), index[0]!.test);
    assert.equal(mnist.body.length, 24 + (7996 + 2004) * (28 * 28 + 1));
  } finally {
    await server.close();
  }
});

test('path traversal, encoded or not, and anything outside the served files gets 404', async () => {
  const server = await startPlayground({ port: 0 });
  try {
    const attempts = [
      '/../package.json',
      '/web/../package.json',
      '/web/../../package.json',
      '/src/../../package.json',
      '/src/../cli/main.js',
      '/%2e%2e/package.json',
      '/web/%2e%2e/%2e%2e/package.json',
      '/src/..%2f..%2fpackage.json',
      '/src/%2e%2e%2f%2e%2e%2fsrc%2findex.ts',
      '/src/%252e%252e/package.json',
      '/src/..%5c..%5cpackage.json',
      '/src/cli%00.js',
      '/web/..\\..\\package.json',
      '//etc/passwd',
      '/etc/passwd',
      '/package.json',
      '/README.md',
      '/src/index.ts',
      '/src/browser.js.map',
      '/web/session.ts',
      '/vendor/../package.json',
      '/vendor/vega.js',
      '/data/../package.json',
      '/data/cifar10.bin',
      '/node_modules/vega/package.json',
      '/%E0%A4%A',
    ];
    for (const path of attempts) {
      const r = await get(server.url, path);
      assert.equal(r.status, 404, `${path} -> ${r.status}`);
      assert.doesNotMatch(r.body.toString(), /"name": "tsgrad"|root:/, path);
    }
  } finally {
    await server.close();
  }
});

test('tsgrad playground prints its URL and binds 127.0.0.1 by default', async () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
  const child = spawn(process.execPath, [cli, 'playground', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(line)?.[0];
    assert.ok(url, line);
    assert.equal((await get(url, '/')).status, 200);
  } finally {
    child.kill('SIGTERM');
  }
});
