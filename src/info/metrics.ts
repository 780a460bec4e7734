// Matrix information metrics in float64: cosine Gram, matrix (von Neumann / Renyi) entropy,
// matrix mutual information via the Hadamard product of Grams, MIR, HDR and effective rank.
// Eigenvalues come from core/linalg; the d < n covariance route and the Khatri-Rao route for
// Hadamard products are picked by cost (they share the nonzero spectrum of the direct route).
import { InputError } from '../core/errors.js';
import { assertAllocatable } from '../core/limits.js';
import { checkOptionKeys } from '../core/options.js';
import { linalg, type Linalg, type Matrix, type Matrix64 } from '../core/linalg/index.js';

export type LogBase = 'e' | 2 | 10 | number;

export interface EntropyOptions {
  /** Renyi order; 1 (default) is von Neumann. |alpha - 1| < 1e-8 is treated as exactly 1. */
  readonly alpha?: number;
  /** Logarithm base (default e). Ratios (MIR, HDR) do not depend on it. */
  readonly base?: LogBase;
  /** Normalised eigenvalues at or below eps count as zero (default 1e-15). */
  readonly eps?: number;
}

export interface FeatureOptions extends EntropyOptions {
  /** Subtract the column means before row-normalising (default false). Changes the values: record it. */
  readonly center?: boolean;
  /** Force a route instead of choosing by cost (tests and benchmarks). */
  readonly route?: 'auto' | 'gram' | 'covariance';
  readonly linalg?: Linalg;
}

const ENTROPY_KEYS = ['alpha', 'base', 'eps'] as const;
const FEATURE_KEYS = [...ENTROPY_KEYS, 'center', 'route', 'linalg'] as const;

function checkAlpha(alpha: number): void {
  if (!Number.isFinite(alpha) || alpha <= 0) throw new InputError(`alpha must be a positive finite number, got ${alpha}`);
}

function logBase(base: LogBase | undefined): number {
  if (base === undefined || base === 'e') return 1;
  if (typeof base !== 'number' || !(base > 0) || base === 1) throw new InputError(`base must be 'e' or a positive number other than 1, got ${String(base)}`);
  return Math.log(base);
}

/**
 * Multiplies a[from..to) by 2^-e, e the exponent of the largest |value|, when that is far from 1:
 * exact (powers of two round nothing), and afterwards squares neither underflow (1e-300) nor
 * overflow (1e300). Two steps, as 2^-e alone is not a double for subnormal maxima.
 */
function rescaleExact(a: Float64Array, from: number, to: number, maxAbs: number): void {
  if (!(maxAbs > 0) || (maxAbs > 2 ** -200 && maxAbs < 2 ** 200)) return;
  const e = Math.ceil(Math.log2(maxAbs));
  const g1 = 2 ** Math.trunc(-e / 2), g2 = 2 ** (-e - Math.trunc(-e / 2));
  for (let i = from; i < to; i++) a[i] = a[i] * g1 * g2;
}

/** Row-normalised (and optionally centred) copy of Z in float64; zero rows are an error. */
export function normalizeRows(Z: Matrix, opts: { center?: boolean } = {}): Matrix64 {
  const { rows: n, cols: d } = Z;
  if (n === 0 || d === 0) throw new InputError(`feature matrix is empty (${n}x${d})`);
  const out = Float64Array.from(Z.data);
  let maxAll = 0;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (!Number.isFinite(v)) throw new InputError(`feature matrix has a non-finite value at row ${Math.floor(i / d)}, column ${i % d}`);
    if (Math.abs(v) > maxAll) maxAll = Math.abs(v);
  }
  if (opts.center) {
    // Cosines do not depend on a common scale; scaling first keeps the column sums finite.
    rescaleExact(out, 0, out.length, maxAll);
    const mu = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += out[i * d + j];
    for (let j = 0; j < d; j++) mu[j] /= n;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] -= mu[j];
  }
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < d; j++) m = Math.max(m, Math.abs(out[i * d + j]));
    if (!(m > 0)) throw new InputError(`row ${i} has zero norm${opts.center ? ' after centring' : ''}; the cosine Gram is undefined`);
    // Per row, so a row of 1e-300 beside rows of 1 is normalised too.
    rescaleExact(out, i * d, (i + 1) * d, m);
    let s = 0;
    for (let j = 0; j < d; j++) s += out[i * d + j] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) out[i * d + j] *= inv;
  }
  return { rows: n, cols: d, data: out };
}

