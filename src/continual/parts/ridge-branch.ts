// RanPAC's phase 2 for one branch: random ReLU projection, accumulated ridge statistics, lambda
// chosen each session on an 80/20 stratified split of that session's training features.
import type { Rng } from '../../core/rng.js';
import { AnalyticRidgeHead, RANPAC_LAMBDAS, RandomReluProjection, type FeatureRows } from '../heads.js';

export function splitRows(f: FeatureRows, y: Int32Array, frac: number, rng: Rng): { fit: [FeatureRows, Int32Array]; val: [FeatureRows, Int32Array] } {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < f.n; i++) {
    const list = byClass.get(y[i]) ?? [];
    list.push(i);
    byClass.set(y[i], list);
  }
  const a: number[] = [], b: number[] = [];
  for (const c of [...byClass.keys()].sort((p, q) => p - q)) {
    const idx = byClass.get(c)!;
    const perm = rng.split(`class-${c}`).permutation(idx.length);
    const k = Math.round(frac * idx.length);
    perm.forEach((p, i) => (i < k ? a : b).push(idx[p]));
  }
  const take = (rows: number[]): [FeatureRows, Int32Array] => {
    const x = new Float32Array(rows.length * f.d), yy = new Int32Array(rows.length);
    rows.forEach((r, i) => { x.set(f.x.subarray(r * f.d, (r + 1) * f.d), i * f.d); yy[i] = y[r]; });
    return [{ x, n: rows.length, d: f.d }, yy];
  };
  return { fit: take(a), val: take(b) };
}

export class RidgeBranch {
  readonly proj: RandomReluProjection;
  readonly head: AnalyticRidgeHead;
  readonly lambdaHistory: number[] = [];

  constructor(inDim: number, readonly M: number, projectionSeed: number, numClasses: number, readonly grid: readonly number[] = RANPAC_LAMBDAS) {
    this.proj = new RandomReluProjection(inDim, M, projectionSeed);
    this.head = new AnalyticRidgeHead(this.proj.outDim, numClasses);
  }

  /** Choose lambda on this session's rows, add them to the statistics, and solve. */
  update(feats: FeatureRows, y: Int32Array, rng: Rng): number {
    const h = this.proj.apply(feats);
    const { fit, val } = splitRows(h, y, 0.8, rng);
    const sel = AnalyticRidgeHead.selectLambda(fit[0], fit[1], val[0], val[1], this.head.numClasses, this.grid);
    const lambda = sel.lambda;
    // The session's statistics are those of the fit rows plus those of the held-out rows.
    this.head.addStats(sel.G, sel.Q);
    this.head.accumulate(val[0], val[1]);
    this.head.solve(lambda);
    this.lambdaHistory.push(lambda);
    return lambda;
  }

  logits(feats: FeatureRows, seen: number): Float32Array {
    return this.head.logits(this.proj.apply(feats), seen);
  }

  state(prefix: string, arrays: Map<string, { shape: number[]; data: Float32Array | Float64Array }>): Record<string, unknown> {
    arrays.set(`${prefix}.G`, { shape: [this.head.dim, this.head.dim], data: this.head.G.data });
    arrays.set(`${prefix}.Q`, { shape: [this.head.dim, this.head.numClasses], data: this.head.Q.data });
    return { M: this.M, lambda: this.head.lambda, lambdaHistory: this.lambdaHistory.slice() };
  }

  restore(prefix: string, meta: Record<string, unknown>, arrays: Map<string, { shape: number[]; data: Float32Array | Float64Array }>): void {
    this.head.G.data.set(arrays.get(`${prefix}.G`)!.data);
    this.head.Q.data.set(arrays.get(`${prefix}.Q`)!.data);
    this.lambdaHistory.splice(0, this.lambdaHistory.length, ...(meta.lambdaHistory as number[]));
    if (typeof meta.lambda === 'number') this.head.solve(meta.lambda);
  }
}
