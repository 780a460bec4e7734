// Ridge regression: argmin |y - X b - c|^2 + alpha |b|^2 (the intercept c unpenalised), for one or
// many targets, solved as (Xc^T Xc + alpha I) B = Xc^T Yc on centred data through core/linalg.
import { InputError, NotFittedError } from '../errors.js';
import { linalg, ridgeSolve } from '../linalg/index.js';
import type { Matrix, Matrix64 } from '../linalg/types.js';
import { withDefaults } from '../options.js';
import { dense, type Features } from './features.js';

export interface RidgeOptions {
  readonly alpha: number;
  readonly fitIntercept: boolean;
}
export const RIDGE_DEFAULTS: RidgeOptions = Object.freeze({ alpha: 1, fitIntercept: true });

export class Ridge {
  readonly options: RidgeOptions;
  private fitted: { coef: Matrix64; intercept: Float64Array; targets: number; single: boolean } | null = null;

  constructor(options: Partial<RidgeOptions> = {}) {
    const o = withDefaults(RIDGE_DEFAULTS, options, 'Ridge');
    if (!(o.alpha >= 0 && Number.isFinite(o.alpha))) throw new InputError(`Ridge: alpha must be a finite number >= 0, got ${o.alpha}`);
    this.options = Object.freeze(o);
  }

  describe(): Record<string, unknown> { return { model: 'ridge', ...this.options }; }

  /** `y`: one target per row, or a rows x targets matrix. */
  fit(x: Features, y: ArrayLike<number> | Matrix): this {
    const X = dense(x, 'Ridge.fit');
    const single = !('rows' in (y as Matrix) && 'cols' in (y as Matrix) && 'data' in (y as Matrix));
    const Y = single ? { rows: (y as ArrayLike<number>).length, cols: 1, data: Float64Array.from(y as ArrayLike<number>) } : { rows: (y as Matrix).rows, cols: (y as Matrix).cols, data: Float64Array.from((y as Matrix).data) };
    if (X.n === 0 || Y.rows !== X.n) throw new InputError(`Ridge.fit: ${X.n} rows and ${Y.rows} targets`);
    const { n, d } = X, k = Y.cols;
    const xm = new Float64Array(d), ym = new Float64Array(k);
    const xc = Float64Array.from(X.data);
    if (this.options.fitIntercept) {
      for (let i = 0; i < n; i++) { for (let j = 0; j < d; j++) xm[j] += X.data[i * d + j]!; for (let t = 0; t < k; t++) ym[t] += Y.data[i * k + t]!; }
      for (let j = 0; j < d; j++) xm[j] /= n;
      for (let t = 0; t < k; t++) ym[t] /= n;
      for (let i = 0; i < n; i++) { for (let j = 0; j < d; j++) xc[i * d + j] -= xm[j]!; for (let t = 0; t < k; t++) Y.data[i * k + t] -= ym[t]!; }
    }
    const la = linalg();
    const A = { rows: n, cols: d, data: xc };
    const coef = ridgeSolve(la.syrk(A), la.gemm(A, Y, { transA: true }), this.options.alpha, la);
    const intercept = new Float64Array(k);
    for (let t = 0; t < k; t++) { let s = ym[t]!; for (let j = 0; j < d; j++) s -= xm[j]! * coef.data[j * k + t]!; intercept[t] = s; }
    this.fitted = { coef, intercept, targets: k, single };
    return this;
  }

  private get f() {
    if (!this.fitted) throw new NotFittedError('Ridge: fit first');
    return this.fitted;
  }
  /** features x targets. */
  get coef(): Matrix64 { const c = this.f.coef; return { rows: c.rows, cols: c.cols, data: c.data.slice() }; }
  get intercept(): Float64Array { return this.f.intercept.slice(); }

  /** Predictions: a Float64Array (one target) or a rows x targets matrix. */
  predict(x: Features): Float64Array | Matrix64 {
    const f = this.f, X = dense(x, 'Ridge.predict', f.coef.rows), k = f.targets, d = X.d;
    const out = new Float64Array(X.n * k);
    for (let i = 0; i < X.n; i++) for (let t = 0; t < k; t++) {
      let s = f.intercept[t]!;
      for (let j = 0; j < d; j++) s += X.data[i * d + j]! * f.coef.data[j * k + t]!;
      out[i * k + t] = s;
    }
    return f.single ? out : { rows: X.n, cols: k, data: out };
  }
}
