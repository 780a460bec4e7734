// Data preparation (merge, OMIT, SHEL, extinction) and agreement of a model with its reflections,
// plus a small Gauss-Newton least-squares refinement of scale, positions and Uiso.
import { basename } from 'node:path';
import { InputError, ParseError, warn } from '../core/errors.js';
import { cifItem, cifLoop, parseCif, parseCifNumber, shelxChecksum, type CifBlock } from './cif.js';
import { checkWavelength, readTextFile } from './limits.js';
import { parseHklf4, parseShelxIns, type HklData, type ShelxModel } from './shelx.js';
import { DEFAULT_WAVELENGTH, embeddedShelx, publishedAgreement, structureFromCif, structureFromShelx, type Site, type Structure } from './structure.js';
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
    const kw = t[0].toUpperCase();
    const nums = t.slice(1).map(Number);
    if (kw === 'OMIT' && nums.length === 2 && nums.every(Number.isFinite)) twoThetaMax = nums[1];
    else if (kw === 'OMIT' && nums.length === 3 && nums.every(Number.isInteger)) omitHkl.push([nums[0], nums[1], nums[2]]);
    else if (kw === 'SHEL' && nums.length >= 1 && nums.every(Number.isFinite)) shel = [nums[0], nums[1] ?? 0];
    else if (kw === 'EXTI' && nums.length >= 1 && Number.isFinite(nums[0])) exti = nums[0];
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
  /** `_refine_ls_number_parameters` of the CIF block, when given (for GooF). */
  readonly nParams?: number | null;
}

/** How a case is loaded: a wavelength that replaces the file's (or the assumed one). */
export interface CaseOptions {
  readonly wavelength?: number;
}

/** The structure with the wavelength of an option, or a warning when the file gave none and Mo Kα is assumed. */
function withWavelength(st: Structure, file: string, opts: CaseOptions): Structure {
  if (opts.wavelength !== undefined) return { ...st, wavelength: checkWavelength(opts.wavelength, '--wavelength'), wavelengthSource: 'option' };
  if (st.wavelengthSource === 'assumed') {
    warn('crystal-wavelength-assumed', `${file}: block ${st.name} gives no _diffrn_radiation_wavelength; assuming ${DEFAULT_WAVELENGTH} Å (Mo Kα) for dispersion and extinction (set it with --wavelength)`);
  }
  return st;
}

/** Every reflection must lie inside the limiting sphere (d >= lambda/2): others cannot be measured at that wavelength. */
function checkLimitingSphere(st: Structure, hkl: HklData, file: string): void {
  const lam = st.wavelength;
  for (let i = 0; i < hkl.h.length; i++) {
    const h = hkl.h[i], k = hkl.k[i], l = hkl.l[i];
    if (lam * st.cell.stol(h, k, l) <= 1) continue;
    const src = st.wavelengthSource === 'assumed' ? ' (assumed: set it with --wavelength)' : st.wavelengthSource === 'option' ? ' (from --wavelength)' : '';
    throw new ParseError(hkl.file ?? file, hkl.line?.[i] ?? 0, `a reflection with d >= lambda/2 = ${(lam / 2).toPrecision(4)} Å at lambda = ${lam} Å${src}`, `${h} ${k} ${l} with d = ${st.cell.dSpacing(h, k, l).toPrecision(4)} Å`, -1, 'hkl');
  }
}

function needAtoms(st: Structure, file: string, what: string): void {
  if (st.sites.length === 0) throw new InputError(`${file}: ${what} has no atoms: there is nothing to compute Fc from`);
}

function applyRules(st: Structure, merged: MergedReflections, rules: DataRules): MergedReflections {
  const keep: number[] = [];
  const omit = new Set(rules.omitHkl.map(([h, k, l]) => st.sg.canonicalIndex(h, k, l, true).join(',')));
  for (let i = 0; i < merged.h.length; i++) {
    const h = merged.h[i], k = merged.k[i], l = merged.l[i];
    const d = st.cell.dSpacing(h, k, l);
    if (rules.twoThetaMax !== null) {
      const s = st.wavelength / (2 * d);
      if (s > 1 || 2 * Math.asin(s) * 180 / Math.PI > rules.twoThetaMax) continue;
    }
    if (rules.shel && (d > rules.shel[0] || d < rules.shel[1])) continue;
    if (omit.size && omit.has(st.sg.canonicalIndex(h, k, l, true).join(','))) continue;
    keep.push(i);
  }
  const pick = <T extends Int32Array | Float64Array>(a: T): T => { const o = new (a.constructor as new (n: number) => T)(keep.length); keep.forEach((j, i) => { o[i] = a[j]; }); return o; };
  return { h: pick(merged.h), k: pick(merged.k), l: pick(merged.l), fo2: pick(merged.fo2), sigma: pick(merged.sigma), count: pick(merged.count) };
}

