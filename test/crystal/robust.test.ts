// Issues 16 and 17 (crystal): radiation options, assumptions in the record, size caps, cut-off and
// malformed files, checksums, multi-block CIFs. Every case builds its own files from the built-in
// structure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectedWarnings, InputError, ParseError } from '../../src/core/errors.js';
import { rng } from '../../src/core/rng.js';
import { runCrystal } from './helpers.js';
import { builtInCase } from '../../src/crystal/builtin.js';
import { UnitCell } from '../../src/crystal/cell.js';
import { parseCif, shelxChecksum } from '../../src/crystal/cif.js';
import { structureToCif } from '../../src/crystal/cifwrite.js';
import { LIMITS, readTextFile } from '../../src/crystal/limits.js';
import { fourierGrid, fourierMap } from '../../src/crystal/maps.js';
import { caseFromCif } from '../../src/crystal/refine.js';
import { amplitudes, SfCalculator, structureFactors } from '../../src/crystal/sf.js';
import { parseShelxIns, writeShelxIns, type ShelxModel } from '../../src/crystal/shelx.js';
import { structureFromCif, structureFromShelx, type Structure } from '../../src/crystal/structure.js';
import { IDENTITY, type SpaceGroup } from '../../src/crystal/symmetry.js';

process.env.PERENNIAL_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'crystal-robust-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = runCrystal;

const CASE = builtInCase(rng(0, 'robust'), 1.0);
const ST = CASE.structure;
const SFAC = ['C', 'N', 'O', 'Cl', 'H'];

function model(over: Partial<ShelxModel> = {}): ShelxModel {
  return {
    title: 'builtin', wavelength: 0.71073, cell: ST.cell, z: 4, latt: 1, symm: ['-X, 0.5+Y, 0.5-Z'], sfac: SFAC, unit: [28, 4, 4, 4, 24],
    fvar: [Math.sqrt(2) / 10], wght: [0.03, 0], hfix: [], extra: [], hklf: 4, hklfScale: 1, qpeaks: [],
    atoms: ST.sites.map((s, i) => ({ name: s.label, sfac: SFAC.indexOf(s.element) + 1, xyz: s.frac, sof: 1, sofCode: 11, uiso: s.uani ? null : s.uiso, uani: s.uani, afix: 0, part: 0, line: i + 1, peakHeight: null })),
    ...over,
  };
}

function hklText(rows: { h: number; k: number; l: number }[] = Array.from(CASE.merged.h, (h, i) => ({ h, k: CASE.merged.k[i]!, l: CASE.merged.l[i]! }))): string {
  const f = (v: number, w: number, d: number) => v.toFixed(d).padStart(w);
  const fo = new Map<string, [number, number]>();
  for (let i = 0; i < CASE.merged.h.length; i++) fo.set(`${CASE.merged.h[i]},${CASE.merged.k[i]},${CASE.merged.l[i]}`, [CASE.merged.fo2[i]! / 100, CASE.merged.sigma[i]! / 100]);
  return rows.map((r) => { const [a, s] = fo.get(`${r.h},${r.k},${r.l}`) ?? [10, 1]; return `${f(r.h, 4, 0)}${f(r.k, 4, 0)}${f(r.l, 4, 0)}${f(a, 8, 2)}${f(s, 8, 2)}`; }).join('\n') + '\n   0   0   0    0.00    0.00\n';
}

/** name.res + name.hkl in the test folder; returns the .res path. */
function writeRes(name: string, res: string, hkl = hklText()): string {
  writeFileSync(join(dir, `${name}.hkl`), hkl);
  writeFileSync(join(dir, `${name}.res`), res);
  return join(dir, `${name}.res`);
}

/** The structure as a CIF without `_diffrn_radiation_wavelength`, plus a separate .hkl. */
function writeCifNoWavelength(name: string, st: Structure = ST): { cif: string; hkl: string } {
  const cif = join(dir, `${name}.cif`), hkl = join(dir, `${name}.hkl`);
  writeFileSync(cif, structureToCif(st).replace(/^_diffrn_radiation_wavelength .*\n/m, ''));
  writeFileSync(hkl, hklText());
  return { cif, hkl };
}

