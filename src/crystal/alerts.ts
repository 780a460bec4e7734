// Geometry alerts in the spirit of checkCIF/PLATON: bonds and angles far outside the range usual
// for their elements, short contacts between atoms that are not bonded through at most three
// bonds, and anisotropic displacement parameters that are not positive definite or are very
// elongated. Each alert has a level (A: almost certainly an error, B: a likely problem, C: worth a
// look) and one line of text. The ranges and level steps are this module's own (set from standard
// bond-length tables, Bondi's van der Waals radii and the usual ADP shape limits), not checkCIF's
// exact tests.
import { InputError } from '../core/errors.js';
import { linalg } from '../core/linalg/index.js';
import { checkOptionKeys } from '../core/options.js';
import type { Vec3 } from './cell.js';
import { bondsByCovalentRadii, type Bond } from './connect.js';
import { covalentRadius } from './elements.js';
import type { Site, Structure } from './structure.js';
import { apply } from './symmetry.js';

export type AlertLevel = 'A' | 'B' | 'C';
export type AlertKind = 'bond' | 'angle' | 'contact' | 'adp' | 'refinement';

export interface Alert {
  readonly level: AlertLevel;
  readonly kind: AlertKind;
  readonly atoms: readonly string[];
  /** The measured value (Å, degrees, a ratio, or an agreement factor). */
  readonly value: number;
  /** The expected range or limit, as text. */
  readonly expected: string;
  /** One line: level, what, value and what was expected. */
  readonly line: string;
}

/**
 * Expected bond-length ranges (Å) for common pairs, spanning single to triple bonds as they occur
 * in small-molecule structures (Allen et al., J. Chem. Soc. Perkin Trans. 2 (1987) S1-S19, widened
 * by about 0.02 Å); X-H spans riding (SHELXL AFIX) and freely refined X-ray distances.
 */
const BOND_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  'C-C': [1.17, 1.61], 'C-N': [1.13, 1.52], 'C-O': [1.17, 1.47], 'C-F': [1.29, 1.40], 'C-Cl': [1.68, 1.82],
  'C-Br': [1.84, 1.98], 'C-I': [2.03, 2.18], 'C-S': [1.60, 1.86], 'C-P': [1.74, 1.88], 'C-Si': [1.82, 1.92],
  'B-C': [1.50, 1.64], 'C-Se': [1.85, 1.99], 'N-N': [1.10, 1.47], 'N-O': [1.19, 1.46], 'O-O': [1.43, 1.51],
  'O-S': [1.40, 1.62], 'O-P': [1.44, 1.65], 'N-P': [1.54, 1.72], 'N-S': [1.53, 1.72], 'S-S': [1.98, 2.11],
  'O-Si': [1.57, 1.69], 'B-O': [1.33, 1.52], 'B-F': [1.33, 1.45], 'Cl-O': [1.36, 1.50], 'B-N': [1.38, 1.62],
  'F-P': [1.50, 1.62], 'F-S': [1.52, 1.62], 'Cl-P': [1.98, 2.10],
  'C-H': [0.70, 1.15], 'H-N': [0.70, 1.10], 'H-O': [0.65, 1.05], 'B-H': [0.95, 1.30],
};

/** Bondi's van der Waals radii (Å), J. Phys. Chem. 68 (1964) 441; elements without one get no contact test. */
const VDW: Readonly<Record<string, number>> = {
  H: 1.2, C: 1.7, N: 1.55, O: 1.52, F: 1.47, Si: 2.1, P: 1.8, S: 1.8, Cl: 1.75, Se: 1.9, Br: 1.85, I: 1.98, B: 1.92,
};

/** Elements whose angles are tested (covalent centres with two to four neighbours). */
const ANGLE_CENTRES = new Set(['B', 'C', 'N', 'O', 'Si', 'P', 'S']);
const ACCEPTORS = new Set(['N', 'O', 'F', 'Cl', 'Br', 'I', 'S']);
const DONOR_ACCEPTOR = new Set(['N', 'O', 'F']);

