// The shipped assigner: boosting learner, model file checks, probabilities, near-counts decoding,
// batch assign, training and evaluation on tiny made-up data (the example structures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrystal } from './helpers.js';
import { rng } from '../../src/core/rng.js';
import { decode } from '../../src/crystal/assign.js';
import { checkBoostModel, fitChoiceBoost, groupMetrics, type ChoiceGroup } from '../../src/crystal/boost.js';
import { builtInCase } from '../../src/crystal/builtin.js';
import { assignBatchRun, hydrogensRun, trainRun } from '../../src/crystal/commands.js';
import { simulateReflections } from '../../src/crystal/corpus.js';
import { writeExampleFiles } from '../../src/crystal/example.js';
import { heavyAtomContexts } from '../../src/crystal/hydrogens.js';
import { CONTEXT_FEATURES, ShippedAssigner, contextRows } from '../../src/crystal/model.js';
import { caseFromShelx, evaluateCase } from '../../src/crystal/refine.js';
import { simulatePeaks } from '../../src/crystal/assign.js';
import { writeShelxIns, type ShelxModel } from '../../src/crystal/shelx.js';

const dir = mkdtempSync(join(tmpdir(), 'crystal-model-'));
const ex = join(dir, 'ex');
writeExampleFiles(ex, { variants: 3 });
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = runCrystal;

test('choice boosting learns which candidate is right from candidate features; malformed models are refused', () => {
  const r = rng(0, 'boost-test');
  const groups: ChoiceGroup[] = [];
  for (let g = 0; g < 300; g++) {
    // The true candidate is the one whose first feature is closest to the group's second one.
    const target = r.uniform(0, 10);
    const rows = [0, 1, 2].map(() => { const a = r.uniform(0, 10); return [a, target, r.normal()]; });
    const label = rows.map((x) => Math.abs(x[0] - x[1])).reduce((b, v, i, a) => (v < a[b] ? i : b), 0);
    groups.push({ rows, label });
  }
  const m = fitChoiceBoost(groups.slice(0, 200), r, { rounds: 40, depth: 3 });
  const held = groupMetrics(m, groups.slice(200));
  assert.ok(held.accuracy > 0.75, `held-out accuracy ${held.accuracy}`);
  assert.ok(held.accuracy > 0.34 + 0.3, 'well above chance (1/3)');
  checkBoostModel(JSON.parse(JSON.stringify(m)), 'round trip');
  assert.throws(() => checkBoostModel({ ...m, trees: [{ feature: [7], threshold: [0], left: [1], right: [2], value: [0] }] }, 'bad.json'), /bad\.json: .*out of range|malformed/);
  assert.throws(() => checkBoostModel({ kind: 'x' }, 'bad.json'), /bad\.json: not a choice-gbt model/);
  assert.throws(() => fitChoiceBoost([{ rows: [[1]], label: 0 }], r), /no labelled group/);
});

test('the shipped model loads and gives valid probabilities over the formula elements and 0-3 H', () => {
  const model = ShippedAssigner.shipped();
  assert.ok(model.card.seed !== undefined && typeof model.card.corpus === 'object');
  const c = builtInCase(rng(0, 'model-test'));
  const ps = simulatePeaks(c, rng(1, 'peaks'), { formula: { C: 7, N: 1, O: 1, Cl: 1 } });
  const { candidates, proba } = model.probabilities(ps);
  assert.deepEqual(candidates, ['Cl', 'O', 'N', 'C'], 'the formula elements, heaviest first');
  assert.equal(proba.length, ps.heights.length);
  for (const p of proba) {
    assert.equal(p.length, candidates.length);
    for (const v of p) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  }
  const pr = model.predict(ps, 'counts');
  const counts: Record<string, number> = {};
  for (const e of pr.elements) counts[e] = (counts[e] ?? 0) + 1;
  assert.deepEqual(counts, { C: 7, N: 1, O: 1, Cl: 1 }, 'counts decoding meets the formula');
  assert.equal(pr.elements[ps.truth!.indexOf('Cl')], 'Cl', 'the Cl peak is Cl');
  const st = c.structure;
  const h = model.hydrogens(st, heavyAtomContexts(st));
  for (const p of h.proba) { assert.equal(p.length, 4); assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9); }
  assert.ok(h.counts.every((n) => n >= 0 && n <= 3));
  const hr = hydrogensRun(join(ex, 'chlorobenzamide.res'), {});
  assert.equal(hr.method, 'shipped model');
  assert.ok(hr.atoms.every((a) => a.p_h && a.p_h.length === 4));
});

