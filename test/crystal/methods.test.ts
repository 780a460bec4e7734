import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../src/core/rng.js';
import { builtInCase, builtInStructure } from '../../src/crystal/builtin.js';
import { fft1d, fourierMap, findPeaks } from '../../src/crystal/maps.js';
import { mergeReflections, SfCalculator, structureFactors } from '../../src/crystal/sf.js';
import { bondsByCovalentRadii } from '../../src/crystal/connect.js';
import { hungarian } from '../../src/crystal/learn.js';
import { countsForPeaks, heightRankBaseline, decode, ElementAssigner, RankShiftAssigner, simulatePeaks } from '../../src/crystal/assign.js';
import { hfixCode, valenceRuleCount, heavyAtomContexts, ridingHydrogens, HydrogenCounter } from '../../src/crystal/hydrogens.js';
import { f1Quantile, f2Quantile, normalQuantile, r1SwapTest } from '../../src/crystal/validate.js';
import { dispersion, DISPERSION_ITC, henkeDispersion, KEV_ANGSTROM } from '../../src/crystal/dispersion.js';
import henkeTable from '../../src/crystal/henke-fpfdp.json' with { type: 'json' };
import { InputError } from '../../src/core/errors.js';
import { evaluateCase } from '../../src/crystal/refine.js';
import { refineLeastSquares } from '../../src/crystal/lsq.js';
import type { Site } from '../../src/crystal/structure.js';

test('fft1d matches a direct DFT', () => {
  const r = rng(3, 'fft');
  const n = 16;
  const re = Float64Array.from({ length: n }, () => r.normal()), im = Float64Array.from({ length: n }, () => r.normal());
  const want = Array.from({ length: n }, (_, k) => {
    let a = 0, b = 0;
    for (let t = 0; t < n; t++) { const p = -2 * Math.PI * k * t / n; a += re[t]! * Math.cos(p) - im[t]! * Math.sin(p); b += re[t]! * Math.sin(p) + im[t]! * Math.cos(p); }
    return [a, b];
  });
  fft1d(re, im, -1);
  want.forEach(([a, b], k) => { assert.ok(Math.abs(re[k]! - a!) < 1e-9); assert.ok(Math.abs(im[k]! - b!) < 1e-9); });
});

test('Fc map with model phases peaks on the non-H atoms (every heavy atom within 0.3 Å of a peak)', () => {
  const c = builtInCase(rng(0, 'map'), 0.9);
  const st = c.structure;
  const F = structureFactors(st, c.merged);
  const amp = Array.from(F.re, (v, i) => Math.hypot(v, F.im[i]!));
  const ph = Array.from(F.re, (v, i) => Math.atan2(F.im[i]!, v));
  const map = fourierMap(st, c.merged, amp, ph);
  const heavy = st.sites.filter((s) => s.element !== 'H');
  const peaks = findPeaks(map, st, { maxPeaks: heavy.length + 5 });
  for (const s of heavy) {
    let best = Infinity;
    for (const p of peaks) for (const o of st.sg.ops) {
      const R = o.rot, t = o.trans;
      const y = [R[0] * p.frac[0] + R[1] * p.frac[1] + R[2] * p.frac[2] + t[0] / 12, R[3] * p.frac[0] + R[4] * p.frac[1] + R[5] * p.frac[2] + t[1] / 12, R[6] * p.frac[0] + R[7] * p.frac[1] + R[8] * p.frac[2] + t[2] / 12] as const;
      best = Math.min(best, st.cell.distanceModLattice(s.frac, y));
    }
    assert.ok(best < 0.3, `${s.label}: nearest peak ${best.toFixed(2)} Å`);
  }
  // the highest peak is the chlorine
  const top = peaks[0]!;
  const cl = st.sites.find((s) => s.element === 'Cl')!;
  assert.ok(Math.min(...st.sg.ops.map((o) => st.cell.distanceModLattice(cl.frac, [
    o.rot[0] * top.frac[0] + o.rot[1] * top.frac[1] + o.rot[2] * top.frac[2] + o.trans[0] / 12,
    o.rot[3] * top.frac[0] + o.rot[4] * top.frac[1] + o.rot[5] * top.frac[2] + o.trans[1] / 12,
    o.rot[6] * top.frac[0] + o.rot[7] * top.frac[1] + o.rot[8] * top.frac[2] + o.trans[2] / 12]))) < 0.3);
});

