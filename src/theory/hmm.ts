// Head tuning on a linear-Gaussian hidden Markov chain ("Investigating the Impact of Model
// Complexity in Large Language Models"): a frozen representation x = z W + u of the latent state,
// a min-norm least-squares head predicting the next latent state, and its exact test risk as a
// function of the number of head features p for a fixed number of training sequences n.
//
//   z_1 ~ N(0, I_d),  z_i = z_{i-1} A + eps_i,  eps ~ N(0, (1 - rho^2) I),  A = rho Q (Q orthogonal)
//   x = z_L W + u,  u ~ N(0, sigma_u^2 I_p),  W_ij ~ N(0, 1/d) with nested columns
//   R(B) = tr(B^T Sx B) - 2 tr(B^T Sxy) + tr(Syy),  Sx = W^T W + sigma_u^2 I, Sxy = W^T A, Syy = I.
import { InputError, NumericalError, warn } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { linalg, type Linalg, type Matrix64 } from '../core/linalg/index.js';
import { MAX_REPEATS, assertAllocatable, assertArrayFits, capSize } from '../core/limits.js';
import { Rng } from '../core/rng.js';
import { mean, quantile, std } from '../core/stats.js';
import { firstCols, frobDot, nonNegative, plusDiag, positiveInt, trace } from './util.js';
import { olsGaussianRisk } from './recursion.js';

/** A random d x d orthogonal matrix (modified Gram-Schmidt on a Gaussian matrix, rows orthonormal). */
export function randomOrthogonal(d: number, rng: Rng): Matrix64 {
  const q = rng.fillNormal(new Float64Array(d * d));
  for (let i = 0; i < d; i++) {
    const ri = i * d;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < i; k++) {
        const rk = k * d;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += q[ri + j] * q[rk + j];
        for (let j = 0; j < d; j++) q[ri + j] -= dot * q[rk + j];
      }
    }
    let nrm = 0;
    for (let j = 0; j < d; j++) nrm += q[ri + j] ** 2;
    nrm = Math.sqrt(nrm);
    for (let j = 0; j < d; j++) q[ri + j] /= nrm;
  }
  return { rows: d, cols: d, data: q };
}

export interface HmmOptions {
  /** Latent dimension (default 20). */
  readonly d?: number;
  /** Autocorrelation: A = rho Q (default 0.9). */
  readonly rho?: number;
  /** Position whose representation feeds the head (default 8); the head predicts z_{L+1}. */
  readonly L?: number;
  readonly seed?: number;
}

export class LinearGaussianHMM {
  readonly d: number;
  readonly rho: number;
  readonly L: number;
  readonly A: Matrix64;
  readonly sigmaEps2: number;

  constructor(opts: HmmOptions = {}, private readonly la: Linalg = linalg()) {
    checkOptionKeys(opts, ['d', 'rho', 'L', 'seed'], 'LinearGaussianHMM');
    this.d = positiveInt(opts.d ?? 20, 'd');
    this.rho = opts.rho ?? 0.9;
    if (!(Math.abs(this.rho) < 1)) throw new InputError(`rho must be in (-1, 1) for a stationary chain, got ${this.rho}`);
    this.L = positiveInt(opts.L ?? 8, 'L');
    const Q = randomOrthogonal(this.d, new Rng(opts.seed ?? 0, 'theory/hmm/transition'));
    this.A = { rows: this.d, cols: this.d, data: Q.data.map((v) => this.rho * v) };
    this.sigmaEps2 = 1 - this.rho * this.rho;
  }

  /** n sequences; returns the states at L and L+1 (n x d each). */
  sample(n: number, rng: Rng): { readonly zL: Matrix64; readonly zNext: Matrix64 } {
    const d = this.d;
    let z: Matrix64 = { rows: n, cols: d, data: rng.split('z1').fillNormal(new Float64Array(n * d)) };
    let zL = z;
    const se = Math.sqrt(this.sigmaEps2);
    for (let i = 2; i <= this.L + 1; i++) {
      const next = this.la.gemm(z, this.A);
      const eps = rng.split(`eps${i}`).fillNormal(new Float64Array(n * d), se);
      for (let k = 0; k < next.data.length; k++) next.data[k] += eps[k];
      z = next;
      if (i === this.L) zL = z;
    }
    return { zL, zNext: z };
  }

  /** Risk of predicting 0: E||z_{L+1}||^2 = d. */
  nullRisk(): number { return this.d; }
  /** Risk of the best predictor given z_L: d (1 - rho^2). */
  bayesRisk(): number { return this.d * this.sigmaEps2; }
}

