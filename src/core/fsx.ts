// File writes that never leave a half-written file under a final name, and never follow a
// symlink out of the folder the user asked for.
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve, relative, isAbsolute } from 'node:path';
import { InputError } from './errors.js';

let counter = 0;
const swept = new Set<string>();

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temp files that an interrupted write of `path` left behind (`.NAME.PID.N.tmp` whose PID
 * is no longer running). Runs once per target per process, so a loop of checkpoint writes pays
 * for one directory listing. Returns the names removed.
 */
export function sweepStaleTemps(path: string): string[] {
  const dir = dirname(resolve(path));
  const prefix = `.${basename(path)}.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch { /* raced with another sweeper */ }
  }
  return removed;
}

/** Write `data` to `path` through a temp file in the same folder, fsync, then rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(resolve(path));
  mkdirSync(dir, { recursive: true });
  refuseSymlink(path);
  const key = resolve(path);
  if (!swept.has(key)) {
    swept.add(key);
    sweepStaleTemps(path);
  }
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
