import { ArgumentError, ShapeError, TsgradError } from '../core/errors.js';
import { fmt, sameShape } from '../core/shape.js';
import { isGradEnabled, noGrad } from '../tensor/dispatch.js';
import type { Epilogue } from '../tensor/ops.js';
import { type RemovableHandle, Tensor } from '../tensor/tensor.js';
import { attachBackwardHooks } from './backward-hooks.js';

/**
 * A trainable tensor owned by a module. It shares storage with the tensor
 * it was made from and requires a gradient unless told otherwise.
 * @example this.weight = new Parameter(zeros([10, 5]));
 */
export class Parameter extends Tensor {
  /** L1 / L2 strengths the Trainer adds to the loss for this parameter (see penalize()); null: none. */
  penalty: { l1: number; l2: number } | null = null;

  constructor(t: Tensor, requiresGrad = true) {
    super(t.storage, t.shape, t.strides, t.offset, t.dtype, t.backend);
    this.requiresGrad = requiresGrad;
  }
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  /** Keys the module has but the state dict lacks. */
  missingKeys: string[];
  /** Keys in the state dict the module does not have. */
  unexpectedKeys: string[];
  /** Keys loaded. */
  loadedKeys: string[];
}

interface BufferEntry {
  tensor: Tensor;
  persistent: boolean;
}

/** Errors crossing nested module calls are tagged with the innermost module, then named by the outermost. */
let callDepth = 0;
const failingModule = new WeakMap<Error, Module>();

/** Records `m` as the module an error came from, unless an inner module already is. */
function blame(e: unknown, m: Module): void {
  if (e instanceof TsgradError && !failingModule.has(e)) failingModule.set(e, m);
}

/** When set, sees every module's output (used by summary()). */
let forwardObserver: ((m: Module, output: unknown) => void) | null = null;

/**
 * Called before forward() with the module and its arguments. Returning an
 * array replaces the arguments; returning anything else but undefined
 * replaces the single argument. PyTorch's forward pre-hook.
 */
export type ForwardPreHook = (module: Module, inputs: unknown[]) => unknown;
/** Called after forward() with the module, its arguments and its output; a return value other than undefined replaces the output. */
export type ForwardHook = (module: Module, inputs: unknown[], output: unknown) => unknown;
/**
 * Called during backward once the gradients with respect to the module's
 * tensor arguments (`gradInput`, one entry per argument, null where there is
 * none) are known; `gradOutput` holds the gradients with respect to its
 * output tensor(s). Returning an array replaces `gradInput`. PyTorch's full backward hook.
 */
