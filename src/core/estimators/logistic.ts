// Logistic (two classes) and softmax (more) regression with an L2 penalty, in float64. The loss is
// mean_i s_i * crossEntropy_i + l2/2 * |W|^2 (s_i: sample weights, 1 or class-balanced; the intercept
// penalised only with `penalizeIntercept`). Three solvers on the same model:
// - `newton`: Newton's method (IRLS), each step one Cholesky solve through core/linalg; for two
//   classes one logit (sigmoid), for more the full (features+1) x classes Hessian;
// - `gd`: full-batch gradient descent with a fixed step `lr` for `epochs` steps;
// - `adam`: minibatch Adam (betas 0.9/0.999) with a cosine-decayed step, seeded shuffles.
// `gd` and `adam` keep the epoch with the best validation accuracy when a validation set is given.
import { InputError, NotFittedError } from '../errors.js';
import { linalg } from '../linalg/index.js';
import { withDefaults } from '../options.js';
import type { Rng } from '../rng.js';
import { applyStandardizer, dense, fitStandardizer, type Dense, type Features, type Standardizer } from './features.js';

export type LogisticSolver = 'newton' | 'gd' | 'adam';

export interface LogisticOptions {
  readonly solver: LogisticSolver;
  /** L2 penalty on the weights (on the mean loss). */
  readonly l2: number;
  readonly penalizeIntercept: boolean;
  /** Standardise each feature with the training rows' mean and population std. */
  readonly standardize: boolean;
  /** Added to each std (0: a constant feature gets scale 1). */
  readonly stdEps: number;
  /** `balanced`: each class present in training weighs the same (n / (classes present * class count)). */
  readonly classWeight: 'none' | 'balanced';
  /** newton: at most this many steps, stop when the largest step is below `tol`. */
  readonly maxIter: number;
  readonly tol: number;
  /** gd, adam: passes over the rows, step size, and (adam) rows per step. */
  readonly epochs: number;
  readonly lr: number;
  readonly batchSize: number;
}

export const LOGISTIC_DEFAULTS: LogisticOptions = Object.freeze({
  solver: 'newton', l2: 1e-2, penalizeIntercept: false, standardize: true, stdEps: 0, classWeight: 'none',
  maxIter: 50, tol: 1e-8, epochs: 100, lr: 1e-2, batchSize: 256,
});

export type Label = string | number;

export interface LogisticFitOptions<L extends Label> {
  /** The label set, in the order of predictProba's columns (default: the sorted distinct labels). */
  readonly classes?: readonly L[];
  /** gd/adam: rows whose accuracy picks the epoch kept (ties: the later epoch). */
  readonly validation?: { readonly x: Features; readonly y: ArrayLike<L> };
  /** adam: row order of each epoch (1-based); default `rng.split('epoch-<e>').permutation(n)`. */
  readonly permutation?: (epoch: number, n: number) => Int32Array;
  readonly rng?: Rng;
}

interface Fitted<L> {
  readonly classes: readonly L[];
  readonly d: number;
  readonly std: Standardizer | null;
  /** (d + 1) x k row-major, bias row last; k = 1 for the binary newton model (the logit of classes[1]), else one column per class. */
  readonly w: Float64Array;
  readonly k: number;
  readonly iterations: number;
  readonly bestEpoch: number | null;
  readonly validationAccuracy: number | null;
}

/** out[c] = b[c] + sum_j x_j w[j, c] for row r of `x` (d columns). */
function scores(x: Float64Array, r: number, d: number, k: number, w: Float64Array, out: Float64Array): void {
  for (let c = 0; c < k; c++) out[c] = w[d * k + c]!;
  for (let j = 0; j < d; j++) {
    const v = x[r * d + j]!;
    if (v === 0) continue;
    const row = j * k;
    for (let c = 0; c < k; c++) out[c] += v * w[row + c]!;
  }
}

