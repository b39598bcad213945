/**
 * The key Node's `util.inspect` (and so `console.log`) looks up for a custom view of an
 * object. `Symbol.for` gives the same symbol as `util.inspect.custom` without importing
 * node:util, so the browser build stays free of Node modules.
 */
export const inspectSymbol: unique symbol = Symbol.for('nodejs.util.inspect.custom');