test('near-counts decoding leaves the formula count only on strong evidence', () => {
  const classes = ['O', 'C'];
  // Formula says 1 O, 2 C; the first two peaks are very likely O.
  const strong = [[0.99, 0.01], [0.99, 0.01], [0.05, 0.95]].map((p) => Float64Array.from(p));
  assert.deepEqual(decode(strong, classes, { O: 1, C: 2 }, 'counts').filter((e) => e === 'O').length, 1);
  assert.deepEqual(decode(strong, classes, { O: 1, C: 2 }, 'near-counts'), ['O', 'O', 'C']);
  const weak = [[0.7, 0.3], [0.6, 0.4], [0.05, 0.95]].map((p) => Float64Array.from(p));
  assert.deepEqual(decode(weak, classes, { O: 1, C: 2 }, 'near-counts'), ['O', 'C', 'C'], 'odds under 10:1 keep the counts');
  // An element of the formula with count 0 (a special position) can still be assigned.
  const fe = [[0.98, 0.02], [0.01, 0.99]].map((p) => Float64Array.from(p));
  assert.deepEqual(decode(fe, ['Fe', 'O'], { Fe: 0, O: 2 }, 'near-counts'), ['Fe', 'O']);
});

test('simulated reflections: the true model fits them (R1 under 5 %), F8.2 columns', () => {
  const st = builtInCase(rng(0, 'sim')).structure;
  const sim = simulateReflections(st, rng(2, 'sim'), { dmin: 1.0 });
  assert.ok(sim.n > 500);
  for (const line of sim.hkl.trim().split('\n')) assert.ok(line.length <= 32);
  const sfac = ['C', 'H', 'N', 'O', 'Cl'];
  const model: ShelxModel = {
    title: 'sim', wavelength: st.wavelength, cell: st.cell, z: 4, latt: 1, symm: ['-X, 0.5+Y, 0.5-Z'], sfac, unit: [28, 24, 4, 4, 4],
    fvar: [sim.fvar], wght: [0.03, 0], hfix: [], extra: [], hklf: 4, hklfScale: 1, qpeaks: [],
    atoms: st.sites.map((s, i) => ({ name: s.label, sfac: sfac.indexOf(s.element) + 1, xyz: s.frac, sof: 1, sofCode: 11, uiso: s.uani ? null : s.uiso, uani: s.uani, afix: 0, part: 0, line: i + 1, peakHeight: null })),
  };
  const c = caseFromShelx('sim', writeShelxIns(model), sim.hkl, { r1: null, wr2: null, goof: null, r1All: null });
  const e = evaluateCase(c, { anomalous: true, scale: 'fvar' });
  assert.ok(e.r1 < 0.05, `R1 ${e.r1}`);
});

test('batch assign: every structure of a folder in one run and one record; a broken file is listed, the rest assigned', async () => {
  const data = join(dir, 'batch');
  writeExampleFiles(data, { variants: 3 });
  for (const n of readdirSync(data)) if (n.endsWith('.cif')) rmSync(join(data, n));
  writeFileSync(join(data, 'broken.res'), 'TITL broken\nCELL 0.71073 5 5 5 90 90 90\nEND\n');
  writeFileSync(join(data, 'broken.hkl'), '   1   0   0   10.00    1.00\n');
  const r = assignBatchRun(data, { decoder: 'near-counts', dispersion: 'auto', outName: (f) => f + '.out' });
  assert.equal(r.files.length, 3);
  assert.equal(r.failures.length, 1);
  assert.match(r.failures[0].file, /broken\.res$/);
  for (const f of r.files) assert.ok((f.metrics.atoms as { top5: unknown[] }[]).every((a) => a.top5.length >= 1));
  const out = join(dir, 'batch-out'), rec = join(dir, 'batch.json');
  const before = process.exitCode;
  await run(['assign', '--data', data, '--out-dir', out, '--json', rec]);
  assert.equal(process.exitCode, 1, 'a failed file makes the exit status non-zero');
  process.exitCode = before;
  assert.deepEqual(readdirSync(out).sort(), ['bromobenzamide_AI.ins', 'chlorobenzamide_AI.ins', 'fluorobenzamide_AI.ins']);
  const j = JSON.parse(readFileSync(rec, 'utf8')) as { structures: number; failed: number; files: { method: string }[]; run: unknown };
  assert.equal(j.structures, 3);
  assert.equal(j.failed, 1);
  assert.ok(j.files.every((f) => f.method === 'shipped model'));
  await assert.rejects(run(['assign', '--data', data, '--out', join(dir, 'x.ins')]), /--data needs --out-dir/);
  await assert.rejects(run(['assign', '--res', join(data, 'chlorobenzamide.res'), '--data', data, '--out', join(dir, 'x.ins')]), /exactly one of --res FILE or --data DIR/);
});

