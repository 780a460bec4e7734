// The one statistics module of model evaluation (self-knowledge, breakout, user task files):
// rates with Wilson score intervals, unbiased pass@k and pass^k from c successes in n runs, and
// paired differences between two models on the same items. A rate over zero trials is null with
// a reason, never NaN or 0/0.
import { Rng } from '../core/rng.js';

function binom(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

function check(n: number, c: number, k: number): void {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new RangeError(`need integers 0 <= c <= n, 1 <= k <= n; got n=${n}, c=${c}, k=${k}`);
  }
}

/** P(at least one of k runs drawn without replacement from the n succeeds) = 1 - C(n-c,k)/C(n,k). */
export function passAtK(n: number, c: number, k: number): number {
  check(n, c, k);
  if (n - c < k) return 1;
  // Product form avoids large binomials: prod_{i=n-c+1}^{n} (1 - k/i).
  let r = 1;
  for (let i = n - c + 1; i <= n; i++) r *= 1 - k / i;
  return 1 - r;
}

/** P(all k runs drawn without replacement from the n succeed) = C(c,k)/C(n,k). */
export function passHatK(n: number, c: number, k: number): number {
  check(n, c, k);
  if (c < k) return 0;
  return binom(c, k) / binom(n, k);
}

/** z of a two-sided 95 % normal interval. */
export const Z95 = 1.959963984540054;

/** 95 % Wilson score interval of x successes in n; [0, 1] for n = 0 (use `rate` for a null there). */
export function wilson(x: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 1];
  const p = x / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface Rate {
  /** successes / trials; null when there were no trials (`reason` says so). */
  readonly value: number | null;
  readonly successes: number;
  readonly trials: number;
  readonly ci95: readonly [number, number] | null;
  readonly reason?: string;
}

/** A proportion with its Wilson interval; over zero trials value and interval are null with a reason. */
export function rate(successes: number, trials: number, none = 'no items to score'): Rate {
  if (trials === 0) return { value: null, successes, trials, ci95: null, reason: none };
  return { value: successes / trials, successes, trials, ci95: wilson(successes, trials) };
}

/** Share of true values; null over an empty list. */
export function share(xs: readonly boolean[]): number | null {
  return xs.length ? xs.filter(Boolean).length / xs.length : null;
}

export interface PairedDifference {
  /** Items scored by both. */
  readonly n: number;
  /** mean(b - a) over items; null when n = 0. */
  readonly mean: number | null;
  /** 95 % percentile bootstrap interval of the mean difference (items resampled); null when n < 2. */
  readonly ci95: readonly [number, number] | null;
  /** Items where b scores higher / lower / the same. */
  readonly wins: number;
  readonly losses: number;
  readonly ties: number;
  readonly reason?: string;
}

/**
 * Paired difference b - a of per-item scores (e.g. the share of an item's repeats that passed)
 * on the items both scored. The interval resamples items (2000 resamples, seeded, so the same
 * scores give the same interval): items are the unit of variation, repeats are not independent.
 */
export function pairedDifference(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>, seed = 0, resamples = 2000): PairedDifference {
  const d: number[] = [];
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y !== undefined) d.push(y - x);
  }
  const n = d.length;
  const wins = d.filter((x) => x > 0).length, losses = d.filter((x) => x < 0).length;
  if (n === 0) return { n, mean: null, ci95: null, wins, losses, ties: 0, reason: 'no item scored by both' };
  const mean = d.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { n, mean, ci95: null, wins, losses, ties: n - wins - losses, reason: 'one item: no interval' };
  const rng = new Rng(seed, 'paired-bootstrap');
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.int(n)];
    means[r] = s / n;
  }
  means.sort();
  const q = (p: number): number => means[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return { n, mean, ci95: [q(0.025), q(0.975)], wins, losses, ties: n - wins - losses };
}
