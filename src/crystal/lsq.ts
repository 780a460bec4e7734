// Least-squares refinement of scale, positions and Uiso: minimise sum w (Fo^2/k - Fc^2)^2 by damped
// Gauss-Newton. Derivatives of Fc^2 are taken by central differences of each atom's own
// contribution (the rest of F is unchanged), so one parameter costs two single-site sums.
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

function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const d = M[c][c] || 1e-300;
    for (let r = 0; r < n; r++) if (r !== c) { const f = M[r][c] / d; for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k]; }
  }
  return M.map((r, i) => r[n] / (r[i] || 1e-300));
}

function invDiag(A: number[][]): number[] {
  return A.map((_, i) => { const e = A.map((__, j) => (i === j ? 1 : 0)); return solve(A, e)[i]; });
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
    shifts = solve(A, b);
    const goof2 = ev.goof ** 2 * n / Math.max(1, n - p);
    esds = invDiag(A).map((v) => Math.sqrt(Math.max(v, 0) * goof2));
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
