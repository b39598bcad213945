/**
 * Feature probes for the wasm backend: `WebAssembly.validate` on tiny hand-assembled
 * modules that each use one instruction of a feature. Validation compiles nothing, so
 * the probes cost microseconds and never throw.
 */

/** What this JavaScript engine's WebAssembly supports, as far as the wasm backend cares. */
export interface WasmFeatures {
  /** Fixed-width 128-bit SIMD: required, without it the wasm backend is not registered. */
  readonly simd: boolean;
  /** Relaxed SIMD (fused multiply-add): selects the faster build of the kernels. */
  readonly relaxedSimd: boolean;
  /**
   * How relaxed SIMD became available: 'native' (the engine validated it as started: Node ≥ 22,
   * Chrome ≥ 114, or Node 20 run with --experimental-wasm-relaxed-simd), 'v8-flag' (Node 20:
   * turned on at import with v8.setFlagsFromString), or 'none'.
   */
  readonly relaxedSimdVia: 'native' | 'v8-flag' | 'none';
  /** Whether kernels split across a worker pool on a shared memory (setNumThreads(n > 1) where supported). */
  readonly threads: boolean;
}

// Header + type section `() -> v128` + one function; only the code body differs.
function moduleWithBody(body: readonly number[]): Uint8Array<ArrayBuffer> {
  const code = [0, ...body, 0x0b]; // no locals, body, end
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type section: () -> v128
    ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
    ...[0x0a, code.length + 2, 0x01, code.length, ...code], // code section
  ]);
}

/** i32.const 0; i8x16.splat — the smallest SIMD function. */
const SIMD_PROBE = moduleWithBody([0x41, 0x00, 0xfd, 0x0f]);

/** Three f32x4.splat(1.0) and f32x4.relaxed_madd (0xfd 0x105): the one relaxed op the kernels use. */
const F32X4_ONE = [0x43, 0x00, 0x00, 0x80, 0x3f, 0xfd, 0x13];
const RELAXED_SIMD_PROBE = moduleWithBody([...F32X4_ONE, ...F32X4_ONE, ...F32X4_ONE, 0xfd, 0x85, 0x02]);

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

interface NodeProcessLike {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

function nodeProcess(): NodeProcessLike | undefined {
  return (globalThis as { process?: NodeProcessLike }).process;
}

/**
 * Node 20 (V8 11.3) implements relaxed SIMD behind `--experimental-wasm-relaxed-simd`.
 * Setting the flag from inside the process is officially "may have unpredictable
 * effects", but the flag only gates validation of the relaxed opcodes, and
 * measurements on Node 20.20 show it takes effect for modules compiled afterwards. It
 * is only attempted when the engine does not validate relaxed SIMD by itself, and
 * TSGRAD_WASM_RELAXED_SIMD=0 skips it (and relaxed SIMD altogether). The module is
 * reached through process.getBuiltinModule (Node ≥ 20.16) so browsers never import it.
 */
function tryEnableRelaxedSimdFlag(): boolean {
  const proc = nodeProcess();
  const v8 = proc?.getBuiltinModule?.('v8') as { setFlagsFromString?: (f: string) => void } | undefined;
  if (!v8?.setFlagsFromString) return false;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return validates(RELAXED_SIMD_PROBE);
}

let cached: WasmFeatures | undefined;

/** Runs the probes once (later calls return the same answer). */
export function probeWasmFeatures(): WasmFeatures {
  if (cached) return cached;
  const simd = validates(SIMD_PROBE);
  let relaxedSimdVia: WasmFeatures['relaxedSimdVia'] = 'none';
  const allowRelaxed = nodeProcess()?.env?.['TSGRAD_WASM_RELAXED_SIMD'] !== '0';
  if (simd && allowRelaxed) {
    if (validates(RELAXED_SIMD_PROBE)) relaxedSimdVia = 'native';
    else if (tryEnableRelaxedSimdFlag()) relaxedSimdVia = 'v8-flag';
  }
  cached = { simd, relaxedSimd: relaxedSimdVia !== 'none', relaxedSimdVia, threads: false };
  return cached;
}
