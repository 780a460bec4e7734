// Structure factors by direct summation over all symmetry operations, merging of equivalents,
// scaling and agreement factors (R1, wR2 with SHELXL weights, GooF).
import { InputError } from '../core/errors.js';
import type { UnitCell } from './cell.js';
import { dispersion } from './dispersion.js';
import { formFactor } from './elements.js';
import { LIMITS } from './limits.js';
import type { HklData } from './shelx.js';
import type { Site, Structure } from './structure.js';
import type { SpaceGroup, SymOp } from './symmetry.js';

export interface Indices {
  readonly h: ArrayLike<number>; readonly k: ArrayLike<number>; readonly l: ArrayLike<number>;
}

export interface ComplexArray { readonly re: Float64Array; readonly im: Float64Array }

export { dispersion } from './dispersion.js';

export interface SfOptions {
  /** Add f' + i f'' for the structure's wavelength (default false: f0 only, as gemmi's default). */
  readonly anomalous?: boolean;
}

interface OpTable {
  readonly n: number;
  /** hR per (reflection, op), as floats (for the anisotropic exponent). */
  readonly hr: Float64Array;
  /** 2 * (hR_i + maxIndex): offsets into a per-atom table of exp(2 pi i m x_i). */
  readonly hrIdx: Int32Array;
  /** cos and sin of 2 pi h.t per (reflection, op). */
  readonly tc: Float64Array;
  readonly ts: Float64Array;
  readonly maxIndex: number;
}

/**
 * With an inversion centre at the origin, operations pair up as (R, t) and (-R, -t), whose terms
 * are complex conjugates with the same displacement factor: only one of each pair is summed
 * (twice its real part).
 */
function representativeOps(sg: SpaceGroup): { ops: SymOp[]; paired: boolean } {
  const inv = sg.ops.some((o) => o.rot.every((v, i) => v === [-1, 0, 0, 0, -1, 0, 0, 0, -1][i]) && o.trans.every((t) => t === 0));
  if (!inv) return { ops: [...sg.ops], paired: false };
  const key = (r: readonly number[], t: readonly number[]) => r.join(',') + ';' + t.join(',');
  const seen = new Set<string>();
  const ops: SymOp[] = [];
  for (const o of sg.ops) {
    if (seen.has(key(o.rot, o.trans))) continue;
    ops.push(o);
    seen.add(key(o.rot, o.trans));
    seen.add(key(o.rot.map((v) => -v), o.trans.map((t) => (12 - t) % 12)));
  }
  return { ops, paired: true };
}

function opTable(ops: readonly SymOp[], idx: Indices): OpTable {
  const nOps = ops.length;
  const n = idx.h.length;
  if (n * nOps > LIMITS.reflectionOps) throw new InputError(`${n} reflections x ${nOps} symmetry operations is over the limit of ${LIMITS.reflectionOps} for one structure-factor table`);
  const hr = new Float64Array(n * nOps * 3);
  const tc = new Float64Array(n * nOps), ts = new Float64Array(n * nOps);
  let M = 0;
  for (let r = 0; r < n; r++) {
    const h = idx.h[r], k = idx.k[r], l = idx.l[r];
    for (let o = 0; o < nOps; o++) {
      const op = ops[o];
      const R = op.rot;
      const b = (r * nOps + o) * 3;
      hr[b] = h * R[0] + k * R[3] + l * R[6];
      hr[b + 1] = h * R[1] + k * R[4] + l * R[7];
      hr[b + 2] = h * R[2] + k * R[5] + l * R[8];
      M = Math.max(M, Math.abs(hr[b]), Math.abs(hr[b + 1]), Math.abs(hr[b + 2]));
      // h.t in twelfths, reduced mod 12 so the angle is exact
      const ht = (((h * op.trans[0] + k * op.trans[1] + l * op.trans[2]) % 12) + 12) % 12;
      tc[r * nOps + o] = Math.cos((2 * Math.PI * ht) / 12);
      ts[r * nOps + o] = Math.sin((2 * Math.PI * ht) / 12);
    }
  }
  const hrIdx = new Int32Array(hr.length);
  for (let i = 0; i < hr.length; i++) hrIdx[i] = 2 * (hr[i] + M);
  return { n: nOps, hr, hrIdx, tc, ts, maxIndex: M };
}