/** A model with its reflections from SHELX texts. */
export function caseFromShelx(name: string, resText: string, hklText: string, published: RefinementCase['published'], files: { res?: string; hkl?: string; resLine?: number; hklLine?: number } & CaseOptions = {}): RefinementCase {
  const resFile = files.res ?? `${name}.res`;
  const model = parseShelxIns(resText, { file: resFile, lineOffset: files.resLine ?? 0 });
  const structure = withWavelength({ ...structureFromShelx(model, name), wavelengthSource: 'file' }, resFile, files);
  needAtoms(structure, resFile, `the model (${model.qpeaks.length} Q-peaks, which are not atoms)`);
  const hkl = parseHklf4(hklText, { file: files.hkl ?? `${name}.hkl`, scale: model.hklfScale, lineOffset: files.hklLine ?? 0 });
  if (hkl.h.length === 0) throw new InputError(`${files.hkl ?? name}: no reflections`);
  checkLimitingSphere(structure, hkl, files.hkl ?? `${name}.hkl`);
  const rules = dataRules(model);
  // SHELXL's own merging (weights and sigma rule), so R1/wR2 are those of SHELXL's definition
  const merged = applyRules(structure, mergeReflections(hkl, structure.sg, { algorithm: 'shelxl' }), rules);
  return { name, structure, model, merged, rules, published };
}

/** What a block holds, for messages: cell, atoms, embedded res and hkl. */
function blockContents(b: CifBlock): { model: boolean; hkl: boolean; summary: string } {
  const e = embeddedShelx(b);
  const cell = b.items.has('_cell_length_a');
  const atoms = cifLoop(b, '_atom_site_fract_x') !== null;
  const model = !!e.res || (cell && atoms);
  const parts = [cell ? 'cell' : 'no cell', atoms ? 'atoms' : 'no atoms', e.res ? 'embedded .res' : 'no .res', e.hkl ? 'embedded .hkl' : 'no reflections'];
  return { model, hkl: !!e.hkl, summary: `${b.name} (line ${b.line}: ${parts.join(', ')})` };
}

/**
 * The block to use: the named one; else, with a separate .hkl, the first block with a model; else
 * the first block with a model and embedded reflections. Several candidates: the first, with a warning.
 */
function chooseBlock(blocks: readonly CifBlock[], path: string, opts: { hkl?: string; block?: string }): CifBlock {
  if (blocks.length === 0) throw new ParseError(path, 0, 'a data_ block', 'none');
  if (opts.block) return pickBlock(blocks, opts.block, path);
  const info = blocks.map((b) => ({ b, ...blockContents(b) }));
  const usable = info.filter((x) => x.model && (opts.hkl ? true : x.hkl));
  if (usable.length === 0) {
    const need = opts.hkl ? 'a model (cell and atoms, or an embedded .res)' : 'a model with reflections (_shelx_hkl_file; otherwise pass --hkl)';
    throw new InputError(`${path}: no block has ${need}; blocks seen: ${info.map((x) => x.summary).join('; ')}`);
  }
  if (usable.length > 1) warn('crystal-several-blocks', `${path}: ${usable.length} blocks qualify (${usable.map((x) => x.b.name).join(', ')}); using ${usable[0].b.name} (choose with --block)`);
  return usable[0].b;
}

