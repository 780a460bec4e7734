// Example files made from the built-in structure (builtin.ts), so every crystal command and the
// README's examples can run without data from elsewhere: a SHELXL-style CIF with the .res and .hkl
// embedded, and the same .res/.hkl as separate files. Variants (a bromo- and a fluoro- analogue
// in slightly different cells) give `crystal eval` the several structures it needs.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import { formatNumber } from '../core/format.js';
import { writeFileAtomic } from '../core/fsx.js';
import { rng as makeRng } from '../core/rng.js';
import { builtInStructure } from './builtin.js';
import { UnitCell, type Vec3 } from './cell.js';
import { structureToCif } from './cifwrite.js';
import { amplitudes, structureFactors } from './sf.js';
import { writeShelxIns, type ShelxAtom, type ShelxModel } from './shelx.js';
import type { Site, Structure } from './structure.js';

/** Halogen of each variant and its C–X bond length (Å). */
const VARIANTS: readonly { element: string; name: string; bond: number }[] = [
  { element: 'Cl', name: 'chlorobenzamide', bond: 1.74 },
  { element: 'Br', name: 'bromobenzamide', bond: 1.90 },
  { element: 'F', name: 'fluorobenzamide', bond: 1.35 },
];
export const MAX_EXAMPLE_VARIANTS = VARIANTS.length;

/**
 * Variant `i` of the built-in molecule: the same Cartesian geometry, placed at the same fractional
 * centre of a cell stretched by 0.25 Å per variant along a (so `loadCases` keeps them apart), with
 * the halogen moved along its C–X bond to that element's bond length.
 */
export function exampleStructure(i = 0): Structure {
  const v = VARIANTS[i];
  if (!v) throw new InputError(`example variant ${i}: there are ${VARIANTS.length} (0..${VARIANTS.length - 1})`);
  const st = builtInStructure();
  const p = st.cell;
  const cell = new UnitCell({ a: p.a + 0.25 * i, b: p.b, c: p.c + 0.1 * i, alpha: p.alpha, beta: p.beta, gamma: p.gamma });
  const c0 = st.cell.toCartesian([0.3, 0.2, 0.3]);
  const c1 = cell.toCartesian([0.3, 0.2, 0.3]);
  const cart = (s: Site): Vec3 => { const x = st.cell.toCartesian(s.frac); return [x[0] - c0[0] + c1[0], x[1] - c0[1] + c1[1], x[2] - c0[2] + c1[2]]; };
  const ipso = cart(st.sites.find((s) => s.label === 'C1')!);
  const sites = st.sites.map((s): Site => {
    let x = cart(s);
    if (s.element === 'Cl') {
      const d = [x[0] - ipso[0], x[1] - ipso[1], x[2] - ipso[2]];
      const n = Math.hypot(d[0], d[1], d[2]);
      x = [ipso[0] + d[0] * v.bond / n, ipso[1] + d[1] * v.bond / n, ipso[2] + d[2] * v.bond / n];
      return { ...s, label: `${v.element}1`, element: v.element, frac: cell.toFractional(x) };
    }
    return { ...s, frac: cell.toFractional(x) };
  });
  return { ...st, name: v.name, cell, sites };
}

export interface ExampleTexts { readonly name: string; readonly cif: string; readonly res: string; readonly hkl: string }

const fmt = (v: number, w: number, d: number): string => formatNumber(v, { digits: d, scientific: false }).padStart(w);

/**
 * The .res, .hkl and CIF texts of one example structure. Reflections to `dmin` are simulated as
 * builtInCase does (Fo² = 2 Fc² with f′/f″, 2 % + 1 noise, the unique part of Laue class 2/m, absences left out),
 * divided by a power of ten so that every value fits HKLF 4's F8.2 columns; FVAR carries the scale.
 */