const json = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown> & { run: { warnings: { code: string; message: string }[] } };
const countWarnings = (code: string) => collectedWarnings().filter((w) => w.code === code).length;

test('sf on a CIF without a wavelength: the assumed one goes to stderr and into the record warnings', async () => {
  const { cif, hkl } = writeCifNoWavelength('nowl');
  const out = join(dir, 'nowl.json');
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.env.PERENNIAL_QUIET = '0';
  process.stderr.write = ((s: string | Uint8Array) => { lines.push(String(s)); return true; }) as typeof process.stderr.write;
  try { await run(['sf', '--cif', cif, '--hkl', hkl, '--json', out]); } finally { process.stderr.write = write; process.env.PERENNIAL_QUIET = '1'; }
  assert.ok(lines.some((l) => /assuming 0\.71073 Å/.test(l) && l.includes(cif)), lines.join(''));
  const r = json(out);
  assert.equal(r.wavelength, 0.71073);
  assert.equal(r.wavelength_source, 'assumed');
  assert.ok(r.run.warnings.some((w) => w.code === 'crystal-wavelength-assumed' && w.message.includes(cif)), JSON.stringify(r.run.warnings));
  // --wavelength replaces the assumption: no new warning, and Cu Kα dispersion is used.
  const before = countWarnings('crystal-wavelength-assumed');
  await run(['sf', '--cif', cif, '--hkl', hkl, '--wavelength', '1.54184', '--json', out]);
  assert.equal(countWarnings('crystal-wavelength-assumed'), before);
  const r2 = json(out);
  assert.equal(r2.wavelength_source, 'option');
  assert.equal(r2.line, 'Cu');
  assert.equal(r2.anomalous, true);
});

test('sf --dispersion none gives f0-only |Fc|; auto adds f\', f\'\' (they differ for Cl at Mo Kα)', async () => {
  const res = writeRes('disp', writeShelxIns(model()));
  const outNone = join(dir, 'none.json'), outAuto = join(dir, 'auto.json');
  await run(['sf', '--cif', res, '--dispersion', 'none', '--json', outNone]);
  await run(['sf', '--cif', res, '--json', outAuto]);
  const none = json(outNone), auto = json(outAuto);
  assert.equal(none.dispersion, 'none'); assert.equal(none.anomalous, false);
  assert.equal(auto.dispersion, 'auto'); assert.equal(auto.anomalous, true);
  const fcNone = none.fc as number[][], fcAuto = auto.fc as number[][];
  const st = structureFromShelx(parseShelxIns(readFileSync(res, 'utf8'), { file: res }));
  const idx = { h: fcNone.map((r) => r[0]!), k: fcNone.map((r) => r[1]!), l: fcNone.map((r) => r[2]!) };
  const f0 = amplitudes(structureFactors(st, idx));
  let worst = 0, differ = 0;
  for (let i = 0; i < f0.length; i++) {
    worst = Math.max(worst, Math.abs(fcNone[i]![3]! - f0[i]!) / Math.max(f0[i]!, 1e-3));
    if (Math.abs(fcAuto[i]![3]! - f0[i]!) > 1e-3 * f0[i]!) differ++;
  }
  assert.ok(worst < 1e-7, `none vs f0: ${worst}`);
  assert.ok(differ > f0.length / 4, `auto equals f0 for ${f0.length - differ} of ${f0.length}`);
});

