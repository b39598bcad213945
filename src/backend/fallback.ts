/**
 * The one fallback wrapper of the accelerated backends (wasm and webgpu). Each of their
 * kernels is built by withFallback(): the backend's own kernel runs where it takes the call,
 * and the backend's fallback path (the cpu reference kernel, on the storage itself for wasm
 * and on host copies for webgpu) runs everywhere else:
 *   - dtypes (or empty tensors) the fast kernel does not take (`accepts`);
 *   - calls it declines by returning false (a layout it has no kernel for, a module that is
 *     still compiling);
 *   - errors it marks as recoverable (`recoverable`: the wasm arena cannot grow), which mean
 *     "cannot run here", never "wrong answer". Every other error propagates.
 * `onFallback` sees each call that took the fallback path (webgpu counts them).
 */
import type { KernelOpName, OpParams } from '../core/ops.js';
import type { Kernel, View } from './backend.js';

/** A backend's own kernel: false when it declines this call. */
export type FastPath<K extends KernelOpName, S> = (
  inputs: readonly View<S>[],
  out: View<S>,
  p: OpParams[K],
) => void | false;

export interface FallbackSpec<K extends KernelOpName, S> {
  readonly op: K;
  /** Whether the fast path takes these operands at all (dtypes, sizes); false runs the fallback at once. */
  accepts(inputs: readonly View<S>[], out: View<S>): boolean;
  readonly fast: FastPath<K, S>;
  readonly fallback: Kernel<K, S>;
  /** Errors of the fast path after which the fallback runs instead (default: none). */
  recoverable?(e: unknown): boolean;
  /** Called before each fallback run, with the reason. */
  onFallback?(reason: 'dtype' | 'declined' | 'error', inputs: readonly View<S>[], out: View<S>): void;
}

/**
 * A kernel that runs `spec.fast` where it takes the call and `spec.fallback` otherwise.
 * @example const add = withFallback({ op: 'add', accepts: () => true, fast: myAdd, fallback: cpuAdd });
 */
export function withFallback<K extends KernelOpName, S>(spec: FallbackSpec<K, S>): Kernel<K, S> {
  const { accepts, fast, fallback, recoverable, onFallback } = spec;
  return (inputs, out, p) => {
    if (!accepts(inputs, out)) {
      onFallback?.('dtype', inputs, out);
      fallback(inputs, out, p);
      return;
    }
    let declined: boolean;
    try {
      declined = fast(inputs, out, p) === false;
    } catch (e) {
      if (!recoverable?.(e)) throw e;
      onFallback?.('error', inputs, out);
      fallback(inputs, out, p);
      return;
    }
    if (declined) {
      onFallback?.('declined', inputs, out);
      fallback(inputs, out, p);
    }
  };
}
