// Element assignment (CrystalX's heavy stage, a CPU miniature): height-rank baseline, a learned
// per-peak classifier on geometric and density features, and decoding constrained to the formula.
import type { Rng } from '../core/rng.js';
import { InputError, warn } from '../core/errors.js';
import type { Vec3 } from './cell.js';
import { bondsByCovalentRadii } from './connect.js';
import { atomicNumber } from './elements.js';
import { fourierMap, mapValue } from './maps.js';
import type { RefinementCase } from './refine.js';
import { SfCalculator } from './sf.js';
import type { Site, Structure } from './structure.js';
import type { LogisticRegression } from '../core/estimators/index.js';
import { hungarian, peakClassifier, type LogRegOptions } from './learn.js';

export interface PeakSet {
  readonly structure: Structure;
  readonly frac: readonly Vec3[];
  readonly heights: readonly number[];
  /** Allowed non-H elements (SFAC without H). */
  readonly sfac: readonly string[];
  /** Element counts for the peaks (formula proportions scaled to the number of peaks). */
  readonly counts: Readonly<Record<string, number>>;
  /** True elements when known (evaluation). */
  readonly truth?: readonly string[];
  readonly labels: readonly string[];
}

/** Scale formula proportions to n sites (largest remainder). */
export function countsForPeaks(formula: Readonly<Record<string, number>>, n: number): Record<string, number> {
  const els = Object.keys(formula).filter((e) => e !== 'H' && formula[e] > 0);
  const tot = els.reduce((s, e) => s + formula[e], 0);
  if (tot <= 0) throw new InputError('formula has no non-H elements');
  const raw = els.map((e) => (formula[e] / tot) * n);
  const out: Record<string, number> = {};
  els.forEach((e, i) => { out[e] = Math.floor(raw[i]); });
  let left = n - els.reduce((s, e) => s + out[e], 0);
  const order = els.map((e, i) => ({ e, r: raw[i] - Math.floor(raw[i]) })).sort((a, b) => b.r - a.r);
  for (let i = 0; left > 0; i = (i + 1) % order.length, left--) out[order[i].e]++;
  return out;
}

/** Height-rank baseline: heaviest element to the strongest peaks, in formula counts. */
export function heightRankBaseline(heights: readonly number[], counts: Readonly<Record<string, number>>): string[] {
  const order = heights.map((h, i) => ({ h, i })).sort((a, b) => b.h - a.h);
  const els = Object.keys(counts).sort((a, b) => atomicNumber(b) - atomicNumber(a));
  const out = new Array<string>(heights.length).fill(els[els.length - 1] ?? 'C');
  let k = 0;
  for (const e of els) for (let c = 0; c < counts[e] && k < order.length; c++) out[order[k++].i] = e;
  return out;
}

/** Per-peak features: height ratios, rank, formula-rank Z, neighbour distances and counts, neighbours' mean Z. */
export function peakFeatures(ps: PeakSet): number[][] {
  const n = ps.heights.length;
  const hmax = Math.max(...ps.heights);
  const sorted = [...ps.heights].sort((a, b) => a - b);
  const hmed = sorted[Math.floor(n / 2)];
  const base = heightRankBaseline(ps.heights, ps.counts);
  const baseZ = base.map(atomicNumber);
  const sites: Site[] = ps.frac.map((f, i) => ({ label: `P${i}`, element: 'C', frac: f, occ: 1, uiso: 0.03, uani: null, part: 0 }));
  const bonds = bondsByCovalentRadii(ps.structure, { sites, tolerance: 2.6 / 1.52 });
  const rank = ps.heights.map((h) => sorted.filter((x) => x > h).length / n);
  return ps.heights.map((h, i) => {
    const ds = bonds[i].map((b) => b.d).sort((a, b) => a - b);
    const near = bonds[i].filter((b) => b.d < 2.0);
    const nbZ = near.length ? near.reduce((s, b) => s + baseZ[b.j], 0) / near.length : 0;
    const mean3 = ds.length ? ds.slice(0, 3).reduce((s, v) => s + v, 0) / Math.min(3, ds.length) : 2.6;
    return [h / hmax, h / hmed, rank[i], Math.log(baseZ[i]), baseZ[i], ds[0] ?? 2.6, mean3,
      ds.filter((d) => d < 1.6).length, ds.filter((d) => d < 2.0).length, ds.filter((d) => d < 2.4).length, nbZ];
  });
}

