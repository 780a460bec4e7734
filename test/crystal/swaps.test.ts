// crystal/swaps.ts on the example structure: the per-site refits favour the true element, the
// signals are antisymmetric, and the leave-one-structure-out evaluation counts every swap once
// (on three copies of the example's fits, so the test stays short).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bondLogLikelihood, evaluateLightSwaps, hamiltonF, lightSiteFits, swapSignals, LIGHT, loadCases, writeExampleFiles } from '../../src/crystal/index.js';

const dir = mkdtempSync(join(tmpdir(), 'crystal-swaps-'));
process.env.PERENNIAL_QUIET = '1';
writeExampleFiles(dir);
test.after(() => rmSync(dir, { recursive: true, force: true }));
const one = loadCases(dir).map((c) => lightSiteFits(c));
const fits = ['a', 'b', 'c'].map((n) => ({ ...one[0], name: n }));

test('bond-length likelihoods: 1.43 Å is a C-O rather than a C-C, 1.53 Å a C-C rather than a C-O', () => {
  assert.ok(bondLogLikelihood('O', 'C', 1.43) > bondLogLikelihood('C', 'C', 1.43));
  assert.ok(bondLogLikelihood('C', 'C', 1.53) > bondLogLikelihood('O', 'C', 1.53));
});

test('every C/N/O site fits its own element better than the other two; signals flip sign with the roles', () => {
  assert.equal(one.length, 1);
  for (const f of one) {
    assert.ok(f.sites.length >= 9, `${f.name}: ${f.sites.length} light sites`);
    for (const s of f.sites) for (const alt of LIGHT) {
      if (alt === s.element) continue;
      assert.ok(hamiltonF(f, s, s.element, alt) < 0, `${f.name} ${s.label}: ${alt} fits better than ${s.element}`);
      const a = swapSignals(f, s, s.element, alt), b = swapSignals(f, s, alt, s.element);
      assert.ok(Math.abs(a.geometry + b.geometry) < 1e-12);
      assert.ok(Math.sign(a.fit) === -Math.sign(b.fit));
    }
    // Refitted U follows the electron count: a site refitted as O carries a larger U than as C.
    for (const s of f.sites) assert.ok(s.fits.O.u > s.fits.C.u, `${f.name} ${s.label}: U(O) ${s.fits.O.u} <= U(C) ${s.fits.C.u}`);
  }
});

test('leave-one-structure-out: each site swapped to both other elements once, every tally consistent', () => {
  const sites = fits.reduce((n, f) => n + f.sites.length, 0);
  const res = evaluateLightSwaps(fits, { signalSets: [['fit', 'adp', 'geometry']] });
  assert.deepEqual(res.map((r) => r.signals), ['validate-F', ['fit', 'adp', 'geometry']]);
  for (const r of res) {
    assert.equal(r.swaps, 2 * sites);
    assert.equal(r.correct_atoms, sites);
    assert.equal(r.per_kind.reduce((a, k) => a + k.swaps, 0), r.swaps);
    assert.equal(r.per_structure.reduce((a, p) => a + p.caught, 0), r.caught);
    assert.ok(r.per_kind.every((k) => k.identified <= k.caught && k.caught <= k.swaps));
  }
  // Simulated data with 2 % noise: the R1-swap test's own rule catches every swap without a false alarm.
  // (Three identical structures: the learned detector's thresholds come from copies of the held-out one.)
  assert.equal(res[0].caught, res[0].swaps);
  assert.equal(res[0].false_alarms, 0);
  assert.throws(() => evaluateLightSwaps(fits.slice(0, 2)), /at least 3 structures/);
});
