/**
 * Every error tsgrad throws on purpose is a TsgradError, so callers can tell
 * a usage problem from a bug. Messages name the op or layer, the shapes or
 * file involved, and what was expected.
 */
export class TsgradError extends Error {
  /** Dotted module path ("features.3") added when the error crosses a Module call. */
  layer: string | undefined;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul, conv, reshape, layer inputs). */
export class ShapeError extends TsgradError {}

/** A dtype an op cannot take (e.g. float math on int32 labels). */
export class DTypeError extends TsgradError {}

/** An argument outside its allowed range or of the wrong kind. */
export class ArgumentError extends TsgradError {}

/** A missing, unreadable or corrupt file; the message names the file. */
export class DataFileError extends TsgradError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** Something the current backend or autograd engine cannot do (yet), said plainly. */
export class UnsupportedError extends TsgradError {}
