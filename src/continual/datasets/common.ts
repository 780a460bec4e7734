// What every dataset reader returns, and the checks they share: whole-file reads bounded by the
// memory budget, class-name files, and the one error for a file that does not parse.
import { readFileSync, statSync } from 'node:fs';
import { InputError, ParseError } from '../../core/errors.js';
import { assertAllocatable } from '../../core/limits.js';
import type { ImageList } from '../images.js';

export type DatasetKind = 'cifar10' | 'cifar100' | 'mnist' | 'imagefolder';
export const DATASET_KINDS: readonly DatasetKind[] = ['cifar10', 'cifar100', 'mnist', 'imagefolder'];
export type Subset = 'train' | 'test';
export const SUBSETS: readonly Subset[] = ['train', 'test'];

/** An image listing (files or in-memory pixels) with where it came from. */
export interface LoadedDataset extends ImageList {
  readonly kind: DatasetKind;
  readonly subset: Subset;
  /** Every file read to build the listing (the output guard treats them as inputs). */
  readonly files: readonly string[];
  /** CIFAR-100 only: the coarse (superclass) label of each item, and the superclass names. */
  readonly coarseLabels?: Int32Array;
  readonly coarseClassNames?: readonly string[];
}

/** A whole binary file, refused before reading when the memory budget cannot hold it. */
export function readWhole(path: string, what: string): Uint8Array {
  let size: number;
  try { size = statSync(path).size; } catch (e) { throw new InputError(`cannot read ${what} ${path}: ${(e as Error).message}`); }
  assertAllocatable(size, `reading ${what} ${path}`);
  // A view, not a copy: the pixels of every record stay views into these bytes.
  try { const b = readFileSync(path); return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); } catch (e) { throw new InputError(`cannot read ${what} ${path}: ${(e as Error).message}`); }
}

/**
 * A class-name file: one name per line, trailing blank lines ignored (CIFAR's batches.meta.txt
 * ends with several). It must name exactly `count` classes; a blank line among the names is an
 * error on that line.
 */
export function readNameFile(path: string, count: number): string[] {
  let size: number;
  try { size = statSync(path).size; } catch (e) { throw new InputError(`cannot read class names ${path}: ${(e as Error).message}`); }
  // A name file of a few classes is a few kilobytes; a huge one is not a name file.
  if (size > 64 * 1024 * 1024) throw new ParseError(path, 0, 'a class-name file of at most 64 MiB', `${size} bytes`, 0, 'size');
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const blank = lines.indexOf('');
  if (blank >= 0) throw new ParseError(path, blank + 1, 'a class name', '');
  if (lines.length !== count) throw new ParseError(path, Math.min(lines.length, count) + 1, `${count} class names, one per line`, `${lines.length} names`);
  return lines;
}
