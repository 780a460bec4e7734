// The learned non-LLM baseline: L2-regularised logistic regression on engineered footprint
// features, fitted by Newton's method (IRLS) on standardised features. It predicts the verdict
// only. Features describe the breakout bar against the range without applying the rule itself:
// how far it extends past each side, straight and diagonal order-flow imbalance beyond each side,
// and those imbalances gated by the side that was broken (a linear model cannot form the
// direction x side interaction on its own).
import { InputError, NotFittedError, NumericalError } from '../core/errors.js';
import { rowMap, tableHigh, tableLow, type FootprintWindow } from './footprint.js';

export const FEATURE_NAMES = [
  'ext_up', 'ext_down', 'delta_all', 'delta_above', 'delta_below', 'diag_above', 'diag_below',
  'up_x_diag_above', 'down_x_diag_below', 'up_x_delta_above', 'down_x_delta_below', 'diag_wins_above', 'diag_wins_below',
] as const;

function norm(a: number, b: number): number {
  return a + b > 0 ? (a - b) / (a + b) : 0;
}

/** Engineered features of one window, in FEATURE_NAMES order. */
export function footprintFeatures(w: FootprintWindow): Float64Array {
  const range = w.tables.slice(0, -1);
  const last = w.tables[w.tables.length - 1];
  let hi = -Infinity, lo = Infinity;
  for (const t of range) { hi = Math.max(hi, tableHigh(t)); lo = Math.min(lo, tableLow(t)); }
  const width = Math.max(1, hi - lo);
  const extUp = Math.max(0, tableHigh(last) - hi) / width;
  const extDown = Math.max(0, lo - tableLow(last)) / width;
  let sAll = 0, bAll = 0, sAb = 0, bAb = 0, sBe = 0, bBe = 0;
  for (const r of last.rows) {
    sAll += r.sell; bAll += r.buy;
    if (r.priceTicks >= hi) { sAb += r.sell; bAb += r.buy; }
    if (r.priceTicks <= lo) { sBe += r.sell; bBe += r.buy; }
  }
  const m = rowMap(last);
  let dsAb = 0, dbAb = 0, dsBe = 0, dbBe = 0, wAb = 0, wBe = 0, nAb = 0, nBe = 0;
  for (const r of last.rows) {
    const up = m.get(r.priceTicks + 1);
    if (!up) continue;
    const win = Math.sign(up.buy - r.sell);
    if (r.priceTicks >= hi) { dsAb += r.sell; dbAb += up.buy; wAb += win; nAb++; }
    if (r.priceTicks <= lo) { dsBe += r.sell; dbBe += up.buy; wBe += win; nBe++; }
  }
  const isUp = extUp > 0 ? 1 : 0, isDown = extDown > 0 ? 1 : 0;
  const diagAb = norm(dbAb, dsAb), diagBe = norm(dbBe, dsBe), dAb = norm(bAb, sAb), dBe = norm(bBe, sBe);
  return Float64Array.from([
    extUp, extDown, norm(bAll, sAll), dAb, dBe, diagAb, diagBe,
    isUp * diagAb, isDown * diagBe, isUp * dAb, isDown * dBe, nAb ? wAb / nAb : 0, nBe ? wBe / nBe : 0,
  ]);
}

export interface LogisticOptions {
  /** L2 penalty on the weights (not the intercept), default 1e-2. */
  readonly l2: number;
  readonly maxIter: number;
  readonly tol: number;
}

const DEFAULT_LOGISTIC: LogisticOptions = Object.freeze({ l2: 1e-2, maxIter: 50, tol: 1e-8 });

interface Fitted {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  /** intercept first, then one weight per feature */
  readonly w: Float64Array;
  readonly iterations: number;
}

export class LogisticRegression {
  readonly options: LogisticOptions;
  private fitted: Fitted | null = null;
  constructor(opts: Partial<LogisticOptions> = {}) {
    for (const k of Object.keys(opts)) if (!(k in DEFAULT_LOGISTIC)) throw new InputError(`unknown logistic option ${JSON.stringify(k)}; known: ${Object.keys(DEFAULT_LOGISTIC).join(', ')}`);
    this.options = Object.freeze({ ...DEFAULT_LOGISTIC, ...opts });
  }

  clone(): LogisticRegression { return new LogisticRegression(this.options); }
  describe(): Record<string, unknown> { return { model: 'logistic-regression', ...this.options, iterations: this.fitted?.iterations ?? null }; }
  parameters(): Float64Array { if (!this.fitted) throw new NotFittedError('LogisticRegression: fit first'); return this.fitted.w.slice(); }

  fit(x: readonly Float64Array[], y: readonly number[]): this {
    const n = x.length;
    if (n === 0 || n !== y.length) throw new InputError(`LogisticRegression.fit: ${n} rows and ${y.length} labels`);
    const d = x[0].length;
    const mean = new Float64Array(d), scale = new Float64Array(d);
    for (const r of x) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
    for (const r of x) for (let j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) ** 2 / n;
    for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]) || 1;
    const z = x.map((r) => { const o = new Float64Array(d + 1); o[0] = 1; for (let j = 0; j < d; j++) o[j + 1] = (r[j] - mean[j]) / scale[j]; return o; });
    const D = d + 1;
    const w = new Float64Array(D);
    let it = 0;
    for (; it < this.options.maxIter; it++) {
      const g = new Float64Array(D), H = new Float64Array(D * D);
      for (let i = 0; i < n; i++) {
        const zi = z[i];
        let s = 0;
        for (let j = 0; j < D; j++) s += w[j] * zi[j];
        const p = 1 / (1 + Math.exp(-s));
        const r = p - y[i], v = Math.max(p * (1 - p), 1e-10);
        for (let j = 0; j < D; j++) {
          g[j] += r * zi[j];
          for (let k = 0; k <= j; k++) H[j * D + k] += v * zi[j] * zi[k];
        }
      }
      for (let j = 1; j < D; j++) { g[j] += this.options.l2 * n * w[j]; H[j * D + j] += this.options.l2 * n; }
      H[0] += 1e-9 * n;
      for (let j = 0; j < D; j++) for (let k = j + 1; k < D; k++) H[j * D + k] = H[k * D + j];
      const step = solveSpd(H, g, D);
      let mx = 0;
      for (let j = 0; j < D; j++) { w[j] -= step[j]; mx = Math.max(mx, Math.abs(step[j])); }
      if (mx < this.options.tol) { it++; break; }
    }
    this.fitted = { mean, scale, w, iterations: it };
    return this;
  }

  predictProba(x: Float64Array): number {
    const f = this.fitted;
    if (!f) throw new NotFittedError('LogisticRegression: predict before fit');
    let s = f.w[0];
    for (let j = 0; j < x.length; j++) s += f.w[j + 1] * (x[j] - f.mean[j]) / f.scale[j];
    return 1 / (1 + Math.exp(-s));
  }

  predict(x: Float64Array): boolean { return this.predictProba(x) >= 0.5; }
}

/** Cholesky solve of a small symmetric positive definite system (row-major, full storage). */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new NumericalError(`logistic regression: Hessian not positive definite at column ${i}`);
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) { let s = b[i]; for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k]; y[i] = s / L[i * n + i]; }
  const xx = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) { let s = y[i]; for (let k = i + 1; k < n; k++) s -= L[k * n + i] * xx[k]; xx[i] = s / L[i * n + i]; }
  return xx;
}
