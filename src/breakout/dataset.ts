// Window sets on disk: JSONL, one window per line in the fixture format
// `{ id, tick, tables: [{ index, rows: [{ priceTicks, sell, buy }] }], gold?, meta? }`.
// Reading is per line: a malformed line becomes a counted error item, never a crash, so that an
// evaluation over a partly broken file still reports on the rest.
import { readFileSync } from 'node:fs';
import { ParseError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsx.js';
import { formatPrice, windowFromJson, type FootprintWindow } from './footprint.js';
import { labelFootprint, type Aggregation, type BreakoutLabel, type Direction, type Side } from './label.js';
import type { DifficultyKind, GeneratedWindow } from './generate.js';

/** The gold answers stored with a window (from the rule labeller). */
export interface GoldLabel {
  readonly direction: Direction;
  readonly levelTicks: number | null;
  /** The level as a price (levelTicks * tick). */
  readonly level: number | null;
  readonly side: Side;
  readonly verdict: boolean | null;
  readonly rationale: string;
  readonly aggregation: Aggregation;
  readonly ruleVersion: string;
}

export interface WindowMeta {
  readonly seed?: number;
  readonly index?: number;
  readonly kind?: DifficultyKind;
  /** Windows read from a chat JSONL file (`breakout import-chat`): its name and the lines that held these tables. */
  readonly source?: { readonly file: string; readonly lines: readonly number[] };
  /** What the imported example's assistant message answered (null where it says nothing); kept for comparison, never gold. */
  readonly upstream?: { readonly verdict: boolean | null; readonly direction: 'upward' | 'downward' | null; readonly level: number | null };
}

export interface WindowRecord {
  readonly window: FootprintWindow;
  readonly gold?: GoldLabel;
  readonly meta?: WindowMeta;
}

/** One line of a JSONL file: a record, or the error that line produced. */
export type WindowItem =
  | { readonly line: number; readonly id: string; readonly record: WindowRecord; readonly error?: undefined }
  | { readonly line: number; readonly id: string; readonly record?: undefined; readonly error: string };

export function goldFromLabel(l: BreakoutLabel, tick: number): GoldLabel {
  return {
    direction: l.direction, levelTicks: l.levelTicks, level: l.levelTicks === null ? null : Number(formatPrice(l.levelTicks, tick)),
    side: l.strongerSide, verdict: l.verdict, rationale: l.rationale, aggregation: l.aggregation, ruleVersion: l.ruleVersion,
  };
}

export function recordFromGenerated(g: GeneratedWindow, aggregation: Aggregation = 'volume'): WindowRecord {
  return { window: g.window, gold: goldFromLabel(labelFootprint(g.window, { aggregation }), g.window.tick), meta: { seed: g.seed, index: g.index, kind: g.kind } };
}

export function recordToJson(r: WindowRecord): Record<string, unknown> {
  return { id: r.window.id, tick: r.window.tick, tables: r.window.tables, ...(r.gold ? { gold: r.gold } : {}), ...(r.meta ? { meta: r.meta } : {}) };
}

export function windowsToJsonl(records: readonly WindowRecord[]): string {
  return records.map((r) => JSON.stringify(recordToJson(r))).join('\n') + (records.length ? '\n' : '');
}

export function writeWindowsJsonl(path: string, records: readonly WindowRecord[]): void {
  writeFileAtomic(path, windowsToJsonl(records));
}

/** Parse JSONL text; each line yields a record or an error (file:line (field): message). */
export function parseWindowsJsonl(text: string, file = '<jsonl>'): WindowItem[] {
  const out: WindowItem[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s === '') continue;
    const line = i + 1;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      out.push({ line, id: `line${line}`, error: new ParseError(file, line, 'a JSON object', s, -1, 'json').message });
      continue;
    }
    const id = typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : `line${line}`;
    try {
      const w = windowFromJson(v, file, line);
      const o = v as { gold?: unknown; meta?: unknown };
      out.push({ line, id, record: { window: { ...w, id }, ...(o.gold ? { gold: o.gold as GoldLabel } : {}), ...(o.meta ? { meta: o.meta as WindowMeta } : {}) } });
    } catch (e) {
      out.push({ line, id, error: (e as Error).message });
    }
  }
  assertUniqueWindowIds(out, file);
  return out;
}

/**
 * Window ids key the completion cache, the resume state and per-window comparisons, so two
 * windows with one id are an error naming both lines.
 */
export function assertUniqueWindowIds(items: readonly WindowItem[], file: string, unit: 'line' | 'window' = 'line'): void {
  const first = new Map<string, number>();
  for (const it of items) {
    const prev = first.get(it.id);
    if (prev !== undefined) throw new ParseError(file, unit === 'line' ? it.line : 0, `a window id not used before (${JSON.stringify(it.id)} is the id at ${unit} ${prev})`, it.id, -1, 'id');
    first.set(it.id, it.line);
  }
}

export function readWindowsJsonl(path: string): WindowItem[] {
  return parseWindowsJsonl(readFileSync(path, 'utf8'), path);
}
