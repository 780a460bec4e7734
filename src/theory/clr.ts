// Continual linear regression: task streams sharing one w*, and the estimators compared in
// "A Statistical Theory of Regularization-Based Continual Learning": the oracle (pooled least
// squares), minimum-norm continual (MN), continual ridge (CRR), generalised l2 (GL2) with a
// matrix hyperparameter H_t (population form, empirical form, or any rule), and early stopping.
//
// Every estimator starts from w_0 = 0 and returns the path w_1..w_T. One update is
//   w_t = argmin_w (1/n_t)||X_t w - y_t||^2 + (w - w_{t-1})^T H_t (w - w_{t-1}),
// i.e. w_t = w_{t-1} + delta with (X^T X + n_t H) delta = X^T r, r = y - X w_{t-1}.
// When n_t < p and H is diagonal (incl. 0 and lambda I) the n_t x n_t dual form is used:
//   delta = D^{-1} X^T (X D^{-1} X^T + n_t I)^{-1} r    (D = H; MN: X^T (X X^T)^{-1} r).
// All solves are Cholesky in float64 through core/linalg.
//
// Allocation: at p in the hundreds, allocating and zeroing a fresh p x p Float64Array costs about as
// much as the BLAS call that fills it. So each step builds its system matrix in one scratch buffer
// shared by all estimators (grown, never shrunk, never handed out), with the buffer variants of
// core/linalg (syrkInto, gemmInto, choleskySolveInPlace). A task's Gram X^T X (and X X^T) is computed
// straight into that buffer the first time a step needs it and cached from the second time on, so a
// single pass over a stream keeps no p x p matrix per task, while running several estimators over
// the same stream computes each Gram at most twice.
import { InputError, NumericalError, warn } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { linalg, type BufferedLinalg, type Matrix64 } from '../core/linalg/index.js';
import type { Rng } from '../core/rng.js';
import { add, col, matVec, nonNegative, positiveInt, scaleCols, sub, vstack, concat } from './util.js';

/** One task: design rows X (n_t x p), responses y, and the rows' population covariance. */
export interface RegressionTask {
  readonly X: Matrix64;
  readonly y: Float64Array;
  /** Population covariance: its diagonal (for diagonal covariances) or the full p x p matrix. */
  readonly cov: Float64Array | Matrix64;
}

export interface TaskStream {
  readonly p: number;
  readonly sigma2: number;
  readonly wStar: Float64Array;
  readonly tasks: readonly RegressionTask[];
}

export type ShiftKind = 'none' | 'diag';
export const SHIFT_KINDS: readonly ShiftKind[] = ['none', 'diag'];

export interface TaskStreamOptions {
  readonly p: number;
  /** Rows per task: one number for all tasks or one per task. */
  readonly n: number | readonly number[];
  readonly T: number;
  readonly sigma2: number;
  /** 'none': x ~ N(0, I). 'diag': diagonal covariance with `shiftCount` random coordinates set to `shiftScale`, redrawn per task. */
  readonly shift?: ShiftKind;
  readonly shiftCount?: number;
  readonly shiftScale?: number;
}
const STREAM_KEYS = ['p', 'n', 'T', 'sigma2', 'shift', 'shiftCount', 'shiftScale'];

export function taskSizes(n: number | readonly number[], T: number): number[] {
  const sizes = typeof n === 'number' ? Array.from({ length: T }, () => n) : [...n];
  if (sizes.length !== T) throw new InputError(`n lists ${sizes.length} task sizes but T = ${T}`);
  sizes.forEach((v, i) => positiveInt(v, `n[${i}]`));
  return sizes;
}

/**
 * A seeded task stream. Draws are keyed by name (w*, and per task the design, noise and shift),
 * so streams with the same rng but different sigma2 or shift share w*, the standard-normal design
 * draws and the noise draws: methods and settings are paired.
 */
