// The continual-regression miniature: per-task errors of every estimator, averaged over paired
// repeats (same w*, designs and noise for every method), with standard errors and theory beside.
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { MAX_REPEATS, assertAllocatable, assertArrayFits, capSize } from '../core/limits.js';
import { Rng } from '../core/rng.js';
import { mean, std } from '../core/stats.js';
import { ContinualLinearRegression, pathErrors, taskSizes, taskStream, type ShiftKind } from './clr.js';
import { optimalErrorClosedForm, oracleRiskIsotropic } from './recursion.js';
import { maxAbs, nonNegative, positiveInt } from './util.js';

export interface SimulateOptions {
  readonly p: number;
  readonly n: number | readonly number[];
  readonly T: number;
  readonly sigma2: number;
  readonly shift: ShiftKind;
  readonly repeats: number;
  readonly seed: number;
  /** Continual-ridge lambdas (default 0.01, 0.1, 1, 10). */
  readonly lambdas?: readonly number[];
  readonly shiftCount?: number;
  readonly shiftScale?: number;
  /** Called after each repeat (for progress bars). */
  readonly onRepeat?: (done: number) => void;
}
const SIM_KEYS = ['p', 'n', 'T', 'sigma2', 'shift', 'repeats', 'seed', 'lambdas', 'shiftCount', 'shiftScale', 'onRepeat'];

export interface MethodCurves<V> {
  readonly oracle: V;
  readonly min_norm: V;
  readonly ridge: Record<string, V>;
  readonly gl2_population: V;
  readonly gl2_empirical: V;
}

export interface SimulationResult {
  readonly sigma2: number;
  readonly shift: ShiftKind;
  /** Mean over repeats of ||w_t - w*||^2, t = 1..T. */
  readonly errors: MethodCurves<number[]>;
  /** Standard error of each mean. */
  readonly se: MethodCurves<number[]>;
  readonly theory: {
    /** sigma^2 p/(N-p-1) (N > p+1) or the min-norm form (N < p-1) for isotropic designs; null otherwise. */
    readonly oracle: (number | null)[];
    /** Optimal-lambda recursion at population eigenvalues, sum_j sigma^2/(sigma^2/E w*_j^2 + sum n_tau Sigma_tau,jj), averaged over repeats. */
    readonly gl2_optimal: number[];
  };
  /** Largest |gl2_empirical - oracle| over coordinates, tasks and repeats. */
  readonly gl2_empirical_vs_oracle_max_abs: number;
  readonly repeats: number;
}

export const DEFAULT_LAMBDAS: readonly number[] = [0.01, 0.1, 1, 10];

/** The key a lambda gets in the JSON record ("0.01", "1", "10"). */
export function lambdaKey(l: number): string {
  return String(l);
}

/** Most tasks a stream may have: each task is a step of every method, so this bounds time. */
export const MAX_TASKS = 100_000;

/**
 * Bytes one repeat of simulateCLR holds at its peak, from the allocations in clr.ts: the p x p
 * matrices (the oracle's pooled Gram, the GL2 accumulators, the solve scratch and one cached Gram
 * per task), the designs (with the shifted copy), the n_t x n_t kernels, the stacked rows of the
 * min-norm branch and their Gram, plus the per-repeat result rows kept for the standard errors.
 */
export function simulationBytes(p: number, sizes: readonly number[], repeats: number, lambdas: number): number {
  const T = sizes.length;
  const N = sizes.reduce((a, b) => a + b, 0);
  const n2 = sizes.reduce((a, b) => a + b * b, 0);
  const Nf = Math.min(N, p);
  const doubles = (T + 4) * p * p + 3 * N * p + n2 + Nf * p + 2 * Nf * Nf;
  return 8 * doubles + 16 * repeats * T * (5 + lambdas);
}

/** Refuse sizes whose run would not fit (or would not finish) before anything is allocated. */
export function checkSimulationSize(p: number, sizes: readonly number[], repeats: number, lambdas: number, where = 'theory regression'): void {
  capSize('tasks', sizes.length, MAX_TASKS, where);
  capSize('repeats', repeats, MAX_REPEATS, where);
  const nMax = Math.max(...sizes);
  assertArrayFits(p * p, 8, `a p x p matrix (p = ${p})`, where);
  assertArrayFits(nMax * p, 8, `one task's design (n = ${nMax}, p = ${p})`, where);
  assertAllocatable(simulationBytes(p, sizes, repeats, lambdas), `p = ${p}, ${sizes.length} tasks of up to ${nMax} rows, ${repeats} repeats`, where);
}