test('--wavelength and --dispersion are validated on sf, assign and validate', async () => {
  const res = writeRes('opts', writeShelxIns(model()));
  const out = join(dir, 'opts.ins');
  for (const cmd of [['sf', '--cif', res], ['validate', '--cif', res], ['assign', '--res', res, '--out', out]]) {
    for (const w of ['0', '-1', 'abc', '', 'NaN', 'Infinity', '1e9', '0.001']) {
      await assert.rejects(run([...cmd, '--wavelength', w]), (e: unknown) => e instanceof InputError && /--wavelength/.test(e.message), `${cmd[0]} --wavelength ${w}`);
    }
    await assert.rejects(run([...cmd, '--dispersion', 'full']), (e: unknown) => e instanceof InputError && /auto, none/.test(e.message) && /full/.test(e.message));
  }
  await assert.rejects(run(['validate', '--cif', res, '--alpha', '2']), (e: unknown) => e instanceof InputError && /--alpha/.test(e.message));
  // Ag Kα gets f', f'' from the Henke tables; a wavelength beyond them (0.3 Å, above 30 keV) is
  // used with a warning that Fc is f0 only.
  const before = countWarnings('crystal-no-dispersion-table');
  const ag = join(dir, 'ag.json');
  await run(['sf', '--cif', res, '--wavelength', '0.5594', '--json', ag]);
  assert.equal(countWarnings('crystal-no-dispersion-table'), before);
  assert.equal(json(ag).anomalous, true);
  assert.equal((json(ag) as unknown as { dispersion_table: string }).dispersion_table, 'Henke');
  const j = join(dir, 'hard.json');
  await run(['sf', '--cif', res, '--wavelength', '0.3', '--json', j]);
  assert.equal(countWarnings('crystal-no-dispersion-table'), before + 1);
  assert.equal(json(j).anomalous, false);
  assert.ok(json(j).run.warnings.some((w) => w.code === 'crystal-no-dispersion-table'));
});

test('sf: a bad _refine_ls_number_parameters is an error naming file, line and tag (not swallowed); a .res gets an estimate with a warning', async () => {
  const { cif, hkl } = writeCifNoWavelength('np');
  writeFileSync(cif, readFileSync(cif, 'utf8') + '_refine_ls_number_parameters abc\n');
  const line = readFileSync(cif, 'utf8').split('\n').findIndex((l) => l.startsWith('_refine_ls_number_parameters')) + 1;
  await assert.rejects(run(['sf', '--cif', cif, '--hkl', hkl]), (e: unknown) => e instanceof ParseError && e.file === cif && e.line === line && e.field === '_refine_ls_number_parameters');
  writeFileSync(cif, readFileSync(cif, 'utf8').replace('abc', '88'));
  const out = join(dir, 'np.json');
  await run(['sf', '--cif', cif, '--hkl', hkl, '--json', out]);
  assert.equal(json(out).n_params, 88);
  assert.equal(json(out).n_params_source, 'cif');
  const res = writeRes('npres', writeShelxIns(model()));
  await run(['sf', '--cif', res, '--json', out]);
  assert.equal(json(out).n_params_source, 'estimated');
  assert.ok(json(out).run.warnings.some((w) => w.code === 'crystal-nparams-estimated'));
});

test('Fourier grid follows the resolution and is capped before allocation', () => {
  // An 80 Å cubic cell with data to 0.8 Å: the old fixed 0.3 Å spacing needed 512^3 points (2.1 GB).
  const cell = new UnitCell({ a: 80, b: 80, c: 80, alpha: 90, beta: 90, gamma: 90 });
  const idx = { h: [100, 1], k: [0, 1], l: [0, 1] };
  const d = fourierGrid(cell, idx);
  assert.ok(d[0] * d[1] * d[2] <= LIMITS.gridPoints, d.join('x'));
  assert.ok(d[0] >= 2 * 100 + 1);
  // A small cell gets the fine d_min/3 grid.
  const small = new UnitCell({ a: 10, b: 10, c: 10, alpha: 90, beta: 90, gamma: 90 });
  const ds = fourierGrid(small, { h: [12], k: [0], l: [0] }); // d_min 0.833 Å: 0.278 Å spacing -> 36 -> 64
  assert.deepEqual(ds, [64, 64, 64]);
  // A 5000 Å cell with data to 1 Å cannot be mapped: a clear error, nothing allocated.
  const huge = new UnitCell({ a: 5000, b: 5000, c: 5000, alpha: 90, beta: 90, gamma: 90 });
  const st: Structure = { ...ST, cell: huge };
  assert.throws(() => fourierMap(st, { h: [5000, 0, 0], k: [0, 5000, 0], l: [0, 0, 5000] }, [1, 1, 1], [0, 0, 0]), (e: unknown) => e instanceof InputError && /over the limit/.test(e.message) && /5000/.test(e.message));
  assert.throws(() => fourierGrid(huge, { h: [], k: [], l: [] }), InputError);
});

