// Light-atom swaps (C, N, O): signals beyond R1 for telling which of the three a site holds, and
// their evaluation on swaps injected one at a time into correct structures.
//
// Per C/N/O site, the site is refitted (scale and an isotropic U shift on top of its U or Uij, as
// in the R1-swap test) with each of C, N and O. That one set of fits serves both the correct
// structure (current element = the true one) and every injected swap at the site (current element
// = the wrong one, its U refitted as a refinement would have), because the rest of the model is the
// same. Three signals compare the current element `cur` with an alternative `alt`:
// - fit: Hamilton's statistic (S_cur - S_alt) / (S_alt / (n - p)), as signed square root;
// - adp: log(U_cur / U_ref) * sign(Z_cur - Z_alt), U_cur the U refitted with `cur`, U_ref the mean
//   Ueq of the bonded non-H neighbours: too few electrons at a site shrink its refitted U, too many
//   inflate it, so a U out of line with the neighbours in the direction `alt` explains supports `alt`;
// - geometry: log-likelihood ratio of the site's bond lengths to non-H neighbours under `alt` and
//   under `cur` (mixtures over bond orders), plus a prior on the number of non-H neighbours
//   (an O with three is rare). Bonds to H are left out: riding H are placed for the element the
//   model already has, so in a real mis-assigned structure they would agree with the wrong one.
// A logistic model on the three signals scores each (site, alternative); a site is flagged when
// its best alternative scores above a threshold set for a target false-alarm rate on correct atoms.
import { InputError } from '../core/errors.js';
import { LogisticRegression } from '../core/estimators/index.js';
import { checkOptionKeys } from '../core/options.js';
import { bondsByCovalentRadii } from './connect.js';
import { atomicNumber, covalentRadius } from './elements.js';
import { agreementFromFc, type RefinementCase } from './refine.js';
import { SfCalculator } from './sf.js';
import { siteU, type Site } from './structure.js';
import { addTrial, countParameters, f1Quantile, alternativesFor, golden, siteFactor } from './validate.js';

export const LIGHT = ['C', 'N', 'O'] as const;
export type Light = (typeof LIGHT)[number];
const isLight = (e: string): e is Light => (LIGHT as readonly string[]).includes(e);

/** Typical bond lengths (Å) by bond order for pairs with C, N or O (Allen et al. 1987, rounded). */
const BOND_MODES: Readonly<Record<string, readonly number[]>> = {
  'C-C': [1.2, 1.34, 1.39, 1.47, 1.53], 'C-N': [1.15, 1.28, 1.34, 1.4, 1.47], 'C-O': [1.21, 1.25, 1.31, 1.36, 1.43],
  'N-N': [1.12, 1.25, 1.35, 1.42], 'N-O': [1.22, 1.3, 1.41], 'O-O': [1.48],
  'C-F': [1.34], 'C-Cl': [1.74], 'C-Br': [1.9], 'C-I': [2.1], 'C-S': [1.68, 1.76, 1.82], 'C-P': [1.8], 'C-Si': [1.86], 'B-C': [1.57],
  'N-S': [1.58, 1.63], 'O-S': [1.44, 1.57], 'N-P': [1.6, 1.67], 'O-P': [1.48, 1.58], 'O-Si': [1.63], 'Cl-O': [1.44], 'B-O': [1.37, 1.47],
  'B-N': [1.42, 1.58], 'Cl-N': [1.75], 'F-N': [1.4], 'F-O': [1.42], 'O-Se': [1.6, 1.7], 'Al-O': [1.74], 'Al-N': [1.88],
};
const SIGMA_MODE = 0.03, SIGMA_BROAD = 0.2, W_BROAD = 0.1;

function logNormal(d: number, mu: number, s: number): number {
  return -0.5 * ((d - mu) / s) ** 2 - Math.log(s * Math.sqrt(2 * Math.PI));
}

/** log p(d | el bonded to x): a mixture over the pair's bond orders plus a broad component; pairs not tabulated: covalent radii, σ 0.1 Å. */
export function bondLogLikelihood(el: string, x: string, d: number): number {
  const key = el < x ? `${el}-${x}` : `${x}-${el}`;
  const modes = BOND_MODES[key];
  if (!modes) return logNormal(d, covalentRadius(el) + covalentRadius(x), 0.1);
  const mean = modes.reduce((a, b) => a + b, 0) / modes.length;
  let p = W_BROAD * Math.exp(logNormal(d, mean, SIGMA_BROAD));
  for (const m of modes) p += ((1 - W_BROAD) / modes.length) * Math.exp(logNormal(d, m, SIGMA_MODE));
  return Math.log(p);
}