export type Decoder = 'argmax' | 'counts' | 'near-counts';
export const DECODERS: readonly Decoder[] = ['argmax', 'counts', 'near-counts'];

/**
 * Penalty (nats) of the near-counts decoder for each peak beyond an element's formula count: a peak
 * leaves the formula only on odds of at least 10 : 1. Fixed a priori, not fitted.
 */
export const NEAR_COUNTS_PENALTY = Math.LN10;

/**
 * Decode class probabilities to elements: per-peak argmax; an assignment that meets the counts
 * exactly (Hungarian); or near-counts, where each element may exceed its count by a quarter (at least
 * one, also for formula elements with count 0) at NEAR_COUNTS_PENALTY per extra peak. Formula counts
 * scaled to the peaks are exact for an ordered structure with Z' = 1, and off for disorder, special
 * positions or solvent, which is what the slack is for.
 */
export function decode(proba: readonly Float64Array[], classes: readonly string[], counts: Readonly<Record<string, number>>, decoder: Decoder): string[] {
  if (decoder === 'argmax') return proba.map((p) => classes[p.indexOf(Math.max(...p))]);
  if (decoder === 'near-counts') {
    const slots: { e: string; pen: number }[] = [];
    for (const [e, c] of Object.entries(counts)) {
      for (let i = 0; i < c; i++) slots.push({ e, pen: 0 });
      for (let i = 0; i < Math.max(1, Math.ceil(c / 4)); i++) slots.push({ e, pen: NEAR_COUNTS_PENALTY });
    }
    while (slots.length < proba.length) slots.push({ e: Object.keys(counts)[0], pen: NEAR_COUNTS_PENALTY });
    const m = slots.length;
    const cost = proba.map((p) => slots.map((s) => { const ci = classes.indexOf(s.e); return -Math.log(Math.max(ci >= 0 ? p[ci] : 0, 1e-9)) + s.pen; }));
    while (cost.length < m) cost.push(new Array<number>(m).fill(0));
    return hungarian(cost).slice(0, proba.length).map((j) => slots[j].e);
  }
  const slots: string[] = [];
  for (const [e, c] of Object.entries(counts)) for (let i = 0; i < c; i++) slots.push(e);
  while (slots.length < proba.length) slots.push(Object.keys(counts)[0]);
  const cost = proba.map((p) => slots.map((e) => { const ci = classes.indexOf(e); return -Math.log(Math.max(ci >= 0 ? p[ci] : 0, 1e-9)); }));
  const a = hungarian(cost);
  return a.map((j) => slots[j]);
}

export class ElementAssigner {
  private readonly model: LogisticRegression<string>;
  constructor(readonly options: LogRegOptions = {}) { this.model = peakClassifier(options); }
  describe(): Record<string, unknown> { return { kind: 'element-assigner', model: this.model.describe() }; }
  fit(sets: readonly PeakSet[]): this {
    const X: number[][] = [], y: string[] = [];
    for (const s of sets) {
      if (!s.truth) throw new InputError('ElementAssigner.fit: peak sets need true elements');
      X.push(...peakFeatures(s)); y.push(...s.truth);
    }
    this.model.fit(X, y);
    return this;
  }
  /**
   * Predict elements. SFAC elements the classifier never saw in training cannot be predicted by
   * it: the peaks the height-rank baseline gives those elements keep the baseline's element (with
   * a warning), and the classifier decodes the rest with the remaining counts.
   */
  predict(ps: PeakSet, decoder: Decoder = 'counts'): { elements: string[]; proba: Float64Array[]; classes: readonly string[] } {
    const proba = this.model.predictProba(peakFeatures(ps), ps.sfac);
    const classes = this.model.classes;
    const unseen = ps.sfac.filter((e) => !classes.includes(e));
    if (unseen.length === 0) return { elements: decode(proba, classes, ps.counts, decoder), proba, classes };
    warn('crystal-unseen-element', `elements ${unseen.join(', ')} never seen in training: their peaks keep the height-rank baseline's assignment`);
    const base = heightRankBaseline(ps.heights, ps.counts);
    const free = base.map((e, i) => (unseen.includes(e) ? -1 : i)).filter((i) => i >= 0);
    const counts: Record<string, number> = { ...ps.counts };
    for (const e of unseen) delete counts[e];
    const sub = decode(free.map((i) => proba[i]), classes, counts, decoder);
    const elements = base.slice();
    free.forEach((i, j) => { elements[i] = sub[j]; });
    return { elements, proba, classes };
  }
}

