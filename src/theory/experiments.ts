// The two experiments behind `perennial theory regression` and `perennial theory hmm`: their
// settings, JSON metrics (the documented shapes) and report sections.
import { InputError, warn } from '../core/errors.js';
import { formatNumber } from '../core/format.js';
import { lineChart, SectionBuilder, type Section } from '../core/report.js';
import { MAX_REPEATS, capSize } from '../core/limits.js';
import { DEFAULT_LAMBDAS, MAX_TASKS, checkSimulationSize, lambdaKey, simulateCLR, type SimulationResult } from './simulate.js';
import { SHIFT_KINDS, type ShiftKind } from './clr.js';
import { checkRiskCurveSize, riskCurve, type RiskCurve } from './hmm.js';
import { checkOptionKeys } from '../core/options.js';
import { logIntGrid } from '../core/stats.js';

export interface RegressionExperimentOptions {
  readonly tasks: number;
  readonly n: number;
  readonly p: number;
  readonly sigma2: readonly number[];
  readonly shift: readonly ShiftKind[];
  readonly repeats: number;
  readonly lambdas: readonly number[];
  readonly seed: number;
}
export const REGRESSION_DEFAULTS: RegressionExperimentOptions = {
  tasks: 20, n: 150, p: 200, sigma2: [1, 5], shift: ['none', 'diag'], repeats: 20, lambdas: DEFAULT_LAMBDAS, seed: 0,
};

export interface GL2VersusRidge {
  readonly sigma2: number;
  readonly shift: ShiftKind;
  readonly gl2_population: number;
  readonly gl2_population_se: number;
  /** The fixed lambda with the lowest final error, chosen in hindsight on these very runs. */
  readonly best_ridge_lambda: number;
  readonly best_ridge: number;
  readonly best_ridge_se: number;
  readonly gl2_population_wins: boolean;
}

export interface RegressionMetrics {
  readonly tasks: number;
  readonly n: number;
  readonly p: number;
  readonly repeats: number;
  readonly settings: SimulationResult[];
  readonly gl2_population_vs_best_ridge: GL2VersusRidge[];
}

export function checkRegressionOptions(o: RegressionExperimentOptions): void {
  checkOptionKeys(o, Object.keys(REGRESSION_DEFAULTS), 'theory regression');
  for (const s of o.shift) if (!SHIFT_KINDS.includes(s)) throw new InputError(`--shift: unknown setting ${JSON.stringify(s)} (known: ${SHIFT_KINDS.join(', ')})`);
  if (o.sigma2.length === 0 || o.shift.length === 0) throw new InputError('--sigma2 and --shift need at least one value each');
  // Sizes first: a p of 1e9 must be refused here, not after minutes of allocation.
  capSize('--tasks', o.tasks, MAX_TASKS, 'theory regression');
  capSize('--repeats', o.repeats, MAX_REPEATS, 'theory regression');
  if (Number.isInteger(o.n) && o.n >= 1 && Number.isInteger(o.p) && o.p >= 1 && o.tasks >= 1 && o.repeats >= 1) {
    checkSimulationSize(o.p, Array.from({ length: o.tasks }, () => o.n), o.repeats, o.lambdas.length, 'theory regression (--p, --n, --tasks, --repeats)');
  }
}