export interface AlertOptions {
  /** ADP max/min eigenvalue ratio that raises C, B and A (default 4, 6, 8). */
  readonly adpRatio?: readonly [number, number, number];
}
const KNOWN = ['adpRatio'];

const pairKey = (a: string, b: string) => (a < b ? `${a}-${b}` : `${b}-${a}`);

/** Expected range for a bond between two elements: the table, else the covalent-radius sum ± 15 %. */
export function bondRange(a: string, b: string): readonly [number, number] {
  const t = BOND_RANGES[pairKey(a, b)];
  if (t) return t;
  const r = covalentRadius(a) + covalentRadius(b);
  return [0.85 * r, 1.15 * r];
}

/** Level for an excess over an allowed range: beyond c, b or a (ascending steps), else null. */
function level(excess: number, [c, b, a]: readonly [number, number, number]): AlertLevel | null {
  return excess > a ? 'A' : excess > b ? 'B' : excess > c ? 'C' : null;
}

/** Sites of different non-zero PARTs are alternatives, never present together. */
const partsClash = (p: number, q: number) => p !== 0 && q !== 0 && p !== q;
const selfDisordered = (s: Site) => s.occ < 0.999 || s.part < 0;

interface Node { readonly j: number; readonly pos: Vec3 }

/**
 * The structure's bond graph walked over symmetry images: from a site placed at `pos`, its bonds
 * are those of the asymmetric-unit site moved by the operation and lattice translation that put it
 * there.
 */
class ImageGraph {
  private readonly bonds: Bond[][];
  constructor(private readonly st: Structure) {
    const raw = bondsByCovalentRadii(st);
    // A partly occupied site (or SHELX PART -n) next to its own symmetry image is disorder about that
    // symmetry element: the two are alternatives, not bonded.
    this.bonds = raw.map((bs, i) => bs.filter((b) => !partsClash(st.sites[i].part, st.sites[b.j].part) && !(b.j === i && selfDisordered(st.sites[i]))));
  }
  bondsOf(i: number): readonly Bond[] { return this.bonds[i]; }
  neighbours(n: Node): Node[] {
    const x = this.st.sites[n.j].frac;
    for (const o of this.st.sg.ops) {
      const y = apply(o, x);
      const t = [n.pos[0] - y[0], n.pos[1] - y[1], n.pos[2] - y[2]];
      if (t.some((v) => Math.abs(v - Math.round(v)) > 1e-3)) continue;
      const tr = t.map(Math.round);
      return this.bonds[n.j].map((b) => {
        const q = apply(o, b.image);
        return { j: b.j, pos: [q[0] + tr[0], q[1] + tr[1], q[2] + tr[2]] as Vec3 };
      });
    }
    return [];
  }
  /** Graph distance from site i (at its own position) to every image reached, up to `maxNodes` nodes. */
  molecule(i: number, maxNodes: number): Reached {
    const start: Node = { j: i, pos: this.st.sites[i].frac };
    const reached = new Reached();
    reached.add(start, 0);
    let frontier = [start];
    for (let depth = 1; frontier.length && reached.size < maxNodes; depth++) {
      const next: Node[] = [];
      for (const n of frontier) for (const m of this.neighbours(n)) {
        if (reached.depth(m) !== undefined) continue;
        reached.add(m, depth);
        next.push(m);
      }
      frontier = next;
    }
    return reached;
  }
}

/** Images reached by a walk, looked up by site and position (within 1e-3 in fractions, so rounding cannot split one image in two). */
class Reached {
  private readonly bySite = new Map<number, { pos: Vec3; depth: number }[]>();
  size = 0;
  add(n: Node, depth: number): void {
    const l = this.bySite.get(n.j) ?? [];
    l.push({ pos: n.pos, depth });
    this.bySite.set(n.j, l);
    this.size++;
  }
  depth(n: Node): number | undefined {
    for (const e of this.bySite.get(n.j) ?? []) if (Math.abs(e.pos[0] - n.pos[0]) < 1e-3 && Math.abs(e.pos[1] - n.pos[1]) < 1e-3 && Math.abs(e.pos[2] - n.pos[2]) < 1e-3) return e.depth;
    return undefined;
  }
}