/** The frozen representation: x = z W + u with W (d x P) fixed; the first p columns are the p-feature model. */
export class HmmFeatures {
  constructor(readonly W: Matrix64, readonly sigmaU: number, private readonly la: Linalg = linalg()) {
    nonNegative(sigmaU, 'sigmaU');
  }
  get maxP(): number { return this.W.cols; }

  /** n x P features for states z (n x d); slice columns for smaller p so noise is nested too. */
  features(z: Matrix64, rng: Rng): Matrix64 {
    const x = this.la.gemm(z, this.W);
    if (this.sigmaU > 0) {
      const u = rng.fillNormal(new Float64Array(x.data.length), this.sigmaU);
      for (let i = 0; i < u.length; i++) x.data[i] += u[i];
    }
    return x;
  }

  Wp(p: number): Matrix64 { return firstCols(this.W, p); }
  /** Sx = W_p^T W_p + sigma_u^2 I (p x p). */
  Sx(p: number): Matrix64 { return plusDiag(this.la.syrk(this.Wp(p)), this.sigmaU ** 2); }
  /** Sxy = W_p^T A (p x d). */
  Sxy(p: number, A: Matrix64): Matrix64 { return this.la.gemm(this.Wp(p), A, { transA: true }); }

  /** E_p = d - tr(A^T W_p Sx^{-1} W_p^T A): the best linear predictor's risk from p features. */
  bestLinearRisk(p: number, A: Matrix64): number {
    const d = A.rows;
    if (p === 0) return d;
    const Wp = this.Wp(p);
    let explained: number;
    if (p <= d || this.sigmaU === 0) {
      const Sxy = this.Sxy(p, A);
      explained = frobDot(Sxy, this.la.choleskySolve(this.Sx(p), Sxy));
    } else {
      // Push-through: W Sx^{-1} W^T = M (M + s I)^{-1}, M = W W^T (d x d).
      const M = this.la.gemm(Wp, Wp, { transB: true });
      const C = this.la.choleskySolve(plusDiag(M, this.sigmaU ** 2), A);
      explained = frobDot(A, this.la.gemm(M, C));
    }
    return d - explained;
  }
}

/** W with i.i.d. N(0, 1/d) entries, d x P. */
export function hmmFeatureMatrix(d: number, P: number, rng: Rng): Matrix64 {
  return { rows: d, cols: P, data: rng.fillNormal(new Float64Array(d * P), 1 / Math.sqrt(d)) };
}

export function hmmFeatures(W: Matrix64, sigmaU: number, la: Linalg = linalg()): HmmFeatures {
  return new HmmFeatures(W, sigmaU, la);
}

export interface MinNormHeadOptions {
  /** Eigenvalues of the smaller Gram below cutoff * largest are dropped (eigh path). Default 1e-12. */
  readonly cutoff?: number;
  /** 'auto': Cholesky away from p = n (|p - n| > nearBand), eigh pseudo-inverse near it. */
  readonly solver?: 'auto' | 'cholesky' | 'eigh';
  readonly nearBand?: number;
}

export interface MinNormHead {
  /** p x k coefficients. */
  readonly B: Matrix64;
  readonly solver: 'cholesky-primal' | 'cholesky-dual' | 'eigh';
  readonly cutoff: number;
  /** Eigen-directions dropped by the cutoff (eigh path). */
  readonly dropped: number;
}

