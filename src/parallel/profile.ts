/**
 * Opt-in timing of DataParallel's steps, per phase and per thread: wall time and the
 * thread's own CPU time (Linux: /proc/thread-self/schedstat), so a profile taken on a
 * loaded machine still shows which phases burn CPU and which only wait.
 */
import { readFileSync } from 'node:fs';

/** Phases of the main thread's part of a step. */
export const MAIN_PHASES = [
  'writeState',
  'scatter',
  'waitForward',
  'gather',
  'readBuffers',
  'gradScatter',
  'waitBackward',
  'gradsIn',
] as const;
/** Phases of a replica thread's part of a step. */
export const REPLICA_PHASES = [
  'idle',
  'loadState',
  'input',
  'forward',
  'output',
  'gradIn',
  'backward',
  'gradOut',
  'barrier',
  'reduce',
  'optimizer',
  'done',
  'turn',
] as const;
/** Float64 slots per thread: wall ms, CPU ms and count per phase. */
export const PROFILE_SLOTS = 3 * 16;

let cpuSource: 'schedstat' | 'none' | undefined;
/** This thread's CPU time in ms (0 where the platform does not say). */
export function threadCpuMs(): number {
  if (cpuSource === 'none') return 0;
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
    cpuSource = 'schedstat';
    return ns / 1e6;
  } catch {
    cpuSource = 'none';
    return 0;
  }
}

/** Accumulates phase times into one thread's slots of a shared Float64Array; a no-op without one. */
export class PhaseClock {
  private wall = 0;
  private cpu = 0;
  constructor(
    private readonly slots: Float64Array | null,
    private readonly phases: readonly string[],
  ) {}

  /** Starts timing the next phase. */
  start(): void {
    if (!this.slots) return;
    this.wall = performance.now();
    this.cpu = threadCpuMs();
  }

  /** Ends the current phase, books it as `phase`, and starts the next one. */
  lap(phase: string): void {
    if (!this.slots) return;
    const i = this.phases.indexOf(phase);
    const wall = performance.now();
    const cpu = threadCpuMs();
    this.slots[3 * i] = this.slots[3 * i]! + wall - this.wall;
    this.slots[3 * i + 1] = this.slots[3 * i + 1]! + cpu - this.cpu;
    this.slots[3 * i + 2] = this.slots[3 * i + 2]! + 1;
    this.wall = wall;
    this.cpu = cpu;
  }
}

/** Per phase: total wall ms, total CPU ms and count. */
export type PhaseTotals = Record<string, { wallMs: number; cpuMs: number; count: number }>;

export function readPhases(slots: Float64Array, phases: readonly string[]): PhaseTotals {
  return Object.fromEntries(
    phases.map((p, i) => [p, { wallMs: slots[3 * i]!, cpuMs: slots[3 * i + 1]!, count: slots[3 * i + 2]! }]),
  );
}
