// Top-k accuracy beside top-1: a test row counts when its true class is among the k highest
// scores. Ties rank the lower class index first, the rule of argmaxRows (heads.ts), so k = 1 gives
// exactly the trainer's top-1. Scores are row-major n x C over the classes seen so far; a row
// whose label is outside them never counts.
import { InputError } from '../../core/errors.js';

/** hit[i] = 1 when y[i] is among the k best of row i. */
export function topKHits(z: Float32Array | Float64Array, n: number, C: number, y: Int32Array, k: number): Uint8Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`top-k: k must be a positive integer, got ${k}`);
  if (z.length !== n * C) throw new InputError(`top-k: ${z.length} scores is not ${n} rows x ${C} classes`);
  if (y.length !== n) throw new InputError(`top-k: ${y.length} labels for ${n} rows`);
  const hit = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = y[i];
    if (t < 0 || t >= C) continue;
    const s = z[i * C + t];
    // Rank of the true class: classes scoring higher, and equal-scoring ones with a lower index.
    let ahead = 0;
    for (let c = 0; c < C && ahead < k; c++) {
      const v = z[i * C + c];
      if (v > s || (v === s && c < t) || (Number.isNaN(s) && c !== t)) ahead++;
    }
    hit[i] = ahead < k ? 1 : 0;
  }
  return hit;
}

/** Percent of rows whose label is among the k best scores. */
export function topKAccuracy(z: Float32Array | Float64Array, n: number, C: number, y: Int32Array, k: number): number {
  if (n === 0) throw new InputError('top-k accuracy of no rows');
  const hit = topKHits(z, n, C, y, k);
  let c = 0;
  for (let i = 0; i < n; i++) c += hit[i];
  return (100 * c) / n;
}

/** Per-group hit counts, in the shape AccuracyMatrix.record takes (as groupCorrect in metrics.ts does for top-1). */
export function topKGroupCorrect(z: Float32Array | Float64Array, n: number, C: number, y: Int32Array, k: number, groupOf: (label: number) => number, groups: number): { correct: number[]; counts: number[] } {
  const hit = topKHits(z, n, C, y, k);
  const correct = new Array<number>(groups).fill(0), counts = new Array<number>(groups).fill(0);
  for (let i = 0; i < n; i++) {
    const g = groupOf(y[i]);
    if (g < 0 || g >= groups) continue;
    counts[g]++;
    correct[g] += hit[i];
  }
  return { correct, counts };
}