/** B = X^+ Y: least squares for p < n, minimum-norm interpolation for p > n. */
export function minNormHead(X: Matrix64, Y: Matrix64, opts: MinNormHeadOptions = {}, la: Linalg = linalg()): MinNormHead {
  checkOptionKeys(opts, ['cutoff', 'solver', 'nearBand'], 'minNormHead');
  if (X.rows !== Y.rows) throw new InputError(`minNormHead: X has ${X.rows} rows, Y has ${Y.rows}`);
  const n = X.rows, p = X.cols;
  const cutoff = opts.cutoff ?? 1e-12;
  const solver = opts.solver ?? 'auto';
  const near = Math.abs(p - n) <= (opts.nearBand ?? 2);
  const primal = p <= n;
  if (solver === 'cholesky' || (solver === 'auto' && !near)) {
    try {
      if (primal) return { B: la.choleskySolve(la.syrk(X), la.gemm(X, Y, { transA: true })), solver: 'cholesky-primal', cutoff: 0, dropped: 0 };
      const a = la.choleskySolve(la.gemm(X, X, { transB: true }), Y);
      return { B: la.gemm(X, a, { transA: true }), solver: 'cholesky-dual', cutoff: 0, dropped: 0 };
    } catch (e) {
      if (!(e instanceof NumericalError) || solver === 'cholesky') throw e;
      warn('theory-head-eigh', `minNormHead: Cholesky failed at p=${p}, n=${n}; using the eigh pseudo-inverse (cutoff ${cutoff})`, { once: true });
    }
  }
  // Pseudo-inverse through the eigendecomposition of the smaller Gram.
  const G = primal ? la.syrk(X) : la.gemm(X, X, { transB: true });
  const { values, vectors } = la.eigh(G, { vectors: true });
  const V = vectors!;
  const m = G.rows;
  const top = values[m - 1];
  let dropped = 0;
  const inv = Float64Array.from(values, (s) => {
    if (s > cutoff * top && s > 0) return 1 / s;
    dropped++;
    return 0;
  });
  const scaleCols = (M: Matrix64): Matrix64 => {
    const out = new Float64Array(M.data.length);
    for (let i = 0; i < M.rows; i++) for (let j = 0; j < M.cols; j++) out[i * M.cols + j] = M.data[i * M.cols + j] * inv[j];
    return { rows: M.rows, cols: M.cols, data: out };
  };
  const Ginv = la.gemm(scaleCols(V), V, { transB: true });
  const B = primal ? la.gemm(Ginv, la.gemm(X, Y, { transA: true })) : la.gemm(X, la.gemm(Ginv, Y), { transA: true });
  return { B, solver: 'eigh', cutoff, dropped };
}

/** R(B) = tr(B^T Sx B) - 2 tr(B^T Sxy) + tr(Syy); Syy may be given as its trace. */
export function exactHeadRisk(B: Matrix64, Sx: Matrix64, Sxy: Matrix64, Syy: Matrix64 | number, la: Linalg = linalg()): number {
  if (Sx.rows !== B.rows || Sxy.rows !== B.rows || Sxy.cols !== B.cols) throw new InputError(`exactHeadRisk: B ${B.rows}x${B.cols}, Sx ${Sx.rows}x${Sx.cols}, Sxy ${Sxy.rows}x${Sxy.cols} do not agree`);
  const trYY = typeof Syy === 'number' ? Syy : trace(Syy);
  return frobDot(B, la.gemm(Sx, B)) - 2 * frobDot(B, Sxy) + trYY;
}

/** The same risk without forming p x p matrices: ||W_p B||^2 + s^2 ||B||^2 - 2 tr((W_p B)^T A) + d. */
export function headRiskFactored(B: Matrix64, feats: HmmFeatures, A: Matrix64, la: Linalg = linalg()): number {
  const WB = la.gemm(feats.Wp(B.rows), B);
  return frobDot(WB, WB) + feats.sigmaU ** 2 * frobDot(B, B) - 2 * frobDot(WB, A) + A.rows;
}

export interface RiskCurveOptions {
  readonly n: number;
  readonly ps: readonly number[];
  readonly repeats: number;
  readonly sigmaU: number;
  readonly d?: number;
  readonly rho?: number;
  readonly L?: number;
  readonly seed?: number;
  readonly cutoff?: number;
  readonly onRepeat?: (done: number) => void;
}
const CURVE_KEYS = ['n', 'ps', 'repeats', 'sigmaU', 'd', 'rho', 'L', 'seed', 'cutoff', 'onRepeat'];

export interface RiskCurve {
  readonly n: number;
  readonly p: number[];
  readonly risk_median: number[];
  readonly risk_q25: number[];
  readonly risk_q75: number[];
  readonly risk_mean: number[];
  readonly risk_se: number[];
  /** E_p (n-1)/(n-p-1) for p <= n-2 (same W and A), else null. */
  readonly closed_form: (number | null)[];
  /** Which solver each p used (eigh near p = n). */
  readonly solver: string[];
  readonly null_risk: number;
  readonly bayes_risk: number;
  readonly sigma_u: number;
  /** The weak-features test: first-feature gain E_0/E_1 - 1 against 1/(n-2). */
  readonly weak_features: { readonly gain: number; readonly threshold: number; readonly predicts_monotone_rise: boolean };
  /** Per-repeat risks (repeats x p), for tests and plots. */
  readonly risks: number[][];
}

/** Most head sizes one curve may have, and the deepest chain position: both bound time only. */
export const MAX_HEAD_SIZES = 10_000;
export const MAX_CHAIN_POSITION = 100_000;

/**
 * Bytes riskCurve holds at its peak: W (d x P), the features with their noise and one column
 * slice (n x P each), the smaller Gram with its eigenvectors, pseudo-inverse and scaled copy
 * (m x m, m = min(n, P)), the head and W_p B (P x d), the chain states, and the per-repeat risks.
 */
