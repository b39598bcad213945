/**
 * Reading intermediate layers: featureMaps() runs one forward pass with
 * temporary forward hooks on the named sub-modules and returns their outputs.
 */
import { ArgumentError } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';

/**
 * The outputs of the named sub-modules (dotted paths, as in namedModules())
 * from one forward pass of `model` on `x`. Gradients are recorded as usual
 * (wrap the call in noGrad() when only looking). A layer called more than
 * once keeps its first output.
 * @example
 * const maps = featureMaps(model, x, ['features.0', 'features.3']);
 * maps['features.0'].shape; // [1, 64, 55, 55]
 */
export function featureMaps<Names extends string>(
  model: Module & { forward(x: Tensor): unknown },
  x: Tensor,
  names: readonly Names[],
): Record<Names, Tensor> {
  const modules = new Map(model.namedModules());
  const unknown = names.filter((n) => !modules.has(n));
  if (unknown.length) {
    const valid = [...modules.keys()].filter((n) => n !== '');
    throw new ArgumentError(
      `featureMaps(${model.describe()}): no layer named ${unknown.map((n) => `'${n}'`).join(', ')}; valid names: ${valid.join(', ')}`,
    );
  }
  const found = new Map<string, unknown>();
  const handles = names.map((name) =>
    modules.get(name)!.registerForwardHook((_m, _in, out) => {
      if (!found.has(name)) found.set(name, out);
    }),
  );
  try {
    model.forward(x);
  } finally {
    for (const h of handles) h.remove();
  }
  const maps = {} as Record<Names, Tensor>;
  for (const name of names) {
    if (!found.has(name)) {
      throw new ArgumentError(`featureMaps(${model.describe()}): layer '${name}' was not called by forward()`);
    }
    maps[name] = found.get(name) as Tensor;
  }
  return maps;
}
