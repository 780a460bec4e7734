// Run records: every command that computes results writes one JSON file with what is needed to
// reproduce and compare it (command, config, seed, versions, backends, timings, metrics).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { collectedWarnings, warn, type Warning } from './errors.js';
import { writeJsonAtomic } from './fsx.js';
import { linalgBackendName } from './linalg/index.js';
import { indexWrittenRecord } from './store/hook.js';

/** What every record carries besides its metrics, under the key `run`. */
export interface RunMeta {
  readonly command: string;
  readonly config: unknown;
  readonly seed: number | readonly number[] | null;
  readonly versions: Record<string, string>;
  readonly backend: { readonly linalg: string; readonly tfjs: string | null };
  readonly machine: { readonly cpus: number; readonly platform: string; readonly arch: string };
  readonly started: string;
  readonly wall_s: number;
  readonly timings: Record<string, number>;
  readonly warnings: readonly Warning[];
}

/**
 * A record file is the command's metrics at the top level (so each command's documented JSON
 * shape holds as written) plus `run` with the metadata.
 */
export type RunRecord<M extends object = Record<string, unknown>> = M & { readonly run: RunMeta };

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const DEPS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node', 'node-llama-cpp', 'sharp', 'vega', 'vega-lite'];

let versionsCache: Record<string, string> | null = null;
/** perennial, Node and the main dependencies' installed versions. */
export function versions(): Record<string, string> {
  if (versionsCache) return versionsCache;
  const req = createRequire(join(packageRoot, 'package.json'));
  const out: Record<string, string> = {};
  out.perennial = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  out.node = process.versions.node;
  for (const d of DEPS) {
    // Packages whose exports map hides package.json are read from the main entry's folder upward.
    out[d] = 'missing';
    for (const pj of candidatePackageJsons(req, d)) {
      try {
        const j = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version: string };
        if (j.name === d) { out[d] = j.version; break; }
      } catch { /* try the next candidate */ }
    }
  }
  versionsCache = out;
  return out;
}

function candidatePackageJsons(req: NodeRequire, name: string): string[] {
  const out: string[] = [];
  try { out.push(req.resolve(`${name}/package.json`)); } catch { /* hidden by exports */ }
  for (const base of req.resolve.paths(name) ?? []) out.push(join(base, name, 'package.json'));
  return out;
}

let tfjsBackendName: string | null = null;
/** Set by core/tensor when the training engine starts, so records name it. */
export function setTfjsBackendName(name: string): void {
  tfjsBackendName = name;
}

/** Times named phases of a run, and builds the record at the end. */
export class RunRecorder {
  private readonly t0 = performance.now();
  private readonly startedAt = new Date().toISOString();
  private readonly timings: Record<string, number> = {};
  constructor(readonly command: string, readonly config: unknown, readonly seed: number | readonly number[] | null) {}

  async time<T>(phase: string, fn: () => Promise<T> | T): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.timings[phase] = (this.timings[phase] ?? 0) + (performance.now() - t) / 1000;
    }
  }

  finish<M extends object>(metrics: M): RunRecord<M> {
    const run: RunMeta = {
      command: this.command,
      config: this.config,
      seed: this.seed,
      versions: versions(),
      backend: { linalg: linalgBackendName(), tfjs: tfjsBackendName },
      machine: { cpus: os.cpus().length, platform: process.platform, arch: process.arch },
      started: this.startedAt,
      wall_s: (performance.now() - this.t0) / 1000,
      timings: { ...this.timings },
      warnings: collectedWarnings(),
    };
    return { ...metrics, run };
  }
}

/** A record held NaN or Infinity with no reason beside it: a bug in the command that built it. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
}

/** Where a bare non-finite number sits: the path to the object holding the metric, and its key. */
export interface BareNonFinite {
  readonly path: readonly (string | number)[];
  readonly key: string;
  readonly value: number;
}

