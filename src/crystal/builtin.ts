// A small made-up structure (4-chlorobenzamide-like molecule in P2_1/c) with simulated reflections,
// for the demo and tests: nothing is read from disk.
import type { Rng } from '../core/rng.js';
import { UnitCell, type Vec3 } from './cell.js';
import type { RefinementCase } from './refine.js';
import { amplitudes, mergeReflections, structureFactors } from './sf.js';
import type { Site, Structure } from './structure.js';
import { SpaceGroup } from './symmetry.js';

export function builtInStructure(): Structure {
  const cell = new UnitCell({ a: 14, b: 7.5, c: 12, alpha: 90, beta: 100, gamma: 90 });
  const sg = SpaceGroup.fromSymops(['x,y,z', '-x,y+1/2,-z+1/2', '-x,-y,-z', 'x,-y+1/2,z+1/2']);
  const ring = (r: number, deg: number): [number, number] => [r * Math.cos(deg * Math.PI / 180), r * Math.sin(deg * Math.PI / 180)];
  const mol: [string, string, [number, number], number][] = [];
  for (let i = 0; i < 6; i++) mol.push([`C${i + 1}`, 'C', ring(1.39, 60 * i), 0.02]);
  mol.push(['Cl1', 'Cl', ring(3.13, 0), 0.025]);
  mol.push(['C7', 'C', ring(2.89, 180), 0.022]);
  mol.push(['O1', 'O', [-2.89 - 0.615, 1.065], 0.03]);
  mol.push(['N1', 'N', [-2.89 - 0.67, -1.16], 0.03]);
  for (const i of [2, 3, 5, 6]) mol.push([`H${i}`, 'H', ring(2.34, 60 * (i - 1)), 0.026]);
  mol.push(['H1A', 'H', [-2.89 - 0.67 - 0.44, -1.16 - 0.76], 0.036]);
  mol.push(['H1B', 'H', [-2.89 - 0.67 + 0.44 - 0.88, -1.16 + 0.0], 0.036]);
  const centre: Vec3 = cell.toCartesian([0.3, 0.2, 0.3]);
  const sites: Site[] = mol.map(([label, element, [mx, my], u]) => ({
    label, element, frac: cell.toFractional([centre[0] + mx, centre[1] + 0.3 * my, centre[2] + 0.95 * my]), occ: 1, uiso: u,
    uani: element === 'Cl' ? [0.030, 0.020, 0.025, 0.002, 0.004, 0.001] : null, part: 0,
  }));
  return { name: 'builtin-chlorobenzamide', cell, sg, wavelength: 0.71073, sites };
}

/** Reflections to `dmin` simulated from the model with 2 % noise and scale 2. */
export function builtInCase(rng: Rng, dmin = 0.8): RefinementCase {
  const st = builtInStructure();
  const H: number[] = [], K: number[] = [], L: number[] = [];
  const hm = Math.ceil(st.cell.a / dmin), km = Math.ceil(st.cell.b / dmin), lm = Math.ceil(st.cell.c / dmin);
  for (let h = -hm; h <= hm; h++) for (let k = 0; k <= km; k++) for (let l = -lm; l <= lm; l++) {
    if ((h || k || l) === 0 || st.cell.dSpacing(h, k, l) < dmin) continue;
    H.push(h); K.push(k); L.push(l);
  }
  const fc = amplitudes(structureFactors(st, { h: H, k: K, l: L }));
  const fo2 = new Float64Array(H.length), sigma = new Float64Array(H.length);
  for (let i = 0; i < H.length; i++) {
    const i0 = 2 * fc[i] * fc[i];
    const s = 0.02 * i0 + 1;
    sigma[i] = s;
    fo2[i] = i0 + s * rng.normal();
  }
  const merged = mergeReflections({ h: Int32Array.from(H), k: Int32Array.from(K), l: Int32Array.from(L), fo2, sigma, batch: new Int32Array(H.length) }, st.sg);
  return { name: st.name, structure: st, model: null, merged, rules: { twoThetaMax: null, shel: null, omitHkl: [], exti: 0, wght: [0.03, 0] }, published: { r1: null, wr2: null, goof: null, r1All: null } };
}
