// Footprint windows: one-minute bars, each a table of (price, sell volume, buy volume) rows.
// Prices are kept as integer ticks so that level comparisons never use float equality; the tick
// size (0.25 for E-mini S&P futures) turns them back into prices for text and prompts.
import { ParseError, InputError } from '../core/errors.js';

export interface FootprintRow {
  /** Price in ticks (price / tick, an integer). */
  readonly priceTicks: number;
  readonly sell: number;
  readonly buy: number;
}

export interface FootprintTable {
  readonly index: number;
  /** Rows from the highest price down, one row per price level, no duplicates. */
  readonly rows: readonly FootprintRow[];
}

export interface FootprintWindow {
  /** Stable id (generator: `<seed>-<index>`). */
  readonly id?: string;
  /** Price step, e.g. 0.25. */
  readonly tick: number;
  /** Range tables first, the breakout bar last. */
  readonly tables: readonly FootprintTable[];
}

/** Ticks -> price string with as many decimals as the tick needs (0.25 -> 2). */
export function formatPrice(priceTicks: number, tick: number): string {
  return (priceTicks * tick).toFixed(tickDecimals(tick));
}

export function tickDecimals(tick: number): number {
  for (let d = 0; d <= 8; d++) if (Math.abs(Math.round(tick * 10 ** d) - tick * 10 ** d) < 1e-9) return d;
  return 8;
}

/** Price -> integer ticks; null when the price is not on the tick grid. */
export function priceToTicks(price: number, tick: number): number | null {
  const t = price / tick;
  const r = Math.round(t);
  return Math.abs(t - r) < 1e-6 ? r : null;
}

/** Structural checks: positive tick, >= 2 tables, rows strictly descending, volumes non-negative integers. */
export function validateWindow(w: FootprintWindow, where = 'window'): void {
  if (!(typeof w.tick === 'number' && w.tick > 0 && Number.isFinite(w.tick))) throw new InputError(`${where}: tick must be a positive number, got ${String(w.tick)}`);
  if (!Array.isArray(w.tables) || w.tables.length < 2) throw new InputError(`${where}: needs at least 2 tables (range + breakout bar), got ${Array.isArray(w.tables) ? w.tables.length : typeof w.tables}`);
  w.tables.forEach((t, ti) => {
    if (!Array.isArray(t.rows) || t.rows.length === 0) throw new InputError(`${where}: table ${ti} has no rows`);
    let prev = Infinity;
    (t.rows as readonly FootprintRow[]).forEach((r: FootprintRow, ri: number) => {
      const f = `${where}: table ${ti} row ${ri}`;
      if (!Number.isInteger(r.priceTicks)) throw new InputError(`${f}: priceTicks must be an integer, got ${String(r.priceTicks)}`);
      if (!(Number.isInteger(r.sell) && r.sell >= 0)) throw new InputError(`${f}: sell must be a non-negative integer, got ${String(r.sell)}`);
      if (!(Number.isInteger(r.buy) && r.buy >= 0)) throw new InputError(`${f}: buy must be a non-negative integer, got ${String(r.buy)}`);
      if (!(r.priceTicks < prev)) throw new InputError(`${f}: prices must strictly decrease down the table (${r.priceTicks} after ${prev})`);
      prev = r.priceTicks;
    });
  });
}

/**
 * The text form, one line per table: `Table k: Sell Buy Price s b p s b p ...`, rows from the
 * highest price down. Tables are numbered from 0.
 */
export function renderFootprintText(w: FootprintWindow): string {
  return w.tables.map((t, i) => {
    const cells = t.rows.map((r) => `${r.sell} ${r.buy} ${formatPrice(r.priceTicks, w.tick)}`).join(' ');
    return `Table ${i}: Sell Buy Price ${cells}`;
  }).join('\n');
}

export interface ParseFootprintOptions {
  /** Price step (default 0.25). */
  readonly tick?: number;
  /** File name for error messages. */
  readonly file?: string;
  /** Line number of the first line of `text` within the file (default 1). */
  readonly firstLine?: number;
}

const HEADER = /^Table\s+(\d+)\s*(:?)\s*Sell\s+Buy\s+Price\b/i;

/**
 * Parse the text form into a window. Accepts two upstream quirks: tables numbered from 1 instead
 * of 0 (upstream windows with nine range tables), and a header without the colon. Tables are
 * reindexed 0..n-1 in file order; numbering must increase by one. Errors name line and field.
 */