/** Convenience: assign with a fitted assigner (or the baseline when none is given). */
export function assignElements(ps: PeakSet, assigner: ElementAssigner | null, decoder: Decoder = 'counts'): string[] {
  return assigner ? assigner.predict(ps, decoder).elements : heightRankBaseline(ps.heights, ps.counts);
}

/**
 * Peaks simulated from a structure's own reflections: true non-H sites plus `noise` Å jitter,
 * heights from an |Fo| synthesis (d >= dmin) phased by a jittered all-carbon model, averaged over
 * the centre and 6 points 0.15 Å away.
 */
export function simulatePeaks(c: RefinementCase, rng: Rng, opts: { noise?: number; dmin?: number; formula?: Readonly<Record<string, number>> } = {}): PeakSet {
  const st = c.structure;
  const noise = opts.noise ?? 0.05;
  const dmin = opts.dmin ?? 0.8;
  const heavy = st.sites.filter((s) => s.element !== 'H');
  const jitter = (f: Vec3): Vec3 => {
    const cart = st.cell.toCartesian(f);
    return st.cell.toFractional([cart[0] + noise * rng.normal(), cart[1] + noise * rng.normal(), cart[2] + noise * rng.normal()]);
  };
  // Phasing model first, then the peak positions (the order of the random draws).
  const phasing = heavy.map((s) => ({ ...s, frac: jitter(s.frac) }));
  const frac = heavy.map((s) => jitter(s.frac));
  const heights = carbonPhasedHeights(c, phasing, frac, dmin);
  const truth = heavy.map((s) => s.element);
  const formula: Record<string, number> = {};
  if (opts.formula) Object.assign(formula, opts.formula);
  else if (c.model && c.model.unit.length === c.model.sfac.length) c.model.sfac.forEach((e, i) => { formula[e] = (formula[e] ?? 0) + c.model!.unit[i]; });
  else for (const e of truth) formula[e] = (formula[e] ?? 0) + 1;
  delete formula.H;
  const sfac = Object.keys(formula);
  return { structure: st, frac, heights, sfac, counts: countsForPeaks(formula, heavy.length), truth, labels: heavy.map((s) => s.label) };
}

/**
 * Heights at `frac` in an |Fo| synthesis (d >= dmin) phased by `phasing` with every atom taken as
 * carbon (Uiso 0.03, isotropic), each the mean of the point and 6 points 0.15 Å away: what a peak
 * search sees before any element is known, so the elements of the input do not leak into the heights.
 */
export function carbonPhasedHeights(c: RefinementCase, phasing: readonly Site[], frac: readonly Vec3[], dmin = 0.8): number[] {
  const st = c.structure;
  const keep: number[] = [];
  for (let i = 0; i < c.merged.h.length; i++) if (st.cell.dSpacing(c.merged.h[i], c.merged.k[i], c.merged.l[i]) >= dmin) keep.push(i);
  const idx = { h: keep.map((i) => c.merged.h[i]), k: keep.map((i) => c.merged.k[i]), l: keep.map((i) => c.merged.l[i]) };
  const calc = new SfCalculator(st.cell, st.sg, idx, st.wavelength);
  const F = calc.compute(phasing.map((s) => ({ ...s, element: 'C', uani: null, uiso: 0.03 })));
  const amp = keep.map((i) => Math.sqrt(Math.max(c.merged.fo2[i], 0)));
  const phase = keep.map((_, j) => Math.atan2(F.im[j], F.re[j]));
  const map = fourierMap(st, idx, amp, phase);
  const off = 0.15;
  return frac.map((f) => {
    const x = st.cell.toCartesian(f);
    let s = mapValue(map, f);
    for (let a = 0; a < 3; a++) for (const sg of [-1, 1]) {
      const y: [number, number, number] = [x[0], x[1], x[2]];
      y[a] += sg * off;
      s += mapValue(map, st.cell.toFractional(y));
    }
    return s / 7;
  });
}

