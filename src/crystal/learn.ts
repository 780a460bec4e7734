// Small learners used by the assignment and hydrogen stages: standardised multinomial logistic
// regression (full-batch gradient descent with L2) and the Hungarian assignment.
import { NotFittedError, InputError } from '../core/errors.js';

export interface LogRegOptions {
  readonly l2?: number;
  readonly epochs?: number;
  readonly lr?: number;
}

export class LogisticRegression {
  readonly options: Required<LogRegOptions>;
  private fitted: { classes: string[]; mu: number[]; sd: number[]; W: Float64Array; d: number } | null = null;

  constructor(options: LogRegOptions = {}) {
    const known = ['l2', 'epochs', 'lr'];
    for (const k of Object.keys(options)) if (!known.includes(k)) throw new InputError(`LogisticRegression: unknown option ${k}; known: ${known.join(', ')}`);
    this.options = Object.freeze({ l2: options.l2 ?? 1e-2, epochs: options.epochs ?? 300, lr: options.lr ?? 0.5 });
  }

  describe(): Record<string, unknown> { return { kind: 'multinomial-logistic', ...this.options }; }

  get classes(): readonly string[] {
    if (!this.fitted) throw new NotFittedError('LogisticRegression: fit first');
    return this.fitted.classes;
  }

  fit(X: readonly (readonly number[])[], y: readonly string[]): this {
    if (X.length === 0 || X.length !== y.length) throw new InputError(`LogisticRegression.fit: ${X.length} rows, ${y.length} labels`);
    const d = X[0].length;
    const classes = [...new Set(y)].sort();
    const C = classes.length;
    const mu = new Array<number>(d).fill(0), sd = new Array<number>(d).fill(0);
    for (const r of X) r.forEach((v, j) => { mu[j] += v / X.length; });
    for (const r of X) r.forEach((v, j) => { sd[j] += (v - mu[j]) ** 2 / X.length; });
    for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]) || 1;
    const Z = X.map((r) => [...r.map((v, j) => (v - mu[j]) / sd[j]), 1]);
    const D = d + 1;
    const W = new Float64Array(C * D);
    const yi = y.map((c) => classes.indexOf(c));
    const { l2, epochs, lr } = this.options;
    const G = new Float64Array(C * D);
    const p = new Float64Array(C);
    for (let e = 0; e < epochs; e++) {
      G.fill(0);
      for (let n = 0; n < Z.length; n++) {
        const z = Z[n];
        let mx = -Infinity;
        for (let c = 0; c < C; c++) { let s = 0; for (let j = 0; j < D; j++) s += W[c * D + j] * z[j]; p[c] = s; if (s > mx) mx = s; }
        let tot = 0;
        for (let c = 0; c < C; c++) { p[c] = Math.exp(p[c] - mx); tot += p[c]; }
        for (let c = 0; c < C; c++) {
          const g = p[c] / tot - (c === yi[n] ? 1 : 0);
          for (let j = 0; j < D; j++) G[c * D + j] += g * z[j];
        }
      }
      for (let i = 0; i < W.length; i++) W[i] -= lr * (G[i] / Z.length + l2 * W[i]);
    }
    this.fitted = { classes, mu, sd, W, d };
    return this;
  }

  /** Class probabilities per row; classes outside `allowed` get probability 0 (renormalised). */
  predictProba(X: readonly (readonly number[])[], allowed?: readonly string[]): Float64Array[] {
    const f = this.fitted;
    if (!f) throw new NotFittedError('LogisticRegression: predict before fit');
    const C = f.classes.length, D = f.d + 1;
    return X.map((r) => {
      const z = [...r.map((v, j) => (v - f.mu[j]) / f.sd[j]), 1];
      const s = new Float64Array(C);
      let mx = -Infinity;
      for (let c = 0; c < C; c++) {
        if (allowed && !allowed.includes(f.classes[c])) { s[c] = -Infinity; continue; }
        let t = 0; for (let j = 0; j < D; j++) t += f.W[c * D + j] * z[j]; s[c] = t; if (t > mx) mx = t;
      }
      let tot = 0;
      for (let c = 0; c < C; c++) { s[c] = Number.isFinite(s[c]) ? Math.exp(s[c] - mx) : 0; tot += s[c]; }
      for (let c = 0; c < C; c++) s[c] = tot > 0 ? s[c] / tot : 0;
      return s;
    });
  }
}

/** Minimum-cost assignment of rows to columns (square cost matrix), O(n^3). Returns col per row. */
export function hungarian(cost: readonly (readonly number[])[]): number[] {
  const n = cost.length;
  const u = new Float64Array(n + 1), v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1), way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Infinity);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
        if (minv[j] < delta) { delta = minv[j]; j1 = j; }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) { u[p[j]] += delta; v[j] -= delta; } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do { const j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0);
  }
  const ans = new Array<number>(n).fill(-1);
  for (let j = 1; j <= n; j++) if (p[j] > 0) ans[p[j] - 1] = j - 1;
  return ans;
}