export function parseFootprintText(text: string, opts: ParseFootprintOptions = {}): FootprintWindow {
  const tick = opts.tick ?? 0.25;
  const file = opts.file ?? '<text>';
  const first = opts.firstLine ?? 1;
  const tables: FootprintTable[] = [];
  let expectIndex: number | null = null;
  const lines = text.split(/\r?\n/);
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li].trim();
    const lineNo = first + li;
    if (line === '') continue;
    const m = HEADER.exec(line);
    if (!m) throw new ParseError(file, lineNo, '"Table k: Sell Buy Price"', line, -1, 'header');
    const k = Number(m[1]);
    if (expectIndex === null) {
      if (k !== 0 && k !== 1) throw new ParseError(file, lineNo, 'first table numbered 0 or 1', m[1], -1, 'table index');
    } else if (k !== expectIndex) {
      throw new ParseError(file, lineNo, `table number ${expectIndex}`, m[1], -1, 'table index');
    }
    expectIndex = k + 1;
    const toks = line.slice(m[0].length).trim().split(/\s+/).filter(Boolean);
    if (toks.length === 0) throw new ParseError(file, lineNo, 'rows of "sell buy price"', '', -1, `table ${k}`);
    if (toks.length % 3 !== 0) throw new ParseError(file, lineNo, 'a multiple of 3 numbers (sell buy price)', `${toks.length} numbers`, -1, `table ${k}`);
    const rows: FootprintRow[] = [];
    let prev = Infinity;
    for (let j = 0; j < toks.length; j += 3) {
      const r = j / 3;
      const sell = Number(toks[j]), buy = Number(toks[j + 1]), price = Number(toks[j + 2]);
      if (!(Number.isInteger(sell) && sell >= 0)) throw new ParseError(file, lineNo, 'a non-negative integer', toks[j], -1, `table ${k} row ${r} sell`);
      if (!(Number.isInteger(buy) && buy >= 0)) throw new ParseError(file, lineNo, 'a non-negative integer', toks[j + 1], -1, `table ${k} row ${r} buy`);
      if (!Number.isFinite(price)) throw new ParseError(file, lineNo, 'a price', toks[j + 2], -1, `table ${k} row ${r} price`);
      const pt = priceToTicks(price, tick);
      if (pt === null) throw new ParseError(file, lineNo, `a price on the ${tick} tick grid`, toks[j + 2], -1, `table ${k} row ${r} price`);
      if (!(pt < prev)) throw new ParseError(file, lineNo, 'prices strictly decreasing down the table', toks[j + 2], -1, `table ${k} row ${r} price`);
      prev = pt;
      rows.push({ priceTicks: pt, sell, buy });
    }
    tables.push({ index: tables.length, rows });
  }
  if (tables.length < 2) throw new ParseError(file, first + lines.length - 1, 'at least 2 tables', `${tables.length}`, -1, 'tables');
  return { tick, tables };
}

/**
 * Several windows in one text file, separated by blank lines or a `# id` comment line per window.
 */
export function parseFootprintTextFile(text: string, opts: ParseFootprintOptions = {}): FootprintWindow[] {
  const lines = text.split(/\r?\n/);
  const out: FootprintWindow[] = [];
  let start = -1;
  let id: string | undefined;
  const flush = (end: number): void => {
    if (start < 0) return;
    const w = parseFootprintText(lines.slice(start, end).join('\n'), { ...opts, firstLine: (opts.firstLine ?? 1) + start });
    out.push(id !== undefined ? { ...w, id } : w);
    start = -1;
    id = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l === '') { flush(i); continue; }
    if (l.startsWith('#')) { flush(i); id = l.slice(1).trim() || undefined; continue; }
    if (start < 0) start = i;
  }
  flush(lines.length);
  return out;
}

/** A window from its JSON form (the fixture format), with errors naming file, line and field. */
export function windowFromJson(value: unknown, file = '<json>', line = 1): FootprintWindow {
  if (typeof value !== 'object' || value === null) throw new ParseError(file, line, 'a JSON object', typeof value, -1, 'window');
  const v = value as Record<string, unknown>;
  if (typeof v.tick !== 'number' || !(v.tick > 0)) throw new ParseError(file, line, 'a positive number', JSON.stringify(v.tick) ?? 'undefined', -1, 'tick');
  if (!Array.isArray(v.tables)) throw new ParseError(file, line, 'an array', JSON.stringify(v.tables) ?? 'undefined', -1, 'tables');
  const tables: FootprintTable[] = v.tables.map((t: unknown, ti: number) => {
    const tt = t as Record<string, unknown> | null;
    if (typeof tt !== 'object' || tt === null || !Array.isArray(tt.rows)) throw new ParseError(file, line, 'a table {index, rows: [...]}', JSON.stringify(t) ?? 'undefined', -1, `tables[${ti}]`);
    const rows = (tt.rows as unknown[]).map((r: unknown, ri: number) => {
      const rr = r as Record<string, unknown> | null;
      const f = `tables[${ti}].rows[${ri}]`;
      if (typeof rr !== 'object' || rr === null) throw new ParseError(file, line, 'a row {priceTicks, sell, buy}', JSON.stringify(r) ?? 'undefined', -1, f);
      for (const k of ['priceTicks', 'sell', 'buy'] as const) {
        if (typeof rr[k] !== 'number' || !Number.isInteger(rr[k]) || (k !== 'priceTicks' && (rr[k] as number) < 0)) {
          throw new ParseError(file, line, k === 'priceTicks' ? 'an integer' : 'a non-negative integer', JSON.stringify(rr[k]) ?? 'undefined', -1, `${f}.${k}`);
        }
      }
      return { priceTicks: rr.priceTicks as number, sell: rr.sell as number, buy: rr.buy as number };
    });
    return { index: ti, rows };
  });
  const w: FootprintWindow = { ...(typeof v.id === 'string' ? { id: v.id } : {}), tick: v.tick, tables };
  try {
    validateWindow(w);
  } catch (e) {
    throw new ParseError(file, line, 'a well-formed footprint window', (e as Error).message, -1, 'tables');
  }
  return w;
}

/** Rows of one table as a map from priceTicks. */
export function rowMap(t: FootprintTable): Map<number, FootprintRow> {
  const m = new Map<number, FootprintRow>();
  for (const r of t.rows) m.set(r.priceTicks, r);
  return m;
}

export function tableHigh(t: FootprintTable): number {
  return t.rows[0].priceTicks;
}
export function tableLow(t: FootprintTable): number {
  return t.rows[t.rows.length - 1].priceTicks;
}