export function taskStream(opts: TaskStreamOptions, rng: Rng): TaskStream {
  checkOptionKeys(opts, STREAM_KEYS, 'taskStream');
  const p = positiveInt(opts.p, 'p');
  const T = positiveInt(opts.T, 'T');
  const sigma2 = nonNegative(opts.sigma2, 'sigma2');
  const shift = opts.shift ?? 'none';
  if (!SHIFT_KINDS.includes(shift)) throw new InputError(`shift must be one of ${SHIFT_KINDS.join(', ')}, got ${JSON.stringify(shift)}`);
  const shiftCount = opts.shiftCount ?? 10;
  const shiftScale = opts.shiftScale ?? 100;
  if (shift === 'diag' && (!Number.isInteger(shiftCount) || shiftCount < 0 || shiftCount > p)) throw new InputError(`shiftCount must be an integer in [0, p = ${p}], got ${shiftCount}`);
  const sizes = taskSizes(opts.n, T);
  const wStar = rng.split('wstar').fillNormal(new Float64Array(p));
  const tasks: RegressionTask[] = [];
  const la = linalg();
  for (let t = 0; t < T; t++) {
    const rt = rng.split(`task${t + 1}`);
    const n = sizes[t];
    const diag = new Float64Array(p).fill(1);
    if (shift === 'diag') for (const j of rt.split('shift').sample(p, shiftCount)) diag[j] = shiftScale;
    const z: Matrix64 = { rows: n, cols: p, data: rt.split('x').fillNormal(new Float64Array(n * p)) };
    const X = shift === 'diag' ? scaleCols(z, diag.map(Math.sqrt)) : z;
    const noise = rt.split('noise').fillNormal(new Float64Array(n), Math.sqrt(sigma2));
    tasks.push({ X, y: add(matVec(la, X, wStar), noise), cov: diag });
  }
  return { p, sigma2, wStar, tasks };
}

/** The per-task regulariser: 0, lambda I, a diagonal, or a full PSD matrix. */
export type HSpec =
  | { readonly kind: 'zero' }
  | { readonly kind: 'scalar'; readonly lambda: number }
  | { readonly kind: 'diag'; readonly d: Float64Array }
  | { readonly kind: 'full'; readonly H: Matrix64 };

/** A rule giving H_t for task t (1-based): a number means lambda I, a Float64Array a diagonal. */
export type HRule = (t: number, tasks: readonly RegressionTask[]) => number | Float64Array | Matrix64;
export type GL2Form = 'population' | 'empirical' | HRule;

export interface EarlyStoppingOptions {
  /** Gradient steps per task. */
  readonly k: number;
  /** Step size; default `etaScale / s_max(Sigma_hat_t)` per task. */
  readonly eta?: number;
  readonly etaScale?: number;
}

// The step's scratch: slot 0 holds the system matrix, slot 1 a scaled copy of X (dual form, diagonal H).
const scratchBufs: Float64Array[] = [new Float64Array(0), new Float64Array(0)];
function scratch(slot: 0 | 1, rows: number, cols: number): Matrix64 {
  const size = rows * cols;
  if (scratchBufs[slot].length < size) scratchBufs[slot] = new Float64Array(size);
  return { rows, cols, data: scratchBufs[slot].subarray(0, size) };
}

function addToDiagonal(a: Matrix64, d: number | Float64Array, scale: number): void {
  const n = a.rows, x = a.data;
  if (typeof d === 'number') for (let i = 0; i < n; i++) x[i * n + i] += scale * d;
  else for (let i = 0; i < n; i++) x[i * n + i] += scale * d[i];
}

function toSpec(h: number | Float64Array | Matrix64): HSpec {
  if (typeof h === 'number') return h === 0 ? { kind: 'zero' } : { kind: 'scalar', lambda: nonNegative(h, 'lambda') };
  if (h instanceof Float64Array) return h.every((v) => v === 0) ? { kind: 'zero' } : { kind: 'diag', d: h };
  return { kind: 'full', H: h };
}

/**
 * Estimators over one task stream. A task's Grams are cached once a second step asks for them and
 * then shared by all methods (see the note at the top about allocation).
 */
export class ContinualLinearRegression {
  readonly p: number;
  private readonly outer = new Map<number, Matrix64>();
  private readonly inner = new Map<number, Matrix64>();
  private readonly outerSeen = new Set<number>();
  private readonly innerSeen = new Set<number>();

  constructor(readonly tasks: readonly RegressionTask[], private readonly la: BufferedLinalg = linalg()) {
    if (tasks.length === 0) throw new InputError('ContinualLinearRegression needs at least one task');
    this.p = tasks[0].X.cols;
    tasks.forEach((t, i) => {
      if (t.X.cols !== this.p) throw new InputError(`task ${i + 1} has ${t.X.cols} features, expected ${this.p}`);
      if (t.y.length !== t.X.rows) throw new InputError(`task ${i + 1}: y has ${t.y.length} values for ${t.X.rows} rows`);
    });
  }

