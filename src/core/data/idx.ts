// IDX files (the MNIST family), optionally gzip-compressed. Fashion-MNIST is found automatically
// where Debian's dataset-fashion-mnist put it, or in any folder given.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { InputError, ParseError } from '../errors.js';
import { MAX_CLASSES, MAX_TYPED_ARRAY_LENGTH, assertAllocatable, memoryBudget } from '../limits.js';
import { makeDataset, type Dataset } from './dataset.js';

export interface IdxArray {
  readonly shape: readonly number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { name: string; size: number }> = {
  0x08: { name: 'uint8', size: 1 }, 0x09: { name: 'int8', size: 1 }, 0x0b: { name: 'int16', size: 2 },
  0x0c: { name: 'int32', size: 4 }, 0x0d: { name: 'float32', size: 4 }, 0x0e: { name: 'float64', size: 8 },
};

export function parseIdx(input: Uint8Array, file = '<buffer>'): IdxArray {
  let buf = input;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    // A few kilobytes of gzip can inflate to gigabytes: stop at what the machine may hold.
    const max = Math.min(memoryBudget().bytes, MAX_TYPED_ARRAY_LENGTH);
    try { buf = gunzipSync(buf, { maxOutputLength: max }); } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new ParseError(file, 0, `a gzip stream inflating to at most ${max} bytes (PERENNIAL_MAX_BYTES)`, 'more', 0, 'gzip');
      throw new ParseError(file, 0, 'a valid gzip stream', (e as Error).message, 0, 'gzip');
    }
  }
  const fail = (offset: number, expected: string, found: string, field?: string): never => {
    throw new ParseError(file, 0, expected, found, offset, field);
  };
  if (buf.length < 4) fail(0, 'a 4-byte IDX magic', `${buf.length} bytes`, 'magic');
  if (buf[0] !== 0 || buf[1] !== 0) fail(0, 'two zero bytes starting the IDX magic', `${buf[0]} ${buf[1]}`, 'magic');
  const type = TYPES[buf[2]];
  if (!type) fail(2, 'an IDX type code (0x08, 0x09, 0x0B-0x0E)', `0x${buf[2].toString(16)}`, 'type');
  const ndim = buf[3];
  if (ndim === 0) fail(3, 'at least one dimension', '0', 'ndim');
  if (buf.length < 4 + 4 * ndim) fail(4, `${ndim} dimension sizes`, `${buf.length - 4} bytes`, 'dims');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  const bytes = count * type!.size;
  if (start + bytes !== buf.length) fail(start, `${bytes} data bytes for shape ${shape.join('x')}`, `${buf.length - start} bytes`, 'data');
  let data: IdxArray['data'];
  switch (type!.name) {
    // Real copies: Buffer#slice is a view whose .buffer does not start at `start`.
    case 'uint8': data = Uint8Array.prototype.slice.call(buf, start); break;
    case 'int8': data = new Int8Array(Uint8Array.prototype.slice.call(buf, start).buffer); break;
    default: {
      // IDX is big-endian: read element by element.
      const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type!.name as 'int16'];
      const out = new Ctor(count) as Int16Array | Int32Array | Float32Array | Float64Array;
      for (let i = 0; i < count; i++) {
        const o = start + i * type!.size;
        out[i] = type!.name === 'int16' ? dv.getInt16(o) : type!.name === 'int32' ? dv.getInt32(o) : type!.name === 'float32' ? dv.getFloat32(o) : dv.getFloat64(o);
      }
      data = out;
    }
  }
  return { shape, data };
}

export function readIdx(path: string): IdxArray {
  assertAllocatable(2 * statSync(path).size, `reading ${path}`);
  return parseIdx(readFileSync(path), path);
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

const FASHION_DIRS = ['/usr/share/datasets/fashion-mnist', '/usr/share/fashion-mnist'];

/** The folder holding Fashion-MNIST IDX files: PERENNIAL_FASHION_MNIST, then Debian's location. */
export function findFashionMnist(): string | null {
  const env = process.env.PERENNIAL_FASHION_MNIST;
  for (const d of env ? [env, ...FASHION_DIRS] : FASHION_DIRS) {
    if (existsSync(d) && idxFile(d, 'train-images-idx3-ubyte')) return d;
  }
  return null;
}

function idxFile(dir: string, stem: string): string | null {
  for (const f of [stem, `${stem}.gz`]) if (existsSync(join(dir, f))) return join(dir, f);
  return null;
}

/**
 * Load an MNIST-layout IDX folder (`train-images-idx3-ubyte[.gz]` etc.). Pixels are scaled to [0, 1].
 * `split` picks `train` or `t10k`.
 */
export function loadIdxFolder(dir: string, split: 'train' | 'test', classNames?: readonly string[]): Dataset {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgPath = idxFile(dir, `${prefix}-images-idx3-ubyte`);
  const lblPath = idxFile(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imgPath || !lblPath) throw new InputError(`${dir}: no ${prefix}-images-idx3-ubyte / ${prefix}-labels-idx1-ubyte (optionally .gz)`);
  const img = readIdx(imgPath);
  const lbl = readIdx(lblPath);
  if (img.shape.length !== 3) throw new ParseError(imgPath, 0, '3 dimensions (n, h, w)', `${img.shape.length}`, 3, 'ndim');
  if (lbl.shape.length !== 1 || lbl.shape[0] !== img.shape[0]) throw new ParseError(lblPath, 0, `${img.shape[0]} labels`, `shape ${lbl.shape.join('x')}`, 4, 'dims');
  const [n, h, w] = img.shape as [number, number, number];
  // An empty array's other dimensions are unchecked claims (nothing backs them): refuse it.
  if (n === 0 || h === 0 || w === 0) throw new ParseError(imgPath, 0, 'at least one image of at least 1x1 pixels', `shape ${img.shape.join('x')}`, 4, 'dims');
  for (let i = 0; i < n; i++) {
    const v = lbl.data[i];
    if (!(v >= 0 && v < MAX_CLASSES)) throw new ParseError(lblPath, 0, `class indices 0..${MAX_CLASSES - 1}`, `${v} at item ${i}`, 8, 'label');
  }
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i] / 255;
  const y = Int32Array.from(lbl.data as ArrayLike<number>);
  return makeDataset({ x, y, d: h * w, shape: [h, w, 1], classNames, source: `${imgPath}` });
}

export function loadFashionMnist(split: 'train' | 'test', dir = findFashionMnist()): Dataset {
  if (!dir) throw new InputError('Fashion-MNIST not found: install Debian dataset-fashion-mnist or set PERENNIAL_FASHION_MNIST to an IDX folder');
  return loadIdxFolder(dir, split, FASHION_MNIST_CLASSES);
}
