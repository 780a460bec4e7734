// Closed forms for continual linear regression and min-norm least squares.
//
// Per-direction error recursion (commuting covariances, fixed design; gamma = eigenvalue of
// Sigma_hat_t along u_j, lambda = matching eigenvalue of H_t):
//   e_j^(t) = (lambda/(lambda+gamma))^2 e_j^(t-1) + sigma^2 gamma / (n_t (lambda+gamma)^2),
//   e_j^(0) = (u_j^T w*)^2, total error sum_j e_j^(t).
// The optimal lambda_j^(t) = sigma^2 / (n_t e_j^(t-1)) makes precisions add:
//   1/e^(t) = 1/e^(t-1) + n_t gamma / sigma^2,  so  L_t = sum_j sigma^2 / (sigma^2/e_j^(0) + sum_{tau<=t} n_tau gamma_j^(tau)).
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { linalg, type Linalg, type Matrix64 } from '../core/linalg/index.js';
import { nonNegative } from './util.js';

export interface RecursionInput {
  /** gammas[t][j]: eigenvalue of Sigma_hat_{t+1} along direction j (T x p). */
  readonly gammas: readonly (readonly number[] | Float64Array)[];
  /** lambdas[t][j]: eigenvalue of H_{t+1} along direction j (T x p). */
  readonly lambdas: readonly (readonly number[] | Float64Array)[];
  /** e0[j] = (u_j^T w*)^2. */
  readonly e0: readonly number[] | Float64Array;
  readonly sigma2: number;
  /** Rows per task: one number or one per task. */
  readonly n: number | readonly number[];
}

export interface RecursionResult {
  /** Total error sum_j e_j^(t), t = 1..T. */
  readonly total: number[];
  /** Per-direction errors e_j^(t) (T x p). */
  readonly perDirection: Float64Array[];
}

function sizesOf(n: number | readonly number[], T: number): number[] {
  const s = typeof n === 'number' ? Array.from({ length: T }, () => n) : [...n];
  if (s.length !== T) throw new InputError(`n lists ${s.length} sizes for ${T} tasks`);
  return s;
}

/** One direction's update. gamma = 0 with lambda > 0, lambda = gamma = 0, and lambda = Infinity all keep e. */
export function recursionStep(e: number, gamma: number, lambda: number, sigma2: number, n: number): number {
  if (lambda === Infinity) return e; // an infinite penalty keeps the previous estimate
  const s = lambda + gamma;
  if (s === 0) return e;
  return (lambda / s) ** 2 * e + (sigma2 * gamma) / (n * s * s);
}

export function errorRecursion(input: RecursionInput): RecursionResult {
  checkOptionKeys(input, ['gammas', 'lambdas', 'e0', 'sigma2', 'n'], 'errorRecursion');
  const T = input.gammas.length;
  if (input.lambdas.length !== T) throw new InputError(`errorRecursion: ${T} gamma rows but ${input.lambdas.length} lambda rows`);
  const p = input.e0.length;
  const sigma2 = nonNegative(input.sigma2, 'sigma2');
  const n = sizesOf(input.n, T);
  let e = Float64Array.from(input.e0);
  const perDirection: Float64Array[] = [];
  const total: number[] = [];
  for (let t = 0; t < T; t++) {
    const g = input.gammas[t], l = input.lambdas[t];
    if (g.length !== p || l.length !== p) throw new InputError(`errorRecursion: task ${t + 1} has ${g.length} gammas / ${l.length} lambdas, expected ${p}`);
    const next = new Float64Array(p);
    for (let j = 0; j < p; j++) next[j] = recursionStep(e[j], g[j], l[j], sigma2, n[t]);
    e = next;
    perDirection.push(next);
    total.push(next.reduce((a, b) => a + b, 0));
  }
  return { total, perDirection };
}

/**
 * The optimal per-direction lambdas for every task, lambda_j^(t) = sigma^2 / (n_t e_j^(t-1)), with
 * e^(t-1) itself from the optimal recursion. Returns T x p. A direction with e = 0 gets Infinity.
 */
export function optimalLambda(input: Omit<RecursionInput, 'lambdas'>): Float64Array[] {
  checkOptionKeys(input, ['gammas', 'e0', 'sigma2', 'n'], 'optimalLambda');
  const T = input.gammas.length;
  const n = sizesOf(input.n, T);
  const p = input.e0.length;
  let e = Float64Array.from(input.e0);
  const out: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const lam = new Float64Array(p);
    const next = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      lam[j] = e[j] > 0 ? input.sigma2 / (n[t] * e[j]) : Infinity;
      next[j] = Number.isFinite(lam[j]) ? recursionStep(e[j], input.gammas[t][j], lam[j], input.sigma2, n[t]) : 0;
    }
    out.push(lam);
    e = next;
  }
  return out;
}