/** Per-reflection s^2 = (sin theta / lambda)^2. */
export function stol2(cell: UnitCell, idx: Indices): Float64Array {
  const out = new Float64Array(idx.h.length);
  for (let i = 0; i < out.length; i++) out[i] = cell.invD2(idx.h[i], idx.k[i], idx.l[i]) / 4;
  return out;
}

/** A reusable calculator: op tables and form factors are computed once per reflection list. */
export class SfCalculator {
  private readonly ops: OpTable;
  /** (sin theta / lambda)^2 per reflection. */
  readonly s2: Float64Array;
  private readonly fCache = new Map<string, Float64Array>();
  private readonly betaScale: readonly number[];
  readonly n: number;
  private readonly paired: boolean;
  private readonly tabX: Float64Array;
  private readonly tabY: Float64Array;
  private readonly tabZ: Float64Array;

  constructor(readonly cell: UnitCell, readonly sg: SpaceGroup, readonly idx: Indices, readonly wavelength: number, readonly opts: SfOptions = {}) {
    const rep = representativeOps(sg);
    this.paired = rep.paired;
    this.ops = opTable(rep.ops, idx);
    this.s2 = stol2(cell, idx);
    this.n = idx.h.length;
    const L = 2 * this.ops.maxIndex + 1;
    this.tabX = new Float64Array(2 * L); this.tabY = new Float64Array(2 * L); this.tabZ = new Float64Array(2 * L);
    const as = cell.reciprocalLengths;
    this.betaScale = [as[0] * as[0], as[1] * as[1], as[2] * as[2], as[1] * as[2], as[0] * as[2], as[0] * as[1]].map((v) => 2 * Math.PI * Math.PI * v);
  }

  formFactors(element: string): Float64Array {
    let f = this.fCache.get(element);
    if (!f) {
      f = new Float64Array(this.n);
      for (let i = 0; i < this.n; i++) f[i] = formFactor(element, Math.sqrt(this.s2[i]));
      this.fCache.set(element, f);
    }
    return f;
  }

