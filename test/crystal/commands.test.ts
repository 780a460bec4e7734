// crystal/commands.ts: what each `perennial crystal` command computes, called without the CLI on the
// example structures, and checked against the pieces it is made of.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../../src/core/rng.js';
import {
  amplitudes, assignRun, builtInCase, caseFromFile, evaluateCase, evaluationRun, hydrogensRun, parseShelxIns, structureFactorRun,
  structureFactors, swapDemo, validationRun, writeExampleFiles,
} from '../../src/crystal/index.js';

const dir = mkdtempSync(join(tmpdir(), 'crystal-commands-'));
process.env.PERENNIAL_QUIET = '1';
writeExampleFiles(dir, { variants: 3 });
const res = join(dir, 'chlorobenzamide.res'), cif = join(dir, 'chlorobenzamide.cif');
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('structureFactorRun: the same Fc and agreement as structureFactors and evaluateCase; the phases it times', async () => {
  const phases: string[] = [];
  const r = await structureFactorRun(cif, { dispersion: 'auto' }, async (p, fn) => { phases.push(p); return fn(); });
  assert.deepEqual(phases, ['load', 'fc', 'agreement']);
  const c = caseFromFile(cif);
  const fc = amplitudes(structureFactors(c.structure, c.merged, { anomalous: true }));
  assert.equal(r.metrics.fc.length, c.merged.h.length);
  r.metrics.fc.forEach(([h, k, l, f], i) => {
    assert.deepEqual([h, k, l], [c.merged.h[i], c.merged.k[i], c.merged.l[i]]);
    assert.equal(f, +fc[i]!.toPrecision(9));
  });
  const ev = evaluateCase(c, { anomalous: true, scale: 'fvar', nParams: r.metrics.n_params });
  assert.equal(r.metrics.r1, ev.r1);
  assert.equal(r.metrics.wr2, ev.wr2);
  assert.ok(ev.r1 < 0.05, `R1 ${ev.r1}`);
  // .res with the .hkl beside it reads the same reflections as the CIF's embedded ones.
  const fromRes = await structureFactorRun(res, { dispersion: 'auto' });
  assert.equal(fromRes.metrics.n_reflections, r.metrics.n_reflections);
  // dispersion none drops f', f'': a different R1.
  const none = await structureFactorRun(cif, { dispersion: 'none' });
  assert.equal(none.radiation.anomalous, false);
  assert.notEqual(none.metrics.r1, r.metrics.r1);
});

test('assignRun: the height-rank baseline meets the formula counts with Cl on the highest peak; relabelling reaches the .ins', () => {
  const r = assignRun(res, { decoder: 'counts', dispersion: 'auto', baseline: true });
  assert.equal(r.method, 'height-rank baseline');
  const atoms = r.metrics.atoms as { label: string; element: string; height: number }[];
  assert.equal(atoms.length, 10);
  // Heights come from an all-carbon phasing, so C/N/O can trade places; the count of changes is reported.
  const counts: Record<string, number> = {};
  for (const a of atoms) counts[a.element] = (counts[a.element] ?? 0) + 1;
  assert.deepEqual(counts, { C: 7, N: 1, O: 1, Cl: 1 });
  assert.equal(r.changed, atoms.filter((a) => a.label.replace(/\d.*$/, '') !== a.element).length);
  const cl = atoms.find((a) => a.element === 'Cl')!;
  for (const a of atoms) if (a !== cl) assert.ok(a.height < cl.height, `${a.label} lower than Cl`);
  const m = parseShelxIns(r.ins, { file: 'out.ins' });
  assert.deepEqual(m.atoms.map((a) => m.sfac[a.sfac - 1]), atoms.map((a) => a.element));
  assert.ok(m.extra.includes('ANIS'));
  assert.throws(() => assignRun(join(dir, 'missing.res'), { decoder: 'counts', dispersion: 'auto' }), /missing\.hkl not found/);
});

test('hydrogensRun: HFIX per heavy atom, riding H, and R1 with and without them', () => {
  const r = hydrogensRun(res, { rule: true });
  assert.equal(r.method, 'valence rule');
  assert.equal(r.atoms.length, 10);
  const m = parseShelxIns(r.ins, { file: 'out.ins' });
  assert.equal(m.atoms.filter((a) => m.sfac[a.sfac - 1] === 'H').length, 0, 'H atoms are removed, HFIX replaces them');
  assert.equal(m.hfix.flatMap((h) => h.atoms).length, r.atoms.filter((a) => a.hfix !== null).length);
  assert.ok(r.riding.length > 0);
  assert.ok(r.r1 && r.r1.model_h < r.r1.no_h, 'the model\'s H lower R1');
  const learned = hydrogensRun(res, { train: dir });
  assert.equal(learned.method, 'classifier');
});

test('validationRun and evaluationRun: steps announced and counted; the demo finds the swapped N1', async () => {
  let total = -1, steps = 0;
  const v = await validationRun(cif, { alpha: 0.05, dispersion: 'auto', onStart: (n) => { total = n; }, onStep: () => { steps++; } });
  assert.equal(total, 10);
  assert.equal(steps, total);
  assert.equal(v.report.atoms.filter((a) => a.flagged).length, 0);
  const one = join(dir, 'one');
  writeExampleFiles(one, { variants: 1 });
  await assert.rejects(() => evaluationRun(one, [0]), /one: need at least 3 structures with reflections, found 1$/);
  const d = swapDemo(rng(0, 'crystal-demo'));
  assert.ok(d.metrics.swap_found);
  assert.equal(d.metrics.r1, evaluateCase(builtInCase(rng(0, 'crystal-demo'))).r1);
});
