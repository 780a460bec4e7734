// A crystal structure model (cell, space group, sites) built from SHELX or CIF input.
import { ParseError, warn } from '../core/errors.js';
import { UnitCell, type Vec3 } from './cell.js';
import { cifItem, cifLoop, cifNumber, parseCifNumber, type CifBlock } from './cif.js';
import { elementFromLabel, isElement, normalizeElement } from './elements.js';
import { checkWavelength, LIMITS } from './limits.js';
import type { ShelxModel } from './shelx.js';
import { SpaceGroup } from './symmetry.js';

/** U11 U22 U33 U23 U13 U12 (SHELX order), in Å^2. */
export type Uani = readonly [number, number, number, number, number, number];

export interface Site {
  readonly label: string;
  readonly element: string;
  readonly frac: Vec3;
  /** Crystallographic occupancy: chemical occupancy divided by the site multiplicity. */
  readonly occ: number;
  readonly uiso: number;
  readonly uani: Uani | null;
  readonly part: number;
}

export interface Structure {
  readonly name: string;
  readonly cell: UnitCell;
  readonly sg: SpaceGroup;
  readonly wavelength: number;
  /** Where the wavelength came from: the file, an option, or assumed (Mo Kα) because the file gives none. Absent: the file. */
  readonly wavelengthSource?: 'file' | 'option' | 'assumed';
  readonly sites: readonly Site[];
}

/** The wavelength assumed when a CIF gives none: Mo Kα, the most common laboratory source. */
export const DEFAULT_WAVELENGTH = 0.71073;

/** Ueq = (1/3) sum_ij U^ij a*_i a*_j a_i.a_j. */
export function ueq(cell: UnitCell, u: Uani): number {
  const [u11, u22, u33, u23, u13, u12] = u;
  const as = cell.reciprocalLengths;
  const G = cell.metric;
  const U = [u11, u12, u13, u12, u22, u23, u13, u23, u33];
  let s = 0;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += U[i * 3 + j] * as[i] * as[j] * G[i * 3 + j];
  return s / 3;
}

export function siteU(cell: UnitCell, s: Site): number {
  return s.uani ? ueq(cell, s.uani) : s.uiso;
}

/** Build a structure from a SHELX model. Riding U (negative Uiso) resolves against the previous non-H atom's Ueq. */
export function structureFromShelx(m: ShelxModel, name = 'shelx'): Structure {
  const file = m.file ?? name;
  let cell: UnitCell;
  try { cell = new UnitCell(m.cell); } catch (e) { throw new ParseError(file, m.lines?.cell ?? 0, 'a valid cell', (e as Error).message, -1, 'CELL'); }
  let sg: SpaceGroup;
  try { sg = SpaceGroup.fromShelx(m.latt, m.symm); } catch (e) {
    throw new ParseError(file, m.lines?.symm[0] ?? m.lines?.latt ?? 0, 'LATT and SYMM cards that form a space group', (e as Error).message, -1, 'SYMM');
  }
  const sites: Site[] = [];
  let parentU = 0.05;
  for (const a of m.atoms) {
    const el = normalizeElement(m.sfac[a.sfac - 1]);
    if (!isElement(el)) throw new ParseError(file, m.lines?.sfac[a.sfac - 1] ?? a.line, `an element with X-ray form factors (SFAC entry ${a.sfac}, used by ${a.name} on line ${a.line})`, el, -1, 'SFAC');
    let uiso = a.uiso ?? 0;
    if (a.uani) uiso = ueq(cell, a.uani);
    else if (uiso < 0) uiso = -uiso * parentU;
    if (el !== 'H') parentU = uiso;
    sites.push({ label: a.name, element: el, frac: a.xyz, occ: a.sof, uiso, uani: a.uani, part: a.part });
  }
  return { name, cell, sg, wavelength: m.wavelength, sites };
}