export function runRegression(o: RegressionExperimentOptions, onRepeat?: () => void): RegressionMetrics {
  checkRegressionOptions(o);
  const settings: SimulationResult[] = [];
  for (const shift of o.shift) {
    for (const sigma2 of o.sigma2) {
      // The same seed for every setting: settings are paired (same w*, design draws and noise draws).
      settings.push(simulateCLR({ p: o.p, n: o.n, T: o.tasks, sigma2, shift, repeats: o.repeats, seed: o.seed, lambdas: o.lambdas, onRepeat: onRepeat ? () => onRepeat() : undefined }));
    }
  }
  const T = o.tasks - 1;
  const versus = settings.map((s): GL2VersusRidge => {
    let best = o.lambdas[0];
    for (const l of o.lambdas) if (s.errors.ridge[lambdaKey(l)][T] < s.errors.ridge[lambdaKey(best)][T]) best = l;
    const gl2 = s.errors.gl2_population[T], ridge = s.errors.ridge[lambdaKey(best)][T];
    return {
      sigma2: s.sigma2, shift: s.shift,
      gl2_population: gl2, gl2_population_se: s.se.gl2_population[T],
      best_ridge_lambda: best, best_ridge: ridge, best_ridge_se: s.se.ridge[lambdaKey(best)][T],
      gl2_population_wins: gl2 < ridge,
    };
  });
  for (const v of versus) {
    if (!v.gl2_population_wins) {
      warn(`theory-gl2-vs-ridge-${v.shift}-${v.sigma2}`, `population-form GL2 (${v.gl2_population.toPrecision(3)}) loses to continual ridge with lambda=${v.best_ridge_lambda} (${v.best_ridge.toPrecision(3)}) at t=${o.tasks}, shift=${v.shift}, sigma2=${v.sigma2} (lambda picked in hindsight)`);
    }
  }
  return { tasks: o.tasks, n: o.n, p: o.p, repeats: o.repeats, settings, gl2_population_vs_best_ridge: versus };
}

const fmt = (x: number | null | undefined): string => formatNumber(x, { significant: 3 });

export function regressionSections(m: RegressionMetrics, title = 'theory: continual linear regression'): Section[] {
  const head = new SectionBuilder(title)
    .text(`E||w_t - w*||^2 over ${m.repeats} paired repeats (same w*, designs and noise for every method), T=${m.tasks}, n_t=${m.n}, p=${m.p}. ` +
      'oracle = pooled least squares; min_norm = minimum-norm continual; ridge = continual ridge (H = lambda I); gl2_population uses ' +
      'H_t = (1/n_t) sum_{tau<t} n_tau Sigma_tau with population covariances; gl2_empirical uses sample covariances and equals the oracle. ' +
      'theory oracle = sigma^2 p/(N-p-1) (isotropic only); theory gl2_optimal = optimal per-direction lambda at population eigenvalues.');
  const lambdas = Object.keys(m.settings[0]?.errors.ridge ?? {}).sort((a, b) => Number(a) - Number(b));
  const rows = m.settings.map((s) => {
    const T = s.errors.oracle.length - 1;
    const cell = (v: number[], se: number[]): string => `${fmt(v[T])} ± ${fmt(se[T])}`;
    return [s.shift, s.sigma2, cell(s.errors.min_norm, s.se.min_norm), ...lambdas.map((l) => cell(s.errors.ridge[l], s.se.ridge[l])),
      cell(s.errors.gl2_population, s.se.gl2_population), cell(s.errors.gl2_empirical, s.se.gl2_empirical), fmt(s.theory.oracle[T]), fmt(s.theory.gl2_optimal[T]),
      s.gl2_empirical_vs_oracle_max_abs.toExponential(1)];
  });
  head.table(['shift', 'sigma2', 'MN', ...lambdas.map((l) => `CRR ${l}`), 'GL2 population', 'GL2 empirical (= ORA)', 'theory ORA', 'theory GL2 opt', 'max|GL2 emp - ORA|'], rows,
    `error at t = ${m.tasks} (mean ± standard error)`);
  head.table(['shift', 'sigma2', 'GL2 population', 'best fixed ridge (hindsight)', 'lambda', 'GL2 population wins'],
    m.gl2_population_vs_best_ridge.map((v) => [v.shift, v.sigma2, `${fmt(v.gl2_population)} ± ${fmt(v.gl2_population_se)}`, `${fmt(v.best_ridge)} ± ${fmt(v.best_ridge_se)}`, v.best_ridge_lambda, v.gl2_population_wins ? 'yes' : 'NO']),
    'population-form GL2 against the best fixed ridge lambda (picked on these runs, so the comparison favours ridge)');
  const sections: Section[] = [head.build()];
  for (const s of m.settings) {
    const data: Record<string, unknown>[] = [];
    const push = (name: string, v: readonly (number | null)[]): void => v.forEach((e, t) => { if (e !== null && Number.isFinite(e) && e > 0) data.push({ t: t + 1, error: e, method: name }); });
    push('oracle', s.errors.oracle);
    push('min_norm', s.errors.min_norm);
    for (const l of lambdas) push(`ridge ${l}`, s.errors.ridge[l]);
    push('gl2_population', s.errors.gl2_population);
    push('gl2_empirical', s.errors.gl2_empirical);
    push('theory oracle', s.theory.oracle);
    push('theory gl2_optimal', s.theory.gl2_optimal);
    sections.push(new SectionBuilder(`regression: shift=${s.shift}, sigma^2=${s.sigma2}`)
      .plot(lineChart(data, { x: 't', y: 'error', series: 'method', logY: true, xTitle: 'task t', yTitle: 'E||w_t - w*||^2' }))
      .build());
  }
  return sections;
}