function fmtRange([lo, hi]: readonly [number, number], digits: number): string {
  return `${lo.toFixed(digits)}-${hi.toFixed(digits)}`;
}

function bondAlerts(st: Structure, g: ImageGraph): Alert[] {
  const out: Alert[] = [];
  const seen = new Set<string>();
  st.sites.forEach((s, i) => {
    for (const b of g.bondsOf(i)) {
      const t = st.sites[b.j];
      // each bond once: from its lower-numbered end, one line per distinct length (images of a bond on a special position repeat it)
      const key = `${Math.min(i, b.j)}:${Math.max(i, b.j)}:${b.d.toFixed(3)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const range = bondRange(s.element, t.element);
      const excess = Math.max(range[0] - b.d, b.d - range[1], 0);
      const lv = level(excess, [0.03, 0.08, 0.2]);
      if (!lv) continue;
      const ex = fmtRange(range, 2);
      out.push({ level: lv, kind: 'bond', atoms: [s.label, t.label], value: b.d, expected: `${ex} Å`,
        line: `${lv} bond ${s.label}-${t.label} ${b.d.toFixed(3)} Å ${b.d < range[0] ? 'short' : 'long'}: ${s.element}-${t.element} expected ${ex} Å (${excess.toFixed(2)} Å outside)` });
    }
  });
  return out;
}

/** Usual bond-angle ranges (degrees) at a covalent centre with k neighbours, or null (not tested). */
function angleRanges(el: string, k: number, neighbours: readonly string[]): (readonly [number, number])[] | null {
  if (neighbours.some((e) => !(e in VDW))) return null; // a metal neighbour: coordination geometry, not tested
  switch (el) {
    case 'C': return k === 2 ? [[105, 125], [170, 180]] : k === 3 ? [[100, 132]] : k === 4 ? [[98, 122]] : null;
    case 'N': return k === 2 ? [[100, 130], [165, 180]] : k === 3 ? [[98, 132]] : k === 4 ? [[98, 122]] : null;
    case 'O': return k === 2 && neighbours.every((e) => e === 'C' || e === 'H' || e === 'N' || e === 'O') ? [[95, 130]] : null;
    case 'S': return k === 2 ? [[88, 115]] : k === 3 || k === 4 ? [[92, 125]] : null;
    default: return k === 3 || k === 4 ? [[92, 125]] : null;
  }
}

function angleAlerts(st: Structure, g: ImageGraph): Alert[] {
  const out: Alert[] = [];
  const cart = (p: Vec3) => st.cell.toCartesian(p);
  st.sites.forEach((s, i) => {
    if (!ANGLE_CENTRES.has(s.element)) return;
    const nb = g.neighbours({ j: i, pos: s.frac });
    const ranges = angleRanges(s.element, nb.length, nb.map((n) => st.sites[n.j].element));
    if (!ranges) return;
    const c = cart(s.frac);
    const same = (p: Node, q: Node) => p.j === q.j && Math.abs(p.pos[0] - q.pos[0]) < 1e-3 && Math.abs(p.pos[1] - q.pos[1]) < 1e-3 && Math.abs(p.pos[2] - q.pos[2]) < 1e-3;
    const nbOf = nb.map((n) => g.neighbours(n));
    const self: Node = { j: i, pos: s.frac };
    for (let a = 0; a < nb.length; a++) for (let b = a + 1; b < nb.length; b++) {
      const A = st.sites[nb[a].j], B = st.sites[nb[b].j];
      if (partsClash(A.part, B.part)) continue;
      // Three- and four-membered rings: their angles are small by construction.
      if (nbOf[a].some((m) => same(m, nb[b]))) continue;
      if (nbOf[a].some((m) => !same(m, self) && nbOf[b].some((q) => same(m, q)))) continue;
      const u = cart(nb[a].pos), v = cart(nb[b].pos);
      const d1 = [u[0] - c[0], u[1] - c[1], u[2] - c[2]], d2 = [v[0] - c[0], v[1] - c[1], v[2] - c[2]];
      const cos = (d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2]) / (Math.hypot(...d1) * Math.hypot(...d2));
      const ang = (Math.acos(Math.max(-1, Math.min(1, cos))) * 180) / Math.PI;
      const excess = Math.min(...ranges.map(([lo, hi]) => Math.max(lo - ang, ang - hi, 0)));
      const lv = level(excess, [5, 10, 20]);
      if (!lv) continue;
      const ex = ranges.map((r) => fmtRange(r, 0)).join(' or ');
      out.push({ level: lv, kind: 'angle', atoms: [A.label, s.label, B.label], value: ang, expected: `${ex}°`,
        line: `${lv} angle ${A.label}-${s.label}-${B.label} ${ang.toFixed(1)}°: at ${s.element} with ${nb.length} neighbours expected ${ex}° (${excess.toFixed(1)}° outside)` });
    }
  });
  return out;
}

function contactAlerts(st: Structure, g: ImageGraph): Alert[] {
  const out: Alert[] = [];
  const sites = st.sites;
  const maxNodes = Math.max(200, 8 * sites.length * st.sg.ops.length);
  const reach = Math.max(...Object.values(VDW)) * 2;
  const seen = new Set<string>();
  const donorH = sites.map((s, i) => s.element === 'H' && g.bondsOf(i).some((b) => DONOR_ACCEPTOR.has(sites[b.j].element) || sites[b.j].element === 'S'));
  sites.forEach((s, i) => {
    const ri = VDW[s.element];
    if (ri === undefined) return;
    const mol = g.molecule(i, maxNodes);
    for (let j = i; j < sites.length; j++) {
      const t = sites[j], rj = VDW[t.element];
      if (rj === undefined || partsClash(s.part, t.part)) continue;
      for (const o of st.sg.ops) {
        const y = apply(o, t.frac);
        const d0 = [y[0] - s.frac[0], y[1] - s.frac[1], y[2] - s.frac[2]].map((v) => v - Math.round(v));
        for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) for (let c = -1; c <= 1; c++) {
          const df: Vec3 = [d0[0] + a, d0[1] + b, d0[2] + c];
          const e = st.cell.toCartesian(df);
          const d = Math.hypot(e[0], e[1], e[2]);
          if (d < 0.1 || d > reach) continue;
          const deficit = ri + rj - d;
          if (deficit <= 0.4) continue;
          const pos: Vec3 = [s.frac[0] + df[0], s.frac[1] + df[1], s.frac[2] + df[2]];
          const depth = mol.depth({ j, pos });
          // Within a molecule only atoms at least five bonds apart: closer ones are held by the bonds between them.
          if (depth !== undefined && depth < 5) continue;
          if (i === j && selfDisordered(s)) continue; // a disordered site beside its own symmetry image
          // Hydrogen bonds are short by nature: H...acceptor from an N/O/F/S-H donor, and donor...acceptor.
          const hb = (donorH[i] && ACCEPTORS.has(t.element)) || (donorH[j] && ACCEPTORS.has(s.element));
          if (hb && d >= 1.5) continue;
          if (DONOR_ACCEPTOR.has(s.element) && DONOR_ACCEPTOR.has(t.element) && d >= 2.4) continue;
          const key = `${Math.min(i, j)}:${Math.max(i, j)}:${d.toFixed(3)}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const lv = level(deficit, [0.4, 0.6, 0.9])!;
          const where = depth === undefined ? 'intermolecular' : `intramolecular, ${depth} bonds apart`;
          out.push({ level: lv, kind: 'contact', atoms: [s.label, t.label], value: d, expected: `> ${(ri + rj - 0.4).toFixed(2)} Å`,
            line: `${lv} short ${where} contact ${s.label}...${t.label} ${d.toFixed(3)} Å: van der Waals sum ${(ri + rj).toFixed(2)} Å (${deficit.toFixed(2)} Å closer)` });
        }
      }
    }
  });
  return out;
}

