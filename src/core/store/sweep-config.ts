// Sweep files: a perennial command, fixed arguments and a grid. Each grid point is one job whose
// id is the hash of its fully resolved command line, so the same point always has the same id.
import { createHash } from 'node:crypto';
import { parseConfigText, readConfigText } from '../yaml.js';
import { z } from 'zod';
import { InputError } from '../errors.js';

export const MAX_SWEEP_FILE = 1024 * 1024;
export const MAX_JOBS = 100_000;

const scalar = z.union([z.string(), z.number().refine(Number.isFinite, 'a finite number'), z.boolean()]);
const flag = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an option name such as seed or sigma-u');

export const SweepSchema = z.strictObject({
  command: z.string().regex(/^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/, 'a perennial command such as "theory regression"'),
  args: z.record(flag, z.union([scalar, z.array(scalar).min(1)])).default({}),
  grid: z.record(flag, z.array(scalar).min(1, 'a non-empty list of values')),
  /** Tries per job before it counts as failed (a worker that dies counts as one). */
  attempts: z.number().int().min(1).max(20).default(3),
  /** Seconds one try may run before it is stopped and counted as failed. */
  timeout: z.number().positive().max(7 * 24 * 3600).default(24 * 3600),
  /** Also write each job's HTML report (for commands with --html). */
  html: z.boolean().default(false),
});
export type SweepSpec = z.infer<typeof SweepSchema>;

export interface Job {
  readonly id: string;
  /** The command line after `perennial`, without the --json/--html outputs the runner adds. */
  readonly argv: readonly string[];
  readonly point: Readonly<Record<string, string | number | boolean>>;
}

export interface Sweep {
  readonly file: string;
  readonly spec: SweepSpec;
  readonly id: string;
  readonly jobs: readonly Job[];
}

const RESERVED = new Set(['json', 'html', 'store', 'help']);

function toArg(v: string | number | boolean | readonly (string | number | boolean)[]): string {
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}

/** The resolved command line of one grid point: fixed args and the point, keys sorted. */
export function resolveArgv(spec: SweepSpec, point: Record<string, string | number | boolean>): string[] {
  const all: Record<string, string | number | boolean | readonly (string | number | boolean)[]> = { ...spec.args, ...point };
  const argv = spec.command.split(' ');
  for (const k of Object.keys(all).sort()) {
    const v = all[k];
    if (v === false) continue;
    argv.push(`--${k}`);
    if (v !== true) argv.push(toArg(v));
  }
  return argv;
}

/** A job's id: 16 hex digits of the SHA-256 of its command line. */
export function jobId(argv: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(['perennial', ...argv])).digest('hex').slice(0, 16);
}

/** Checks a parsed spec against the commands that exist: the key path at fault and what was expected. */
export type SweepCheck = (spec: SweepSpec) => { path: (string | number)[]; expected: string; found: string } | null;

export function parseSweepText(text: string, file: string, check?: SweepCheck): Sweep {
  const parsed = parseConfigText(text, file, SweepSchema, { what: 'sweep file', rootKey: 'sweep', keyNoun: 'sweep key', knownKeys: Object.keys(SweepSchema.shape) });
  const spec = parsed.data;
  for (const k of [...Object.keys(spec.args), ...Object.keys(spec.grid)]) {
    if (RESERVED.has(k)) parsed.fail(k in spec.grid ? ['grid', k] : ['args', k], `an option other than --${k} (the sweep writes each job's record into the store itself)`, k);
  }
  for (const k of Object.keys(spec.grid)) {
    if (k in spec.args) parsed.fail(['grid', k], 'a key in grid or args, not both', k);
  }
  const bad = check?.(spec);
  if (bad) parsed.fail(bad.path, bad.expected, bad.found);
  let n = 1;
  for (const vs of Object.values(spec.grid)) n *= vs.length;
  if (n > MAX_JOBS) throw new InputError(`${file}: the grid has ${n} points; at most ${MAX_JOBS} jobs per sweep`);
  const keys = Object.keys(spec.grid);
  const points: Record<string, string | number | boolean>[] = [{}];
  for (const k of keys) {
    const next: Record<string, string | number | boolean>[] = [];
    for (const p of points) for (const v of spec.grid[k]) next.push({ ...p, [k]: v });
    points.splice(0, points.length, ...next);
  }
  const jobs = points.map((point) => { const argv = resolveArgv(spec, point); return { id: jobId(argv), argv, point }; });
  const dup = jobs.find((j, i) => jobs.findIndex((x) => x.id === j.id) !== i);
  if (dup) throw new InputError(`${file}: the grid lists the point ${JSON.stringify(dup.point)} twice`);
  const id = createHash('sha256').update(jobs.map((j) => j.id).sort().join(',')).digest('hex').slice(0, 12);
  return { file, spec, id, jobs };
}

export function readSweep(file: string, check?: SweepCheck): Sweep {
  return readConfigText(file, MAX_SWEEP_FILE, 'sweep file', (text) => parseSweepText(text, file, check));
}