/** In place: scores -> softmax probabilities. */
function softmax(z: Float64Array): void {
  let mx = -Infinity;
  for (let c = 0; c < z.length; c++) if (z[c]! > mx) mx = z[c]!;
  let se = 0;
  for (let c = 0; c < z.length; c++) { z[c] = Math.exp(z[c]! - mx); se += z[c]!; }
  for (let c = 0; c < z.length; c++) z[c] = z[c]! / se;
}

export class LogisticRegression<L extends Label = number> {
  readonly options: LogisticOptions;
  private fitted: Fitted<L> | null = null;

  constructor(options: Partial<LogisticOptions> = {}) {
    const o = withDefaults(LOGISTIC_DEFAULTS, options, 'LogisticRegression');
    if (!['newton', 'gd', 'adam'].includes(o.solver)) throw new InputError(`LogisticRegression: solver must be newton, gd or adam, got ${JSON.stringify(o.solver)}`);
    if (!['none', 'balanced'].includes(o.classWeight)) throw new InputError(`LogisticRegression: classWeight must be none or balanced, got ${JSON.stringify(o.classWeight)}`);
    for (const k of ['l2', 'stdEps', 'tol', 'lr'] as const) if (!(o[k] >= 0 && Number.isFinite(o[k]))) throw new InputError(`LogisticRegression: ${k} must be a finite number >= 0, got ${o[k]}`);
    for (const k of ['maxIter', 'epochs', 'batchSize'] as const) if (!(Number.isInteger(o[k]) && o[k] >= 1)) throw new InputError(`LogisticRegression: ${k} must be an integer >= 1, got ${o[k]}`);
    this.options = Object.freeze(o);
  }

  clone(): LogisticRegression<L> { return new LogisticRegression<L>(this.options); }

  describe(): Record<string, unknown> {
    const o = this.options, f = this.fitted;
    const fit = o.solver === 'newton'
      ? { maxIter: o.maxIter, tol: o.tol, iterations: f?.iterations ?? null }
      : { epochs: o.epochs, lr: o.lr, ...(o.solver === 'adam' ? { batchSize: o.batchSize } : {}), bestEpoch: f?.bestEpoch ?? null };
    return { model: 'logistic-regression', solver: o.solver, l2: o.l2, ...fit };
  }

  private get f(): Fitted<L> {
    if (!this.fitted) throw new NotFittedError('LogisticRegression: fit first');
    return this.fitted;
  }
  get classes(): readonly L[] { return this.f.classes; }
  /** Newton steps taken (newton) or epochs run (gd, adam). */
  get iterations(): number { return this.f.iterations; }
  /** gd/adam with a validation set: the epoch kept and its validation accuracy (0..1). */
  get bestEpoch(): number | null { return this.f.bestEpoch; }
  get validationAccuracy(): number | null { return this.f.validationAccuracy; }
  /**
   * Weights on the standardised features: (features + 1) x k row-major, the intercept row last;
   * k = 1 for two classes with newton (the logit of classes[1]), else one column per class.
   */
  coefficients(): { readonly rows: number; readonly cols: number; readonly data: Float64Array } {
    const f = this.f;
    return { rows: f.d + 1, cols: f.k, data: f.w.slice() };
  }

