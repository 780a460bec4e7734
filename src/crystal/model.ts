// The shipped element and H-count model: features of Fourier-map peaks and of heavy atoms, a
// candidate-choice boosted-tree model for each (boost.ts), training on a corpus folder, and the model
// committed beside this file (assigner-model.json, trained on `npm run crystal-corpus` output).
import { InputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { readTextFile } from './limits.js';
import { decode, heightRankBaseline, simulatePeaks, type Decoder, type PeakSet } from './assign.js';
import { fitChoiceBoost, groupMetrics, predictGroup, checkBoostModel, type BoostModel, type BoostOptions, type ChoiceGroup, type Tree } from './boost.js';
import { bondsByCovalentRadii } from './connect.js';
import { atomicNumber, covalentRadius, typicalValence } from './elements.js';
import { heavyAtomContexts, valenceRuleCount, type HeavyAtomContext } from './hydrogens.js';
import type { RefinementCase } from './refine.js';
import type { Site, Structure } from './structure.js';
import shipped from './assigner-model.json' with { type: 'json' };

const ONE_HOT = ['C', 'N', 'O', 'F', 'S', 'Cl', 'Br', 'I', 'P'];
/** Neighbour search radius for peak features, Å. */
const REACH = 3.0;
const PAD = 3.2;

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

/** Formula order (heaviest first) of the candidate elements. */
function zOrder(els: readonly string[]): string[] { return [...els].sort((a, b) => atomicNumber(b) - atomicNumber(a)); }

/**
 * Candidate rows per peak: peak features (height on an electron scale fixed by the height-rank
 * baseline, rank, neighbour distances, counts, angle, neighbours' heights) joined with features
 * of each candidate element (Z, height against Z, formula share, distance residuals against
 * covalent radii, coordination against valence, a few element indicators). Candidates are the
 * formula's non-H elements.
 */
export function peakCandidateRows(ps: PeakSet): { candidates: string[]; rows: number[][][]; near: number[][] } {
  const n = ps.heights.length;
  const candidates = zOrder(Object.keys(ps.counts));
  if (candidates.length === 0) throw new InputError('no non-H elements in the formula');
  const base = heightRankBaseline(ps.heights, ps.counts);
  const zb = base.map(atomicNumber);
  const scale = median(ps.heights.map((h, i) => h / zb[i])) || 1;
  const zhat = ps.heights.map((h) => Math.max(h / scale, 0.05));
  const hmax = Math.max(...ps.heights);
  const sites: Site[] = ps.frac.map((f, i) => ({ label: `P${i}`, element: 'C', frac: f, occ: 1, uiso: 0.03, uani: null, part: 0 }));
  const bonds = bondsByCovalentRadii(ps.structure, { sites, tolerance: REACH / (2 * covalentRadius('C')) });
  const rankOf = new Map(candidates.map((e, i) => [e, i]));
  const zmax = atomicNumber(candidates[0]);
  const nearOf: number[][] = [];
  const rows = ps.heights.map((h, i) => {
    const nb = [...bonds[i]].sort((a, b) => a.d - b.d);
    const ds = nb.map((b) => b.d);
    const within = (r: number) => ds.filter((d) => d < r).length;
    const near = nb.filter((b) => b.d < 2.0);
    nearOf.push(near.map((b) => b.j));
    const near24 = nb.filter((b) => b.d < 2.4);
    let angle = 0, planar = 0;
    if (near.length >= 2) {
      const x = ps.structure.cell.toCartesian(ps.frac[i]);
      const u = near.slice(0, 3).map((b) => { const y = ps.structure.cell.toCartesian(b.image); const v = [y[0] - x[0], y[1] - x[1], y[2] - x[2]]; const r = Math.hypot(v[0], v[1], v[2]) || 1; return v.map((t) => t / r); });
      angle = Math.acos(Math.max(-1, Math.min(1, u[0][0] * u[1][0] + u[0][1] * u[1][1] + u[0][2] * u[1][2]))) * 180 / Math.PI;
      if (u.length === 3) {
        const a = u[1].map((t, k) => t - u[0][k]), b = u[2].map((t, k) => t - u[0][k]);
        const c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
        const r = Math.hypot(c[0], c[1], c[2]) || 1;
        planar = Math.abs((c[0] * u[0][0] + c[1] * u[0][1] + c[2] * u[0][2]) / r);
      }
    }
    const peak = [zhat[i], Math.log(zhat[i]), h / hmax, ps.heights.filter((x) => x > h).length / n,
      ds[0] ?? PAD, ds[1] ?? PAD, ds[2] ?? PAD, ds[3] ?? PAD, within(1.3), within(1.65), within(2.0), within(2.4),
      near.length ? near.reduce((s, b) => s + zhat[b.j], 0) / near.length : 0,
      near24.length ? Math.max(...near24.map((b) => zhat[b.j])) : 0, angle, planar, n];
    return candidates.map((e) => {
      const z = atomicNumber(e), r = covalentRadius(e), val = typicalValence(e);
      const res = nb.slice(0, 4).map((b) => b.d - (r + covalentRadius(base[b.j])));
      const cn = nb.filter((b) => b.d <= 1.15 * (r + covalentRadius(base[b.j]))).length;
      const lz = Math.log(zhat[i] / z);
      return [...peak, z, lz, Math.abs(lz), ps.counts[e] / n, base[i] === e ? 1 : 0, rankOf.get(e)! - rankOf.get(base[i])!, r,
        res[0] ?? 1, res[1] ?? 1, res[2] ?? 1, cn, val === null ? -1 : val, val === null ? cn : cn - val, z / zmax, candidates.length,
        ...ONE_HOT.map((x) => (x === e ? 1 : 0))];
    });
  });
  return { candidates, rows, near: nearOf };
}

// The second pass (context model): each candidate row gains the first pass's probabilities around
// the peak, one round of message passing over the peak graph. Per peak: the mean first-pass
// probability of C, of N, of O, of a halogen and of S/P over its neighbours within 2.0 Å; per
// candidate: its own first-pass probability and the largest one among the neighbours.
const CONTEXT_GROUPS = [['C'], ['N'], ['O'], ['F', 'Cl', 'Br', 'I'], ['S', 'P']];
export const CONTEXT_FEATURES = 2 + CONTEXT_GROUPS.length;

/** Candidate rows with the context features of first-pass probabilities `p1` (per peak, over `candidates`). */
export function contextRows(candidates: readonly string[], rows: readonly number[][][], near: readonly number[][], p1: readonly number[][]): number[][][] {
  const groups = CONTEXT_GROUPS.map((g) => g.map((e) => candidates.indexOf(e)).filter((k) => k >= 0));
  return rows.map((r, i) => {
    const nb = near[i];
    const around = groups.map((ks) => (nb.length ? nb.reduce((s, j) => s + ks.reduce((t, k) => t + p1[j][k], 0), 0) / nb.length : 0));
    return r.map((row, k) => [...row, p1[i][k], nb.length ? Math.max(...nb.map((j) => p1[j][k])) : 0, ...around]);
  });
}

/** Candidate rows per heavy atom for the H count (0-3): the context's features, element and bond-length residuals. */
export function hCountRows(st: Structure, ctx: readonly HeavyAtomContext[]): number[][][] {
  return ctx.map((a) => {
    const r = covalentRadius(a.element), val = typicalValence(a.element);
    const res = a.bonds.map((b) => b.d - r - covalentRadius(st.sites[b.j].element));
    const nbZ = a.bonds.reduce((s, b) => s + atomicNumber(st.sites[b.j].element), 0);
    const f = [...a.features, atomicNumber(a.element), r, val === null ? -1 : val, res.length ? Math.min(...res) : 0,
      res.length ? res.reduce((s, v) => s + v, 0) / res.length : 0, res.length ? Math.max(...res) : 0, nbZ, ONE_HOT.indexOf(a.element)];
    const rule = valenceRuleCount(a.element, a.degree);
    return [0, 1, 2, 3].map((k) => [...f, k, val === null ? k : k + a.degree - val, k === rule ? 1 : 0]);
  });
}

export interface ModelCard {
  readonly corpus: Record<string, unknown>;
  readonly seed: number;
  readonly settings: Record<string, unknown>;
  readonly metrics: Record<string, unknown>;
}

export interface AssignerModelFile {
  readonly format: 'perennial-crystal-assigner';
  readonly version: 1;
  readonly element: BoostModel;
  /** The second pass over the first's probabilities around each peak (contextRows), where trained with it. */
  readonly element_context?: BoostModel;
  readonly hcount: BoostModel;
  readonly card: ModelCard;
}

export interface Prediction { readonly elements: string[]; readonly proba: number[][]; readonly classes: readonly string[][] }

/** The element and H-count models together. */
export class ShippedAssigner {
  private constructor(readonly file: AssignerModelFile, readonly source: string) {}

  static fromObject(o: unknown, source: string): ShippedAssigner {
    const f = o as AssignerModelFile;
    if (!f || f.format !== 'perennial-crystal-assigner' || f.version !== 1) throw new InputError(`${source}: not a perennial crystal assigner model (format/version)`);
    checkBoostModel(f.element, `${source}: element model`);
    checkBoostModel(f.hcount, `${source}: H-count model`);
    if (f.element_context !== undefined) {
      checkBoostModel(f.element_context, `${source}: context model`);
      if (f.element_context.nFeatures !== f.element.nFeatures + CONTEXT_FEATURES) throw new InputError(`${source}: context model expects ${f.element_context.nFeatures} features, the element model gives ${f.element.nFeatures} + ${CONTEXT_FEATURES}`);
    }
    return new ShippedAssigner(f, source);
  }

  /** The model committed with the package. */
  static shipped(): ShippedAssigner { return ShippedAssigner.fromObject(shipped, 'the shipped crystal model'); }

  static load(path: string): ShippedAssigner {
    let o: unknown;
    try { o = JSON.parse(readTextFile(path)); } catch (e) { throw new InputError(`${path}: not JSON (${(e as Error).message})`); }
    return ShippedAssigner.fromObject(o, path);
  }

  /** Elements for a peak set (formula counts met by Hungarian decoding, or argmax), with per-peak probabilities. */
  predict(ps: PeakSet, decoder: Decoder = 'near-counts'): Prediction {
    const { candidates, proba } = this.probabilities(ps);
    const elements = decode(proba.map((p) => Float64Array.from(p)), candidates, ps.counts, decoder);
    return { elements, proba, classes: proba.map(() => candidates) };
  }

  /** Per-peak probabilities over the formula's elements (heaviest first). */
  probabilities(ps: PeakSet): { candidates: string[]; proba: number[][] } {
    const { candidates, rows, near } = peakCandidateRows(ps);
    const p1 = rows.map((r) => predictGroup(this.file.element, r));
    const second = this.file.element_context;
    if (!second) return { candidates, proba: p1 };
    return { candidates, proba: contextRows(candidates, rows, near, p1).map((r) => predictGroup(second, r)) };
  }

  get card(): ModelCard { return this.file.card; }

  /** H counts (0-3) per heavy atom context. */
  hydrogens(st: Structure, ctx: readonly HeavyAtomContext[]): { counts: number[]; proba: number[][] } {
    const proba = hCountRows(st, ctx).map((r) => predictGroup(this.file.hcount, r));
    return { counts: proba.map((p) => p.indexOf(Math.max(...p))), proba };
  }
}

/** Top-k (element, probability) pairs of one peak, probabilities to 4 decimals. */
export function topK(classes: readonly string[], p: readonly number[], k = 5): [string, number][] {
  return classes.map((c, j) => [c, +p[j].toFixed(4)] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, k);
}

function roundTree(t: Tree): Tree {
  return { feature: t.feature, threshold: t.threshold.map((v) => +v.toPrecision(7)), left: t.left, right: t.right, value: t.value.map((v) => +v.toPrecision(5)) };
}

export interface TrainOptions {
  /** Peak draws (position jitter and phasing model) per training structure. */
  readonly draws?: number;
  /** Also fit the second pass (contextRows) on out-of-fold first-pass probabilities (two folds by structure). */
  readonly context?: boolean;
  readonly element?: BoostOptions;
  readonly hcount?: BoostOptions;
}

/** One simulated peak set of a training structure: its candidate rows, neighbours and labels (-1: no candidate). */
export interface TrainingPeakSet { readonly structure: number; readonly candidates: string[]; readonly rows: number[][][]; readonly near: number[][]; readonly labels: number[] }

export interface TrainingData { readonly element: ChoiceGroup[]; readonly hcount: ChoiceGroup[]; readonly peakSets: TrainingPeakSet[]; readonly structures: number; readonly peaks: number; readonly skipped: number }

/** Labelled candidate groups from structures with true elements (and H where present). */
export function trainingGroups(cases: readonly RefinementCase[], rng: Rng, draws = 1, onCase?: (name: string) => void): TrainingData {
  const element: ChoiceGroup[] = [], hcount: ChoiceGroup[] = [], peakSets: TrainingPeakSet[] = [];
  let peaks = 0, skipped = 0;
  cases.forEach((c, ci) => {
    onCase?.(c.name);
    for (let d = 0; d < draws; d++) {
      const ps = simulatePeaks(c, rng.split(`${c.name}:${d}`));
      const { candidates, rows, near } = peakCandidateRows(ps);
      const labels = rows.map((r, i) => {
        const label = candidates.indexOf(ps.truth![i]);
        if (label < 0) { skipped++; return -1; }
        element.push({ rows: r, label }); peaks++;
        return label;
      });
      peakSets.push({ structure: ci, candidates, rows, near, labels });
    }
    if (c.structure.sites.some((s) => s.element === 'H')) {
      const ctx = heavyAtomContexts(c.structure);
      hCountRows(c.structure, ctx).forEach((r, i) => hcount.push({ rows: r, label: Math.min(ctx[i].nH, 3) }));
    }
  });
  return { element, hcount, peakSets, structures: cases.length, peaks, skipped };
}

/**
 * The second pass, fitted on first-pass probabilities that did not see the structure: two folds by
 * structure (even and odd positions), each predicted by a first pass fitted on the other.
 */
function fitContext(data: TrainingData, rng: Rng, opts: BoostOptions, onStep?: (msg: string) => void): BoostModel {
  const groupsOf = (sets: readonly TrainingPeakSet[]): ChoiceGroup[] => sets.flatMap((t) => t.rows.flatMap((r, i) => (t.labels[i] >= 0 ? [{ rows: r, label: t.labels[i] }] : [])));
  const folds = [0, 1].map((f) => data.peakSets.filter((t) => t.structure % 2 === f));
  const second: ChoiceGroup[] = [];
  folds.forEach((fold, f) => {
    const first = fitChoiceBoost(groupsOf(folds[1 - f]), rng.split(`context-fold-${f}`), opts, (r) => onStep?.(`context fold ${f + 1} tree ${r + 1}`));
    for (const t of fold) {
      const p1 = t.rows.map((r) => predictGroup(first, r));
      contextRows(t.candidates, t.rows, t.near, p1).forEach((r, i) => { if (t.labels[i] >= 0) second.push({ rows: r, label: t.labels[i] }); });
    }
  });
  return fitChoiceBoost(second, rng.split('context'), opts, (r) => onStep?.(`context tree ${r + 1}`));
}

/** Fit both models on training structures. */
export function trainAssigner(cases: readonly RefinementCase[], rng: Rng, o: TrainOptions = {}, corpus: Record<string, unknown> = {}, seed = 0, onStep?: (msg: string) => void): AssignerModelFile {
  const draws = o.draws ?? 2;
  const data = trainingGroups(cases, rng.split('peaks'), draws, (n) => onStep?.(`features ${n}`));
  if (data.hcount.length === 0) throw new InputError('training structures carry no H atoms: the H-count model needs some');
  const elementOpts: BoostOptions = { rounds: 150, depth: 4, ...o.element };
  const hOpts: BoostOptions = { rounds: 100, depth: 4, ...o.hcount };
  const element = fitChoiceBoost(data.element, rng.split('element'), elementOpts, (r) => onStep?.(`element tree ${r + 1}`));
  const hcount = fitChoiceBoost(data.hcount, rng.split('hcount'), hOpts, (r) => onStep?.(`H-count tree ${r + 1}`));
  const context = o.context ? fitContext(data, rng.split('context'), elementOpts, onStep) : undefined;
  const trainElement = groupMetrics(element, data.element), trainH = groupMetrics(hcount, data.hcount);
  return {
    format: 'perennial-crystal-assigner', version: 1,
    element: { ...element, trees: element.trees.map(roundTree) },
    ...(context ? { element_context: { ...context, trees: context.trees.map(roundTree) } } : {}),
    hcount: { ...hcount, trees: hcount.trees.map(roundTree) },
    card: {
      corpus: { ...corpus, training_structures: data.structures, training_peaks: data.peaks, peaks_without_candidate: data.skipped, training_heavy_atoms_for_h: data.hcount.length },
      seed,
      settings: { draws, element: element.options, hcount: hcount.options, context: context ? 'second pass over out-of-fold first-pass probabilities of neighbours within 2.0 Å (two folds by structure)' : 'none', peaks: 'simulatePeaks: true sites + 0.05 Å jitter, |Fo| map phased by a jittered all-carbon model, 7-point heights' },
      metrics: { train_element_peak_argmax_acc: trainElement.accuracy, train_element_logloss: trainElement.logloss, train_h_count_acc: trainH.accuracy, train_h_logloss: trainH.logloss },
    },
  };
}
