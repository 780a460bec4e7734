// A backtest of breakout signals on OHLCV candles. Each signal at bar s (known at its close) is
// entered at the open of bar s+1 (long on upward, short on downward breakouts) and exited at the
// close N bars later. Slippage S moves each fill against the trade and commission C is paid on
// each side:
//   long  r = P_exit (1-S)(1-C) / (P_entry (1+S)(1+C)) - 1
//   short r = P_entry (1-S)(1-C) / (P_exit (1+S)(1+C)) - 1
// One position at a time: a signal at or before the open trade's exit bar is skipped (counted).
// Trades compound on the whole equity, so total return and drawdown are those of closed trades.
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { InputError, ParseError, warn } from '../core/errors.js';
import type { VegaLiteSpec } from '../core/report.js';
import { SectionBuilder, type Section } from '../core/report.js';
import type { Candles } from './ohlcv.js';

export type SignalDirection = 'up' | 'down';

export interface Signal {
  readonly index: number;
  readonly direction: SignalDirection;
}

export interface BacktestOptions {
  /** Bars from entry to exit (exit at the close of entry_index + hold). */
  readonly hold: number;
  /** Commission per side, as a fraction (0.001 = 10 bp). */
  readonly commission: number;
  /** Slippage per fill, as a fraction of the price. */
  readonly slippage: number;
  readonly longOnly: boolean;
}

export interface Trade {
  readonly signal_index: number;
  readonly entry_index: number;
  readonly exit_index: number;
  readonly side: 'long' | 'short';
  /** Raw open of the entry bar (before slippage). */
  readonly entry_price: number;
  /** Raw close of the exit bar (before slippage). */
  readonly exit_price: number;
  readonly return: number;
}

export interface BuyAndHold {
  readonly entry_index: number;
  readonly exit_index: number;
  readonly entry_price: number;
  readonly exit_price: number;
  /** One long round trip with the same slippage and commission. */
  readonly return: number;
}

export interface BacktestResult {
  readonly trades: Trade[];
  readonly n_signals: number;
  readonly n_trades: number;
  /** Signals not traded, by reason. */
  readonly skipped: { readonly overlap: number; readonly past_end: number; readonly short_long_only: number };
  /** Compounded: prod(1 + r) - 1 (null with a reason when there are no trades). */
  readonly total_return: number | null;
  /** Share of trades with r > 0. */
  readonly hit_rate: number | null;
  /** Sum of gains over the absolute sum of losses. */
  readonly profit_factor: number | null;
  /** Largest fall of the closed-trade equity from its running peak (starting at 1), as a fraction. */
  readonly max_drawdown: number | null;
  /** Mean over sample standard deviation of the trade returns: per trade, not annualised. */
  readonly sharpe: number | null;
  /** Why a rate is null. */
  readonly null_reasons: Readonly<Record<string, string>>;
  /** Long from the first trade's entry to the last trade's exit (the whole file when there are no trades). */
  readonly buy_and_hold: BuyAndHold | null;
  readonly options: BacktestOptions;
  readonly warnings: readonly string[];
}

/** Most signals a file may list (each becomes an object in memory and in the record). */
export const MAX_SIGNALS = 1_000_000;
const MAX_SIGNAL_FILE_BYTES = 256 << 20;

export function backtestOptions(o: Partial<BacktestOptions>): BacktestOptions {
  const hold = o.hold ?? 5, commission = o.commission ?? 0, slippage = o.slippage ?? 0;
  if (!(Number.isInteger(hold) && hold >= 0 && hold <= 1_000_000)) throw new InputError(`--hold must be an integer in [0, 1000000], got ${hold}`);
  if (!(Number.isFinite(commission) && commission >= 0 && commission < 1)) throw new InputError(`--commission must be a fraction in [0, 1), got ${commission}`);
  if (!(Number.isFinite(slippage) && slippage >= 0 && slippage < 1)) throw new InputError(`--slippage must be a fraction in [0, 1), got ${slippage}`);
  return { hold, commission, slippage, longOnly: o.longOnly ?? false };
}

/** The formulas of the header comment. */
export function tradeReturn(side: 'long' | 'short', entry: number, exit: number, commission: number, slippage: number): number {
  const out = (1 - slippage) * (1 - commission), inn = (1 + slippage) * (1 + commission);
  return side === 'long' ? (exit * out) / (entry * inn) - 1 : (entry * out) / (exit * inn) - 1;
}

