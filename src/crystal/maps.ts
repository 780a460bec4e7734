// Fourier maps by FFT after expansion to P1, and peak search (Q-peaks).
import { InputError } from '../core/errors.js';
import type { UnitCell, Vec3 } from './cell.js';
import { LIMITS } from './limits.js';
import type { Structure } from './structure.js';

/** In-place radix-2 complex FFT of length n (power of 2), sign -1 forward. */
export function fft1d(re: Float64Array, im: Float64Array, sign: 1 | -1 = -1): void {
  const n = re.length;
  if (n & (n - 1)) throw new InputError(`fft1d: length ${n} is not a power of 2`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k, b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] = re[a] + tr; im[a] = im[a] + ti;
        const ncr = cr * wr - ci * wi; ci = cr * wi + ci * wr; cr = ncr;
      }
    }
  }
}

export interface DensityMap {
  readonly dims: readonly [number, number, number];
  /** rho at grid point (u, v, w), index (u * nv + v) * nw + w, in e/Å^3. */
  readonly data: Float64Array;
  readonly rms: number;
}

function pow2AtLeast(x: number): number { let n = 4; while (n < x) n *= 2; return n; }

type Hkl = { h: ArrayLike<number>; k: ArrayLike<number>; l: ArrayLike<number> };

/**
 * FFT grid for a map of these reflections: a spacing of d_min/3 (or `spacing`), powers of 2, never
 * below the Nyquist limit 2|h|max + 1. When the d_min/3 grid exceeds `maxPoints` the Nyquist grid
 * is used; when even that does, an InputError names the cell, d_min and the sizes (nothing allocated).
 */
export function fourierGrid(cell: UnitCell, idx: Hkl, opts: { spacing?: number; maxPoints?: number } = {}): [number, number, number] {
  const n = idx.h.length;
  if (n === 0) throw new InputError('Fourier map: no reflections');
  let hm = 0, km = 0, lm = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const h = idx.h[i], k = idx.k[i], l = idx.l[i];
    hm = Math.max(hm, Math.abs(h)); km = Math.max(km, Math.abs(k)); lm = Math.max(lm, Math.abs(l));
    s2 = Math.max(s2, cell.invD2(h, k, l));
  }
  const dmin = 1 / Math.sqrt(s2);
  const maxPoints = opts.maxPoints ?? LIMITS.gridPoints;
  if (opts.spacing !== undefined && !(opts.spacing > 0)) throw new InputError(`Fourier map: spacing must be positive, got ${opts.spacing}`);
  const sp = opts.spacing ?? dmin / 3;
  const nyquist: [number, number, number] = [pow2AtLeast(2 * hm + 1), pow2AtLeast(2 * km + 1), pow2AtLeast(2 * lm + 1)];
  const fine: [number, number, number] = [pow2AtLeast(Math.max(2 * hm + 1, cell.a / sp)), pow2AtLeast(Math.max(2 * km + 1, cell.b / sp)), pow2AtLeast(Math.max(2 * lm + 1, cell.c / sp))];
  const size = (d: readonly number[]) => d[0] * d[1] * d[2];
  if (size(fine) <= maxPoints) return fine;
  if (opts.spacing === undefined && size(nyquist) <= maxPoints) return nyquist;
  const d = opts.spacing === undefined ? nyquist : fine;
  throw new InputError(`Fourier map: a ${d.join(' x ')} grid (${size(d).toExponential(2)} points) for a ${cell.a} x ${cell.b} x ${cell.c} Å cell with data to d_min = ${dmin.toPrecision(3)} Å is over the limit of ${maxPoints} points`);
}

/**
 * rho(x) = (1/V) sum_h |F| e^{i phi} e^{-2 pi i h.x}, with coefficients for the unique reflections
 * expanded to P1 (F(hR) = F(h) e^{-2 pi i h.t}, F(-h) = F(h)*).
 */