/** G(Z)_ij = cos(z_i, z_j): the Gram of the row-normalised features (n x n, unit diagonal). */
export function cosineGram(Z: Matrix, opts: { center?: boolean; linalg?: Linalg } = {}): Matrix64 {
  checkOptionKeys(opts, ['center', 'linalg'], 'cosineGram');
  const Zh = normalizeRows(Z, opts);
  const G = (opts.linalg ?? linalg()).gemm(Zh, Zh, { transB: true });
  symmetrizeInPlace(G);
  return G;
}

function symmetrizeInPlace(K: Matrix64): void {
  const n = K.rows, a = K.data;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
    const v = 0.5 * (a[i * n + j] + a[j * n + i]);
    a[i * n + j] = v;
    a[j * n + i] = v;
  }
}

function toF64(M: Matrix): Matrix64 {
  return M.data instanceof Float64Array ? (M as Matrix64) : { rows: M.rows, cols: M.cols, data: Float64Array.from(M.data) };
}

function trace(K: Matrix64): number {
  let t = 0;
  for (let i = 0; i < K.rows; i++) t += K.data[i * K.cols + i];
  return t;
}

/**
 * The normalised spectrum of a PSD matrix: eigenvalues of sym(K)/tr K, negatives clipped to 0,
 * renormalised to sum 1.
 */
export function normalizedSpectrum(K: Matrix, la: Linalg = linalg()): Float64Array {
  if (K.rows !== K.cols) throw new InputError(`entropy needs a square matrix, got ${K.rows}x${K.cols}`);
  if (K.rows === 0) throw new InputError('entropy of an empty matrix');
  const n = K.rows;
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const v = 0.5 * (K.data[i * n + j] + K.data[j * n + i]);
    if (!Number.isFinite(v)) throw new InputError(`matrix has a non-finite entry at (${i}, ${j})`);
    S[i * n + j] = v;
  }
  const M: Matrix64 = { rows: n, cols: n, data: S };
  // Entries of 1e-300 or 1e300 would make the trace 0 or Infinity: bring them near 1 exactly first.
  let maxAbs = 0;
  for (let i = 0; i < S.length; i++) maxAbs = Math.max(maxAbs, Math.abs(S[i]));
  const tr0 = trace(M);
  rescaleExact(S, 0, S.length, maxAbs);
  const tr = trace(M);
  if (!(tr > 0)) throw new InputError(`matrix trace is ${tr0}; entropy needs a PSD matrix with positive trace`);
  for (let i = 0; i < S.length; i++) S[i] /= tr;
  return clipRenormalize(la.eigh(M).values);
}

/**
 * The normalised spectrum of a matrix this module built itself as a Gram (syrk / gemm with its own
 * transpose / Hadamard of such): symmetric by construction, so it is scaled by 1/trace in place
 * and handed to eigh (which reads the lower triangle) without a symmetrising copy.
 */
function ownGramSpectrum(M: Matrix64, la: Linalg): Float64Array {
  const tr = trace(M);
  if (!(tr > 0) || !Number.isFinite(tr)) throw new InputError(`Gram trace is ${tr}; entropy needs a positive trace`);
  const inv = 1 / tr, a = M.data;
  for (let i = 0; i < a.length; i++) a[i] *= inv;
  return clipRenormalize(la.eigh(M).values);
}

function clipRenormalize(values: Float64Array): Float64Array {
  const mu = Float64Array.from(values, (v) => (v > 0 ? v : 0));
  let s = 0;
  for (const v of mu) s += v;
  if (!(s > 0)) throw new InputError('matrix has no positive eigenvalue');
  for (let i = 0; i < mu.length; i++) mu[i] /= s;
  return mu;
}

/** Entropy of a normalised spectrum (sums to 1): von Neumann for alpha = 1, else Renyi. */
export function spectrumEntropy(mu: ArrayLike<number>, opts: EntropyOptions = {}): number {
  checkOptionKeys(opts, ENTROPY_KEYS, 'spectrumEntropy');
  const alpha = opts.alpha ?? 1;
  checkAlpha(alpha);
  const eps = opts.eps ?? 1e-15;
  const lb = logBase(opts.base);
  let h: number;
  if (Math.abs(alpha - 1) < 1e-8) {
    h = 0;
    for (let i = 0; i < mu.length; i++) {
      const m = mu[i];
      if (m > eps) h -= m * Math.log(m);
    }
  } else {
    // log sum_i mu_i^alpha by log-sum-exp: for large alpha every mu_i^alpha underflows (alpha =
    // 1000 gave log 0 = -Infinity), for small alpha nothing is lost either.
    let top = -Infinity;
    for (let i = 0; i < mu.length; i++) {
      const m = mu[i];
      if (m > eps) top = Math.max(top, alpha * Math.log(m));
    }
    if (top === -Infinity) throw new InputError('spectrum has no eigenvalue above eps');
    let s = 0;
    for (let i = 0; i < mu.length; i++) {
      const m = mu[i];
      if (m > eps) s += Math.exp(alpha * Math.log(m) - top);
    }
    h = (top + Math.log(s)) / (1 - alpha);
  }
  // Roundoff can leave -1e-16 for a rank-one matrix; entropy is nonnegative.
  return Math.max(0, h) / lb;
}

