// The learned non-LLM baseline: L2-regularised logistic regression (core/estimators) on engineered
// footprint features, fitted by Newton's method (IRLS) on standardised features. It predicts the verdict
// only. Features describe the breakout bar against the range without applying the rule itself:
// how far it extends past each side, straight and diagonal order-flow imbalance beyond each side,
// and those imbalances gated by the side that was broken (a linear model cannot form the
// direction x side interaction on its own).
import { LogisticRegression, LOGISTIC_DEFAULTS, type LogisticOptions as CoreLogisticOptions } from '../core/estimators/index.js';
import { withDefaults } from '../core/options.js';
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

/** The options of the verdict model that `breakout eval --pipeline learned` exposes. */
export type LogisticOptions = Pick<CoreLogisticOptions, 'l2' | 'maxIter' | 'tol'>;

/**
 * The verdict model: core's logistic regression with the Newton solver on standardised features,
 * the intercept unpenalised (l2 default 1e-2, at most 50 steps, tol 1e-8). Fit with labels 0/1.
 */
export function verdictModel(opts: Partial<LogisticOptions> = {}): LogisticRegression {
  const o = withDefaults({ l2: LOGISTIC_DEFAULTS.l2, maxIter: LOGISTIC_DEFAULTS.maxIter, tol: LOGISTIC_DEFAULTS.tol }, opts, 'breakout learned baseline');
  return new LogisticRegression({ solver: 'newton', ...o });
}
