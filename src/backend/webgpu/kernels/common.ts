/** WGSL building blocks shared by the kernels: parameter access, index helpers, launch grids. */
import type { DType } from '../../../core/dtype.js';
import { UnsupportedError } from '../../../core/errors.js';
import type { View } from '../../backend.js';
import type { GpuStorage } from '../runtime.js';

export type GpuView = View<GpuStorage>;

/** Dimensions the generic index arithmetic handles after merging; more is refused by name. */
export const MAX_RANK = 8;

/** The WGSL element type of a dtype's storage (bool is stored as u32 0/1). */
export function wgslType(dtype: DType): 'f32' | 'i32' | 'u32' {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32') return 'i32';
  if (dtype === 'bool') return 'u32';
  throw new UnsupportedError(`webgpu: ${dtype} has no WGSL type (float64 runs on the host)`);
}

/**
 * Every kernel gets 64 words of parameters in one uniform slot. Uniform arrays need 16-byte
 * elements, hence vec4s and the P() accessor.
 */
export function prelude(binding: number): string {
  return `
struct Params { w: array<vec4<u32>, 16> }
@group(0) @binding(${binding}) var<uniform> prm: Params;
fn P(i: u32) -> u32 { return prm.w[i >> 2u][i & 3u]; }
fn Pi(i: u32) -> i32 { return bitcast<i32>(P(i)); }
fn Pf(i: u32) -> f32 { return bitcast<f32>(P(i)); }
fn isnanf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// Through a var: constant-evaluating a bitcast to NaN or infinity is a WGSL error.
fn nanf() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
fn neginf() -> f32 { var b = 0xff800000u; return bitcast<f32>(b); }
`;
}

/** Workgroups for `n` invocations of `size` threads, folded into y past the 65535 limit on x. */
export function grid(n: number, size = 64): [number, number] {
  const groups = Math.ceil(n / size);
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** The linear invocation index for a grid() launch of 64-thread workgroups. */
export const LINEAR_INDEX = 'let i = gid.x + gid.y * nw.x * 64u;';
export const LINEAR_ARGS = '@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u';

/** Bit pattern of a number as a uniform word of the given WGSL type. */
export function word(v: number, type: 'f32' | 'i32' | 'u32'): number {
  if (type === 'f32') return new Uint32Array(Float32Array.of(v).buffer)[0]!;
  return v >>> 0;
}

/**
 * Drops size-1 dimensions and merges neighbours that are contiguous for every operand (as the
 * cpu backend's forEachRow does), so most views reach the kernel with rank 1 or 2.
 */
export function mergeDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, j) => st[j]![last] === s[i]! * d)) {
      dims[last]! *= d;
      strides.forEach((s, j) => (st[j]![last] = s[i]!));
    } else {
      dims.push(d);
      strides.forEach((s, j) => st[j]!.push(s[i]!));
    }
  }
  return { shape: dims, strides: st };
}

export function checkRank(op: string, shape: readonly number[], original: readonly number[]): void {
  if (shape.length > MAX_RANK) {
    throw new UnsupportedError(
      `${op}: webgpu kernels index at most ${MAX_RANK} non-mergeable dimensions, got shape [${original.join(', ')}]`,
    );
  }
}

export function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expect) return false;
    expect *= shape[d]!;
  }
  return true;
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
