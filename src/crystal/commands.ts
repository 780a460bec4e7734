// What the `perennial crystal` commands compute, one function per command: load the structure,
// run the calculation and return the record's metrics and any file text, so the CLI only parses
// options, calls one of these and writes what comes back.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, ParseError, warn } from '../core/errors.js';
import { SectionBuilder, type Section } from '../core/report.js';
import { rng, type Rng } from '../core/rng.js';
import { carbonPhasedHeights, countsForPeaks, ElementAssigner, heightRankBaseline, simulatePeaks, type Decoder, type PeakSet } from './assign.js';
import { ShippedAssigner, topK, trainAssigner, type AssignerModelFile, type ModelCard, type TrainOptions } from './model.js';
import { builtInCase } from './builtin.js';
import { elementFromLabel } from './elements.js';
import { evaluateLoso, evaluateModel, loadCases, type EvalResult, type ModelEvalResult } from './evaluate.js';
import { readManifest, type CorpusManifest } from './corpus.js';
import { heavyAtomContexts, hfixCode, HydrogenCounter, ridingHydrogens, valenceRuleCount } from './hydrogens.js';
import { readTextFile } from './limits.js';
import { agreementReasons, finiteMetrics, resolveRadiation, type DispersionMode, type Radiation } from './options.js';
import { caseFromCif, caseFromShelx, evaluateCase, type CaseOptions, type Evaluation, type RefinementCase } from './refine.js';
import { amplitudes, structureFactors } from './sf.js';
import { parseShelxIns, writeShelxIns, type ShelxModel } from './shelx.js';
import { structureFromShelx, type Site } from './structure.js';
import { countParameters, r1SwapTest, type SwapTestReport } from './validate.js';
import { alertCounts, geometryAlerts, refinementAlerts, sortAlerts, type Alert } from './alerts.js';
import { evaluateLightSwaps, lightSiteFits, type DetectorResult } from './swaps.js';
import { structureView } from './view.js';

/** Runs `fn` as a named phase (the CLI passes its recorder's timer; the default just runs it). */
export type Phase = <T>(phase: string, fn: () => T) => Promise<T>;
const untimed: Phase = async (_phase, fn) => fn();

const SHELX_FILE = /\.(res|ins)$/i;