/** The block's wavelength: `_diffrn_radiation_wavelength` as an item or a one-row loop; null when absent. */
export function cifWavelength(block: CifBlock, file: string): number | null {
  const tag = '_diffrn_radiation_wavelength';
  let v = cifItem(block, tag);
  if (!v) {
    const lp = cifLoop(block, tag);
    if (lp && lp.loop.rows.length === 1) v = lp.loop.rows[0][lp.col(tag)];
    else if (lp) throw new ParseError(file, lp.loop.line, 'one wavelength (this reader handles single-wavelength data)', `${lp.loop.rows.length} rows`, -1, tag);
  }
  if (!v || v.missing) return null;
  const n = parseCifNumber(v.text);
  if (!n) throw new ParseError(file, v.line, 'a number', v.text, -1, tag);
  try { return checkWavelength(n.value, tag); } catch (e) { throw new ParseError(file, v.line, `a wavelength of ${LIMITS.wavelength[0]}-${LIMITS.wavelength[1]} Å`, v.text, -1, tag); }
}

function need(block: CifBlock, tag: string, file: string): number {
  const v = cifNumber(block, tag, file);
  if (v === null) throw new ParseError(file, block.line, `a value for ${tag}`, 'missing', -1, tag);
  return v;
}

/** Build a structure from a CIF block (cell, symops, atom_site loops). Occupancies become crystallographic. */
export function structureFromCif(block: CifBlock, file = '<cif>'): Structure {
  const cp = {
    a: need(block, '_cell_length_a', file), b: need(block, '_cell_length_b', file), c: need(block, '_cell_length_c', file),
    alpha: need(block, '_cell_angle_alpha', file), beta: need(block, '_cell_angle_beta', file), gamma: need(block, '_cell_angle_gamma', file),
  };
  let cell: UnitCell;
  try { cell = new UnitCell(cp); } catch (e) {
    const msg = (e as Error).message;
    // Name the tag the message is about (a length or an angle); a cell whose angles cannot close points at alpha.
    const key = (['alpha', 'beta', 'gamma', 'a', 'b', 'c'] as const).find((k) => new RegExp(`^cell ${k}\\b`).test(msg));
    const tag = key ? (key.length === 1 ? `_cell_length_${key}` : `_cell_angle_${key}`) : '_cell_angle_alpha';
    throw new ParseError(file, cifItem(block, tag)?.line ?? block.line, 'a valid cell', msg, -1, tag);
  }
  const sym = cifLoop(block, '_space_group_symop_operation_xyz') ?? cifLoop(block, '_symmetry_equiv_pos_as_xyz');
  if (!sym) throw new ParseError(file, block.line, 'a symmetry operator loop (_space_group_symop_operation_xyz)', 'none', -1, '_space_group_symop_operation_xyz');
  const ci = Math.max(sym.col('_space_group_symop_operation_xyz'), sym.col('_symmetry_equiv_pos_as_xyz'));
  let sg: SpaceGroup;
  try {
    sg = SpaceGroup.fromSymops(sym.loop.rows.map((r) => r[ci].text));
  } catch (e) {
    throw new ParseError(file, sym.loop.line, 'valid symmetry operators', (e as Error).message, -1, '_space_group_symop_operation_xyz');
  }
  const given = cifWavelength(block, file);
  const wl = given ?? DEFAULT_WAVELENGTH;
  const at = cifLoop(block, '_atom_site_fract_x');
  if (!at) throw new ParseError(file, block.line, 'an _atom_site loop', 'none', -1, '_atom_site_fract_x');
  const col = at.col;
  const aniso = cifLoop(block, '_atom_site_aniso_label');
  const anisoMap = new Map<string, Uani>();
  if (aniso) {
    const c = aniso.col;
    for (const r of aniso.loop.rows) {
      const g = (t: string) => {
        const v = r[c(t)];
        const n = v ? parseCifNumber(v.text) : null;
        if (!n || !v) throw new ParseError(file, v?.line ?? aniso.loop.line, 'a number', v?.text ?? 'missing', -1, t);
        return n.value;
      };
      anisoMap.set(r[c('_atom_site_aniso_label')].text, [g('_atom_site_aniso_u_11'), g('_atom_site_aniso_u_22'), g('_atom_site_aniso_u_33'), g('_atom_site_aniso_u_23'), g('_atom_site_aniso_u_13'), g('_atom_site_aniso_u_12')]);
    }
  }
  if (at.loop.rows.length > LIMITS.atoms) throw new ParseError(file, at.loop.line, `at most ${LIMITS.atoms} atom sites`, `${at.loop.rows.length} rows`, -1, '_atom_site_label');
  const sites: Site[] = [];
  for (const r of at.loop.rows) {
    const cell0 = (t: string) => (col(t) >= 0 ? r[col(t)] : undefined);
    const label = cell0('_atom_site_label')?.text ?? `X${sites.length + 1}`;
    const calc = cell0('_atom_site_calc_flag')?.text.toLowerCase();
    if (calc === 'dum') continue;
    const typeText = cell0('_atom_site_type_symbol')?.text;
    const element = typeText && !cell0('_atom_site_type_symbol')!.missing ? elementFromLabel(typeText) : elementFromLabel(label);
    const num = (t: string, dflt: number | null): number => {
      const v = cell0(t);
      if (!v || v.missing) {
        if (dflt === null) throw new ParseError(file, v?.line ?? at.loop.line, 'a number', v?.text ?? 'missing', -1, `${t} of ${label}`);
        return dflt;
      }
      const n = parseCifNumber(v.text);
      if (!n) throw new ParseError(file, v.line, 'a number', v.text, -1, `${t} of ${label}`);
      return n.value;
    };
    const frac: Vec3 = [num('_atom_site_fract_x', null), num('_atom_site_fract_y', null), num('_atom_site_fract_z', null)];
    const chemOcc = num('_atom_site_occupancy', 1);
    const uani = anisoMap.get(label) ?? null;
    const uiso = uani ? ueq(cell, uani) : num('_atom_site_u_iso_or_equiv', 0.05);
    if (!uani && uiso < 0) throw new ParseError(file, cell0('_atom_site_u_iso_or_equiv')!.line, 'a Uiso >= 0', cell0('_atom_site_u_iso_or_equiv')!.text, -1, `_atom_site_U_iso_or_equiv of ${label}`);
    const m = sg.siteMultiplicity(cell, frac);
    const partText = cell0('_atom_site_disorder_group')?.text;
    const part = partText && /^-?\d+$/.test(partText) ? Number(partText) : 0;
    sites.push({ label, element, frac, occ: chemOcc / m, uiso, uani, part });
  }
  if (sites.length === 0) warn('crystal-no-atoms', `${file}: block ${block.name} has no atoms`);
  return { name: block.name, cell, sg, wavelength: wl, wavelengthSource: given === null ? 'assumed' : 'file', sites };
}

/** The SHELX .res and .hkl texts embedded in a SHELXL CIF block, when present. */
export function embeddedShelx(block: CifBlock): { res: string | null; hkl: string | null; resLine: number; hklLine: number } {
  const res = cifItem(block, '_shelx_res_file') ?? cifItem(block, '_iucr_refine_instructions_details');
  const hkl = cifItem(block, '_shelx_hkl_file') ?? cifItem(block, '_iucr_refine_reflections_details');
  return { res: res && !res.missing ? res.text : null, hkl: hkl && !hkl.missing ? hkl.text : null, resLine: res?.line ?? 0, hklLine: hkl?.line ?? 0 };
}

/** Published agreement values of a CIF block (null when absent). */
export function publishedAgreement(block: CifBlock): { r1: number | null; wr2: number | null; goof: number | null; r1All: number | null } {
  const g = (t: string) => { const v = cifItem(block, t); if (!v || v.missing) return null; return parseCifNumber(v.text)?.value ?? null; };
  return { r1: g('_refine_ls_r_factor_gt'), wr2: g('_refine_ls_wr_factor_ref'), goof: g('_refine_ls_goodness_of_fit_ref'), r1All: g('_refine_ls_r_factor_all') };
}