  fit(x: Features, y: ArrayLike<L>, fo: LogisticFitOptions<L> = {}): this {
    const o = this.options;
    const X = dense(x, 'LogisticRegression.fit');
    const n = X.n, d = X.d;
    if (n === 0 || n !== y.length) throw new InputError(`LogisticRegression.fit: ${n} rows and ${y.length} labels`);
    const ys = Array.from(y);
    const classes = fo.classes ? [...fo.classes] : [...new Set(ys)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
    const index = new Map(classes.map((c, i) => [c, i]));
    if (index.size !== classes.length) throw new InputError('LogisticRegression.fit: classes has repeated labels');
    const yi = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = index.get(ys[i]!);
      if (c === undefined) throw new InputError(`LogisticRegression.fit: label ${JSON.stringify(ys[i])} of row ${i} is not one of the classes ${classes.join(', ')}`);
      yi[i] = c;
    }
    const C = classes.length;
    if (C < 2) throw new InputError(`LogisticRegression.fit: needs at least two classes, got ${C}`);
    const sw = new Float64Array(n).fill(1);
    if (o.classWeight === 'balanced') {
      const counts = new Float64Array(C);
      for (let i = 0; i < n; i++) counts[yi[i]!]++;
      const present = counts.filter((v) => v > 0).length;
      for (let i = 0; i < n; i++) sw[i] = n / (present * counts[yi[i]!]!);
    }
    const std = o.standardize ? fitStandardizer(X, o.stdEps) : null;
    const Z = applyStandardizer(X, std);
    const val = fo.validation ? { z: applyStandardizer(dense(fo.validation.x, 'LogisticRegression.fit validation', d), std), y: Array.from(fo.validation.y, (v) => index.get(v) ?? -1) } : null;
    if (val && val.y.length * d !== val.z.length) throw new InputError(`LogisticRegression.fit: validation has ${val.z.length / d} rows and ${val.y.length} labels`);
    let fitted: Omit<Fitted<L>, 'classes' | 'd' | 'std'>;
    if (o.solver === 'newton') fitted = C === 2 ? this.newtonBinary(Z, n, d, yi, sw) : this.newtonSoftmax(Z, n, d, C, yi, sw);
    else {
      if (o.solver === 'adam' && !fo.permutation && !fo.rng) throw new InputError('LogisticRegression.fit: the adam solver needs rng (or permutation) for its shuffles');
      fitted = this.firstOrder(Z, n, d, C, yi, sw, val, fo);
    }
    this.fitted = { classes, d, std, ...fitted };
    return this;
  }