/** A .res/.ins with its reflections: `hkl`, else the .hkl beside it. */
export function caseFromRes(res: string, hkl?: string, opts: CaseOptions = {}): RefinementCase {
  const h = hkl ?? res.replace(SHELX_FILE, '.hkl');
  if (!existsSync(h)) throw new InputError(`${res}: no reflections (${h} not found); pass --hkl`);
  return caseFromShelx(res.replace(/^.*\//, '').replace(SHELX_FILE, ''), readTextFile(res), readTextFile(h), { r1: null, wr2: null, goof: null, r1All: null }, { res, hkl: h, ...opts });
}

export interface StructureFileOptions extends CaseOptions {
  readonly hkl?: string;
  /** CIF data block (default: the first with a model and reflections). */
  readonly block?: string;
  /** CIF strictness (default: strict). */
  readonly strict?: boolean;
}

/** A structure file as a refinement case: a .res/.ins with its .hkl, else a CIF with embedded res+hkl (or `hkl`). */
export function caseFromFile(file: string, o: StructureFileOptions = {}): RefinementCase {
  return SHELX_FILE.test(file) ? caseFromRes(file, o.hkl, { wavelength: o.wavelength }) : caseFromCif(file, { hkl: o.hkl, block: o.block, strict: o.strict, wavelength: o.wavelength });
}

/** The model's parameter count for GooF: the CIF's _refine_ls_number_parameters, else an estimate (with a warning). */
export function parametersFor(c: RefinementCase, file: string): { n: number; source: 'cif' | 'estimated' } {
  if (typeof c.nParams === 'number') return { n: c.nParams, source: 'cif' };
  const n = countParameters(c.structure.sites);
  warn('crystal-nparams-estimated', `${file}: no _refine_ls_number_parameters; GooF uses an estimate of ${n} (scale, x y z and U per non-H atom)`);
  return { n, source: 'estimated' };
}

export interface StructureFactorRun {
  readonly case: RefinementCase;
  readonly radiation: Radiation;
  readonly evaluation: Evaluation;
  /** The record: agreement factors, radiation and Fc as [h, k, l, |Fc|] rows (non-finite values null with a reason). */
  readonly metrics: ReturnType<typeof sfMetrics>;
}

function sfMetrics(c: RefinementCase, ev: Evaluation, rad: Radiation, params: { n: number; source: 'cif' | 'estimated' }, fcAmp: ArrayLike<number>) {
  const fc: [number, number, number, number][] = [];
  for (let i = 0; i < fcAmp.length; i++) fc.push([c.merged.h[i], c.merged.k[i], c.merged.l[i], +fcAmp[i].toPrecision(9)]);
  return finiteMetrics({ n_reflections: ev.n, r1: ev.r1, r1_all: ev.r1All, wr2: ev.wr2, goof: ev.goof, n_gt: ev.nGt, scale: ev.scale, n_params: params.n, n_params_source: params.source, published: c.published, ...rad, fc }, agreementReasons(ev, params.n));
}

/** `crystal sf`: Fc and R1/wR2/GooF of a structure file (phases load, fc, agreement). */
export async function structureFactorRun(file: string, o: StructureFileOptions & { dispersion: DispersionMode }, phase: Phase = untimed): Promise<StructureFactorRun> {
  const c = await phase('load', () => caseFromFile(file, o));
  const rad = resolveRadiation(c.structure, o.dispersion, file);
  const params = parametersFor(c, file);
  const fcAmp = await phase('fc', () => amplitudes(structureFactors(c.structure, c.merged, { anomalous: rad.anomalous })));
  const ev = await phase('agreement', () => evaluateCase(c, { anomalous: rad.anomalous, scale: c.model ? 'fvar' : 'refit', nParams: params.n }));
  return { case: c, radiation: rad, evaluation: ev, metrics: sfMetrics(c, ev, rad, params, fcAmp) };
}

/** Element counts of a SHELX model's SFAC/UNIT, without hydrogen. */
export function formulaOf(m: ShelxModel): Record<string, number> {
  const f: Record<string, number> = {};
  m.sfac.forEach((e, i) => { f[e] = (f[e] ?? 0) + (m.unit[i] ?? 0); });
  delete f.H;
  return f;
}

export interface AssignRun {
  /** The .ins with the non-H atoms relabelled (and ANIS), Q-peaks dropped. */
  readonly ins: string;
  readonly method: 'shipped model' | 'model file' | 'classifier' | 'height-rank baseline';
  /** How many atoms changed element. */
  readonly changed: number;
  readonly metrics: Record<string, unknown>;
}

/** Which assigner: the shipped model (default), a model file, a classifier trained on a folder, or the height-rank baseline. */
export interface AssignerChoice {
  readonly model?: string;
  readonly train?: string;
  readonly baseline?: boolean;
}

function chooseModel(o: AssignerChoice): { model: ShippedAssigner; method: 'shipped model' | 'model file' } {
  return o.model ? { model: ShippedAssigner.load(o.model), method: 'model file' } : { model: ShippedAssigner.shipped(), method: 'shipped model' };
}

/**
 * `crystal assign`: elements for the non-H atoms of a .res from the heights of an |Fo| synthesis
 * phased with every atom as carbon (the input's elements do not enter the heights), by the shipped
 * model (default), a model file, a classifier trained on `train`, or the height-rank baseline.
 */
export function assignRun(res: string, o: AssignerChoice & { hkl?: string; decoder: Decoder; wavelength?: number; dispersion: DispersionMode; loaded?: ShippedAssigner }): AssignRun {
  const c = caseFromRes(res, o.hkl, { wavelength: o.wavelength });
  const rad = resolveRadiation(c.structure, o.dispersion, res);
  const m = c.model!;
  const heavy = c.structure.sites.filter((s) => s.element !== 'H');
  if (heavy.length === 0) throw new InputError(`${res}: no non-H atoms to assign`);
  const heights = carbonPhasedHeights(c, heavy, heavy.map((s) => s.frac));
  const formula = formulaOf(m);
  const ps: PeakSet = { structure: c.structure, frac: heavy.map((s) => s.frac), heights, sfac: Object.keys(formula), counts: countsForPeaks(formula, heavy.length), labels: heavy.map((s) => s.label) };
  let elements: string[];
  let top: ([string, number][] | null)[] = ps.labels.map(() => null);
  let method: AssignRun['method'];
  if (o.baseline) {
    elements = heightRankBaseline(heights, ps.counts);
    method = 'height-rank baseline';
  } else if (o.train) {
    const train = loadCases(o.train).filter((t) => t.name !== c.name);
    const r = rng(0, 'crystal-assign');
    const model = new ElementAssigner().fit(train.map((t) => simulatePeaks(t, r.split(t.name))));
    const pr = model.predict(ps, o.decoder);
    elements = pr.elements;
    top = pr.proba.map((p) => topK(pr.classes, Array.from(p)).filter((x) => x[1] > 0));
    method = 'classifier';
  } else {
    const chosen = o.loaded ? { model: o.loaded, method: (o.model ? 'model file' : 'shipped model') as AssignRun['method'] } : chooseModel(o);
    const pr = chosen.model.predict(ps, o.decoder);
    elements = pr.elements;
    top = pr.proba.map((p, i) => topK(pr.classes[i], p));
    method = chosen.method;
  }
  const byLabel = new Map(ps.labels.map((l, i) => [l, elements[i]]));
  const atoms = m.atoms.filter((a) => m.sfac[a.sfac - 1] !== 'H').map((a) => {
    const el = byLabel.get(a.name)!;
    return { ...a, sfac: m.sfac.indexOf(el) + 1, name: el + a.name.replace(/^[A-Za-z]+/, '') };
  });
  return {
    ins: writeShelxIns({ ...m, atoms, qpeaks: [], extra: [...m.extra.filter((e) => !/^ANIS/i.test(e)), 'ANIS'] }),
    method,
    changed: ps.labels.filter((l, i) => elementFromLabel(l) !== elements[i]).length,
    metrics: finiteMetrics({ ...rad, method, decoder: o.baseline ? null : o.decoder, atoms: ps.labels.map((l, i) => ({ label: l, element: elements[i], height: heights[i], top5: top[i] })) }),
  };
}

export interface AssignBatchRun {
  readonly files: { file: string; out: string; ins: string; method: string; atoms: number; changed: number; metrics: Record<string, unknown> }[];
  readonly failures: { file: string; error: string }[];
}

/** The .res/.ins files of a folder (not recursive) that have an .hkl beside them, sorted. */
export function structureFilesIn(dir: string): { files: string[]; withoutHkl: string[] } {
  const all = readdirSync(dir).filter((n) => SHELX_FILE.test(n)).sort().map((n) => join(dir, n));
  return { files: all.filter((p) => existsSync(p.replace(SHELX_FILE, '.hkl'))), withoutHkl: all.filter((p) => !existsSync(p.replace(SHELX_FILE, '.hkl'))) };
}

/**
 * `crystal assign --data DIR`: every .res/.ins with its .hkl in DIR, the model loaded once; a file
 * that fails is listed with its error and the rest go on. `outName` maps an input to its output .ins.
 */
export function assignBatchRun(dir: string, o: AssignerChoice & { decoder: Decoder; wavelength?: number; dispersion: DispersionMode; outName: (file: string) => string; onFile?: (file: string) => void }): AssignBatchRun {
  const { files, withoutHkl } = structureFilesIn(dir);
  for (const p of withoutHkl) warn('crystal-batch-no-hkl', `${p}: no .hkl beside it; skipped`);
  if (files.length === 0) throw new InputError(`${dir}: no .res/.ins file with an .hkl beside it`);
  const loaded = o.baseline || o.train ? undefined : chooseModel(o).model;
  const out: AssignBatchRun['files'] = [];
  const failures: AssignBatchRun['failures'] = [];
  for (const f of files) {
    try {
      const r = assignRun(f, { ...o, loaded });
      out.push({ file: f, out: o.outName(f), ins: r.ins, method: r.method, atoms: (r.metrics.atoms as unknown[]).length, changed: r.changed, metrics: r.metrics });
    } catch (e) {
      if (!(e instanceof InputError || e instanceof ParseError)) throw e;
      failures.push({ file: f, error: e.message });
      warn('crystal-batch-failed', `${f}: ${e.message}`);
    }
    o.onFile?.(f);
  }
  return { files: out, failures };
}

export interface HydrogensRun {
  /** The .ins without H atoms and with HFIX instructions for the riding H. */
  readonly ins: string;
  readonly method: 'shipped model' | 'model file' | 'classifier' | 'valence rule';
  readonly atoms: { label: string; element: string; degree: number; n_h: number; hfix: number | null; p_h?: number[] }[];
  readonly riding: Site[];
  /** R1 with the model's H, without H and with the generated riding H; null without reflections. */
  readonly r1: { model_h: number; no_h: number; riding_h: number } | null;
}

/** `crystal hydrogens`: H counts per heavy atom (shipped model by default; a model file, a classifier trained on `train`, or the valence rule) as HFIX; with reflections (`hkl` or beside the .res), R1 with and without them. */
export function hydrogensRun(res: string, o: { hkl?: string; train?: string; model?: string; rule?: boolean }): HydrogensRun {
  const m = parseShelxIns(readTextFile(res), { file: res });
  const noH = { ...m, atoms: m.atoms.filter((a) => m.sfac[a.sfac - 1] !== 'H') };
  const st = structureFromShelx(noH);
  const ctx = heavyAtomContexts(st);
  let counts: number[];
  let proba: number[][] | null = null;
  let method: HydrogensRun['method'];
  if (o.rule) {
    counts = ctx.map((a) => valenceRuleCount(a.element, a.degree));
    method = 'valence rule';
  } else if (o.train) {
    const train = loadCases(o.train).flatMap((c) => (c.structure.sites.some((s) => s.element === 'H') ? heavyAtomContexts(c.structure) : []));
    counts = new HydrogenCounter().fit(train).predict(ctx);
    method = 'classifier';
  } else {
    const chosen = chooseModel(o);
    const h = chosen.model.hydrogens(st, ctx);
    counts = h.counts; proba = h.proba; method = chosen.method;
  }
  const byCode = new Map<number, string[]>();
  const riding: Site[] = [];
  const atoms = ctx.map((a, i) => {
    const code = hfixCode(a.element, counts[i], a.degree);
    if (code !== null) { const l = byCode.get(code) ?? []; l.push(st.sites[a.index].label); byCode.set(code, l); riding.push(...ridingHydrogens(st, a, code)); }
    return { label: st.sites[a.index].label, element: a.element, degree: a.degree, n_h: counts[i], hfix: code, ...(proba ? { p_h: proba[i].map((p) => +p.toFixed(4)) } : {}) };
  });
  const sfac = m.sfac.includes('H') ? m.sfac : [...m.sfac, 'H'];
  const unit = m.sfac.includes('H') ? m.unit : [...m.unit, 0];
  const ins = writeShelxIns({ ...noH, sfac, unit, hfix: [...byCode.entries()].map(([code, list]) => ({ code, atoms: list })) });
  let r1: HydrogensRun['r1'] = null;
  const hkl = o.hkl ?? res.replace(SHELX_FILE, '.hkl');
  if (existsSync(hkl)) {
    const c = caseFromRes(res, hkl);
    const heavySites = c.structure.sites.filter((x) => x.element !== 'H');
    r1 = {
      model_h: evaluateCase(c, { anomalous: true }).r1,
      no_h: evaluateCase(c, { anomalous: true, sites: heavySites }).r1,
      riding_h: evaluateCase(c, { anomalous: true, sites: [...heavySites, ...riding] }).r1,
    };
  }
  return { ins, method, atoms, riding, r1 };
}

export interface ValidationRun {
  readonly case: RefinementCase;
  readonly report: SwapTestReport;
  /** Geometry, ADP and agreement alerts (levels A/B/C), most severe first. */
  readonly alerts: Alert[];
  readonly metrics: Record<string, unknown>;
}

/** Progress hooks: `onStart` with the number of steps once it is known, `onStep` after each. */
export interface Steps { readonly onStart?: (steps: number) => void; readonly onStep?: () => void }

/** `crystal validate`: the R1-swap test of every non-H atom of a structure file (phase swap-test; one step per non-H atom). */
export async function validationRun(file: string, o: StructureFileOptions & Steps & { alpha: number; dispersion: DispersionMode }, phase: Phase = untimed): Promise<ValidationRun> {
  const c = caseFromFile(file, o);
  o.onStart?.(c.structure.sites.filter((s) => s.element !== 'H').length);
  const rad = resolveRadiation(c.structure, o.dispersion, file);
  const r = await phase('swap-test', () => r1SwapTest(c, c.structure.sites, { alpha: o.alpha, anomalous: rad.anomalous, onAtom: o.onStep }));
  const pairWhy: Record<string, string> = Number.isFinite(r.pair_threshold) ? {} : { pair_threshold: 'no pair comparisons (fewer than two atoms heavier than Ne)' };
  const alerts = await phase('alerts', () => sortAlerts([...geometryAlerts(c.structure), ...refinementAlerts(r)]));
  return { case: c, report: r, alerts, metrics: finiteMetrics({ r1: r.r1, wr2: r.wr2, alpha: r.alpha, comparisons: r.comparisons, threshold: r.threshold, pair_comparisons: r.pair_comparisons, pair_threshold: r.pair_threshold, ...rad, atoms: r.atoms, alert_counts: alertCounts(alerts), alerts }, pairWhy) };
}

export interface LightSwapRun {
  readonly structures: { name: string; light_sites: number; partial_sites: number; reflections: number }[];
  readonly target_false_alarms: number;
  /** One row per detector: the R1-swap test's own F rule, each signal alone, and all three together. */
  readonly detectors: DetectorResult[];
}

/**
 * `crystal swaps`: every C/N/O site of every structure in a folder swapped to each of the other two
 * light elements, one at a time, and scored by leave-one-structure-out detectors (phases load, fits,
 * evaluate; one step per C/N/O site).
 */
export async function lightSwapRun(dir: string, o: Steps & { targetFalseAlarms: number; dispersion: DispersionMode }, phase: Phase = untimed): Promise<LightSwapRun> {
  const cases = await phase('load', () => loadCases(dir));
  if (cases.length < 3) throw new InputError(`${dir}: need at least 3 structures with reflections, found ${cases.length}`);
  o.onStart?.(cases.reduce((n, c) => n + c.structure.sites.filter((s) => s.element === 'C' || s.element === 'N' || s.element === 'O').length, 0));
  const fits = await phase('fits', () => cases.map((c) => lightSiteFits(c, { anomalous: resolveRadiation(c.structure, o.dispersion, c.name).anomalous, onSite: o.onStep })));
  const detectors = await phase('evaluate', () => evaluateLightSwaps(fits, { targetFalseAlarms: o.targetFalseAlarms }));
  return {
    structures: fits.map((f, k) => ({ name: f.name, light_sites: f.sites.length, partial_sites: f.sites.filter((x) => x.occ < 0.99).length, reflections: cases[k].merged.h.length })),
    target_false_alarms: o.targetFalseAlarms, detectors,
  };
}

const detectorName = (d: DetectorResult) => (d.signals === 'validate-F' ? 'R1-swap F test (Bonferroni)' : d.signals.join(' + '));

export function swapsSection(r: LightSwapRun): Section {
  const kinds = r.detectors[0]?.per_kind.map((k) => k.kind) ?? [];
  return new SectionBuilder('crystal: light-atom swaps (leave-one-structure-out)')
    .text(`Every C/N/O site of ${r.structures.length} structures swapped to each other light element, one at a time. Learned detectors: a logistic model on the signals fitted to the other structures, threshold at ${(100 * r.target_false_alarms).toFixed(0)} % false alarms on their correct atoms (each scored by a model that did not see its structure).`)
    .table(['detector', ...kinds.map((k) => `recall ${k}`), 'recall', 'true element named', 'false alarms', 'fully occupied: recall', 'fully occupied: false alarms'], r.detectors.map((d) => [detectorName(d), ...d.per_kind.map((k) => `${k.caught}/${k.swaps}`), +d.recall.toFixed(3),
      `${d.per_kind.reduce((a, k) => a + k.identified, 0)}/${d.swaps}`, `${d.false_alarms}/${d.correct_atoms} (${(100 * d.false_alarm_rate).toFixed(1)} %)`, `${d.fully_occupied.caught}/${d.fully_occupied.swaps}`, `${d.fully_occupied.false_alarms}/${d.fully_occupied.correct_atoms}`]))
    .build();
}

/** `crystal eval`: leave-one-structure-out element and H-count accuracy over a folder of at least 3 structures (phases load, loso). */
export async function evaluationRun(dir: string, seeds: readonly number[], steps: Steps = {}, phase: Phase = untimed): Promise<{ cases: number; result: EvalResult }> {
  const cases = await phase('load', () => loadCases(dir));
  if (cases.length < 3) throw new InputError(`${dir}: need at least 3 structures with reflections, found ${cases.length}`);
  steps.onStart?.(seeds.length * cases.length * 2 + cases.length);
  const result = await phase('loso', () => evaluateLoso(cases, [...seeds], (s) => rng(s, 'crystal-eval'), steps.onStep));
  return { cases: cases.length, result };
}

/** The alerts of `crystal validate` as a report section: one row per alert. */
export function alertsSection(c: RefinementCase, alerts: readonly Alert[]): Section {
  const n = alertCounts(alerts);
  return new SectionBuilder(`crystal: geometry alerts of ${c.name}`)
    .text(`${n.A} A, ${n.B} B, ${n.C} C alerts (A: almost certainly an error, B: a likely problem, C: worth a look). Bonds and angles against the usual ranges for their elements, contacts against van der Waals sums (hydrogen bonds excepted), ADPs that are not positive definite or have a principal-axis ratio of 4 or more, R1 above 0.10 or wR2 above 0.25.`)
    .table(['level', 'kind', 'atoms', 'value', 'expected', 'alert'], alerts.map((a) => [a.level, a.kind, a.atoms.join(' '), +a.value.toFixed(4), a.expected, a.line]))
    .build();
}

/** The structures of a folder for training or evaluation: with a corpus manifest, only the named split. */
export function casesForSplit(dir: string, split: 'train' | 'heldout'): { cases: RefinementCase[]; split: string; manifest: CorpusManifest | null } {
  const all = loadCases(dir);
  if (!existsSync(join(dir, 'manifest.json'))) return { cases: all, split: 'all (no manifest.json)', manifest: null };
  const manifest = readManifest(dir);
  const names = new Set(manifest.structures.filter((x) => x.split === split).map((x) => x.name));
  return { cases: all.filter((c) => names.has(c.name)), split, manifest };
}

/**
 * `crystal train`: fit the element and H-count models on a corpus's training split (phases load,
 * train, heldout), and measure them on its held-out split (by molecule) for the model card.
 */
export async function trainRun(corpus: string, o: TrainOptions & { seed: number; onStep?: (msg: string) => void }, phase: Phase = untimed): Promise<{ model: AssignerModelFile; heldout: ModelEvalResult | null; trainCases: number }> {
  const { cases, manifest } = await phase('load', () => casesForSplit(corpus, 'train'));
  if (cases.length < 2) throw new InputError(`${corpus}: need at least 2 training structures with reflections, found ${cases.length}`);
  // A corpus without a `plain` field predates the solvent/disorder/special-position extras.
  const extras = manifest && manifest.plain === false ? { extras: manifest.realism ?? {} } : {};
  const info = manifest ? { generator: 'npm run crystal-corpus', corpus_seed: manifest.seed, corpus_structures: manifest.n, smiles: manifest.smiles, plain: manifest.plain ?? true, ...extras } : { folder: 'no manifest.json: every structure used for training' };
  const file = await phase('train', () => trainAssigner(cases, rng(o.seed, 'crystal-train'), o, info, o.seed, o.onStep));
  let heldout: ModelEvalResult | null = null;
  if (manifest) {
    const held = casesForSplit(corpus, 'heldout').cases;
    if (held.length) heldout = await phase('heldout', () => evaluateModel(held, ShippedAssigner.fromObject(file, 'trained model'), [0], (sd) => rng(sd, 'crystal-eval'), o.onStep));
  }
  const model: AssignerModelFile = heldout ? { ...file, card: { ...file.card, metrics: { ...file.card.metrics, heldout_structures: heldout.structures.length, heldout_heavy_acc: heldout.model.heavy_acc, heldout_baseline_heavy_acc: heldout.baseline_height_rank.heavy_acc, heldout_h_count_acc: heldout.model.h_count_acc, heldout_valence_rule_h_count_acc: heldout.baseline_valence_rule.h_count_acc, heldout_per_element: heldout.per_element } } } : file;
  return { model, heldout, trainCases: cases.length };
}

/**
 * `crystal eval`: the shipped model (or `model`) on a folder without training (phases load, eval);
 * a corpus folder contributes only its held-out split.
 */
export async function modelEvalRun(dir: string, seeds: readonly number[], o: { model?: string; decoder?: Decoder } & Steps = {}, phase: Phase = untimed): Promise<{ result: ModelEvalResult & { split: string; model_source: string; model_card: ModelCard } }> {
  const { cases, split } = await phase('load', () => casesForSplit(dir, 'heldout'));
  if (cases.length === 0) throw new InputError(`${dir}: no structure with reflections to evaluate`);
  const { model } = chooseModel(o);
  o.onStart?.(seeds.length * cases.length + cases.length);
  const r = await phase('eval', () => evaluateModel(cases, model, seeds, (sd) => rng(sd, 'crystal-eval'), () => o.onStep?.(), o.decoder ?? 'near-counts'));
  return { result: { ...r, split, model_source: model.source, model_card: model.card } };
}

export function validationSection(c: RefinementCase, r: SwapTestReport, sites?: readonly Site[]): Section {
  return new SectionBuilder(`crystal: R1-swap validation of ${c.name}`)
    .text(`R1 ${r.r1.toFixed(4)}. For each atom and each plausible alternative element, the scale and that atom's U are re-refined. ` +
      `An atom is flagged when its best alternative lowers the weighted residual S significantly: Hamilton's F = (S_current − S_alt)/(S_alt/(n − p)) above ${r.threshold.toFixed(1)}, ` +
      `the F(1, n − p) quantile at α = ${r.alpha} divided by the ${r.comparisons} comparisons (Bonferroni). The most significant swap is accepted and the rest re-tested (step-down); ` +
      `when no single swap is significant, pairs of atoms heavier than Ne are changed jointly (F(2, n − p) threshold ${Number.isFinite(r.pair_threshold) ? r.pair_threshold.toFixed(1) : 'n/a'} over ${r.pair_comparisons} pair comparisons).`)
    .html(structureView(c.structure, { sites, flagged: r.atoms.filter((a) => a.flagged).map((a) => a.label) }))
    .table(['atom', 'element', 'best alternative', 'ΔR1', 'ΔwR2', 'F', 'flagged'], r.atoms.map((a) => [a.label, a.element, a.best_alternative, +a.delta_r1.toFixed(4), +a.delta_wr2.toFixed(4), +a.f_stat.toFixed(1), a.flagged ? 'YES' : '']))
    .build();
}

export function evalSection(res: EvalResult): Section {
  const rows = res.assignment.per_seed.map((s) => {
    const r = s as { seed: number; baseline: Record<string, number>; model_argmax: Record<string, number>; model_counts: Record<string, number>; model_rankshift: Record<string, number> };
    return [r.seed, r.baseline.atom_acc!, r.model_argmax.atom_acc!, r.model_counts.atom_acc!, r.model_rankshift.atom_acc!, r.baseline.cno_acc!, r.model_counts.cno_acc!, r.model_rankshift.cno_acc!, r.baseline.heavier_acc ?? null, r.model_counts.heavier_acc ?? null, r.model_rankshift.heavier_acc ?? null, r.baseline.structures_all_correct!, r.model_counts.structures_all_correct!, r.model_rankshift.structures_all_correct!];
  }).map((r) => r.map((v) => (typeof v === 'number' ? +v.toFixed(3) : v)));
  return new SectionBuilder('crystal: leave-one-structure-out evaluation')
    .table(['seed', 'atom acc baseline', 'argmax', 'counts', 'rank-shift', 'C/N/O baseline', 'C/N/O counts', 'C/N/O rank-shift', 'heavier baseline', 'heavier counts', 'heavier rank-shift', 'all-correct baseline', 'all-correct counts', 'all-correct rank-shift'], rows)
    .table(['', 'valence rule', 'learned'], [['H count, per atom', +(res.hydrogens.valence_rule_atom_acc as number).toFixed(3), +(res.hydrogens.learned_atom_acc as number).toFixed(3)], ['all-correct structures', res.hydrogens.valence_rule_structures_all_correct as number, res.hydrogens.learned_structures_all_correct as number]])
    .build();
}

export function modelEvalSection(r: ModelEvalResult & { split: string; model_source: string }): Section {
  const f = (v: number | null) => (v === null ? null : +v.toFixed(3));
  return new SectionBuilder(`crystal: ${r.model_source} on ${r.structures.length} structures (${r.split})`)
    .text(`Peaks simulated per seed (true sites + 0.05 Å, heights from an |Fo| map phased by an all-carbon model); the model decodes with ${r.model.decoder}, the baseline gives the heaviest elements to the highest peaks in formula counts. H counts from the true heavy-atom model.`)
    .table(['', 'model', 'height-rank baseline'], [['heavy-atom accuracy', f(r.model.heavy_acc), f(r.baseline_height_rank.heavy_acc)], ['all-correct structures', r.model.structures_all_correct, r.baseline_height_rank.structures_all_correct]])
    .table(['element', 'atoms', 'model', 'baseline'], Object.entries(r.per_element).map(([e, v]) => [e, v.atoms, f(v.model_acc), f(v.baseline_acc)]))
    .table(['structure', 'non-H atoms', 'model', 'baseline', 'H count (model)', 'H count (valence rule)'], r.per_structure.map((p) => [p.structure as string, p.heavy_atoms as number, f(p.heavy_acc as number), f(p.baseline_heavy_acc as number), f((p.h_count_acc as number | undefined) ?? null), f((p.valence_rule_h_count_acc as number | undefined) ?? null)]))
    .build();
}

export interface SwapDemo {
  readonly sections: Section[];
  /** The swap test's R1 and atoms (the demo's crystal-validate.json). */
  readonly validation: { r1: number; atoms: SwapTestReport['atoms'] };
  readonly metrics: { r1: number; wr2: number; r1_swapped: number; flagged: string[]; swap_found: boolean; false_alarms: number };
}

/** The demo: R factors of the built-in structure, and the R1-swap test finding N1 deliberately set to C. */
export function swapDemo(r: Rng): SwapDemo {
  const c = builtInCase(r);
  const ev = evaluateCase(c);
  const swapped = c.structure.sites.map((s) => (s.label === 'N1' ? { ...s, element: 'C' } : s));
  const swappedCase = { ...c, structure: { ...c.structure, sites: swapped } };
  const evSwap = evaluateCase(swappedCase);
  const test = r1SwapTest(swappedCase, swapped);
  const flagged = test.atoms.filter((a) => a.flagged).map((a) => a.label);
  const s1 = new SectionBuilder('crystal: R factors of a built-in structure')
    .text(`A made-up 4-chlorobenzamide-like molecule in P2₁/c (${c.structure.sites.length} sites), ${ev.n} unique reflections to 0.8 Å simulated with 2 % noise. ` +
      `The correct model gives R1 ${ev.r1.toFixed(4)}; with N1 deliberately swapped to C it gives ${evSwap.r1.toFixed(4)}.`)
    .table(['model', 'R1', 'R1 (all)', 'wR2', 'GooF'], [['correct', +ev.r1.toFixed(4), +ev.r1All.toFixed(4), +ev.wr2.toFixed(4), +ev.goof.toFixed(3)], ['N1 swapped to C', +evSwap.r1.toFixed(4), +evSwap.r1All.toFixed(4), +evSwap.wr2.toFixed(4), +evSwap.goof.toFixed(3)]])
    .build();
  return {
    sections: [s1, validationSection(swappedCase, test, swapped)],
    validation: { r1: test.r1, atoms: test.atoms },
    metrics: { r1: ev.r1, wr2: ev.wr2, r1_swapped: evSwap.r1, flagged, swap_found: flagged.includes('N1'), false_alarms: flagged.filter((l) => l !== 'N1').length },
  };
}