function hasReason(obj: Record<string, unknown>, key: string): boolean {
  const direct = obj[`${key}_reason`];
  if (typeof direct === 'string' && direct.length > 0) return true;
  const map = obj.reasons;
  if (map && typeof map === 'object' && !Array.isArray(map)) {
    const r = (map as Record<string, unknown>)[key];
    return typeof r === 'string' && r.length > 0;
  }
  return false;
}

/**
 * The NaN/Infinity values of a record that come without a reason. A metric that cannot be
 * computed is written as null (JSON has no NaN) with why beside it: `<key>_reason` or
 * `reasons[key]` in the same object. A non-finite number anywhere inside an array (of numbers or
 * nested arrays) belongs to the array's key; an object inside an array starts its own scope.
 */
export function findBareNonFinite(record: unknown): BareNonFinite[] {
  const out: BareNonFinite[] = [];
  const seen = new Set<object>();
  // holder: the object whose property `key` holds v (possibly through arrays); path: holder's path.
  const visit = (v: unknown, holder: Record<string, unknown> | null, path: (string | number)[], key: string | null): void => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v) && !(holder && key !== null && hasReason(holder, key))) out.push({ path, key: key ?? '', value: v });
      return;
    }
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    const inner = key === null ? path : [...path, key];
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      const arr = v as unknown as ArrayLike<unknown>;
      for (let i = 0; i < arr.length; i++) {
        const x = arr[i];
        if (x !== null && typeof x === 'object' && !Array.isArray(x) && !ArrayBuffer.isView(x)) visit(x, null, [...inner, i], null);
        else visit(x, holder, path, key);
      }
      return;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return;
    const obj = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(obj)) visit(x, obj, inner, k);
  };
  visit(record, null, [], null);
  return out;
}

/** Tests and PERENNIAL_STRICT_RECORDS=1 make a bare NaN an error; elsewhere the run's results are kept. */
function strictRecords(): boolean {
  const env = process.env.PERENNIAL_STRICT_RECORDS;
  return env === '1' || (env !== '0' && process.env.NODE_TEST_CONTEXT !== undefined);
}

/**
 * A NaN or Infinity without a reason throws RecordError under the test runner (and with
 * PERENNIAL_STRICT_RECORDS=1); otherwise it is written as null with a generated reason and a
 * warning, so a long run is not thrown away for one metric. Returns what is to be written.
 */
export function checkRecord<R extends object>(path: string, record: R): R {
  const bare = findBareNonFinite(record);
  if (bare.length === 0) return record;
  const where = (b: BareNonFinite): string => [...b.path, b.key].join('.');
  const msg = `record ${path}: ${bare.length} NaN/Infinity value${bare.length === 1 ? '' : 's'} without a reason (${bare.slice(0, 5).map((b) => `${where(b)} = ${b.value}`).join(', ')}${bare.length > 5 ? ', ...' : ''})`;
  if (strictRecords()) throw new RecordError(msg);
  warn('record-bare-nonfinite', msg);
  const copy = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
  for (const b of bare) {
    let o: unknown = copy;
    for (const seg of b.path) o = (o as Record<string | number, unknown> | undefined)?.[seg];
    if (!o || typeof o !== 'object' || Array.isArray(o)) continue;
    const holder = o as Record<string, unknown>;
    const why = `${b.value} with no reason given by the command (written as null)`;
    if (holder.reasons === undefined) holder.reasons = {};
    if (holder.reasons && typeof holder.reasons === 'object' && !Array.isArray(holder.reasons)) (holder.reasons as Record<string, string>)[b.key] ??= why;
    else holder[`${b.key}_reason`] ??= why;
  }
  const run = copy.run as { warnings?: Warning[] } | undefined;
  if (run && Array.isArray(run.warnings)) run.warnings.push({ code: 'record-bare-nonfinite', message: msg });
  return copy as R;
}

export function writeRecord(path: string, record: RunRecord<object>): void {
  const checked = checkRecord(path, record);
  writeJsonAtomic(path, checked);
  // The run store indexes it too (runs/perennial.db, --store, PERENNIAL_STORE; off: PERENNIAL_STORE=off).
  indexWrittenRecord(path, checked);
}
