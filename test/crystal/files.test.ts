import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/core/errors.js';
import { parseCif, parseCifNumber, cifLoop } from '../../src/crystal/cif.js';
import { parseShelxIns, writeShelxIns, parseHklf4, decodeFreeVariable } from '../../src/crystal/shelx.js';

const CIF = `# comment
data_test
_cell_length_a 7.2057(3)
_Cell_Length_B   '8.1 0'
_title "it's here"
_note
;
line one
line two
;
loop_
_atom_site_label
_atom_site_fract_x
C1 0.1(2)
N1 ?
data_second
_x .
`;

test('CIF: blocks, case-insensitive tags, quotes, text fields, loops, missing values', () => {
  const doc = parseCif(CIF, { file: 'a.cif' });
  assert.equal(doc.blocks.length, 2);
  const b = doc.blocks[0]!;
  assert.equal(b.name, 'test');
  assert.equal(b.items.get('_cell_length_a')!.text, '7.2057(3)');
  assert.equal(b.items.get('_cell_length_b')!.text, '8.1 0');
  assert.equal(b.items.get('_title')!.text, "it's here");
  assert.equal(b.items.get('_note')!.text, 'line one\nline two');
  const lp = cifLoop(b, '_atom_site_fract_x')!;
  assert.equal(lp.loop.rows.length, 2);
  assert.equal(lp.loop.rows[1]![1]!.missing, true);
  assert.equal(lp.loop.rows[1]![1]!.line, 15);
  assert.equal(doc.blocks[1]!.items.get('_x')!.missing, true);
});

test('CIF: s.u. in parentheses', () => {
  assert.deepEqual(parseCifNumber('7.2057(3)'), { value: 7.2057, su: 0.0003 });
  const r = parseCifNumber('-12(4)')!;
  assert.equal(r.value, -12); assert.equal(r.su, 4);
  assert.equal(parseCifNumber('1.5e-3(2)')!.su!.toExponential(3), (2e-4).toExponential(3));
  assert.equal(parseCifNumber('?'), null);
  assert.equal(parseCifNumber('abc'), null);
});

test('CIF: strict errors name file and line; lenient mode closes an unterminated quote', () => {
  const bad = "data_x\n_a 1\n_b 'unterminated\n_c 3\n";
  assert.throws(() => parseCif(bad, { file: 'bad.cif' }), (e: unknown) => e instanceof ParseError && e.file === 'bad.cif' && e.line === 3 && /column 4/.test(e.message));
  const doc = parseCif(bad, { file: 'bad.cif', strict: false });
  assert.equal(doc.blocks[0]!.items.get('_b')!.text, 'unterminated');
  assert.equal(doc.blocks[0]!.items.get('_c')!.text, '3');
  assert.throws(() => parseCif('data_x\n_a 1\n_A 2\n', { file: 'dup.cif' }), (e: unknown) => e instanceof ParseError && e.line === 3);
  assert.throws(() => parseCif('data_x\nloop_\n_a\n_b\n1 2 3\n', { file: 'l.cif' }), (e: unknown) => e instanceof ParseError && e.field === '_a');
  assert.throws(() => parseCif('_a 1\n', { file: 'n.cif' }), ParseError);
  assert.throws(() => parseCif('data_x\n_a\n;\nno end\n', { file: 't.cif' }), (e: unknown) => e instanceof ParseError && /unterminated text field/.test(e.message));
});

const RES = `TITL test in P2(1)/c
    created by hand
CELL 0.71073 7.0 8.0 9.0 90 100.0 90
ZERR 4 0.001 0.001 0.001 0 0.01 0
LATT 1
SYMM -X, 0.5+Y, 0.5-Z
SFAC C N O H
UNIT 8 4 4 8
OMIT -3 55
FVAR 1.2 0.75
C1 1 0.1 0.2 0.3 11.0 0.02 0.03 =
   0.04 0.001 0.002 0.003
PART 1
N1 2 0.2 0.3 0.4 21.0 0.03
PART 2
O1 3 0.25 0.3 0.4 -21.0 0.03
PART 0
AFIX 43
H1 4 0.15 0.25 0.35 11.0 -1.2
AFIX 0
HKLF 4
END
Q1 1 0.5 0.5 0.5 11.0 0.05 0.91
`;

