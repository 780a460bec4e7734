// Leave-one-structure-out evaluation of element assignment and H counts on a folder of structures.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { warn } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { mean as meanOf, std as stdOf } from '../core/stats.js';
import { decode, DECODERS, ElementAssigner, heightRankBaseline, RankShiftAssigner, simulatePeaks, type Decoder, type PeakSet } from './assign.js';
import { parseCif } from './cif.js';
import { heavyAtomContexts, HydrogenCounter, valenceRuleCount, type HeavyAtomContext } from './hydrogens.js';
import { readTextFile } from './limits.js';
import { caseFromShelx, checkEmbeddedChecksums, type RefinementCase } from './refine.js';
import { embeddedShelx, publishedAgreement } from './structure.js';
import type { ShippedAssigner } from './model.js';

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...walk(p)); else out.push(p);
  }
  return out;
}

/** Every structure with reflections in a folder: SHELXL CIFs with embedded res+hkl, and .res/.ins + .hkl pairs. */
export function loadCases(dir: string): RefinementCase[] {
  const cases: RefinementCase[] = [];
  const seen = new Set<string>();
  for (const p of walk(dir)) {
    try {
      if (p.endsWith('.cif')) {
        let doc;
        const text = readTextFile(p);
        try { doc = parseCif(text, { file: p }); } catch (e) {
          warn('crystal-lenient-cif', `${p}: not strict CIF 1.1 (${(e as Error).message}); read leniently`);
          doc = parseCif(text, { file: p, strict: false });
        }
        for (const b of doc.blocks) {
          const e = embeddedShelx(b);
          if (!e.res || !e.hkl) continue;
          checkEmbeddedChecksums(b, p);
          const c = caseFromShelx(`${basename(p, '.cif')}${doc.blocks.length > 1 ? ':' + b.name : ''}`, e.res, e.hkl, publishedAgreement(b), { res: p, hkl: p, resLine: e.resLine, hklLine: e.hklLine });
          const key = `${c.structure.cell.a.toFixed(3)},${c.structure.cell.b.toFixed(3)},${c.structure.sites.length}`;
          if (seen.has(key)) continue;
          seen.add(key); cases.push(c);
        }
      } else if (/\.(res|ins)$/.test(p)) {
        const hkl = p.replace(/\.(res|ins)$/, '.hkl');
        if (!existsSync(hkl)) continue;
        const c = caseFromShelx(basename(p).replace(/\.(res|ins)$/, ''), readTextFile(p), readTextFile(hkl), { r1: null, wr2: null, goof: null, r1All: null }, { res: p, hkl });
        const key = `${c.structure.cell.a.toFixed(3)},${c.structure.cell.b.toFixed(3)},${c.structure.sites.length}`;
        if (seen.has(key)) continue;
        seen.add(key); cases.push(c);
      }
    } catch (e) {
      warn('crystal-skip', `${p}: skipped (${(e as Error).message})`);
    }
  }
  return cases;
}

const CNO = new Set(['C', 'N', 'O']);

interface Acc { atoms: number; correct: number; cno: number; cnoOk: number; heavy: number; heavyOk: number; structs: number; structsOk: number }
function acc(): Acc { return { atoms: 0, correct: 0, cno: 0, cnoOk: 0, heavy: 0, heavyOk: 0, structs: 0, structsOk: 0 }; }
function score(a: Acc, truth: readonly string[], pred: readonly string[]): boolean {
  let all = true;
  truth.forEach((t, i) => {
    const ok = t === pred[i];
    a.atoms++; if (ok) a.correct++; else all = false;
    if (CNO.has(t)) { a.cno++; if (ok) a.cnoOk++; } else { a.heavy++; if (ok) a.heavyOk++; }
  });
  a.structs++; if (all) a.structsOk++;
  return all;
}
function summary(a: Acc) {
  return { atom_acc: a.correct / a.atoms, cno_acc: a.cno ? a.cnoOk / a.cno : null, heavier_acc: a.heavy ? a.heavyOk / a.heavy : null, structures_all_correct: a.structsOk, structures: a.structs };
}

export interface EvalResult {
  readonly structures: readonly string[];
  readonly assignment: { readonly per_seed: readonly Record<string, unknown>[]; readonly mean: Record<string, { mean: number; std: number }> };
  readonly hydrogens: Record<string, unknown>;
  readonly per_structure: readonly Record<string, unknown>[];
}