/** Eigenvalues (ascending) of a site's anisotropic U in Cartesian axes: U_cart = M N U N Mᵀ, N = diag(a*, b*, c*). */
export function adpEigenvalues(st: Structure, s: Site): [number, number, number] | null {
  if (!s.uani) return null;
  const [u11, u22, u33, u23, u13, u12] = s.uani;
  const n = st.cell.reciprocalLengths, M = st.cell.orth;
  const U = [u11, u12, u13, u12, u22, u23, u13, u23, u33].map((v, k) => v * n[Math.floor(k / 3)] * n[k % 3]);
  const MU = new Float64Array(9), C = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) MU[r * 3 + c] += M[r * 3 + k] * U[k * 3 + c];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) C[r * 3 + c] += MU[r * 3 + k] * M[c * 3 + k];
  const v = linalg().eigh({ rows: 3, cols: 3, data: C }).values;
  return [v[0], v[1], v[2]];
}

function adpAlerts(st: Structure, ratio: readonly [number, number, number]): Alert[] {
  const out: Alert[] = [];
  for (const s of st.sites) {
    if (!s.uani) {
      if (s.element !== 'H' && !(s.uiso > 0)) out.push({ level: 'A', kind: 'adp', atoms: [s.label], value: s.uiso, expected: '> 0 Å²', line: `A ADP ${s.label}: Uiso ${s.uiso.toFixed(4)} Å² is not positive` });
      continue;
    }
    const e = adpEigenvalues(st, s)!;
    if (!(e[0] > 0)) {
      out.push({ level: 'A', kind: 'adp', atoms: [s.label], value: e[0], expected: 'all eigenvalues > 0', line: `A ADP ${s.label} is not positive definite: smallest principal U ${e[0].toFixed(4)} Å²` });
      continue;
    }
    const r = e[2] / e[0];
    const lv = r >= ratio[2] ? 'A' : r >= ratio[1] ? 'B' : r >= ratio[0] ? 'C' : null;
    if (!lv) continue;
    const shape = e[2] - e[1] > e[1] - e[0] ? 'prolate' : 'oblate';
    out.push({ level: lv, kind: 'adp', atoms: [s.label], value: r, expected: `max/min < ${ratio[0]}`,
      line: `${lv} ADP ${s.label} ${shape}: principal U max/min ${r.toFixed(1)} (${e.map((v) => v.toFixed(4)).join(', ')} Å²), expected below ${ratio[0]}` });
  }
  return out;
}