/** Compare `_shelx_res_checksum` / `_shelx_hkl_checksum` with the embedded texts; a mismatch means they were edited after SHELXL wrote them. */
export function checkEmbeddedChecksums(block: CifBlock, file: string): string[] {
  const out: string[] = [];
  for (const [fileTag, sumTag] of [['_shelx_res_file', '_shelx_res_checksum'], ['_shelx_hkl_file', '_shelx_hkl_checksum']] as const) {
    const text = cifItem(block, fileTag), sum = cifItem(block, sumTag);
    if (!text || text.missing || !sum || sum.missing) continue;
    const want = parseCifNumber(sum.text);
    if (!want || !Number.isInteger(want.value)) throw new ParseError(file, sum.line, 'an integer checksum', sum.text, -1, sumTag);
    const got = shelxChecksum(text.text);
    if (got === want.value) continue;
    const nonAscii = /[^\x00-\x7f]/.test(text.text) ? ' (the text has non-ASCII characters, whose codes depend on the encoding)' : '';
    out.push(`${file}:${sum.line}: ${sumTag} is ${want.value} but the embedded ${fileTag.slice(7, 10)} text (line ${text.line}) sums to ${got}: it was changed after SHELXL wrote it${nonAscii}`);
  }
  for (const m of out) warn('crystal-checksum', m);
  return out;
}

/** A block of a CIF with embedded res+hkl, or with a separate HKLF 4 file (see chooseBlock for which block). */
export function caseFromCif(path: string, opts: { hkl?: string; block?: string; strict?: boolean } & CaseOptions = {}): RefinementCase {
  const doc = parseCif(readTextFile(path), { file: path, strict: opts.strict ?? true });
  const block = chooseBlock(doc.blocks, path, opts);
  checkEmbeddedChecksums(block, path);
  const emb = embeddedShelx(block);
  const hklText = opts.hkl ? readTextFile(opts.hkl) : emb.hkl;
  const np = cifItem(block, '_refine_ls_number_parameters');
  const npv = np && !np.missing ? parseCifNumber(np.text) : null;
  if (np && !np.missing && (!npv || !Number.isInteger(npv.value) || npv.value < 0)) throw new ParseError(path, np.line, 'a count of parameters', np.text, -1, '_refine_ls_number_parameters');
  const nParams = npv?.value ?? null;
  if (emb.res && hklText) return { ...caseFromShelx(basename(path).replace(/\.cif$/, ''), emb.res, hklText, publishedAgreement(block), { res: path, hkl: opts.hkl ?? path, resLine: emb.resLine, hklLine: opts.hkl ? 0 : emb.hklLine, wavelength: opts.wavelength }), nParams };
  if (!hklText) throw new InputError(`${path}: block ${block.name} has no embedded _shelx_hkl_file; pass --hkl`);
  const structure = withWavelength(structureFromCif(block, path), path, opts);
  needAtoms(structure, path, `block ${block.name}`);
  const hkl = parseHklf4(hklText, { file: opts.hkl ?? path });
  if (hkl.h.length === 0) throw new InputError(`${opts.hkl ?? path}: no reflections`);
  checkLimitingSphere(structure, hkl, opts.hkl ?? path);
  const rules: DataRules = { twoThetaMax: null, shel: null, omitHkl: [], exti: 0, wght: [0.1, 0] };
  return { name: block.name, structure, model: null, merged: mergeReflections(hkl, structure.sg, { algorithm: 'shelxl' }), rules, published: publishedAgreement(block), nParams };
}

export function pickBlock(blocks: readonly CifBlock[], name: string | undefined, file: string): CifBlock {
  if (blocks.length === 0) throw new ParseError(file, 0, 'a data_ block', 'none');
  if (name) {
    const b = blocks.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!b) throw new InputError(`${file}: no block ${name}; blocks: ${blocks.map((x) => x.name).join(', ')}`);
    return b;
  }
  return blocks.find((b) => b.items.has('_cell_length_a')) ?? blocks[0];
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
      const s = st.wavelength * st.cell.stol(c.merged.h[i], c.merged.k[i], c.merged.l[i]);
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
    const f2 = fc[i] * fc[i];
    fc2[i] = g ? f2 / Math.sqrt(1 + x * f2 * g[i]) : f2;
  }
  const k = opts.scale === 'fvar' && c.model?.fvar[0] ? c.model.fvar[0] ** 2 : fitScale(c.merged.fo2, c.merged.sigma, fc2, c.rules.wght);
  const fo2 = new Float64Array(n), sig = new Float64Array(n);
  for (let i = 0; i < n; i++) { fo2[i] = c.merged.fo2[i] / k; sig[i] = c.merged.sigma[i] / k; }
  const ag = rFactors(fo2, sig, fc2, { wght: c.rules.wght, nParams: opts.nParams ?? 0 });
  return { ...ag, scale: k, fc, fc2Scaled: fc2 };
}