test('assign on a large cell runs on the resolution grid; a huge cell or hkl index is refused with file:line on assign, sf and validate', async () => {
  // 40 Å along a, data to 1 Å: fine (the old 0.3 Å grid would have been 256 x 32 x 64 already; this checks it runs).
  const big = { ...ST.cell, a: 40 };
  const res = writeRes('big', writeShelxIns(model({ cell: big })));
  await run(['assign', '--res', res, '--out', join(dir, 'big.ins')]);
  // A 1e6 Å cell: refused at the CELL line.
  const huge = writeRes('huge', writeShelxIns(model({ cell: { ...ST.cell, a: 1e6 } })));
  const cellLine = readFileSync(huge, 'utf8').split('\n').findIndex((l) => l.startsWith('CELL')) + 1;
  for (const cmd of [['assign', '--res', huge, '--out', join(dir, 'h.ins')], ['sf', '--cif', huge], ['validate', '--cif', huge]]) {
    await assert.rejects(run(cmd), (e: unknown) => e instanceof ParseError && e.file === huge && e.line === cellLine && e.field === 'CELL' && /10000/.test(e.message), cmd[0]);
  }
  // A reflection 999 0 0 in a 14 Å cell lies outside the limiting sphere at Mo Kα: refused at its line.
  const rows = [{ h: 1, k: 0, l: 0 }, { h: 2, k: 0, l: 0 }, { h: 999, k: 0, l: 0 }];
  const far = writeRes('far', writeShelxIns(model()), hklText([...Array.from(CASE.merged.h, (h, i) => ({ h, k: CASE.merged.k[i]!, l: CASE.merged.l[i]! })), ...rows]));
  const hkl = far.replace(/\.res$/, '.hkl');
  const farLine = CASE.merged.h.length + 3;
  for (const cmd of [['assign', '--res', far, '--out', join(dir, 'f.ins')], ['sf', '--cif', far], ['validate', '--cif', far]]) {
    await assert.rejects(run(cmd), (e: unknown) => e instanceof ParseError && e.file === hkl && e.line === farLine && e.field === 'hkl' && /999 0 0/.test(e.message), cmd[0]);
  }
  // The check uses --wavelength when given: at 0.05 Å the reflection (d = 0.014 Å) is still out of reach.
  await assert.rejects(run(['sf', '--cif', far, '--wavelength', '0.05']), (e: unknown) => e instanceof ParseError && /from --wavelength/.test(e.message));
});

test('sizes chosen by a file are capped before allocation: atoms, reflections x operations, file bytes', () => {
  const head = 'TITL x\nCELL 0.71073 10 10 10 90 90 90\nLATT -1\nSFAC C\nUNIT 1\n';
  const atoms = Array.from({ length: LIMITS.atoms + 1 }, (_, i) => `C${i} 1 0.1 0.2 0.3 11 0.02`).join('\n');
  assert.throws(() => parseShelxIns(`${head}${atoms}\nHKLF 4\nEND\n`, { file: 'many.res' }), (e: unknown) => e instanceof ParseError && e.file === 'many.res' && e.line === 5 + LIMITS.atoms + 1 && /at most/.test(e.message));
  // 200 operations x enough reflections to pass the table limit: refused before the tables are made.
  const sg = { ops: Array.from({ length: 200 }, () => IDENTITY), centrosymmetric: false, pointOps: [IDENTITY.rot] } as unknown as SpaceGroup;
  const n = Math.ceil(LIMITS.reflectionOps / 200) + 1;
  const idx = { h: new Int32Array(n).fill(1), k: new Int32Array(n), l: new Int32Array(n) };
  assert.throws(() => new SfCalculator(ST.cell, sg, idx, 0.71073), (e: unknown) => e instanceof InputError && /over the limit/.test(e.message));
  // A file over the byte limit is refused from its size (a sparse file: nothing is read).
  const p = join(dir, 'big.hkl');
  const fd = openSync(p, 'w');
  ftruncateSync(fd, LIMITS.fileBytes + 1);
  closeSync(fd);
  assert.throws(() => readTextFile(p), (e: unknown) => e instanceof InputError && e.message.includes(p) && /limit/.test(e.message));
});