export function simulateCLR(opts: SimulateOptions): SimulationResult {
  checkOptionKeys(opts, SIM_KEYS, 'simulateCLR');
  const p = positiveInt(opts.p, 'p');
  const T = positiveInt(opts.T, 'T');
  const repeats = positiveInt(opts.repeats, 'repeats');
  const sigma2 = nonNegative(opts.sigma2, 'sigma2');
  const lambdas = opts.lambdas ?? DEFAULT_LAMBDAS;
  if (lambdas.length === 0) throw new InputError('simulateCLR: lambdas is empty');
  lambdas.forEach((l) => { if (!(l > 0)) throw new InputError(`ridge lambda must be > 0, got ${l}`); });
  capSize('tasks', T, MAX_TASKS, 'simulateCLR');
  const sizes = taskSizes(opts.n, T);
  checkSimulationSize(p, sizes, repeats, lambdas.length, 'simulateCLR');
  const root = new Rng(opts.seed, 'theory/regression');
  type Runs = MethodCurves<number[][]>;
  const runs: Runs = { oracle: [], min_norm: [], ridge: Object.fromEntries(lambdas.map((l) => [lambdaKey(l), []])), gl2_population: [], gl2_empirical: [] };
  const optimal: number[][] = [];
  let maxDiff = 0;
  for (let r = 0; r < repeats; r++) {
    const stream = taskStream({ p, n: sizes, T, sigma2, shift: opts.shift, shiftCount: opts.shiftCount, shiftScale: opts.shiftScale }, root.split(`repeat${r}`));
    const clr = new ContinualLinearRegression(stream.tasks);
    const oracle = clr.oracle();
    const emp = clr.gl2('empirical');
    for (let t = 0; t < T; t++) maxDiff = Math.max(maxDiff, maxAbs(oracle[t], emp[t]));
    runs.oracle.push(pathErrors(oracle, stream.wStar));
    runs.gl2_empirical.push(pathErrors(emp, stream.wStar));
    runs.min_norm.push(pathErrors(clr.mn(), stream.wStar));
    for (const l of lambdas) runs.ridge[lambdaKey(l)].push(pathErrors(clr.crr(l), stream.wStar));
    runs.gl2_population.push(pathErrors(clr.gl2('population'), stream.wStar));
    // Population-eigenvalue optimum: w* ~ N(0, I) so E (u_j^T w*)^2 = 1.
    optimal.push(optimalErrorClosedForm({
      gammas: stream.tasks.map((k) => k.cov as Float64Array),
      e0: new Float64Array(p).fill(1), sigma2, n: sizes,
    }));
    opts.onRepeat?.(r + 1);
  }
  const meanCurve = (xs: number[][]): number[] => Array.from({ length: T }, (_, t) => mean(xs.map((x) => x[t])));
  const seCurve = (xs: number[][]): number[] => Array.from({ length: T }, (_, t) => std(xs.map((x) => x[t])) / Math.sqrt(xs.length));
  const summarise = (f: (xs: number[][]) => number[]): MethodCurves<number[]> => ({
    oracle: f(runs.oracle),
    min_norm: f(runs.min_norm),
    ridge: Object.fromEntries(Object.entries(runs.ridge).map(([k, v]) => [k, f(v)])),
    gl2_population: f(runs.gl2_population),
    gl2_empirical: f(runs.gl2_empirical),
  });
  let N = 0;
  const theoryOracle = sizes.map((n) => {
    N += n;
    return opts.shift === 'none' ? oracleRiskIsotropic(p, N, sigma2, p) : null;
  });
  return {
    sigma2, shift: opts.shift, repeats,
    errors: summarise(meanCurve),
    se: summarise(seCurve),
    theory: { oracle: theoryOracle, gl2_optimal: meanCurve(optimal) },
    gl2_empirical_vs_oracle_max_abs: maxDiff,
  };
}