export interface HmmExperimentOptions {
  readonly n: number;
  readonly p: readonly number[];
  readonly repeats: number;
  readonly sigmaU: number;
  readonly d: number;
  readonly rho: number;
  readonly L: number;
  readonly seed: number;
  readonly cutoff: number;
}
export const HMM_DEFAULTS: HmmExperimentOptions = {
  n: 100, p: [], repeats: 30, sigmaU: 3, d: 20, rho: 0.9, L: 8, seed: 0, cutoff: 1e-12,
};

export type HmmMetrics = Omit<RiskCurve, 'risks'> & {
  readonly dropped_p: number[];
  readonly d: number;
  readonly rho: number;
  readonly L: number;
  readonly repeats: number;
  readonly peak_p: number;
  readonly argmin_underparameterised_p: number | null;
};

export function runHmm(o: HmmExperimentOptions, onRepeat?: () => void): HmmMetrics {
  checkOptionKeys(o, Object.keys(HMM_DEFAULTS), 'theory hmm');
  checkRiskCurveSize(o.n, o.p, o.repeats, o.d, o.L, 'theory hmm (--n, --p, --repeats, --d, --L)');
  // The mean risk is infinite for n-1 <= p <= n+1: those grid points are dropped.
  const dropped = o.p.filter((p) => Math.abs(p - o.n) <= 1);
  const ps = [...new Set(o.p.filter((p) => Math.abs(p - o.n) > 1))].sort((a, b) => a - b);
  if (dropped.length) warn('theory-hmm-pole', `dropping p = ${dropped.join(', ')}: the risk is infinite for n-1 <= p <= n+1`);
  if (ps.length === 0) throw new InputError('--p: no grid points left after dropping n-1..n+1');
  const curve = riskCurve({ n: o.n, ps, repeats: o.repeats, sigmaU: o.sigmaU, d: o.d, rho: o.rho, L: o.L, seed: o.seed, cutoff: o.cutoff, onRepeat: onRepeat ? () => onRepeat() : undefined });
  const { risks: _risks, ...rest } = curve;
  const peak = ps[curve.risk_median.indexOf(Math.max(...curve.risk_median))];
  const under = ps.map((p, i) => [p, curve.risk_median[i]] as const).filter(([p]) => p < o.n);
  let argmin: number | null = null;
  if (under.length) {
    const best = under.reduce((a, b) => (b[1] < a[1] ? b : a));
    // p = 0 (predict nothing) is on the under-parameterised branch too: its risk is the null risk.
    argmin = best[1] < curve.null_risk ? best[0] : 0;
  }
  return { ...rest, dropped_p: dropped, d: o.d, rho: o.rho, L: o.L, repeats: o.repeats, peak_p: peak, argmin_underparameterised_p: argmin };
}

