// NumPy .npy format, version 1.0-3.0, C order. Read: float32, float64, int32, int64 (as numbers),
// uint8, int8, bool; little-endian only. Write: float32, float64, int32.
import { readFileSync, statSync } from 'node:fs';
import { ParseError } from '../errors.js';
import { writeFileAtomic } from '../fsx.js';
import { MAX_TYPED_ARRAY_LENGTH, assertAllocatable } from '../limits.js';

export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';
export type NpyData = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array;
export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** int64 data is returned as Float64Array (exact up to 2^53). */
  readonly data: NpyData;
}

const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32', '<f8': 'float64', '<i4': 'int32', '<i8': 'int64', '|u1': 'uint8', '|i1': 'int8', '|b1': 'bool',
};
const SIZE: Record<NpyDtype, number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, int8: 1, bool: 1 };

export function parseNpy(buf: Uint8Array, file = '<buffer>'): NpyArray {
  const fail = (offset: number, expected: string, found: string, field?: string): never => {
    throw new ParseError(file, 0, expected, found, offset, field);
  };
  if (buf.length < 10) fail(0, 'an NPY header (at least 10 bytes)', `${buf.length} bytes`);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  for (let i = 0; i < 6; i++) if (buf[i] !== magic[i]) fail(i, 'the NPY magic \\x93NUMPY', String.fromCharCode(...buf.subarray(0, 6)));
  const major = buf[6];
  if (major < 1 || major > 3) fail(6, 'format version 1, 2 or 3', String(major), 'version');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number, headerStart: number;
  if (major === 1) { headerLen = dv.getUint16(8, true); headerStart = 10; }
  else {
    if (buf.length < 12) fail(8, 'a 4-byte header length', `${buf.length - 8} bytes`);
    headerLen = dv.getUint32(8, true); headerStart = 12;
  }
  if (headerStart + headerLen > buf.length) fail(8, `a header of ${headerLen} bytes inside the file`, `${buf.length - headerStart} bytes left`, 'header_len');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined) fail(headerStart, "a 'descr' entry", header, 'descr');
  if (fortran === undefined) fail(headerStart, "a 'fortran_order' entry", header, 'fortran_order');
  if (shapeText === undefined) fail(headerStart, "a 'shape' tuple", header, 'shape');
  const dtype = DESCR[descr!];
  if (!dtype) fail(headerStart, `a supported little-endian dtype (${Object.keys(DESCR).join(', ')})`, descr!, 'descr');
  if (fortran === 'True') fail(headerStart, 'C order (fortran_order False)', 'True', 'fortran_order');
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) fail(headerStart, 'non-negative integer dimensions', s, 'shape');
    // A dimension no array can have is refused even when another is 0 (nothing to allocate yet,
    // but a reader would size buffers by it).
    if (Number(s) > MAX_TYPED_ARRAY_LENGTH) fail(headerStart, `dimensions of at most ${MAX_TYPED_ARRAY_LENGTH}`, s, 'shape');
    return Number(s);
  });
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLen;
  const bytes = count * SIZE[dtype!];
  // Cap what the header may claim against what the file really holds.
  if (!Number.isSafeInteger(bytes) || start + bytes > buf.length) fail(start, `${bytes} data bytes for shape (${shape.join(', ')})`, `${buf.length - start} bytes`, 'data');
  if (start + bytes < buf.length) fail(start + bytes, 'end of file after the data', `${buf.length - start - bytes} extra bytes`, 'data');
  // A real copy (Buffer#slice would be a view whose .buffer starts at the file's first byte).
  const raw = Uint8Array.prototype.slice.call(buf, start, start + bytes);
  let data: NpyData;
  switch (dtype!) {
    case 'float32': data = new Float32Array(raw.buffer, 0, count); break;
    case 'float64': data = new Float64Array(raw.buffer, 0, count); break;
    case 'int32': data = new Int32Array(raw.buffer, 0, count); break;
    case 'int64': {
      const big = new BigInt64Array(raw.buffer, 0, count);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(big[i]);
      data = out;
      break;
    }
    case 'uint8': case 'bool': data = new Uint8Array(raw.buffer, 0, count); break;
    case 'int8': data = new Int8Array(raw.buffer, 0, count); break;
  }
  return { dtype: dtype!, shape, data: data! };
}

export function readNpy(path: string): NpyArray {
  // The whole file is read and then copied once: refuse one that cannot be held twice.
  assertAllocatable(2 * statSync(path).size, `reading ${path}`);
  return parseNpy(readFileSync(path), path);
}

export function encodeNpy(data: Float32Array | Float64Array | Int32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`npy: shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : '<i4';
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad so the data starts on a 64-byte boundary, as numpy does.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export function writeNpy(path: string, data: Float32Array | Float64Array | Int32Array, shape: readonly number[]): void {
  writeFileAtomic(path, encodeNpy(data, shape));
}

/** A 2-D NPY as a float64 matrix (rows = samples); checks for NaN/Inf and emptiness. */
export function readMatrixNpy(path: string): { rows: number; cols: number; data: Float64Array } {
  const a = readNpy(path);
  if (a.shape.length !== 2) throw new ParseError(path, 0, 'a 2-D array (rows = samples)', `shape (${a.shape.join(', ')})`, 8, 'shape');
  const [rows, cols] = a.shape as [number, number];
  if (rows === 0 || cols === 0) throw new ParseError(path, 0, 'a non-empty matrix', `shape (${rows}, ${cols})`, 8, 'shape');
  const data = Float64Array.from(a.data as ArrayLike<number>);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new ParseError(path, 0, 'finite values', `${data[i]} at row ${Math.floor(i / cols)}, column ${i % cols}`, -1, 'data');
  }
  return { rows, cols, data };
}