  /** X_t^T X_t (p x p), cached. t is 0-based here. */
  private gram(t: number): Matrix64 {
    let g = this.outer.get(t);
    if (!g) { g = this.la.syrk(this.tasks[t].X); this.outer.set(t, g); }
    return g;
  }

  /** X_t X_t^T (n_t x n_t), cached. */
  private kernel(t: number): Matrix64 {
    let k = this.inner.get(t);
    if (!k) {
      const X = this.tasks[t].X;
      k = this.la.syrkInto(X, { rows: X.rows, cols: X.rows, data: new Float64Array(X.rows * X.rows) }, { outer: true });
      this.inner.set(t, k);
    }
    return k;
  }

  /** out = X_t^T X_t + beta * out: from the cache, or computed into `out` the first time. */
  private gramInto(t: number, out: Matrix64, beta: number): void {
    if (!this.outer.has(t) && !this.outerSeen.has(t)) {
      this.outerSeen.add(t);
      this.la.syrkInto(this.tasks[t].X, out, { beta });
      return;
    }
    combine(this.gram(t), out, beta);
  }

  /** out = X_t X_t^T, likewise. */
  private kernelInto(t: number, out: Matrix64): void {
    if (!this.inner.has(t) && !this.innerSeen.has(t)) {
      this.innerSeen.add(t);
      this.la.syrkInto(this.tasks[t].X, out, { outer: true });
      return;
    }
    out.data.set(this.kernel(t).data);
  }

  private solve(a: Matrix64, b: Float64Array, what: string): Float64Array {
    try {
      return this.la.choleskySolve(a, col(b)).data;
    } catch (e) {
      if (e instanceof NumericalError) throw new NumericalError(`${what}: ${e.message}`);
      throw e;
    }
  }

  /** Solves a x = b, overwriting `a` (a scratch system) and `b`, which is returned as x. */
  private solveInPlace(a: Matrix64, b: Float64Array, what: string): Float64Array {
    try {
      return this.la.choleskySolveInPlace(a, col(b)).data;
    } catch (e) {
      if (e instanceof NumericalError) throw new NumericalError(`${what}: ${e.message}`);
      throw e;
    }
  }

