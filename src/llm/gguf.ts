// GGUF v3: a writer (metadata key-values, f32 tensors) and a header reader. Layout, little-endian:
// magic "GGUF", u32 version, u64 tensor count, u64 kv count; kv pairs (u64-length string key,
// u32 type, value); tensor infos (name, u32 n_dims, u64 dims fastest-varying first, u32 ggml type,
// u64 offset into the data section); padding to `general.alignment`; tensor data.
// The reader never trusts a claimed size: every count and length is checked against the bytes
// that remain in the file before anything is allocated.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ParseError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsx.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

export enum GgufType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | { readonly type: Exclude<GgufType, GgufType.ARRAY>; readonly value: GgufScalar }
  | { readonly type: GgufType.ARRAY; readonly itemType: Exclude<GgufType, GgufType.ARRAY>; readonly items: readonly GgufScalar[] };

export interface GgufTensorIn {
  readonly name: string;
  /** Dimensions fastest-varying first (ggml order): a [rows, cols] row-major matrix is [cols, rows]. */
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** Convenience constructors for metadata values. */
export const kv = {
  u32: (v: number): GgufValue => ({ type: GgufType.UINT32, value: v }),
  f32: (v: number): GgufValue => ({ type: GgufType.FLOAT32, value: v }),
  bool: (v: boolean): GgufValue => ({ type: GgufType.BOOL, value: v }),
  str: (v: string): GgufValue => ({ type: GgufType.STRING, value: v }),
  strs: (v: readonly string[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.STRING, items: v }),
  f32s: (v: readonly number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.FLOAT32, items: v }),
  i32s: (v: readonly number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.INT32, items: v }),
};

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.push(b); }
  u64(v: number | bigint): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  pad(align: number): void { const r = this.length % align; if (r) this.push(Buffer.alloc(align - r)); }
  scalar(t: GgufType, v: GgufScalar): void {
    const b8 = Buffer.alloc(8);
    switch (t) {
      case GgufType.UINT8: b8.writeUInt8(Number(v)); this.push(b8.subarray(0, 1)); break;
      case GgufType.INT8: b8.writeInt8(Number(v)); this.push(b8.subarray(0, 1)); break;
      case GgufType.UINT16: b8.writeUInt16LE(Number(v)); this.push(b8.subarray(0, 2)); break;
      case GgufType.INT16: b8.writeInt16LE(Number(v)); this.push(b8.subarray(0, 2)); break;
      case GgufType.UINT32: b8.writeUInt32LE(Number(v)); this.push(b8.subarray(0, 4)); break;
      case GgufType.INT32: b8.writeInt32LE(Number(v)); this.push(b8.subarray(0, 4)); break;
      case GgufType.FLOAT32: b8.writeFloatLE(Number(v)); this.push(b8.subarray(0, 4)); break;
      case GgufType.BOOL: b8.writeUInt8(v ? 1 : 0); this.push(b8.subarray(0, 1)); break;
      case GgufType.STRING: this.str(String(v)); break;
      case GgufType.UINT64: b8.writeBigUInt64LE(BigInt(v)); this.push(b8); break;
      case GgufType.INT64: b8.writeBigInt64LE(BigInt(v)); this.push(b8); break;
      case GgufType.FLOAT64: b8.writeDoubleLE(Number(v)); this.push(b8); break;
      default: throw new Error(`cannot write GGUF scalar of type ${t}`);
    }
  }
  concat(): Buffer { return Buffer.concat(this.chunks, this.length); }
}

