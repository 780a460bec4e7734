// Symmetry operations with exact integer rotations and translations in twelfths, parsed from
// "x,y,z" triplets (CIF symop loops, SHELX SYMM cards) and expanded with LATT centring/inversion.
import { InputError } from '../core/errors.js';
import type { UnitCell, Vec3 } from './cell.js';

/** x' = R x + t/12. `rot` is row-major integer; `trans` are integers in twelfths, in [0, 12). */
export interface SymOp {
  readonly rot: readonly [number, number, number, number, number, number, number, number, number];
  readonly trans: readonly [number, number, number];
}

const DEN = 12;

function mod12(v: number): number {
  return ((v % DEN) + DEN) % DEN;
}

/** Parse a triplet such as "-x+1/2, y, -z+ 0.50000" or "X-Y,-Y,1/2-Z". */
export function parseTriplet(s: string): SymOp {
  const parts = s.replace(/\s+/g, '').toLowerCase().split(',');
  if (parts.length !== 3) throw new InputError(`symmetry operator ${JSON.stringify(s)}: expected three comma-separated parts`);
  const rot: number[] = [];
  const trans: number[] = [];
  for (const p of parts) {
    if (p === '') throw new InputError(`symmetry operator ${JSON.stringify(s)}: empty part`);
    const r = [0, 0, 0];
    let t = 0;
    const re = /([+-]?)([0-9.]*(?:\/[0-9]+)?)(?:\*?([xyz]))?/g;
    let pos = 0;
    while (pos < p.length) {
      re.lastIndex = pos;
      const m = re.exec(p);
      if (!m || m.index !== pos || m[0] === '' || (m[2] === '' && !m[3])) throw new InputError(`symmetry operator ${JSON.stringify(s)}: cannot read ${JSON.stringify(p.slice(pos))}`);
      const sign = m[1] === '-' ? -1 : 1;
      if (m[3]) {
        const coef = m[2] ? Number(m[2]) : 1;
        if (!Number.isInteger(coef)) throw new InputError(`symmetry operator ${JSON.stringify(s)}: non-integer coefficient`);
        r['xyz'.indexOf(m[3])] += sign * coef;
      } else {
        let v: number;
        if (m[2].includes('/')) {
          const [a, b] = m[2].split('/').map(Number) as [number, number];
          if (![1, 2, 3, 4, 6].includes(b)) throw new InputError(`symmetry operator ${JSON.stringify(s)}: denominator ${b} not in {1,2,3,4,6}`);
          v = a / b;
        } else v = Number(m[2]);
        const tw = v * DEN;
        if (!Number.isFinite(tw) || Math.abs(tw - Math.round(tw)) > 0.01) throw new InputError(`symmetry operator ${JSON.stringify(s)}: translation ${m[2]} is not a multiple of 1/12`);
        t += sign * Math.round(tw);
      }
      pos += m[0].length;
    }
    rot.push(...r);
    trans.push(mod12(t));
  }
  return { rot: rot as unknown as SymOp['rot'], trans: trans as unknown as SymOp['trans'] };
}

export const IDENTITY: SymOp = { rot: [1, 0, 0, 0, 1, 0, 0, 0, 1], trans: [0, 0, 0] };

export function compose(a: SymOp, b: SymOp): SymOp {
  // a(b(x)) = Ra(Rb x + tb) + ta
  const R = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    let s = 0;
    for (let k = 0; k < 3; k++) s += a.rot[i * 3 + k] * b.rot[k * 3 + j];
    R[i * 3 + j] = s;
  }
  const t = [0, 0, 0];
  for (let i = 0; i < 3; i++) t[i] = mod12(a.rot[i * 3] * b.trans[0] + a.rot[i * 3 + 1] * b.trans[1] + a.rot[i * 3 + 2] * b.trans[2] + a.trans[i]);
  return { rot: R as unknown as SymOp['rot'], trans: t as unknown as SymOp['trans'] };
}

function key(o: SymOp): string {
  return o.rot.join(',') + ';' + o.trans.join(',');
}

export function tripletOf(o: SymOp): string {
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    let s = '';
    for (let j = 0; j < 3; j++) {
      const c = o.rot[i * 3 + j];
      if (c === 0) continue;
      s += (c < 0 ? '-' : s ? '+' : '') + (Math.abs(c) === 1 ? '' : String(Math.abs(c))) + 'xyz'[j];
    }
    const t = o.trans[i];
    if (t) { const g = gcd(t, DEN); s += `+${t / g}/${DEN / g}`; }
    out.push(s || '0');
  }
  return out.join(',');
}

function gcd(a: number, b: number): number { return b ? gcd(b, a % b) : Math.abs(a); }

