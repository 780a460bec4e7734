// Training corpus for the shipped assigner: reflections simulated from generated .res models
// (scripts/crystal_corpus.py writes those from real molecules), and the manifest's split by molecule.
// Reflections go through sf.ts and peaks through the same simulatePeaks path as real data sets.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsx.js';
import type { Rng } from '../core/rng.js';
import { readTextFile } from './limits.js';
import { LIMITS } from './limits.js';
import { amplitudes, structureFactors } from './sf.js';
import { parseShelxIns } from './shelx.js';
import { structureFromShelx, type Structure } from './structure.js';

export interface ReflectionSimOptions {
  /** Resolution limit, Å (default 0.8). */
  readonly dmin?: number;
  /** Fraction of reflections missing at random (default 0.05). */
  readonly missing?: number;
  /** Relative error on top of counting statistics (default 0.015). */
  readonly relError?: number;
}

const f = (v: number, w: number, d: number): string => v.toFixed(d).padStart(w);

/**
 * HKLF 4 text for a structure: the Friedel-unique half of the sphere to `dmin` (absences left out),
 * Fo² from |Fc|² with f′/f″ at the file's wavelength, counting noise (strongest reflection about
 * 2·10⁵ counts, a flat background) plus `relError`, reflections missing at random and most of those
 * behind the beamstop (d > 10 Å). Values are divided by a power of ten to fit F8.2; the returned
 * `fvar` is the matching FVAR₁.
 */
export function simulateReflections(st: Structure, rng: Rng, o: ReflectionSimOptions = {}): { hkl: string; fvar: number; n: number } {
  const dmin = o.dmin ?? 0.8, missing = o.missing ?? 0.05, rel = o.relError ?? 0.015;
  const hm = Math.ceil(st.cell.a / dmin), km = Math.ceil(st.cell.b / dmin), lm = Math.ceil(st.cell.c / dmin);
  const est = (2 * hm + 1) * (2 * km + 1) * (lm + 1);
  if (est * st.sites.length * st.sg.ops.length > LIMITS.reflectionOps * 20) throw new InputError(`${st.name}: cell too large for a simulated data set (${est} index triples)`);
  const H: number[] = [], K: number[] = [], L: number[] = [];
  for (let h = -hm; h <= hm; h++) for (let k = -km; k <= km; k++) for (let l = 0; l <= lm; l++) {
    if (l === 0 && (k < 0 || (k === 0 && h <= 0))) continue;
    const d = st.cell.dSpacing(h, k, l);
    if (d < dmin || st.sg.isAbsent(h, k, l)) continue;
    if (rng.next() < missing || (d > 10 && rng.next() < 0.7)) continue;
    H.push(h); K.push(k); L.push(l);
  }
  const fc = amplitudes(structureFactors(st, { h: H, k: K, l: L }, { anomalous: true }));
  let top = 0;
  for (let j = 0; j < fc.length; j++) top = Math.max(top, fc[j] * fc[j]);
  const gain = 2e5 / Math.max(top, 1e-9);
  let mean = 0;
  for (let j = 0; j < fc.length; j++) mean += (gain * fc[j] * fc[j]) / fc.length;
  const bg = 0.01 * mean + 5;
  const fo2 = new Float64Array(H.length), sig = new Float64Array(H.length);
  for (let j = 0; j < H.length; j++) {
    const i0 = gain * fc[j] * fc[j];
    sig[j] = Math.sqrt(i0 + bg + (rel * i0) ** 2);
    fo2[j] = i0 + sig[j] * rng.normal();
  }
  let big = 0;
  for (let j = 0; j < H.length; j++) big = Math.max(big, Math.abs(fo2[j]), sig[j]);
  const div = 10 ** Math.max(0, Math.ceil(Math.log10(big / 9999)));
  const lines: string[] = [];
  for (let j = 0; j < H.length; j++) lines.push(`${f(H[j], 4, 0)}${f(K[j], 4, 0)}${f(L[j], 4, 0)}${f(fo2[j] / div, 8, 2)}${f(sig[j] / div, 8, 2)}${f(1, 4, 0)}`);
  lines.push(`${f(0, 4, 0)}${f(0, 4, 0)}${f(0, 4, 0)}${f(0, 8, 2)}${f(0, 8, 2)}${f(0, 4, 0)}`);
  return { hkl: lines.join('\n') + '\n', fvar: Math.sqrt(gain / div), n: H.length };
}

/**
 * Simulate the reflections of every `.res` in `dir` that has no `.hkl` yet (each from its own
 * stream `rng.split(name)`), writing `<name>.hkl` and the matching FVAR into the `.res`.
 */
export function simulateCorpusReflections(dir: string, rng: Rng, o: ReflectionSimOptions & { onFile?: (name: string, n: number) => void } = {}): number {
  let done = 0;
  for (const n of readdirSync(dir).filter((x) => x.endsWith('.res')).sort()) {
    const res = join(dir, n), hklPath = res.replace(/\.res$/, '.hkl');
    if (existsSync(hklPath)) continue;
    const text = readTextFile(res);
    const st = structureFromShelx(parseShelxIns(text, { file: res }), n.replace(/\.res$/, ''));
    const sim = simulateReflections(st, rng.split(n), o);
    writeFileAtomic(hklPath, sim.hkl);
    writeFileAtomic(res, text.replace(/^FVAR\s+\S+/m, `FVAR ${sim.fvar.toPrecision(6)}`));
    o.onFile?.(n, sim.n);
    done++;
  }
  return done;
}

export interface CorpusManifest {
  readonly seed: number;
  readonly n: number;
  readonly smiles: string;
  /** false: the generator added solvent, disorder, Z' = 2 and special positions (shares in `realism`). */
  readonly plain?: boolean;
  readonly realism?: Record<string, unknown>;
  readonly structures: readonly { name: string; smiles: string; split: 'train' | 'heldout'; stratum: string; space_group: string; packing_coefficient: number }[];
}

/** The corpus's manifest.json (written by the generator). */
export function readManifest(dir: string): CorpusManifest {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) throw new InputError(`${dir}: no manifest.json (not a corpus from npm run crystal-corpus)`);
  let m: CorpusManifest;
  try { m = JSON.parse(readTextFile(p)) as CorpusManifest; } catch (e) { throw new InputError(`${p}: not JSON (${(e as Error).message})`); }
  if (!Array.isArray(m.structures)) throw new InputError(`${p}: no "structures" list`);
  return m;
}
