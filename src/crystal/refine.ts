// Data preparation (merge, OMIT, SHEL, extinction) and agreement of a model with its reflections,
// plus a small Gauss-Newton least-squares refinement of scale, positions and Uiso.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError, ParseError } from '../core/errors.js';
import { parseCif, type CifBlock } from './cif.js';
import { parseHklf4, parseShelxIns, type ShelxModel } from './shelx.js';
import { embeddedShelx, publishedAgreement, structureFromCif, structureFromShelx, type Site, type Structure } from './structure.js';
import { amplitudes, fitScale, mergeReflections, rFactors, SfCalculator, type Agreement, type MergedReflections } from './sf.js';

export interface DataRules {
  /** Largest 2 theta kept (OMIT s 2theta), degrees. */
  readonly twoThetaMax: number | null;
  readonly shel: readonly [number, number] | null;
  readonly omitHkl: readonly (readonly [number, number, number])[];
  readonly exti: number;
  readonly wght: readonly number[];
}

/** OMIT, SHEL, EXTI and WGHT read from a SHELX model. */
export function dataRules(m: ShelxModel): DataRules {
  let twoThetaMax: number | null = null;
  let shel: [number, number] | null = null;
  const omitHkl: [number, number, number][] = [];
  let exti = 0;
  for (const e of m.extra) {
    const t = e.trim().split(/\s+/);
    const kw = t[0]!.toUpperCase();
    const nums = t.slice(1).map(Number);
    if (kw === 'OMIT' && nums.length === 2 && nums.every(Number.isFinite)) twoThetaMax = nums[1]!;
    else if (kw === 'OMIT' && nums.length === 3 && nums.every(Number.isInteger)) omitHkl.push([nums[0]!, nums[1]!, nums[2]!]);
    else if (kw === 'SHEL' && nums.length >= 1 && nums.every(Number.isFinite)) shel = [nums[0]!, nums[1] ?? 0];
    else if (kw === 'EXTI' && nums.length >= 1 && Number.isFinite(nums[0])) exti = nums[0]!;
  }
  return { twoThetaMax, shel, omitHkl, exti, wght: m.wght ?? [0.1, 0] };
}

export interface RefinementCase {
  readonly name: string;
  readonly structure: Structure;
  readonly model: ShelxModel | null;
  readonly merged: MergedReflections;
  readonly rules: DataRules;
  readonly published: { r1: number | null; wr2: number | null; goof: number | null; r1All: number | null };
}

function applyRules(st: Structure, merged: MergedReflections, rules: DataRules): MergedReflections {
  const keep: number[] = [];
  const omit = new Set(rules.omitHkl.map(([h, k, l]) => st.sg.canonicalIndex(h, k, l, true).join(',')));
  for (let i = 0; i < merged.h.length; i++) {
    const h = merged.h[i]!, k = merged.k[i]!, l = merged.l[i]!;
    const d = st.cell.dSpacing(h, k, l);
    if (rules.twoThetaMax !== null) {
      const s = st.wavelength / (2 * d);
      if (s > 1 || 2 * Math.asin(s) * 180 / Math.PI > rules.twoThetaMax) continue;
    }
    if (rules.shel && (d > rules.shel[0] || d < rules.shel[1])) continue;
    if (omit.size && omit.has(st.sg.canonicalIndex(h, k, l, true).join(','))) continue;
    keep.push(i);
  }
  const pick = <T extends Int32Array | Float64Array>(a: T): T => { const o = new (a.constructor as new (n: number) => T)(keep.length); keep.forEach((j, i) => { o[i] = a[j]!; }); return o; };
  return { h: pick(merged.h), k: pick(merged.k), l: pick(merged.l), fo2: pick(merged.fo2), sigma: pick(merged.sigma), count: pick(merged.count) };
}

/** A model with its reflections from SHELX texts. */
export function caseFromShelx(name: string, resText: string, hklText: string, published: RefinementCase['published'], files: { res?: string; hkl?: string; resLine?: number; hklLine?: number } = {}): RefinementCase {
  const model = parseShelxIns(resText, { file: files.res ?? `${name}.res`, lineOffset: files.resLine ?? 0 });
  const structure = structureFromShelx(model, name);
  const hkl = parseHklf4(hklText, { file: files.hkl ?? `${name}.hkl`, scale: model.hklfScale, lineOffset: files.hklLine ?? 0 });
  if (hkl.h.length === 0) throw new InputError(`${files.hkl ?? name}: no reflections`);
  const rules = dataRules(model);
  // SHELXL's own merging (weights and sigma rule), so R1/wR2 are those of SHELXL's definition
  const merged = applyRules(structure, mergeReflections(hkl, structure.sg, { algorithm: 'shelxl' }), rules);
  return { name, structure, model, merged, rules, published };
}

