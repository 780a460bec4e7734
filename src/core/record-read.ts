// Reading run records back (the JSON files written by writeRecord): a malformed or truncated file
// gives a ParseError naming file, line and the field at fault, never a bare SyntaxError.
import { readFileSync } from 'node:fs';
import { InputError, ParseError } from './errors.js';
import type { RunMeta, RunRecord } from './record.js';
import { lineOfOffset as lineOf, parseJsonText } from './json.js';

/** Parse the text of a run record; checks the `run` metadata that every record carries. */
export function parseRecord(text: string, file = '<record>'): RunRecord<Record<string, unknown>> {
  const value = parseJsonText(text, file, 'a JSON run record');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ParseError(file, 1, 'a JSON object', Array.isArray(value) ? 'an array' : String(value), -1, 'record');
  }
  const rec = value as Record<string, unknown>;
  const run = rec.run as Record<string, unknown> | undefined;
  const runLine = (): number => {
    const at = text.indexOf('"run"');
    return at >= 0 ? lineOf(text, at) : 1;
  };
  if (typeof run !== 'object' || run === null || Array.isArray(run)) throw new ParseError(file, runLine(), 'a "run" metadata object', JSON.stringify(run) ?? 'undefined', -1, 'run');
  const need = (k: keyof RunMeta, ok: (v: unknown) => boolean, what: string): void => {
    if (!ok(run[k])) throw new ParseError(file, runLine(), what, JSON.stringify(run[k]) ?? 'undefined', -1, `run.${k}`);
  };
  const isObj = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  need('command', (v) => typeof v === 'string', 'a command name');
  need('started', (v) => typeof v === 'string' && Number.isFinite(Date.parse(v)), 'an ISO start time');
  need('wall_s', (v) => typeof v === 'number' && v >= 0, 'wall seconds >= 0');
  need('timings', (v) => isObj(v) && Object.values(v as object).every((x) => typeof x === 'number'), 'phase -> seconds');
  need('warnings', (v) => Array.isArray(v), 'a list of warnings');
  need('seed', (v) => v === null || typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number')), 'a seed, a list of seeds or null');
  return rec as RunRecord<Record<string, unknown>>;
}

export function readRecord(path: string): RunRecord<Record<string, unknown>> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new InputError(`cannot read run record ${path}: ${(e as Error).message}`); }
  return parseRecord(text, path);
}

/** A record without what varies between identical runs (timings, start time, wall time, versions). */
export function recordResults(rec: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { run, ...rest } = rec;
  const r = (run ?? {}) as Record<string, unknown>;
  return { ...rest, run: { command: r.command, config: r.config, seed: r.seed } };
}
