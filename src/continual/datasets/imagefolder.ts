// `imagefolder:DIR`: the ImageFolder layout (one sub-folder per class), with the splits PILOT and
// RanPAC ship beside it:
//   DIR/train.txt, DIR/test.txt   "path label" per line, paths relative to DIR (split files win);
//   DIR/train/, DIR/test/         one ImageFolder per split (class lists must be the same);
//   DIR alone                     the whole folder is the training split.
// Split-file parsing is images.ts's readSplitFile; on top of it every listed file must exist
// (named by line), and class names come from the folders when each label lives in one folder.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, ParseError } from '../../core/errors.js';
import { listImageFolder, readSplitFile, type ImageList } from '../images.js';
import type { LoadedDataset, Subset } from './common.js';

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

export function readImageFolder(dir: string, subset: Subset): LoadedDataset {
  if (!isDir(dir)) throw new InputError(`imagefolder:${dir} is not a folder`);
  const split = join(dir, `${subset}.txt`);
  if (existsSync(split)) {
    const list = readSplitFile(split, dir);
    checkListed(split, list);
    return { ...list, classNames: folderNames(list), kind: 'imagefolder', subset, source: `imagefolder:${split}`, files: [split] };
  }
  const sub = join(dir, subset);
  if (isDir(sub)) {
    const list = listImageFolder(sub);
    const other = join(dir, subset === 'train' ? 'test' : 'train');
    if (isDir(other)) {
      const o = listImageFolder(other).classNames;
      if (o.join('\n') !== list.classNames.join('\n')) throw new InputError(`${sub} and ${other} hold different class folders (${list.classNames.length} and ${o.length}); labels would not agree`);
    }
    return { ...list, kind: 'imagefolder', subset, source: `imagefolder:${sub}`, files: [] };
  }
  if (subset === 'test') throw new InputError(`imagefolder:${dir} has no test split (test.txt or test/)`);
  return { ...listImageFolder(dir), kind: 'imagefolder', subset, source: `imagefolder:${dir}`, files: [] };
}

/** Every path of a split file exists, checked up front so the error names the line. */
function checkListed(file: string, list: ImageList): void {
  // readSplitFile skips blank and comment lines: count the kept lines to name the right one.
  list.items.forEach((it, i) => {
    if (!existsSync(it.path)) throw new ParseError(file, lineOfItem(file, i), 'a path to an existing image', it.path, -1, 'path');
  });
}

function lineOfItem(file: string, index: number): number {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  let k = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l || l.startsWith('#')) continue;
    if (++k === index) return i + 1;
  }
  return 0;
}

/** Folder names as class names when each label's files share one parent folder, distinct per label; else the label numbers. */
function folderNames(list: ImageList): readonly string[] {
  const names = new Map<number, Set<string>>();
  for (const it of list.items) {
    let s = names.get(it.label);
    if (!s) names.set(it.label, (s = new Set()));
    s.add(basename(dirname(it.path)));
  }
  const out = list.classNames.map((n, i) => { const s = names.get(i); return s && s.size === 1 ? [...s][0] : null; });
  if (out.some((n) => n === null) || new Set(out).size !== out.length) return list.classNames;
  return out as string[];
}