/** Serialise a GGUF v3 file (f32 tensors only) to bytes. */
export function encodeGguf(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorIn[], alignment = 32): Buffer {
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(3);
  out.u64(tensors.length);
  const meta = new Map(metadata);
  meta.set('general.alignment', kv.u32(alignment));
  out.u64(meta.size);
  for (const [key, v] of meta) {
    out.str(key);
    out.u32(v.type);
    if (v.type === GgufType.ARRAY) {
      out.u32(v.itemType);
      out.u64(v.items.length);
      for (const it of v.items) out.scalar(v.itemType, it);
    } else out.scalar(v.type, v.value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: dims ${t.dims.join('x')} need ${n} values, got ${t.data.length}`);
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offsets.push(offset);
    offset += n * 4;
    offset = Math.ceil(offset / alignment) * alignment;
  }
  out.pad(alignment);
  const dataStart = out.length;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    if (out.length - dataStart !== offsets[i]) out.pad(alignment);
    const b = Buffer.alloc(t.data.length * 4);
    for (let j = 0; j < t.data.length; j++) b.writeFloatLE(t.data[j]!, j * 4);
    out.push(b);
  }
  out.pad(alignment);
  return out.concat();
}

export function writeGguf(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorIn[], alignment = 32): number {
  const bytes = encodeGguf(metadata, tensors, alignment);
  writeFileAtomic(path, bytes);
  return bytes.length;
}

// ---------------------------------------------------------------------------------------------
// Reader

export interface GgufTensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  /** Offset relative to the start of the data section. */
  readonly offset: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufScalar | readonly GgufScalar[]>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute byte offset where tensor data starts. */
  readonly dataOffset: number;
  readonly fileSize: number;
}

export interface ReadGgufOptions {
  /** Arrays longer than this are read but their items not kept (default 1e6). */
  readonly maxArrayItems?: number;
  /** Longest string accepted (default 1 MiB). */
  readonly maxStringBytes?: number;
  /** Most bytes read while looking for the end of the header (default 512 MiB). */
  readonly maxHeaderBytes?: number;
}

/** Minimal bytes per element of each ggml tensor type that this reader knows the size of (f32, f16, bf16...). */
const GGML_TYPE_BYTES: Record<number, number> = { 0: 4, 1: 2, 24: 1, 25: 2, 26: 4, 27: 8, 28: 8, 30: 2 };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The header continues past the bytes read so far. */
class NeedMoreBytes extends Error {}

class Cursor {
  pos = 0;
  constructor(private readonly buf: Buffer, private readonly file: string, readonly fileSize: number) {}
  private need(n: number, field: string): void {
    if (n >= 0 && this.pos + n > this.buf.length && this.buf.length < this.fileSize) throw new NeedMoreBytes();
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new ParseError(this.file, 0, `${n} more bytes for ${field}`, `${Math.max(0, this.buf.length - this.pos)} bytes left`, this.pos, field);
    }
  }
  u8(f: string): number { this.need(1, f); return this.buf.readUInt8(this.pos++); }
  u32(f: string): number { this.need(4, f); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  /** A u64 that must fit in a safe integer and be at most `cap` (a count or size claim). */
  u64(f: string, cap: number): number {
    this.need(8, f);
    const at = this.pos;
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(cap)) throw new ParseError(this.file, 0, `${f} <= ${cap} (bounded by the file size)`, v.toString(), at, f);
    return Number(v);
  }
  str(f: string, maxBytes: number): string {
    const at = this.pos;
    const n = this.u64(`${f} length`, Math.max(0, Math.min(maxBytes, this.fileSize - this.pos)));
    this.need(n, f);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8.decode(bytes);
    } catch {
      throw new ParseError(this.file, 0, `valid UTF-8 in ${f}`, bytes.toString('latin1'), at, f);
    }
  }
  scalar(t: number, f: string, maxStr: number): GgufScalar {
    const at = this.pos;
    switch (t) {
      case GgufType.UINT8: return this.u8(f);
      case GgufType.INT8: this.need(1, f); return this.buf.readInt8(this.pos++);
      case GgufType.UINT16: { this.need(2, f); const v = this.buf.readUInt16LE(this.pos); this.pos += 2; return v; }
      case GgufType.INT16: { this.need(2, f); const v = this.buf.readInt16LE(this.pos); this.pos += 2; return v; }
      case GgufType.UINT32: return this.u32(f);
      case GgufType.INT32: { this.need(4, f); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return v; }
      case GgufType.FLOAT32: { this.need(4, f); const v = this.buf.readFloatLE(this.pos); this.pos += 4; return v; }
      case GgufType.BOOL: { const v = this.u8(f); if (v > 1) throw new ParseError(this.file, 0, 'bool 0 or 1', String(v), at, f); return v === 1; }
      case GgufType.STRING: return this.str(f, maxStr);
      case GgufType.UINT64: { this.need(8, f); const v = this.buf.readBigUInt64LE(this.pos); this.pos += 8; return v; }
      case GgufType.INT64: { this.need(8, f); const v = this.buf.readBigInt64LE(this.pos); this.pos += 8; return v; }
      case GgufType.FLOAT64: { this.need(8, f); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
      default: throw new ParseError(this.file, 0, 'a GGUF value type 0..12', String(t), at, f);
    }
  }
}

/** Smallest encoded size of one item of a type: bounds array-length claims. */
function minItemBytes(t: number): number {
  switch (t) {
    case GgufType.UINT8: case GgufType.INT8: case GgufType.BOOL: return 1;
    case GgufType.UINT16: case GgufType.INT16: return 2;
    case GgufType.UINT32: case GgufType.INT32: case GgufType.FLOAT32: return 4;
    case GgufType.STRING: return 8;
    default: return 8;
  }
}

/**
 * Read the header, metadata and tensor table of a GGUF file (not the tensor data). Every claimed
 * count, length, dimension and offset is capped by the real file size, so a corrupt or hostile
 * file yields a ParseError (with byte offset and field), never a huge allocation or a hang.
 */
export function readGgufHeader(path: string, opts: ReadGgufOptions = {}): GgufHeader {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    // Read the start of the file, growing the window while the header runs past it.
    const cap = Math.min(fileSize, opts.maxHeaderBytes ?? 512 * 1024 * 1024);
    for (let want = Math.min(cap, 4 << 20); ; want = Math.min(cap, want * 4)) {
      const buf = Buffer.alloc(want);
      let off = 0;
      while (off < want) {
        const r = readSync(fd, buf, off, want - off, off);
        if (r === 0) break;
        off += r;
      }
      try {
        return parseHeader(off < want ? buf.subarray(0, off) : buf, path, fileSize, opts);
      } catch (e) {
        if (!(e instanceof NeedMoreBytes)) throw e;
        if (want >= cap) throw new ParseError(path, 0, `a header within the first ${cap} bytes`, `a header running past byte ${want}`, want, 'header');
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Parse a header from bytes; `fileSize` (default: the buffer's length) bounds every claimed size. */
export function parseGgufHeader(buf: Buffer, file = '<buffer>', fileSize = buf.length, opts: ReadGgufOptions = {}): GgufHeader {
  try {
    return parseHeader(buf, file, fileSize, opts);
  } catch (e) {
    if (e instanceof NeedMoreBytes) throw new ParseError(file, 0, 'the whole header in the given bytes', `${buf.length} of ${fileSize} bytes`, buf.length, 'header');
    throw e;
  }
}

function parseHeader(buf: Buffer, file: string, fileSize: number, opts: ReadGgufOptions): GgufHeader {
  const maxArray = opts.maxArrayItems ?? 1_000_000;
  const maxStr = opts.maxStringBytes ?? 1 << 20;
  const c = new Cursor(buf, file, fileSize);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) throw new ParseError(file, 0, 'magic "GGUF"', buf.subarray(0, 4).toString('latin1'), 0, 'magic');
  const version = c.u32('version');
  if (version !== 2 && version !== 3) throw new ParseError(file, 0, 'GGUF version 2 or 3', String(version), 4, 'version');
  // Each tensor info takes at least 8 (name) + 4 + 8 + 4 + 8 bytes; each kv at least 8 + 4 + 1.
  const nTensors = c.u64('tensor_count', Math.floor(fileSize / 32));
  const nKv = c.u64('kv_count', Math.floor(fileSize / 13));
  const metadata = new Map<string, GgufScalar | readonly GgufScalar[]>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str(`kv[${i}].key`, 65536);
    const at = c.pos;
    const t = c.u32(`${key}.type`);
    if (metadata.has(key)) throw new ParseError(file, 0, 'unique metadata keys', key, at, key);
    if (t === GgufType.ARRAY) {
      const it = c.u32(`${key}.item_type`);
      if (it === GgufType.ARRAY || it > 12) throw new ParseError(file, 0, 'array item type 0..12 (not nested arrays)', String(it), c.pos - 4, key);
      const len = c.u64(`${key}.length`, Math.floor((fileSize - c.pos) / minItemBytes(it)));
      const items: GgufScalar[] = [];
      for (let j = 0; j < len; j++) {
        const v = c.scalar(it, `${key}[${j}]`, maxStr);
        if (j < maxArray) items.push(v);
      }
      metadata.set(key, items);
    } else {
      metadata.set(key, c.scalar(t, key, maxStr));
    }
  }
  const alignRaw = metadata.get('general.alignment') ?? 32;
  const alignment = typeof alignRaw === 'number' ? alignRaw : Number(alignRaw);
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0 || alignment > 1 << 20) {
    throw new ParseError(file, 0, 'general.alignment a power of two', String(alignRaw), -1, 'general.alignment');
  }
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.str(`tensor[${i}].name`, 65536);
    if (names.has(name)) throw new ParseError(file, 0, 'unique tensor names', name, c.pos, `tensor[${i}].name`);
    names.add(name);
    const atDims = c.pos;
    const nd = c.u32(`${name}.n_dims`);
    if (nd < 1 || nd > 4) throw new ParseError(file, 0, 'n_dims in 1..4', String(nd), atDims, `${name}.n_dims`);
    const dims: number[] = [];
    let elems = 1;
    for (let d = 0; d < nd; d++) {
      const v = c.u64(`${name}.dims[${d}]`, fileSize);
      dims.push(v);
      elems *= v;
    }
    const type = c.u32(`${name}.type`);
    const off = c.u64(`${name}.offset`, fileSize);
    if (off % alignment !== 0) throw new ParseError(file, 0, `offset aligned to ${alignment}`, String(off), c.pos - 8, `${name}.offset`);
    const per = GGML_TYPE_BYTES[type];
    // Quantised types pack below one byte per element; the cap uses a conservative 1/8 byte.
    const minBytes = per !== undefined ? elems * per : elems / 8;
    if (off + minBytes > fileSize) {
      throw new ParseError(file, 0, `tensor ${name} (${dims.join('x')}) inside the file (${fileSize} bytes)`, `offset ${off} + ${minBytes} bytes`, atDims, name);
    }
    tensors.push({ name, dims, type, offset: off });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    const per = GGML_TYPE_BYTES[t.type];
    const bytes = per !== undefined ? t.dims.reduce((a, b) => a * b, 1) * per : 0;
    if (dataOffset + t.offset + bytes > fileSize) {
      throw new ParseError(file, 0, `tensor ${t.name} data inside the file (${fileSize} bytes)`, `ends at ${dataOffset + t.offset + bytes}`, -1, t.name);
    }
  }
  return { version, metadata, tensors, alignment, dataOffset, fileSize };
}
