// Synthetic Neural Collapse sweep (method note A2): ETF heads for C classes in R^d, features
// w_y + σ·noise on a class-balanced batch, σ from high to zero. MIR should rise to the collapse
// value and HDR fall to 0; an unbalanced batch and a batch smaller than C miss the limit.
import { InputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { median, quantile } from '../core/stats.js';
import type { Matrix64 } from '../core/linalg/index.js';
import { withDefaults } from '../core/options.js';
import { featureHeadInfo, measureBytes } from './metrics.js';
import { MAX_REPEATS, assertAllocatable, capSize } from '../core/limits.js';
import { etfHead, mirNeuralCollapse } from './nc.js';

export interface CollapseSweepOptions {
  readonly classes: number;
  readonly dim: number;
  readonly perClass: number;
  readonly noise: readonly number[];
  readonly seeds: number;
  readonly seed: number;
}

export const COLLAPSE_DEFAULTS: CollapseSweepOptions = {
  classes: 10, dim: 16, perClass: 10, noise: [1, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05, 0.02, 0.01, 0], seeds: 5, seed: 0,
};

export interface CollapseSweepResult {
  readonly classes: number;
  readonly noise: number[];
  /** Median over seeds. */
  readonly mir: number[];
  readonly hdr: number[];
  readonly mir_q25: number[];
  readonly mir_q75: number[];
  readonly hdr_q25: number[];
  readonly hdr_q75: number[];
  readonly mir_collapse: number;
  /** The same sweep with an unbalanced batch (class c gets 1 + 2c samples). */
  readonly mir_unbalanced: number[];
  readonly hdr_unbalanced: number[];
  /** The same sweep with a batch of C/2 samples (B < C). */
  readonly mir_small_batch: number[];
  readonly monotone: { readonly mir_rises: boolean; readonly hdr_falls: boolean };
  readonly seeds: number;
}

function batch(W: Matrix64, counts: readonly number[], sigma: number, rng: Rng): { H: Matrix64; y: Int32Array } {
  const d = W.cols;
  const y = Int32Array.from(counts.flatMap((k, c) => Array<number>(k).fill(c)));
  const H: Matrix64 = { rows: y.length, cols: d, data: new Float64Array(y.length * d) };
  y.forEach((c, i) => { for (let k = 0; k < d; k++) H.data[i * d + k] = W.data[c * d + k] + sigma * rng.normal(); });
  return { H, y };
}

export function collapseSweep(partial: Partial<CollapseSweepOptions> = {}): CollapseSweepResult {
  const o = withDefaults(COLLAPSE_DEFAULTS, partial, 'nc sweep');
  if (o.dim < o.classes) throw new InputError(`nc sweep: dim (${o.dim}) must be >= classes (${o.classes})`);
  if (o.noise.some((s) => !(s >= 0))) throw new InputError('nc sweep: noise levels must be >= 0');
  const C = o.classes;
  // The unbalanced batch has C^2 rows; each batch's joint entropy may take an n x n Gram.
  const nMax = Math.max(C * o.perClass, C * C);
  capSize('seeds', o.seeds, MAX_REPEATS, 'nc sweep');
  assertAllocatable(measureBytes(nMax, o.dim, o.dim) + 8 * C * o.dim, `batches of up to ${nMax} rows of dimension ${o.dim}`, 'nc sweep (--classes, --dim, --per-class)');
  const balanced = Array<number>(C).fill(o.perClass);
  const unbalanced = Array.from({ length: C }, (_, c) => 1 + 2 * c);
  const small = Array.from({ length: C }, (_, c) => (c < Math.max(2, Math.floor(C / 2)) ? 1 : 0));
  const per = { mir: [] as number[][], hdr: [] as number[][], mirU: [] as number[][], hdrU: [] as number[][], mirS: [] as number[][] };
  for (const sigma of o.noise) {
    const row = { mir: [] as number[], hdr: [] as number[], mirU: [] as number[], hdrU: [] as number[], mirS: [] as number[] };
    for (let s = 0; s < o.seeds; s++) {
      const rng = new Rng(o.seed + s, 'nc-sweep');
      const W = etfHead(C, o.dim, rng.split('head'));
      const noiseRng = rng.split(`noise-${sigma}`);
      const b = batch(W, balanced, sigma, noiseRng);
      const m = featureHeadInfo(b.H, b.y, W);
      row.mir.push(m.mir); row.hdr.push(m.hdr);
      const u = batch(W, unbalanced, sigma, noiseRng);
      const mu = featureHeadInfo(u.H, u.y, W);
      row.mirU.push(mu.mir); row.hdrU.push(mu.hdr);
      const sb = batch(W, small, sigma, noiseRng);
      row.mirS.push(featureHeadInfo(sb.H, sb.y, W).mir);
    }
    per.mir.push(row.mir); per.hdr.push(row.hdr); per.mirU.push(row.mirU); per.hdrU.push(row.hdrU); per.mirS.push(row.mirS);
  }
  const med = (xs: number[][]): number[] => xs.map((r) => median(r));
  const q = (xs: number[][], p: number): number[] => xs.map((r) => quantile(r, p));
  const mir = med(per.mir), hdr = med(per.hdr);
  // The noise list runs from high to low: MIR should not decrease and HDR not increase along it.
  const tol = 1e-9;
  const mirRises = mir.every((v, i) => i === 0 || v >= mir[i - 1] - tol);
  const hdrFalls = hdr.every((v, i) => i === 0 || v <= hdr[i - 1] + tol);
  return {
    classes: C, noise: [...o.noise], mir, hdr, mir_q25: q(per.mir, 0.25), mir_q75: q(per.mir, 0.75), hdr_q25: q(per.hdr, 0.25), hdr_q75: q(per.hdr, 0.75),
    mir_collapse: mirNeuralCollapse(C), mir_unbalanced: med(per.mirU), hdr_unbalanced: med(per.hdrU), mir_small_batch: med(per.mirS),
    monotone: { mir_rises: mirRises, hdr_falls: hdrFalls }, seeds: o.seeds,
  };
}
