// Hydrogens (CrystalX's hydro stage, a CPU miniature): H count per heavy atom by the valence rule
// (baseline) or a learned classifier, HFIX codes, and riding-model H positions.
import type { Vec3 } from './cell.js';
import { bondsByCovalentRadii, type Bond } from './connect.js';
import { typicalValence } from './elements.js';
import type { LogisticRegression } from '../core/estimators/index.js';
import { peakClassifier, type LogRegOptions } from './learn.js';
import { siteU, type Site, type Structure } from './structure.js';

/** HFIX code for an element with nH riding H and `degree` non-H neighbours; null when none applies. */
export function hfixCode(element: string, nH: number, degree: number): number | null {
  if (nH <= 0) return null;
  if (element === 'B' && nH === 1) return 153;
  if (element === 'O' && nH === 1) return 147;
  if (element === 'C' || element === 'N') {
    if (nH === 1 && degree === 3) return 13;
    if (nH === 1 && degree === 2) return 43;
    if (nH === 1 && degree === 1) return 163;
    if (nH === 2 && degree === 2) return 23;
    if (nH === 2 && degree === 1) return 93;
    if (nH === 3 && degree === 1) return 137;
  }
  return null;
}

/** Valence rule: typical valence minus the number of non-H neighbours (0 for elements without one). */
export function valenceRuleCount(element: string, degree: number): number {
  const v = typicalValence(element);
  return v === null ? 0 : Math.max(0, Math.min(3, v - degree));
}

export interface HeavyAtomContext {
  readonly index: number;
  readonly element: string;
  readonly degree: number;
  readonly bonds: readonly Bond[];
  readonly features: readonly number[];
  /** H atoms bonded in the model (labels for training). */
  readonly nH: number;
}

function sub(a: Vec3, b: Vec3): Vec3 { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
function norm(a: Vec3): Vec3 { const r = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / r, a[1] / r, a[2] / r]; }
function cross(a: Vec3, b: Vec3): Vec3 { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
function dot(a: Vec3, b: Vec3): number { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

/** Context per non-H atom: degree over non-H neighbours, geometry features, and the model's H count. */
export function heavyAtomContexts(st: Structure): HeavyAtomContext[] {
  const bonds = bondsByCovalentRadii(st);
  const out: HeavyAtomContext[] = [];
  st.sites.forEach((s, i) => {
    if (s.element === 'H') return;
    const heavy = bonds[i].filter((b) => st.sites[b.j].element !== 'H');
    const nH = bonds[i].filter((b) => st.sites[b.j].element === 'H' && b.d < 1.3).length;
    const x = st.cell.toCartesian(s.frac);
    const u = heavy.map((b) => norm(sub(st.cell.toCartesian(b.image), x)));
    let planar = 0, angle = 0;
    if (u.length === 3) planar = Math.abs(dot(norm(cross(sub(u[1], u[0]), sub(u[2], u[0]))), u[0]));
    if (u.length >= 2) angle = Math.acos(Math.max(-1, Math.min(1, dot(u[0], u[1])))) * 180 / Math.PI;
    const ds = heavy.map((b) => b.d);
    const el = s.element;
    const nNO = heavy.filter((b) => ['N', 'O'].includes(st.sites[b.j].element)).length;
    const features = [el === 'C' ? 1 : 0, el === 'N' ? 1 : 0, el === 'O' ? 1 : 0, el === 'B' ? 1 : 0, heavy.length,
      ds.length ? Math.min(...ds) : 0, ds.length ? ds.reduce((a, b) => a + b, 0) / ds.length : 0, planar, angle, nNO,
      valenceRuleCount(el, heavy.length)];
    out.push({ index: i, element: el, degree: heavy.length, bonds: heavy, features, nH });
  });
  return out;
}

export class HydrogenCounter {
  private readonly model: LogisticRegression<string>;
  constructor(readonly options: LogRegOptions = {}) { this.model = peakClassifier(options); }
  describe(): Record<string, unknown> { return { kind: 'h-count', model: this.model.describe() }; }
  fit(ctx: readonly HeavyAtomContext[]): this {
    this.model.fit(ctx.map((c) => c.features), ctx.map((c) => String(Math.min(c.nH, 3))));
    return this;
  }
  predict(ctx: readonly HeavyAtomContext[]): number[] {
    const p = this.model.predictProba(ctx.map((c) => c.features));
    return p.map((q) => Number(this.model.classes[q.indexOf(Math.max(...q))]));
  }
}

const XH: Readonly<Record<number, number>> = { 13: 1.0, 23: 0.99, 137: 0.98, 43: 0.95, 93: 0.95, 163: 0.93, 147: 0.84, 153: 1.1 };

/** Riding H positions for one parent (SHELXL-like idealised geometry); Uiso 1.2 (1.5 for 137/147) x Ueq. */
export function ridingHydrogens(st: Structure, ctx: HeavyAtomContext, code: number): Site[] {
  const parent = st.sites[ctx.index];
  const x = st.cell.toCartesian(parent.frac);
  let d = XH[code] ?? 0.96;
  if (ctx.element === 'N' && code === 43) d = 0.88;
  if (ctx.element === 'N' && code !== 43) d = 0.91;
  const u = ctx.bonds.map((b) => norm(sub(st.cell.toCartesian(b.image), x)));
  const dirs: Vec3[] = [];
  const away = norm(u.reduce<Vec3>((s, v) => [s[0] - v[0], s[1] - v[1], s[2] - v[2]], [0, 0, 0]));
  const perpTo = (a: Vec3): Vec3 => { const t: Vec3 = Math.abs(a[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0]; return norm(cross(a, t)); };
  if (code === 13 || code === 43 || code === 163 || code === 153) dirs.push(away);
  else if (code === 23) {
    const n = norm(cross(u[0], u[1]));
    const c = Math.cos(54.75 * Math.PI / 180), s = Math.sin(54.75 * Math.PI / 180);
    dirs.push(norm([away[0] * c + n[0] * s, away[1] * c + n[1] * s, away[2] * c + n[2] * s]), norm([away[0] * c - n[0] * s, away[1] * c - n[1] * s, away[2] * c - n[2] * s]));
  } else if (code === 137 || code === 147 || code === 93) {
    const axis = norm([-u[0][0], -u[0][1], -u[0][2]]);
    const p1 = perpTo(axis), p2 = cross(axis, p1);
    const tilt = code === 93 ? 60 : 70.5;
    const c = Math.cos(tilt * Math.PI / 180), s = Math.sin(tilt * Math.PI / 180);
    const angs = code === 137 ? [0, 120, 240] : code === 93 ? [0, 180] : [0];
    for (const a of angs) {
      const r = a * Math.PI / 180;
      dirs.push(norm([axis[0] * c + s * (Math.cos(r) * p1[0] + Math.sin(r) * p2[0]), axis[1] * c + s * (Math.cos(r) * p1[1] + Math.sin(r) * p2[1]), axis[2] * c + s * (Math.cos(r) * p1[2] + Math.sin(r) * p2[2])]));
    }
  }
  const ueq = siteU(st.cell, parent) * (code === 137 || code === 147 ? 1.5 : 1.2);
  return dirs.map((v, i) => ({
    label: `H${parent.label.replace(/^[A-Za-z]+/, '')}${dirs.length > 1 ? 'ABC'[i] : ''}`,
    element: 'H', frac: st.cell.toFractional([x[0] + d * v[0], x[1] + d * v[1], x[2] + d * v[2]]), occ: parent.occ, uiso: ueq, uani: null, part: parent.part,
  }));
}
