// safetensors (huggingface/safetensors format): an 8-byte little-endian header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}, then the
// tensor bytes (offsets relative to the end of the header). Read: F32, F16, BF16 (views into the
// file's bytes, no copy when aligned); write: the same dtypes, 8-byte aligned, atomically.
// Every size the header claims is checked against the file's real size before it is used.
import { readFileSync } from 'node:fs';
import { InputError, ParseError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsx.js';

export type SafeDtype = 'F32' | 'F16' | 'BF16';
const DTYPE_SIZE: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** The reference implementation refuses headers over 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a parsed file: views into the file's bytes. */
export interface SafeTensor {
  readonly name: string;
  readonly dtype: SafeDtype;
  readonly shape: readonly number[];
  /** Offset of the data from the start of the file. */
  readonly fileOffset: number;
  /** The raw little-endian bytes (a view, never a copy). */
  readonly bytes: Uint8Array;
  /**
   * The values as stored: Float32Array for F32, Uint16Array bit patterns for F16/BF16. A view
   * when the data is aligned in memory (safetensors files written by the reference library and
   * by `encodeSafetensors` are), a copy otherwise.
   */
  readonly raw: Float32Array | Uint16Array;
}

export interface SafeTensorInput {
  readonly shape: readonly number[];
  /** Float32Array values, stored as `dtype` (default F32; F16/BF16 round to nearest even). */
  readonly data: Float32Array;
  readonly dtype?: SafeDtype;
}

export class SafeTensors {
  private constructor(
    readonly file: string,
    readonly tensors: ReadonlyMap<string, SafeTensor>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  static read(path: string): SafeTensors {
    let buf: Buffer;
    try { buf = readFileSync(path); } catch (e) { throw new InputError(`cannot read safetensors file ${path}: ${(e as Error).message}`); }
    return SafeTensors.parse(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
  }

  static parse(buf: Uint8Array, file = '<buffer>'): SafeTensors {
    const fail = (offset: number, expected: string, found: string | undefined, field?: string): never => {
      // JSON.stringify(undefined) is undefined: a missing entry is reported as "undefined".
      throw new ParseError(file, 0, expected, String(found), offset, field);
    };
    if (buf.length < 8) fail(0, 'an 8-byte header length', `${buf.length} bytes`, 'header_size');
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const n64 = dv.getBigUint64(0, true);
    const room = buf.length - 8;
    if (n64 > BigInt(room)) fail(0, `a header length of at most ${room} bytes (the file's size less 8)`, String(n64), 'header_size');
    const n = Number(n64);
    if (n > MAX_HEADER_BYTES) fail(0, `a header length of at most ${MAX_HEADER_BYTES} bytes`, String(n), 'header_size');
    if (n < 2) fail(0, 'a JSON header of at least 2 bytes', String(n), 'header_size');
    const text = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(8, 8 + n));
    let header: unknown;
    try { header = JSON.parse(text); } catch (e) { fail(8, 'a JSON object header', text, 'header'); }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(8, 'a JSON object header', text, 'header');
    const dataStart = 8 + n;
    const dataLen = buf.length - dataStart;
    const tensors = new Map<string, SafeTensor>();
    let metadata: Record<string, string> = {};
    const spans: [number, number, string][] = [];
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(8, 'a string-to-string __metadata__ object', JSON.stringify(entry), '__metadata__');
        for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
          if (typeof v !== 'string') fail(8, 'string metadata values', `${k}: ${JSON.stringify(v)}`, '__metadata__');
        }
        metadata = entry as Record<string, string>;
        continue;
      }
      if (typeof entry !== 'object' || entry === null) fail(8, 'an object {dtype, shape, data_offsets}', JSON.stringify(entry), name);
      const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) fail(8, `dtype F32, F16 or BF16`, String(e.dtype), `${name}.dtype`);
      const dtype = e.dtype as SafeDtype;
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(8, 'a shape of non-negative integers', JSON.stringify(e.shape), `${name}.shape`);
      const shape = e.shape as number[];
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(8, 'data_offsets [begin, end]', JSON.stringify(off), `${name}.data_offsets`);
      const [b, end] = off as [number, number];
      const count = shape.reduce((a, d) => a * d, 1);
      const want = count * DTYPE_SIZE[dtype];
      if (end < b || end - b !== want) fail(8, `${want} bytes for ${dtype} shape [${shape.join(', ')}]`, `data_offsets [${b}, ${end}]`, `${name}.data_offsets`);
      if (end > dataLen) fail(dataStart + b, `tensor data inside the file (end ${dataStart + end} <= file size ${buf.length})`, `data_offsets [${b}, ${end}]`, `${name}.data_offsets`);
      spans.push([b, end, name]);
      const bytes = buf.subarray(dataStart + b, dataStart + end);
      tensors.set(name, { name, dtype, shape, fileOffset: dataStart + b, bytes, raw: typedView(bytes, dtype) });
    }
    spans.sort((p, q) => p[0] - q[0]);
    for (let i = 1; i < spans.length; i++) {
      const [b, , nm] = spans[i];
      const [, prevEnd, prevName] = spans[i - 1];
      if (b < prevEnd) fail(dataStart + b, `tensor ${nm} to start after ${prevName} ends (${prevEnd})`, `begin ${b}`, `${nm}.data_offsets`);
    }
    return new SafeTensors(file, tensors, metadata);
  }

  names(): string[] { return [...this.tensors.keys()]; }
  has(name: string): boolean { return this.tensors.has(name); }

  get(name: string): SafeTensor {
    const t = this.tensors.get(name);
    if (!t) throw new InputError(`${this.file}: no tensor ${JSON.stringify(name)} (has ${this.tensors.size}: ${this.names().slice(0, 8).join(', ')}${this.tensors.size > 8 ? ', …' : ''})`);
    return t;
  }

  /** Values as float32: a view for aligned F32 data, a converted copy for F16/BF16. */
  float32(name: string): Float32Array { return toFloat32(this.get(name)); }

  /** name -> {shape, data as float32}: the form model loaders take. */
  toFloat32Map(): Map<string, { shape: readonly number[]; data: Float32Array }> {
    const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const t of this.tensors.values()) out.set(t.name, { shape: t.shape, data: toFloat32(t) });
    return out;
  }
}

