// The R1-swap test: for each non-H atom try the chemically plausible alternative elements,
// re-refine that atom's isotropic U shift and the scale, and flag atoms whose alternative lowers
// the least-squares residual S = sum w (Fo^2/k - Fc^2)^2 significantly: Hamilton's R-factor ratio
// test with one degree of freedom, Bonferroni-corrected over every comparison made in the
// structure. S (the quantity wR2 and the refinement are built on) decides; R1 is reported.
// Step-down: the most significant swap is accepted and the rest re-tested. When no single swap is
// significant, pairs of atoms heavier than Ne are tried jointly (two wrong heavy atoms can
// compensate through the scale so that each single swap fits worse), with a 2-degree-of-freedom
// test Bonferroni-corrected over the pair comparisons.
//
// Occupancies are kept: refining the occupancy of the swapped site would trade occupancy against
// scattering power and make the elements indistinguishable. Positions are kept: an element change
// alters how much a site scatters, not where.
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { atomicNumber, SYMBOLS } from './elements.js';
import { agreementFromFc, type RefinementCase } from './refine.js';
import { SfCalculator, type ComplexArray } from './sf.js';
import type { Site } from './structure.js';

const PLAUSIBLE: Readonly<Record<string, readonly string[]>> = {
  B: ['C'], C: ['N', 'O', 'B'], N: ['C', 'O'], O: ['N', 'C', 'F'], F: ['O', 'Cl'], Si: ['Al', 'P'], Al: ['Si', 'Mg'],
  P: ['S', 'Si'], S: ['Cl', 'P'], Cl: ['S', 'Br'], Br: ['Cl', 'Se'], Se: ['Br', 'S'], I: ['Te', 'Br'],
};

/** Alternatives to try for an element: the table above, else the neighbours in Z. */
export function alternativesFor(element: string): string[] {
  const t = PLAUSIBLE[element];
  if (t) return [...t];
  const z = atomicNumber(element);
  return [SYMBOLS[z - 2], SYMBOLS[z]].filter((e): e is string => !!e && e !== 'H');
}

export interface SwapResult {
  readonly label: string;
  readonly element: string;
  readonly flagged: boolean;
  readonly best_alternative: string | null;
  /** R1 with the best alternative minus R1 with the current element (both after the local refit). */
  readonly delta_r1: number;
  readonly delta_wr2: number;
  /**
   * Hamilton's statistic (S_current - S_alternative) / (S_alternative / (n - p)); positive when the
   * alternative fits better. Compared with `threshold`.
   */
  readonly f_stat: number;
  /**
   * For a swap found by the pair stage: the other atom of the pair (both changed together; f_stat
   * is then the pair's statistic, compared with `pair_threshold`). Null for single swaps.
   */
  readonly joint_with: string | null;
}

export interface SwapTestReport {
  readonly r1: number;
  readonly wr2: number;
  /** Number of (atom, alternative) comparisons, the Bonferroni divisor. */
  readonly comparisons: number;
  /** F(1, n - p) quantile at 1 - alpha / comparisons that f_stat must exceed. */
  readonly threshold: number;
  readonly alpha: number;
  readonly nParams: number;
  /** Pair stage: number of joint (pair, alternative, alternative) comparisons among atoms heavier than Ne, and its threshold. */
  readonly pair_comparisons: number;
  readonly pair_threshold: number;
  readonly atoms: SwapResult[];
}

export interface SwapTestOptions {
  /** Family-wise false-alarm probability per structure (default 0.05). */
  readonly alpha?: number;
  readonly anomalous?: boolean;
  readonly onAtom?: (i: number, n: number) => void;
}

const KNOWN_OPTIONS = ['alpha', 'anomalous', 'onAtom'];

/** Minimise f on [a, b] by golden-section search to an interval of width tol. */
export function golden(f: (x: number) => number, a: number, b: number, tol: number): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a), d = a + g * (b - a), fc = f(c), fd = f(d);
  while (b - a > tol) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - g * (b - a); fc = f(c); } else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = f(d); }
  }
  return fc < fd ? c : d;
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new InputError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Upper quantile of F(1, nu) at tail probability p: the square of Student's t at p/2, from the
 * normal quantile by the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5).
 */
export function f1Quantile(p: number, nu: number): number {
  const z = normalQuantile(1 - p / 2);
  const z3 = z ** 3, z5 = z ** 5, z7 = z ** 7;
  const t = z + (z3 + z) / (4 * nu) + (5 * z5 + 16 * z3 + 3 * z) / (96 * nu * nu) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * nu ** 3);
  return t * t;
}

