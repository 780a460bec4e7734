// `perennial crystal eval` (leave-one-structure-out over a folder of .res + .hkl pairs) killed with
// SIGKILL at a random step of its progress. It keeps no checkpoints: a rerun starts over, so what is checked is
// that a killed run never leaves a half-written record or report, and the rerun equals an
// uninterrupted run.
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../../src/core/rng.js';
import { builtInCase } from '../../src/crystal/builtin.js';
import { UnitCell } from '../../src/crystal/cell.js';
import { writeShelxIns, type ShelxModel } from '../../src/crystal/shelx.js';
import { formatHklf4 } from '../fuzz/targets.js';
import { KILLS, killAndResume, noteResult } from './kill-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-kill-crystal-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The built-in structure as name.res + name.hkl, its cell stretched so each case is distinct. */
function writeCase(folder: string, name: string, stretch: number, seed: number): void {
  const c = builtInCase(rng(seed, 'kill-crystal'), 1.0);
  const st = c.structure;
  const cell = new UnitCell({ ...st.cell, a: st.cell.a * stretch });
  const sfac = ['C', 'N', 'O', 'Cl', 'H'];
  const model: ShelxModel = {
    title: name, wavelength: 0.71073, cell, z: 4, latt: 1, symm: ['-X, 0.5+Y, 0.5-Z'], sfac, unit: [28, 4, 4, 4, 24],
    fvar: [0.1], wght: [0.03, 0], hfix: [], extra: [], hklf: 4, hklfScale: 1, qpeaks: [],
    atoms: st.sites.map((s, i) => ({ name: s.label, sfac: sfac.indexOf(s.element) + 1, xyz: s.frac, sof: 1, sofCode: 11, uiso: s.uani ? null : s.uiso, uani: s.uani, afix: 0, part: 0, line: i + 1, peakHeight: null })),
  };
  writeFileSync(join(folder, `${name}.res`), writeShelxIns(model));
  const rows = Array.from(c.merged.h, (h, i) => ({ h, k: c.merged.k[i]!, l: c.merged.l[i]!, fo2: c.merged.fo2[i]! / 100, sigma: c.merged.sigma[i]! / 100 }));
  writeFileSync(join(folder, `${name}.hkl`), formatHklf4(rows));
}

test(`crystal eval: ${KILLS} random SIGKILLs, rerun, equals an uninterrupted run`, { timeout: 3_600_000 }, async () => {
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  for (let i = 0; i < 3; i++) writeCase(data, `s${i}`, 1 + 0.02 * i, i);
  const r = await killAndResume({
    name: 'crystal eval',
    args: (out) => ['crystal', 'eval', '--data', data, '--seeds', '0,1', '--json', join(out, 'eval.json'), '--html', join(out, 'eval.html')],
    progress: null,
    stderrProgress: /^crystal eval: \d+\/\d+/gm,
    jitterMs: 20,
    finals: (out) => [join(out, 'eval.json'), join(out, 'eval.html')],
  }, dir);
  noteResult(r);
});
