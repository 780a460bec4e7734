// Analytic heads on frozen features: cosine prototypes (SimpleCIL), a random ReLU projection and a
// ridge head with accumulated statistics (RanPAC), and the entropy-weighted aggregation of two
// branches' logits (SAFE). Statistics are float64; solves go through core/linalg (Cholesky).
import { tf } from '../core/tensor.js';
import { InputError, NotFittedError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { linalg, ridgeSolve, type Matrix64 } from '../core/linalg/index.js';

/** Rows of features: n x d, float32, row-major. */
export interface FeatureRows {
  readonly x: Float32Array;
  readonly n: number;
  readonly d: number;
}

/**
 * Values of a tensor, then dispose it. Read outside tf.tidy: on the wasm backend a dataSync inside a
 * tidy scope costs seconds for a few-MB tensor (measured: 10 s vs 0.1 s for 2000 x 2048).
 */
export function readAndDispose(t: tf.Tensor): Float32Array {
  const d = t.dataSync() as Float32Array;
  t.dispose();
  return d;
}

/** Cosine prototypes: p_c = mean embedding of class c; logits = cos(f, p_c). */
export class PrototypeHead {
  private readonly sums: Float64Array;
  private readonly counts: Float64Array;
  constructor(readonly dim: number, readonly numClasses: number) {
    this.sums = new Float64Array(dim * numClasses);
    this.counts = new Float64Array(numClasses);
  }

  accumulate(f: FeatureRows, y: Int32Array): void {
    if (f.d !== this.dim) throw new InputError(`PrototypeHead: features have ${f.d} dims, expected ${this.dim}`);
    for (let i = 0; i < f.n; i++) {
      const c = y[i];
      this.counts[c]++;
      for (let k = 0; k < this.dim; k++) this.sums[c * this.dim + k] += f.x[i * f.d + k];
    }
  }

  /** Cosine logits over classes 0..seen-1: n x seen. */
  logits(f: FeatureRows, seen: number): Float32Array {
    const d = this.dim;
    const protos = new Float64Array(seen * d);
    for (let c = 0; c < seen; c++) {
      if (this.counts[c] === 0) throw new NotFittedError(`PrototypeHead: class ${c} has no samples yet`);
      let nn = 0;
      for (let k = 0; k < d; k++) { const v = this.sums[c * d + k] / this.counts[c]; protos[c * d + k] = v; nn += v * v; }
      const inv = 1 / Math.max(Math.sqrt(nn), 1e-12);
      for (let k = 0; k < d; k++) protos[c * d + k] *= inv;
    }
    const out = new Float32Array(f.n * seen);
    for (let i = 0; i < f.n; i++) {
      let nn = 0;
      for (let k = 0; k < d; k++) nn += f.x[i * d + k] ** 2;
      const inv = 1 / Math.max(Math.sqrt(nn), 1e-12);
      for (let c = 0; c < seen; c++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += f.x[i * d + k] * protos[c * d + k];
        out[i * seen + c] = s * inv;
      }
    }
    return out;
  }

  state(): { sums: Float64Array; counts: Float64Array } { return { sums: this.sums.slice(), counts: this.counts.slice() }; }
  restore(s: { sums: Float64Array; counts: Float64Array }): void { this.sums.set(s.sums); this.counts.set(s.counts); }
}

/** h = ReLU(f W), W in R^{d x M} i.i.d. N(0, 1) drawn once from `seed`. M = 0: identity (no projection). */
export class RandomReluProjection {
  readonly weights: Float32Array | null;
  readonly outDim: number;
  constructor(readonly inDim: number, readonly M: number, readonly seed: number) {
    if (!Number.isInteger(M) || M < 0) throw new InputError(`projection size M must be a non-negative integer, got ${M}`);
    this.outDim = M === 0 ? inDim : M;
    if (M === 0) { this.weights = null; return; }
    const rng = new Rng(seed, 'random-projection');
    this.weights = new Float32Array(inDim * M);
    for (let i = 0; i < this.weights.length; i++) this.weights[i] = rng.normal();
  }

  apply(f: FeatureRows): FeatureRows {
    if (f.d !== this.inDim) throw new InputError(`projection expects ${this.inDim}-D features, got ${f.d}`);
    if (!this.weights) return f;
    const t = tf.tidy(() => tf.relu(tf.matMul(tf.tensor2d(f.x, [f.n, f.d]), tf.tensor2d(this.weights!, [this.inDim, this.M]))));
    const out = readAndDispose(t);
    return { x: out, n: f.n, d: this.M };
  }
}

export const RANPAC_LAMBDAS: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4];