function typedView(bytes: Uint8Array, dtype: SafeDtype): Float32Array | Uint16Array {
  const size = DTYPE_SIZE[dtype];
  const aligned = bytes.byteOffset % size === 0;
  const src = aligned ? bytes : bytes.slice();
  const n = src.byteLength / size;
  if (!isLittleEndian) throw new InputError('safetensors: big-endian hosts are not supported');
  return dtype === 'F32' ? new Float32Array(src.buffer, src.byteOffset, n) : new Uint16Array(src.buffer, src.byteOffset, n);
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function toFloat32(t: SafeTensor): Float32Array {
  if (t.raw instanceof Float32Array) return t.raw;
  const out = new Float32Array(t.raw.length);
  if (t.dtype === 'BF16') { const u = new Uint32Array(out.buffer); for (let i = 0; i < out.length; i++) u[i] = t.raw[i] << 16; }
  else for (let i = 0; i < out.length; i++) out[i] = f16ToF32(t.raw[i]);
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits -> number. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number -> IEEE half bits, round to nearest even; overflow gives ±Inf. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** number -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Encode tensors (in insertion order) as a safetensors file; data start 8-byte aligned. */
export function encodeSafetensors(tensors: ReadonlyMap<string, SafeTensorInput> | Readonly<Record<string, SafeTensorInput>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const entries: [string, SafeTensorInput][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Readonly<Record<string, SafeTensorInput>>);
  // No prototype: a tensor named "__proto__" is a key like any other, not a prototype change.
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new InputError('safetensors: "__metadata__" is reserved and cannot name a tensor');
    const dtype = t.dtype ?? 'F32';
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) throw new InputError(`safetensors: tensor ${name} has shape [${t.shape.join(', ')}] (${count} values) but ${t.data.length} values`);
    let bytes: Uint8Array;
    if (dtype === 'F32') bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    else {
      const h = new Uint16Array(count);
      const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < count; i++) h[i] = conv(t.data[i]);
      bytes = new Uint8Array(h.buffer);
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const b of parts) { out.set(b, p); p += b.length; }
  return out;
}

export function writeSafetensors(path: string, tensors: ReadonlyMap<string, SafeTensorInput> | Readonly<Record<string, SafeTensorInput>>, metadata?: Readonly<Record<string, string>>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
