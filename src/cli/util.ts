// Helpers shared by area CLIs: option parsing with errors that name the option.
import { InputError } from '../core/errors.js';
import { logIntGrid } from '../core/stats.js';

export function parseIntOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InputError(`--${name} expects an integer, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function parseFloatOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InputError(`--${name} expects a number, got ${JSON.stringify(v)}`);
    return n;
  };
}

/** "1,5" -> [1, 5]. */
export function parseNumberList(name: string) {
  return (v: string): number[] => v.split(',').map((s) => parseFloatOption(name)(s.trim()));
}

export function parseStringList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** "5..400" or "5,10,20" -> numbers; a range gives about `steps` values spread on a log scale. */
export function parseRangeOrList(name: string, steps = 24) {
  return (v: string): number[] => {
    const m = /^(\d+)\.\.(\d+)$/.exec(v.trim());
    if (!m) return parseNumberList(name)(v);
    const lo = Number(m[1]), hi = Number(m[2]);
    if (!(lo >= 1 && hi > lo)) throw new InputError(`--${name}: range ${v} must be lo..hi with 1 <= lo < hi`);
    return logIntGrid(lo, hi, steps);
  };
}

/** `--seeds`: a count n (seeds 0..n-1), a range a..b (inclusive), or a comma list. */
export function parseSeeds(v: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(v.trim());
  if (range) {
    const lo = Number(range[1]), hi = Number(range[2]);
    if (hi < lo) throw new InputError(`--seeds ${v}: empty range`);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  if (/^\d+$/.test(v.trim())) {
    const n = Number(v);
    if (n < 1) throw new InputError(`--seeds ${v}: need at least one seed`);
    return Array.from({ length: n }, (_, i) => i);
  }
  const seeds = v.split(',').map((s) => parseIntOption('seeds')(s.trim()));
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined) throw new InputError(`--seeds ${v}: seed ${twice} is listed twice (one seed k alone: --seeds k..k)`);
  return seeds;
}