/** Gram G = H^T H (float64, D x D) and targets Q = H^T Y for rows H and integer labels. */
export function gramAndTargets(h: FeatureRows, y: Int32Array, numClasses: number): { G: Matrix64; Q: Matrix64 } {
  const H: Matrix64 = { rows: h.n, cols: h.d, data: Float64Array.from(h.x) };
  const G = linalg().syrk(H);
  const Q = new Float64Array(h.d * numClasses);
  for (let i = 0; i < h.n; i++) {
    const c = y[i];
    if (c < 0 || c >= numClasses) throw new InputError(`label ${c} outside 0..${numClasses - 1}`);
    for (let k = 0; k < h.d; k++) Q[k * numClasses + c] += h.x[i * h.d + k];
  }
  return { G, Q: { rows: h.d, cols: numClasses, data: Q } };
}

/**
 * Ridge head with accumulated statistics: G <- G + H^T H, Q <- Q + H^T Y (one-hot), then
 * W = (G + lambda I)^{-1} Q by Cholesky. Since G and Q are sums, with a fixed lambda the head equals
 * batch ridge on all rows seen, in any session order.
 */
export class AnalyticRidgeHead {
  G: Matrix64;
  Q: Matrix64;
  private W: Matrix64 | null = null;
  lambda: number | null = null;

  constructor(readonly dim: number, readonly numClasses: number) {
    this.G = { rows: dim, cols: dim, data: new Float64Array(dim * dim) };
    this.Q = { rows: dim, cols: numClasses, data: new Float64Array(dim * numClasses) };
  }

  accumulate(h: FeatureRows, y: Int32Array): void {
    if (h.d !== this.dim) throw new InputError(`ridge head: features have ${h.d} dims, expected ${this.dim}`);
    const { G, Q } = gramAndTargets(h, y, this.numClasses);
    for (let i = 0; i < G.data.length; i++) this.G.data[i] += G.data[i];
    for (let i = 0; i < Q.data.length; i++) this.Q.data[i] += Q.data[i];
    this.W = null;
  }

  /** Add precomputed statistics (G += dG, Q += dQ). */
  addStats(dG: Matrix64, dQ: Matrix64): void {
    for (let i = 0; i < dG.data.length; i++) this.G.data[i] += dG.data[i];
    for (let i = 0; i < dQ.data.length; i++) this.Q.data[i] += dQ.data[i];
    this.W = null;
  }

  /**
   * Choose lambda on a split of the current session's rows: ridge fit on `fit`, mean squared error
   * against one-hot targets on `val`; ties go to the larger lambda. Solves in the primal
   * (G_fit + lambda I) or, when the fit rows are fewer than the dimensions, in the dual
   * (K + lambda I, K = H H^T) — the same ridge solution, cheaper. Returns the fit split's statistics
   * too, so the caller can reuse them.
   */
  static selectLambda(fit: FeatureRows, yFit: Int32Array, val: FeatureRows, yVal: Int32Array, numClasses: number, grid: readonly number[] = RANPAC_LAMBDAS): { lambda: number; mse: number[]; G: Matrix64; Q: Matrix64 } {
    const { G, Q } = gramAndTargets(fit, yFit, numClasses);
    const C = numClasses;
    const la = linalg();
    const Hv: Matrix64 = { rows: val.n, cols: val.d, data: Float64Array.from(val.x) };
    let predict: (lam: number) => Matrix64;
    if (fit.n < fit.d) {
      const Hf: Matrix64 = { rows: fit.n, cols: fit.d, data: Float64Array.from(fit.x) };
      const K = la.gemm(Hf, Hf, { transB: true });
      const A = la.gemm(Hv, Hf, { transB: true });
      const Y: Matrix64 = { rows: fit.n, cols: C, data: new Float64Array(fit.n * C) };
      for (let i = 0; i < fit.n; i++) Y.data[i * C + yFit[i]] = 1;
      predict = (lam) => la.gemm(A, ridgeSolve(K, Y, lam));
    } else {
      predict = (lam) => la.gemm(Hv, ridgeSolve(G, Q, lam));
    }
    const mse: number[] = [];
    for (const lam of grid) {
      const P = predict(lam);
      let s = 0;
      for (let i = 0; i < val.n; i++) for (let c = 0; c < C; c++) s += (P.data[i * C + c] - (yVal[i] === c ? 1 : 0)) ** 2;
      mse.push(s / (val.n * C));
    }
    let best = 0;
    for (let i = 1; i < grid.length; i++) if (mse[i] <= mse[best]) best = i;
    return { lambda: grid[best], mse, G, Q };
  }