/** L_t = sum_j sigma^2 / (sigma^2/e_j^(0) + sum_{tau<=t} n_tau gamma_j^(tau)): the error at the optimal lambdas. */
export function optimalErrorClosedForm(input: Omit<RecursionInput, 'lambdas'>): number[] {
  const T = input.gammas.length;
  const n = sizesOf(input.n, T);
  const p = input.e0.length;
  const prec = Float64Array.from(input.e0, (e) => (e > 0 ? input.sigma2 / e : Infinity));
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let j = 0; j < p; j++) {
      prec[j] += n[t] * input.gammas[t][j];
      s += Number.isFinite(prec[j]) ? input.sigma2 / prec[j] : 0;
    }
    out.push(s);
  }
  return out;
}

/** h(s) = s (1 - eta s)^k / (1 - (1 - eta s)^k); its limit at s = 0 is 1/(k eta). */
export function earlyStoppingEigen(s: number, eta: number, k: number): number {
  const x = eta * s;
  if (Math.abs(x) < 1e-300) return 1 / (k * eta);
  const lg = k * Math.log1p(-x);
  const q = Math.exp(lg);
  return (s * q) / -Math.expm1(lg);
}

/**
 * The GL2 hyperparameter that k gradient steps of size eta from w_{t-1} reproduce:
 * H = S (I - eta S)^k (I - (I - eta S)^k)^{-1} on range(S), 1/(k eta) on null(S) (any positive value
 * there keeps w_{t-1}; this one makes h continuous). PSD when eta s_max < 1.
 */
export function earlyStoppingH(S: Matrix64, eta: number, k: number, la: Linalg = linalg()): Matrix64 {
  if (!(eta > 0) || !Number.isInteger(k) || k < 1) throw new InputError(`earlyStoppingH needs eta > 0 and an integer k >= 1, got eta=${eta}, k=${k}`);
  const { values, vectors } = la.eigh(S, { vectors: true });
  const V = vectors!;
  const p = S.rows;
  const h = Float64Array.from(values, (s) => earlyStoppingEigen(Math.max(0, s), eta, k));
  const VH = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) VH[i * p + j] = V.data[i * p + j] * h[j];
  return la.gemm({ rows: p, cols: p, data: VH }, V, { transB: true });
}

/** E||w_hat - w*||^2 of pooled least squares, isotropic Gaussian design, N > p + 1: sigma^2 p / (N - p - 1). */
export function oracleRiskIsotropic(p: number, N: number, sigma2: number, wStarNorm2 = p): number | null {
  if (N > p + 1) return (sigma2 * p) / (N - p - 1);
  if (N < p - 1) return mnRiskIsotropic(p, N, sigma2, wStarNorm2);
  return null;
}

/** Min-norm interpolation from 0, isotropic Gaussian design, N < p - 1: ||w*||^2 (1 - N/p) + sigma^2 N / (p - N - 1). */
export function mnRiskIsotropic(p: number, N: number, sigma2: number, wStarNorm2: number): number {
  if (!(N < p - 1)) throw new InputError(`mnRiskIsotropic needs N < p - 1, got N=${N}, p=${p}`);
  return wStarNorm2 * (1 - N / p) + (sigma2 * N) / (p - N - 1);
}

export interface BhxOptions {
  readonly p: number;
  readonly n: number;
  /** ||beta_T||^2: signal in the p used features. */
  readonly betaUsed2: number;
  /** ||beta_{T^c}||^2: signal in the unused features (acts as noise). */
  readonly betaUnused2: number;
  readonly sigma2: number;
}

/**
 * Belkin-Hsu-Xu / Hastie et al. test risk of min-norm least squares on p of D isotropic Gaussian
 * features (prediction risk including the noise floor); Infinity for n-1 <= p <= n+1.
 */
export function bhxRisk(o: BhxOptions): number {
  checkOptionKeys(o, ['p', 'n', 'betaUsed2', 'betaUnused2', 'sigma2'], 'bhxRisk');
  const { p, n, betaUsed2, betaUnused2, sigma2 } = o;
  const noise = betaUnused2 + sigma2;
  if (p <= n - 2) return noise * (1 + p / (n - p - 1));
  if (p >= n + 2) return betaUsed2 * (1 - n / p) + noise * (1 + n / (p - n - 1));
  return Infinity;
}

/** Expected risk of OLS on p <= n - 2 jointly Gaussian features: E_p (n - 1) / (n - p - 1). */
export function olsGaussianRisk(E: number, p: number, n: number): number {
  if (!(p <= n - 2)) throw new InputError(`olsGaussianRisk needs p <= n - 2, got p=${p}, n=${n}`);
  return (E * (n - 1)) / (n - p - 1);
}