test('a .res cut off after a = continuation, or without END, is an error naming the line; U values are never dropped', async () => {
  const full = writeShelxIns(model());
  const lines = full.split('\n');
  const cut = lines.findIndex((l) => /=\s*$/.test(l));
  assert.ok(cut > 0, 'the writer continues anisotropic atoms with =');
  for (const text of [lines.slice(0, cut + 1).join('\n') + '\n', lines.slice(0, cut + 1).join('\n'), lines.slice(0, cut + 1).join('\n') + '\n\n  \n']) {
    assert.throws(() => parseShelxIns(text, { file: 'cut.res' }), (e: unknown) => e instanceof ParseError && e.file === 'cut.res' && e.line === cut + 1 && /cut off/.test(e.message));
    const res = writeRes('cut', text);
    await assert.rejects(run(['sf', '--cif', res]), (e: unknown) => e instanceof ParseError && e.line === cut + 1);
  }
  // Cut after a complete atom line: no END.
  const atomLine = lines.findIndex((l) => l.startsWith('O1'));
  assert.throws(() => parseShelxIns(lines.slice(0, atomLine + 1).join('\n') + '\n', { file: 'noend.res' }), (e: unknown) => e instanceof ParseError && e.line === atomLine + 1 && e.field === 'END');
  // An atom with 7 numbers (neither isotropic nor the 10 of an anisotropic atom).
  const odd = full.replace(/^(O1 .*)$/m, '$1 0.01 0.02');
  assert.throws(() => parseShelxIns(odd, { file: 'odd.res' }), (e: unknown) => e instanceof ParseError && e.field === 'O1' && /7 numbers/.test(e.message));
  // The intact file still reads, with both lines of the anisotropic atom.
  const m = parseShelxIns(full, { file: 'ok.res' });
  assert.ok(m.atoms.find((a) => a.name === 'Cl1')!.uani);
});

test('no atoms, or no Fc: an error or R1 null with a reason, never NaN in the record', async () => {
  const empty = writeRes('empty', writeShelxIns(model({ atoms: [], qpeaks: [] })));
  for (const cmd of [['sf', '--cif', empty], ['validate', '--cif', empty], ['assign', '--res', empty, '--out', join(dir, 'e.ins')]]) {
    await assert.rejects(run(cmd), (e: unknown) => e instanceof InputError && e.message.includes(empty) && /no atoms/.test(e.message), cmd[0]);
  }
  // A CIF whose only atoms are dummies.
  const { cif, hkl } = writeCifNoWavelength('dum');
  writeFileSync(cif, readFileSync(cif, 'utf8').replace('_atom_site_occupancy', '_atom_site_occupancy\n_atom_site_calc_flag').replace(/^(\S+ \S+ \S+ \S+ \S+ \S+ U\w+ \S+)$/gm, '$1 dum'));
  await assert.rejects(run(['sf', '--cif', cif, '--hkl', hkl]), (e: unknown) => e instanceof InputError && /no atoms/.test(e.message));
  // Every occupancy zero and the scale refitted (a CIF model): Fc = 0, so no scale and no R factors: nulls with reasons.
  const z = writeCifNoWavelength('zero', { ...ST, sites: ST.sites.map((s) => ({ ...s, occ: 0 })) });
  const out = join(dir, 'zero.json');
  await run(['sf', '--cif', z.cif, '--hkl', z.hkl, '--json', out]);
  const r = json(out) as Record<string, unknown> & { reasons: Record<string, string> };
  for (const k of ['r1', 'wr2', 'goof', 'scale']) {
    assert.equal(r[k], null, k);
    assert.match(r.reasons[k]!, /Fc is zero/);
  }
  assert.doesNotMatch(readFileSync(out, 'utf8'), /:\s*(NaN|-?Infinity)\b/);
  // With the FVAR scale of a .res, Fc = 0 gives the true R1 = 1; validate writes nothing non-finite without a reason.
  const zero = writeRes('zero', writeShelxIns(model({ atoms: model().atoms.map((a) => ({ ...a, sof: 10, sofCode: 10 })) })));
  await run(['sf', '--cif', zero, '--json', out]);
  assert.equal(json(out).r1, 1);
  const vout = join(dir, 'zero-v.json');
  await run(['validate', '--cif', z.cif, '--hkl', z.hkl, '--json', vout]);
  const v = json(vout) as Record<string, unknown> & { reasons?: Record<string, string> };
  assert.doesNotMatch(readFileSync(vout, 'utf8'), /:\s*(NaN|-?Infinity)\b/);
  for (const k of ['r1', 'wr2', 'threshold']) if (v[k] === null) assert.ok(v.reasons?.[k], k);
});