  solve(lambda: number): void {
    this.lambda = lambda;
    this.W = ridgeSolve(this.G, this.Q, lambda);
  }

  get weights(): Matrix64 {
    if (!this.W) throw new NotFittedError('ridge head: call solve(lambda) first');
    return this.W;
  }

  /** Logits over classes 0..seen-1: n x seen (float32). */
  logits(h: FeatureRows, seen: number): Float32Array {
    const W = this.weights;
    const C = this.numClasses;
    const Ws = new Float32Array(h.d * seen);
    for (let k = 0; k < h.d; k++) for (let c = 0; c < seen; c++) Ws[k * seen + c] = W.data[k * C + c];
    return readAndDispose(tf.tidy(() => tf.matMul(tf.tensor2d(h.x, [h.n, h.d]), tf.tensor2d(Ws, [h.d, seen]))));
  }
}

export interface AggregateOptions {
  /** Sharpness of the entropy weighting; 0 gives equal weights. */
  readonly gamma: number;
  /** Multiplies logits before the softmax whose entropy is measured (a temperature). */
  readonly logitScale: number;
}

function entropyRows(z: Float32Array, n: number, C: number, scale: number): Float64Array {
  const H = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, scale * z[i * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(scale * z[i * C + c] - m);
    const logS = Math.log(s);
    let h = 0;
    for (let c = 0; c < C; c++) {
      const lp = scale * z[i * C + c] - m - logS;
      h -= Math.exp(lp) * lp;
    }
    H[i] = h;
  }
  return H;
}

/**
 * SAFE's aggregation: H_b = entropy of softmax(logitScale * z_b); [w_f, w_s] = softmax(-gamma [H_f, H_s])
 * per sample; z = w_f z_f + w_s z_s. Returns the mixed logits and the fast weight per row.
 */
export function entropyAggregate(zFast: Float32Array, zSlow: Float32Array, n: number, C: number, opts: AggregateOptions): { logits: Float32Array; wFast: Float64Array } {
  if (zFast.length !== n * C || zSlow.length !== n * C) throw new InputError(`entropyAggregate: expected ${n}x${C} logits`);
  const hf = entropyRows(zFast, n, C, opts.logitScale), hs = entropyRows(zSlow, n, C, opts.logitScale);
  const out = new Float32Array(n * C), wFast = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = -opts.gamma * hf[i], b = -opts.gamma * hs[i];
    const m = Math.max(a, b);
    const ea = Math.exp(a - m), eb = Math.exp(b - m);
    const wf = ea / (ea + eb);
    wFast[i] = wf;
    for (let c = 0; c < C; c++) out[i * C + c] = wf * zFast[i * C + c] + (1 - wf) * zSlow[i * C + c];
  }
  return { logits: out, wFast };
}

export function argmaxRows(z: Float32Array, n: number, C: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let c = 1; c < C; c++) if (z[i * C + c] > z[i * C + b]) b = c;
    out[i] = b;
  }
  return out;
}
