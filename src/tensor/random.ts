import { ArgumentError } from '../core/errors.js';

/** When set, called on every draw from any generator (ONNX export refuses layers that draw). */
let drawObserver: (() => void) | null = null;

/** Runs `fn` while `observer` is called on every random draw. @example observeDraws(() => drew = true, f) */
export function observeDraws<T>(observer: () => void, fn: () => T): T {
  const prev = drawObserver;
  drawObserver = observer;
  try {
    return fn();
  } finally {
    drawObserver = prev;
  }
}

/**
 * A seedable random generator (xoshiro128**). The same seed gives the same
 * stream on every platform, and its state can be saved and restored, so a
 * resumed training run draws the same numbers as an uninterrupted one.
 * @example const g = new Generator(42); g.uniform(); // in [0, 1)
 */
export class Generator {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Resets the stream from an integer seed (splitmix32 expands it into the state). */
  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new ArgumentError(`Generator.seed: seed must be a finite number, got ${seed}`);
    let x = Math.floor(seed) >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9 + (i === 1 ? hi : 0)) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
    this.spareNormal = null;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    drawObserver?.();
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of resolution. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  int(low: number, high: number): number {
    if (!(high > low)) throw new ArgumentError(`Generator.int: empty range [${low}, ${high})`);
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
  }

  /** A plain, JSON-serializable snapshot of the state. */
  getState(): { s: number[]; spareNormal: number | null } {
    return { s: [...this.s], spareNormal: this.spareNormal };
  }

  setState(state: { s: readonly number[]; spareNormal: number | null }): void {
    if (state.s.length !== 4) throw new ArgumentError('Generator.setState: expected 4 state words');
    this.s.set(state.s);
    this.spareNormal = state.spareNormal;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator used when a function is given none; seeded with 0, so runs are reproducible by default. */
export const defaultGenerator = new Generator(0);

/**
 * Re-seeds the default generator.
 * @example manualSeed(42);
 */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