/** log prior of k non-H neighbours: C up to 4, N up to 3 (4 as ammonium), O up to 2. */
function coordinationLogPrior(el: Light, k: number): number {
  const max = el === 'C' ? 4 : el === 'N' ? 3 : 2;
  if (k <= max) return 0;
  if (el === 'N' && k === 4) return -1.5;
  return -4 * (k - max);
}

export interface ElementFit { readonly s: number; readonly u: number; readonly r1: number }

export interface LightSite {
  readonly index: number;
  readonly label: string;
  readonly element: Light;
  readonly occ: number;
  /** Mean Ueq of the bonded non-H neighbours (the structure's median non-H U when none). */
  readonly uRef: number;
  readonly heavyNeighbours: number;
  readonly fits: Readonly<Record<Light, ElementFit>>;
  /** Geometry log-likelihood of the site holding each element. */
  readonly geometry: Readonly<Record<Light, number>>;
}

export interface LightSiteFits {
  readonly name: string;
  readonly dof: number;
  /** The R1-swap test's Bonferroni threshold on F for this structure (α = 0.05 over all its comparisons). */
  readonly fThreshold: number;
  readonly sites: LightSite[];
}

/** Refit every C/N/O site of a structure with each of C, N and O (scale and U shift refitted each time). */
export function lightSiteFits(c: RefinementCase, opts: { anomalous?: boolean; onSite?: () => void } = {}): LightSiteFits {
  checkOptionKeys(opts, ['anomalous', 'onSite'], 'lightSiteFits');
  const st = c.structure, sites = st.sites;
  const calc = new SfCalculator(st.cell, st.sg, c.merged, st.wavelength, { anomalous: opts.anomalous ?? true });
  const n = calc.n;
  const dof = Math.max(1, n - countParameters(sites));
  const comparisons = sites.filter((s) => s.element !== 'H').reduce((m, s) => m + alternativesFor(s.element).length, 0);
  const fThreshold = f1Quantile(0.05 / Math.max(1, comparisons), dof);
  const total = calc.compute(sites);
  const bonds = bondsByCovalentRadii(st);
  const heavyU = sites.filter((s) => s.element !== 'H').map((s) => siteU(st.cell, s)).sort((a, b) => a - b);
  const medianU = heavyU[Math.floor(heavyU.length / 2)] ?? 0.03;
  const re = new Float64Array(n), im = new Float64Array(n), fc = new Float64Array(n);
  const out: LightSite[] = [];
  sites.forEach((s, i) => {
    if (!isLight(s.element)) return;
    const q = siteFactor(calc, s);
    const restRe = total.re.map((v, j) => v - q.own.re[j]), restIm = total.im.map((v, j) => v - q.own.im[j]);
    const u0 = siteU(st.cell, s);
    const fit = (el: string): ElementFit => {
      const ev = (du: number) => {
        re.set(restRe); im.set(restIm);
        addTrial(calc, q, el, du, re, im);
        for (let j = 0; j < n; j++) fc[j] = Math.sqrt(re[j] * re[j] + im[j] * im[j]);
        return agreementFromFc(c, fc);
      };
      const S = (du: number) => { const e = ev(du); return e.goof * e.goof * e.n; };
      const du = golden(S, Math.max(-0.8 * u0, 0.001 - u0), Math.max(0.05, u0), 1e-4);
      const e = ev(du);
      return { s: e.goof * e.goof * e.n, u: u0 + du, r1: e.r1 };
    };
    const fits = { C: fit('C'), N: fit('N'), O: fit('O') };
    const nb = bonds[i].filter((b) => sites[b.j].element !== 'H' && !(sites[b.j].part !== 0 && s.part !== 0 && sites[b.j].part !== s.part));
    const uRef = nb.length ? nb.reduce((a, b) => a + siteU(st.cell, sites[b.j]), 0) / nb.length : medianU;
    const geometry = {} as Record<Light, number>;
    for (const el of LIGHT) geometry[el] = nb.reduce((a, b) => a + bondLogLikelihood(el, sites[b.j].element, b.d), 0) + coordinationLogPrior(el, nb.length);
    out.push({ index: i, label: s.label, element: s.element, occ: s.occ, uRef, heavyNeighbours: nb.length, fits, geometry });
    opts.onSite?.();
  });
  return { name: c.name, dof, fThreshold, sites: out };
}

export const SIGNALS = ['fit', 'adp', 'geometry'] as const;
export type Signal = (typeof SIGNALS)[number];

/** Hamilton's F for `alt` against `cur` at a site (positive: `alt` fits better). */
export function hamiltonF(f: LightSiteFits, s: LightSite, cur: Light, alt: Light): number {
  return (s.fits[cur].s - s.fits[alt].s) / (s.fits[alt].s / f.dof);
}