/** Upper quantile of F(2, nu) at tail probability p (closed form: nu/2 (p^(-2/nu) - 1)). */
export function f2Quantile(p: number, nu: number): number {
  if (!(p > 0 && p < 1)) throw new InputError(`f2Quantile: p must be in (0, 1), got ${p}`);
  return (nu / 2) * (Math.pow(p, -2 / nu) - 1);
}

/** Refined parameters of a SHELX-like model: scale, and x, y, z plus 1 or 6 U per non-H site. */
export function countParameters(sites: readonly Site[]): number {
  return 1 + sites.filter((s) => s.element !== 'H').reduce((n, s) => n + 3 + (s.uani ? 6 : 1), 0);
}

/**
 * The swap test with step-down correction: test every non-H atom; if some alternatives are
 * significant, accept the single most significant one into the working model and test again,
 * until none is. One wrong element also distorts the scale and so the tests of other atoms, which
 * the step-down removes once the wrong element is corrected. Each atom's row comes from the last
 * round that tested it (a flagged atom: the round that accepted its swap).
 */
export function r1SwapTest(c: RefinementCase, sites: readonly Site[], opts: SwapTestOptions = {}): SwapTestReport {
  checkOptionKeys(opts, KNOWN_OPTIONS, 'r1SwapTest');
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new InputError(`r1SwapTest: alpha must be in (0, 1), got ${alpha}`);
  const st = c.structure;
  const calc = new SfCalculator(st.cell, st.sg, c.merged, st.wavelength, { anomalous: opts.anomalous ?? true });
  const n = calc.n;
  const base = agreementFromFc(c, amp(calc.compute(sites)));
  const nParams = countParameters(sites);
  const dof = Math.max(1, n - nParams);
  const heavyIdx = sites.map((s, i) => ({ s, i })).filter((x) => x.s.element !== 'H').map((x) => x.i);
  const comparisons = heavyIdx.reduce((m, i) => m + alternativesFor(sites[i].element).length, 0);
  const threshold = f1Quantile(alpha / Math.max(1, comparisons), dof);
  const work = sites.map((s) => ({ ...s }));
  const rows = new Map<number, SwapResult>();
  const accepted = new Set<number>();
  // Pair stage candidates: atoms heavier than Ne carry a large share of the scattering, so two
  // wrong ones can compensate through the scale (each single swap then fits worse).
  const heavyRow = heavyIdx.filter((i) => atomicNumber(sites[i].element) > 10);
  let pairComparisons = 0;
  for (let a = 0; a < heavyRow.length; a++) for (let b = a + 1; b < heavyRow.length; b++) pairComparisons += alternativesFor(sites[heavyRow[a]].element).length * alternativesFor(sites[heavyRow[b]].element).length;
  const pairThreshold = pairComparisons ? f2Quantile(alpha / pairComparisons, dof) : Infinity;
  let done = 0;
  const total = heavyIdx.length;
  for (;;) {
    const pending = heavyIdx.filter((i) => !accepted.has(i));
    const round = testAtoms(calc, c, work, pending, dof, threshold, () => opts.onAtom?.(Math.min(done++, total - 1), total));
    for (const [i, r] of round) rows.set(i, r);
    let pick: number | null = null;
    for (const [i, r] of round) if (r.flagged && (pick === null || r.f_stat > round.get(pick)!.f_stat)) pick = i;
    if (pick !== null) {
      accepted.add(pick);
      work[pick] = { ...work[pick], element: round.get(pick)!.best_alternative! };
      continue;
    }
    const pair = testPairs(calc, c, work, heavyRow.filter((i) => !accepted.has(i)), dof, pairThreshold);
    if (!pair) break;
    for (const [i, j, el] of [[pair.i, pair.j, pair.elI], [pair.j, pair.i, pair.elJ]] as const) {
      accepted.add(i);
      rows.set(i, { label: work[i].label, element: work[i].element, flagged: true, best_alternative: el, delta_r1: pair.dR1, delta_wr2: pair.dWr2, f_stat: pair.f, joint_with: work[j].label });
    }
    work[pair.i] = { ...work[pair.i], element: pair.elI };
    work[pair.j] = { ...work[pair.j], element: pair.elJ };
  }
  for (const i of heavyIdx) if (!accepted.has(i)) rows.set(i, { ...rows.get(i)!, flagged: false });
  return { r1: base.r1, wr2: base.wr2, comparisons, threshold, alpha, nParams, pair_comparisons: pairComparisons, pair_threshold: pairThreshold, atoms: heavyIdx.map((i) => rows.get(i)!) };
}

