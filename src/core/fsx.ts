// File writes that never leave a half-written file under a final name, and never follow a
// symlink out of the folder the user asked for.
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve, relative, isAbsolute } from 'node:path';
import { InputError } from './errors.js';

let counter = 0;

/** Write `data` to `path` through a temp file in the same folder, fsync, then rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(resolve(path));
  mkdirSync(dir, { recursive: true });
  refuseSymlink(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Throws if `path` exists and is a symbolic link: outputs are never written through links. */
export function refuseSymlink(path: string): void {
  try {
    if (lstatSync(path).isSymbolicLink()) throw new InputError(`refusing to write through symbolic link ${path}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Resolve `child` under `root`; throws if the result escapes `root` (`..`, absolute paths). */
export function resolveInside(root: string, child: string): string {
  const r = resolve(root);
  const p = resolve(r, child);
  const rel = relative(r, p);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new InputError(`path ${child} escapes ${root}`);
  return p;
}

/** Refuse to overwrite one of the user's input files with an output. */
export function assertNotInput(output: string, inputs: readonly string[]): void {
  const o = resolve(output);
  for (const i of inputs) if (resolve(i) === o) throw new InputError(`output ${output} would overwrite input ${i}`);
}