test('train on a tiny folder, load the file, and evaluate it without training', async () => {
  const r = await trainRun(ex, { seed: 0, draws: 1, element: { rounds: 5, depth: 2 }, hcount: { rounds: 5, depth: 2 } });
  assert.equal(r.trainCases, 3);
  assert.equal(r.heldout, null, 'no manifest: no held-out split');
  const file = join(dir, 'm.json');
  writeFileSync(file, JSON.stringify(r.model));
  const loaded = ShippedAssigner.load(file);
  assert.equal(loaded.card.seed, 0);
  writeFileSync(join(dir, 'bad.json'), '{"format":"other"}');
  assert.throws(() => ShippedAssigner.load(join(dir, 'bad.json')), /bad\.json: not a perennial crystal assigner model/);
  const rec = join(dir, 'eval.json');
  await run(['eval', '--data', ex, '--seeds', '0', '--model', file, '--json', rec]);
  const j = JSON.parse(readFileSync(rec, 'utf8')) as Record<string, Record<string, unknown>>;
  for (const k of ['heavy_acc', 'h_count_acc']) { const v = j.model[k] as number; assert.ok(v >= 0 && v <= 1, k); }
  assert.ok((j.baseline_height_rank.heavy_acc as number) >= 0);
  assert.equal((j.per_structure as unknown as unknown[]).length, 3);
  assert.equal(j.model_source as unknown, file);
});

test('train on a corpus folder: the manifest splits by name, and the card says whether the corpus had extras', async () => {
  const opts = { seed: 0, draws: 1, element: { rounds: 5, depth: 2 }, hcount: { rounds: 5, depth: 2 } };
  const split = { bromobenzamide: 'train', chlorobenzamide: 'heldout', fluorobenzamide: 'train' } as const;
  const manifest = (extra: Record<string, unknown>) => JSON.stringify({ seed: 3, n: 3, smiles: 'x.smi', ...extra,
    structures: Object.entries(split).map(([name, s]) => ({ name, smiles: name, split: s, stratum: 'CNO', space_group: 'P21/c', packing_coefficient: 0.6 })) });
  const corpus = join(dir, 'corpus');
  cpSync(ex, corpus, { recursive: true });
  writeFileSync(join(corpus, 'manifest.json'), manifest({ plain: false, realism: { solvent: 0.35, disorder: 0.3 } }));
  const r = await trainRun(corpus, opts);
  assert.equal(r.trainCases, 2, 'the training split only');
  assert.deepEqual(r.heldout?.structures, ['chlorobenzamide']);
  const c = r.model.card.corpus;
  assert.equal(c.corpus_seed, 3);
  assert.equal(c.plain, false);
  assert.deepEqual(c.extras, { solvent: 0.35, disorder: 0.3 });
  assert.equal(r.model.card.metrics.heldout_structures, 1);
  // A manifest without `plain` (older generator) is a plain corpus, with no extras recorded.
  writeFileSync(join(corpus, 'manifest.json'), manifest({}));
  const old = await trainRun(corpus, opts);
  assert.equal(old.model.card.corpus.plain, true);
  assert.ok(!('extras' in old.model.card.corpus));
});

test('context features: own and neighbours\' first-pass probabilities, neighbour means per element group', () => {
  const candidates = ['Cl', 'O', 'N', 'C'];
  const rows = [[[1], [2], [3], [4]], [[5], [6], [7], [8]], [[9], [9], [9], [9]]];
  const p1 = [[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.1, 0.4], [0.7, 0.1, 0.1, 0.1]];
  const near = [[1, 2], [0], []];
  const x = contextRows(candidates, rows, near, p1);
  assert.equal(x[0][0].length, 1 + CONTEXT_FEATURES);
  // Peak 0, candidate O (k = 1): own 0.2, largest neighbour 0.5; means over peaks 1 and 2 of C, N, O, halogens, S/P.
  assert.deepEqual(x[0][1], [2, 0.2, 0.5, (0.4 + 0.1) / 2, (0.1 + 0.1) / 2, (0.5 + 0.1) / 2, (0.0 + 0.7) / 2, 0]);
  // A peak without neighbours gets zeros for them.
  assert.deepEqual(x[2][0], [9, 0.7, 0, 0, 0, 0, 0, 0]);
});

test('train with --context: a second pass on out-of-fold probabilities, loaded and used; a mismatched one is refused', async () => {
  const r = await trainRun(ex, { seed: 0, draws: 1, context: true, element: { rounds: 5, depth: 2 }, hcount: { rounds: 5, depth: 2 } });
  const m = r.model;
  assert.ok(m.element_context, 'the file carries the second pass');
  assert.equal(m.element_context!.nFeatures, m.element.nFeatures + CONTEXT_FEATURES);
  const file = join(dir, 'ctx.json');
  writeFileSync(file, JSON.stringify(m));
  const withContext = ShippedAssigner.load(file);
  const plain = ShippedAssigner.fromObject({ ...m, element_context: undefined }, 'first pass only');
  const ps = simulatePeaks(builtInCase(rng(1, 'ctx-case')), rng(2, 'ctx'));
  const a = withContext.probabilities(ps), b = plain.probabilities(ps);
  assert.deepEqual(a.candidates, b.candidates);
  for (const p of a.proba) assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-9 && p.every((v) => v >= 0));
  assert.notDeepEqual(a.proba, b.proba, 'the second pass changes the probabilities');
  const bad = { ...m, element_context: { ...m.element_context!, nFeatures: m.element.nFeatures + CONTEXT_FEATURES + 1 } };
  assert.throws(() => ShippedAssigner.fromObject(bad, 'bad.json'), /bad\.json: context model expects/);
});