function refuseBadPrice(c: Candles, i: number, which: 'open' | 'close'): number {
  const p = which === 'open' ? c.open[i] : c.close[i];
  // A return needs a positive price at both ends; zero or negative quotes (spreads, rolled
  // futures) make the ratio meaningless, so they are refused rather than turned into +-Infinity.
  if (!(Number.isFinite(p) && p > 0)) throw new InputError(`bar ${i}: the ${which} price is ${p}; the backtest needs positive prices at entries and exits`);
  return p;
}

export function backtest(c: Candles, signalsIn: readonly Signal[], optsIn: Partial<BacktestOptions> = {}): BacktestResult {
  const o = backtestOptions(optsIn);
  const signals = [...signalsIn].sort((a, b) => a.index - b.index);
  const warnings: string[] = [];
  const note = (code: string, msg: string): void => { warnings.push(msg); warn(code, msg); };
  const trades: Trade[] = [];
  let overlap = 0, pastEnd = 0, shortSkipped = 0;
  let lastExit = -1;
  for (const s of signals) {
    if (!(Number.isInteger(s.index) && s.index >= 0 && s.index < c.n)) throw new InputError(`signal at bar ${s.index} is outside the candles (0..${c.n - 1})`);
    if (o.longOnly && s.direction === 'down') { shortSkipped++; continue; }
    if (s.index <= lastExit) { overlap++; continue; }
    const entry = s.index + 1, exit = entry + o.hold;
    if (exit >= c.n) { pastEnd++; continue; }
    const side = s.direction === 'up' ? 'long' : 'short';
    const pe = refuseBadPrice(c, entry, 'open'), px = refuseBadPrice(c, exit, 'close');
    trades.push({ signal_index: s.index, entry_index: entry, exit_index: exit, side, entry_price: pe, exit_price: px, return: tradeReturn(side, pe, px, o.commission, o.slippage) });
    lastExit = exit;
  }
  if (overlap) note('breakout.backtest.overlap', `${overlap} of ${signals.length} signals skipped: a trade was open (signal at or before its exit bar)`);
  if (pastEnd) note('breakout.backtest.past-end', `${pastEnd} signals skipped: fewer than hold + 1 = ${o.hold + 1} bars after the signal`);
  if (shortSkipped) note('breakout.backtest.long-only', `${shortSkipped} downward signals skipped (--long-only)`);
  const reasons: Record<string, string> = {};
  const rs = trades.map((t) => t.return);
  let total: number | null = null, hit: number | null = null, pf: number | null = null, mdd: number | null = null, sharpe: number | null = null;
  if (rs.length === 0) {
    for (const k of ['total_return', 'hit_rate', 'profit_factor', 'max_drawdown', 'sharpe']) reasons[k] = signals.length ? 'no trades: every signal was skipped' : 'no signals';
  } else {
    let eq = 1, peak = 1, dd = 0, gains = 0, losses = 0, wins = 0;
    for (const r of rs) {
      eq *= 1 + r;
      peak = Math.max(peak, eq);
      dd = Math.max(dd, (peak - eq) / peak);
      if (r > 0) { gains += r; wins++; } else losses -= r;
    }
    total = eq - 1;
    hit = wins / rs.length;
    mdd = dd;
    if (losses > 0) pf = gains / losses;
    else reasons.profit_factor = 'no losing trades (the ratio is unbounded)';
    if (rs.length >= 2) {
      const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
      const sd = Math.sqrt(rs.reduce((a, b) => a + (b - mean) ** 2, 0) / (rs.length - 1));
      if (sd > 0) sharpe = mean / sd;
      else reasons.sharpe = 'every trade returned the same: zero deviation';
    } else reasons.sharpe = 'one trade: no deviation';
  }
  let bh: BuyAndHold | null = null;
  const from = trades.length ? trades[0].entry_index : 0, to = trades.length ? trades[trades.length - 1].exit_index : c.n - 1;
  if (c.n > 0) {
    const pe = refuseBadPrice(c, from, 'open'), px = refuseBadPrice(c, to, 'close');
    bh = { entry_index: from, exit_index: to, entry_price: pe, exit_price: px, return: tradeReturn('long', pe, px, o.commission, o.slippage) };
  } else reasons.buy_and_hold = 'no candles';
  return {
    trades, n_signals: signals.length, n_trades: trades.length, skipped: { overlap, past_end: pastEnd, short_long_only: shortSkipped },
    total_return: total, hit_rate: hit, profit_factor: pf, max_drawdown: mdd, sharpe, null_reasons: reasons, buy_and_hold: bh, options: o, warnings,
  };
}