export function hmmSections(curves: readonly HmmMetrics[], title = 'theory: head tuning on a linear-Gaussian HMM'): Section[] {
  const first = curves[0];
  const b = new SectionBuilder(title).text(
    `Min-norm least-squares head on frozen features x = z_L W + u (d=${first.d}, rho=${first.rho}, L=${first.L}) predicting z_{L+1}; ` +
    `n=${first.n} training sequences, ${first.repeats} repeats, exact risk (no test sampling). Medians with quartiles: the mean is infinite at p = n. ` +
    `Null risk (predict 0) = ${first.null_risk}; Bayes risk = ${fmt(first.bayes_risk)}. Closed form E_p (n-1)/(n-p-1) for p <= n-2.`);
  b.table(['sigma_u', 'peak p', 'lowest under-param p (0 = predict nothing)', 'first-feature gain', '1/(n-2)', 'predicts monotone rise', `median at p=${first.p.at(-1)}`, 'null risk'],
    curves.map((c) => [c.sigma_u, c.peak_p, c.argmin_underparameterised_p, c.weak_features.gain.toExponential(2), c.weak_features.threshold.toExponential(2),
      c.weak_features.predicts_monotone_rise ? 'yes' : 'no', fmt(c.risk_median.at(-1)), c.null_risk]));
  const data: Record<string, unknown>[] = [];
  for (const c of curves) {
    c.p.forEach((p, i) => {
      data.push({ p, risk: c.risk_median[i], curve: `median, sigma_u=${c.sigma_u}` });
      const cf = c.closed_form[i];
      if (cf !== null && cf !== undefined) data.push({ p, risk: cf, curve: `closed form, sigma_u=${c.sigma_u}` });
    });
    data.push({ p: c.p[0], risk: c.null_risk, curve: 'null risk' }, { p: c.p.at(-1), risk: c.null_risk, curve: 'null risk' });
  }
  b.plot(lineChart(data, { x: 'p', y: 'risk', series: 'curve', logX: true, logY: true, xTitle: 'head features p', yTitle: 'test risk' }),
    'median risk against p (log-log); the pole at p = n is excluded from the grid');
  b.table(['p', ...curves.flatMap((c) => [`q25 (${c.sigma_u})`, `median (${c.sigma_u})`, `q75 (${c.sigma_u})`, `closed form (${c.sigma_u})`])],
    first.p.map((p, i) => [p, ...curves.flatMap((c) => [fmt(c.risk_q25[i]), fmt(c.risk_median[i]), fmt(c.risk_q75[i]), fmt(c.closed_form[i])])]));
  return [b.build()];
}

/** The default head sizes of `theory hmm`: `steps` log-spaced sizes over 5..400 plus n - 4 and n + 4, so both sides of the pole are sampled. */
export function defaultHeadSizes(n: number, steps = 24): number[] {
  const grid = new Set(logIntGrid(5, 400, steps));
  for (const q of [n - 4, n + 4]) if (q >= 1) grid.add(q);
  return [...grid].sort((a, b) => a - b);
}

export interface TheoryDemo {
  readonly regression: RegressionMetrics;
  readonly hmm: HmmMetrics[];
  readonly sections: Section[];
  /** The demo summary: final errors per setting, GL2 against the best ridge, and each HMM curve's peak. */
  readonly metrics: Record<string, unknown>;
}

/** The theory section of `perennial demo`: the regression experiment and HMM risk curves for weak (σ_u = 1) and strong (σ_u = 3) noise; `quick` uses fewer repeats and head sizes. */
export function theoryDemo(seed: number, quick: boolean): TheoryDemo {
  const regression = runRegression({ ...REGRESSION_DEFAULTS, repeats: quick ? 4 : REGRESSION_DEFAULTS.repeats, seed });
  const ps = defaultHeadSizes(HMM_DEFAULTS.n, quick ? 14 : 24);
  const hmm = [1, 3].map((sigmaU) => runHmm({ ...HMM_DEFAULTS, p: ps, sigmaU, repeats: quick ? 12 : HMM_DEFAULTS.repeats, seed }));
  const last = (v: number[]): number => v.at(-1)!;
  return {
    regression, hmm,
    sections: [...regressionSections(regression, 'theory: continual linear regression (demo)'), ...hmmSections(hmm, 'theory: HMM head tuning (demo)')],
    metrics: {
      regression_final: regression.settings.map((s) => ({ shift: s.shift, sigma2: s.sigma2, oracle: last(s.errors.oracle), min_norm: last(s.errors.min_norm), gl2_population: last(s.errors.gl2_population), gl2_empirical_vs_oracle: s.gl2_empirical_vs_oracle_max_abs })),
      gl2_population_vs_best_ridge: regression.gl2_population_vs_best_ridge,
      hmm: hmm.map((c) => ({ sigma_u: c.sigma_u, peak_p: c.peak_p, argmin_underparameterised_p: c.argmin_underparameterised_p, last_median: last(c.risk_median), null_risk: c.null_risk })),
    },
  };
}