test('bad cell, SFAC element and SYMM line: errors carry file and line', () => {
  const base = writeShelxIns(model());
  const lineOf = (text: string, re: RegExp) => text.split('\n').findIndex((l) => re.test(l)) + 1;
  const angle = base.replace(/^CELL .*$/m, 'CELL 0.71073 14 7.5 12 90 200 90');
  assert.throws(() => parseShelxIns(angle, { file: 'a.res' }), (e: unknown) => e instanceof ParseError && e.file === 'a.res' && e.line === lineOf(angle, /^CELL/) && e.field === 'CELL' && /beta/.test(e.message));
  const flat = base.replace(/^CELL .*$/m, 'CELL 0.71073 14 7.5 12 150 150 150');
  assert.throws(() => parseShelxIns(flat, { file: 'f.res' }), (e: unknown) => e instanceof ParseError && e.line === lineOf(flat, /^CELL/));
  const lam = base.replace(/^CELL 0\.71073/m, 'CELL 0');
  assert.throws(() => parseShelxIns(lam, { file: 'l.res' }), (e: unknown) => e instanceof ParseError && e.field === 'CELL lambda');
  const symm = base.replace(/^SYMM .*$/m, 'SYMM -X, 0.5+Y');
  assert.throws(() => parseShelxIns(symm, { file: 's.res' }), (e: unknown) => e instanceof ParseError && e.file === 's.res' && e.line === lineOf(symm, /^SYMM/) && e.field === 'SYMM');
  const sfac = base.replace(/^SFAC C N O Cl H$/m, 'SFAC C N O Xx H');
  assert.throws(() => structureFromShelx(parseShelxIns(sfac, { file: 'x.res' })), (e: unknown) => e instanceof ParseError && e.file === 'x.res' && e.line === lineOf(sfac, /^SFAC/) && e.field === 'SFAC' && /Cl1/.test(e.message));
  // CIF: the tag's line.
  const cif = structureToCif(ST).replace(/^_cell_angle_beta .*$/m, '_cell_angle_beta 190');
  const block = parseCif(cif, { file: 'c.cif' }).blocks[0]!;
  assert.throws(() => structureFromCif(block, 'c.cif'), (e: unknown) => e instanceof ParseError && e.file === 'c.cif' && e.line === lineOf(cif, /^_cell_angle_beta/) && e.field === '_cell_angle_beta');
  const cifA = structureToCif(ST).replace(/^_cell_length_a .*$/m, '_cell_length_a 0');
  assert.throws(() => structureFromCif(parseCif(cifA, { file: 'd.cif' }).blocks[0]!, 'd.cif'), (e: unknown) => e instanceof ParseError && e.line === lineOf(cifA, /^_cell_length_a/) && e.field === '_cell_length_a');
  const wl = structureToCif(ST).replace(/^_diffrn_radiation_wavelength .*$/m, '_diffrn_radiation_wavelength -0.7');
  assert.throws(() => structureFromCif(parseCif(wl, { file: 'w.cif' }).blocks[0]!, 'w.cif'), (e: unknown) => e instanceof ParseError && e.line === lineOf(wl, /^_diffrn_radiation_wavelength/));
});

