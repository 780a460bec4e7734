// The R1-swap test: for each non-H atom try the chemically plausible alternative elements,
// re-refine that atom's isotropic U shift and the scale, and flag atoms whose alternative lowers
// R1 and wR2 beyond a noise margin.
import { atomicNumber, SYMBOLS } from './elements.js';
import { agreementFromFc, type RefinementCase } from './refine.js';
import { SfCalculator, type ComplexArray } from './sf.js';
import type { Site } from './structure.js';

const PLAUSIBLE: Readonly<Record<string, readonly string[]>> = {
  B: ['C'], C: ['N', 'O', 'B'], N: ['C', 'O'], O: ['N', 'C', 'F'], F: ['O', 'Cl'], Si: ['Al', 'P'], Al: ['Si', 'Mg'],
  P: ['S', 'Si'], S: ['Cl', 'P'], Cl: ['S', 'Br'], Br: ['Cl', 'Se'], Se: ['Br', 'S'], I: ['Te', 'Br'],
};

/** Alternatives to try for an element: the table above, else the neighbours in Z. */
export function alternativesFor(element: string): string[] {
  const t = PLAUSIBLE[element];
  if (t) return [...t];
  const z = atomicNumber(element);
  return [SYMBOLS[z - 2], SYMBOLS[z]].filter((e): e is string => !!e && e !== 'H');
}

export interface SwapResult {
  readonly label: string;
  readonly element: string;
  readonly flagged: boolean;
  readonly best_alternative: string | null;
  readonly delta_r1: number;
  readonly delta_wr2: number;
}

export interface SwapTestOptions {
  /** R1 must drop by more than this to flag (default 0.0005). */
  readonly minDeltaR1?: number;
  readonly anomalous?: boolean;
  readonly onAtom?: (i: number, n: number) => void;
}

function golden(f: (x: number) => number, a: number, b: number, iters = 14): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a), d = a + g * (b - a), fc = f(c), fd = f(d);
  for (let i = 0; i < iters; i++) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - g * (b - a); fc = f(c); } else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = f(d); }
  }
  return fc < fd ? c : d;
}

export function r1SwapTest(c: RefinementCase, sites: readonly Site[], opts: SwapTestOptions = {}): { r1: number; wr2: number; atoms: SwapResult[] } {
  const st = c.structure;
  const calc = new SfCalculator(st.cell, st.sg, c.merged, st.wavelength, { anomalous: opts.anomalous ?? true });
  const total = calc.compute(sites);
  const n = calc.n;
  const base = agreementFromFc(c, amp(total));
  const minD = opts.minDeltaR1 ?? 0.0005;
  const atoms: SwapResult[] = [];
  const heavy = sites.map((s, i) => ({ s, i })).filter((x) => x.s.element !== 'H');
  heavy.forEach(({ s }, k) => {
    opts.onAtom?.(k, heavy.length);
    const own: ComplexArray = { re: new Float64Array(n), im: new Float64Array(n) };
    calc.addSite(s, own);
    const rest: ComplexArray = { re: total.re.map((v, i) => v - own.re[i]!), im: total.im.map((v, i) => v - own.im[i]!) };
    const u0 = s.uani ? s.uiso : s.uiso;
    const trial = (el: string) => {
      const evalU = (du: number) => {
        const t: ComplexArray = { re: rest.re.slice(), im: rest.im.slice() };
        calc.addSite({ ...s, element: el }, t, 1, el, undefined, Math.max(du, 0.001 - u0));
        return agreementFromFc(c, amp(t));
      };
      const du = golden((x) => evalU(x).wr2, -0.8 * u0, 0.1);
      return evalU(du);
    };
    const self = trial(s.element);
    let best: { el: string; r1: number; wr2: number } | null = null;
    for (const alt of alternativesFor(s.element)) {
      const a = trial(alt);
      if (!best || a.r1 < best.r1) best = { el: alt, r1: a.r1, wr2: a.wr2 };
    }
    const dR1 = best ? best.r1 - Math.min(self.r1, base.r1) : 0;
    const dW = best ? best.wr2 - Math.min(self.wr2, base.wr2) : 0;
    atoms.push({ label: s.label, element: s.element, flagged: !!best && dR1 < -minD && dW < 0, best_alternative: best?.el ?? null, delta_r1: dR1, delta_wr2: dW });
  });
  return { r1: base.r1, wr2: base.wr2, atoms };
}

function amp(F: ComplexArray): Float64Array {
  const o = new Float64Array(F.re.length);
  for (let i = 0; i < o.length; i++) o[i] = Math.hypot(F.re[i]!, F.im[i]!);
  return o;
}