/** Bond, angle, contact and ADP alerts of a structure, most severe first. */
export function geometryAlerts(st: Structure, opts: AlertOptions = {}): Alert[] {
  checkOptionKeys(opts, KNOWN, 'geometryAlerts');
  const ratio = opts.adpRatio ?? [4, 6, 8];
  if (!(ratio[0] > 1 && ratio[0] <= ratio[1] && ratio[1] <= ratio[2])) throw new InputError(`geometryAlerts: adpRatio must be ascending and above 1, got ${ratio.join(', ')}`);
  const g = new ImageGraph(st);
  const all = [...bondAlerts(st, g), ...angleAlerts(st, g), ...contactAlerts(st, g), ...adpAlerts(st, ratio)];
  return sortAlerts(all);
}

/** Agreement-factor alerts: R1 above 0.10 and wR2 above 0.25 (B), above 0.15 and 0.35 (A). */
export function refinementAlerts(r: { r1: number; wr2: number }): Alert[] {
  const out: Alert[] = [];
  for (const [name, v, b, a] of [['R1', r.r1, 0.1, 0.15], ['wR2', r.wr2, 0.25, 0.35]] as const) {
    if (!Number.isFinite(v) || v <= b) continue;
    const lv: AlertLevel = v > a ? 'A' : 'B';
    out.push({ level: lv, kind: 'refinement', atoms: [], value: v, expected: `<= ${b}`, line: `${lv} high ${name} ${v.toFixed(4)} (above ${b})` });
  }
  return out;
}

export function sortAlerts(a: readonly Alert[]): Alert[] {
  return [...a].sort((x, y) => x.level.localeCompare(y.level) || x.kind.localeCompare(y.kind) || x.line.localeCompare(y.line));
}

/** Alert counts per level. */
export function alertCounts(a: readonly Alert[]): Record<AlertLevel, number> {
  const n = { A: 0, B: 0, C: 0 };
  for (const x of a) n[x.level]++;
  return n;
}
