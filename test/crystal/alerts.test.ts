// crystal/alerts.ts on tiny hand-made structures: each distortion raises the alert (and level) it
// should, the clean structure raises none, and hydrogen bonds and disorder alternatives are left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnitCell } from '../../src/crystal/cell.js';
import { SpaceGroup } from '../../src/crystal/symmetry.js';
import type { Site, Structure, Uani } from '../../src/crystal/structure.js';
import { adpEigenvalues, alertCounts, geometryAlerts, refinementAlerts, type Alert } from '../../src/crystal/alerts.js';

const A = 10; // cubic cell edge (Å): Cartesian / A = fractional
const cell = new UnitCell({ a: A, b: A, c: A, alpha: 90, beta: 90, gamma: 90 });
const site = (label: string, element: string, xyz: [number, number, number], extra: Partial<Site> = {}): Site =>
  ({ label, element, frac: [xyz[0] / A, xyz[1] / A, xyz[2] / A], occ: 1, uiso: 0.02, uani: null, part: 0, ...extra });
const P1 = SpaceGroup.fromShelx(-1, []), PM1 = SpaceGroup.fromShelx(1, []);
const structure = (sites: Site[], sg = P1): Structure => ({ name: 't', cell, sg, wavelength: 0.71073, sites });

// An acetyl-like fragment in the middle of the cell: C2-C1(=O1), C1-C2 1.52 Å, O1-C1-C2 120°.
const rad = (d: number) => (d * Math.PI) / 180;
function fragment(cc = 1.52, angle = 120): Site[] {
  return [site('C1', 'C', [5, 5, 5]), site('O1', 'O', [5 + 1.22, 5, 5]), site('C2', 'C', [5 + cc * Math.cos(rad(angle)), 5 + cc * Math.sin(rad(angle)), 5])];
}
const only = (a: Alert[], kind: Alert['kind']) => a.filter((x) => x.kind === kind);

test('a clean fragment raises no alert', () => {
  assert.deepEqual(geometryAlerts(structure(fragment())), []);
});

test('bond alerts: a stretched C-C gets B at 1.72 Å, a squeezed one A at 0.95 Å, named by its atoms', () => {
  const b = only(geometryAlerts(structure(fragment(1.72))), 'bond');
  assert.equal(b.length, 1);
  assert.equal(b[0].level, 'B');
  assert.deepEqual([...b[0].atoms].sort(), ['C1', 'C2']);
  assert.match(b[0].line, /^B bond C1-C2 1\.720 Å long/);
  assert.equal(only(geometryAlerts(structure(fragment(0.95))), 'bond')[0].level, 'A');
});

test('angle alerts: O1-C1-C2 at 92° is 13° below 105° (B); at 112° none', () => {
  const a = only(geometryAlerts(structure(fragment(1.52, 92))), 'angle');
  assert.equal(a.length, 1);
  assert.equal(a[0].level, 'B');
  assert.ok(Math.abs(a[0].value - 92) < 1e-6);
  assert.deepEqual(only(geometryAlerts(structure(fragment(1.52, 112))), 'angle'), []);
});

test('contact alerts: a lone C 2.7 / 2.5 Å from O1 gives C / B; 2.9 Å none; an O-H...N hydrogen bond none', () => {
  const lone = (d: number) => geometryAlerts(structure([...fragment(), site('C3', 'C', [5 + 1.22 + d, 5, 5])]));
  assert.deepEqual(lone(2.9), []);
  const c = only(lone(2.7), 'contact');
  assert.equal(c.length, 1);
  assert.equal(c[0].level, 'C');
  assert.match(c[0].line, /intermolecular contact O1\.\.\.C3 2\.700/);
  assert.equal(only(lone(2.5), 'contact')[0].level, 'B');
  const hb = [...fragment(), site('H1', 'H', [5 + 1.22 + 0.84, 5, 5]), site('N9', 'N', [5 + 1.22 + 0.84 + 1.9, 5, 5])];
  assert.deepEqual(only(geometryAlerts(structure(hb)), 'contact'), []);
});

test('contacts across symmetry: an atom 1.2 Å from an inversion centre meets its own image at 2.4 Å (A)', () => {
  const c = only(geometryAlerts(structure([site('C1', 'C', [1.2, 0, 0])], PM1)), 'contact');
  assert.equal(c.length, 1);
  assert.equal(c[0].level, 'A');
  assert.ok(Math.abs(c[0].value - 2.4) < 1e-9);
});

test('disorder: atoms of different PARTs are never bonded or in contact', () => {
  const s = [...fragment(), site('C3', 'C', [5 + 1.22 + 0.9, 5, 5], { part: 1, occ: 0.5 }), site('C4', 'C', [5 + 1.22 + 0.9, 5.3, 5], { part: 2, occ: 0.5 })];
  // C3 and C4 are 0.3 Å apart but alternatives; each is about 0.9 Å from O1 (a too-short bond, which is alerted).
  const a = geometryAlerts(structure(s));
  assert.ok(!a.some((x) => x.atoms.includes('C3') && x.atoms.includes('C4')), a.map((x) => x.line).join('\n'));
  assert.ok(a.some((x) => x.kind === 'bond' && x.atoms.includes('C3') && x.level === 'A'));
});

test('ADP alerts: not positive definite (A), principal ratio 5 (C) and 10 (A); eigenvalues in Cartesian axes', () => {
  const u = (uani: Uani) => geometryAlerts(structure([site('C1', 'C', [5, 5, 5], { uani })]));
  const npd = u([0.02, 0.02, 0.02, 0.03, 0, 0]);
  assert.equal(npd.length, 1);
  assert.equal(npd[0].level, 'A');
  assert.match(npd[0].line, /not positive definite/);
  assert.equal(u([0.01, 0.02, 0.05, 0, 0, 0])[0].level, 'C');
  assert.equal(u([0.01, 0.02, 0.1, 0, 0, 0])[0].level, 'A');
  assert.deepEqual(u([0.02, 0.025, 0.03, 0, 0, 0.005]), []);
  // A monoclinic cell: the eigenvalues of an isotropic U stay equal (U_cart = M N U N M^T is the right transform).
  const mono = new UnitCell({ a: 7, b: 9, c: 11, alpha: 90, beta: 110, gamma: 90 });
  const cb = Math.cos(rad(110));
  // Isotropic U in SHELX's convention: U_ij = U (a*_i a*_j)^-1 G*_ij ... equivalently U13 = U cos(beta*) with cos(beta*) = -cos(beta).
  const e = adpEigenvalues({ ...structure([]), cell: mono }, site('X', 'C', [0, 0, 0], { uani: [0.02, 0.02, 0.02, 0, -0.02 * cb, 0] }))!;
  for (const v of e) assert.ok(Math.abs(v - 0.02) < 1e-9, `eigenvalues ${e.join(', ')}`);
});

test('refinement alerts and counts: wR2 0.28 is B, R1 0.16 is A', () => {
  const a = refinementAlerts({ r1: 0.16, wr2: 0.28 });
  assert.deepEqual(a.map((x) => x.level), ['A', 'B']);
  assert.deepEqual(alertCounts(a), { A: 1, B: 1, C: 0 });
  assert.deepEqual(refinementAlerts({ r1: 0.05, wr2: 0.12 }), []);
});