const DIRECTIONS: Record<string, SignalDirection> = { up: 'up', upward: 'up', long: 'up', buy: 'up', down: 'down', downward: 'down', short: 'down', sell: 'down' };

function directionOf(v: unknown, file: string, line: number, field: string): SignalDirection {
  const d = typeof v === 'string' ? DIRECTIONS[v.trim().toLowerCase()] : undefined;
  if (!d) throw new ParseError(file, line, 'up | down (or upward/downward, long/short)', String(v), -1, field);
  return d;
}

/**
 * Signals from a file: JSON (an array of `{index|signal_index, direction}`, or a `breakout ranges`
 * record with `events`), or CSV with an `index` (or `time`/`date`, matched exactly to a bar) and a
 * `direction` column. Errors name file, line and field.
 */
export function readSignalsFile(path: string, c: Candles): Signal[] {
  let size: number;
  try { size = statSync(path).size; } catch { throw new InputError(`no such signals file: ${path}`); }
  if (size > MAX_SIGNAL_FILE_BYTES) throw new InputError(`${path}: ${size} bytes is over the ${MAX_SIGNAL_FILE_BYTES}-byte limit for a signals file`);
  const text = readFileSync(path, 'utf8');
  return parseSignals(text, path, c);
}

export function parseSignals(text: string, file: string, c: Candles): Signal[] {
  const t = text.replace(/^\ufeff/, '').trimStart();
  const out: Signal[] = [];
  const push = (s: Signal, line: number, field: string): void => {
    if (out.length >= MAX_SIGNALS) throw new InputError(`${file}: more than ${MAX_SIGNALS} signals`);
    if (!(Number.isInteger(s.index) && s.index >= 0 && s.index < c.n)) throw new ParseError(file, line, `a bar index in 0..${c.n - 1}`, String(s.index), -1, field);
    out.push(s);
  };
  if (t.startsWith('[') || t.startsWith('{')) {
    let v: unknown;
    try { v = JSON.parse(t); } catch (e) { throw new ParseError(file, 1, 'JSON', (e as Error).message, -1, 'json'); }
    const list = Array.isArray(v) ? v : (v as { events?: unknown }).events;
    if (!Array.isArray(list)) throw new ParseError(file, 1, 'an array of signals or an object with "events"', typeof v, -1, 'signals');
    list.forEach((e: unknown, i: number) => {
      const r = e as Record<string, unknown> | null;
      const field = `[${i}]`;
      if (!r || typeof r !== 'object') throw new ParseError(file, 1, 'a signal object', JSON.stringify(e) ?? 'undefined', -1, field);
      const idx = r.signal_index ?? r.index;
      if (typeof idx !== 'number') throw new ParseError(file, 1, 'a numeric index or signal_index', JSON.stringify(idx) ?? 'undefined', -1, `${field}.index`);
      push({ index: idx, direction: directionOf(r.direction ?? r.side, file, 1, `${field}.direction`) }, 1, `${field}.index`);
    });
    return out;
  }
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(t, { bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: true }) as never;
  } catch (e) {
    throw new ParseError(file, (e as { lines?: number }).lines ?? 0, 'well-formed CSV', (e as Error).message);
  }
  if (rows.length === 0) throw new ParseError(file, 1, 'a header row', 'an empty file', -1, 'header');
  const header = rows[0].record.map((h) => h.toLowerCase().replace(/[^a-z_]/g, ''));
  const iIdx = header.findIndex((h) => h === 'index' || h === 'signal_index' || h === 'bar');
  const iTime = header.findIndex((h) => h === 'time' || h === 'date' || h === 'timestamp' || h === 'datetime');
  const iDir = header.findIndex((h) => h === 'direction' || h === 'side');
  if (iDir < 0 || (iIdx < 0 && iTime < 0)) throw new ParseError(file, 1, 'columns index (or time) and direction', rows[0].record.join(','), -1, 'header');
  const byTime = new Map<number, number>();
  if (iIdx < 0) for (let i = 0; i < c.n; i++) byTime.set(c.time[i], i);
  for (const r of rows.slice(1)) {
    const line = r.info.lines;
    const vals = r.record;
    let index: number;
    if (iIdx >= 0) {
      const s = vals[iIdx] ?? '';
      index = s === '' ? NaN : Number(s);
      if (!Number.isInteger(index)) throw new ParseError(file, line, 'an integer bar index', s, -1, rows[0].record[iIdx]);
    } else {
      const s = vals[iTime] ?? '';
      const ms = /^\d+$/.test(s) ? (Number(s) < 1e11 ? Number(s) * 1000 : Number(s)) : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) || !/\d\d:\d\d/.test(s) ? s : s.replace(' ', 'T') + 'Z');
      const i = byTime.get(ms);
      if (i === undefined) throw new ParseError(file, line, 'the time of a candle in the CSV', s, -1, rows[0].record[iTime]);
      index = i;
    }
    push({ index, direction: directionOf(vals[iDir], file, line, rows[0].record[iDir]) }, line, rows[0].record[iIdx >= 0 ? iIdx : iTime]);
  }
  return out;
}