export function exampleTexts(i = 0, seed = 0, dmin = 0.8): ExampleTexts {
  const st = exampleStructure(i);
  const r = makeRng(seed, `crystal-example-${st.name}`);
  const H: number[] = [], K: number[] = [], L: number[] = [];
  const hm = Math.ceil(st.cell.a / dmin), km = Math.ceil(st.cell.b / dmin), lm = Math.ceil(st.cell.c / dmin);
  for (let h = -hm; h <= hm; h++) for (let k = 0; k <= km; k++) for (let l = 0; l <= lm; l++) {
    if ((h || k || l) === 0 || (l === 0 && h < 0) || st.cell.dSpacing(h, k, l) < dmin) continue;
    if (st.sg.isAbsent(h, k, l)) continue;
    H.push(h); K.push(k); L.push(l);
  }
  // With f′/f″ at the file's wavelength, as measured data would carry them.
  const fc = amplitudes(structureFactors(st, { h: H, k: K, l: L }, { anomalous: true }));
  const fo2 = new Float64Array(H.length), sig = new Float64Array(H.length);
  for (let j = 0; j < H.length; j++) {
    const i0 = 2 * fc[j] * fc[j];
    sig[j] = 0.02 * i0 + 1;
    fo2[j] = i0 + sig[j] * r.normal();
  }
  const top = fo2.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const div = 10 ** Math.max(0, Math.ceil(Math.log10(top / 99999)));
  const hklLines: string[] = [];
  for (let j = 0; j < H.length; j++) hklLines.push(`${fmt(H[j], 4, 0)}${fmt(K[j], 4, 0)}${fmt(L[j], 4, 0)}${fmt(fo2[j] / div, 8, 2)}${fmt(sig[j] / div, 8, 2)}${fmt(1, 4, 0)}`);
  hklLines.push(`${fmt(0, 4, 0)}${fmt(0, 4, 0)}${fmt(0, 4, 0)}${fmt(0, 8, 2)}${fmt(0, 8, 2)}${fmt(0, 4, 0)}`);
  const hkl = hklLines.join('\n') + '\n';

  const sfac = [...new Set(['C', 'H', ...st.sites.map((s) => s.element)])];
  const z = st.sg.ops.length;
  const unit = sfac.map((e) => z * st.sites.filter((s) => s.element === e).length);
  const atoms: ShelxAtom[] = st.sites.map((s, line) => ({
    name: s.label, sfac: sfac.indexOf(s.element) + 1, xyz: s.frac, sof: 1, sofCode: 11, uiso: s.uani ? null : s.uiso,
    // Site.uani and SHELX both use U11 U22 U33 U23 U13 U12.
    uani: s.uani ? [...s.uani] as [number, number, number, number, number, number] : null,
    afix: 0, part: 0, line, peakHeight: null,
  }));
  const model: ShelxModel = {
    title: `${st.name} (made-up example structure, simulated data)`, wavelength: st.wavelength, cell: { a: st.cell.a, b: st.cell.b, c: st.cell.c, alpha: st.cell.alpha, beta: st.cell.beta, gamma: st.cell.gamma }, z,
    // P2_1/c: centrosymmetric primitive (LATT 1), the 2_1 screw axis as the one SYMM card.
    latt: 1, symm: ['-X, 1/2+Y, 1/2-Z'], sfac, unit, fvar: [Math.sqrt(2 / div)], wght: [0.03, 0], atoms, qpeaks: [], hfix: [],
    extra: ['L.S. 4', 'ANIS'], hklf: 4, hklfScale: 1,
  };
  const res = writeShelxIns(model);
  const cif = structureToCif(st) + `_shelx_res_file\n;\n${res};\n_shelx_hkl_file\n;\n${hkl};\n`;
  return { name: st.name, cif, res, hkl };
}

/**
 * Write `<name>.cif`, `<name>.res` and `<name>.hkl` for the first `variants` example structures
 * into `dir` (created when missing; each file written atomically). Returns the paths written.
 */
export function writeExampleFiles(dir: string, opts: { variants?: number; seed?: number } = {}): string[] {
  const n = opts.variants ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > VARIANTS.length) throw new InputError(`--variants must be an integer from 1 to ${VARIANTS.length}, got ${n}`);
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = exampleTexts(i, opts.seed ?? 0);
    for (const [ext, text] of [['cif', t.cif], ['res', t.res], ['hkl', t.hkl]] as const) {
      const p = join(dir, `${t.name}.${ext}`);
      writeFileAtomic(p, text);
      out.push(p);
    }
  }
  return out;
}