export function riskCurveBytes(n: number, P: number, nPs: number, repeats: number, d: number): number {
  const m = Math.min(n, P);
  return 8 * (d * P + 4 * n * P + 4 * m * m + 3 * P * d + 4 * n * d + 3 * d * d) + 16 * repeats * nPs;
}

/** Refuse sizes that would not fit (or not finish) before anything is allocated. */
export function checkRiskCurveSize(n: number, ps: readonly number[], repeats: number, d: number, L: number, where: string): void {
  capSize('repeats', repeats, MAX_REPEATS, where);
  capSize('head sizes (p values)', ps.length, MAX_HEAD_SIZES, where);
  capSize('L', L, MAX_CHAIN_POSITION, where);
  if (!ps.length || !ps.every((p) => Number.isInteger(p) && p >= 1) || !(n >= 1) || !(d >= 1)) return; // the callers' own checks name these
  const P = Math.max(...ps);
  assertArrayFits(n * P, 8, `the n x p features (n = ${n}, largest p = ${P})`, where);
  assertArrayFits(d * P, 8, `the d x p feature map (d = ${d}, largest p = ${P})`, where);
  assertArrayFits(d * d, 8, `the d x d transition (d = ${d})`, where);
  assertAllocatable(riskCurveBytes(n, P, ps.length, repeats, d), `n = ${n}, largest p = ${P}, d = ${d}, ${repeats} repeats`, where);
}

/**
 * Risk against p for a fixed n. The chain (A) and the feature map (W, nested columns) are drawn
 * once from the seed; each repeat draws a fresh training set (latent chains and feature noise,
 * nested across p), so every p sees the same data and the curve is paired across p.
 */
export function riskCurve(opts: RiskCurveOptions, la: Linalg = linalg()): RiskCurve {
  checkOptionKeys(opts, CURVE_KEYS, 'riskCurve');
  const n = positiveInt(opts.n, 'n');
  const repeats = positiveInt(opts.repeats, 'repeats');
  if (opts.ps.length === 0) throw new InputError('riskCurve: no p values');
  opts.ps.forEach((p, i) => positiveInt(p, `ps[${i}]`));
  checkRiskCurveSize(n, opts.ps, repeats, opts.d ?? 20, opts.L ?? 8, 'riskCurve');
  const seed = opts.seed ?? 0;
  const hmm = new LinearGaussianHMM({ d: opts.d, rho: opts.rho, L: opts.L, seed }, la);
  const P = Math.max(...opts.ps);
  const feats = hmmFeatures(hmmFeatureMatrix(hmm.d, P, new Rng(seed, 'theory/hmm/W')), opts.sigmaU, la);
  const risks: number[][] = [];
  const solver: string[] = opts.ps.map(() => '');
  for (let r = 0; r < repeats; r++) {
    const rr = new Rng(seed, `theory/hmm/repeat${r}`);
    const { zL, zNext } = hmm.sample(n, rr.split('chain'));
    const Xfull = feats.features(zL, rr.split('u'));
    risks.push(opts.ps.map((p, i) => {
      const head = minNormHead(firstCols(Xfull, p), zNext, { cutoff: opts.cutoff }, la);
      solver[i] = head.solver;
      return headRiskFactored(head.B, feats, hmm.A, la);
    }));
    opts.onRepeat?.(r + 1);
  }
  const col = (i: number): number[] => risks.map((row) => row[i]);
  const E0 = hmm.d, E1 = feats.bestLinearRisk(1, hmm.A);
  const gain = E0 / E1 - 1, threshold = 1 / (n - 2);
  return {
    n,
    p: [...opts.ps],
    risk_median: opts.ps.map((_, i) => quantile(col(i), 0.5)),
    risk_q25: opts.ps.map((_, i) => quantile(col(i), 0.25)),
    risk_q75: opts.ps.map((_, i) => quantile(col(i), 0.75)),
    risk_mean: opts.ps.map((_, i) => mean(col(i))),
    risk_se: opts.ps.map((_, i) => std(col(i)) / Math.sqrt(repeats)),
    closed_form: opts.ps.map((p) => (p <= n - 2 ? olsGaussianRisk(feats.bestLinearRisk(p, hmm.A), p, n) : null)),
    solver,
    null_risk: hmm.nullRisk(),
    bayes_risk: hmm.bayesRisk(),
    sigma_u: opts.sigmaU,
    weak_features: { gain, threshold, predicts_monotone_rise: gain < threshold },
    risks,
  };
}
