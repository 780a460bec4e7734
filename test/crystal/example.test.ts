import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { runCrystal } from './helpers.js';
import { caseFromCif, caseFromShelx, evaluateCase, exampleStructure, exampleTexts, loadCases, writeExampleFiles } from '../../src/crystal/index.js';
import { textOnly } from '../helpers/stdout.js';

const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

test('example structures keep the built-in geometry and put each halogen at its bond length', () => {
  const bonds: Record<string, number> = { Cl: 1.74, Br: 1.90, F: 1.35 };
  const ref = exampleStructure(0);
  const refC1 = ref.cell.toCartesian(ref.sites.find((s) => s.label === 'C1')!.frac);
  const refO1 = ref.cell.toCartesian(ref.sites.find((s) => s.label === 'O1')!.frac);
  for (let i = 0; i < 3; i++) {
    const st = exampleStructure(i);
    const cart = (label: string) => st.cell.toCartesian(st.sites.find((s) => s.label === label)!.frac);
    const x = st.sites.find((s) => ['Cl', 'Br', 'F'].includes(s.element))!;
    assert.ok(Math.abs(dist(st.cell.toCartesian(x.frac), cart('C1')) - bonds[x.element]!) < 1e-9, `${st.name}: C1-${x.label}`);
    // the rest of the molecule is rigid: the C1-O1 distance is the same in every variant
    assert.ok(Math.abs(dist(cart('C1'), cart('O1')) - dist(refC1, refO1)) < 1e-9);
  }
  assert.throws(() => exampleStructure(3), InputError);
});

test('the example CIF (embedded res+hkl) and the separate .res/.hkl give the same agreement, close to the simulated noise', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crystal-example-'));
  try {
    const paths = writeExampleFiles(dir, { variants: 3 });
    assert.equal(paths.length, 9);
    const t = exampleTexts(0);
    const fromCif = evaluateCase(caseFromCif(join(dir, `${t.name}.cif`)), { anomalous: true, scale: 'fvar' });
    const fromShelx = evaluateCase(caseFromShelx(t.name, readFileSync(join(dir, `${t.name}.res`), 'utf8'), readFileSync(join(dir, `${t.name}.hkl`), 'utf8'), { r1: null, wr2: null, goof: null, r1All: null }), { anomalous: true, scale: 'fvar' });
    assert.equal(fromCif.r1, fromShelx.r1);
    assert.equal(fromCif.n, fromShelx.n);
    // 2 % noise on Fo^2 is about 1 % on |F|: R1 of the true model sits near 0.01, far below a wrong model's
    assert.ok(fromCif.r1 > 0.003 && fromCif.r1 < 0.03, `R1 ${fromCif.r1}`);
    const wrong = caseFromCif(join(dir, `${t.name}.cif`));
    const swapped = wrong.structure.sites.map((s) => (s.label === 'N1' ? { ...s, element: 'C' } : s));
    assert.ok(evaluateCase(wrong, { anomalous: true, scale: 'fvar', sites: swapped }).r1 > fromCif.r1 + 0.005);
    // three distinct structures for crystal eval (the CIF and .res of one structure count once)
    assert.deepEqual(loadCases(dir).map((c) => c.name).sort(), ['bromobenzamide', 'chlorobenzamide', 'fluorobenzamide']);
    // the same seed writes the same bytes; another seed other noise
    assert.equal(exampleTexts(0, 0).hkl, t.hkl);
    assert.notEqual(exampleTexts(0, 1).hkl, t.hkl);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('crystal example --out writes the files and rejects a bad --variants', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crystal-example-cli-'));
  const run = runCrystal;
  const write = process.stdout.write;
  try {
    process.stdout.write = textOnly();
    try { await run(['example', '--out', join(dir, 'ex')]); } finally { process.stdout.write = write; }
    assert.deepEqual(readdirSync(join(dir, 'ex')).sort(), ['chlorobenzamide.cif', 'chlorobenzamide.hkl', 'chlorobenzamide.res']);
    await assert.rejects(run(['example', '--out', join(dir, 'ex2'), '--variants', '4']), /--variants must be an integer from 1 to 3/);
    await assert.rejects(run(['example', '--out', join(dir, 'ex2'), '--seed', 'x']), /--seed must be an integer/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
