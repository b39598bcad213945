/**
 * The one place viz looks inside a forward pass: records what chosen sub-modules return.
 * Kept as a single small function so the mechanism behind it (forward hooks) can change
 * without touching the images built on it.
 */
import { ArgumentError } from '../core/errors.js';
import { type Module, observeForward } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';

/** A model that maps a batch tensor to a tensor (what every viz function takes). */
export type Model = Module & { forward(x: Tensor): Tensor };

/** The sub-module at a dotted path; an unknown name throws an error listing the names there are. */
export function layerByName(model: Module, name: string): Module {
  try {
    return model.getSubmodule(name);
  } catch (e) {
    if (e instanceof ArgumentError) {
      const names = model
        .namedModules()
        .map(([n]) => n)
        .filter((n) => n !== '');
      throw new ArgumentError(`unknown layer '${name}' (layers: ${names.join(', ')})`);
    }
    throw e;
  }
}

/**
 * Runs fn and returns its result with the tensor each layer in `layers` last returned
 * (undefined for a layer that did not run, or returned something other than a tensor).
 */
export function captureOutputs<T>(
  layers: readonly Module[],
  fn: () => T,
): { result: T; outputs: (Tensor | undefined)[] } {
  const outputs: (Tensor | undefined)[] = layers.map(() => undefined);
  const result = observeForward((m, out) => {
    const i = layers.indexOf(m);
    if (i >= 0 && out instanceof Tensor) outputs[i] = out;
  }, fn);
  return { result, outputs };
}
