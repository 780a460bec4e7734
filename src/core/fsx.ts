// File writes that never leave a half-written file under a final name, and never follow a
// symlink out of the folder the user asked for.
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve, relative, isAbsolute, sep } from 'node:path';
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

/**
 * Write `data` to `path` through a temp file in the same folder, fsync, then rename. A target that
 * is a folder, or a parent that is a file, is refused before any temp file exists; any later
 * failure (write, fsync, rename) removes the temp file, so nothing is left beside the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  // One spelling for the folder, the temp file and the rename, so they always agree.
  const target = resolve(path);
  const dir = dirname(target);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') throw new InputError(`cannot write ${path}: ${fileAncestor(dir) ?? dir} is a file, not a folder`);
    throw e;
  }
  refuseSymlink(path);
  try {
    if (statSync(target).isDirectory()) throw new InputError(`cannot write ${path}: it is a folder`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!swept.has(target)) {
    swept.add(target);
    sweepStaleTemps(target);
  }
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${counter++}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  let open = true;
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    renameSync(tmp, target);
  } catch (e) {
    if (open) try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

/** The nearest existing ancestor of `dir` that is not a folder (why a mkdir failed), if any. */
function fileAncestor(dir: string): string | null {
  for (let cur = dir; ; cur = dirname(cur)) {
    try {
      return statSync(cur).isDirectory() ? null : cur;
    } catch { /* missing or unreadable: look further up */ }
    if (dirname(cur) === cur) return null;
  }
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

// ---------------------------------------------------------------------------------------------
// Output guard: no command writes over a file it reads, and no two outputs are one file.

/**
 * Every name under which `path` is one file: the real path (symlinks followed, `..` resolved), the
 * real path of the nearest existing parent folder joined with the rest for a file that does not
 * exist yet, and the device/inode pair when it exists (hard links). Two paths are the same file
 * when these sets meet.
 */
export function fileIdentity(path: string): string[] {
  const abs = resolve(path);
  const keys = new Set<string>();
  keys.add(`p:${realOfPossiblyMissing(abs)}`);
  // The real parent + the name, for a link whose own entry the write would replace.
  keys.add(`p:${join(realOfPossiblyMissing(dirname(abs)), basename(abs))}`);
  for (const p of new Set([path, abs])) {
    try { keys.add(`p:${realpathSync.native(p)}`); } catch { /* missing: the parent's key stands */ }
    try {
      const s = statSync(p);
      keys.add(`i:${s.dev}:${s.ino}`);
    } catch { /* missing */ }
  }
  return [...keys];
}

function realOfPossiblyMissing(abs: string): string {
  const rest: string[] = [];
  for (let cur = abs; ; cur = dirname(cur)) {
    try {
      return join(realpathSync.native(cur), ...rest);
    } catch { /* missing (or a file in the middle): go up */ }
    if (dirname(cur) === cur) return abs;
    rest.unshift(basename(cur));
  }
}

type Role = 'input' | 'output' | 'output-folder' | 'cache' | 'input-folder';

interface GuardEntry {
  readonly role: Role;
  /** What names the file for the user: an option (`--json`), or a description (`the .hkl beside --res`). */
  readonly what: string;
  readonly path: string;
  readonly keys: readonly string[];
  /** input-folder: the files of the folder the command reads. */
  readonly match?: RegExp;
  /** A file every command reads and writes without an option naming it (the run store). */
  readonly implicit?: boolean;
}

const implicitFiles: (() => { path: string; what: string } | null)[] = [];

/**
 * A file that commands read and write without naming it (the run store that every record is
 * indexed in): every guard's check refuses an output that is that file. `f` is called at check
 * time (the path may come from the environment) and returns null when there is none.
 */
export function registerImplicitFile(f: () => { path: string; what: string } | null): void {
  implicitFiles.push(f);
}

const writes = (r: Role): boolean => r === 'output' || r === 'output-folder' || r === 'cache';
const reads = (r: Role): boolean => r === 'input' || r === 'cache' || r === 'input-folder';

/**
 * One check per command, before anything is read or written: register every file the command
 * reads (`input`), writes (`output`), or both (`cache`: read if present, then appended or
 * replaced), and every folder it reads files from (`inputFolder`); `check()` throws an InputError
 * naming both options and paths when an output is the same file as an input or as another output.
 * Undefined, null, false and '' paths are ignored, so optional options can be passed as they are.
 *
 *   outputGuard().input(o.res, '--res').output(o.out, '--out').output(o.json, '--json').check();
 */
export class OutputGuard {
  private readonly entries: GuardEntry[] = [];

  private add(role: Role, path: unknown, what: string, match?: RegExp): this {
    if (typeof path !== 'string' || path === '') return this;
    this.entries.push({ role, what, path, keys: fileIdentity(path), ...(match ? { match } : {}) });
    return this;
  }

  input(path: string | null | undefined | false, what: string): this { return this.add('input', path, what); }
  inputs(paths: readonly string[] | undefined, what: string): this { for (const p of paths ?? []) this.add('input', p, what); return this; }
  output(path: string | null | undefined | false, what: string): this { return this.add('output', path, what); }
  cache(path: string | null | undefined | false, what: string): this { return this.add('cache', path, what); }
  /** A folder the command writes files into (created when missing). */
  outputFolder(path: string | null | undefined | false, what: string): this { return this.add('output-folder', path, what); }
  /**
   * A folder the command reads files from (recursively). `match` limits which files it reads
   * (tested on the path inside the folder, '/'-separated); default: all of them.
   */
  inputFolder(path: string | null | undefined | false, what: string, match?: RegExp): this { return this.add('input-folder', path, what, match); }

  /** Throws InputError for the first clash: output = input, output = output, output inside a read folder. */
  check(): void {
    for (const e of this.entries) if (writes(e.role)) checkWritable(e);
    const es = [...this.entries];
    for (const f of implicitFiles) {
      const x = f();
      if (x) es.push({ role: 'cache', what: x.what, path: x.path, keys: fileIdentity(x.path), implicit: true });
    }
    for (let i = 0; i < es.length; i++) {
      for (let j = 0; j < es.length; j++) {
        if (i === j) continue;
        const a = es[i], b = es[j];
        if (!writes(a.role) || a.implicit) continue;
        // A command may name the store itself (`--store`); only a plain output must not be it.
        if (b.implicit && a.role !== 'output') continue;
        if (b.role === 'input-folder') {
          if (inside(a, b)) throw new InputError(`${a.what} ${a.path} is inside ${b.what} ${b.path}, whose files the command reads: write it elsewhere`);
          continue;
        }
        if (!a.keys.some((k) => b.keys.includes(k))) continue;
        if (a.what === b.what && a.path === b.path) continue; // the same registration twice
        if (reads(b.role)) throw new InputError(`${a.what} ${a.path} is the same file as ${b.what} ${b.path}: refusing to overwrite an input`);
        if (j > i) throw new InputError(`${a.what} ${a.path} and ${b.what} ${b.path} are the same file: give each output its own path`);
      }
    }
  }
}

/** A file output that is a folder, a folder output that is a file, or a parent that is a file: refused before any work. */
function checkWritable(e: GuardEntry): void {
  const abs = resolve(e.path);
  let st;
  try { st = statSync(abs); } catch { st = null; }
  if (st) {
    if (e.role === 'output-folder' && !st.isDirectory()) throw new InputError(`${e.what} ${e.path} is a file, not a folder`);
    if (e.role !== 'output-folder' && st.isDirectory()) throw new InputError(`${e.what} ${e.path} is a folder, not a file`);
    return;
  }
  const f = fileAncestor(dirname(abs));
  if (f) throw new InputError(`cannot write ${e.what} ${e.path}: ${f} is a file, not a folder`);
}

/** An output lies in a folder the command reads, and is (or would be) one of the files it reads. */
function inside(out: GuardEntry, folder: GuardEntry): boolean {
  const roots = folder.keys.filter((k) => k.startsWith('p:')).map((k) => k.slice(2));
  const paths = out.keys.filter((k) => k.startsWith('p:')).map((k) => k.slice(2));
  for (const r of roots) {
    for (const p of paths) {
      if (p !== r && !p.startsWith(r.endsWith(sep) ? r : r + sep)) continue;
      // `match` sees the path inside the folder with '/' separators ('seed-2/state.json').
      if (!folder.match || p === r || folder.match.test(relative(r, p).split(sep).join('/'))) return true;
    }
  }
  return false;
}

export function outputGuard(): OutputGuard {
  return new OutputGuard();
}

/** The guard in one call: `guardOutputs({ inputs: { '--res': o.res }, outputs: { '--out': o.out, '--json': o.json } })`. */
export function guardOutputs(spec: {
  inputs?: Record<string, string | readonly string[] | null | undefined | false>;
  outputs?: Record<string, string | null | undefined | false>;
  caches?: Record<string, string | null | undefined | false>;
}): void {
  const g = outputGuard();
  for (const [what, p] of Object.entries(spec.inputs ?? {})) {
    if (Array.isArray(p)) g.inputs(p, what);
    else g.input(p as string | null | undefined | false, what);
  }
  for (const [what, p] of Object.entries(spec.caches ?? {})) g.cache(p, what);
  for (const [what, p] of Object.entries(spec.outputs ?? {})) g.output(p, what);
  g.check();
}

/**
 * Refuse to overwrite one of the user's input files with an output (real paths and inodes, as the
 * guard compares them). Kept for callers outside the CLI; commands use `outputGuard()`.
 */
export function assertNotInput(output: string, inputs: readonly string[]): void {
  const g = outputGuard().output(output, 'output');
  for (const i of inputs) g.input(i, 'input');
  g.check();
}