export type FullBackwardHook = (
  module: Module,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | void;

/** @internal A module's hooks, in registration order. Kept outside the module so they never reach state dicts or namedChildren. */
export interface ModuleHooks {
  pre: Map<number, ForwardPreHook>;
  forward: Map<number, ForwardHook>;
  backward: Map<number, FullBackwardHook>;
}
const moduleHooks = new WeakMap<Module, ModuleHooks>();
let nextHookId = 0;

/** A module's hooks when it has any registered (pre, forward or full backward), else undefined. */
function activeHooks(m: Module): ModuleHooks | undefined {
  const h = moduleHooks.get(m);
  return h && (h.pre.size > 0 || h.forward.size > 0 || h.backward.size > 0) ? h : undefined;
}

function hooksOf(m: Module): ModuleHooks {
  let h = moduleHooks.get(m);
  if (!h) moduleHooks.set(m, (h = { pre: new Map(), forward: new Map(), backward: new Map() }));
  return h;
}

function addHook<F>(table: Map<number, F>, fn: F, what: string): RemovableHandle {
  if (typeof fn !== 'function') throw new ArgumentError(`${what}: expected a function, got ${typeof fn}`);
  const id = nextHookId++;
  table.set(id, fn);
  return { remove: () => void table.delete(id) };
}

/** Runs `forward` on `args` with the module's hooks around it (PyTorch's order: pre-hooks, backward-hook inputs, forward, forward hooks, backward-hook outputs). */
function callWithHooks(
  m: Module,
  hooks: ModuleHooks,
  forward: (...a: unknown[]) => unknown,
  input: unknown[],
): unknown {
  let args = input;
  for (const pre of [...hooks.pre.values()]) {
    const r = pre(m, args);
    if (r !== undefined) args = Array.isArray(r) ? r : [r];
  }
  const backwardHooks = hooks.backward.size > 0 && isGradEnabled() ? [...hooks.backward.values()] : null;
  const wiring = backwardHooks ? attachBackwardHooks(m, backwardHooks, args) : null;
  if (wiring) args = wiring.args;
  let out = forward.apply(m, args);
  for (const post of [...hooks.forward.values()]) {
    const r = post(m, args, out);
    if (r !== undefined) out = r;
  }
  return wiring ? wiring.wrapOutput(out) : out;
}

/** Runs fn while `observer` sees the output of every module forward() call. */
export function observeForward<T>(observer: (m: Module, output: unknown) => void, fn: () => T): T {
  const prev = forwardObserver;
  forwardObserver = observer;
  try {
    return fn();
  } finally {
    forwardObserver = prev;
  }
}

/** When set, runs every module forward() call in its place (ONNX export maps whole layers with it). */
export type ForwardInterceptor = (m: Module, args: unknown[], callForward: () => unknown) => unknown;
let forwardInterceptor: ForwardInterceptor | null = null;

/**
 * Runs fn while `interceptor` wraps every module forward() call: it receives the
 * module, its arguments and a function that runs the real forward.
 * @example interceptForward((m, args, call) => call(), () => model.forward(x));
 */
export function interceptForward<T>(interceptor: ForwardInterceptor, fn: () => T): T {
  const prev = forwardInterceptor;
  forwardInterceptor = interceptor;
  try {
    return fn();
  } finally {
    forwardInterceptor = prev;
  }
}

/**
 * Base class of layers and models. Parameters and sub-modules are found by
 * looking at the module's own properties (arrays of modules too), so names
 * follow the property names: `this.conv1 = new Conv2d(...)` gives
 * `conv1.weight`. Buffers (running statistics) are registered by name.
 *
 * Errors thrown inside forward() name the layer: its dotted path in the
 * model and its description, e.g. `features.3 (Conv2d(6, 16, kernel=5))`.
 */
export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  private readonly buffers_ = new Map<string, BufferEntry>();

  constructor() {
    // Wrap the subclass's forward once per instance so every call, direct or nested, names the layer on error.
    const forward = (this as unknown as { forward: (...a: unknown[]) => unknown }).forward;
    Object.defineProperty(this, 'forward', {
      enumerable: false,
      value: (...args: unknown[]) => {
        callDepth++;
        try {
          const hooks = activeHooks(this);
          // Hooks run inside the call an interceptor (ONNX export) wraps, so it sees what the hooks made.
          const call = (): unknown => (hooks ? callWithHooks(this, hooks, forward, args) : forward.apply(this, args));
          const out = forwardInterceptor ? forwardInterceptor(this, args, call) : call();
          forwardObserver?.(this, out);
          return out;
        } catch (e) {
          blame(e, this);
          if (callDepth === 1 && e instanceof TsgradError) this.nameError(e);
          throw e;
        } finally {
          callDepth--;
        }
      },
    });
  }

  abstract forward(...args: never[]): unknown;

  /**
   * Calls `fn(module, inputs)` before every forward(); it may return new inputs.
   * @example const h = layer.registerForwardPreHook((m, [x]) => console.log((x as Tensor).shape)); h.remove();
   */
  registerForwardPreHook(fn: ForwardPreHook): RemovableHandle {
    return addHook(hooksOf(this).pre, fn, `${this.describe()}.registerForwardPreHook`);
  }

  /**
   * Calls `fn(module, inputs, output)` after every forward(); a return value replaces the output.
   * @example const h = model.getSubmodule('features.0').registerForwardHook((m, _in, out) => { maps.push(out); });
   */
  registerForwardHook(fn: ForwardHook): RemovableHandle {
    return addHook(hooksOf(this).forward, fn, `${this.describe()}.registerForwardHook`);
  }

  /**
   * Calls `fn(module, gradInput, gradOutput)` during backward, once the
   * gradients with respect to this module's tensor arguments are known; a
   * returned array replaces gradInput.
   * @example conv.registerFullBackwardHook((m, gIn, gOut) => { console.log(gOut[0]?.shape); });
   */
  registerFullBackwardHook(fn: FullBackwardHook): RemovableHandle {
    return addHook(hooksOf(this).backward, fn, `${this.describe()}.registerFullBackwardHook`);
  }

  private nameError(e: TsgradError): void {
    const m = failingModule.get(e);
    if (!m || e.layer !== undefined) return;
    let path = '';
    for (const [name, mod] of this.namedModules()) if (mod === m) path = name;
    e.layer = path || m.constructor.name;
    e.message = `${path ? `${path} (${m.describe()})` : m.describe()}: ${e.message}`;
  }

  /** One-line description with the constructor arguments, e.g. `Linear(120, 84)`. */
  describe(): string {
    return `${this.constructor.name}(${this.extraRepr()})`;
  }

  /** Arguments shown by describe(); layers override it. */
  protected extraRepr(): string {
    return '';
  }

  /** Direct sub-modules with their names, in property order. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)) {
        value.forEach((m: Module, i) => out.push([`${key}.${i}`, m]));
      }
    }
    return out;
  }

  /** This module ('' as its name) and every descendant, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  /** Own parameters, not those of sub-modules. */
  protected ownParameters(): [string, Parameter][] {
    return Object.entries(this).filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  /** Every parameter with its dotted name; a parameter shared by two layers is listed once. */
  namedParameters(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Total number of parameter elements (trainable only, if asked). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !opts.trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.numel, 0);
  }

  /** Registers a named buffer: state that is saved and loaded but not trained (e.g. running_mean). */
  protected registerBuffer(name: string, t: Tensor, persistent = true): void {
    this.buffers_.set(name, { tensor: t, persistent });
  }

  buffer(name: string): Tensor {
    const b = this.buffers_.get(name);
    if (!b) throw new ArgumentError(`${this.describe()}: no buffer named '${name}'`);
    return b.tensor;
  }

  protected setBuffer(name: string, t: Tensor): void {
    const b = this.buffers_.get(name);
    if (!b) throw new ArgumentError(`${this.describe()}: no buffer named '${name}'`);
    b.tensor = t;
  }

  namedBuffers(opts: { persistentOnly?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.buffers_) {
        if (opts.persistentOnly && !b.persistent) continue;
        out.push([prefix ? `${prefix}.${name}` : name, b.tensor]);
      }
    }
    return out;
  }

  /** Parameters and persistent buffers by dotted name (PyTorch's naming). */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [k, p] of this.namedParameters()) sd[k] = p.detach();
    for (const [k, b] of this.namedBuffers({ persistentOnly: true })) sd[k] = b.detach();
    return sd;
  }

  /**
   * Copies values from a state dict into the module's parameters and
   * buffers (each keeps its dtype). Shapes and backends must match; with
   * `strict` (the default) every key must be present on both sides. The result lists
   * what matched, what was missing and what was unexpected.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    // Buffers are loaded as parameters are: copied into the module's own tensor (which keeps its dtype and
    // backend), as PyTorch's load_state_dict copies in place.
    const targets = new Map<string, Tensor>([
      ...this.namedParameters(),
      ...this.namedBuffers({ persistentOnly: true }),
    ]);
    const missingKeys = [...targets.keys()].filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !targets.has(k));
    const mismatched: string[] = [];
    for (const [k, v] of Object.entries(sd)) {
      const t = targets.get(k);
      if (t && !sameShape(t.shape, v.shape))
        mismatched.push(`${k}: checkpoint ${fmt(v.shape)} vs model ${fmt(t.shape)}`);
    }
    if (mismatched.length) {
      throw new ShapeError(`loadStateDict(${this.describe()}): shape mismatch for ${mismatched.join('; ')}`);
    }
    // Checked before anything is loaded, so a refused state dict leaves the module as it was.
    for (const [k, v] of Object.entries(sd)) {
      const t = targets.get(k);
      if (t && t.backend !== v.backend)
        throw new ArgumentError(
          `loadStateDict(${this.describe()}): ${k} is on backend '${v.backend.name}', the module's tensor on '${t.backend.name}'`,
        );
    }
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      const parts = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
      throw new TsgradError(
        `loadStateDict(${this.describe()}): ${parts.join('; ')} (pass { strict: false } to load the keys that match)`,
      );
    }
    const loadedKeys: string[] = [];
    noGrad(() => {
      for (const [k, v] of Object.entries(sd)) {
        const t = targets.get(k);
        if (!t) continue;
        t.assign(v.clone());
        loadedKeys.push(k);
      }
    });
    return { missingKeys, unexpectedKeys, loadedKeys };
  }

  /** Sets training mode here and in every sub-module. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: dropout off, batch norm uses running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Clears the gradients of all parameters. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Stops (or restarts) gradient computation for all parameters: freezing for transfer learning. */
  requiresGrad(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Freezes every parameter (requiresGrad false): the optimizer leaves them alone. @example model.features.freeze() */
  freeze(): this {
    return this.requiresGrad(false);
  }

  /** Undoes freeze(). */
  unfreeze(): this {
    return this.requiresGrad(true);
  }

  /**
   * The sub-module at a dotted path, as named by namedModules().
   * @example model.getSubmodule('classifier.5') // Linear(84, 10)
   */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    const found = this.namedModules().find(([name]) => name === path);
    if (!found) {
      const names = this.namedModules()
        .map(([n]) => n)
        .filter((n) => n !== '');
      throw new ArgumentError(`${this.describe()}: no sub-module '${path}' (have: ${names.join(', ')})`);
    }
    return found[1];
  }

  /**
   * Replaces the sub-module at a dotted path, e.g. a new classifier head for
   * transfer learning. Build the optimizer after replacing, so it sees the new parameters.
   * @example model.setSubmodule('classifier.5', new Linear(84, 3));
   */
  setSubmodule(path: string, module: Module): this {
    for (const [parentPath, parent] of this.namedModules()) {
      for (const [childName] of parent.namedChildren()) {
        if ((parentPath ? `${parentPath}.${childName}` : childName) === path) {
          parent.replaceChild(childName, module);
          return this;
        }
      }
    }
    this.getSubmodule(path); // throws the error that lists the names
    throw new ArgumentError(`${this.describe()}: cannot replace the module itself`);
  }

  /** Puts `module` in place of the direct child called `name` (see namedChildren). */
  protected replaceChild(name: string, module: Module): void {
    const dot = name.indexOf('.');
    const self = this as unknown as Record<string, unknown>;
    if (dot < 0) self[name] = module;
    else (self[name.slice(0, dot)] as Module[])[Number(name.slice(dot + 1))] = module;
  }

  /** Calls fn on this module and every descendant. */
  apply(fn: (m: Module, name: string) => void): this {
    for (const [name, m] of this.namedModules()) fn(m, name);
    return this;
  }

  /** A tree of sub-modules, like PyTorch's print(model). */
  toString(): string {
    const children = this.namedChildren();
    if (children.length === 0) return this.describe();
    const lines = children.map(([name, m]) => `  (${name}): ${m.toString().replace(/\n/g, '\n  ')}`);
    return `${this.constructor.name}(\n${lines.join('\n')}\n)`;
  }
}

