/**
 * How a replica thread builds its copy of the model. A Module cannot be sent to another
 * thread, so the thread builds the same architecture again, from the zoo by name or from an
 * exported function of a module; its weights are then overwritten with the main copy's.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { ArgumentError } from '../core/errors.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

export type Classifier = Module & { forward(x: Tensor): Tensor };

/**
 * A recipe for the model: `{ zoo, options }` names a model of the zoo (`createModel`), and
 * `{ module, export, args }` calls an exported function (default export name `createModel`)
 * of an ES module (a file:// URL or an absolute path) with JSON-serializable arguments.
 * @example { zoo: 'lenet5', options: { numClasses: 10, inChannels: 1, inputSize: 28 } }
 * @example { module: new URL('./my-model.js', import.meta.url).href, export: 'build', args: [{ width: 16 }] }
 */
export type ModelFactory =
  | { zoo: string; options: { numClasses: number; inChannels: number; inputSize: number } }
  | { module: string; export?: string; args?: unknown[] };

/** Builds the model a factory describes (in whatever thread calls it). */
export async function buildFromFactory(factory: ModelFactory): Promise<Classifier> {
  if ('zoo' in factory) {
    const { createModel } = await import('../models/index.js');
    return createModel(factory.zoo, factory.options);
  }
  const url = isAbsolute(factory.module) ? pathToFileURL(factory.module).href : factory.module;
  const mod = (await import(url)) as Record<string, unknown>;
  const name = factory.export ?? 'createModel';
  const fn = mod[name];
  if (typeof fn !== 'function')
    throw new ArgumentError(`model factory: ${factory.module} has no exported function '${name}'`);
  return (await (fn as (...a: unknown[]) => Classifier | Promise<Classifier>)(...(factory.args ?? []))) as Classifier;
}
