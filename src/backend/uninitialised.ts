/**
 * Output storages a kernel writes in full may come uninitialised (OpDef.writesAll): a reused
 * block then holds whatever its last tensor left. This module's switch lets the tests prove
 * that claim: while it is on, every such storage is first filled with a poison value (NaN, or
 * an unlikely integer), so an element a kernel forgets to write shows up in the op-table suite.
 */
import type { TypedArray } from '../core/dtype.js';

let poison = false;

/** @internal Turns the poison fill on or off (tests); returns the previous setting. */
export function setPoisonUninitialised(on: boolean): boolean {
  const before = poison;
  poison = on;
  return before;
}

/** An uninitialised storage as handed out: poisoned while the switch is on, untouched otherwise. */
export function uninitialised<A extends TypedArray>(a: A): A {
  if (!poison) return a;
  if (a instanceof Float32Array || a instanceof Float64Array) a.fill(NaN);
  else if (a instanceof Int32Array) a.fill(0x5eadbeef);
  else a.fill(0xa5);
  return a;
}