test('connectivity: ring carbons have 3 neighbours (2 C + substituent or H); Cl has 1', () => {
  const st = builtInStructure();
  const b = bondsByCovalentRadii(st);
  const idx = (l: string) => st.sites.findIndex((s) => s.label === l);
  assert.equal(b[idx('C1')]!.length, 3);
  assert.equal(b[idx('C2')]!.length, 3);
  assert.equal(b[idx('Cl1')]!.length, 1);
  assert.equal(b[idx('N1')]!.length, 3); // C7 + two H
  for (const list of b) for (const x of list) assert.ok(x.d > 0.1 && x.d < 2.2);
});

test('hungarian finds the optimum of small problems (checked by brute force)', () => {
  const r = rng(5, 'hung');
  const perms = (n: number): number[][] => (n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])));
  for (let t = 0; t < 5; t++) {
    const n = 5;
    const C = Array.from({ length: n }, () => Array.from({ length: n }, () => r.next()));
    const a = hungarian(C);
    const cost = a.reduce((s, j, i) => s + C[i]![j]!, 0);
    const best = Math.min(...perms(n).map((p) => p.reduce((s, j, i) => s + C[i]![j]!, 0)));
    assert.ok(Math.abs(cost - best) < 1e-12);
  }
});

test('assignment: counts from the formula, height-rank baseline, count-constrained decoding', () => {
  assert.deepEqual(countsForPeaks({ C: 14, N: 2, O: 2, H: 20 }, 9), { C: 7, N: 1, O: 1 });
  assert.deepEqual(heightRankBaseline([5, 9, 1, 7], { C: 2, O: 1, Cl: 1 }), ['C', 'Cl', 'C', 'O']);
  const proba = [Float64Array.from([0.6, 0.4]), Float64Array.from([0.7, 0.3])];
  assert.deepEqual(decode(proba, ['C', 'N'], { C: 1, N: 1 }, 'argmax'), ['C', 'C']);
  assert.deepEqual(decode(proba, ['C', 'N'], { C: 1, N: 1 }, 'counts'), ['N', 'C']);
});

test('simulated peaks: Cl is the strongest peak; the assigner trains and decodes to the formula counts', () => {
  const c = builtInCase(rng(0, 'peaks'), 0.9);
  const ps = simulatePeaks(c, rng(1, 'sim'));
  const cl = ps.truth!.indexOf('Cl');
  assert.equal(ps.heights.indexOf(Math.max(...ps.heights)), cl);
  const model = new ElementAssigner({ epochs: 50 }).fit([ps, simulatePeaks(c, rng(2, 'sim'))]);
  const out = model.predict(ps, 'counts').elements;
  const count = (xs: readonly string[], e: string) => xs.filter((x) => x === e).length;
  for (const e of Object.keys(ps.counts)) assert.equal(count(out, e), ps.counts[e]);
});

test('rank-shift assigner: learns shifts from the height-rank baseline, decodes to the formula counts', () => {
  const c = builtInCase(rng(0, 'peaks'), 0.9);
  const train = [1, 2, 3].map((k) => simulatePeaks(c, rng(k, 'sim')));
  const ps = simulatePeaks(c, rng(4, 'sim'));
  const m = new RankShiftAssigner({ epochs: 100 }).fit(train);
  const out = m.predict(ps);
  const count = (xs: readonly string[], e: string) => xs.filter((x) => x === e).length;
  for (const e of Object.keys(ps.counts)) assert.equal(count(out, e), ps.counts[e]);
  // Cl is the strongest peak in every set: the shift model keeps it where the baseline puts it
  assert.equal(out[ps.truth!.indexOf('Cl')], 'Cl');
  assert.equal(m.describe().kind, 'rank-shift-assigner');
  assert.throws(() => new RankShiftAssigner().fit([{ ...ps, truth: undefined }]), InputError);
});

