// A minimal CIF writer for a Structure (cell, symops, atom sites with chemical occupancies, ADPs),
// used to hand models to other programs.
import { tripletOf } from './symmetry.js';
import type { Structure } from './structure.js';

export function structureToCif(st: Structure): string {
  const L: string[] = [`data_${st.name.replace(/\s+/g, '_') || 'model'}`];
  const c = st.cell;
  L.push(`_cell_length_a ${c.a}`, `_cell_length_b ${c.b}`, `_cell_length_c ${c.c}`, `_cell_angle_alpha ${c.alpha}`, `_cell_angle_beta ${c.beta}`, `_cell_angle_gamma ${c.gamma}`);
  L.push(`_diffrn_radiation_wavelength ${st.wavelength}`);
  L.push('loop_', '_space_group_symop_operation_xyz');
  for (const o of st.sg.ops) L.push(`'${tripletOf(o)}'`);
  L.push('loop_', '_atom_site_label', '_atom_site_type_symbol', '_atom_site_fract_x', '_atom_site_fract_y', '_atom_site_fract_z', '_atom_site_U_iso_or_equiv', '_atom_site_adp_type', '_atom_site_occupancy');
  for (const s of st.sites) {
    const m = st.sg.siteMultiplicity(st.cell, s.frac);
    L.push(`${s.label} ${s.element} ${s.frac.map((v) => v.toPrecision(10)).join(' ')} ${s.uiso.toPrecision(8)} ${s.uani ? 'Uani' : 'Uiso'} ${(s.occ * m).toPrecision(10)}`);
  }
  const an = st.sites.filter((s) => s.uani);
  if (an.length) {
    L.push('loop_', '_atom_site_aniso_label', '_atom_site_aniso_U_11', '_atom_site_aniso_U_22', '_atom_site_aniso_U_33', '_atom_site_aniso_U_23', '_atom_site_aniso_U_13', '_atom_site_aniso_U_12');
    for (const s of an) L.push(`${s.label} ${s.uani!.map((v) => v.toPrecision(8)).join(' ')}`);
  }
  return L.join('\n') + '\n';
}