/** The three signals for `alt` against `cur` at a site, each positive when it favours `alt`. */
export function signals(f: LightSiteFits, s: LightSite, cur: Light, alt: Light): Record<Signal, number> {
  const F = hamiltonF(f, s, cur, alt);
  return {
    fit: Math.sign(F) * Math.sqrt(Math.abs(F)),
    adp: Math.log(Math.max(1e-4, s.fits[cur].u) / s.uRef) * Math.sign(atomicNumber(cur) - atomicNumber(alt)),
    geometry: s.geometry[alt] - s.geometry[cur],
  };
}

/** One test: a site holding `cur` (the true element, or a swap into it from `truth`) against `alt`. */
interface Row { readonly structure: number; readonly site: number; readonly truth: Light; readonly cur: Light; readonly alt: Light; readonly x: Record<Signal, number>; readonly F: number }

function rowsOf(all: readonly LightSiteFits[]): Row[] {
  const rows: Row[] = [];
  all.forEach((f, k) => {
    for (const s of f.sites) for (const cur of LIGHT) for (const alt of LIGHT) {
      if (alt === cur) continue;
      rows.push({ structure: k, site: s.index, truth: s.element, cur, alt, x: signals(f, s, cur, alt), F: hamiltonF(f, s, cur, alt) });
    }
  });
  return rows;
}

export interface SwapKindResult { readonly kind: string; readonly swaps: number; readonly caught: number; readonly identified: number; readonly recall: number; readonly identified_rate: number }
export interface DetectorResult {
  readonly signals: readonly Signal[] | 'validate-F';
  readonly per_kind: SwapKindResult[];
  readonly swaps: number;
  readonly caught: number;
  readonly recall: number;
  readonly correct_atoms: number;
  readonly false_alarms: number;
  readonly false_alarm_rate: number;
  /** The same tallies over fully occupied sites only (occupancy >= 0.99). */
  readonly fully_occupied: { swaps: number; caught: number; correct_atoms: number; false_alarms: number };
  /** Per held-out structure: its threshold (from the other structures), swaps caught and false alarms. */
  readonly per_structure: { name: string; threshold: number; swaps: number; caught: number; correct_atoms: number; false_alarms: number; weights: Record<string, number> | null; false_alarm_sites: string[]; missed_swaps: string[] }[];
}

export interface SwapEvalOptions {
  /** False-alarm rate on the training structures' correct atoms (each scored by a model fitted without its structure) that sets each fold's threshold (default 0.04). */
  readonly targetFalseAlarms?: number;
  /** Signal sets to evaluate (default: each alone and all three). */
  readonly signalSets?: readonly (readonly Signal[])[];
}

const swapKind = (from: Light, to: Light) => `${from}->${to}`;

/**
 * Leave-one-structure-out evaluation: for each structure, a logistic model on the chosen signals is
 * fitted to the other structures' rows (injected swaps scored against their true element: 1;
 * correct atoms against each alternative: 0; classes balanced), and the threshold is the
 * (1 - target) quantile of the other structures' correct atoms' best scores, each scored by a model
 * fitted without it (a nested leave-one-structure-out within the training structures). The held-out
 * structure's correct atoms and every swap injected into it (each C/N/O site to each of the other
 * two, one at a time) are then scored. `validate-F` is the R1-swap test's own rule for comparison:
 * flagged when F exceeds its Bonferroni threshold, nothing fitted.
 */
