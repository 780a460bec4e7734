// Run records: every command that computes results writes one JSON file with what is needed to
// reproduce and compare it (command, config, seed, versions, backends, timings, metrics).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { collectedWarnings, type Warning } from './errors.js';
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

export function writeRecord(path: string, record: RunRecord<object>): void {
  writeJsonAtomic(path, record);
  // The run store indexes it too (runs/perennial.db, --store, PERENNIAL_STORE; off: PERENNIAL_STORE=off).
  indexWrittenRecord(path, record);
}