/** A layer that can apply the activation after it in its own kernel (Conv2d, Linear). */
interface FusesEpilogue {
  forwardWithEpilogue(x: Tensor, epilogue: Epilogue): Tensor;
}

/** The epilogue `act` (a ReLU, a LeakyReLU) gives `layer` to apply, or undefined where they run apart. */
function fusedEpilogue(layer: Module, act: Module): Epilogue | undefined {
  if (forwardObserver || forwardInterceptor) return undefined;
  if (typeof (layer as unknown as Partial<FusesEpilogue>).forwardWithEpilogue !== 'function') return undefined;
  const epilogue = (act as unknown as { epilogue?: Epilogue }).epilogue;
  if (!epilogue || activeHooks(layer) || activeHooks(act)) return undefined;
  return epilogue;
}

/** A fused pair's forward; an error is the layer's own, as if its forward() had thrown it. */
function forwardFused(layer: FusesEpilogue, x: Tensor, epilogue: Epilogue): Tensor {
  try {
    return layer.forwardWithEpilogue(x, epilogue);
  } catch (e) {
    blame(e, layer as unknown as Module);
    throw e;
  }
}

/**
 * Applies modules in order; children are named '0', '1', ... as in PyTorch,
 * or by the names given to Sequential.named().
 * @example const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
 */