test('hydrogens: HFIX codes, valence rule, riding H geometry, learned counts', () => {
  assert.equal(hfixCode('C', 1, 2), 43);
  assert.equal(hfixCode('C', 3, 1), 137);
  assert.equal(hfixCode('O', 1, 1), 147);
  assert.equal(hfixCode('B', 1, 4), 153);
  assert.equal(hfixCode('C', 2, 2), 23);
  assert.equal(hfixCode('Cl', 1, 0), null);
  assert.equal(valenceRuleCount('C', 2), 2);
  assert.equal(valenceRuleCount('O', 1), 1);
  const st = builtInStructure();
  const ctx = heavyAtomContexts(st);
  const c2 = ctx.find((a) => st.sites[a.index]!.label === 'C2')!;
  assert.equal(c2.nH, 1); assert.equal(c2.degree, 2);
  const h = ridingHydrogens(st, c2, 43);
  assert.equal(h.length, 1);
  assert.ok(Math.abs(st.cell.distance(h[0]!.frac, st.sites[c2.index]!.frac) - 0.95) < 1e-9);
  const n1 = ctx.find((a) => st.sites[a.index]!.label === 'N1')!;
  const hn = ridingHydrogens(st, { ...n1 }, 137);
  assert.equal(hn.length, 3);
  const counter = new HydrogenCounter({ epochs: 200 }).fit(ctx);
  const pred = counter.predict(ctx);
  assert.ok(pred.filter((p, i) => p === ctx[i]!.nH).length >= ctx.length - 2);
});

test('R1-swap test flags an injected N->C swap and no correct atom', () => {
  const c = builtInCase(rng(0, 'swap'), 0.9);
  const swapped: Site[] = c.structure.sites.map((s) => (s.label === 'N1' ? { ...s, element: 'C' } : s));
  const sc = { ...c, structure: { ...c.structure, sites: swapped } };
  const r = r1SwapTest(sc, swapped);
  const flagged = r.atoms.filter((a) => a.flagged).map((a) => a.label);
  assert.deepEqual(flagged, ['N1']);
  const n1 = r.atoms.find((a) => a.label === 'N1')!;
  assert.equal(n1.best_alternative, 'N');
  assert.ok(n1.f_stat > r.threshold && n1.delta_wr2 < 0);
  // 8 C (N1 now among them) x 3, Cl x 2, O x 3: the Bonferroni threshold lies far above the single-test 3.84
  assert.equal(r.comparisons, 8 * 3 + 2 + 3);
  assert.ok(r.threshold > 9 && r.threshold < 13, `threshold ${r.threshold}`);
});

test('R1-swap test: the correct model raises no flag; two swaps at once (Cl->S, O->N) are both flagged by the step-down', () => {
  const c = builtInCase(rng(1, 'swap2'), 0.9);
  const clean = r1SwapTest(c, c.structure.sites);
  assert.deepEqual(clean.atoms.filter((a) => a.flagged).map((a) => a.label), []);
  assert.ok(clean.atoms.every((a) => a.f_stat < clean.threshold));
  const swapped: Site[] = c.structure.sites.map((s) => (s.label === 'Cl1' ? { ...s, element: 'S' } : s.label === 'O1' ? { ...s, element: 'N' } : s));
  const r = r1SwapTest({ ...c, structure: { ...c.structure, sites: swapped } }, swapped);
  const flagged = r.atoms.filter((a) => a.flagged).map((a) => `${a.label}->${a.best_alternative}`).sort();
  assert.deepEqual(flagged, ['Cl1->Cl', 'O1->O']);
  assert.throws(() => r1SwapTest(c, c.structure.sites, { minDelta: 1 } as never), (e: unknown) => e instanceof InputError && /known: alpha/.test(e.message));
});