/** H(K) for a PSD matrix K (any trace): eigenvalues of K / tr K. */
export function matrixEntropy(K: Matrix, opts: EntropyOptions & { linalg?: Linalg } = {}): number {
  checkOptionKeys(opts, [...ENTROPY_KEYS, 'linalg'], 'matrixEntropy');
  const { linalg: la, ...rest } = opts;
  return spectrumEntropy(normalizedSpectrum(K, la), rest);
}

/** exp(von Neumann entropy): the effective rank of Roy and Vetterli (2007). */
export function effectiveRank(K: Matrix, opts: { linalg?: Linalg } = {}): number {
  return Math.exp(matrixEntropy(K, { linalg: opts.linalg }));
}

/** Effective rank of the features' cosine Gram. */
export function effectiveRankFromFeatures(Z: Matrix, opts: { center?: boolean; linalg?: Linalg } = {}): number {
  return Math.exp(entropyFromFeatures(Z, { center: opts.center, linalg: opts.linalg }));
}

/**
 * The normalised spectrum of G(Z) from unit rows Zh: the d x d route ZhᵀZh / n when d < n (same
 * nonzero eigenvalues), else the n x n Gram.
 */
export function featureSpectrum(Zh: Matrix64, route: 'auto' | 'gram' | 'covariance' = 'auto', la: Linalg = linalg()): Float64Array {
  const { rows: n, cols: d } = Zh;
  const useCov = route === 'covariance' || (route === 'auto' && d < n);
  const M = useCov ? la.syrk(Zh) : la.gemm(Zh, Zh, { transB: true });
  return ownGramSpectrum(toF64(M), la);
}

/** H(G(Z)) from features (rows = samples); takes the d x d route when d < n. */
export function entropyFromFeatures(Z: Matrix, opts: FeatureOptions = {}): number {
  checkOptionKeys(opts, FEATURE_KEYS, 'entropyFromFeatures');
  const Zh = normalizeRows(Z, opts);
  return spectrumEntropy(featureSpectrum(Zh, opts.route, opts.linalg), pickEntropy(opts));
}

function pickEntropy(opts: EntropyOptions): EntropyOptions {
  return { alpha: opts.alpha, base: opts.base, eps: opts.eps };
}

/** Row-wise Kronecker (Khatri-Rao) product of unit-row matrices: n x (d1 d2), unit rows. */
export function khatriRao(A: Matrix64, B: Matrix64): Matrix64 {
  if (A.rows !== B.rows) throw new InputError(`Khatri-Rao needs the same rows, got ${A.rows} and ${B.rows}`);
  const n = A.rows, p = A.cols, q = B.cols;
  const out = new Float64Array(n * p * q);
  for (let i = 0; i < n; i++) {
    const o = i * p * q;
    for (let a = 0; a < p; a++) {
      const v = A.data[i * p + a];
      for (let b = 0; b < q; b++) out[o + a * q + b] = v * B.data[i * q + b];
    }
  }
  return { rows: n, cols: p * q, data: out };
}

/** Hadamard product of two same-shape matrices. */
export function hadamard(A: Matrix, B: Matrix): Matrix64 {
  if (A.rows !== B.rows || A.cols !== B.cols) throw new InputError(`Hadamard product needs equal shapes, got ${A.rows}x${A.cols} and ${B.rows}x${B.cols}`);
  const out = new Float64Array(A.data.length);
  for (let i = 0; i < out.length; i++) out[i] = A.data[i] * B.data[i];
  return { rows: A.rows, cols: A.cols, data: out };
}

/** Which route the joint entropy takes for n samples of dimensions d1, d2 (cheapest by flops). */
export function jointRoute(n: number, d1: number, d2: number): 'khatri-rao' | 'gram' {
  const k = d1 * d2;
  const kr = n * k * k + k * k * k * 4;
  const direct = n * n * (d1 + d2) + 4 * n * n * n;
  return k < n && kr < direct ? 'khatri-rao' : 'gram';
}