export function evaluateLoso(cases: readonly RefinementCase[], seeds: readonly number[], rngFor: (seed: number) => Rng, onStep?: (msg: string) => void): EvalResult {
  const perSeed: Record<string, unknown>[] = [];
  const perStructure: Record<string, unknown>[] = [];
  const collect: Record<string, number[]> = {};
  for (const seed of seeds) {
    const rng = rngFor(seed);
    const sets: PeakSet[] = cases.map((c) => { onStep?.(`peaks ${c.name} seed ${seed}`); return simulatePeaks(c, rng.split(c.name)); });
    const base = acc(), am = acc(), cc = acc(), rs = acc();
    cases.forEach((c, i) => {
      onStep?.(`assign ${c.name} seed ${seed}`);
      const model = new ElementAssigner().fit(sets.filter((_, j) => j !== i));
      const ps = sets[i];
      const truth = ps.truth!;
      const b = heightRankBaseline(ps.heights, ps.counts);
      const a = model.predict(ps, 'argmax').elements;
      const k = model.predict(ps, 'counts').elements;
      const r = new RankShiftAssigner().fit(sets.filter((_, j) => j !== i)).predict(ps);
      perStructure.push({ seed, structure: c.name, atoms: truth.length, baseline_ok: score(base, truth, b), argmax_ok: score(am, truth, a), counts_ok: score(cc, truth, k), rankshift_ok: score(rs, truth, r),
        baseline_acc: truth.filter((t, j) => t === b[j]).length / truth.length, counts_acc: truth.filter((t, j) => t === k[j]).length / truth.length, rankshift_acc: truth.filter((t, j) => t === r[j]).length / truth.length });
    });
    const row = { seed, baseline: summary(base), model_argmax: summary(am), model_counts: summary(cc), model_rankshift: summary(rs) };
    perSeed.push(row);
    for (const [name, s] of Object.entries({ baseline: row.baseline, model_argmax: row.model_argmax, model_counts: row.model_counts, model_rankshift: row.model_rankshift })) {
      (collect[`${name}_atom_acc`] ??= []).push(s.atom_acc);
      (collect[`${name}_structures_all_correct`] ??= []).push(s.structures_all_correct);
    }
  }
  const mean: Record<string, { mean: number; std: number }> = {};
  for (const [k, v] of Object.entries(collect)) mean[k] = { mean: meanOf(v), std: v.length > 1 ? stdOf(v) : 0 };
  // H counts: deterministic (true heavy-atom positions), leave one structure out.
  const withH = cases.filter((c) => c.structure.sites.some((s) => s.element === 'H'));
  const ctx: HeavyAtomContext[][] = withH.map((c) => heavyAtomContexts(c.structure));
  let n = 0, rule = 0, learned = 0, sRule = 0, sLearned = 0;
  withH.forEach((c, i) => {
    onStep?.(`hydrogens ${c.name}`);
    const train = ctx.filter((_, j) => j !== i).flat();
    const m = new HydrogenCounter().fit(train);
    const pred = m.predict(ctx[i]);
    let okR = true, okL = true;
    ctx[i].forEach((a, j) => {
      n++;
      const r = valenceRuleCount(a.element, a.degree);
      if (r === a.nH) rule++; else okR = false;
      if (pred[j] === a.nH) learned++; else okL = false;
    });
    if (okR) sRule++; if (okL) sLearned++;
  });
  const hydrogens = { structures: withH.length, atoms: n, valence_rule_atom_acc: rule / n, learned_atom_acc: learned / n, valence_rule_structures_all_correct: sRule, learned_structures_all_correct: sLearned };
  return { structures: cases.map((c) => c.name), assignment: { per_seed: perSeed, mean }, hydrogens, per_structure: perStructure };
}

export interface ModelEvalResult {
  readonly model: { heavy_acc: number; heavy_acc_sd: number; h_count_acc: number | null; structures_all_correct: number; decoder: Decoder };
  /** The same probabilities decoded each way (mean over seeds). */
  readonly model_by_decoder: Record<string, { heavy_acc: number }>;
  readonly baseline_height_rank: { heavy_acc: number; heavy_acc_sd: number; structures_all_correct: number };
  readonly baseline_valence_rule: { h_count_acc: number | null };
  readonly per_element: Record<string, { atoms: number; model_acc: number; baseline_acc: number }>;
  readonly per_seed: readonly { seed: number; model_heavy_acc: number; baseline_heavy_acc: number }[];
  readonly per_structure: readonly Record<string, unknown>[];
  readonly atoms: number;
  readonly h_atoms: number;
  readonly structures: readonly string[];
}

/**
 * The shipped (or a given) model on structures it was not trained on, without training: per seed,
 * peaks are simulated as in `evaluateLoso` and both the model and the height-rank baseline assign
 * them (formula counts, Hungarian decoding for the model); H counts are predicted from the true
 * heavy-atom model and compared with the H atoms the structure carries.
 */