  /** One GL2 update from wPrev on task t (0-based). */
  step(t: number, wPrev: Float64Array, h: HSpec): Float64Array {
    const { X, y } = this.tasks[t];
    const n = X.rows, p = this.p;
    // r = y - X wPrev in one BLAS call on a copy of y.
    const r = this.la.gemmInto(X, col(wPrev), col(y.slice()), { alpha: -1, beta: 1 }).data;
    const what = `task ${t + 1}`;
    if (n < p && h.kind !== 'full' && !(h.kind === 'diag' && h.d.some((v) => !(v > 0)))) {
      // Dual form: an n x n system.
      const K = scratch(0, n, n);
      let dinv: Float64Array | null = null;
      if (h.kind === 'zero') this.kernelInto(t, K);
      else if (h.kind === 'scalar') { this.kernelInto(t, K); addToDiagonal(K, h.lambda, n); }
      else {
        dinv = h.d.map((v) => 1 / v);
        const Xd = scratch(1, n, p);
        for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) Xd.data[i * p + j] = X.data[i * p + j] * dinv[j];
        this.la.gemmInto(Xd, X, K, { transB: true });
        addToDiagonal(K, 1, n);
      }
      const alpha = this.solveInPlace(K, r, `${what} (dual)`);
      if (!dinv) return this.la.gemmInto(X, col(alpha), col(wPrev.slice()), { transA: true, beta: 1 }).data; // wPrev + X^T alpha
      const delta = matVec(this.la, X, alpha, true);
      for (let j = 0; j < delta.length; j++) delta[j] *= dinv[j];
      return add(wPrev, delta);
    }
    // Primal form: (X^T X + n H) delta = X^T r.
    if (h.kind === 'full' && (h.H.rows !== p || h.H.cols !== p)) throw new InputError(`H for ${what} is ${h.H.rows}x${h.H.cols}, expected ${p}x${p}`);
    const A = scratch(0, p, p);
    if (h.kind === 'full') { A.data.set(h.H.data); this.gramInto(t, A, n); }
    else {
      this.gramInto(t, A, 0);
      if (h.kind === 'scalar') addToDiagonal(A, h.lambda, n);
      else if (h.kind === 'diag') addToDiagonal(A, h.d, n);
    }
    const w = this.solveInPlace(A, matVec(this.la, X, r, true), `${what} (primal; H_t + Sigma_hat_t must be positive definite)`);
    for (let j = 0; j < p; j++) w[j] += wPrev[j]; // w was delta, a fresh vector
    return w;
  }

  private run(hAt: (t: number) => HSpec): Float64Array[] {
    const path: Float64Array[] = [];
    let w: Float64Array = new Float64Array(this.p);
    for (let t = 0; t < this.tasks.length; t++) {
      w = this.step(t, w, hAt(t));
      path.push(w);
    }
    return path;
  }

  /** Minimum-norm continual: w_t = w_{t-1} + X_t^+ (y_t - X_t w_{t-1}). */
  mn(): Float64Array[] {
    return this.run(() => ({ kind: 'zero' }));
  }

  /** Continual ridge: H_t = lambda I. */
  crr(lambda: number): Float64Array[] {
    nonNegative(lambda, 'lambda');
    return this.run(() => (lambda === 0 ? { kind: 'zero' } : { kind: 'scalar', lambda }));
  }

  /**
   * Generalised l2. 'population': H_t = (1/n_t) sum_{tau<t} n_tau Sigma_tau (population covariances).
   * 'empirical': the same with sample covariances, i.e. n_t (Sigma_hat_t + H_t) = sum_{tau<=t} X^T X; while
   * that pooled Gram is singular the minimum-norm minimiser is taken, so the path equals the oracle.
   * A function gives H_t directly.
   */
  gl2(form: GL2Form): Float64Array[] {
    if (form === 'population') return this.gl2Population();
    if (form === 'empirical') return this.gl2Empirical();
    if (typeof form !== 'function') throw new InputError(`gl2: form must be 'population', 'empirical' or a function, got ${JSON.stringify(form)}`);
    return this.run((t) => toSpec(form(t + 1, this.tasks)));
  }

  private gl2Population(): Float64Array[] {
    const allDiag = this.tasks.every((t) => t.cov instanceof Float64Array);
    let accDiag: Float64Array = new Float64Array(this.p);
    const accFull: Matrix64 = { rows: this.p, cols: this.p, data: new Float64Array(this.p * this.p) };
    return this.run((t) => {
      const n = this.tasks[t].X.rows;
      let h: HSpec;
      if (t === 0) h = { kind: 'zero' };
      else if (allDiag) h = { kind: 'diag', d: accDiag.map((v) => v / n) };
      else h = { kind: 'full', H: { rows: this.p, cols: this.p, data: accFull.data.map((v) => v / n) } };
      const task = this.tasks[t];
      const cov = task.cov;
      if (allDiag) accDiag = accDiag.map((v, j) => v + task.X.rows * (cov as Float64Array)[j]);
      else {
        const full = cov instanceof Float64Array ? diagMatrix(cov) : cov;
        for (let i = 0; i < accFull.data.length; i++) accFull.data[i] += task.X.rows * full.data[i];
      }
      return h;
    });
  }

  private gl2Empirical(): Float64Array[] {
    const path: Float64Array[] = [];
    let w: Float64Array = new Float64Array(this.p);
    const S: Matrix64 = { rows: this.p, cols: this.p, data: new Float64Array(this.p * this.p) };
    let N = 0;
    for (let t = 0; t < this.tasks.length; t++) {
      const { X, y } = this.tasks[t];
      const n = X.rows;
      N += n;
      if (t === 0) w = this.step(t, w, { kind: 'zero' });
      else if (N >= this.p) {
        // (Sigma_hat_t + H_t) delta = X^T r / n_t with H_t = S_{t-1} / n_t.
        const G = this.gram(t), A = scratch(0, this.p, this.p);
        for (let i = 0; i < A.data.length; i++) A.data[i] = (G.data[i] + S.data[i]) / n;
        const r = sub(y, matVec(this.la, X, w));
        const rhs = matVec(this.la, X, r, true);
        for (let j = 0; j < rhs.length; j++) rhs[j] /= n;
        w = add(w, this.solveInPlace(A, rhs, `task ${t + 1} (gl2 empirical)`));
      } else {
        // Singular pooled Gram F^T F (F = rows so far): the minimum-norm delta is F^T K^{-2} F X^T r, K = F F^T.
        const F = vstack(this.tasks.slice(0, t + 1).map((k) => k.X));
        const K = this.la.gemm(F, F, { transB: true });
        const r = sub(y, matVec(this.la, X, w));
        const v = matVec(this.la, F, matVec(this.la, X, r, true));
        const a = this.solve(K, this.solve(K, v, `task ${t + 1}`), `task ${t + 1}`);
        w = add(w, matVec(this.la, F, a, true));
      }
      const G = this.gram(t);
      for (let i = 0; i < S.data.length; i++) S.data[i] += G.data[i];
      path.push(w);
    }
    return path;
  }

  /** Pooled least squares on tasks 1..t; minimum-norm while the pooled Gram is singular (N < p). */
  oracle(): Float64Array[] {
    const path: Float64Array[] = [];
    const G: Matrix64 = { rows: this.p, cols: this.p, data: new Float64Array(this.p * this.p) };
    let b: Float64Array = new Float64Array(this.p);
    let N = 0;
    for (let t = 0; t < this.tasks.length; t++) {
      const { X, y } = this.tasks[t];
      N += X.rows;
      const g = this.gram(t);
      for (let i = 0; i < G.data.length; i++) G.data[i] += g.data[i];
      b = add(b, matVec(this.la, X, y, true));
      if (N >= this.p) {
        const A = scratch(0, this.p, this.p);
        A.data.set(G.data);
        path.push(this.solveInPlace(A, Float64Array.from(b), `oracle at task ${t + 1}`));
      }
      else {
        const F = vstack(this.tasks.slice(0, t + 1).map((k) => k.X));
        const yy = concat(this.tasks.slice(0, t + 1).map((k) => k.y));
        const K = this.la.gemm(F, F, { transB: true });
        path.push(matVec(this.la, F, this.solve(K, yy, `oracle at task ${t + 1} (min-norm)`), true));
      }
    }
    return path;
  }

  /**
   * Early stopping: k gradient steps of size eta on (1/(2 n_t))||X_t w - y_t||^2 from w_{t-1}.
   * Equals GL2 with H = earlyStoppingH(Sigma_hat_t, eta, k) (see recursion.ts).
   */
  earlyStopping(opts: EarlyStoppingOptions): Float64Array[] {
    checkOptionKeys(opts, ['k', 'eta', 'etaScale'], 'earlyStopping');
    const k = positiveInt(opts.k, 'k');
    const path: Float64Array[] = [];
    let w: Float64Array = new Float64Array(this.p);
    for (let t = 0; t < this.tasks.length; t++) {
      const { X, y } = this.tasks[t];
      const n = X.rows;
      const eta = opts.eta ?? (opts.etaScale ?? 0.5) / this.sMax(t);
      if (!(eta > 0)) throw new InputError(`earlyStopping: eta must be > 0, got ${eta}`);
      if (eta * this.sMax(t) >= 1) warn('theory-es-eta', `early stopping: eta * s_max = ${(eta * this.sMax(t)).toFixed(3)} >= 1, so the matching H is not PSD`, { once: true });
      w = Float64Array.from(w);
      for (let i = 0; i < k; i++) {
        const g = matVec(this.la, X, sub(matVec(this.la, X, w), y), true);
        for (let j = 0; j < w.length; j++) w[j] -= (eta / n) * g[j];
      }
      path.push(w);
    }
    return path;
  }

  private readonly sMaxCache = new Map<number, number>();
  /** Largest eigenvalue of Sigma_hat_t = X^T X / n (from the smaller Gram). */
  sMax(t: number): number {
    let s = this.sMaxCache.get(t);
    if (s === undefined) {
      const n = this.tasks[t].X.rows;
      const small = n < this.p ? this.kernel(t) : this.gram(t);
      const vals = this.la.eigh(small).values;
      s = vals[vals.length - 1] / n;
      this.sMaxCache.set(t, s);
    }
    return s;
  }
}

/** out = g + beta * out (same shapes). */
function combine(g: Matrix64, out: Matrix64, beta: number): void {
  const a = g.data, o = out.data;
  if (beta === 0) o.set(a);
  else for (let i = 0; i < o.length; i++) o[i] = a[i] + beta * o[i];
}

export function diagMatrix(d: Float64Array): Matrix64 {
  const n = d.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = d[i];
  return { rows: n, cols: n, data: out };
}

/** ||w_t - w*||^2 along a path. */
export function pathErrors(path: readonly Float64Array[], wStar: Float64Array): number[] {
  return path.map((w) => {
    let s = 0;
    for (let j = 0; j < w.length; j++) s += (w[j] - wStar[j]) ** 2;
    return s;
  });
}