/** H(G(Z1) ⊙ G(Z2)), via the Khatri-Rao covariance when that is cheaper. */
export function jointEntropyFromFeatures(Z1: Matrix, Z2: Matrix, opts: FeatureOptions & { joint?: 'auto' | 'khatri-rao' | 'gram' } = {}): number {
  checkOptionKeys(opts, [...FEATURE_KEYS, 'joint'], 'jointEntropyFromFeatures');
  if (Z1.rows !== Z2.rows) throw new InputError(`X has ${Z1.rows} rows and Y has ${Z2.rows}; they must have the same samples`);
  const A = normalizeRows(Z1, opts), B = normalizeRows(Z2, opts);
  return jointEntropyNormalized(A, B, opts);
}

function jointEntropyNormalized(A: Matrix64, B: Matrix64, opts: FeatureOptions & { joint?: 'auto' | 'khatri-rao' | 'gram' }): number {
  const la = opts.linalg ?? linalg();
  const route = opts.joint && opts.joint !== 'auto' ? opts.joint : jointRoute(A.rows, A.cols, B.cols);
  let mu: Float64Array;
  if (route === 'khatri-rao') mu = ownGramSpectrum(toF64(la.syrk(khatriRao(A, B))), la);
  else {
    const K1 = toF64(la.gemm(A, A, { transB: true }));
    const K2 = la.gemm(B, B, { transB: true });
    // Hadamard product in place into K1 (both are fresh Grams owned here).
    for (let i = 0; i < K1.data.length; i++) K1.data[i] *= K2.data[i];
    mu = ownGramSpectrum(K1, la);
  }
  return spectrumEntropy(mu, pickEntropy(opts));
}

/** MI(K1, K2) = H(K1) + H(K2) - H(K1 ⊙ K2) for two Gram matrices over the same samples. */
export function mutualInformation(K1: Matrix, K2: Matrix, opts: EntropyOptions & { linalg?: Linalg } = {}): number {
  return measureGrams(K1, K2, opts).mi;
}

/** MIR = MI / min(H1, H2); NaN when min(H1, H2) is 0 (never a silent 0). */
export function mir(K1: Matrix, K2: Matrix, opts: EntropyOptions & { linalg?: Linalg } = {}): number {
  return measureGrams(K1, K2, opts).mir;
}

/** HDR = |H1 - H2| / max(H1, H2); NaN when both entropies are 0. */
export function hdr(K1: Matrix, K2: Matrix, opts: EntropyOptions & { linalg?: Linalg } = {}): number {
  return measureGrams(K1, K2, opts).hdr;
}

/** Entropies at or below this are treated as zero by the ratio guards (roundoff of H(11ᵀ) is ~1e-15). */
export const ZERO_ENTROPY = 1e-12;

export function ratios(h1: number, h2: number, hJoint: number): { mi: number; mir: number; hdr: number } {
  const mi = h1 + h2 - hJoint;
  const lo = Math.min(h1, h2), hi = Math.max(h1, h2);
  return {
    mi,
    mir: lo > ZERO_ENTROPY ? mi / lo : NaN,
    hdr: hi > ZERO_ENTROPY ? Math.abs(h1 - h2) / hi : NaN,
  };
}

/**
 * Why MIR or HDR is undefined (NaN) for these entropies, keyed by metric; empty when both are
 * defined. Records carry this beside the null, so a reader knows it is 0/0 and not a failure.
 */
export function ratioReasons(h1: number, h2: number, names: readonly [string, string] = ['X', 'Y']): Record<string, string> {
  const out: Record<string, string> = {};
  const zeros = [h1, h2].map((h, i) => (h > ZERO_ENTROPY ? null : names[i])).filter((x): x is string => x !== null);
  if (zeros.length === 0) return out;
  const which = `H(${zeros.join(') = H(')}) = 0: every row of ${zeros.join(' and of ')} points the same way (duplicate or parallel rows, or a single row)`;
  out.mir = `${which}; MIR = MI / min(H(${names[0]}), H(${names[1]})) is 0/0`;
  if (zeros.length === 2) out.hdr = `${which}; HDR = |H(${names[0]}) - H(${names[1]})| / max(H(${names[0]}), H(${names[1]})) is 0/0`;
  return out;
}

export interface InfoMeasure {
  readonly n: number;
  readonly alpha: number;
  readonly entropy_x: number;
  readonly entropy_y?: number;
  readonly entropy_joint?: number;
  readonly mi?: number;
  readonly mir?: number;
  readonly hdr?: number;
  /** Why a ratio is NaN (see ratioReasons); only when Y is given and a ratio is undefined. */
  readonly reasons?: Record<string, string>;
}