/**
 * Hamilton's statistic for one element change at one site, with the same local refit (scale and
 * that atom's U shift) as the swap test: (S_current - S_alt) / (S_alt / (n - p)), positive when
 * `alt` fits better. Used to ask whether the data can tell two elements apart at a site at all.
 */
export function swapStatistic(c: RefinementCase, sites: readonly Site[], label: string, alt: string, opts: { anomalous?: boolean } = {}): { f: number; threshold: number } {
  const i = sites.findIndex((s) => s.label.toUpperCase() === label.toUpperCase());
  if (i < 0) throw new InputError(`swapStatistic: no site ${label}`);
  const st = c.structure;
  const calc = new SfCalculator(st.cell, st.sg, c.merged, st.wavelength, { anomalous: opts.anomalous ?? true });
  const dof = Math.max(1, calc.n - countParameters(sites));
  const heavy = sites.filter((s) => s.element !== 'H');
  const comparisons = heavy.reduce((m, s) => m + alternativesFor(s.element).length, 0);
  const n = calc.n;
  const total = calc.compute(sites);
  const s = sites[i];
  const q = siteFactor(calc, s);
  const restRe = total.re.map((v, j) => v - q.own.re[j]), restIm = total.im.map((v, j) => v - q.own.im[j]);
  const re = new Float64Array(n), im = new Float64Array(n), fc = new Float64Array(n);
  const fit = (el: string) => {
    const ev = (du: number) => {
      re.set(restRe); im.set(restIm);
      addTrial(calc, q, el, du, re, im);
      for (let j = 0; j < n; j++) fc[j] = Math.sqrt(re[j] * re[j] + im[j] * im[j]);
      const e = agreementFromFc(c, fc);
      return e.goof * e.goof * e.n;
    };
    return ev(golden(ev, Math.max(-0.8 * s.uiso, 0.001 - s.uiso), Math.max(0.05, s.uiso), 1e-4));
  };
  const self = fit(s.element), other = fit(alt);
  return { f: (self - other) / (other / dof), threshold: f1Quantile(0.05 / Math.max(1, comparisons), dof) };
}

/** A site's contribution divided by its own scattering factor: own = (f0 + f' + i f'') * q. */
export interface SiteFactor { readonly own: ComplexArray; readonly qr: Float64Array; readonly qi: Float64Array }

export function siteFactor(calc: SfCalculator, s: Site): SiteFactor {
  const n = calc.n;
  const own: ComplexArray = { re: new Float64Array(n), im: new Float64Array(n) };
  calc.addSite(s, own);
  // q holds occupancy, displacement and the phase sum: dividing the scattering factor out once
  // lets each trial element and U shift cost one pass over the reflections.
  const f0 = calc.formFactors(s.element), [fp, fpp] = calc.dispersionOf(s.element);
  const qr = new Float64Array(n), qi = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const ar = f0[j] + fp, d = ar * ar + fpp * fpp;
    qr[j] = (own.re[j] * ar + own.im[j] * fpp) / d;
    qi[j] = (own.im[j] * ar - own.re[j] * fpp) / d;
  }
  return { own, qr, qi };
}

/** Add (f_el + f' + i f'') exp(-8 pi^2 du s^2) q into re, im. */
export function addTrial(calc: SfCalculator, q: SiteFactor, el: string, du: number, re: Float64Array, im: Float64Array): void {
  const g0 = calc.formFactors(el), [gp, gpp] = calc.dispersionOf(el);
  const s2 = calc.s2, B = 8 * Math.PI * Math.PI * du;
  for (let j = 0; j < re.length; j++) {
    const t = Math.exp(-B * s2[j]), fr = (g0[j] + gp) * t, fi = gpp * t;
    re[j] += fr * q.qr[j] - fi * q.qi[j];
    im[j] += fr * q.qi[j] + fi * q.qr[j];
  }
}

/**
 * Pair stage: for each pair of candidate atoms and each pair of alternatives, refit the scale and
 * both U shifts (two passes of coordinate descent) and compare with the current pair refitted the
 * same way; Hamilton's test with two degrees of freedom, Bonferroni over all pair comparisons.
 * Returns the most significant pair above the threshold, or null.
 */
