// Drift compensation for a continually trained feature extractor without replay (SAFE's fast
// learner): per-class first and second moments of the features, an affine drift map between the
// features before and after a session fitted by least squares on that session's own rows, the
// moments carried through it, and ridge statistics rebuilt from the carried moments.
//
// Model: for the rows of the current session, f_after = A f_before + b + e, e ~ N(0, R), fitted by
// least squares on [f_before, 1]. Assuming the same map holds for the old classes' rows (they are
// not available), their moments become mu' = A mu + b and Sigma' = A Sigma A^T + R. The ridge head
// needs G = sum h h^T and Q = sum h y^T with h = ReLU(W^T f): for M = 0 these follow exactly from the
// moments (G_c = n_c (Sigma_c + mu_c mu_c^T)); for a random ReLU projection they are estimated from
// `samplesPerClass` draws of N(mu_c, Sigma_c), weighted by n_c / samplesPerClass.
import { InputError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { linalg, type Matrix64 } from '../../core/linalg/index.js';
import { gramAndTargets, type AnalyticRidgeHead, type FeatureRows, type RandomReluProjection } from '../heads.js';

/** Per-class count, mean and covariance (float64) of d-dimensional features. */
export class ClassMoments {
  readonly counts: Float64Array;
  readonly means: Float64Array;
  readonly covs: Float64Array;

  constructor(readonly d: number, readonly numClasses: number) {
    this.counts = new Float64Array(numClasses);
    this.means = new Float64Array(numClasses * d);
    this.covs = new Float64Array(numClasses * d * d);
  }

  /** Set the moments of every class present in `y` from its rows (replaces earlier values of those classes). */
  set(f: FeatureRows, y: Int32Array): void {
    if (f.d !== this.d) throw new InputError(`ClassMoments: features have ${f.d} dims, expected ${this.d}`);
    const d = this.d;
    const present = new Set<number>();
    for (let i = 0; i < f.n; i++) present.add(y[i]);
    for (const c of present) {
      this.counts[c] = 0;
      this.means.fill(0, c * d, (c + 1) * d);
      this.covs.fill(0, c * d * d, (c + 1) * d * d);
    }
    for (let i = 0; i < f.n; i++) {
      const c = y[i];
      this.counts[c]++;
      for (let k = 0; k < d; k++) this.means[c * d + k] += f.x[i * d + k];
    }
    for (const c of present) for (let k = 0; k < d; k++) this.means[c * d + k] /= this.counts[c];
    for (let i = 0; i < f.n; i++) {
      const c = y[i];
      const base = c * d * d;
      for (let a = 0; a < d; a++) {
        const da = f.x[i * d + a] - this.means[c * d + a];
        for (let b = 0; b <= a; b++) this.covs[base + a * d + b] += da * (f.x[i * d + b] - this.means[c * d + b]);
      }
    }
    for (const c of present) {
      const base = c * d * d, n = this.counts[c];
      for (let a = 0; a < d; a++) for (let b = 0; b <= a; b++) {
        const v = this.covs[base + a * d + b] / n;
        this.covs[base + a * d + b] = v;
        this.covs[base + b * d + a] = v;
      }
    }
  }

  mean(c: number): Float64Array { return this.means.subarray(c * this.d, (c + 1) * this.d); }
  cov(c: number): Float64Array { return this.covs.subarray(c * this.d * this.d, (c + 1) * this.d * this.d); }

  /** Carry the moments of `classes` through f -> A f + b with added noise covariance R. */
  transport(map: DriftMap, classes: readonly number[]): void {
    const d = this.d, la = linalg();
    const A: Matrix64 = { rows: d, cols: d, data: map.A };
    for (const c of classes) {
      if (this.counts[c] === 0) continue;
      const mu = this.mean(c);
      const m2 = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let s = map.b[i];
        for (let k = 0; k < d; k++) s += map.A[i * d + k] * mu[k];
        m2[i] = s;
      }
      mu.set(m2);
      const S: Matrix64 = { rows: d, cols: d, data: Float64Array.from(this.cov(c)) };
      const ASAt = la.gemm(la.gemm(A, S), A, { transB: true });
      const out = this.cov(c);
      for (let i = 0; i < d * d; i++) out[i] = ASAt.data[i] + map.R[i];
    }
  }

  clone(): ClassMoments {
    const m = new ClassMoments(this.d, this.numClasses);
    m.counts.set(this.counts);
    m.means.set(this.means);
    m.covs.set(this.covs);
    return m;
  }
}