test('R1-swap test: two compensating heavy-atom swaps (Cl->S, S->P) are found by the pair stage, no other atom flagged', () => {
  // the built-in molecule with C7 made a sulfur, data simulated from that model
  const st0 = builtInStructure();
  const st = { ...st0, sites: st0.sites.map((s) => (s.label === 'C7' ? { ...s, element: 'S', uiso: 0.02 } : s)) };
  const r0 = rng(5, 'pair');
  const H: number[] = [], K: number[] = [], L: number[] = [];
  for (let h = -16; h <= 16; h++) for (let k = 0; k <= 9; k++) for (let l = -14; l <= 14; l++) {
    if ((h || k || l) === 0 || st.cell.dSpacing(h, k, l) < 0.9) continue;
    H.push(h); K.push(k); L.push(l);
  }
  const merged0 = mergeReflections({ h: Int32Array.from(H), k: Int32Array.from(K), l: Int32Array.from(L), fo2: new Float64Array(H.length), sigma: new Float64Array(H.length).fill(1), batch: new Int32Array(H.length) }, st.sg);
  const F = structureFactors(st, merged0, { anomalous: true });
  const fo2 = new Float64Array(merged0.h.length), sigma = new Float64Array(merged0.h.length);
  for (let i = 0; i < fo2.length; i++) { const i0 = 2 * (F.re[i]! ** 2 + F.im[i]! ** 2); sigma[i] = 0.02 * i0 + 1; fo2[i] = i0 + sigma[i]! * r0.normal(); }
  const c = { name: 'pair', structure: st, model: null, merged: { ...merged0, fo2, sigma }, rules: { twoThetaMax: null, shel: null, omitHkl: [], exti: 0, wght: [0.03, 0] }, published: { r1: null, wr2: null, goof: null, r1All: null } };
  const swapped: Site[] = st.sites.map((s) => (s.label === 'Cl1' ? { ...s, element: 'S' } : s.label === 'C7' ? { ...s, element: 'P' } : s));
  const r = r1SwapTest({ ...c, structure: { ...st, sites: swapped } }, swapped);
  assert.deepEqual(r.atoms.filter((a) => a.flagged).map((a) => `${a.label}->${a.best_alternative}`).sort(), ['C7->S', 'Cl1->Cl']);
  assert.ok(r.pair_comparisons === 4 && Number.isFinite(r.pair_threshold));
  // each single swap back fits worse (the two compensate through the scale): only the pair stage finds them
  const cl = r.atoms.find((a) => a.label === 'Cl1')!, c7 = r.atoms.find((a) => a.label === 'C7')!;
  assert.equal(cl.joint_with, 'C7'); assert.equal(c7.joint_with, 'Cl1');
  assert.ok(cl.f_stat > r.pair_threshold);
});

test('Bonferroni threshold: normal and F(1, nu) quantiles match tabulated values', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963985) < 1e-8);
  assert.ok(Math.abs(normalQuantile(1e-4) + 3.719016485) < 1e-7);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  // F(1, nu) upper 5 % points: nu = 30 -> 4.1709, nu = 120 -> 3.9201, nu -> infinity: chi2(1) 3.8415
  assert.ok(Math.abs(f1Quantile(0.05, 30) - 4.1709) < 2e-3);
  assert.ok(Math.abs(f1Quantile(0.05, 120) - 3.9201) < 1e-3);
  assert.ok(Math.abs(f1Quantile(0.05, 1e9) - 3.8415) < 1e-3);
  // upper 0.1 % point of F(1, 60) = 11.973
  assert.ok(Math.abs(f1Quantile(0.001, 60) - 11.973) < 0.05);
  // F(2, nu) upper 5 % points: nu = 10 -> 4.1028, nu = 60 -> 3.1504, nu -> infinity: chi2(2)/2 = 2.9957
  assert.ok(Math.abs(f2Quantile(0.05, 10) - 4.1028) < 1e-3);
  assert.ok(Math.abs(f2Quantile(0.05, 60) - 3.1504) < 1e-3);
  assert.ok(Math.abs(f2Quantile(0.05, 1e8) - 2.9957) < 1e-3);
});

