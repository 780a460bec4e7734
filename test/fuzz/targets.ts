// Fuzz targets: every file reader perennial has, each with seed files made by its writer (or by a
// small writer here where the area has none), a parse function taking raw bytes, and mutators.
// Shared by the property tests (test/reliability) and the time-boxed fuzzer (test/fuzz/run.ts).
// The property each target must keep: any input gives a value or a ParseError/InputError that
// names the file, never another exception, a hang or an unbounded allocation.
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError, InputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { encodeNpy, parseNpy } from '../../src/core/data/npy.js';
import { parseIdx } from '../../src/core/data/idx.js';
import { parseCsv, toCsv } from '../../src/core/data/csv.js';
import { SafeTensors, encodeSafetensors } from '../../src/continual/safetensors.js';
import { checkModelHyperparameters, encodeGguf, parseGgufHeader, kv, type GgufValue } from '../../src/llm/gguf.js';
import { parseFootprintTextFile, renderFootprintText, type FootprintWindow } from '../../src/breakout/footprint.js';
import { parseCif } from '../../src/crystal/cif.js';
import { structureFromCif, structureFromShelx } from '../../src/crystal/structure.js';
import { parseShelxIns, writeShelxIns, parseHklf4 } from '../../src/crystal/shelx.js';
import { structureToCif } from '../../src/crystal/cifwrite.js';
import { builtInStructure } from '../../src/crystal/builtin.js';
import { RunRecorder } from '../../src/core/record.js';
import { parseRecord } from '../../src/core/record-read.js';
import { ResponseCache } from '../../src/llm/cache.js';

export interface FuzzTarget {
  readonly name: string;
  /** Text formats are decoded as UTF-8 (as readFileSync(path, 'utf8') does) before parsing. */
  readonly text: boolean;
  /** Valid files of the format, made by the writers. */
  seeds(rng: Rng): Uint8Array[];
  /** The reader, on bytes, reporting errors against `file`. */
  parse(bytes: Uint8Array, file: string): unknown;
  /** Format-aware mutations (a field's value inside an otherwise valid file), mixed with the byte-level ones. */
  readonly mutators?: readonly ((rng: Rng, src: Uint8Array) => Uint8Array)[];
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8');
const utf8 = (s: string): Uint8Array => enc.encode(s);

// ---------------------------------------------------------------- writers kept with the tests

/** IDX (big-endian, MNIST layout): perennial reads IDX but has no writer of its own. */
export function encodeIdx(type: 0x08 | 0x09 | 0x0b | 0x0c | 0x0d | 0x0e, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type];
  const out = new Uint8Array(4 + 4 * shape.length + values.length * size);
  const dv = new DataView(out.buffer);
  out[2] = type;
  out[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const s = 4 + 4 * shape.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!, o = s + i * size;
    if (type === 0x08) dv.setUint8(o, v); else if (type === 0x09) dv.setInt8(o, v);
    else if (type === 0x0b) dv.setInt16(o, v); else if (type === 0x0c) dv.setInt32(o, v);
    else if (type === 0x0d) dv.setFloat32(o, v); else dv.setFloat64(o, v);
  }
  return out;
}

/** HKLF 4 records (3I4, 2F8.2, I4) ending with the 0 0 0 terminator. */
export function formatHklf4(rows: readonly { h: number; k: number; l: number; fo2: number; sigma: number; batch?: number }[]): string {
  const i4 = (v: number): string => String(v).padStart(4);
  const f8 = (v: number): string => v.toFixed(2).padStart(8);
  const lines = rows.map((r) => `${i4(r.h)}${i4(r.k)}${i4(r.l)}${f8(r.fo2)}${f8(r.sigma)}${r.batch !== undefined ? i4(r.batch) : ''}`);
  lines.push(`${i4(0)}${i4(0)}${i4(0)}${f8(0)}${f8(0)}`);
  return lines.join('\r\n'.slice(rows.length % 2)) + '\n';
}