export class Sequential extends Module {
  readonly layers: Module[];
  private names: string[] | null = null;

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }

  /**
   * A Sequential whose children have names (PyTorch's `nn.Sequential(OrderedDict(...))`),
   * so parameters are called e.g. `features.conv0.weight`.
   * @example Sequential.named([['conv0', new Conv2d(3, 64, 7)], ['relu0', new ReLU()]])
   */
  static named(entries: readonly (readonly [string, Module])[]): Sequential {
    const seq = new Sequential(...entries.map(([, m]) => m));
    const names = entries.map(([n]) => n);
    const bad = names.find((n, i) => n === '' || n.includes('.') || names.indexOf(n) !== i);
    if (bad !== undefined) throw new ArgumentError(`Sequential.named: names must be unique and dot-free, got '${bad}'`);
    seq.names = names;
    return seq;
  }

  /** Appends a layer (with a name when the Sequential was built by Sequential.named()). */
  add(layer: Module, name?: string): this {
    if (this.names) {
      const n = name ?? String(this.layers.length);
      if (this.names.includes(n)) throw new ArgumentError(`Sequential.add: a child is already named '${n}'`);
      this.names.push(n);
    } else if (name !== undefined && name !== String(this.layers.length)) {
      throw new ArgumentError(
        `Sequential.add: this Sequential numbers its children; build it with Sequential.named() to use names`,
      );
    }
    this.layers.push(layer);
    return this;
  }

  override namedChildren(): [string, Module][] {
    return this.layers.map((m, i) => [this.names?.[i] ?? String(i), m]);
  }

  /**
   * Runs the layers in order. A Conv2d or Linear followed by a ReLU or LeakyReLU runs as one
   * kernel (the product, its bias and the activation: the same values), unless either layer
   * has hooks or something watches forward passes (ONNX export, observeForward), which then
   * see every layer's own output.
   */
  forward(x: Tensor): Tensor {
    let y = x;
    const layers = this.layers;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const epilogue = i + 1 < layers.length ? fusedEpilogue(layer, layers[i + 1]!) : undefined;
      if (epilogue) {
        y = forwardFused(layer as unknown as FusesEpilogue, y, epilogue);
        i++;
      } else y = (layer as unknown as { forward(t: Tensor): Tensor }).forward(y);
    }
    return y;
  }

  protected override replaceChild(name: string, module: Module): void {
    this.layers[this.names ? this.names.indexOf(name) : Number(name)] = module;
  }

  get length(): number {
    return this.layers.length;
  }

  /** The layer at an index (negative counts from the end) or, for a named Sequential, with a name. */
  at(i: number | string): Module {
    const m = typeof i === 'string' ? this.layers[this.names?.indexOf(i) ?? Number(i)] : this.layers.at(i);
    if (!m) {
      throw new ArgumentError(
        typeof i === 'string'
          ? `Sequential.at: no layer named '${i}'`
          : `Sequential.at: index ${i} out of range for ${this.layers.length} layers`,
      );
    }
    return m;
  }
}