test('dispersion: ITC values first at Mo/Cu Kα, Henke interpolated at any wavelength in 0.413-3.54 Å, null outside', () => {
  assert.deepEqual(dispersion('Fe', 0.71073), [0.3463, 0.8444]);
  assert.deepEqual(dispersion('FE', 0.71069), DISPERSION_ITC.Mo.Fe);
  // Mn has no ITC entry: Henke at the wavelength (cctbx gives 0.3478, 0.7326 at 0.71073 Å)
  const mn = dispersion('Mn', 0.71073)!;
  assert.deepEqual(mn, henkeDispersion('Mn', 0.71073));
  assert.ok(Math.abs(mn[0] - 0.3478) < 1e-4 && Math.abs(mn[1] - 0.7326) < 1e-4, mn.join(', '));
  assert.deepEqual(dispersion('Cl', 1.54178), DISPERSION_ITC.Cu.Cl);
  // Ag Kα, a synchrotron 1.0 Å: values now; beyond 30 keV (0.3 Å) and beyond U: none
  assert.ok(dispersion('C', 0.5594)![1] > 0);
  assert.equal(dispersion('C', 0.3), null);
  assert.equal(dispersion('Cf', 1.0), null);
  for (const el of ['H', 'C', 'Br', 'I', 'Pt', 'U']) assert.ok(henkeDispersion(el, 1.0) !== null, el);
  // f'' rises towards an absorption edge from the high-energy side: Mn < Fe < Co at Mo Kα
  const fpp = (el: string) => dispersion(el, 0.71073)![1];
  assert.ok(fpp('Mn') < fpp('Fe') && fpp('Fe') < fpp('Co'));
});

test('Henke interpolation: the table points themselves, linear in energy between them, the jump at an edge', () => {
  const t = (henkeTable.elements as Record<string, number[]>).Br!;
  const i = 3 * 40; // an arbitrary table point and its successor
  const at = (e: number) => henkeDispersion('Br', (1000 * KEV_ANGSTROM) / e)!;
  for (const [k, v] of at(t[i]!).entries()) assert.ok(Math.abs(v - t[i + 1 + k]!) < 1e-9);
  const mid = at((t[i]! + t[i + 3]!) / 2);
  for (let k = 0; k < 2; k++) assert.ok(Math.abs(mid[k]! - (t[i + 1 + k]! + t[i + 4 + k]!) / 2) < 1e-9);
  // Br K edge at 13.47 keV: f'' about 7x higher just above it than just below
  const below = at(13460)[1], above = at(13480)[1];
  assert.ok(above > 5 * below, `${below} ${above}`);
});

test('least squares recovers perturbed positions and U (R1 drops)', () => {
  const c = builtInCase(rng(0, 'lsq'), 0.9);
  const r = rng(9, 'perturb');
  const sites = c.structure.sites.map((s) => (s.element === 'C' || s.element === 'O' ? { ...s, frac: s.frac.map((v) => v + 0.004 * r.normal()) as unknown as Site['frac'], uiso: s.uiso * 1.3 } : s));
  const before = evaluateCase(c, { sites }).r1;
  const res = refineLeastSquares(c, sites, { cycles: 3 });
  assert.ok(Math.abs(res.r1Before - before) < 1e-12);
  assert.ok(res.r1After < before / 2, `R1 ${before} -> ${res.r1After}`);
  assert.ok(res.esds.every((e) => Number.isFinite(e) && e >= 0));
  void SfCalculator;
});