  /**
   * Add one site's contribution (times `weight`) into out.re/out.im. `extraU` multiplies the
   * displacement factor by an isotropic exp(-8 pi^2 extraU s^2) (anisotropic shape kept).
   */
  addSite(site: Site, out: ComplexArray, weight = 1, element = site.element, uisoOverride?: number, extraU = 0): void {
    const f0 = this.formFactors(element);
    const disp = this.dispersionOf(element);
    const { n: nOps, hr, hrIdx, tc, ts, maxIndex: M } = this.ops;
    // exp(2 pi i m x) for m = -M..M, per axis: each term then costs three complex products.
    const L = 2 * M + 1;
    const ex = this.tabX, ey = this.tabY, ez = this.tabZ;
    for (let m = 0; m < L; m++) {
      const v = m - M;
      ex[2 * m] = Math.cos(2 * Math.PI * v * site.frac[0]); ex[2 * m + 1] = Math.sin(2 * Math.PI * v * site.frac[0]);
      ey[2 * m] = Math.cos(2 * Math.PI * v * site.frac[1]); ey[2 * m + 1] = Math.sin(2 * Math.PI * v * site.frac[1]);
      ez[2 * m] = Math.cos(2 * Math.PI * v * site.frac[2]); ez[2 * m + 1] = Math.sin(2 * Math.PI * v * site.frac[2]);
    }
    const occ = site.occ * weight;
    const aniso = uisoOverride === undefined ? site.uani : null;
    const u = uisoOverride ?? site.uiso;
    let b11 = 0, b22 = 0, b33 = 0, b23 = 0, b13 = 0, b12 = 0;
    if (aniso) {
      const s = this.betaScale;
      b11 = s[0] * aniso[0]; b22 = s[1] * aniso[1]; b33 = s[2] * aniso[2];
      b23 = 2 * s[3] * aniso[3]; b13 = 2 * s[4] * aniso[4]; b12 = 2 * s[5] * aniso[5];
    }
    const B = 8 * Math.PI * Math.PI * (aniso ? extraU : u + extraU);
    const re = out.re, im = out.im;
    for (let r = 0; r < this.n; r++) {
      let gr = 0, gi = 0;
      const base = r * nOps;
      for (let o = 0; o < nOps; o++) {
        const q = base + o;
        const b = q * 3;
        const ix = hrIdx[b], iy = hrIdx[b + 1], iz = hrIdx[b + 2];
        // (x)(y)
        const ar = ex[ix] * ey[iy] - ex[ix + 1] * ey[iy + 1];
        const ai = ex[ix] * ey[iy + 1] + ex[ix + 1] * ey[iy];
        // (xy)(z)
        const br = ar * ez[iz] - ai * ez[iz + 1];
        const bi = ar * ez[iz + 1] + ai * ez[iz];
        // (xyz)(t)
        const cr = br * tc[q] - bi * ts[q];
        const ci = br * ts[q] + bi * tc[q];
        if (aniso) {
          const h = hr[b], k = hr[b + 1], l = hr[b + 2];
          const t = Math.exp(-(b11 * h * h + b22 * k * k + b33 * l * l + b23 * k * l + b13 * h * l + b12 * h * k));
          gr += t * cr; gi += t * ci;
        } else { gr += cr; gi += ci; }
      }
      if (this.paired) { gr *= 2; gi = 0; }
      let scale = occ;
      if (B !== 0) scale *= Math.exp(-B * this.s2[r]);
      const fr = (f0[r] + disp[0]) * scale, fi = disp[1] * scale;
      re[r] += fr * gr - fi * gi;
      im[r] += fr * gi + fi * gr;
    }
  }

  /** f' and f'' this calculator adds for an element ([0, 0] without anomalous scattering). */
  dispersionOf(element: string): readonly [number, number] {
    return this.opts.anomalous ? dispersion(element, this.wavelength) ?? [0, 0] : [0, 0];
  }

  compute(sites: readonly Site[]): ComplexArray {
    const out = { re: new Float64Array(this.n), im: new Float64Array(this.n) };
    for (const s of sites) this.addSite(s, out);
    return out;
  }
}

/** F(h) for every reflection in `idx`, by direct summation over all sites and operations. */
export function structureFactors(st: Structure, idx: Indices, opts: SfOptions = {}): ComplexArray {
  return new SfCalculator(st.cell, st.sg, idx, st.wavelength, opts).compute(st.sites);
}