/** Centring translations for SHELX LATT |n|: 1 P, 2 I, 3 R (obverse), 4 F, 5 A, 6 B, 7 C. */
export function centringVectors(latt: number): Vec3[] {
  switch (Math.abs(latt)) {
    case 1: return [[0, 0, 0]];
    case 2: return [[0, 0, 0], [6, 6, 6]];
    case 3: return [[0, 0, 0], [8, 4, 4], [4, 8, 8]];
    case 4: return [[0, 0, 0], [0, 6, 6], [6, 0, 6], [6, 6, 0]];
    case 5: return [[0, 0, 0], [0, 6, 6]];
    case 6: return [[0, 0, 0], [6, 0, 6]];
    case 7: return [[0, 0, 0], [6, 6, 0]];
    default: throw new InputError(`LATT ${latt}: |n| must be 1..7`);
  }
}

export class SpaceGroup {
  /** Every operation of the group modulo lattice translations (identity first). */
  readonly ops: readonly SymOp[];
  readonly centrosymmetric: boolean;
  /** Distinct rotation parts (the point group), with -R added when centrosymmetric. */
  readonly pointOps: readonly SymOp['rot'][];

  private constructor(ops: SymOp[]) {
    this.ops = ops;
    this.centrosymmetric = ops.some((o) => o.rot.every((v, i) => v === ([-1, 0, 0, 0, -1, 0, 0, 0, -1][i])));
    const seen = new Map<string, SymOp['rot']>();
    for (const o of ops) seen.set(o.rot.join(','), o.rot);
    this.pointOps = [...seen.values()];
  }

  /** The group generated by `ops` (closure under composition, translations modulo 1). */
  static fromOps(gens: readonly SymOp[]): SpaceGroup {
    const all = new Map<string, SymOp>([[key(IDENTITY), IDENTITY]]);
    let frontier: SymOp[] = [IDENTITY];
    const g = [...gens];
    for (const o of g) if (!all.has(key(o))) { all.set(key(o), o); frontier.push(o); }
    while (frontier.length) {
      const next: SymOp[] = [];
      const cur = [...all.values()];
      for (const a of frontier) for (const b of cur) {
        for (const c of [compose(a, b), compose(b, a)]) {
          const k = key(c);
          if (!all.has(k)) { all.set(k, c); next.push(c); }
        }
      }
      frontier = next;
      if (all.size > 192) throw new InputError('symmetry operators do not close into a space group (more than 192 operations)');
    }
    return new SpaceGroup([...all.values()]);
  }

  /** From CIF symop triplets (the identity may be absent). */
  static fromSymops(triplets: readonly string[]): SpaceGroup {
    return SpaceGroup.fromOps(triplets.map(parseTriplet));
  }

  /** From SHELX LATT and SYMM cards: centring and (n > 0) inversion are added. */
  static fromShelx(latt: number, symm: readonly string[]): SpaceGroup {
    const gens: SymOp[] = symm.map(parseTriplet);
    for (const c of centringVectors(latt)) gens.push({ rot: IDENTITY.rot, trans: c });
    if (latt > 0) gens.push({ rot: [-1, 0, 0, 0, -1, 0, 0, 0, -1], trans: [0, 0, 0] });
    return SpaceGroup.fromOps(gens);
  }

  /** Is (h,k,l) systematically absent? */
  isAbsent(h: number, k: number, l: number): boolean {
    for (const o of this.ops) {
      const r = o.rot;
      if (h * r[0] + k * r[3] + l * r[6] === h && h * r[1] + k * r[4] + l * r[7] === k && h * r[2] + k * r[5] + l * r[8] === l) {
        if ((h * o.trans[0] + k * o.trans[1] + l * o.trans[2]) % DEN !== 0) return true;
      }
    }
    return false;
  }

  /** Canonical representative of (h,k,l) under the point group (and -h when `friedel`). */
  canonicalIndex(h: number, k: number, l: number, friedel: boolean): [number, number, number] {
    let best: [number, number, number] = [h, k, l];
    const consider = (a: number, b: number, c: number) => {
      if (a > best[0] || (a === best[0] && (b > best[1] || (b === best[1] && c > best[2])))) best = [a, b, c];
    };
    for (const r of this.pointOps) {
      const a = h * r[0] + k * r[3] + l * r[6], b = h * r[1] + k * r[4] + l * r[7], c = h * r[2] + k * r[5] + l * r[8];
      consider(a, b, c);
      if (friedel || this.centrosymmetric) consider(-a, -b, -c);
    }
    return best;
  }

  /** Number of operations mapping the fractional site onto itself (within `tol` Å). */
  siteMultiplicity(cell: UnitCell, x: Vec3, tol = 0.1): number {
    let m = 0;
    for (const o of this.ops) {
      const y = apply(o, x);
      if (cell.distanceModLattice(x, y) < tol) m++;
    }
    return m;
  }
}

export function apply(o: SymOp, x: Vec3): Vec3 {
  const r = o.rot;
  return [
    r[0] * x[0] + r[1] * x[1] + r[2] * x[2] + o.trans[0] / DEN,
    r[3] * x[0] + r[4] * x[1] + r[5] * x[2] + o.trans[1] / DEN,
    r[6] * x[0] + r[7] * x[1] + r[8] * x[2] + o.trans[2] / DEN,
  ];
}