/** f_after ~ A f_before + b, residual covariance R (A, R: d x d row-major). */
export interface DriftMap {
  readonly A: Float64Array;
  readonly b: Float64Array;
  readonly R: Float64Array;
  /** Share of the after-features' total variance the map leaves unexplained. */
  readonly residualShare: number;
}

/** Least-squares affine map from `before` to `after` features of the same rows. */
export function fitDriftMap(before: FeatureRows, after: FeatureRows): DriftMap {
  if (before.n !== after.n || before.d !== after.d) throw new InputError(`fitDriftMap: ${before.n}x${before.d} vs ${after.n}x${after.d} features`);
  const { n, d } = before;
  if (n <= d + 1) throw new InputError(`fitDriftMap: ${n} rows cannot determine a ${d}-D affine map`);
  const la = linalg();
  const X: Matrix64 = { rows: n, cols: d + 1, data: new Float64Array(n * (d + 1)) };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) X.data[i * (d + 1) + k] = before.x[i * d + k];
    X.data[i * (d + 1) + d] = 1;
  }
  const Y: Matrix64 = { rows: n, cols: d, data: Float64Array.from(after.x) };
  const XtX = la.syrk(X);
  let tr = 0;
  for (let k = 0; k <= d; k++) tr += XtX.data[k * (d + 1) + k];
  // A tiny ridge (1e-9 of the mean diagonal) only guards against exactly collinear features.
  for (let k = 0; k <= d; k++) XtX.data[k * (d + 1) + k] += 1e-9 * (tr / (d + 1));
  const B = la.choleskySolve(XtX, la.gemm(X, Y, { transA: true })); // (d+1) x d
  const A = new Float64Array(d * d), b = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) A[i * d + k] = B.data[k * d + i];
    b[i] = B.data[d * d + i];
  }
  const P = la.gemm(X, B);
  const E: Matrix64 = { rows: n, cols: d, data: new Float64Array(n * d) };
  let se = 0, st = 0;
  const ym = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) ym[k] += Y.data[i * d + k] / n;
  for (let i = 0; i < n * d; i++) {
    const e = Y.data[i] - P.data[i];
    E.data[i] = e;
    se += e * e;
    st += (Y.data[i] - ym[i % d]) ** 2;
  }
  const R = la.syrk(E).data;
  for (let i = 0; i < d * d; i++) R[i] /= n;
  return { A, b, R, residualShare: st > 0 ? se / st : 0 };
}

/**
 * Add the ridge statistics of `classes` rebuilt from their moments to `head`: `samplesPerClass`
 * draws of N(mu_c, Sigma_c) through `proj`, each weighted n_c / samplesPerClass.
 */
export function accumulateFromMoments(head: AnalyticRidgeHead, proj: RandomReluProjection, mom: ClassMoments, classes: readonly number[], samplesPerClass: number, rng: Rng): void {
  const d = mom.d, la = linalg();
  for (const c of classes) {
    const n = mom.counts[c];
    if (n === 0) continue;
    const S: Matrix64 = { rows: d, cols: d, data: Float64Array.from(mom.cov(c)) };
    let tr = 0;
    for (let k = 0; k < d; k++) tr += S.data[k * d + k];
    for (let k = 0; k < d; k++) S.data[k * d + k] += 1e-6 * (tr / d) + 1e-12;
    const L = la.cholesky(S);
    const r = rng.split(`class-${c}`);
    const m = samplesPerClass;
    const x = new Float32Array(m * d);
    const z = new Float64Array(d);
    const mu = mom.mean(c);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < d; k++) z[k] = r.normal();
      for (let a = 0; a < d; a++) {
        let s = mu[a];
        for (let k = 0; k <= a; k++) s += L.data[a * d + k] * z[k];
        x[i * d + a] = s;
      }
    }
    const h = proj.apply({ x, n: m, d });
    const { G, Q } = gramAndTargets(h, new Int32Array(m).fill(c), head.numClasses);
    const w = n / m;
    for (let i = 0; i < G.data.length; i++) G.data[i] *= w;
    for (let i = 0; i < Q.data.length; i++) Q.data[i] *= w;
    head.addStats(G, Q);
  }
}
