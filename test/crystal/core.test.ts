import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnitCell } from '../../src/crystal/cell.js';
import { SpaceGroup, parseTriplet, apply } from '../../src/crystal/symmetry.js';
import { formFactor, elementFromLabel } from '../../src/crystal/elements.js';
import { structureFactors, amplitudes, rFactors, fitScale, mergeReflections } from '../../src/crystal/sf.js';
import { ueq, type Site, type Structure } from '../../src/crystal/structure.js';
import { builtInStructure } from '../../src/crystal/builtin.js';
import { rng } from '../../src/core/rng.js';

test('cell: volume, d-spacing and orthogonalisation agree with the metric tensor', () => {
  const c = new UnitCell({ a: 7, b: 8, c: 9, alpha: 80, beta: 100, gamma: 110 });
  const f = [0.3, -0.2, 0.7] as const;
  const x = c.toCartesian(f);
  const G = c.metric;
  const viaG = Math.sqrt(f.reduce((s, fi, i) => s + f.reduce((t, fj, j) => t + fi * G[i * 3 + j]! * fj, 0), 0));
  assert.ok(Math.abs(Math.hypot(...x) - viaG) < 1e-12);
  const back = c.toFractional(x);
  back.forEach((v, i) => assert.ok(Math.abs(v - f[i]!) < 1e-12));
  const cube = new UnitCell({ a: 5, b: 5, c: 5, alpha: 90, beta: 90, gamma: 90 });
  assert.ok(Math.abs(cube.volume - 125) < 1e-9);
  assert.ok(Math.abs(cube.dSpacing(1, 1, 0) - 5 / Math.SQRT2) < 1e-12);
});

test('symmetry: triplets are exact; LATT and SYMM expand to the full group', () => {
  const o = parseTriplet('-X+1/2, Y+ 0.50000, 1/3-z');
  assert.deepEqual(o.rot, [-1, 0, 0, 0, 1, 0, 0, 0, -1]);
  assert.deepEqual(o.trans, [6, 6, 4]);
  assert.throws(() => parseTriplet('x+1/5,y,z'), /denominator/);
  assert.throws(() => parseTriplet('x,y'), /three/);
  assert.equal(SpaceGroup.fromShelx(1, ['-X, 0.5+Y, 0.5-Z']).ops.length, 4); // P2_1/c
  assert.equal(SpaceGroup.fromShelx(7, ['-X, Y, 0.5-Z']).ops.length, 8); // C2/c
  const r3c = SpaceGroup.fromShelx(3, ['-Y, X-Y, Z', 'Y, X, -Z+ 0.50000', '-X+Y, -X, Z', '-X, -X+Y, -Z+ 0.50000', 'X-Y, -Y, -Z+ 0.50000']);
  assert.equal(r3c.ops.length, 36);
  assert.ok(r3c.centrosymmetric);
  const p21 = SpaceGroup.fromSymops(['x,y,z', '-x,y+1/2,-z']);
  assert.ok(!p21.centrosymmetric);
  assert.ok(p21.isAbsent(0, 3, 0));
  assert.ok(!p21.isAbsent(0, 4, 0));
  assert.ok(!p21.isAbsent(1, 3, 0));
  // Friedel mates merge only when asked (or centrosymmetric)
  assert.notDeepEqual(p21.canonicalIndex(1, 2, 3, false), p21.canonicalIndex(-1, -2, -3, false));
  assert.deepEqual(p21.canonicalIndex(1, 2, 3, true), p21.canonicalIndex(-1, -2, -3, true));
  assert.deepEqual(p21.canonicalIndex(1, 2, 3, false), p21.canonicalIndex(-1, 2, -3, false));
});