test('SHELX: cell, symmetry, SFAC/UNIT, free variables, continuation, AFIX/PART, Q-peaks', () => {
  const m = parseShelxIns(RES, { file: 't.res' });
  assert.equal(m.wavelength, 0.71073);
  assert.equal(m.cell.beta, 100);
  assert.equal(m.z, 4);
  assert.deepEqual(m.sfac, ['C', 'N', 'O', 'H']);
  assert.deepEqual(m.unit, [8, 4, 4, 8]);
  assert.equal(m.atoms.length, 4);
  const [c1, n1, o1, h1] = m.atoms;
  assert.deepEqual(c1!.uani, [0.02, 0.03, 0.04, 0.001, 0.002, 0.003]);
  assert.equal(c1!.sof, 1);
  assert.ok(Math.abs(n1!.sof - 0.75) < 1e-12);
  assert.ok(Math.abs(o1!.sof - 0.25) < 1e-12);
  assert.equal(n1!.part, 1);
  assert.equal(h1!.afix, 43);
  assert.equal(h1!.uiso, -1.2);
  assert.equal(m.qpeaks.length, 1);
  assert.equal(m.qpeaks[0]!.peakHeight, 0.91);
  assert.ok(m.extra.includes('OMIT -3 55'));
  assert.ok(Math.abs(decodeFreeVariable(10.16667, []) - 0.16667) < 1e-9);
  assert.ok(Math.abs(decodeFreeVariable(-21, [1, 0.7]) - 0.3) < 1e-12);
});

test('SHELX: writer round trip keeps atoms, free-variable codes and HFIX', () => {
  const m = parseShelxIns(RES, { file: 't.res' });
  const text = writeShelxIns({ ...m, hfix: [{ code: 137, atoms: ['C1'] }] });
  const m2 = parseShelxIns(text, { file: 'w.ins' });
  assert.equal(m2.atoms.length, m.atoms.length);
  m.atoms.forEach((a, i) => {
    const b = m2.atoms[i]!;
    assert.equal(b.name, a.name);
    assert.ok(Math.abs(b.sof - a.sof) < 1e-9);
    a.xyz.forEach((v, k) => assert.ok(Math.abs(v - b.xyz[k]!) < 1e-6));
  });
  assert.deepEqual(m2.hfix, [{ code: 137, atoms: ['C1'] }]);
});

test('SHELX: errors name the file, line and field', () => {
  const bad = RES.replace('N1 2 0.2', 'N1 9 0.2');
  assert.throws(() => parseShelxIns(bad, { file: 'b.res' }), (e: unknown) => e instanceof ParseError && e.line === 14 && e.field === 'N1 sfac');
  const bad2 = RES.replace('CELL 0.71073 7.0', 'CELL 0.71073 seven');
  assert.throws(() => parseShelxIns(bad2, { file: 'c.res' }), (e: unknown) => e instanceof ParseError && e.line === 3 && e.field === 'CELL a');
  assert.throws(() => parseShelxIns('TITL x\nSFAC C\n', { file: 'd.res' }), (e: unknown) => e instanceof ParseError && /CELL/.test(e.message));
});

test('HKLF 4: touching fields, batch column, 0 0 0 terminator, missing terminator, scale', () => {
  const txt = '   1   2   3  100.00    2.00   1\n -10-11 -12 9999.99   50.00\n   0   0   0    0.00    0.00\n   5   5   5    1.00    1.00\n';
  const d = parseHklf4(txt, { file: 'a.hkl' });
  assert.equal(d.h.length, 2);
  assert.deepEqual([d.h[1], d.k[1], d.l[1]], [-10, -11, -12]);
  assert.equal(d.fo2[1], 9999.99);
  assert.equal(d.batch[0], 1);
  const noEnd = parseHklf4('   1   0   0   10.00    1.00', { scale: 2 });
  assert.equal(noEnd.h.length, 1);
  assert.equal(noEnd.fo2[0], 20);
  assert.equal(noEnd.sigma[0], 2);
  assert.throws(() => parseHklf4('   1   2   3  100.00    2.00\n   1   x   3  100.00    2.00\n', { file: 'b.hkl' }), (e: unknown) => e instanceof ParseError && e.line === 2 && e.field === 'k');
});