test('SHELX checksums: the definition, a match is silent, an edited embedded .res or .hkl is warned about', () => {
  assert.equal(shelxChecksum('hello world'), 3583); // FinalCif's test value
  const res = writeShelxIns(model());
  const hkl = hklText();
  const cif = (r: string, h: string, rs: number, hs: number) => `data_emb\n_shelx_res_file\n;\n${r};\n_shelx_res_checksum ${rs}\n_shelx_hkl_file\n;\n${h};\n_shelx_hkl_checksum ${hs}\n`;
  const p = join(dir, 'emb.cif');
  writeFileSync(p, cif(res, hkl, shelxChecksum(res), shelxChecksum(hkl)));
  const before = countWarnings('crystal-checksum');
  caseFromCif(p);
  assert.equal(countWarnings('crystal-checksum'), before);
  const edited = res.replace(/^(C1 .*?)0\.0(\d)/m, '$10.1$2');
  assert.notEqual(edited, res);
  writeFileSync(p, cif(edited, hkl, shelxChecksum(res), shelxChecksum(hkl) + 1));
  caseFromCif(p);
  const w = collectedWarnings().filter((x) => x.code === 'crystal-checksum').slice(before);
  assert.equal(w.length, 2);
  assert.ok(w[0]!.message.includes('_shelx_res_checksum') && w[1]!.message.includes('_shelx_hkl_checksum'));
  writeFileSync(p, cif(res, hkl, shelxChecksum(res), shelxChecksum(hkl)).replace(/_shelx_res_checksum \d+/, '_shelx_res_checksum x1'));
  assert.throws(() => caseFromCif(p), (e: unknown) => e instanceof ParseError && e.field === '_shelx_res_checksum');
});

test('CIF: duplicate block names and empty loops are errors; negative Uiso is an error; a BOM is accepted (CIF, .res, .hkl)', () => {
  assert.throws(() => parseCif('data_a\n_x 1\ndata_b\n_x 2\ndata_A\n_x 3\n', { file: 'dup.cif' }), (e: unknown) => e instanceof ParseError && e.file === 'dup.cif' && e.line === 5 && /line 1/.test(e.message));
  assert.throws(() => parseCif('data_a\nloop_\n_p\n_q\n_r 1\n', { file: 'e.cif' }), (e: unknown) => e instanceof ParseError && e.line === 5 && e.field === '_p');
  assert.throws(() => parseCif('data_a\nloop_\n_p\n', { file: 'e2.cif' }), (e: unknown) => e instanceof ParseError && e.field === '_p');
  const neg = structureToCif(ST).replace(/^(C2 C \S+ \S+ \S+ )\S+/m, '$1-0.02');
  const negLine = neg.split('\n').findIndex((l) => l.startsWith('C2 ')) + 1;
  assert.throws(() => structureFromCif(parseCif(neg, { file: 'n.cif' }).blocks[0]!, 'n.cif'), (e: unknown) => e instanceof ParseError && e.line === negLine && /Uiso/.test(e.message));
  const resNeg = writeShelxIns(model()).replace(/^(C2 +\d+ +\S+ +\S+ +\S+ +\S+ +)\S+/m, '$1-0.2');
  assert.throws(() => parseShelxIns(resNeg, { file: 'n.res' }), (e: unknown) => e instanceof ParseError && e.field === 'C2 Uiso');
  assert.equal(parseShelxIns(writeShelxIns(model()).replace(/^(C2 +\d+ +\S+ +\S+ +\S+ +\S+ +)\S+/m, '$1-1.2'), { file: 'r.res' }).atoms.find((a) => a.name === 'C2')!.uiso, -1.2);
  const cif = structureToCif(ST);
  const withBom = parseCif('\ufeff' + cif, { file: 'bom.cif' });
  assert.equal(withBom.blocks[0]!.name, parseCif(cif).blocks[0]!.name);
  assert.equal(structureFromCif(withBom.blocks[0]!, 'bom.cif').sites.length, ST.sites.length);
  const m = parseShelxIns('\ufeff' + writeShelxIns(model()), { file: 'bom.res' });
  assert.equal(m.title, 'builtin');
  const p = join(dir, 'bom.hkl');
  writeFileSync(p, '\ufeff' + hklText());
  const bomRes = join(dir, 'bom.res');
  writeFileSync(bomRes, '\ufeff' + writeShelxIns(model()));
  return run(['sf', '--cif', bomRes, '--hkl', p, '--json', join(dir, 'bom.json')]);
});

