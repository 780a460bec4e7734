// Small learners used by the assignment and hydrogen stages: the classifier (core/estimators'
// softmax regression) and the Hungarian assignment.
import { LogisticRegression } from '../core/estimators/index.js';
import { withDefaults } from '../core/options.js';

export interface LogRegOptions {
  readonly l2?: number;
  readonly epochs?: number;
  readonly lr?: number;
}

/**
 * The classifier of the assignment and hydrogen stages: core's softmax regression on standardised
 * features by full-batch gradient descent (the intercept penalised too), l2 1e-2, 300 steps of 0.5.
 */
export function peakClassifier(options: LogRegOptions = {}): LogisticRegression<string> {
  const o = withDefaults({ l2: 1e-2, epochs: 300, lr: 0.5 }, options, 'crystal classifier');
  return new LogisticRegression<string>({ solver: 'gd', penalizeIntercept: true, ...o });
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