export function evaluateLightSwaps(all: readonly LightSiteFits[], opts: SwapEvalOptions = {}): DetectorResult[] {
  checkOptionKeys(opts, ['targetFalseAlarms', 'signalSets'], 'evaluateLightSwaps');
  const target = opts.targetFalseAlarms ?? 0.04;
  if (!(target > 0 && target < 0.5)) throw new InputError(`evaluateLightSwaps: targetFalseAlarms must be in (0, 0.5), got ${target}`);
  // Three at least: each fold's threshold comes from structures held out of a model that also excludes the fold's own.
  if (all.length < 3) throw new InputError(`evaluateLightSwaps: need at least 3 structures for the nested leave-one-structure-out, got ${all.length}`);
  const sets = opts.signalSets ?? [['fit'], ['adp'], ['geometry'], [...SIGNALS]];
  const rows = rowsOf(all);
  const results: DetectorResult[] = [];
  const tally = (score: (r: Row) => number, threshold: (k: number) => number, weights: (k: number) => Record<string, number> | null, label: DetectorResult['signals']): DetectorResult => {
    const kinds = new Map<string, { swaps: number; caught: number; identified: number }>();
    for (const a of LIGHT) for (const b of LIGHT) if (a !== b) kinds.set(swapKind(a, b), { swaps: 0, caught: 0, identified: 0 });
    const per = all.map((f, k) => ({ name: f.name, threshold: threshold(k), swaps: 0, caught: 0, correct_atoms: 0, false_alarms: 0, weights: weights(k), false_alarm_sites: [] as string[], missed_swaps: [] as string[] }));
    const siteOf = (k: number, i: number) => all[k].sites.find((x) => x.index === i)!;
    const describe = (r: Row) => { const x = siteOf(r.structure, r.site); return `${x.label}${x.occ < 0.99 ? ` (occ ${+x.occ.toFixed(2)})` : ''}`; };
    // Group rows by (structure, site, cur): one test each.
    const full = { swaps: 0, caught: 0, correct_atoms: 0, false_alarms: 0 };
    const tests = new Map<string, Row[]>();
    for (const r of rows) { const key = `${r.structure}:${r.site}:${r.cur}`; const l = tests.get(key) ?? []; l.push(r); tests.set(key, l); }
    for (const rs of tests.values()) {
      const r0 = rs[0], p = per[r0.structure];
      let best = rs[0], bestScore = score(rs[0]);
      for (const r of rs) { const v = score(r); if (v > bestScore) { best = r; bestScore = v; } }
      const flagged = bestScore > p.threshold;
      if (siteOf(r0.structure, r0.site).occ >= 0.99) {
        if (r0.cur === r0.truth) { full.correct_atoms++; if (flagged) full.false_alarms++; } else { full.swaps++; if (flagged) full.caught++; }
      }
      if (r0.cur === r0.truth) { p.correct_atoms++; if (flagged) { p.false_alarms++; p.false_alarm_sites.push(`${describe(r0)}->${best.alt}`); } continue; }
      const kd = kinds.get(swapKind(r0.truth, r0.cur))!;
      kd.swaps++; p.swaps++;
      if (flagged) { kd.caught++; p.caught++; if (best.alt === r0.truth) kd.identified++; } else p.missed_swaps.push(`${describe(r0)} ${r0.truth}->${r0.cur}`);
    }
    const swaps = per.reduce((a, p) => a + p.swaps, 0), caught = per.reduce((a, p) => a + p.caught, 0);
    const correct = per.reduce((a, p) => a + p.correct_atoms, 0), fa = per.reduce((a, p) => a + p.false_alarms, 0);
    return {
      signals: label,
      per_kind: [...kinds].map(([kind, v]) => ({ kind, ...v, recall: v.swaps ? v.caught / v.swaps : 0, identified_rate: v.swaps ? v.identified / v.swaps : 0 })),
      swaps, caught, recall: swaps ? caught / swaps : 0, correct_atoms: correct, false_alarms: fa, false_alarm_rate: correct ? fa / correct : 0, fully_occupied: full, per_structure: per,
    };
  };
  // The R1-swap test's rule: F above the structure's Bonferroni threshold.
  results.push(tally((r) => r.F, (k) => all[k].fThreshold, () => null, 'validate-F'));
  for (const set of sets) {
    const feats = (r: Row) => set.map((s) => r.x[s]);
    const fitOn = (keep: (k: number) => boolean) => {
      const train = rows.filter((r) => keep(r.structure) && (r.cur === r.truth || r.alt === r.truth));
      const m = new LogisticRegression<number>({ classWeight: 'balanced', l2: 1e-3 });
      m.fit(train.map(feats), train.map((r) => (r.cur === r.truth ? 0 : 1)), { classes: [0, 1] });
      return { m, logit: (r: Row) => m.decisionFunction([feats(r)]).data[0] };
    };
    const bestOfCorrect = (logit: (r: Row) => number, k: number) => {
      const best = new Map<number, number>();
      for (const r of rows) if (r.structure === k && r.cur === r.truth) best.set(r.site, Math.max(best.get(r.site) ?? -Infinity, logit(r)));
      return [...best.values()];
    };
    const models = all.map((_, h) => {
      const outer = fitOn((k) => k !== h);
      // Threshold from correct atoms the model did not see: for each other structure i, a model
      // fitted without h and i scores i's correct atoms; the (1 - target) quantile of those scores.
      // (Quantiles of in-sample scores are optimistic: the model was fitted to those very atoms.)
      const held: number[] = [];
      for (let i = 0; i < all.length; i++) if (i !== h) held.push(...bestOfCorrect(fitOn((k) => k !== h && k !== i).logit, i));
      held.sort((a, b) => a - b);
      const t = held[Math.min(held.length - 1, Math.floor((1 - target) * held.length))] ?? Infinity;
      const w = outer.m.coefficients().data;
      return { logit: outer.logit, t, weights: Object.fromEntries([...set.map((s, j) => [s, +w[j].toFixed(4)]), ['intercept', +w[set.length].toFixed(4)]]) };
    });
    results.push(tally((r) => models[r.structure].logit(r), (k) => models[k].t, (k) => models[k].weights, set));
  }
  return results;
}
