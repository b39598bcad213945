/**
 * The playground's HTTP server. It serves a fixed set of things and nothing else:
 *   /                      web/index.html            (the page)
 *   /web/<name>            web/<name>.css|.html and dist/web/<name>.js (the page's scripts)
 *   /src/<path>.js         dist/src/<path>.js        (tsgrad's platform-free modules)
 *   /vendor/<name>.js      Vega and Vega-Lite's browser builds (the live chart)
 *   /data/index.json       which data sets this machine has
 *   /data/<name>.bin       the bundled MNIST digits (from the `mnist` package), Fashion-MNIST where installed
 * Every response carries COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer,
 * wasm threads). A request is resolved against those roots only after decoding, and a path
 * with a `..` segment, a backslash or a NUL, encoded or not, gets 404.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FASHION_MNIST_CLASSES,
  type ImageSet,
  MNIST_CLASSES,
  findFashionMnist,
  loadFashionMnist,
  loadMnistPackage,
} from '../data/mnist.js';

/** The repository (or installed package) root: this file is dist/src/cli/playground-server.js. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
};

/** What the data sets look like to the page (GET /data/index.json). */
export interface PlaygroundDataInfo {
  name: string;
  title: string;
  classes: string[];
  train: number;
  test: number;
}

/**
 * Train and test images in one buffer: a 24-byte header (magic "TSGD", version 1, train
 * count, test count, height, width, all u32 little-endian), then train images, train labels,
 * test images, test labels, one byte each.
 */
export function packImageSets(train: ImageSet, test: ImageSet): Uint8Array {
  const px = train.height * train.width;
  const total = 24 + (train.count + test.count) * (px + 1);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x54, 0x53, 0x47, 0x44]);
  view.setUint32(4, 1, true);
  view.setUint32(8, train.count, true);
  view.setUint32(12, test.count, true);
  view.setUint32(16, train.height, true);
  view.setUint32(20, train.width, true);
  let o = 24;
  for (const set of [train, test]) {
    out.set(set.images.subarray(0, set.count * px), o);
    o += set.count * px;
    out.set(set.labels.subarray(0, set.count), o);
    o += set.count;
  }
  return out;
}

/** The first n images of a set (Fashion-MNIST is cut to a playground-sized sample). */
function head(set: ImageSet, n: number): ImageSet {
  const count = Math.min(n, set.count);
  const px = set.channels * set.height * set.width;
  return { ...set, count, images: set.images.subarray(0, count * px), labels: set.labels.subarray(0, count) };
}

interface DataEntry {
  info: PlaygroundDataInfo;
  bytes: () => Uint8Array;
}

function dataSets(): Map<string, DataEntry> {
  const sets = new Map<string, DataEntry>();
  let mnist: Uint8Array | undefined;
  sets.set('mnist', {
    info: { name: 'mnist', title: 'MNIST digits (bundled)', classes: [...MNIST_CLASSES], train: 7996, test: 2004 },
    bytes: () => {
      if (!mnist) {
        const { train, test } = loadMnistPackage();
        mnist = packImageSets(train, test);
      }
      return mnist;
    },
  });
  try {
    // Only the file lookup here; the bytes are read on first request.
    let fashion: Uint8Array | undefined;
    findFashionMnist();
    sets.set('fashion-mnist', {
      info: {
        name: 'fashion-mnist',
        title: 'Fashion-MNIST (10,000 training / 2,000 test images)',
        classes: [...FASHION_MNIST_CLASSES],
        train: 10000,
        test: 2000,
      },
      bytes: () =>
        (fashion ??= packImageSets(head(loadFashionMnist('train'), 10000), head(loadFashionMnist('test'), 2000))),
    });
  } catch {
    // Not installed: the page offers MNIST and dropped folders only.
  }
  return sets;
}

/** Resolves a file under root, or null when the path would leave it or is not a plain file. */
function under(root: string, rel: string): string | null {
  const path = resolve(root, rel);
  if (!path.startsWith(root + sep)) return null;
  try {
    if (!statSync(path).isFile()) return null;
    // A symlink inside root pointing outside it is refused too.
    return realpathSync(path).startsWith(realpathSync(root) + sep) ? path : null;
  } catch {
    return null;
  }
}

/** Maps a decoded URL path to a file, or null (404). */
function route(
  pathname: string,
  roots: { web: string; distWeb: string; distSrc: string },
  vendor: Map<string, string>,
): string | null {
  if (pathname === '/' || pathname === '/index.html') return under(roots.web, 'index.html');
  const segments = pathname.split('/').slice(1);
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  const [top, ...rest] = segments;
  const rel = rest.join('/');
  const ext = extname(rel);
  switch (top) {
    case 'web':
      if (ext === '.js' || ext === '.map') return under(roots.distWeb, rel);
      if (ext === '.css' || ext === '.html') return under(roots.web, rel);
      return null;
    case 'src':
      return ext === '.js' ? under(roots.distSrc, rel) : null;
    case 'vendor':
      return vendor.get(rel) ?? null;
    default:
      return null;
  }
}

export interface PlaygroundServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts the playground server; resolves once it listens.
 * @example const { url, close } = await startPlayground({ port: 0 }); // url: http://127.0.0.1:PORT/
 */
export async function startPlayground(
  opts: { host?: string; port?: number; root?: string } = {},
): Promise<PlaygroundServer> {
  const root = opts.root ?? PACKAGE_ROOT;
  const roots = { web: join(root, 'web'), distWeb: join(root, 'dist', 'web'), distSrc: join(root, 'dist', 'src') };
  const require = createRequire(join(root, 'package.json'));
  const vendor = new Map<string, string>();
  // The browser builds are not in the packages' exports: find them next to each package's entry.
  for (const [name, pkg, file] of [
    ['vega.min.js', 'vega', 'vega.min.js'],
    ['vega-lite.min.js', 'vega-lite', 'vega-lite.min.js'],
  ] as const) {
    try {
      const path = join(dirname(require.resolve(pkg)), file);
      if (statSync(path).isFile()) vendor.set(name, path);
    } catch {
      // Without Vega the page still trains; it says that the chart is unavailable.
    }
  }
  const data = dataSets();
  const server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-cache');
    const notFound = (): void => void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      const raw = (req.url ?? '/').split('?')[0]!;
      if (!raw.startsWith('/')) return notFound();
      pathname = decodeURIComponent(raw);
    } catch {
      return notFound();
    }
    if (pathname.includes('\\') || pathname.includes('\0')) return notFound();
    const send = (body: Uint8Array | string, type: string): void => {
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (pathname === '/data/index.json') {
      return send(JSON.stringify([...data.values()].map((d) => d.info)), TYPES['.json']!);
    }
    const dataMatch = /^\/data\/([a-z-]+)\.bin$/.exec(pathname);
    if (dataMatch) {
      const entry = data.get(dataMatch[1]!);
      if (!entry) return notFound();
      try {
        return send(entry.bytes(), TYPES['.bin']!);
      } catch (e) {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(e as Error).message}\n`);
        return;
      }
    }
    const file = route(pathname, roots, vendor);
    if (!file) return notFound();
    let body: Uint8Array;
    try {
      body = readFileSync(file);
    } catch {
      return notFound();
    }
    send(body, TYPES[extname(file)] ?? 'application/octet-stream');
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 8080, host, () => ok());
  });
  const address = server.address() as { port: number };
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${address.port}/`,
    server,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
