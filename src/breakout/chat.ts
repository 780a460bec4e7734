// Chat-format fine-tuning JSONL (`{"messages": [{role, content}, ...]}` per line, as the BreakGPT
// repository ships its training files and as `breakout export` writes them) read back into
// footprint windows. The user message holds the tables (upstream: all on one line, `Table k: Sell
// Buy Price s b p ...`, followed by the question); the assistant message holds the upstream answer,
// which is kept in the window's meta for comparison and never used as gold: the published labels
// are not fully mechanical (method note, section 2), so `label` and `eval` label imported windows
// with the rules like any other. A line that cannot be used is reported with its number and the
// reason, and the rest are still imported.
import { basename, extname } from 'node:path';
import { InputError, ParseError, warn } from '../core/errors.js';
import { parseFootprintText, priceToTicks, type FootprintWindow } from './footprint.js';
import type { WindowMeta, WindowRecord } from './dataset.js';
import { labelFootprint, isComplete, type Direction } from './label.js';

/** What the assistant message says, as far as it can be read (null where it says nothing). */
export interface UpstreamAnswer {
  readonly verdict: boolean | null;
  readonly direction: 'upward' | 'downward' | null;
  readonly level: number | null;
}

export interface SkippedLine {
  readonly line: number;
  readonly reason: string;
}

export interface ChatImportOptions {
  /** Price step; default: the "price step is X" sentence of the prompt when there is one, else 0.25. */
  readonly tick?: number;
  /** Window ids are `<prefix>-L<line>` (default: the file name without its extension). */
  readonly idPrefix?: string;
}

export interface ChatImportResult {
  readonly records: WindowRecord[];
  readonly skipped: SkippedLine[];
  /** Non-blank lines in the file. */
  readonly lines: number;
  /** Lines whose tables repeat an earlier line's window (the multi-stage file asks each stage of one window on its own line): merged into that window. */
  readonly merged: number;
  /** Upstream answers against the rule labeller, over windows where both give one. */
  readonly agreement: { readonly verdict: Agreement; readonly direction: Agreement; readonly level: Agreement };
}

export interface Agreement { readonly agree: number; readonly n: number }

const HEADER = /Table\s*(\d+)\s*:?\s*Sell\s+Buy\s+Price\b/gi;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * The footprint window in a user message: every `Table k ... Sell Buy Price` header and the
 * numbers after it, one table per line, then the one footprint parser. The last table ends at the
 * first word that is not a number (the question follows it). Throws a ParseError whose field
 * names the table and row.
 */
export function footprintFromChat(content: string, opts: { tick?: number; file?: string; line?: number } = {}): FootprintWindow {
  const file = opts.file ?? '<chat>', line = opts.line ?? 1;
  const heads = [...content.matchAll(HEADER)];
  if (heads.length === 0) throw new ParseError(file, line, 'footprint tables ("Table k: Sell Buy Price s b p ...") in the user message', content, -1, 'user');
  const tick = opts.tick ?? stepOf(content) ?? 0.25;
  const text = heads.map((h, i) => {
    const from = h.index! + h[0].length;
    const body = content.slice(from, i + 1 < heads.length ? heads[i + 1].index : content.length).trim().split(/\s+/).filter(Boolean);
    const cells = i + 1 < heads.length ? body : body.slice(0, leadingNumbers(body));
    return `Table ${h[1]}: Sell Buy Price ${cells.join(' ')}`;
  }).join('\n');
  try {
    return parseFootprintText(text, { tick, file, firstLine: line });
  } catch (e) {
    // The tables were one line in the file: every error is on the JSONL line itself.
    if (e instanceof ParseError) throw new ParseError(file, line, e.expected, e.found, -1, `user: ${e.field ?? 'tables'}`);
    throw e;
  }
}

function leadingNumbers(toks: readonly string[]): number {
  let k = 0;
  while (k < toks.length && NUMBER.test(toks[k])) k++;
  return k;
}

/** The tick stated in our own prompts ("The price step is 0.25."). */
function stepOf(content: string): number | null {
  const m = /price step is\s+(\d+(?:\.\d+)?)/i.exec(content);
  const v = m ? Number(m[1]) : NaN;
  return v > 0 ? v : null;
}

/**
 * The answer in an assistant message: our export's JSON `{reason, answer}` (answer true/false,
 * "upward"/"downward" or a level), or upstream prose, read by its fixed phrases: the last
 * "true/false breakout", "breakout direction is upward/downward", "resistance level is X".
 */
export function upstreamAnswer(content: string): UpstreamAnswer {
  let verdict: boolean | null = null, direction: 'upward' | 'downward' | null = null, level: number | null = null;
  const t = content.trim();
  if (t.startsWith('{')) {
    try {
      const a = (JSON.parse(t) as { answer?: unknown }).answer;
      if (typeof a === 'boolean') verdict = a;
      else if (a === 'upward' || a === 'downward') direction = a;
      else if (typeof a === 'number' && Number.isFinite(a)) level = a;
      return { verdict, direction, level };
    } catch { /* prose that happens to start with a brace */ }
  }
  const verdicts = [...t.matchAll(/\b(true|false)\s+breakout\b/gi)];
  if (verdicts.length) verdict = verdicts[verdicts.length - 1][1].toLowerCase() === 'true';
  const d = /breakout direction is\s+(upward|downward)/i.exec(t);
  if (d) direction = d[1].toLowerCase() as 'upward' | 'downward';
  const l = /resistance level is\s+(\d+(?:\.\d+)?)/i.exec(t);
  if (l) level = Number(l[1]);
  return { verdict, direction, level };
}

