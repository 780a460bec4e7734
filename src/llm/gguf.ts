// GGUF v3: a writer (metadata key-values, f32 tensors) and a header reader. Layout, little-endian:
// magic "GGUF", u32 version, u64 tensor count, u64 kv count; kv pairs (u64-length string key,
// u32 type, value); tensor infos (name, u32 n_dims, u64 dims fastest-varying first, u32 ggml type,
// u64 offset into the data section); padding to `general.alignment`; tensor data.
// The reader never trusts a claimed size: every count and length is checked against the bytes
// that remain in the file before anything is allocated.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError, ParseError } from '../core/errors.js';
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
    const t = tensors[i];
    if (out.length - dataStart !== offsets[i]) out.pad(alignment);
    const b = Buffer.alloc(t.data.length * 4);
    for (let j = 0; j < t.data.length; j++) b.writeFloatLE(t.data[j], j * 4);
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
  /** Byte offset of each metadata value's type field (for errors that name a field). */
  readonly metadataOffsets: ReadonlyMap<string, number>;
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

/**
 * [elements per block, bytes per block] of every ggml tensor type the pinned llama.cpp knows
 * (read from its own type table; 4, 5, 31-33 and 36-38 are retired and absent). A type missing
 * here is refused: the size of its data cannot be checked, and llama.cpp would reject it later.
 */
export const GGML_TYPE_SIZES: Readonly<Record<number, readonly [number, number]>> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  16: [256, 66], 17: [256, 74], 18: [256, 98], 19: [256, 50], 20: [32, 18], 21: [256, 110], 22: [256, 82], 23: [256, 136],
  24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 29: [256, 56], 30: [1, 2], 34: [256, 54], 35: [256, 66],
  39: [32, 17], 40: [64, 36], 41: [128, 18], 42: [64, 18],
};

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
    const st = fstatSync(fd);
    // Reading a folder's descriptor fails with an EISDIR that names no path.
    if (!st.isFile()) throw new InputError(`${path}: not a GGUF file (it is ${st.isDirectory() ? 'a folder' : 'not a regular file'})`);
    const fileSize = st.size;
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
  const metadataOffsets = new Map<string, number>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str(`kv[${i}].key`, 65536);
    const at = c.pos;
    const t = c.u32(`${key}.type`);
    if (metadata.has(key)) throw new ParseError(file, 0, 'unique metadata keys', key, at, key);
    metadataOffsets.set(key, at);
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
    const atType = c.pos;
    const type = c.u32(`${name}.type`);
    const size = GGML_TYPE_SIZES[type];
    if (!size) throw new ParseError(file, 0, 'a ggml tensor type known to llama.cpp', String(type), atType, `${name}.type`);
    if (dims[0] % size[0] !== 0) throw new ParseError(file, 0, `first dimension a multiple of ${size[0]} (block size of type ${type})`, String(dims[0]), atDims, `${name}.dims[0]`);
    const off = c.u64(`${name}.offset`, fileSize);
    if (off % alignment !== 0) throw new ParseError(file, 0, `offset aligned to ${alignment}`, String(off), c.pos - 8, `${name}.offset`);
    const minBytes = (elems / size[0]) * size[1];
    if (off + minBytes > fileSize) {
      throw new ParseError(file, 0, `tensor ${name} (${dims.join('x')}) inside the file (${fileSize} bytes)`, `offset ${off} + ${minBytes} bytes`, atDims, name);
    }
    tensors.push({ name, dims, type, offset: off });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    const [block, per] = GGML_TYPE_SIZES[t.type];
    const bytes = (t.dims.reduce((a, b) => a * b, 1) / block) * per;
    if (dataOffset + t.offset + bytes > fileSize) {
      throw new ParseError(file, 0, `tensor ${t.name} data inside the file (${fileSize} bytes)`, `ends at ${dataOffset + t.offset + bytes}`, -1, t.name);
    }
  }
  return { version, metadata, metadataOffsets, tensors, alignment, dataOffset, fileSize };
}

// ---------------------------------------------------------------------------------------------
// Model hyperparameters: values llama.cpp trusts. It GGML_ASSERTs (aborting the whole process,
// a server included) or divides by them, so a file that is well-formed byte for byte but claims
// head_count = 0 or 1000 blocks must be refused here, with the field named.

/** llama.cpp's LLAMA_MAX_LAYERS and LLAMA_MAX_EXPERTS. */
export const MAX_BLOCK_COUNT = 512;
export const MAX_EXPERT_COUNT = 512;
/** Largest context length accepted from a file or an option (2^24 tokens; the longest published models claim about 10M). */
export const MAX_CONTEXT_LENGTH = 1 << 24;
const MAX_EMBEDDING = 1 << 20;