  private newtonBinary(Z: Float64Array, n: number, d: number, y: Int32Array, sw: Float64Array): Omit<Fitted<L>, 'classes' | 'd' | 'std'> {
    const o = this.options, D = d + 1, la = linalg();
    const w = new Float64Array(D);
    const zi = new Float64Array(D);
    let it = 0;
    for (; it < o.maxIter; it++) {
      const g = new Float64Array(D), H = new Float64Array(D * D);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) zi[j] = Z[i * d + j]!;
        zi[d] = 1;
        let s = w[d]!;
        for (let j = 0; j < d; j++) s += zi[j]! * w[j]!;
        const p = 1 / (1 + Math.exp(-s));
        const r = sw[i]! * (p - y[i]!), v = sw[i]! * Math.max(p * (1 - p), 1e-10);
        for (let j = 0; j < D; j++) {
          g[j] += r * zi[j]!;
          for (let k = 0; k <= j; k++) H[j * D + k] += v * zi[j]! * zi[k]!;
        }
      }
      this.penalise(g, H, w, D, 1, d, n);
      const step = la.choleskySolve({ rows: D, cols: D, data: H }, { rows: D, cols: 1, data: g }).data;
      let mx = 0;
      for (let j = 0; j < D; j++) { w[j] -= step[j]!; mx = Math.max(mx, Math.abs(step[j]!)); }
      if (mx < o.tol) { it++; break; }
    }
    return { w, k: 1, iterations: it, bestEpoch: null, validationAccuracy: null };
  }

  private newtonSoftmax(Z: Float64Array, n: number, d: number, C: number, y: Int32Array, sw: Float64Array): Omit<Fitted<L>, 'classes' | 'd' | 'std'> {
    const o = this.options, D = d + 1, P = D * C, la = linalg();
    const w = new Float64Array(P), p = new Float64Array(C), zi = new Float64Array(D);
    let it = 0;
    for (; it < o.maxIter; it++) {
      const g = new Float64Array(P), H = new Float64Array(P * P);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) zi[j] = Z[i * d + j]!;
        zi[d] = 1;
        scores(Z, i, d, C, w, p);
        softmax(p);
        const s = sw[i]!;
        for (let j = 0; j < D; j++) {
          for (let c = 0; c < C; c++) {
            const a = j * C + c;
            g[a] += s * (p[c]! - (c === y[i] ? 1 : 0)) * zi[j]!;
            for (let l = 0; l <= j; l++) {
              const zz = s * zi[j]! * zi[l]!;
              for (let k = 0; k < C; k++) {
                const b = l * C + k;
                if (b > a) continue;
                H[a * P + b] += zz * p[c]! * ((c === k ? 1 : 0) - p[k]!);
              }
            }
          }
        }
      }
      this.penalise(g, H, w, P, C, d, n);
      const step = la.choleskySolve({ rows: P, cols: P, data: H }, { rows: P, cols: 1, data: g }).data;
      let mx = 0;
      for (let j = 0; j < P; j++) { w[j] -= step[j]!; mx = Math.max(mx, Math.abs(step[j]!)); }
      if (mx < o.tol) { it++; break; }
    }
    return { w, k: C, iterations: it, bestEpoch: null, validationAccuracy: null };
  }

  /**
   * Adds the L2 term (scaled by n: g and H are sums over rows) and mirrors H's lower triangle. An
   * unpenalised intercept gets 1e-9 n on its diagonal, so a class that no row separates (or the
   * softmax's shift invariance) leaves H positive definite.
   */
  private penalise(g: Float64Array, H: Float64Array, w: Float64Array, P: number, k: number, d: number, n: number): void {
    const l2 = this.options.l2;
    for (let a = 0; a < P; a++) {
      const bias = a >= d * k;
      if (!bias || this.options.penalizeIntercept) { g[a] += l2 * n * w[a]!; H[a * P + a] += l2 * n; }
      if (bias && !this.options.penalizeIntercept) H[a * P + a] += 1e-9 * n;
    }
    for (let a = 0; a < P; a++) for (let b = a + 1; b < P; b++) H[a * P + b] = H[b * P + a]!;
  }

  private firstOrder(Z: Float64Array, n: number, d: number, C: number, y: Int32Array, sw: Float64Array,
    val: { z: Float64Array; y: number[] } | null, fo: LogisticFitOptions<L>): Omit<Fitted<L>, 'classes' | 'd' | 'std'> {
    const o = this.options, adam = o.solver === 'adam';
    const P = (d + 1) * C;
    const w = new Float64Array(P), m1 = new Float64Array(P), m2 = new Float64Array(P), g = new Float64Array(P), z = new Float64Array(C);
    const batch = adam ? o.batchSize : n;
    const steps = o.epochs * Math.ceil(n / batch);
    const b1 = 0.9, b2 = 0.999, eps = 1e-8;
    let step = 0;
    const identity = Int32Array.from({ length: n }, (_, i) => i);
    const order = (ep: number): Int32Array => (!adam ? identity : fo.permutation ? fo.permutation(ep, n) : fo.rng!.split(`epoch-${ep}`).permutation(n));
    let best = { acc: -1, epoch: 0, w: Float64Array.from(w) };
    for (let ep = 1; ep <= o.epochs; ep++) {
      const perm = order(ep);
      for (let s = 0; s < n; s += batch) {
        const e = Math.min(n, s + batch);
        g.fill(0);
        for (let q = s; q < e; q++) {
          const r = perm[q]!;
          scores(Z, r, d, C, w, z);
          softmax(z);
          const wr = sw[r]! / (e - s);
          for (let c = 0; c < C; c++) z[c] = wr * (z[c]! - (c === y[r] ? 1 : 0));
          for (let j = 0; j < d; j++) {
            const v = Z[r * d + j]!;
            if (v === 0) continue;
            const row = j * C;
            for (let c = 0; c < C; c++) g[row + c] += v * z[c]!;
          }
          for (let c = 0; c < C; c++) g[d * C + c] += z[c]!;
        }
        if (o.l2 > 0) for (let i = 0; i < (o.penalizeIntercept ? P : d * C); i++) g[i] += o.l2 * w[i]!;
        step++;
        if (adam) {
          const lr = o.lr * 0.5 * (1 + Math.cos(Math.PI * (step - 1) / Math.max(1, steps)));
          const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
          for (let i = 0; i < P; i++) {
            m1[i] = b1 * m1[i]! + (1 - b1) * g[i]!;
            m2[i] = b2 * m2[i]! + (1 - b2) * g[i]! * g[i]!;
            w[i] -= lr * (m1[i]! / c1) / (Math.sqrt(m2[i]! / c2) + eps);
          }
        } else for (let i = 0; i < P; i++) w[i] -= o.lr * g[i]!;
      }
      if (val) {
        const acc = accuracy(val.z, val.y, d, C, w, z);
        if (acc >= best.acc) best = { acc, epoch: ep, w: Float64Array.from(w) };
      }
    }
    return val
      ? { w: best.w, k: C, iterations: o.epochs, bestEpoch: best.epoch, validationAccuracy: best.acc }
      : { w, k: C, iterations: o.epochs, bestEpoch: null, validationAccuracy: null };
  }

  /** Raw scores per row (n x k, k as in coefficients()). */
  decisionFunction(x: Features): { readonly rows: number; readonly cols: number; readonly data: Float64Array } {
    const f = this.f;
    const X = dense(x, 'LogisticRegression.predict', f.d);
    const Z = applyStandardizer(X, f.std);
    const out = new Float64Array(X.n * f.k), z = new Float64Array(f.k);
    for (let r = 0; r < X.n; r++) { scores(Z, r, f.d, f.k, f.w, z); out.set(z, r * f.k); }
    return { rows: X.n, cols: f.k, data: out };
  }

  /**
   * Class probabilities per row, columns in `classes` order. With `allowed`, the other classes get
   * probability 0 and the allowed ones are renormalised (the softmax over the allowed scores).
   */
  predictProba(x: Features, allowed?: readonly L[]): Float64Array[] {
    const f = this.f, s = this.decisionFunction(x);
    const keep = allowed ? f.classes.map((c) => allowed.includes(c)) : null;
    const out: Float64Array[] = [];
    for (let r = 0; r < s.rows; r++) {
      const p = new Float64Array(f.classes.length);
      if (f.k === 1) {
        const q = 1 / (1 + Math.exp(-s.data[r]!));
        p[0] = 1 - q; p[1] = q;
        if (keep) { if (!keep[0]) p[0] = 0; if (!keep[1]) p[1] = 0; const t = p[0]! + p[1]!; for (let c = 0; c < 2; c++) p[c] = t > 0 ? p[c]! / t : 0; }
      } else {
        let mx = -Infinity;
        for (let c = 0; c < f.k; c++) if (!keep || keep[c]) mx = Math.max(mx, s.data[r * f.k + c]!);
        let tot = 0;
        for (let c = 0; c < f.k; c++) { p[c] = !keep || keep[c] ? Math.exp(s.data[r * f.k + c]! - mx) : 0; tot += p[c]!; }
        for (let c = 0; c < f.k; c++) p[c] = tot > 0 ? p[c]! / tot : 0;
      }
      out.push(p);
    }
    return out;
  }

  /** The most probable class per row (two classes with newton: classes[1] when its probability is >= 0.5). */
  predict(x: Features): L[] {
    const f = this.f, s = this.decisionFunction(x), out: L[] = [];
    for (let r = 0; r < s.rows; r++) {
      if (f.k === 1) { out.push(f.classes[1 / (1 + Math.exp(-s.data[r]!)) >= 0.5 ? 1 : 0]!); continue; }
      let b = 0;
      for (let c = 1; c < f.k; c++) if (s.data[r * f.k + c]! > s.data[r * f.k + b]!) b = c;
      out.push(f.classes[b]!);
    }
    return out;
  }
}

function accuracy(z: Float64Array, y: readonly number[], d: number, C: number, w: Float64Array, buf: Float64Array): number {
  let correct = 0;
  for (let r = 0; r < y.length; r++) {
    scores(z, r, d, C, w, buf);
    let b = 0;
    for (let c = 1; c < C; c++) if (buf[c]! > buf[b]!) b = c;
    if (b === y[r]) correct++;
  }
  return correct / Math.max(1, y.length);
}