/** The first block of a CIF with embedded res+hkl, or with a separate HKLF 4 file. */
export function caseFromCif(path: string, opts: { hkl?: string; block?: string; strict?: boolean } = {}): RefinementCase {
  const doc = parseCif(readFileSync(path, 'utf8'), { file: path, strict: opts.strict ?? true });
  const block = pickBlock(doc.blocks, opts.block, path);
  const emb = embeddedShelx(block);
  const hklText = opts.hkl ? readFileSync(opts.hkl, 'utf8') : emb.hkl;
  if (emb.res && hklText) return caseFromShelx(basename(path).replace(/\.cif$/, ''), emb.res, hklText, publishedAgreement(block), { res: path, hkl: opts.hkl ?? path, resLine: emb.resLine, hklLine: opts.hkl ? 0 : emb.hklLine });
  if (!hklText) throw new InputError(`${path}: block ${block.name} has no embedded _shelx_hkl_file; pass --hkl`);
  const structure = structureFromCif(block, path);
  const hkl = parseHklf4(hklText, { file: opts.hkl ?? path });
  const rules: DataRules = { twoThetaMax: null, shel: null, omitHkl: [], exti: 0, wght: [0.1, 0] };
  return { name: block.name, structure, model: null, merged: mergeReflections(hkl, structure.sg, { algorithm: 'shelxl' }), rules, published: publishedAgreement(block) };
}

export function pickBlock(blocks: readonly CifBlock[], name: string | undefined, file: string): CifBlock {
  if (blocks.length === 0) throw new ParseError(file, 0, 'a data_ block', 'none');
  if (name) {
    const b = blocks.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!b) throw new InputError(`${file}: no block ${name}; blocks: ${blocks.map((x) => x.name).join(', ')}`);
    return b;
  }
  return blocks.find((b) => b.items.has('_cell_length_a')) ?? blocks[0]!;
}

export interface Evaluation extends Agreement {
  readonly scale: number;
  readonly fc: Float64Array;
  readonly fc2Scaled: Float64Array;
}

export interface EvaluateOptions {
  readonly anomalous?: boolean;
  /** 'refit' (weighted least squares, default) or 'fvar' (SHELX FVAR 1 squared). */
  readonly scale?: 'refit' | 'fvar';
  readonly sites?: readonly Site[];
  readonly nParams?: number;
}

/** Fc of the model, scale, extinction, and R1/wR2/GooF with Fo^2 put on the Fc scale. */
export function evaluateCase(c: RefinementCase, opts: EvaluateOptions = {}): Evaluation {
  const st = c.structure;
  const calc = new SfCalculator(st.cell, st.sg, c.merged, st.wavelength, { anomalous: opts.anomalous ?? false });
  const fc = amplitudes(calc.compute(opts.sites ?? st.sites));
  return agreementFromFc(c, fc, opts);
}

/** Per reflection list: 0.001 lambda^3 / sin(2 theta), the geometric part of SHELXL's EXTI correction. */
const extiGeometry = new WeakMap<MergedReflections, Float64Array>();

function extinctionFactors(c: RefinementCase): Float64Array {
  let g = extiGeometry.get(c.merged);
  if (!g) {
    const st = c.structure;
    const lam3 = st.wavelength ** 3;
    g = new Float64Array(c.merged.h.length);
    for (let i = 0; i < g.length; i++) {
      const s = st.wavelength * st.cell.stol(c.merged.h[i]!, c.merged.k[i]!, c.merged.l[i]!);
      g[i] = (0.001 * lam3) / Math.sin(2 * Math.asin(Math.min(1, s)));
    }
    extiGeometry.set(c.merged, g);
  }
  return g;
}

export function agreementFromFc(c: RefinementCase, fc: Float64Array, opts: EvaluateOptions = {}): Evaluation {
  const n = fc.length;
  const fc2 = new Float64Array(n);
  const x = c.rules.exti;
  const g = x > 0 ? extinctionFactors(c) : null;
  for (let i = 0; i < n; i++) {
    const f2 = fc[i]! * fc[i]!;
    fc2[i] = g ? f2 / Math.sqrt(1 + x * f2 * g[i]!) : f2;
  }
  const k = opts.scale === 'fvar' && c.model?.fvar[0] ? c.model.fvar[0] ** 2 : fitScale(c.merged.fo2, c.merged.sigma, fc2, c.rules.wght);
  const fo2 = new Float64Array(n), sig = new Float64Array(n);
  for (let i = 0; i < n; i++) { fo2[i] = c.merged.fo2[i]! / k; sig[i] = c.merged.sigma[i]! / k; }
  const ag = rFactors(fo2, sig, fc2, { wght: c.rules.wght, nParams: opts.nParams ?? 0 });
  return { ...ag, scale: k, fc, fc2Scaled: fc2 };
}
