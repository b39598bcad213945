// Failures a real disk produces but a test machine does not on demand (a full disk, a short write,
// permission errors as root, a platform that cannot fsync a directory): node:fs functions are
// replaced for one test with mock.method, and syncBuiltinESMExports makes src/io/atomic.ts's
// `import { ... } from 'node:fs'` see the replacement.
import { test, describe, before, after, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DataFileError } from '../../src/core/errors.js';
import { writeFileAtomic } from '../../src/io/atomic.js';

const real = {
  openSync: fs.openSync,
  closeSync: fs.closeSync,
  writeSync: fs.writeSync,
  fsyncSync: fs.fsyncSync,
  renameSync: fs.renameSync,
};

function fsError(code: string, syscall: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: simulated, ${syscall}`);
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** Replaces fs functions for the rest of the test. */
function fake(replacements: Partial<typeof real>): void {
  for (const [name, fn] of Object.entries(replacements)) mock.method(fs, name as keyof typeof real, fn as never);
  syncBuiltinESMExports();
}

/** Records every descriptor opened and closed, so a test can require that none is left open. */
function trackDescriptors(): { open: Map<number, string>; dirFsyncs: string[] } {
  const open = new Map<number, string>();
  const dirFsyncs: string[] = [];
  fake({
    openSync: ((path: fs.PathLike, flags: fs.OpenMode, mode?: fs.Mode) => {
      const fd = real.openSync(path, flags, mode);
      open.set(fd, String(path));
      return fd;
    }) as typeof fs.openSync,
    closeSync: (fd: number) => {
      real.closeSync(fd);
      open.delete(fd);
    },
    fsyncSync: (fd: number) => {
      real.fsyncSync(fd);
      const path = open.get(fd);
      if (path !== undefined && fs.statSync(path).isDirectory()) dirFsyncs.push(path);
    },
  });
  return { open, dirFsyncs };
}

function expectWriteError(fn: () => void, file: string, reason: string, notReasons: string[] = []): DataFileError {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => ((caught = e), true));
  assert.ok(caught instanceof DataFileError, `expected DataFileError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  assert.ok(caught.message.startsWith(`${file}: cannot write file: `), caught.message);
  assert.ok(caught.message.includes(reason), `"${caught.message}" should say "${reason}"`);
  for (const other of notReasons) assert.ok(!caught.message.includes(other), `"${caught.message}" says "${other}"`);
  return caught;
}

const REASONS = ['does not exist', 'permission denied', 'the target is a directory', 'no space left on device'];
const others = (reason: string) => REASONS.filter((r) => r !== reason);