test('multi-block CIF: the block with data is found past blocks without; none has data: the blocks seen are named', async () => {
  const res = writeShelxIns(model());
  const data = `data_withdata\n_shelx_res_file\n;\n${res};\n_shelx_hkl_file\n;\n${hklText()};\n`;
  const first = structureToCif({ ...ST, name: 'nohkl' });
  const p = join(dir, 'multi.cif');
  writeFileSync(p, `${first}${data}`);
  const c = caseFromCif(p);
  assert.equal(c.structure.sites.length, ST.sites.length);
  assert.ok(c.merged.h.length > 100);
  const out = join(dir, 'multi.json');
  await run(['sf', '--cif', p, '--json', out]);
  assert.ok((json(out).n_reflections as number) > 100);
  // --block picks a block; an unknown one lists the blocks.
  await assert.rejects(run(['sf', '--cif', p, '--block', 'zzz']), (e: unknown) => e instanceof InputError && /nohkl/.test(e.message) && /withdata/.test(e.message));
  // No block with reflections: the error names each block and what it has.
  const q = join(dir, 'none.cif');
  writeFileSync(q, `${first}data_other\n_x 1\n`);
  assert.throws(() => caseFromCif(q), (e: unknown) => e instanceof InputError && /nohkl \(line 1: cell, atoms, no \.res, no reflections\)/.test(e.message) && /other/.test(e.message));
});

/** Run `fn` with some LIMITS lowered (the object is shared, so the commands see the same caps). */
async function withLimits(over: Partial<Record<keyof typeof LIMITS, number>>, fn: () => Promise<void> | void): Promise<void> {
  const lim = LIMITS as unknown as Record<string, unknown>;
  const old = Object.fromEntries(Object.keys(over).map((k) => [k, lim[k]]));
  Object.assign(lim, over);
  try { await fn(); } finally { Object.assign(lim, old); }
}

test('caps reach the commands: a grid or reflection count over the cap is a one-line error before allocation', async () => {
  const res = writeRes('caps', writeShelxIns(model()));
  const out = join(dir, 'caps.ins');
  await withLimits({ gridPoints: 4096 }, async () => {
    await assert.rejects(run(['assign', '--res', res, '--out', out]), (e: unknown) => e instanceof InputError && /Fourier map/.test(e.message) && /over the limit of 4096 points/.test(e.message));
  });
  await withLimits({ reflections: 50 }, async () => {
    for (const cmd of [['sf', '--cif', res], ['validate', '--cif', res], ['assign', '--res', res, '--out', out]]) {
      await assert.rejects(run(cmd), (e: unknown) => e instanceof ParseError && e.file === res.replace(/\.res$/, '.hkl') && e.line === 51 && /at most 50 reflections/.test(e.message), cmd[0]);
    }
  });
  await withLimits({ atoms: 5 }, async () => {
    const { cif, hkl } = writeCifNoWavelength('capcif');
    await assert.rejects(run(['sf', '--cif', cif, '--hkl', hkl]), (e: unknown) => e instanceof ParseError && e.file === cif && /at most 5 atom sites/.test(e.message));
  });
  // And with the real caps the same files run.
  await run(['assign', '--res', res, '--out', out]);
  assert.match(readFileSync(out, 'utf8'), /^END$/m);
});

test('auto dispersion warns for elements without an f\'/f\'\' entry at the wavelength', async () => {
  const before = countWarnings('crystal-no-dispersion-table');
  const st: Structure = { ...ST, sites: [...ST.sites, { ...ST.sites[0]!, label: 'Cf1', element: 'Cf', frac: [0.9, 0.1, 0.4] }] };
  const { cif, hkl } = writeCifNoWavelength('cf', st);
  await run(['sf', '--cif', cif, '--hkl', hkl, '--wavelength', '0.71073']);
  const w = collectedWarnings().filter((x) => x.code === 'crystal-no-dispersion-table').slice(before);
  assert.ok(w.some((x) => /Cf/.test(x.message)), JSON.stringify(w));
});
