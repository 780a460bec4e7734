// Least-squares refinement of scale, positions and Uiso: minimise sum w (Fo^2/k - Fc^2)^2 by damped
// Gauss-Newton, each step one Cholesky solve of the normal equations (core/linalg). Derivatives of
// Fc^2 are taken by central differences of each atom's own contribution (the rest of F is
// unchanged), so one parameter costs two single-site sums.
import { linalg } from '../core/linalg/index.js';
import { agreementFromFc, type RefinementCase } from './refine.js';
import { SfCalculator, shelxWeights, type ComplexArray } from './sf.js';
import type { Site } from './structure.js';

export interface LsqResult {
  readonly sites: Site[];
  readonly scale: number;
  readonly r1Before: number;
  readonly r1After: number;
  readonly wr2After: number;
  readonly shifts: number[];
  readonly esds: number[];
  readonly cycles: number;
}

/**
 * Shifts A^-1 b and the diagonal of A^-1 (for the esds) from one Cholesky factorisation of the
 * damped normal matrix A (symmetric positive definite) through core/linalg: solved against [b | I].
 */
function solveNormal(A: number[][], b: number[]): { x: number[]; invDiag: number[] } {
  const p = b.length;
  const rhs = new Float64Array(p * (p + 1));
  for (let i = 0; i < p; i++) { rhs[i * (p + 1)] = b[i]!; rhs[i * (p + 1) + 1 + i] = 1; }
  const X = linalg().choleskySolve({ rows: p, cols: p, data: Float64Array.from(A.flat()) }, { rows: p, cols: p + 1, data: rhs }).data;
  return { x: Array.from({ length: p }, (_, i) => X[i * (p + 1)]!), invDiag: Array.from({ length: p }, (_, i) => X[i * (p + 1) + 1 + i]!) };
}

/** Refine x, y, z and Uiso of the isotropic non-H sites (anisotropic sites and H are held). */
export function refineLeastSquares(c: RefinementCase, sites0: readonly Site[], opts: { cycles?: number; damping?: number } = {}): LsqResult {
  const st = c.structure;
  const calc = new SfCalculator(st.cell, st.sg, c.merged, st.wavelength);
  const n = calc.n;
  let sites = sites0.map((s) => ({ ...s }));
  const free = sites.map((s, i) => ({ s, i })).filter((x) => x.s.element !== 'H' && !x.s.uani).map((x) => x.i);
  const amp = (F: ComplexArray) => Float64Array.from(F.re, (v, i) => Math.hypot(v, F.im[i]));
  const r1Before = agreementFromFc(c, amp(calc.compute(sites))).r1;
  let shifts: number[] = [], esds: number[] = [], scale = 1, cycles = 0;
  for (let cyc = 0; cyc < (opts.cycles ?? 3); cyc++) {
    cycles++;
    const F = calc.compute(sites);
    const fc2 = Float64Array.from(F.re, (v, i) => v * v + F.im[i] * F.im[i]);
    const ev = agreementFromFc(c, amp(F));
    scale = ev.scale;
    const fo2 = Float64Array.from(c.merged.fo2, (v) => v / scale), sg = Float64Array.from(c.merged.sigma, (v) => v / scale);
    const w = shelxWeights(fo2, sg, fc2, c.rules.wght);
    const cols: Float64Array[] = [];
    for (const i of free) {
      const s = sites[i];
      const own: ComplexArray = { re: new Float64Array(n), im: new Float64Array(n) };
      calc.addSite(s, own);
      const steps: [number, (v: number) => Site][] = [0, 1, 2].map((k) => [1e-4, (dv: number) => ({ ...s, frac: s.frac.map((x, j) => (j === k ? x + dv : x)) as unknown as Site['frac'] })] as [number, (v: number) => Site]);
      steps.push([1e-4, (dv: number) => ({ ...s, uiso: s.uiso + dv })]);
      for (const [h, mk] of steps) {
        const col = new Float64Array(n);
        const fp: ComplexArray = { re: F.re.map((v, r) => v - own.re[r]), im: F.im.map((v, r) => v - own.im[r]) };
        const fm: ComplexArray = { re: fp.re.slice(), im: fp.im.slice() };
        calc.addSite(mk(h), fp); calc.addSite(mk(-h), fm);
        for (let r = 0; r < n; r++) col[r] = ((fp.re[r] ** 2 + fp.im[r] ** 2) - (fm.re[r] ** 2 + fm.im[r] ** 2)) / (2 * h);
        cols.push(col);
      }
    }
    const p = cols.length;
    const A = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    const b = new Array<number>(p).fill(0);
    for (let r = 0; r < n; r++) {
      const d = fo2[r] - fc2[r];
      for (let a = 0; a < p; a++) {
        const ja = cols[a][r] * w[r];
        b[a] += ja * d;
        for (let q = a; q < p; q++) A[a][q] += ja * cols[q][r];
      }
    }
    for (let a = 0; a < p; a++) for (let q = 0; q < a; q++) A[a][q] = A[q][a];
    const damp = opts.damping ?? 1e-3;
    for (let a = 0; a < p; a++) A[a][a] *= 1 + damp;
    const sol = solveNormal(A, b);
    shifts = sol.x;
    const goof2 = ev.goof ** 2 * n / Math.max(1, n - p);
    esds = sol.invDiag.map((v) => Math.sqrt(Math.max(v, 0) * goof2));
    let q = 0;
    sites = sites.map((s, i) => {
      if (!free.includes(i)) return s;
      const d = shifts.slice(q, q + 4); q += 4;
      return { ...s, frac: [s.frac[0] + d[0], s.frac[1] + d[1], s.frac[2] + d[2]] as const, uiso: Math.max(0.001, s.uiso + d[3]) };
    });
  }
  const fin = agreementFromFc(c, amp(calc.compute(sites)));
  return { sites, scale: fin.scale, r1Before, r1After: fin.r1, wr2After: fin.wr2, shifts, esds, cycles };
}