test('special positions: multiplicity from the operations that fix a site', () => {
  const cell = new UnitCell({ a: 10, b: 10, c: 10, alpha: 90, beta: 90, gamma: 90 });
  const p1bar = SpaceGroup.fromShelx(1, []);
  assert.equal(p1bar.siteMultiplicity(cell, [0, 0, 0]), 2);
  assert.equal(p1bar.siteMultiplicity(cell, [0.5, 0, 0.5]), 2);
  assert.equal(p1bar.siteMultiplicity(cell, [0.1, 0.2, 0.3]), 1);
  const p2 = SpaceGroup.fromSymops(['x,y,z', '-x,y,-z']);
  assert.equal(p2.siteMultiplicity(cell, [0, 0.37, 0]), 2);
  assert.equal(p2.siteMultiplicity(cell, [0.003, 0.37, 0]), 2); // image 0.06 Å away: within 0.1 Å
  assert.equal(p2.siteMultiplicity(cell, [0.05, 0.37, 0]), 1);
});

test('form factors: f0(0) is close to Z; labels map to elements', () => {
  for (const [e, z] of [['C', 6], ['O', 8], ['Cl', 17], ['Fe', 26]] as const) assert.ok(Math.abs(formFactor(e, 0) - z) < 0.01, e);
  assert.ok(formFactor('C', 0.5) < formFactor('C', 0.1));
  assert.equal(elementFromLabel('CL1A'), 'Cl');
  assert.equal(elementFromLabel('C12'), 'C');
  assert.throws(() => elementFromLabel('123'), /cannot read/);
});

function expandP1(st: Structure): Structure {
  const sites: Site[] = [];
  for (const s of st.sites) for (const o of st.sg.ops) {
    if (s.uani) throw new Error('iso only');
    sites.push({ ...s, frac: apply(o, s.frac) });
  }
  return { ...st, sg: SpaceGroup.fromSymops(['x,y,z']), sites };
}

test('Fc: the symmetry-expanded sum equals a direct P1 sum (tolerance 1e-9 relative)', () => {
  const st = builtInStructure();
  const iso: Structure = { ...st, sites: st.sites.map((s) => ({ ...s, uani: null })) };
  const idx = { h: [1, 2, 0, -3, 4, 1, 5], k: [0, 1, 3, 2, 1, 1, 2], l: [1, -2, 1, 4, 0, 7, -3] };
  const a = structureFactors(iso, idx), b = structureFactors(expandP1(iso), idx);
  for (let i = 0; i < idx.h.length; i++) {
    const m = Math.hypot(a.re[i]!, a.im[i]!);
    assert.ok(Math.hypot(a.re[i]! - b.re[i]!, a.im[i]! - b.im[i]!) <= 1e-9 * Math.max(1, m), `reflection ${i}`);
  }
  // centrosymmetric group with the inversion at the origin: F is real
  for (let i = 0; i < idx.h.length; i++) assert.ok(Math.abs(a.im[i]!) < 1e-9 * Math.max(1, Math.abs(a.re[i]!)));
});

test('Fc: an isotropic tensor gives the same F as Uiso; symmetry-equivalent reflections share |F|', () => {
  const st = builtInStructure();
  const u = 0.025;
  const as = st.cell.reciprocalLengths;
  const G = st.cell.reciprocalMetric;
  // U^ij = u G*^ij / (a*_i a*_j) is isotropic
  const uani = [u * G[0] / (as[0] * as[0]), u * G[4] / (as[1] * as[1]), u * G[8] / (as[2] * as[2]), u * G[5] / (as[1] * as[2]), u * G[2] / (as[0] * as[2]), u * G[1] / (as[0] * as[1])] as const;
  const s0 = st.sites[0]!;
  assert.ok(Math.abs(ueq(st.cell, uani) - u) < 1e-12);
  const idx = { h: [1, 2, 3], k: [2, 0, 1], l: [3, -4, 5] };
  const fi = amplitudes(structureFactors({ ...st, sites: [{ ...s0, uiso: u, uani: null }] }, idx));
  const fa = amplitudes(structureFactors({ ...st, sites: [{ ...s0, uani }] }, idx));
  fi.forEach((v, i) => assert.ok(Math.abs(v - fa[i]!) < 1e-9 * v));
  const eq = amplitudes(structureFactors(st, { h: [2, -2, 2], k: [3, 3, -3], l: [1, -1, 1] }));
  assert.ok(Math.abs(eq[0]! - eq[1]!) < 1e-9 * eq[0]! && Math.abs(eq[0]! - eq[2]!) < 1e-9 * eq[0]!);
});

