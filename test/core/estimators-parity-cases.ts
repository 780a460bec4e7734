// Seeded inputs and the call sites of the logistic regressions, the probe and the least-squares
// refinement, shared by the fixture generator (run once on the code before core/estimators) and the
// parity test that checks the new code against the fixture.
import { Rng } from '../../src/core/rng.js';
import { rng } from '../../src/core/rng.js';
import { evaluateWindows, generateFootprintSet, parseWindowsJsonl, recordFromGenerated, recordToJson, type WindowItem } from '../../src/breakout/index.js';
import { builtInCase, builtInStructure } from '../../src/crystal/builtin.js';
import { ElementAssigner, RankShiftAssigner, simulatePeaks } from '../../src/crystal/assign.js';
import { heavyAtomContexts, HydrogenCounter } from '../../src/crystal/hydrogens.js';
import { refineLeastSquares } from '../../src/crystal/lsq.js';
import type { Site } from '../../src/crystal/structure.js';
import { linearProbe } from '../../src/continual/methods/co2l.js';

/** Rows from a logistic model with d features (binary labels), scales differing per feature. */
export function binaryData(seed: number, n: number, d: number): { x: Float64Array[]; y: number[] } {
  const r = new Rng(seed, 'binary');
  const w = Array.from({ length: d }, () => r.normal());
  const x: Float64Array[] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Float64Array.from({ length: d }, (_, j) => (1 + j) * r.normal() + j);
    let s = 0.3;
    for (let j = 0; j < d; j++) s += w[j]! * (row[j]! - j) / (1 + j);
    x.push(row);
    y.push(r.next() < 1 / (1 + Math.exp(-2 * s)) ? 1 : 0);
  }
  return { x, y };
}

/** Three overlapping Gaussian classes with string labels. */
export function multiData(seed: number, n: number, d: number): { x: number[][]; y: string[] } {
  const r = new Rng(seed, 'multi');
  const names = ['b', 'a', 'c'];
  const centres = names.map(() => Array.from({ length: d }, () => 1.2 * r.normal()));
  const x: number[][] = [], y: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = r.int(3);
    x.push(centres[c]!.map((m, j) => 3 * j + (1 + j) * (m + r.normal())));
    y.push(names[c]!);
  }
  return { x, y };
}

function blobs(seed: number, n: number, dim: number, classes: number, sep: number, skew = false): { f: Float32Array; y: Int32Array } {
  const r = new Rng(seed, 'blobs');
  const cr = r.split('centres');
  const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => sep * cr.normal()));
  const f = new Float32Array(n * dim), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // skew: class 0 three times as frequent, the last class never in the first half of the rows
    const c = skew ? (i % 5 < 3 ? 0 : 1 + (i % 5) - 3 + (i >= n / 2 && i % 7 === 0 ? classes - 3 : 0)) : i % classes;
    y[i] = c;
    for (let j = 0; j < dim; j++) f[i * dim + j] = centres[c]![j]! + r.normal();
  }
  return { f, y };
}

function probeCase(seed: number, standardize: boolean, skew: boolean) {
  const dim = 10, C = 4;
  const all = blobs(seed, 360, dim, C, 1.0, skew);
  const train = { f: all.f.subarray(0, 200 * dim), y: all.y.subarray(0, 200) };
  const val = { f: all.f.subarray(200 * dim, 280 * dim), y: all.y.subarray(200, 280) };
  const testF = all.f.subarray(280 * dim);
  const r = linearProbe(train, val, testF, dim, C, { probeEpochs: 30, probeLr: 1e-2, probeBatchSize: 48, probeStandardize: standardize }, new Rng(seed, 'probe'));
  return { testLogits: Array.from(r.testLogits), bestEpoch: r.bestEpoch, valAcc: r.valAcc };
}

function breakoutItems(seed: number, n: number): WindowItem[] {
  const lines = generateFootprintSet(seed, n).map((g) => JSON.stringify(recordToJson(recordFromGenerated(g))));
  return parseWindowsJsonl(lines.join('\n'), `gen${seed}.jsonl`);
}

/** What the commands that use the estimators produce (quick settings). */
export async function callSites(): Promise<Record<string, unknown>> {
  const learned = (await evaluateWindows(breakoutItems(7, 240), 'learned', { quiet: true, seeds: 3, trainN: 600, trainSeed: 500 })).summary;
  const c = builtInCase(rng(0, 'peaks'), 0.9);
  const ps = simulatePeaks(c, rng(1, 'sim'));
  const ea = new ElementAssigner({ epochs: 50 }).fit([ps, simulatePeaks(c, rng(2, 'sim'))]).predict(ps, 'counts');
  const ps4 = simulatePeaks(c, rng(4, 'sim'));
  const rs = new RankShiftAssigner({ epochs: 100 }).fit([1, 2, 3].map((k) => simulatePeaks(c, rng(k, 'sim')))).predict(ps4);
  const ctx = heavyAtomContexts(builtInStructure());
  const hc = new HydrogenCounter({ epochs: 200 }).fit(ctx).predict(ctx);
  const lc = builtInCase(rng(0, 'lsq'), 0.9);
  const pr = rng(9, 'perturb');
  const sites = lc.structure.sites.map((s) => (s.element === 'C' || s.element === 'O' ? { ...s, frac: s.frac.map((v) => v + 0.004 * pr.normal()) as unknown as Site['frac'], uiso: s.uiso * 1.3 } : s));
  const lsq = refineLeastSquares(lc, sites, { cycles: 3 });
  return {
    breakout_learned: { verdict_acc: learned.verdict_acc, per_seed: learned.learned!.verdict_acc_per_seed, model: learned.learned!.model },
    crystal_element_assigner: { elements: ea.elements, classes: [...ea.classes], proba: ea.proba.map((p) => Array.from(p)) },
    crystal_rank_shift: rs,
    crystal_h_counter: hc,
    crystal_lsq: { r1Before: lsq.r1Before, r1After: lsq.r1After, wr2After: lsq.wr2After, scale: lsq.scale, shifts: lsq.shifts, esds: lsq.esds, sites: lsq.sites.map((s) => [...s.frac, s.uiso]) },
    co2l_probe: { plain: probeCase(3, true, false), raw: probeCase(5, false, false), skewed: probeCase(8, true, true) },
  };
}
