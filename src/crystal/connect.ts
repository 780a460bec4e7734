// Connectivity from covalent radii across symmetry: bond if 0.1 Å < d <= 1.2 (r_i + r_j).
import type { Vec3 } from './cell.js';
import { covalentRadius } from './elements.js';
import type { Site, Structure } from './structure.js';
import { apply } from './symmetry.js';

export interface Bond {
  readonly i: number;
  readonly j: number;
  readonly d: number;
  /** Fractional position of the bonded image of j. */
  readonly image: Vec3;
}

export interface BondOptions {
  readonly tolerance?: number;
  readonly sites?: readonly Site[];
  /** Element override per site (for trial assignments). */
  readonly elements?: readonly string[];
}

/** All bonds of every site (each bond listed from both ends), including symmetry images. */
export function bondsByCovalentRadii(st: Structure, opts: BondOptions = {}): Bond[][] {
  const sites = opts.sites ?? st.sites;
  const els = opts.elements ?? sites.map((s) => s.element);
  const tol = opts.tolerance ?? 1.2;
  const out: Bond[][] = sites.map(() => []);
  const rmax = Math.max(...els.map(covalentRadius));
  const images: { j: number; f: Vec3 }[] = [];
  for (let j = 0; j < sites.length; j++) {
    for (const o of st.sg.ops) {
      const y = apply(o, sites[j].frac);
      images.push({ j, f: [y[0] - Math.floor(y[0]), y[1] - Math.floor(y[1]), y[2] - Math.floor(y[2])] });
    }
  }
  for (let i = 0; i < sites.length; i++) {
    const x = sites[i].frac;
    const ri = covalentRadius(els[i]);
    const seen = new Set<string>();
    for (const im of images) {
      const dmax = tol * (ri + covalentRadius(els[im.j]));
      if (dmax > tol * 2 * rmax + 1) continue;
      const d0 = [im.f[0] - x[0], im.f[1] - x[1], im.f[2] - x[2]].map((v) => v - Math.round(v));
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) for (let c = -1; c <= 1; c++) {
        const df: Vec3 = [d0[0] + a, d0[1] + b, d0[2] + c];
        const cart = st.cell.toCartesian(df);
        const d = Math.hypot(cart[0], cart[1], cart[2]);
        if (d > 0.1 && d <= dmax) {
          const img: Vec3 = [x[0] + df[0], x[1] + df[1], x[2] + df[2]];
          const key = `${im.j}:${img.map((v) => v.toFixed(3)).join(',')}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out[i].push({ i, j: im.j, d, image: img });
        }
      }
    }
  }
  return out;
}