/**
 * Pure-attention architectures: every block has heads, so head counts must be >= 1 and divide
 * what they split. Recurrent and hybrid models (mamba, rwkv, jamba...) legitimately carry zeros,
 * so for them only the checks that hold for every architecture apply.
 */
const ATTENTION_ARCHS = new Set([
  'llama', 'llama4', 'mistral3', 'qwen', 'qwen2', 'qwen2moe', 'qwen3', 'qwen3moe', 'gemma', 'gemma2', 'gemma3', 'phi2', 'phi3', 'phimoe',
  'falcon', 'gpt2', 'gptj', 'gptneox', 'starcoder', 'starcoder2', 'baichuan', 'internlm2', 'deepseek', 'deepseek2', 'command-r', 'cohere2',
  'olmo', 'olmo2', 'olmoe', 'stablelm', 'granite', 'granitemoe', 'exaone', 'chatglm', 'glm4', 'bloom', 'mpt', 'refact', 'orion', 'minicpm',
  'minicpm3', 'arctic', 'dbrx', 'nemotron', 'gpt-oss', 'smollm3', 'plamo', 'codeshell', 'xverse', 'bitnet', 'ernie4_5', 'hunyuan-moe',
]);

export interface ModelProblem {
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}

function intValues(v: GgufScalar | readonly GgufScalar[] | undefined): number[] | null | 'bad' {
  if (v === undefined) return null;
  const items = Array.isArray(v) ? v : [v as GgufScalar];
  const out: number[] = [];
  for (const x of items) {
    const n = typeof x === 'bigint' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return 'bad';
    out.push(n);
  }
  return out;
}