/** Equity of the strategy (closed trades, stepping at each exit) and of buy-and-hold (marked at each close), for the report. */
export function equityChart(c: Candles, r: BacktestResult, maxPoints = 2000): VegaLiteSpec {
  const rows: { bar: number; equity: number; series: string }[] = [];
  const bh = r.buy_and_hold;
  const from = bh ? bh.entry_index : 0, to = bh ? bh.exit_index : Math.max(0, c.n - 1);
  let eq = 1;
  rows.push({ bar: from, equity: 1, series: 'strategy' });
  for (const t of r.trades) { eq *= 1 + t.return; rows.push({ bar: t.exit_index, equity: eq, series: 'strategy' }); }
  // A step chart of many trades is still at most maxPoints marks: thin evenly, keep the last.
  const thin = <T>(xs: T[]): T[] => (xs.length <= maxPoints ? xs : xs.filter((_, i) => i % Math.ceil(xs.length / maxPoints) === 0 || i === xs.length - 1));
  const strat = thin(rows);
  const hold: typeof rows = [];
  if (bh) {
    const o = r.options;
    const step = Math.max(1, Math.ceil((to - from + 1) / maxPoints));
    for (let i = from; i <= to; i += step) hold.push({ bar: i, equity: 1 + tradeReturn('long', bh.entry_price, c.close[i], o.commission, o.slippage), series: 'buy and hold' });
    if (hold[hold.length - 1]?.bar !== to) hold.push({ bar: to, equity: 1 + bh.return, series: 'buy and hold' });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'equity (closed trades) against buy and hold',
    width: 760, height: 300,
    data: { values: [...strat, ...hold] },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'bar', type: 'quantitative', title: 'bar', scale: { zero: false } },
      y: { field: 'equity', type: 'quantitative', title: 'equity (start = 1)', scale: { zero: false } },
      color: { field: 'series', type: 'nominal' },
    },
  } as VegaLiteSpec;
}

export function backtestSection(title: string, c: Candles, r: BacktestResult, note?: string): Section {
  const f = (x: number | null): number | string | null => (x === null ? null : x);
  const b = new SectionBuilder(title);
  if (note) b.text(note);
  b.table(['signals', 'trades', 'skipped (overlap)', 'skipped (past end)', 'skipped (long only)', 'total return', 'hit rate', 'profit factor', 'max drawdown', 'sharpe (per trade)', 'buy and hold'],
    [[r.n_signals, r.n_trades, r.skipped.overlap, r.skipped.past_end, r.skipped.short_long_only, f(r.total_return), f(r.hit_rate), f(r.profit_factor), f(r.max_drawdown), f(r.sharpe), r.buy_and_hold ? r.buy_and_hold.return : null]],
    `hold ${r.options.hold} bars, commission ${r.options.commission} per side, slippage ${r.options.slippage} per fill${r.options.longOnly ? ', long only' : ''}`);
  const reasons = Object.entries(r.null_reasons);
  if (reasons.length) b.text(reasons.map(([k, v]) => `${k}: ${v}`).join('; '));
  b.plot(equityChart(c, r));
  const shown = r.trades.slice(0, 50);
  b.table(['signal', 'entry', 'exit', 'side', 'entry price', 'exit price', 'return'], shown.map((t) => [t.signal_index, t.entry_index, t.exit_index, t.side, t.entry_price, t.exit_price, t.return]),
    r.trades.length > shown.length ? `first ${shown.length} of ${r.trades.length} trades` : 'trades');
  return b.build();
}