function testPairs(calc: SfCalculator, c: RefinementCase, sites: readonly Site[], cand: readonly number[], dof: number, threshold: number) {
  if (cand.length < 2) return null;
  const n = calc.n;
  const total = calc.compute(sites);
  const fac = new Map(cand.map((i) => [i, siteFactor(calc, sites[i])]));
  const re = new Float64Array(n), im = new Float64Array(n), fc = new Float64Array(n);
  let best: { i: number; j: number; elI: string; elJ: string; f: number; dR1: number; dWr2: number } | null = null;
  for (let a = 0; a < cand.length; a++) for (let b = a + 1; b < cand.length; b++) {
    const i = cand[a], j = cand[b];
    const qi = fac.get(i)!, qj = fac.get(j)!;
    const restRe = total.re.map((v, k) => v - qi.own.re[k] - qj.own.re[k]), restIm = total.im.map((v, k) => v - qi.own.im[k] - qj.own.im[k]);
    const ui = sites[i].uiso, uj = sites[j].uiso;
    const trial = (ei: string, ej: string) => {
      const ev = (di: number, dj: number) => {
        re.set(restRe); im.set(restIm);
        addTrial(calc, qi, ei, di, re, im); addTrial(calc, qj, ej, dj, re, im);
        for (let k = 0; k < n; k++) fc[k] = Math.sqrt(re[k] * re[k] + im[k] * im[k]);
        const e = agreementFromFc(c, fc);
        return { r1: e.r1, wr2: e.wr2, S: e.goof * e.goof * e.n };
      };
      let di = 0, dj = 0;
      for (let pass = 0; pass < 2; pass++) {
        di = golden((x) => ev(x, dj).S, Math.max(-0.8 * ui, 0.001 - ui), Math.max(0.05, ui), 1e-4);
        dj = golden((x) => ev(di, x).S, Math.max(-0.8 * uj, 0.001 - uj), Math.max(0.05, uj), 1e-4);
      }
      return ev(di, dj);
    };
    const self = trial(sites[i].element, sites[j].element);
    for (const ei of alternativesFor(sites[i].element)) for (const ej of alternativesFor(sites[j].element)) {
      const t = trial(ei, ej);
      const f = ((self.S - t.S) / 2) / (t.S / dof);
      if (f > threshold && (!best || f > best.f)) best = { i, j, elI: ei, elJ: ej, f, dR1: t.r1 - self.r1, dWr2: t.wr2 - self.wr2 };
    }
  }
  return best;
}

/** One round: for each listed atom, refit scale and its U for the current and each alternative element. */
function testAtoms(calc: SfCalculator, c: RefinementCase, sites: readonly Site[], which: readonly number[], dof: number, threshold: number, tick: () => void): Map<number, SwapResult> {
  const n = calc.n;
  const total = calc.compute(sites);
  const out = new Map<number, SwapResult>();
  for (const i of which) {
    tick();
    const s = sites[i];
    const q = siteFactor(calc, s);
    const restRe = total.re.map((v, j) => v - q.own.re[j]), restIm = total.im.map((v, j) => v - q.own.im[j]);
    const re = new Float64Array(n), im = new Float64Array(n), fc = new Float64Array(n);
    const u0 = s.uiso;
    const lo = Math.max(-0.8 * u0, 0.001 - u0);
    // Local refit: the scale (inside agreementFromFc) and one isotropic U shift of this atom,
    // minimising S (GooF^2 * n with no parameters counted). A U tolerance of 1e-4 A^2 changes S
    // by far less than the significance threshold.
    const trial = (el: string) => {
      const evalU = (du: number) => {
        re.set(restRe); im.set(restIm);
        addTrial(calc, q, el, du, re, im);
        for (let j = 0; j < n; j++) fc[j] = Math.sqrt(re[j] * re[j] + im[j] * im[j]);
        const e = agreementFromFc(c, fc);
        return { r1: e.r1, wr2: e.wr2, S: e.goof * e.goof * e.n };
      };
      return evalU(golden((x) => evalU(x).S, lo, Math.max(0.05, u0), 1e-4));
    };
    const self = trial(s.element);
    let best: { el: string; r1: number; wr2: number; S: number } | null = null;
    for (const alt of alternativesFor(s.element)) {
      const a = trial(alt);
      if (!best || a.S < best.S) best = { el: alt, r1: a.r1, wr2: a.wr2, S: a.S };
    }
    const fStat = best ? (self.S - best.S) / (best.S / dof) : 0;
    out.set(i, { label: s.label, element: s.element, flagged: !!best && fStat > threshold, best_alternative: best?.el ?? null, delta_r1: best ? best.r1 - self.r1 : 0, delta_wr2: best ? best.wr2 - self.wr2 : 0, f_stat: fStat, joint_with: null });
  }
  return out;
}

function amp(F: ComplexArray): Float64Array {
  const o = new Float64Array(F.re.length);
  for (let i = 0; i < o.length; i++) o[i] = Math.sqrt(F.re[i] * F.re[i] + F.im[i] * F.im[i]);
  return o;
}
