// CIFAR-10 and CIFAR-100 in their binary distribution (the "binary version" archives):
//   CIFAR-10:  data_batch_1.bin ... data_batch_5.bin, test_batch.bin; records of 1 label byte + 3072
//              pixel bytes; batches.meta.txt names the 10 classes.
//   CIFAR-100: train.bin, test.bin; records of 1 coarse + 1 fine label byte + 3072 pixel bytes;
//              fine_label_names.txt (100) and coarse_label_names.txt (20).
// Pixels are channel-major (1024 red, 1024 green, 1024 blue, each 32x32 row-major). The folder may
// be the archive's top folder (cifar-10-batches-bin/, cifar-100-binary/) or the one holding it.
// Pixels stay views into the file bytes: no copy is made until a batch is decoded.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, ParseError } from '../../core/errors.js';
import type { ImageItem } from '../images.js';
import { readNameFile, readWhole, type LoadedDataset, type Subset } from './common.js';

const SIDE = 32, PIXELS = 3 * SIDE * SIDE;
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;

/** The folder holding the .bin files: `dir` itself or the archive's folder inside it. */
function binFolder(dir: string, marker: string, inner: string): string {
  if (existsSync(join(dir, marker))) return dir;
  if (existsSync(join(dir, inner, marker))) return join(dir, inner);
  throw new InputError(`${dir}: no ${marker} (nor ${join(inner, marker)}); expected the binary CIFAR distribution`);
}

interface Layout { readonly labels: number; readonly limits: readonly number[]; readonly names: readonly string[] }

/** Records of one file; `labels[k][i]` = label k of record i, each checked against its limit. */
function parseRecords(file: string, bytes: Uint8Array, layout: Layout, items: ImageItem[], labelOf: (l: readonly number[]) => number, extra?: number[]): void {
  const rec = layout.labels + PIXELS;
  if (bytes.length === 0) throw new ParseError(file, 0, `records of ${rec} bytes`, 'an empty file', 0, 'record 0');
  const whole = Math.floor(bytes.length / rec);
  if (bytes.length % rec !== 0) throw new ParseError(file, 0, `records of ${rec} bytes (${layout.names.join(' + ')} + 3072 pixels)`, `record ${whole} truncated to ${bytes.length - whole * rec} bytes`, whole * rec, `record ${whole}`);
  for (let i = 0; i < whole; i++) {
    const o = i * rec;
    const l: number[] = [];
    for (let k = 0; k < layout.labels; k++) {
      const v = bytes[o + k];
      if (v >= layout.limits[k]) throw new ParseError(file, 0, `a ${layout.names[k]} in 0..${layout.limits[k] - 1}`, String(v), o + k, `record ${i} ${layout.names[k]}`);
      l.push(v);
    }
    items.push({ path: `${file}#${i}`, label: labelOf(l), pixels: { data: bytes.subarray(o + layout.labels, o + rec), width: SIDE, height: SIDE, channels: 3, layout: 'chw' } });
    extra?.push(l[0]);
  }
}

export function readCifar10(dir: string, subset: Subset): LoadedDataset {
  const root = binFolder(dir, 'test_batch.bin', 'cifar-10-batches-bin');
  const names = subset === 'train' ? CIFAR10_TRAIN_FILES : ['test_batch.bin'];
  const files = names.map((n) => join(root, n));
  for (const f of files) if (!existsSync(f)) throw new InputError(`${f} is missing (CIFAR-10 ${subset} needs ${names.join(', ')})`);
  const items: ImageItem[] = [];
  const layout: Layout = { labels: 1, limits: [10], names: ['label'] };
  for (const f of files) parseRecords(f, readWhole(f, 'CIFAR-10 batch'), layout, items, (l) => l[0]);
  const meta = join(root, 'batches.meta.txt');
  const classNames = existsSync(meta) ? readNameFile(meta, 10) : Array.from({ length: 10 }, (_, i) => String(i));
  return { kind: 'cifar10', subset, root, items, classNames, source: `cifar10:${root}@${subset}`, files: existsSync(meta) ? [...files, meta] : files };
}

export function readCifar100(dir: string, subset: Subset): LoadedDataset {
  const root = binFolder(dir, 'test.bin', 'cifar-100-binary');
  const f = join(root, `${subset}.bin`);
  if (!existsSync(f)) throw new InputError(`${f} is missing (CIFAR-100 ${subset})`);
  const items: ImageItem[] = [];
  const coarse: number[] = [];
  parseRecords(f, readWhole(f, 'CIFAR-100 file'), { labels: 2, limits: [20, 100], names: ['coarse label', 'fine label'] }, items, (l) => l[1], coarse);
  const fineP = join(root, 'fine_label_names.txt'), coarseP = join(root, 'coarse_label_names.txt');
  const classNames = existsSync(fineP) ? readNameFile(fineP, 100) : Array.from({ length: 100 }, (_, i) => String(i));
  const coarseClassNames = existsSync(coarseP) ? readNameFile(coarseP, 20) : Array.from({ length: 20 }, (_, i) => String(i));
  return {
    kind: 'cifar100', subset, root, items, classNames, source: `cifar100:${root}@${subset}`,
    files: [f, ...[fineP, coarseP].filter((p) => existsSync(p))], coarseLabels: Int32Array.from(coarse), coarseClassNames,
  };
}