test('agreement: perfect data give R1 = 0; the weighted scale is recovered', () => {
  const r = rng(1, 'sf');
  const fc2 = Array.from({ length: 200 }, () => 10 + 1000 * r.next());
  const sig = fc2.map((v) => 0.02 * v + 1);
  const k = 3.7;
  const fo2 = fc2.map((v) => k * v);
  assert.ok(Math.abs(fitScale(fo2, sig.map((s) => s * k), fc2) - k) < 1e-9);
  const ag = rFactors(fc2, sig, fc2, { wght: [0.05, 0], nParams: 10 });
  assert.equal(ag.r1, 0); assert.equal(ag.wr2, 0);
  const noisy = fc2.map((v, i) => v + sig[i]! * r.normal());
  const ag2 = rFactors(noisy, sig, fc2, { wght: [0, 0] });
  assert.ok(ag2.goof > 0.8 && ag2.goof < 1.2, `GooF ${ag2.goof} should be near 1 for sigma-true noise`);
  assert.ok(ag2.r1 > 0 && ag2.r1All >= ag2.r1 * 0.5);
});

test('merging: weighted means, absences dropped, Friedel mates apart in a non-centrosymmetric group', () => {
  const p21 = SpaceGroup.fromSymops(['x,y,z', '-x,y+1/2,-z']);
  const data = { h: Int32Array.from([1, -1, -1, 0, 1]), k: Int32Array.from([2, 2, -2, 3, -2]), l: Int32Array.from([3, -3, -3, 0, 3]),
    fo2: Float64Array.from([100, 110, 50, 7, 60]), sigma: Float64Array.from([1, 1, 1, 1, 2]), batch: new Int32Array(5) };
  const m = mergeReflections(data, p21);
  // (1,2,3) and (-1,2,-3) are equivalent; (-1,-2,-3) and (1,-2,3) are their Friedel mates; (0,3,0) is absent
  assert.equal(m.h.length, 2);
  const big = m.fo2.find((v) => v > 100)!;
  assert.ok(Math.abs(big - 105) < 1e-9);
  const small = m.fo2.find((v) => v < 100)!;
  assert.ok(Math.abs(small - (50 * 1 + 60 * 0.25) / 1.25) < 1e-9);
  assert.equal(mergeReflections(data, p21, { friedel: true }).h.length, 1);
});

test("merging, SHELXL's rule: weights I/sigma^2 above 3 sigma else 3/sigma; sigma from the spread when larger", () => {
  const p1bar = SpaceGroup.fromSymops(['x,y,z', '-x,-y,-z']);
  const data = { h: Int32Array.from([1, -1, 1, 2]), k: Int32Array.from([2, -2, 2, 0]), l: Int32Array.from([3, -3, 3, 0]),
    fo2: Float64Array.from([100, 110, 2, 40]), sigma: Float64Array.from([5, 5, 2, 4]), batch: new Int32Array(4) };
  const m = mergeReflections(data, p1bar, { algorithm: 'shelxl' });
  assert.equal(m.h.length, 2);
  const g = [...m.count].indexOf(3);
  // weights 100/25 = 4, 110/25 = 4.4, and 3/2 = 1.5 for the weak one (2 < 3 sigma)
  const mean = (4 * 100 + 4.4 * 110 + 1.5 * 2) / (4 + 4.4 + 1.5);
  assert.ok(Math.abs(m.fo2[g]! - mean) < 1e-9);
  const spread = (Math.abs(100 - mean) + Math.abs(110 - mean) + Math.abs(2 - mean)) / (3 * Math.sqrt(2));
  assert.ok(spread > 1 / Math.sqrt(1 / 25 + 1 / 25 + 1 / 4));
  assert.ok(Math.abs(m.sigma[g]! - spread) < 1e-9);
  // a single observation keeps its own sigma
  assert.equal(m.sigma[1 - g], 4);
  assert.throws(() => mergeReflections(data, p1bar, { algorithm: 'median' as never }), /known: inverse-variance, shelxl/);
});
