/**
 * The one place viz looks inside a forward pass: records what chosen sub-modules return,
 * with forward hooks (Module.registerForwardHook) removed as soon as the pass is done.
 */
import { ArgumentError } from '../core/errors.js';
import type { Module } from '../nn/module.js';
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
 * Runs fn with a forward hook on each of `layers` and returns its result with the tensor each
 * layer last returned (undefined for a layer that did not run, or returned something other
 * than a tensor). The hooks are removed afterwards, whatever happens.
 */
export function captureOutputs<T>(
  layers: readonly Module[],
  fn: () => T,
): { result: T; outputs: (Tensor | undefined)[] } {
  const outputs: (Tensor | undefined)[] = layers.map(() => undefined);
  const handles = layers.map((layer, i) =>
    layer.registerForwardHook((_m, _inputs, out) => {
      if (out instanceof Tensor) outputs[i] = out;
    }),
  );
  try {
    return { result: fn(), outputs };
  } finally {
    for (const h of handles) h.remove();
  }
}