/** Shift classes of the rank-shift model: true element's formula rank minus the baseline's, clipped. */
const SHIFT_MAX = 2;

function formulaRanks(counts: Readonly<Record<string, number>>): Map<string, number> {
  const els = Object.keys(counts).sort((a, b) => atomicNumber(b) - atomicNumber(a));
  return new Map(els.map((e, i) => [e, i]));
}

/**
 * A calibrated correction of the height-rank baseline: a multinomial logistic model (same peak
 * features) predicts how far the true element sits from the baseline's element in the formula's
 * Z order (-2..+2, heavier first), so it is learned across elements and needs no example of a given
 * element. Decoding assigns the formula counts (Hungarian) at cost -log P(shift implied by the
 * element). Fit on training structures only.
 */
export class RankShiftAssigner {
  private readonly model: LogisticRegression<string>;
  constructor(readonly options: LogRegOptions = {}) { this.model = peakClassifier(options); }
  describe(): Record<string, unknown> { return { kind: 'rank-shift-assigner', shiftMax: SHIFT_MAX, model: this.model.describe() }; }

  private static shiftLabel(d: number): string { return String(Math.max(-SHIFT_MAX, Math.min(SHIFT_MAX, d))); }

  fit(sets: readonly PeakSet[]): this {
    const X: number[][] = [], y: string[] = [];
    for (const s of sets) {
      if (!s.truth) throw new InputError('RankShiftAssigner.fit: peak sets need true elements');
      const rk = formulaRanks(s.counts);
      const base = heightRankBaseline(s.heights, s.counts);
      X.push(...peakFeatures(s));
      s.truth.forEach((t, i) => { y.push(RankShiftAssigner.shiftLabel((rk.get(t) ?? rk.size - 1) - rk.get(base[i])!)); });
    }
    this.model.fit(X, y);
    return this;
  }

  predict(ps: PeakSet): string[] {
    const rk = formulaRanks(ps.counts);
    const base = heightRankBaseline(ps.heights, ps.counts);
    const proba = this.model.predictProba(peakFeatures(ps));
    const classes = this.model.classes;
    const slots: string[] = [];
    for (const [e, c] of Object.entries(ps.counts)) for (let i = 0; i < c; i++) slots.push(e);
    while (slots.length < proba.length) slots.push(base[0]);
    const cost = proba.map((p, i) => slots.map((e) => {
      const ci = classes.indexOf(RankShiftAssigner.shiftLabel(rk.get(e)! - rk.get(base[i])!));
      return -Math.log(Math.max(ci >= 0 ? p[ci] : 0, 1e-9));
    }));
    return hungarian(cost).map((j) => slots[j]);
  }
}

/**
 * Density at each site in an |Fo| synthesis phased by the model's own Fc (the heights the assigner
 * ranks). The grid follows the data's resolution (maps.fourierGrid), capped before allocation.
 */
export function peakHeightsFromMap(c: RefinementCase, sites: readonly Site[], opts: { anomalous?: boolean } = {}): number[] {
  const st = c.structure;
  const calc = new SfCalculator(st.cell, st.sg, c.merged, st.wavelength, { anomalous: opts.anomalous ?? false });
  const F = calc.compute(sites);
  const amp = Array.from(c.merged.fo2, (v) => Math.sqrt(Math.max(v, 0)));
  const ph = Array.from(F.re, (v, i) => Math.atan2(F.im[i], v));
  const map = fourierMap(st, c.merged, amp, ph);
  return sites.map((s) => mapValue(map, s.frac));
}