export function amplitudes(F: ComplexArray): Float64Array {
  const out = new Float64Array(F.re.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.hypot(F.re[i], F.im[i]);
  return out;
}

export interface MergedReflections {
  readonly h: Int32Array; readonly k: Int32Array; readonly l: Int32Array;
  readonly fo2: Float64Array; readonly sigma: Float64Array;
  /** Number of observations merged into each. */
  readonly count: Int32Array;
}

export interface MergeOptions {
  /** Merge Friedel mates (default: only in centrosymmetric groups, as SHELXL does). */
  readonly friedel?: boolean;
  /** Drop systematic absences (default true). */
  readonly dropAbsent?: boolean;
  /**
   * sigma of a merged reflection: 'weights' = 1/sqrt(sum w); 'spread' = the larger of that and
   * the standard error from the scatter of the equivalents (default 'weights').
   */
  readonly sigma?: 'weights' | 'spread';
  /**
   * 'inverse-variance' (default): the 1/sigma^2-weighted mean, sigma as above. 'shelxl': SHELXL's
   * merging as cctbx's `merge_equivalents_shelx` documents it (from the SHELXL code): weights
   * I/sigma^2 when I > 3 sigma, else 3/sigma; sigma = the larger of 1/sqrt(sum 1/sigma^2) and
   * sum |I - mean| / (n sqrt(n - 1)). The `sigma` option is ignored then.
   */
  readonly algorithm?: 'inverse-variance' | 'shelxl';
}

/** Merge symmetry equivalents (by default the 1/sigma^2-weighted mean; see MergeOptions.algorithm). */
export function mergeReflections(data: HklData, sg: SpaceGroup, opts: MergeOptions = {}): MergedReflections {
  const friedel = opts.friedel ?? sg.centrosymmetric;
  const dropAbsent = opts.dropAbsent ?? true;
  const algorithm = opts.algorithm ?? 'inverse-variance';
  if (algorithm !== 'inverse-variance' && algorithm !== 'shelxl') throw new InputError(`mergeReflections: unknown algorithm ${String(algorithm)}; known: inverse-variance, shelxl`);
  const groups = new Map<string, { h: number; k: number; l: number; obs: number[] }>();
  for (let i = 0; i < data.h.length; i++) {
    const h = data.h[i], k = data.k[i], l = data.l[i];
    if (h === 0 && k === 0 && l === 0) continue;
    if (dropAbsent && sg.isAbsent(h, k, l)) continue;
    const c = sg.canonicalIndex(h, k, l, friedel);
    const key = `${c[0]},${c[1]},${c[2]}`;
    let g = groups.get(key);
    if (!g) { g = { h: c[0], k: c[1], l: c[2], obs: [] }; groups.set(key, g); }
    g.obs.push(i);
  }
  const list = [...groups.values()].sort((a, b) => a.h - b.h || a.k - b.k || a.l - b.l);
  const out = {
    h: new Int32Array(list.length), k: new Int32Array(list.length), l: new Int32Array(list.length),
    fo2: new Float64Array(list.length), sigma: new Float64Array(list.length), count: new Int32Array(list.length),
  };
  list.forEach((g, r) => {
    out.h[r] = g.h; out.k[r] = g.k; out.l[r] = g.l;
    const n = g.obs.length;
    let sInv = 0, sw = 0, swi = 0, si = 0, si2 = 0;
    if (algorithm === 'shelxl') {
      for (const i of g.obs) {
        const s = data.sigma[i] === 0 ? 1e-3 : data.sigma[i], v = data.fo2[i];
        const w = v > 3 * s ? v / (s * s) : 3 / s;
        sInv += 1 / (s * s); sw += w; swi += w * v;
      }
      const mean = swi / sw;
      let sig = Math.sqrt(1 / sInv);
      if (n > 1) {
        let sd = 0;
        for (const i of g.obs) sd += Math.abs(data.fo2[i] - mean);
        sig = Math.max(sig, sd / (n * Math.sqrt(n - 1)));
      }
      out.fo2[r] = mean; out.sigma[r] = sig;
    } else {
      for (const i of g.obs) {
        const s = Math.max(data.sigma[i], 1e-6), v = data.fo2[i];
        const w = 1 / (s * s);
        sw += w; swi += w * v; si += v; si2 += v * v;
      }
      out.fo2[r] = swi / sw;
      let sg2 = 1 / sw;
      if (opts.sigma === 'spread' && n > 1) {
        const mean = si / n;
        sg2 = Math.max(sg2, Math.max(0, (si2 - n * mean * mean) / (n * (n - 1))));
      }
      out.sigma[r] = Math.sqrt(sg2);
    }
    out.count[r] = n;
  });
  return out;
}

export interface AgreementOptions {
  /** SHELXL WGHT a, b (default 0.1, 0). */
  readonly wght?: readonly number[];
  /** Number of refined parameters for GooF (default 0). */
  readonly nParams?: number;
}

export interface Agreement {
  readonly r1: number; readonly r1All: number; readonly nGt: number; readonly n: number;
  readonly wr2: number; readonly goof: number;
}

/** SHELXL weights w = 1/[sigma^2 + (aP)^2 + bP], P = [max(Fo^2,0) + 2Fc^2]/3, all on the Fc scale. */
export function shelxWeights(fo2: ArrayLike<number>, sigma: ArrayLike<number>, fc2: ArrayLike<number>, wght: readonly number[] = [0.1, 0]): Float64Array {
  const a = wght[0] ?? 0.1, b = wght[1] ?? 0;
  const w = new Float64Array(fo2.length);
  for (let i = 0; i < w.length; i++) {
    const P = (Math.max(fo2[i], 0) + 2 * fc2[i]) / 3;
    w[i] = 1 / (sigma[i] * sigma[i] + (a * P) ** 2 + b * P);
  }
  return w;
}

/** R1 (Fo > 4 sigma(Fo), i.e. Fo^2 > 2 sigma(Fo^2), and all), wR2 and GooF; Fo^2 and sigma already on the Fc scale. */
export function rFactors(fo2: ArrayLike<number>, sigma: ArrayLike<number>, fc2: ArrayLike<number>, opts: AgreementOptions = {}): Agreement {
  const n = fo2.length;
  if (sigma.length !== n || fc2.length !== n) throw new InputError(`rFactors: lengths differ (fo2 ${n}, sigma ${sigma.length}, fc2 ${fc2.length})`);
  const w = shelxWeights(fo2, sigma, fc2, opts.wght);
  let num = 0, den = 0, numA = 0, denA = 0, nGt = 0, wn = 0, wd = 0;
  for (let i = 0; i < n; i++) {
    const fo = Math.sqrt(Math.max(fo2[i], 0));
    const fc = Math.sqrt(Math.max(fc2[i], 0));
    numA += Math.abs(fo - fc); denA += fo;
    if (fo2[i] > 2 * sigma[i]) { num += Math.abs(fo - fc); den += fo; nGt++; }
    const d = fo2[i] - fc2[i];
    wn += w[i] * d * d; wd += w[i] * fo2[i] * fo2[i];
  }
  const p = opts.nParams ?? 0;
  return { r1: num / den, r1All: numA / denA, nGt, n, wr2: Math.sqrt(wn / wd), goof: Math.sqrt(wn / Math.max(1, n - p)) };
}

/**
 * The scale k with Fo^2 ~ k Fc^2 minimising sum w (Fo^2/k - Fc^2)^2 under SHELXL weights
 * (iterated because the weights depend on k).
 */
export function fitScale(fo2: ArrayLike<number>, sigma: ArrayLike<number>, fc2: ArrayLike<number>, wght?: readonly number[]): number {
  const a = wght?.[0] ?? 0.1, b = wght?.[1] ?? 0;
  const n = fo2.length;
  let sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += fo2[i] * fc2[i]; syy += fc2[i] * fc2[i]; }
  let k = sxy / syy;
  for (let it = 0; it < 20; it++) {
    // weights of shelxWeights with Fo^2 and sigma divided by k
    let nxy = 0, nyy = 0;
    for (let i = 0; i < n; i++) {
      const f = fo2[i] / k, s = sigma[i] / k, c = fc2[i];
      const P = ((f > 0 ? f : 0) + 2 * c) / 3;
      const w = 1 / (s * s + a * a * P * P + b * P);
      nxy += w * fo2[i] * c; nyy += w * c * c;
    }
    const k2 = nxy / nyy;
    if (Math.abs(k2 - k) < 1e-10 * k) { k = k2; break; }
    k = k2;
  }
  return k;
}
