// Caps on every size a user or a file can choose, checked before anything is allocated, so a typo
// or a hostile header gets one clear line instead of minutes of swapping and a RangeError.
//
// Two kinds of limit:
// - memory: an estimate of the bytes a run needs is compared with a budget, by default half of
//   this machine's memory (os.totalmem()), or PERENNIAL_MAX_BYTES (bytes, or with a K/M/G/T
//   suffix) when set;
// - fixed counts that bound time rather than memory, or that no real input reaches (classes,
//   repeats), documented here and named in the error.
import os from 'node:os';
import { InputError } from './errors.js';

/** Elements one typed array may hold in Node 20 (V8's limit); larger requests throw RangeError. */
export const MAX_TYPED_ARRAY_LENGTH = 2 ** 32;

/** Largest number of classes (label values 0..C-1) any learner sizes its arrays by. */
export const MAX_CLASSES = 100_000;

/** Repeats, seeds and similar loop counts: they bound time (and per-repeat result rows). */
export const MAX_REPEATS = 1_000_000;

const SUFFIX: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** The memory budget in bytes and where it comes from (for the error message). */
export function memoryBudget(): { readonly bytes: number; readonly source: string } {
  const env = process.env.PERENNIAL_MAX_BYTES;
  if (env !== undefined && env.trim() !== '') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(env);
    if (!m) throw new InputError(`PERENNIAL_MAX_BYTES must be a byte count such as 8000000000 or 8G, got ${JSON.stringify(env)}`);
    return { bytes: Math.floor(Number(m[1]) * SUFFIX[m[2].toLowerCase()]), source: `PERENNIAL_MAX_BYTES=${env.trim()}` };
  }
  return { bytes: Math.floor(os.totalmem() / 2), source: "half of this machine's memory; set PERENNIAL_MAX_BYTES to change it" };
}

export function formatBytes(b: number): string {
  if (!Number.isFinite(b)) return `${b} bytes`;
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0, v = b;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  if (v >= 1024) return `${b.toExponential(2)} bytes`;
  return i === 0 ? `${Math.round(v)} bytes` : `${v.toPrecision(3)} ${units[i]}`;
}

/**
 * A count chosen by a user or a file: a non-negative integer at most `max`. `where` names the
 * command, file or option group; the error says the limit, so the user knows what would pass.
 */
export function capSize(name: string, value: number, max: number, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InputError(`${where}: ${name} must be a non-negative integer, got ${String(value)}`);
  }
  if (value > max) throw new InputError(`${where}: ${name} = ${value} is above the limit of ${max}`);
  return value;
}

/**
 * Refuse a run whose estimated memory is more than the budget. `bytes` may be Infinity or NaN
 * (an overflowing estimate), which is refused too.
 */
export function assertAllocatable(bytes: number, what: string, where?: string): void {
  const budget = memoryBudget();
  if (bytes <= budget.bytes) return;
  const pre = where ? `${where}: ` : '';
  throw new InputError(`${pre}${what} needs about ${formatBytes(bytes)}, more than the ${formatBytes(budget.bytes)} allowed (${budget.source})`);
}

/** One typed array of `elements` values: within V8's length limit and the memory budget. */
export function assertArrayFits(elements: number, bytesPerElement: number, what: string, where?: string): void {
  if (!(elements <= MAX_TYPED_ARRAY_LENGTH)) {
    const pre = where ? `${where}: ` : '';
    throw new InputError(`${pre}${what} would hold ${elements} values, more than the ${MAX_TYPED_ARRAY_LENGTH} one array can hold`);
  }
  assertAllocatable(elements * bytesPerElement, what, where);
}