/** Every hyperparameter problem of a header (empty when llama.cpp can be handed the file). */
export function modelProblems(h: GgufHeader): ModelProblem[] {
  const out: ModelProblem[] = [];
  const add = (field: string, expected: string, found: unknown): void => { out.push({ field, expected, found: String(found) }); };
  const arch = h.metadata.get('general.architecture');
  if (typeof arch !== 'string' || arch === '') {
    add('general.architecture', 'a string in the metadata', arch ?? 'none');
    return out;
  }
  const attention = ATTENTION_ARCHS.has(arch);
  const k = (name: string): string => `${arch}.${name}`;
  const get = (name: string, opts: { required?: boolean; min?: number; max?: number; array?: boolean } = {}): number[] | null => {
    const key = k(name);
    const v = intValues(h.metadata.get(key));
    if (v === 'bad') { add(key, 'a non-negative integer', JSON.stringify(h.metadata.get(key), (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))); return null; }
    if (v === null) { if (opts.required) add(key, 'present in the metadata', 'none'); return null; }
    if (v.length !== 1 && !opts.array) { add(key, 'a single value', `an array of ${v.length}`); return null; }
    if (v.length === 0) { add(key, 'at least one value', 'an empty array'); return null; }
    const lo = opts.min ?? 0, hi = opts.max ?? Number.MAX_SAFE_INTEGER;
    const bad = v.find((x) => x < lo || x > hi);
    if (bad !== undefined) { add(key, `a value in [${lo}, ${hi}]`, bad); return null; }
    return v;
  };
  const blocks = get('block_count', { required: attention, min: 1, max: MAX_BLOCK_COUNT })?.[0];
  get('context_length', { required: attention, min: 1, max: MAX_CONTEXT_LENGTH });
  const embd = get('embedding_length', { required: attention, min: 1, max: MAX_EMBEDDING })?.[0];
  // Tensor shapes follow from these values; a zero dimension is a GGML_ASSERT in the loader.
  const ff = get('feed_forward_length', { array: true, max: 1 << 24 });
  if (attention && ff && ff.length === 1 && ff[0] === 0) add(k('feed_forward_length'), 'at least 1', 0);
  // Per-layer arrays must have one value per block.
  const perLayer = (name: string, v: number[] | null): number[] | null => {
    if (v && v.length > 1 && blocks !== undefined && v.length !== blocks) { add(k(name), `one value per block (${blocks})`, `${v.length} values`); return null; }
    return v;
  };
  const heads = perLayer('attention.head_count', get('attention.head_count', { required: attention, array: true, min: attention ? 1 : 0, max: MAX_EMBEDDING }));
  const headsKv = perLayer('attention.head_count_kv', get('attention.head_count_kv', { array: true, min: attention ? 1 : 0, max: MAX_EMBEDDING }));
  const keyLength = get('attention.key_length', { min: 1, max: MAX_EMBEDDING })?.[0];
  get('attention.value_length', { min: 1, max: MAX_EMBEDDING });
  if (attention && heads && embd !== undefined) {
    const at = (v: readonly number[], i: number): number => v[v.length === 1 ? 0 : i];
    const n = Math.max(heads.length, headsKv?.length ?? 1);
    for (let i = 0; i < n; i++) {
      const hc = at(heads, i);
      if (keyLength === undefined && embd % hc !== 0) { add(k('attention.head_count'), `a divisor of embedding_length ${embd}`, hc); break; }
      if (headsKv) {
        const kvc = at(headsKv, i);
        if (kvc > hc || hc % kvc !== 0) { add(k('attention.head_count_kv'), `a divisor of head_count ${hc}`, kvc); break; }
      }
    }
    const headDim = keyLength ?? embd / heads[0];
    get('rope.dimension_count', { min: 1, max: Number.isInteger(headDim) ? headDim : MAX_EMBEDDING });
  }
  const experts = get('expert_count', { max: MAX_EXPERT_COUNT })?.[0];
  const used = get('expert_used_count', { max: MAX_EXPERT_COUNT })?.[0];
  if (used !== undefined && used > (experts ?? 0)) add(k('expert_used_count'), `at most expert_count (${experts ?? 0})`, used);
  if (experts !== undefined && experts > 0 && !used) add(k('expert_used_count'), 'at least 1 when expert_count > 0', used ?? 'none');
  const eps = h.metadata.get(k('attention.layer_norm_rms_epsilon')) ?? h.metadata.get(k('attention.layer_norm_epsilon'));
  if (eps !== undefined && !(typeof eps === 'number' && Number.isFinite(eps) && eps >= 0)) add(k('attention.layer_norm_rms_epsilon'), 'a finite number >= 0', eps);

  // Blocks claimed versus blocks present: llama.cpp indexes blk.N tensors up to block_count.
  let maxBlock = -1;
  for (const t of h.tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m) maxBlock = Math.max(maxBlock, Number(m[1]));
  }
  if (blocks !== undefined && (maxBlock >= 0 || attention) && maxBlock + 1 !== blocks) {
    add(k('block_count'), maxBlock < 0 ? 'blk.N tensors for each block (the file has none)' : `${maxBlock + 1} (the file has tensors for blocks 0..${maxBlock})`, blocks);
  }

  // Vocabulary: token ids index these arrays.
  const tokens = h.metadata.get('tokenizer.ggml.tokens');
  if (tokens !== undefined) {
    if (!Array.isArray(tokens) || tokens.length === 0) add('tokenizer.ggml.tokens', 'a non-empty array', Array.isArray(tokens) ? 'an empty array' : typeof tokens);
    else {
      const nv = tokens.length;
      for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
        const a = h.metadata.get(key);
        if (a !== undefined && (!Array.isArray(a) || a.length !== nv)) add(key, `an array of ${nv} (one per token)`, Array.isArray(a) ? `${a.length} items` : typeof a);
      }
      for (const id of ['bos', 'eos', 'unknown', 'padding', 'separator', 'eot', 'eom']) {
        const key = `tokenizer.ggml.${id}_token_id`;
        const raw = h.metadata.get(key);
        // -1 (or 0xffffffff as u32) means "none" to llama.cpp.
        if (raw === -1 || raw === -1n) continue;
        const v = intValues(raw);
        if (v === 'bad' || (v && v[0] !== 0xffffffff && v[0] >= nv)) add(key, `a token id below the vocabulary size ${nv}`, h.metadata.get(key));
      }
      // A SentencePiece vocabulary falls back to byte tokens for any character it lacks, and
      // llama.cpp looks them up with a throwing map access: without all 256 '<0xXX>' tokens a
      // model load (or any prompt) ends the process (std::out_of_range, uncaught).
      if (h.metadata.get('tokenizer.ggml.model') === 'llama') {
        const have = new Set(tokens.filter((x): x is string => typeof x === 'string' && x.length === 6 && x.startsWith('<0x')));
        const missing = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).filter((x) => !have.has(x));
        if (missing.length) add('tokenizer.ggml.tokens', "all 256 byte tokens '<0x00>'..'<0xFF>' (SentencePiece byte fallback)", `${missing.length} missing, first ${missing[0]}`);
      }
      const vs = get('vocab_size');
      if (vs && vs[0] !== nv) add(k('vocab_size'), `the number of tokens (${nv})`, vs[0]);
      const embdT = h.tensors.find((t) => t.name === 'token_embd.weight');
      if (embdT && embdT.dims.length >= 2 && (embdT.dims[1] !== nv || (embd !== undefined && embdT.dims[0] !== embd))) {
        add('token_embd.weight', `dims [${embd ?? '?'}, ${nv}] (embedding_length, tokens)`, `[${embdT.dims.join(', ')}]`);
      }
    }
  }
  return out;
}

/** Throw a ParseError naming the first hyperparameter llama.cpp would crash or misread on. */
export function checkModelHyperparameters(h: GgufHeader, file: string): void {
  const p = modelProblems(h)[0];
  if (p) throw new ParseError(file, 0, p.expected, p.found, h.metadataOffsets.get(p.field) ?? -1, p.field);
}
