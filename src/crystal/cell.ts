// Unit cell: metric tensors, volume, reciprocal lengths, orthogonalisation, d-spacings.
import { InputError } from '../core/errors.js';
import { LIMITS } from './limits.js';

export type Vec3 = readonly [number, number, number];
export type Mat3 = readonly [number, number, number, number, number, number, number, number, number];

export interface CellParams {
  readonly a: number; readonly b: number; readonly c: number;
  readonly alpha: number; readonly beta: number; readonly gamma: number;
}

const RAD = Math.PI / 180;

export class UnitCell implements CellParams {
  readonly a: number; readonly b: number; readonly c: number;
  readonly alpha: number; readonly beta: number; readonly gamma: number;
  /** Direct metric tensor G (row-major 3x3). */
  readonly metric: Mat3;
  /** Reciprocal metric tensor G* = G^-1. */
  readonly reciprocalMetric: Mat3;
  readonly volume: number;
  /** a*, b*, c*. */
  readonly reciprocalLengths: Vec3;
  /** Fractional -> Cartesian (a along x, b in the xy plane). */
  readonly orth: Mat3;
  /** Cartesian -> fractional. */
  readonly frac: Mat3;

  constructor(p: CellParams) {
    for (const k of ['a', 'b', 'c', 'alpha', 'beta', 'gamma'] as const) {
      if (!(Number.isFinite(p[k]) && p[k] > 0)) throw new InputError(`cell ${k} must be a positive number, got ${p[k]}`);
    }
    const [lo, hi] = LIMITS.cellLength;
    for (const k of ['a', 'b', 'c'] as const) if (p[k] < lo || p[k] > hi) throw new InputError(`cell ${k} = ${p[k]} Å is outside ${lo}-${hi} Å`);
    for (const k of ['alpha', 'beta', 'gamma'] as const) if (p[k] >= 180) throw new InputError(`cell ${k} = ${p[k]}° must be below 180°`);
    this.a = p.a; this.b = p.b; this.c = p.c; this.alpha = p.alpha; this.beta = p.beta; this.gamma = p.gamma;
    const ca = Math.cos(p.alpha * RAD), cb = Math.cos(p.beta * RAD), cg = Math.cos(p.gamma * RAD), sg = Math.sin(p.gamma * RAD);
    const { a, b, c } = p;
    const G: Mat3 = [a * a, a * b * cg, a * c * cb, a * b * cg, b * b, b * c * ca, a * c * cb, b * c * ca, c * c];
    this.metric = G;
    const det = det3(G);
    // det(G) / (abc)^2 = 1 - sum cos^2 + 2 prod cos: zero or below, the angles cannot close a cell.
    if (!(det > 1e-10 * (a * b * c) ** 2)) throw new InputError(`cell angles ${p.alpha}, ${p.beta}, ${p.gamma} do not form a cell`);
    this.volume = Math.sqrt(det);
    this.reciprocalMetric = inv3(G);
    const Gs = this.reciprocalMetric;
    this.reciprocalLengths = [Math.sqrt(Gs[0]), Math.sqrt(Gs[4]), Math.sqrt(Gs[8])];
    this.orth = [a, b * cg, c * cb, 0, b * sg, (c * (ca - cb * cg)) / sg, 0, 0, this.volume / (a * b * sg)];
    this.frac = inv3(this.orth);
  }

  /** 1/d^2 = h^T G* h. */
  invD2(h: number, k: number, l: number): number {
    const g = this.reciprocalMetric;
    return h * h * g[0] + k * k * g[4] + l * l * g[8] + 2 * (h * k * g[1] + h * l * g[2] + k * l * g[5]);
  }

  dSpacing(h: number, k: number, l: number): number {
    return 1 / Math.sqrt(this.invD2(h, k, l));
  }

  /** s = sin(theta)/lambda = 1/(2d). */
  stol(h: number, k: number, l: number): number {
    return 0.5 * Math.sqrt(this.invD2(h, k, l));
  }

  toCartesian(f: Vec3): Vec3 {
    return mulMV(this.orth, f);
  }

  toFractional(x: Vec3): Vec3 {
    return mulMV(this.frac, x);
  }

  /** Distance in Å between two fractional points, without lattice translations. */
  distance(f1: Vec3, f2: Vec3): number {
    const d: Vec3 = [f1[0] - f2[0], f1[1] - f2[1], f1[2] - f2[2]];
    const c = this.toCartesian(d);
    return Math.hypot(c[0], c[1], c[2]);
  }

  /** Shortest distance between two fractional points modulo lattice translations. */
  distanceModLattice(f1: Vec3, f2: Vec3): number {
    let best = Infinity;
    const d0 = [f1[0] - f2[0], f1[1] - f2[1], f1[2] - f2[2]].map((v) => v - Math.round(v));
    for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) for (let k = -1; k <= 1; k++) {
      const c = this.toCartesian([d0[0] + i, d0[1] + j, d0[2] + k]);
      const r = Math.hypot(c[0], c[1], c[2]);
      if (r < best) best = r;
    }
    return best;
  }
}

export function det3(m: Mat3): number {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

export function inv3(m: Mat3): Mat3 {
  const d = det3(m);
  if (d === 0) throw new InputError('singular 3x3 matrix');
  const r = 1 / d;
  return [
    (m[4] * m[8] - m[5] * m[7]) * r, (m[2] * m[7] - m[1] * m[8]) * r, (m[1] * m[5] - m[2] * m[4]) * r,
    (m[5] * m[6] - m[3] * m[8]) * r, (m[0] * m[8] - m[2] * m[6]) * r, (m[2] * m[3] - m[0] * m[5]) * r,
    (m[3] * m[7] - m[4] * m[6]) * r, (m[1] * m[6] - m[0] * m[7]) * r, (m[0] * m[4] - m[1] * m[3]) * r,
  ];
}

export function mulMV(m: Mat3, v: Vec3): Vec3 {
  return [m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2], m[6] * v[0] + m[7] * v[1] + m[8] * v[2]];
}
