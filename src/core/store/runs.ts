// Indexing records into the store and reading them back: list with filters, show, compare.
import { readFileSync, readdirSync, lstatSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { parseRecord } from '../record-read.js';
import { openStore, resolveStorePath, type Db } from './db.js';
import { datasetOf, extract, methodOf, recordId, variantOf, type Series } from './extract.js';

/** Records larger than this are indexed without their text (show/serve then read the file). */
export const MAX_STORED_RECORD = 4 * 1024 * 1024;
/** Record files larger than this are not imported (one line on stderr instead). */
export const MAX_IMPORT_RECORD = 256 * 1024 * 1024;

export interface RunRow {
  readonly id: string;
  readonly path: string;
  readonly command: string;
  readonly job: string | null;
  readonly created: string;
  readonly seed: number | readonly number[] | null;
  readonly method: string | null;
  readonly dataset: string | null;
  readonly config: unknown;
  readonly metrics: Record<string, number>;
  readonly wall_s: number | null;
}

export interface RunDetail extends RunRow {
  readonly series: Record<string, Series>;
  readonly record: Record<string, unknown> | null;
}

interface RawRow {
  id: string; path: string; command: string; job: string | null; created: string; seed: string | null; method: string | null;
  dataset: string | null; config: string | null; metrics: string; curves: string | null; record: string | null; wall_s: number | null;
}

const toRow = (r: RawRow): RunRow => ({
  id: r.id, path: r.path, command: r.command, job: r.job, created: r.created,
  seed: r.seed === null ? null : (JSON.parse(r.seed) as number | number[] | null), method: r.method, dataset: r.dataset,
  config: r.config === null ? null : JSON.parse(r.config), metrics: JSON.parse(r.metrics) as Record<string, number>, wall_s: r.wall_s,
});

export interface ListFilter {
  readonly command?: string;
  readonly method?: string;
  readonly dataset?: string;
  /** ISO date or date-time: runs created at or after it. */
  readonly since?: string;
  readonly job?: string;
  readonly limit?: number;
}

export class RunStore {
  readonly path: string;
  readonly db: Db;
  constructor(path: string, opts: { readonly?: boolean } = {}) {
    this.path = resolve(path);
    this.db = openStore(this.path, opts);
  }

  static open(flag?: string, opts: { readonly?: boolean } = {}): RunStore {
    return new RunStore(resolveStorePath(flag), opts);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Index one record file. The row is keyed by the file's path (a file rewritten in place replaces
   * its row) and by its sweep job, when it has one (a job retried after its worker died still
   * leaves one row).
   */
  index(path: string, text: string, job: string | null = jobOfEnv()): string {
    const file = resolve(path);
    const rec = parseRecord(text, file);
    const run = rec.run;
    const id = recordId(text);
    const ex = extract(rec);
    const created = typeof run.started === 'string' ? run.started : new Date().toISOString();
    const stmt = this.db.prepare(`INSERT INTO runs (id, path, command, job, created, seed, method, dataset, config, metrics, curves, record, wall_s, indexed)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const del = this.db.prepare('DELETE FROM runs WHERE path = ? OR id = ? OR (job IS NOT NULL AND job = ?)');
    this.db.transaction(() => {
      del.run(file, id, job);
      stmt.run(id, file, run.command, job, created, JSON.stringify(run.seed ?? null), methodOf(run.config), datasetOf(run.config),
        JSON.stringify(run.config ?? null), JSON.stringify(ex.metrics), JSON.stringify(ex.series),
        text.length <= MAX_STORED_RECORD ? text : null, typeof run.wall_s === 'number' ? run.wall_s : null, new Date().toISOString());
    }).immediate();
    return id;
  }

  /** Index every *.json record under `dir` (recursively); files that are not records are counted, not fatal. */
  importDir(dir: string, onSkip: (file: string, why: string) => void = () => {}): { indexed: number; skipped: number } {
    let indexed = 0, skipped = 0;
    const walk = (d: string, depth: number): void => {
      if (depth > 16) return;
      let names: string[];
      try { names = readdirSync(d).sort(); } catch (e) { throw new InputError(`cannot read ${d}: ${(e as Error).message}`); }
      for (const name of names) {
        const p = join(d, name);
        const st = lstatSync(p);
        if (st.isSymbolicLink()) continue;
        if (st.isDirectory()) { walk(p, depth + 1); continue; }
        if (!name.endsWith('.json') || name.startsWith('.')) continue;
        if (st.size > MAX_IMPORT_RECORD) { skipped++; onSkip(p, `larger than ${MAX_IMPORT_RECORD} bytes`); continue; }
        const text = readFileSync(p, 'utf8');
        try {
          this.index(p, text, jobOfPath(p));
          indexed++;
        } catch (e) {
          skipped++;
          onSkip(p, (e as Error).message);
        }
      }
    };
    walk(resolve(dir), 0);
    return { indexed, skipped };
  }

  list(f: ListFilter = {}): RunRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.command) { where.push('command = ?'); args.push(f.command); }
    if (f.method) { where.push("(',' || method || ',') LIKE ?"); args.push(`%,${f.method},%`); }
    if (f.dataset) { where.push('dataset = ?'); args.push(f.dataset); }
    if (f.job) { where.push('job = ?'); args.push(f.job); }
    if (f.since) {
      const t = Date.parse(f.since);
      if (!Number.isFinite(t)) throw new InputError(`--since expects a date (2026-12-01 or an ISO time), got ${JSON.stringify(f.since)}`);
      where.push('created >= ?');
      args.push(new Date(t).toISOString());
    }
    const limit = Math.min(Math.max(1, f.limit ?? 10000), 100000);
    const sql = `SELECT id, path, command, job, created, seed, method, dataset, config, metrics, wall_s FROM runs
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created DESC, id LIMIT ${limit}`;
    return (this.db.prepare(sql).all(...args) as RawRow[]).map(toRow);
  }

  /** A run by id or by a unique id prefix (at least 4 characters). */
  get(id: string): RunDetail {
    if (!/^[0-9a-f]{4,64}$/.test(id)) throw new InputError(`run id must be 4 to 64 hex digits, got ${JSON.stringify(id)}`);
    const rows = this.db.prepare('SELECT * FROM runs WHERE id LIKE ? LIMIT 2').all(`${id}%`) as RawRow[];
    if (rows.length === 0) throw new InputError(`no run ${id} in the store ${this.path}`);
    if (rows.length > 1) throw new InputError(`run id ${id} is ambiguous in ${this.path}: give more digits`);
    const r = rows[0];
    let record: Record<string, unknown> | null = null;
    const text = r.record ?? (() => { try { return readFileSync(r.path, 'utf8'); } catch { return null; } })();
    if (text !== null) { try { record = JSON.parse(text) as Record<string, unknown>; } catch { record = null; } }
    return { ...toRow(r), series: JSON.parse(r.curves ?? '{}') as Record<string, Series>, record };
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
  }

  jobsDone(ids: readonly string[]): Set<string> {
    const out = new Set<string>();
    const q = this.db.prepare('SELECT job FROM runs WHERE job = ?');
    for (const id of ids) if (q.get(id)) out.add(id);
    return out;
  }

  setJob(id: string, sweep: string, argv: readonly string[], state: 'queued' | 'running' | 'done' | 'failed', error: string | null = null, attempts?: number): void {
    this.db.prepare(`INSERT INTO jobs (id, sweep, argv, state, attempts, error, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET sweep = excluded.sweep, argv = excluded.argv, state = excluded.state,
        attempts = COALESCE(?, jobs.attempts), error = excluded.error, updated = excluded.updated`)
      .run(id, sweep, JSON.stringify(argv), state, attempts ?? 0, error, new Date().toISOString(), attempts ?? null);
  }

  jobStates(ids: readonly string[]): Map<string, { state: string; error: string | null; attempts: number }> {
    const out = new Map<string, { state: string; error: string | null; attempts: number }>();
    const q = this.db.prepare('SELECT state, error, attempts FROM jobs WHERE id = ?');
    for (const id of ids) {
      const r = q.get(id) as { state: string; error: string | null; attempts: number } | undefined;
      if (r) out.set(id, r);
    }
    return out;
  }
}

/** The sweep job a process runs as (set by the sweep worker for the job's child process). */
export function jobOfEnv(): string | null {
  const j = process.env.PERENNIAL_JOB;
  return j && /^[0-9a-f]{8,64}$/.test(j) ? j : null;
}

/** Sweep records live at <store folder>/jobs/<job id>.json, so a rebuilt index knows their jobs. */
export function jobOfPath(path: string): string | null {
  const m = /[\\/]jobs[\\/]([0-9a-f]{16})\.json$/.exec(path);
  return m ? m[1] : null;
}