export function evaluateModel(cases: readonly RefinementCase[], model: ShippedAssigner, seeds: readonly number[], rngFor: (seed: number) => Rng, onStep?: (msg: string) => void, decoder: Decoder = 'near-counts'): ModelEvalResult {
  const decOk: Record<string, number> = Object.fromEntries(DECODERS.map((d) => [d, 0]));
  const perStructure: Record<string, unknown>[] = [];
  const perSeed: { seed: number; model_heavy_acc: number; baseline_heavy_acc: number }[] = [];
  const el: Record<string, { atoms: number; m: number; b: number }> = {};
  let allM = 0, allB = 0, nAll = 0;
  const byCase = new Map<string, { atoms: number; m: number; b: number }>();
  for (const seed of seeds) {
    const r = rngFor(seed);
    let n = 0, okM = 0, okB = 0;
    for (const c of cases) {
      onStep?.(`assign ${c.name} seed ${seed}`);
      const ps = simulatePeaks(c, r.split(c.name));
      const truth = ps.truth!;
      const pr = model.probabilities(ps);
      const p64 = pr.proba.map((p) => Float64Array.from(p));
      const pm = decode(p64, pr.candidates, ps.counts, decoder);
      const pb = heightRankBaseline(ps.heights, ps.counts);
      const alt = Object.fromEntries(DECODERS.map((d) => [d, d === decoder ? pm : decode(p64, pr.candidates, ps.counts, d)]));
      let m = 0, b = 0;
      truth.forEach((t, i) => {
        const e = (el[t] ??= { atoms: 0, m: 0, b: 0 });
        e.atoms++;
        if (pm[i] === t) { m++; e.m++; }
        if (pb[i] === t) { b++; e.b++; }
        for (const d of DECODERS) if (alt[d][i] === t) decOk[d]++;
      });
      n += truth.length; okM += m; okB += b;
      if (m === truth.length) allM++;
      if (b === truth.length) allB++;
      const s = byCase.get(c.name) ?? { atoms: 0, m: 0, b: 0 };
      s.atoms += truth.length; s.m += m; s.b += b; byCase.set(c.name, s);
    }
    perSeed.push({ seed, model_heavy_acc: okM / n, baseline_heavy_acc: okB / n });
    nAll += n;
  }
  let hN = 0, hM = 0, hR = 0;
  for (const c of cases) {
    const s = byCase.get(c.name)!;
    const row: Record<string, unknown> = { structure: c.name, heavy_atoms: s.atoms / seeds.length, heavy_acc: s.m / s.atoms, baseline_heavy_acc: s.b / s.atoms };
    if (c.structure.sites.some((x) => x.element === 'H')) {
      onStep?.(`hydrogens ${c.name}`);
      const ctx = heavyAtomContexts(c.structure);
      const pred = model.hydrogens(c.structure, ctx).counts;
      let m = 0, rule = 0;
      ctx.forEach((a, i) => { const t = Math.min(a.nH, 3); if (pred[i] === t) m++; if (valenceRuleCount(a.element, a.degree) === t) rule++; });
      hN += ctx.length; hM += m; hR += rule;
      Object.assign(row, { h_atoms: ctx.length, h_count_acc: ctx.length ? m / ctx.length : null, valence_rule_h_count_acc: ctx.length ? rule / ctx.length : null });
    }
    perStructure.push(row);
  }
  const mAcc = perSeed.map((p) => p.model_heavy_acc), bAcc = perSeed.map((p) => p.baseline_heavy_acc);
  const sd = (v: number[]) => (v.length > 1 ? stdOf(v) : 0);
  const perElement: ModelEvalResult['per_element'] = {};
  for (const [e, v] of Object.entries(el).sort((a, b) => b[1].atoms - a[1].atoms)) perElement[e] = { atoms: v.atoms / seeds.length, model_acc: v.m / v.atoms, baseline_acc: v.b / v.atoms };
  return {
    model: { heavy_acc: meanOf(mAcc), heavy_acc_sd: sd(mAcc), h_count_acc: hN ? hM / hN : null, structures_all_correct: allM / seeds.length, decoder },
    model_by_decoder: Object.fromEntries(DECODERS.map((d) => [d, { heavy_acc: decOk[d] / nAll }])),
    baseline_height_rank: { heavy_acc: meanOf(bAcc), heavy_acc_sd: sd(bAcc), structures_all_correct: allB / seeds.length },
    baseline_valence_rule: { h_count_acc: hN ? hR / hN : null },
    per_element: perElement, per_seed: perSeed, per_structure: perStructure,
    atoms: [...byCase.values()].reduce((s, v) => s + v.atoms, 0) / seeds.length, h_atoms: hN, structures: cases.map((c) => c.name),
  };
}