/** All quantities for two Gram matrices. */
export function measureGrams(K1: Matrix, K2: Matrix, opts: EntropyOptions & { linalg?: Linalg } = {}): Required<InfoMeasure> {
  checkOptionKeys(opts, [...ENTROPY_KEYS, 'linalg'], 'measureGrams');
  if (K1.rows !== K2.rows || K1.cols !== K2.cols) throw new InputError(`Gram matrices differ in shape: ${K1.rows}x${K1.cols} and ${K2.rows}x${K2.cols}`);
  const { linalg: la, ...eo } = opts;
  const h1 = matrixEntropy(K1, { ...eo, linalg: la });
  const h2 = matrixEntropy(K2, { ...eo, linalg: la });
  const hj = matrixEntropy(hadamard(K1, K2), { ...eo, linalg: la });
  return { n: K1.rows, alpha: eo.alpha ?? 1, entropy_x: h1, entropy_y: h2, entropy_joint: hj, ...ratios(h1, h2, hj), reasons: ratioReasons(h1, h2) };
}

/**
 * Bytes measureFeatures holds at its peak for n rows of dimensions dx (and dy, 0 for X alone):
 * the normalised copies, each side's Gram or covariance (with eigh's workspace) and the joint
 * route's matrix (Khatri-Rao rows and their covariance, or two n x n Grams).
 */
export function measureBytes(n: number, dx: number, dy: number): number {
  const side = (d: number): number => (d === 0 ? 0 : 2 * n * d + 3 * Math.min(n, d) ** 2);
  let joint = 0;
  if (dy > 0) {
    const k = dx * dy;
    joint = jointRoute(n, dx, dy) === 'khatri-rao' ? n * k + 3 * k * k : 4 * n * n;
  }
  return 8 * (side(dx) + side(dy) + joint);
}

/**
 * Entropies, MI, MIR and HDR of the cosine Grams of X (and Y when given), from features; every
 * step takes the cheapest route with the same spectrum. This is what `perennial info measure` runs.
 */
export function measureFeatures(X: Matrix, Y?: Matrix, opts: FeatureOptions & { joint?: 'auto' | 'khatri-rao' | 'gram' } = {}): InfoMeasure {
  checkOptionKeys(opts, [...FEATURE_KEYS, 'joint'], 'measureFeatures');
  // An n x n Gram of 10^5 rows is 80 GB: refuse before the eigensolver runs out of memory.
  assertAllocatable(measureBytes(X.rows, X.cols, Y ? Y.cols : 0), `the Grams of ${X.rows} rows (dimensions ${X.cols}${Y ? ` and ${Y.cols}` : ''})`, 'info measure');
  const la = opts.linalg ?? linalg();
  const eo = pickEntropy(opts);
  const A = normalizeRows(X, opts);
  const hx = spectrumEntropy(featureSpectrum(A, opts.route, la), eo);
  const alpha = opts.alpha ?? 1;
  if (!Y) return { n: X.rows, alpha, entropy_x: hx };
  if (X.rows !== Y.rows) throw new InputError(`X has ${X.rows} rows and Y has ${Y.rows}; they must have the same samples`);
  const B = normalizeRows(Y, opts);
  const hy = spectrumEntropy(featureSpectrum(B, opts.route, la), eo);
  const hj = jointEntropyNormalized(A, B, { ...opts, linalg: la });
  const reasons = ratioReasons(hx, hy);
  return { n: X.rows, alpha, entropy_x: hx, entropy_y: hy, entropy_joint: hj, ...ratios(hx, hy, hj), ...(Object.keys(reasons).length ? { reasons } : {}) };
}

/** MIR and HDR between features and the label-selected rows of a head W (C x d): the papers' measurement. */
export function featureHeadInfo(features: Matrix, labels: ArrayLike<number>, W: Matrix, opts: FeatureOptions = {}): { mir: number; hdr: number; mi: number; entropy_features: number; entropy_head: number } {
  if (labels.length !== features.rows) throw new InputError(`${labels.length} labels for ${features.rows} feature rows`);
  const d = W.cols;
  if (features.cols !== d) throw new InputError(`features have ${features.cols} columns, head rows have ${d}`);
  const V = new Float64Array(labels.length * d);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!(y >= 0 && y < W.rows)) throw new InputError(`label ${y} at row ${i} is outside the head's ${W.rows} classes`);
    for (let j = 0; j < d; j++) V[i * d + j] = W.data[y * d + j];
  }
  const m = measureFeatures(features, { rows: labels.length, cols: d, data: V }, opts);
  return { mir: m.mir!, hdr: m.hdr!, mi: m.mi!, entropy_features: m.entropy_x, entropy_head: m.entropy_y! };
}