/** A CIF value written so that the reader gives back `text` (bare, quoted or a text field). */
export function cifQuote(text: string): string {
  if (text.includes('\n')) return `\n;${text}\n;\n`;
  const bare = text !== '' && !/[\s'"#]/.test(text) && !/^[_[\]$;]/.test(text) && !/^(data_|loop_|save_|global_|stop_)/i.test(text) && text !== '?' && text !== '.';
  if (bare) return text;
  if (!/'\s/.test(text) && !text.endsWith("'")) return `'${text}'`;
  if (!/"\s/.test(text) && !text.endsWith('"')) return `"${text}"`;
  return `\n;${text}\n;\n`;
}

// ---------------------------------------------------------------- seed makers

function npySeeds(rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  const shapes: number[][] = [[0], [3], [2, 3], [1, 2, 2], []];
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.push(encodeNpy(Float32Array.from({ length: n }, () => rng.normal()), shape));
    out.push(encodeNpy(Float64Array.from({ length: n }, () => rng.normal()), shape));
    out.push(encodeNpy(Int32Array.from({ length: n }, () => rng.int(1000) - 500), shape));
  }
  // Formats the writer does not produce: version 2 header, int64, uint8, bool.
  const hand = (descr: string, shape: string, data: Uint8Array, version = 1): Uint8Array => {
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    const pre = version === 1 ? 10 : 12;
    header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
    const b = new Uint8Array(pre + header.length + data.length);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    const dv = new DataView(b.buffer);
    if (version === 1) dv.setUint16(8, header.length, true); else dv.setUint32(8, header.length, true);
    b.set(enc.encode(header), pre);
    b.set(data, pre + header.length);
    return b;
  };
  out.push(hand('<i8', '(2,)', new Uint8Array(new BigInt64Array([5n, -7n]).buffer)));
  out.push(hand('|u1', '(2, 2)', Uint8Array.from([1, 2, 3, 4])));
  out.push(hand('|b1', '(3,)', Uint8Array.from([0, 1, 1])));
  out.push(hand('<f4', '(1,)', new Uint8Array(new Float32Array([1.5]).buffer), 2));
  return out;
}

function idxSeeds(rng: Rng): Uint8Array[] {
  const imgs = encodeIdx(0x08, [3, 4, 4], Uint8Array.from({ length: 48 }, () => rng.int(256)));
  return [
    imgs,
    gzipSync(imgs),
    encodeIdx(0x08, [5], Uint8Array.from({ length: 5 }, () => rng.int(10))),
    encodeIdx(0x09, [2, 2], [-1, 2, -3, 4]),
    encodeIdx(0x0b, [3], [-300, 0, 300]),
    encodeIdx(0x0c, [2], [-70000, 70000]),
    encodeIdx(0x0d, [2, 1], [0.5, -2.25]),
    encodeIdx(0x0e, [2], [Math.PI, -1e300]),
  ];
}

function csvSeeds(rng: Rng): Uint8Array[] {
  const rows = Array.from({ length: 6 }, (_, i) => [i, rng.normal().toPrecision(6), `name ${i}`, i % 2 ? 'a,b' : 'q"uote']);
  return [
    utf8(toCsv(['id', 'x', 'label', 'note'], rows)),
    utf8('\ufeffa,b\r\n1,2\r\n3,4\r\n'),
    utf8('x;y\n1;2\n'),
    utf8('only\n1\n2\n3\n'),
  ];
}

function safetensorsSeeds(rng: Rng): Uint8Array[] {
  const v = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
  return [
    encodeSafetensors({ w: { shape: [2, 3], data: v(6) }, b: { shape: [3], data: v(3) } }, { format: 'pt' }),
    encodeSafetensors({ h: { shape: [4], data: v(4), dtype: 'F16' }, g: { shape: [2, 2], data: v(4), dtype: 'BF16' } }),
    encodeSafetensors({ s: { shape: [], data: v(1) }, e: { shape: [0, 3], data: new Float32Array(0) } }),
  ];
}

function ggufSeeds(rng: Rng): Uint8Array[] {
  const meta = new Map<string, GgufValue>([
    ['general.architecture', kv.str('llama')],
    ['general.name', kv.str('tiny fuzz')],
    ['llama.context_length', kv.u32(128)],
    ['llama.rope.freq_base', kv.f32(10000)],
    ['tokenizer.ggml.tokens', kv.strs(['<s>', '</s>', 'a', 'b'])],
    ['tokenizer.ggml.scores', kv.f32s([0, 0, -1, -2])],
    ['tokenizer.ggml.token_type', kv.i32s([3, 3, 1, 1])],
    ['flag', kv.bool(true)],
  ]);
  const t = (name: string, dims: number[]): { name: string; dims: number[]; data: Float32Array } =>
    ({ name, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()) });
  return [
    new Uint8Array(encodeGguf(meta, [t('tok_embd.weight', [4, 4]), t('output_norm.weight', [4])])),
    new Uint8Array(encodeGguf(new Map(), [])),
    new Uint8Array(encodeGguf(new Map([['k', kv.str('v')]]), [t('x', [3, 2, 1])], 64)),
  ];
}

const BYTE_TOKENS = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

/** A llama-shaped model small enough to fuzz (E = 32, one head, one block, 263 tokens): one llama.cpp loads, so mutations probe semantics. */
function ggufModelSeeds(rng: Rng): Uint8Array[] {
  const E = 32, F = 16, V = 3 + 256 + 4;
  const t = (name: string, dims: number[]): { name: string; dims: number[]; data: Float32Array } =>
    ({ name, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.02) });
  const meta = (heads: number, kvHeads: number): Map<string, GgufValue> => new Map<string, GgufValue>([
    ['general.architecture', kv.str('llama')],
    ['llama.context_length', kv.u32(64)],
    ['llama.embedding_length', kv.u32(E)],
    ['llama.block_count', kv.u32(1)],
    ['llama.feed_forward_length', kv.u32(F)],
    ['llama.attention.head_count', kv.u32(heads)],
    ['llama.attention.head_count_kv', kv.u32(kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', kv.f32(1e-5)],
    ['llama.rope.dimension_count', kv.u32(E / heads)],
    ['tokenizer.ggml.model', kv.str('llama')],
    ['tokenizer.ggml.tokens', kv.strs(['<unk>', '<s>', '</s>', ...BYTE_TOKENS, 'a', 'b', '\u2581', 'c'])],
    ['tokenizer.ggml.scores', kv.f32s(Array(V).fill(0))],
    ['tokenizer.ggml.token_type', kv.i32s([2, 3, 3, ...BYTE_TOKENS.map(() => 6), 1, 1, 1, 1])],
    ['tokenizer.ggml.bos_token_id', kv.u32(1)],
    ['tokenizer.ggml.eos_token_id', kv.u32(2)],
  ]);
  const tensors = (kvDim: number) => [
    t('token_embd.weight', [E, V]), t('output_norm.weight', [E]), t('output.weight', [E, V]), t('blk.0.attn_norm.weight', [E]),
    t('blk.0.attn_q.weight', [E, E]), t('blk.0.attn_k.weight', [E, kvDim]), t('blk.0.attn_v.weight', [E, kvDim]), t('blk.0.attn_output.weight', [E, E]),
    t('blk.0.ffn_norm.weight', [E]), t('blk.0.ffn_gate.weight', [E, F]), t('blk.0.ffn_up.weight', [E, F]), t('blk.0.ffn_down.weight', [F, E]),
  ];
  return [new Uint8Array(encodeGguf(meta(1, 1), tensors(E))), new Uint8Array(encodeGguf(meta(2, 1), tensors(E / 2)))];
}

const FIELD_VALUES = [0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 65, 512, 513, 1000, 1 << 24, (1 << 24) + 1, 0x7fffffff, 0x80000000, 0xffffffff];

/** Set one numeric metadata value, or one tensor's dimension, type or offset, to an interesting value (a size claim inside a valid file). */
function mutateGgufField(rng: Rng, src: Uint8Array): Uint8Array {
  const b = Buffer.from(src);
  let h;
  try { h = parseGgufHeader(b, 'seed.gguf'); } catch { return src.slice(); }
  const v = FIELD_VALUES[rng.int(FIELD_VALUES.length)]!;
  const numeric = [...h.metadataOffsets].filter(([k]) => ['number', 'bigint'].includes(typeof h.metadata.get(k)));
  if (numeric.length > 0 && (rng.next() < 0.6 || h.tensors.length === 0)) {
    const [, at] = numeric[rng.int(numeric.length)]!;
    const type = b.readUInt32LE(at);
    const p = at + 4;
    if (type <= 1 || type === 7) b.writeUInt8(v & 0xff, p);
    else if (type <= 3) b.writeUInt16LE(v & 0xffff, p);
    else if (type === 4 || type === 5) b.writeUInt32LE(v >>> 0, p);
    else if (type === 6) b.writeFloatLE(rng.next() < 0.5 ? v : [NaN, Infinity, -1, 1e-45][rng.int(4)]!, p);
    else if (type === 12) b.writeDoubleLE(v, p);
    else b.writeBigUInt64LE(rng.next() < 0.8 ? BigInt(v >>> 0) : (1n << 63n) + BigInt(rng.int(9)), p);
    return new Uint8Array(b);
  }
  if (h.tensors.length === 0) return src.slice();
  const ti = h.tensors[rng.int(h.tensors.length)]!;
  const name = Buffer.from(ti.name, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(name.length));
  const at = b.indexOf(Buffer.concat([len, name]), 24);
  if (at < 0) return src.slice();
  const dimsAt = at + 8 + name.length + 4;
  const field = rng.int(3);
  if (field === 0) b.writeBigUInt64LE(BigInt(v >>> 0), dimsAt + 8 * rng.int(ti.dims.length));
  else if (field === 1) b.writeUInt32LE([1, 2, 8, 12, 30, 4, 31, 39, 42, 43, 999][rng.int(11)]!, dimsAt + 8 * ti.dims.length);
  else b.writeBigUInt64LE(BigInt(v >>> 0) * 32n, dimsAt + 8 * ti.dims.length + 4);
  return new Uint8Array(b);
}

/** A footprint window with random rows (prices strictly descending on the tick grid). */
export function randomWindow(rng: Rng, tick = 0.25): FootprintWindow {
  const nTables = 2 + rng.int(4);
  const tables = Array.from({ length: nTables }, (_, index) => {
    let p = 20000 + rng.int(40);
    const rows = Array.from({ length: 1 + rng.int(6) }, () => {
      const r = { priceTicks: p, sell: rng.int(500), buy: rng.int(500) };
      p -= 1 + rng.int(2);
      return r;
    });
    return { index, rows };
  });
  return { tick, tables };
}

function footprintSeeds(rng: Rng): Uint8Array[] {
  const a = renderFootprintText(randomWindow(rng)), b = renderFootprintText(randomWindow(rng));
  return [utf8(a), utf8(`# w-1\n${a}\n\n# w-2\n${b}\n`), utf8(a.replace(/Table (\d+):/g, (_, k: string) => `Table ${Number(k) + 1}`))];
}

const CIF_EXTRA = `data_extra
_chemical_name_common 'a "quoted" name'
_publ_section_comment
;
 multi-line text
 field
;
loop_
_space_group_symop_operation_xyz
'x, y, z'
'-x, -y, -z'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
_atom_site_occupancy
C1 C 0.1000(2) 0.2 0.3 0.02(1) 1
O1 O 0.4 0.5 0.6 ? .
_cell_length_a 5.0(1)
_cell_length_b 6
_cell_length_c 7
_cell_angle_alpha 90
_cell_angle_beta 95.5
_cell_angle_gamma 90
`;

function cifSeeds(): Uint8Array[] {
  return [utf8(structureToCif(builtInStructure())), utf8(CIF_EXTRA)];
}

const RES_EXTRA = `TITL test in P-1
CELL 0.71073 5.0 6.0 7.0 90 95 90
ZERR 2 0.001 0.001 0.001 0 0.01 0
LATT 1
SFAC C O H
UNIT 4 2 8
FVAR 1.0 0.6
C1 1 0.1 0.2 0.3 11.0 0.02
O1 2 0.4 0.5 0.6 21.0 0.03 0.02 0.01 0.001 =
   0.002 0.003
PART 1
C2 1 0.7 0.8 0.9 -21.0 -1.2
PART 0
HKLF 4
END
Q1 1 0.1 0.1 0.1 11.0 0.05 0.9
`;

function shelxSeeds(): Uint8Array[] {
  const st = builtInStructure();
  const model = parseShelxIns(RES_EXTRA, { file: 'seed.res' });
  const fromBuiltin = parseShelxIns(writeShelxIns({ ...model, atoms: st.sites.slice(0, 6).map((s, i) => ({ ...model.atoms[0]!, name: s.label, xyz: s.frac, sfac: 1 + (i % 3), line: 0 })) }), { file: 'seed.res' });
  return [utf8(RES_EXTRA), utf8(writeShelxIns(model)), utf8(writeShelxIns(fromBuiltin))];
}

function hklSeeds(rng: Rng): Uint8Array[] {
  const rows = Array.from({ length: 12 }, () => ({ h: rng.int(41) - 20, k: rng.int(41) - 20, l: rng.int(41) - 20 || 1, fo2: rng.uniform(0, 9000), sigma: rng.uniform(0.1, 30), batch: rng.int(3) }));
  return [utf8(formatHklf4(rows)), utf8(formatHklf4(rows.map(({ batch: _b, ...r }) => r)).replace(/\n {3}0 {3}0 {3}0.*\n$/, '\n'))];
}

function recordSeeds(): Uint8Array[] {
  const rec = new RunRecorder('fuzz seed', { quick: true, methods: ['a', 'b'] }, 0).finish({ accuracy: 0.5, rows: [{ seed: 0, acc: [0.1, 0.2] }] });
  return [utf8(JSON.stringify(rec, null, 2) + '\n'), utf8(JSON.stringify({ summary: null, run: { ...rec.run, seed: [1, 2] } }))];
}

function llmCacheSeeds(): Uint8Array[] {
  const line = (k: string, text: string): string => JSON.stringify({ key: k, value: { text, usage: { promptTokens: 3, completionTokens: 1 }, latencyMs: 5 } });
  return [utf8(`${line('a'.repeat(64), 'hello')}\n${line('b'.repeat(64), '{"answer": 3}')}\n`), utf8(`${line('c', 'x')}\n{"key":"d","val`)];
}

/** Caches are read from a path: each input goes through a scratch file. */
let scratch: string | null = null;
function viaFile(bytes: Uint8Array, file: string, read: (path: string) => unknown): unknown {
  scratch ??= mkdtempSync(join(tmpdir(), 'perennial-fuzz-'));
  const p = join(scratch, file.replace(/[^\w.-]/g, '_'));
  writeFileSync(p, bytes);
  try {
    return read(p);
  } catch (e) {
    // Errors name the scratch path: report them against the name the caller gave.
    if (e instanceof ParseError && e.file === p) throw new ParseError(file, e.line, e.expected, e.found, e.offset, e.field);
    throw e;
  } finally {
    rmSync(p, { force: true });
  }
}

// ---------------------------------------------------------------- targets

export const TARGETS: readonly FuzzTarget[] = [
  { name: 'npy', text: false, seeds: npySeeds, parse: (b, f) => parseNpy(b, f) },
  { name: 'idx', text: false, seeds: idxSeeds, parse: (b, f) => parseIdx(b, f) },
  { name: 'csv', text: true, seeds: csvSeeds, parse: (b, f) => parseCsv(dec.decode(b), f) },
  { name: 'safetensors', text: false, seeds: safetensorsSeeds, parse: (b, f) => SafeTensors.parse(b, f).toFloat32Map() },
  { name: 'gguf', text: false, seeds: ggufSeeds, parse: (b, f) => parseGgufHeader(Buffer.from(b.buffer, b.byteOffset, b.byteLength), f) },
  {
    // The header, then the hyperparameters llama.cpp would trust (head counts, blocks, vocabulary).
    name: 'gguf-model', text: false, seeds: ggufModelSeeds, mutators: [mutateGgufField],
    parse: (b, f) => { const h = parseGgufHeader(Buffer.from(b.buffer, b.byteOffset, b.byteLength), f); checkModelHyperparameters(h, f); return h.tensors.length; },
  },
  { name: 'footprint', text: true, seeds: footprintSeeds, parse: (b, f) => parseFootprintTextFile(dec.decode(b), { file: f }) },
  {
    name: 'cif', text: true, seeds: cifSeeds,
    // The document grammar, then what the crystal area builds from each block.
    parse: (b, f) => parseCif(dec.decode(b), { file: f }).blocks.map((bl) => structureFromCif(bl, f)),
  },
  { name: 'shelx', text: true, seeds: shelxSeeds, parse: (b, f) => structureFromShelx(parseShelxIns(dec.decode(b), { file: f })) },
  { name: 'hklf4', text: true, seeds: hklSeeds, parse: (b, f) => parseHklf4(dec.decode(b), { file: f }) },
  { name: 'record', text: true, seeds: recordSeeds, parse: (b, f) => parseRecord(dec.decode(b), f) },
  { name: 'llm-cache', text: true, seeds: llmCacheSeeds, parse: (b, f) => viaFile(b, f, (p) => { const c = new ResponseCache(p); c.close(); return c.size; }) },
];

export function target(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new InputError(`unknown fuzz target ${name}; known: ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}

// ---------------------------------------------------------------- outcome of one input

export type Outcome = 'value' | 'typed' | 'untyped';

/** Run the reader on one input: a value, a typed error naming `file`, or anything else (untyped). */
export function check(t: FuzzTarget, bytes: Uint8Array, file: string): { outcome: Outcome; error?: unknown; key?: string } {
  try {
    t.parse(bytes, file);
    return { outcome: 'value', key: 'value' };
  } catch (e) {
    if (e instanceof ParseError && e.file === file) return { outcome: 'typed', key: `${e.field ?? ''}|${e.expected.replace(/\d+/g, 'N')}` };
    if (e instanceof InputError && e.message.length > 0) return { outcome: 'typed', key: `input|${e.message.replace(/\d+/g, 'N').slice(0, 80)}` };
    return { outcome: 'untyped', error: e };
  }
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return String(e);
}

// ---------------------------------------------------------------- mutators

const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff, 0x80000000, 64, 1 << 20];
const TOKENS = ['', ' ', '\n', '\r\n', '0', '-1', '1e309', '-0', 'NaN', 'Infinity', '99999999999999999999', '0.000001', "'", '"', ';', '\n;', '#', '_x', 'loop_', 'data_', 'data_a',
  'save_', '?', '.', '(', ')', '=', 'END', 'CELL', 'SFAC', 'FVAR', 'AFIX', 'PART', 'Q1', 'Table 0: Sell Buy Price', 'Table 9:', 'x,y,z', '1/0', 'x+1/7', '{', '}', '[', ']', ':', ',',
  '"run"', '{"run":', 'null', 'true', '\u0000', '\ufeff', '\u00e9', '\ud800'];

function randBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** One random mutation of `src` (bytes, or whole tokens for text formats). */
export function mutate(rng: Rng, src: Uint8Array, text: boolean, corpus: readonly Uint8Array[]): Uint8Array {
  const n = src.length;
  const pos = (): number => rng.int(n + 1);
  const op = rng.int(text ? 12 : 10);
  switch (op) {
    case 0: { // flip bits
      const b = src.slice();
      for (let k = 1 + rng.int(4); k > 0 && n > 0; k--) b[rng.int(n)]! ^= 1 << rng.int(8);
      return b;
    }
    case 1: { // set random bytes
      const b = src.slice();
      for (let k = 1 + rng.int(4); k > 0 && n > 0; k--) b[rng.int(n)] = rng.int(256);
      return b;
    }
    case 2: { // interesting 8/32/64-bit values, little or big endian, often where headers keep counts
      const b = src.slice();
      if (n < 8) return b;
      const at = rng.next() < 0.5 ? rng.int(Math.min(n - 7, 64)) : rng.int(n - 7);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const v = INTERESTING_32[rng.int(INTERESTING_32.length)]!;
      const w = rng.int(3);
      if (w === 0) dv.setUint8(at, v & 0xff);
      else if (w === 1) dv.setUint32(at, v >>> 0, rng.next() < 0.5);
      else dv.setBigUint64(at, rng.next() < 0.5 ? BigInt(v >>> 0) : 0xffffffffffffffffn - BigInt(rng.int(16)), true);
      return b;
    }
    case 3: { // truncate
      return src.slice(0, rng.int(n + 1));
    }
    case 4: { // delete a span
      const a = pos(), l = rng.int(Math.min(16, n - a) + 1);
      return concat(src.subarray(0, a), src.subarray(a + l));
    }
    case 5: { // insert random bytes
      const a = pos();
      return concat(src.subarray(0, a), randBytes(rng, 1 + rng.int(8)), src.subarray(a));
    }
    case 6: { // duplicate a span
      const a = pos(), l = rng.int(Math.min(64, n - a) + 1);
      return concat(src.subarray(0, a + l), src.subarray(a, a + l), src.subarray(a + l));
    }
    case 7: { // splice with another corpus entry
      const o = corpus[rng.int(corpus.length)] ?? src;
      return concat(src.subarray(0, pos()), o.subarray(rng.int(o.length + 1)));
    }
    case 8: { // append garbage
      return concat(src, randBytes(rng, 1 + rng.int(32)));
    }
    case 9: { // swap two bytes
      const b = src.slice();
      if (n > 1) { const i = rng.int(n), j = rng.int(n); const t = b[i]!; b[i] = b[j]!; b[j] = t; }
      return b;
    }
    case 10: { // replace a whitespace-delimited token with an interesting one
      const s = dec.decode(src);
      const parts = s.split(/(\s+)/);
      const idx = rng.int(parts.length);
      parts[idx] = TOKENS[rng.int(TOKENS.length)]!;
      return utf8(parts.join(''));
    }
    default: { // change a number in the text (size, count, index, value)
      const s = dec.decode(src);
      const nums = [...s.matchAll(/-?\d+(\.\d+)?/g)];
      if (nums.length === 0) return utf8(s + TOKENS[rng.int(TOKENS.length)]!);
      const m = nums[rng.int(nums.length)]!;
      const repl = ['0', '-1', '1', '2147483648', '1e400', String(Number(m[0]) + 1), String(-Number(m[0])), `${m[0]}${m[0]}`, '0.5', '1e-320'][rng.int(10)]!;
      return utf8(s.slice(0, m.index!) + repl + s.slice(m.index! + m[0].length));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** The i-th fuzz input of a stream: random bytes, or 1-4 stacked mutations of a corpus entry. */
export function generate(rng: Rng, t: FuzzTarget, corpus: readonly Uint8Array[]): Uint8Array {
  const r = rng.next();
  if (r < 0.05) return randBytes(rng, rng.int(64));
  if (r < 0.08 && t.text) return utf8(Array.from({ length: 1 + rng.int(20) }, () => TOKENS[rng.int(TOKENS.length)]!).join(rng.next() < 0.5 ? ' ' : '\n'));
  let b = corpus[rng.int(corpus.length)]!;
  for (let k = 1 + rng.int(4); k > 0; k--) {
    b = t.mutators && rng.next() < 0.5 ? t.mutators[rng.int(t.mutators.length)]!(rng, b) : mutate(rng, b, t.text, corpus);
  }
  return b;
}