export function fourierMap(st: Structure, idx: Hkl, amp: ArrayLike<number>, phase: ArrayLike<number>, opts: { spacing?: number; maxPoints?: number } = {}): DensityMap {
  const dims = fourierGrid(st.cell, idx, opts);
  const [nu, nv, nw] = dims;
  const N = nu * nv * nw;
  const re = new Float64Array(N), im = new Float64Array(N);
  const put = (h: number, k: number, l: number, a: number, p: number) => {
    const u = ((h % nu) + nu) % nu, v = ((k % nv) + nv) % nv, w = ((l % nw) + nw) % nw;
    const j = (u * nv + v) * nw + w;
    re[j] = a * Math.cos(p); im[j] = a * Math.sin(p);
  };
  for (let i = 0; i < idx.h.length; i++) {
    const h = idx.h[i], k = idx.k[i], l = idx.l[i];
    for (const o of st.sg.ops) {
      const R = o.rot;
      const h2 = h * R[0] + k * R[3] + l * R[6], k2 = h * R[1] + k * R[4] + l * R[7], l2 = h * R[2] + k * R[5] + l * R[8];
      const p = phase[i] - (2 * Math.PI * (h * o.trans[0] + k * o.trans[1] + l * o.trans[2])) / 12;
      put(h2, k2, l2, amp[i], p);
      put(-h2, -k2, -l2, amp[i], -p);
    }
  }
  // 3-D FFT, one axis at a time.
  const fftAxis = (n: number, stride: number, count: (cb: (start: number) => void) => void) => {
    const r = new Float64Array(n), m = new Float64Array(n);
    count((s) => {
      for (let t = 0; t < n; t++) { r[t] = re[s + t * stride]; m[t] = im[s + t * stride]; }
      fft1d(r, m, -1);
      for (let t = 0; t < n; t++) { re[s + t * stride] = r[t]; im[s + t * stride] = m[t]; }
    });
  };
  fftAxis(nw, 1, (cb) => { for (let u = 0; u < nu; u++) for (let v = 0; v < nv; v++) cb((u * nv + v) * nw); });
  fftAxis(nv, nw, (cb) => { for (let u = 0; u < nu; u++) for (let w = 0; w < nw; w++) cb(u * nv * nw + w); });
  fftAxis(nu, nv * nw, (cb) => { for (let v = 0; v < nv; v++) for (let w = 0; w < nw; w++) cb(v * nw + w); });
  const V = st.cell.volume;
  let ss = 0;
  for (let j = 0; j < N; j++) { re[j] = re[j] / V; ss += re[j] * re[j]; }
  return { dims, data: re, rms: Math.sqrt(ss / N) };
}

/** Trilinear interpolation of the map at a fractional point. */
export function mapValue(map: DensityMap, f: Vec3): number {
  const [nu, nv, nw] = map.dims;
  const g = [f[0] * nu, f[1] * nv, f[2] * nw];
  const i0 = g.map(Math.floor);
  const t = g.map((v, i) => v - i0[i]);
  let s = 0;
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) {
    const u = (((i0[0] + a) % nu) + nu) % nu, v = (((i0[1] + b) % nv) + nv) % nv, w = (((i0[2] + c) % nw) + nw) % nw;
    const wt = (a ? t[0] : 1 - t[0]) * (b ? t[1] : 1 - t[1]) * (c ? t[2] : 1 - t[2]);
    s += wt * map.data[(u * nv + v) * nw + w];
  }
  return s;
}

export interface Peak { readonly frac: Vec3; readonly height: number }

/** Grid maxima above `threshold` (default 3 rms), refined by a quadratic fit, merged across symmetry. */
export function findPeaks(map: DensityMap, st: Structure, opts: { threshold?: number; maxPeaks?: number; minDistance?: number } = {}): Peak[] {
  const [nu, nv, nw] = map.dims;
  const thr = opts.threshold ?? 3 * map.rms;
  const at = (u: number, v: number, w: number) => map.data[((((u % nu) + nu) % nu) * nv + (((v % nv) + nv) % nv)) * nw + (((w % nw) + nw) % nw)];
  const cands: Peak[] = [];
  for (let u = 0; u < nu; u++) for (let v = 0; v < nv; v++) for (let w = 0; w < nw; w++) {
    const c = at(u, v, w);
    if (c < thr) continue;
    let isMax = true;
    for (let a = -1; a <= 1 && isMax; a++) for (let b = -1; b <= 1 && isMax; b++) for (let d = -1; d <= 1; d++) {
      if ((a || b || d) && at(u + a, v + b, w + d) > c) { isMax = false; break; }
    }
    if (!isMax) continue;
    const q = (m: number, z: number, p: number) => { const den = m - 2 * z + p; return den < 0 ? (0.5 * (m - p)) / den : 0; };
    const du = q(at(u - 1, v, w), c, at(u + 1, v, w)), dv = q(at(u, v - 1, w), c, at(u, v + 1, w)), dw = q(at(u, v, w - 1), c, at(u, v, w + 1));
    cands.push({ frac: [(u + du) / nu, (v + dv) / nv, (w + dw) / nw], height: c });
  }
  cands.sort((a, b) => b.height - a.height);
  const minD = opts.minDistance ?? 0.5;
  const kept: Peak[] = [];
  for (const p of cands) {
    let dup = false;
    for (const k of kept) {
      for (const o of st.sg.ops) {
        const R = o.rot, t = o.trans;
        const y: Vec3 = [R[0] * k.frac[0] + R[1] * k.frac[1] + R[2] * k.frac[2] + t[0] / 12, R[3] * k.frac[0] + R[4] * k.frac[1] + R[5] * k.frac[2] + t[1] / 12, R[6] * k.frac[0] + R[7] * k.frac[1] + R[8] * k.frac[2] + t[2] / 12];
        if (st.cell.distanceModLattice(p.frac, y) < minD) { dup = true; break; }
      }
      if (dup) break;
    }
    if (!dup) kept.push(p);
    if (opts.maxPeaks && kept.length >= opts.maxPeaks) break;
  }
  return kept;
}