describe('writeFileAtomic under simulated disk faults', () => {
  let root = '';
  let n = 0;
  const freshDir = (): string => {
    const d = join(root, `case-${n++}`);
    fs.mkdirSync(d);
    return d;
  };
  before(() => {
    root = fs.mkdtempSync(join(tmpdir(), 'tsgrad-atomic-faults-'));
  });
  afterEach(() => {
    mock.restoreAll();
    syncBuiltinESMExports();
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('short writes are continued until every byte is on disk', () => {
    const dir = freshDir();
    const path = join(dir, 'weights.bin');
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7) % 251);
    const calls: [number, number][] = [];
    fake({
      // A write may take fewer bytes than asked (signals, pipes, quotas); offset + length must stay in the buffer.
      writeSync: ((fd: number, buf: Uint8Array, offset: number, length: number) => {
        assert.ok(offset + length <= buf.length, `write of ${length} at ${offset} runs past ${buf.length} bytes`);
        calls.push([offset, length]);
        return real.writeSync(fd, buf, offset, Math.min(length, 300));
      }) as typeof fs.writeSync,
    });
    writeFileAtomic(path, bytes);
    assert.deepEqual(new Uint8Array(fs.readFileSync(path)), bytes);
    assert.deepEqual(calls, [
      [0, 1000],
      [300, 700],
      [600, 400],
      [900, 100],
    ]);
  });

  test('a disk that fills up mid-write: named as such, previous file kept, temp file removed, nothing left open', () => {
    const dir = freshDir();
    const path = join(dir, 'checkpoint.bin');
    fs.writeFileSync(path, 'previous');
    const fds = trackDescriptors();
    let calls = 0;
    fake({
      writeSync: ((fd: number, buf: Uint8Array, offset: number, length: number) => {
        if (calls++ === 0) return real.writeSync(fd, buf, offset, Math.min(length, 4));
        throw fsError('ENOSPC', 'write');
      }) as typeof fs.writeSync,
    });
    expectWriteError(
      () => writeFileAtomic(path, 'new contents'),
      path,
      'no space left on device',
      others('no space left on device'),
    );
    assert.equal(fs.readFileSync(path, 'utf8'), 'previous');
    assert.deepEqual(fs.readdirSync(dir), ['checkpoint.bin']);
    assert.deepEqual([...fds.open.values()], [], 'the temp file descriptor is closed');
  });

  test('a failing fsync or close of the temp file still closes it and reports the first error', () => {
    const dir = freshDir();
    const path = join(dir, 'state.json');
    const fds = trackDescriptors();
    const trackedClose = fs.closeSync;
    let closeFailures = 0;
    fake({
      fsyncSync: () => {
        throw fsError('EIO', 'fsync');
      },
      // The close in the error path fails too (after really closing): the fsync error is the one reported.
      closeSync: (fd: number) => {
        trackedClose(fd);
        closeFailures++;
        throw fsError('EBADF', 'close');
      },
    });
    const err = expectWriteError(() => writeFileAtomic(path, '{}'), path, 'EIO: simulated, fsync', REASONS);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'EIO');
    assert.equal(closeFailures, 1);
    assert.deepEqual([...fds.open.values()], []);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  for (const code of ['EACCES', 'EPERM']) {
    test(`${code} (a permission problem, even as root) is reported as permission denied`, () => {
      const dir = freshDir();
      const path = join(dir, 'model.safetensors');
      fake({
        openSync: (() => {
          throw fsError(code, 'open');
        }) as typeof fs.openSync,
      });
      const err = expectWriteError(
        () => writeFileAtomic(path, 'x'),
        path,
        'permission denied',
        others('permission denied'),
      );
      assert.ok(err.message.includes(`${code}: simulated, open`), 'the system message is kept');
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  }

  test('an error code with no explanation of its own is passed on as it is', () => {
    const dir = freshDir();
    const path = join(dir, 'out.txt');
    fake({
      renameSync: () => {
        throw fsError('EXDEV', 'rename');
      },
    });
    const err = expectWriteError(() => writeFileAtomic(path, 'x'), path, 'EXDEV: simulated, rename', REASONS);
    assert.equal(err.message, `${path}: cannot write file: EXDEV: simulated, rename`);
    assert.deepEqual(fs.readdirSync(dir), [], 'the temp file is removed after a failed rename');
  });

  test('a thrown non-Error value (null) still becomes a DataFileError', () => {
    const dir = freshDir();
    const path = join(dir, 'out.txt');
    fake({
      openSync: (() => {
        throw null;
      }) as typeof fs.openSync,
    });
    const err = expectWriteError(() => writeFileAtomic(path, 'x'), path, 'cannot write file: null', REASONS);
    assert.equal(err.cause, null);
  });

  test('a temp-name collision fails without deleting the other writer’s temp file', () => {
    const dir = freshDir();
    const path = join(dir, 'result.json');
    let othersTemp = '';
    fake({
      // Another writer creates the very name first; 'wx' then refuses with EEXIST.
      openSync: ((p: fs.PathLike, flags: fs.OpenMode, mode?: fs.Mode) => {
        othersTemp = String(p);
        fs.writeFileSync(othersTemp, 'the other writer');
        return real.openSync(p, flags, mode);
      }) as typeof fs.openSync,
    });
    expectWriteError(() => writeFileAtomic(path, 'mine'), path, 'EEXIST', REASONS);
    assert.match(basename(othersTemp), /^\.result\.json\.\d+\.[0-9a-f]{12}\.tmp$/);
    assert.equal(fs.readFileSync(othersTemp, 'utf8'), 'the other writer');
    assert.deepEqual(fs.readdirSync(dir), [basename(othersTemp)]);
  });

  test('after the rename the directory is fsynced, and every descriptor is closed', () => {
    const dir = freshDir();
    const fds = trackDescriptors();
    for (let i = 0; i < 5; i++) writeFileAtomic(join(dir, `f${i}.txt`), `v${i}`);
    assert.deepEqual(fds.dirFsyncs, [dir, dir, dir, dir, dir]);
    assert.deepEqual([...fds.open.values()], []);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
  });

  test('a directory that cannot be fsynced or closed (some platforms) does not fail the write', () => {
    const dir = freshDir();
    const path = join(dir, 'out.txt');
    const fds = trackDescriptors();
    const trackedFsync = fs.fsyncSync;
    const trackedClose = fs.closeSync;
    const isDir = (fd: number) => fds.open.has(fd) && fs.statSync(fds.open.get(fd)!).isDirectory();
    fake({
      fsyncSync: (fd: number) => {
        if (isDir(fd)) throw fsError('EINVAL', 'fsync');
        trackedFsync(fd);
      },
      closeSync: (fd: number) => {
        const dirFd = isDir(fd);
        trackedClose(fd);
        if (dirFd) throw fsError('EIO', 'close');
      },
    });
    writeFileAtomic(path, 'kept');
    assert.equal(fs.readFileSync(path, 'utf8'), 'kept');
    assert.deepEqual([...fds.open.values()], [], 'the directory descriptor is closed even though its fsync failed');
  });
});
