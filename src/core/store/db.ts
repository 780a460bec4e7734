// The run store: an embedded SQLite index over the JSON run records. The JSON files stay the
// source of truth (`perennial runs import DIR` rebuilds the index from them); the database only
// makes listing, filtering and comparing cheap.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { InputError } from '../errors.js';

// better-sqlite3 ships no types; the few calls the store makes, typed here.
export interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
export interface Db {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string, opts?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate(...args: A): R };
  close(): void;
  readonly open: boolean;
}
type Driver = new (file: string, opts: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Db;

/** The default store, relative to the working folder: `runs/perennial.db`. */
export const DEFAULT_STORE = 'runs/perennial.db';

/** `--store PATH`, else `PERENNIAL_STORE`, else runs/perennial.db; "off" (env only) turns indexing off. */
export function resolveStorePath(flag?: string): string {
  const p = flag ?? process.env.PERENNIAL_STORE ?? DEFAULT_STORE;
  return resolve(p);
}

/** True when PERENNIAL_STORE=off: records are written but not indexed. */
export function indexingOff(): boolean {
  return process.env.PERENNIAL_STORE === 'off' || process.env.PERENNIAL_STORE === '';
}

/**
 * Schema migrations, in order: migration k (1-based) takes a store from version k-1 to k. A store
 * records its version in `PRAGMA user_version`; a newer one than this code knows is refused
 * rather than guessed at.
 */
export const MIGRATIONS: readonly string[] = [
  // v1: one row per record file.
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     path TEXT NOT NULL UNIQUE,
     command TEXT NOT NULL,
     job TEXT UNIQUE,
     created TEXT NOT NULL,
     seed TEXT,
     method TEXT,
     dataset TEXT,
     config TEXT,
     metrics TEXT NOT NULL,
     curves TEXT,
     record TEXT,
     wall_s REAL,
     indexed TEXT NOT NULL
   );
   CREATE INDEX runs_command ON runs(command);
   CREATE INDEX runs_created ON runs(created);`,
  // v2: sweep jobs (what ran, how often, the last error), so a rerun can retry the failed ones.
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     sweep TEXT NOT NULL,
     argv TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     updated TEXT NOT NULL
   );
   CREATE INDEX jobs_sweep ON jobs(sweep);`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

let loaded: Driver | null = null;
function driver(): Driver {
  if (!loaded) loaded = createRequire(import.meta.url)('better-sqlite3') as Driver;
  return loaded;
}

export interface OpenOptions {
  /** Open without creating or migrating (serve, list). */
  readonly readonly?: boolean;
  /** Milliseconds to wait for another process's write lock (default 5000, PERENNIAL_STORE_BUSY_MS). */
  readonly busyMs?: number;
}

/** Opens (creating and migrating unless read-only) the store at `path`. */
export function openStore(path: string, opts: OpenOptions = {}): Db {
  const file = resolve(path);
  const busy = opts.busyMs ?? (Number(process.env.PERENNIAL_STORE_BUSY_MS) || 5000);
  let db: Db;
  try {
    if (!opts.readonly) mkdirSync(dirname(file), { recursive: true });
    const D = driver();
    db = new D(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: busy });
  } catch (e) {
    throw new InputError(`cannot open run store ${file}: ${(e as Error).message}`);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new InputError(`run store ${file} has schema version ${version}, newer than this perennial knows (${SCHEMA_VERSION}): upgrade perennial, or point --store at another file`);
    }
    if (opts.readonly) {
      if (version < SCHEMA_VERSION) throw new InputError(`run store ${file} has schema version ${version} (current ${SCHEMA_VERSION}): run \`perennial runs import\` or any indexing command once to migrate it`);
      return db;
    }
    // WAL: readers (serve, list) never block the writers that index records, and vice versa.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, version);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function migrate(db: Db, from: number): void {
  for (let v = from; v < SCHEMA_VERSION; v++) {
    // Each step and its version bump commit together, so a crash mid-migration leaves the old version.
    db.transaction(() => {
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now !== v) return; // another process migrated it meanwhile
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
