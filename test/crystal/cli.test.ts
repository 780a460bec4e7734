import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../../src/core/rng.js';
import { runCrystal } from './helpers.js';
import { builtInCase } from '../../src/crystal/builtin.js';
import { writeShelxIns, type ShelxModel } from '../../src/crystal/shelx.js';

const run = runCrystal;

function writeCase(dir: string): string {
  const c = builtInCase(rng(0, 'cli'), 0.9);
  const st = c.structure;
  const sfac = ['C', 'N', 'O', 'Cl', 'H'];
  const model: ShelxModel = {
    title: 'builtin', wavelength: 0.71073, cell: st.cell, z: 4, latt: 1, symm: ['-X, 0.5+Y, 0.5-Z'], sfac, unit: [28, 4, 4, 4, 24],
    fvar: [Math.sqrt(2) / 10], wght: [0.03, 0], hfix: [], extra: [], hklf: 4, hklfScale: 1, qpeaks: [],
    atoms: st.sites.map((s, i) => ({ name: s.label, sfac: sfac.indexOf(s.element) + 1, xyz: s.frac, sof: 1, sofCode: 11, uiso: s.uani ? null : s.uiso, uani: s.uani, afix: 0, part: 0, line: i + 1, peakHeight: null })),
  };
  const res = join(dir, 'b.res');
  writeFileSync(res, writeShelxIns(model));
  const lines: string[] = [];
  const f = (v: number, w: number, d: number) => v.toFixed(d).padStart(w);
  for (let i = 0; i < c.merged.h.length; i++) {
    lines.push(`${f(c.merged.h[i]!, 4, 0)}${f(c.merged.k[i]!, 4, 0)}${f(c.merged.l[i]!, 4, 0)}${f(c.merged.fo2[i]! / 100, 8, 2)}${f(c.merged.sigma[i]! / 100, 8, 2)}`);
  }
  lines.push('   0   0   0    0.00    0.00');
  writeFileSync(join(dir, 'b.hkl'), lines.join('\n') + '\n');
  return res;
}

test('crystal sf / hydrogens / validate write the documented shapes and refuse to overwrite inputs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crystal-cli-'));
  process.env.PERENNIAL_QUIET = '1';
  try {
    const res = writeCase(dir);
    await run(['sf', '--cif', res, '--json', join(dir, 'sf.json')]);
    const sf = JSON.parse(readFileSync(join(dir, 'sf.json'), 'utf8')) as Record<string, unknown>;
    for (const k of ['n_reflections', 'r1', 'r1_all', 'wr2', 'goof', 'fc']) assert.ok(k in sf, k);
    assert.ok((sf.r1 as number) < 0.05, `R1 ${sf.r1}`);
    const fc = sf.fc as number[][];
    assert.equal(fc.length, sf.n_reflections);
    assert.equal(fc[0]!.length, 4);

    await run(['hydrogens', '--res', res, '--out', join(dir, 'b_H.ins'), '--json', join(dir, 'h.json'), '--rule']);
    const ins = readFileSync(join(dir, 'b_H.ins'), 'utf8');
    assert.match(ins, /^HFIX 23 .*C2/m); // valence rule: 4 - 2 neighbours = 2 H on a ring carbon (its known weakness)
    assert.doesNotMatch(ins, /^H2 /m);
    // The shipped model reads the ring geometry: one H on each CH ring carbon (HFIX 43).
    await run(['hydrogens', '--res', res, '--out', join(dir, 'b_H2.ins'), '--json', join(dir, 'h2.json')]);
    assert.match(readFileSync(join(dir, 'b_H2.ins'), 'utf8'), /^HFIX 43 .*C2/m);
    const h2 = JSON.parse(readFileSync(join(dir, 'h2.json'), 'utf8')) as { method: string; atoms: { p_h: number[] }[] };
    assert.equal(h2.method, 'shipped model');
    assert.ok(h2.atoms.every((a) => a.p_h.length === 4));

    await run(['validate', '--cif', res, '--json', join(dir, 'v.json')]);
    const v = JSON.parse(readFileSync(join(dir, 'v.json'), 'utf8')) as { r1: number; atoms: { label: string; flagged: boolean; best_alternative: string | null; delta_r1: number; element: string }[] };
    assert.equal(v.atoms.length, 10);
    assert.ok(v.atoms.every((a) => typeof a.flagged === 'boolean' && typeof a.delta_r1 === 'number'));
    assert.equal(v.atoms.filter((a) => a.flagged).length, 0);
    const va = v as unknown as { alert_counts: Record<string, number>; alerts: { level: string; kind: string; line: string }[] };
    assert.deepEqual(Object.keys(va.alert_counts).sort(), ['A', 'B', 'C']);
    assert.equal(va.alerts.length, va.alert_counts.A + va.alert_counts.B + va.alert_counts.C);
    assert.ok(va.alerts.every((a) => /^[ABC]$/.test(a.level) && a.line.startsWith(`${a.level} `)));

    await assert.rejects(run(['hydrogens', '--res', res, '--out', res]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