interface Message { role: string; content: string }

/** A message's text: a string, or OpenAI-style parts `[{"type": "text", "text": ...}]` joined; null for anything else. */
function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const parts = content.map((p) => (typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : null));
  return parts.every((p): p is string => p !== null) ? parts.join('\n') : null;
}

/** The messages of one parsed line, or the reason the line has none usable. */
function messagesOf(v: unknown): Message[] | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `expected a JSON object {"messages": [...]}, found ${Array.isArray(v) ? 'an array' : typeof v}`;
  const ms = (v as { messages?: unknown }).messages;
  if (!Array.isArray(ms)) return 'no "messages" array';
  const out: Message[] = [];
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i] as { role?: unknown; content?: unknown } | null;
    const content = typeof m === 'object' && m !== null ? textOf(m.content) : null;
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string' || content === null) return `messages[${i}] is not {"role": string, "content": string or text parts}`;
    out.push({ role: m.role, content });
  }
  return out;
}

const tableKey = (w: FootprintWindow): string => JSON.stringify([w.tick, w.tables.map((t) => t.rows)]);

interface Pending { record: WindowRecord; lines: number[]; upstream: { verdict: boolean | null; direction: 'upward' | 'downward' | null; level: number | null } }

/**
 * Read chat JSONL text into window records (fixture format; meta carries the source lines and
 * the upstream answer). Unusable lines are returned with their reasons and warned about; throws
 * an InputError only when no line gives a window.
 */
export function importChatJsonl(text: string, file = '<chat.jsonl>', opts: ChatImportOptions = {}): ChatImportResult {
  if (opts.tick !== undefined && !(opts.tick > 0 && Number.isFinite(opts.tick))) throw new InputError(`tick must be a positive number, got ${opts.tick}`);
  const prefix = opts.idPrefix ?? basename(file, extname(file));
  const name = basename(file);
  const skipped: SkippedLine[] = [];
  const byTables = new Map<string, Pending>();
  const order: Pending[] = [];
  let lines = 0, merged = 0;
  const skip = (line: number, reason: string): void => {
    skipped.push({ line, reason });
    warn('breakout.import-chat.line', `${file}:${line}: ${reason}; line not used`);
  };
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const s = rows[i].trim();
    if (s === '') continue;
    lines++;
    const line = i + 1;
    let v: unknown;
    try { v = JSON.parse(s); } catch (e) { skip(line, `not valid JSON (a torn or edited line): ${(e as Error).message}`); continue; }
    const ms = messagesOf(v);
    if (typeof ms === 'string') { skip(line, ms); continue; }
    const user = ms.filter((m) => m.role === 'user');
    const assistant = ms.filter((m) => m.role === 'assistant');
    if (user.length === 0) { skip(line, 'no user message (it holds the footprint tables)'); continue; }
    if (assistant.length === 0) { skip(line, 'no assistant message (the answer of the example)'); continue; }
    let w: FootprintWindow;
    try {
      w = footprintFromChat(user[user.length - 1].content, { ...(opts.tick !== undefined ? { tick: opts.tick } : {}), file, line });
    } catch (e) {
      if (e instanceof ParseError) { skip(line, `footprint not parsable (${e.field ?? 'user'}): expected ${e.expected}, found ${JSON.stringify(e.found.length > 60 ? `${e.found.slice(0, 60)}...` : e.found)}`); continue; }
      throw e;
    }
    const up = upstreamAnswer(assistant[assistant.length - 1].content);
    const key = tableKey(w);
    const prev = byTables.get(key);
    if (prev) {
      merged++;
      prev.lines.push(line);
      for (const k of ['verdict', 'direction', 'level'] as const) {
        const a = prev.upstream[k], b = up[k];
        if (b === null) continue;
        if (a === null) (prev.upstream as Record<string, unknown>)[k] = b;
        else if (a !== b) warn('breakout.import-chat.conflict', `${file}:${line}: upstream ${k} ${String(b)} differs from ${String(a)} given for the same tables at line ${prev.lines[0]}; kept the first`);
      }
      continue;
    }
    const p: Pending = { record: { window: { ...w, id: `${prefix}-L${line}` } }, lines: [line], upstream: { ...up } };
    byTables.set(key, p);
    order.push(p);
  }
  if (lines === 0) throw new InputError(`${file}: no lines (expected chat JSONL, one {"messages": [...]} object per line)`);
  if (order.length === 0) {
    const first = skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`).join('; ');
    throw new InputError(`${file}: none of the ${lines} lines gives a footprint window (${first}${skipped.length > 3 ? '; ...' : ''})`);
  }
  const agree = { verdict: { agree: 0, n: 0 }, direction: { agree: 0, n: 0 }, level: { agree: 0, n: 0 } };
  const records = order.map((p) => {
    const w = p.record.window;
    const l = labelFootprint(w);
    const ruleDir: Direction = l.direction;
    if (p.upstream.verdict !== null && isComplete(l)) { agree.verdict.n++; if (p.upstream.verdict === l.verdict) agree.verdict.agree++; }
    if (p.upstream.direction !== null && ruleDir !== 'none') { agree.direction.n++; if (p.upstream.direction === ruleDir) agree.direction.agree++; }
    if (p.upstream.level !== null && l.levelTicks !== null) { agree.level.n++; if (priceToTicks(p.upstream.level, w.tick) === l.levelTicks) agree.level.agree++; }
    const meta: WindowMeta = { source: { file: name, lines: p.lines }, upstream: p.upstream };
    return { window: w, meta };
  });
  return { records, skipped, lines, merged, agreement: agree };
}
