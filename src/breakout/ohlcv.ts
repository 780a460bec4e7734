// OHLCV candles: a CSV loader that knows the common column names, ATR, trading-range detection
// (span within kappa * ATR over a lookback, both boundaries touched), breakout events and their
// true/false label by follow-through, a seeded regime-switching generator that emits its intended
// labels, and a candlestick chart for reports. Candles are columnar (typed arrays). The CSV is read
// by csv-parse; ATR and the rolling extremes come from technicalindicators.
import { readFileSync } from 'node:fs';
import { InputError, ParseError, warn } from '../core/errors.js';
import { withDefaults } from '../core/options.js';
import { assertAllocatable, assertArrayFits } from '../core/limits.js';
import { parse } from 'csv-parse/sync';
import { Highest, Lowest, SMA, TrueRange, WEMA } from 'technicalindicators';
import type { VegaLiteSpec } from '../core/report.js';
import { Rng } from '../core/rng.js';

export interface Candles {
  readonly n: number;
  /** Milliseconds since the epoch (or bar numbers when the file has no time column). */
  readonly time: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  /** NaN everywhere when the file has no volume column. */
  readonly volume: Float64Array;
  readonly hasVolume: boolean;
}

export function allocCandles(n: number, hasVolume = true): Candles {
  return { n, time: new Float64Array(n), open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n).fill(hasVolume ? 0 : NaN), hasVolume };
}

// ---------------------------------------------------------------- CSV loading

const ALIASES: Record<'time' | 'date' | 'clock' | 'open' | 'high' | 'low' | 'close' | 'adjclose' | 'volume', readonly string[]> = {
  time: ['timestamp', 'datetime', 'ts', 'gmttime', 'opentime', 'unix', 'unixtime', 'epoch', 'localtime'],
  date: ['date', 'day', 'd'],
  clock: ['time', 't'],
  open: ['open', 'o', 'openprice', 'opening'],
  high: ['high', 'h', 'highprice', 'max'],
  low: ['low', 'l', 'lowprice', 'min'],
  close: ['close', 'c', 'closeprice', 'last', 'price', 'closing'],
  adjclose: ['adjclose', 'adjustedclose'],
  volume: ['volume', 'vol', 'v', 'qty', 'quantity', 'basevolume'],
};

const normName = (s: string): string => s.toLowerCase().replace(/^\ufeff/, '').replace(/<|>/g, '').replace(/[^a-z0-9]/g, '');

export interface ColumnMap {
  readonly time: number | null;
  readonly date: number | null;
  readonly clock: number | null;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number | null;
}

/** Find the columns by their common names; throws a ParseError on line 1 naming what is missing. */
export function mapColumns(header: readonly string[], file: string): ColumnMap {
  const names = header.map(normName);
  const find = (k: keyof typeof ALIASES): number | null => {
    for (const a of ALIASES[k]) { const i = names.indexOf(a); if (i >= 0) return i; }
    if (k === 'volume') { const i = names.findIndex((n) => n.startsWith('volume')); if (i >= 0) return i; }
    return null;
  };
  const need = (k: 'open' | 'high' | 'low' | 'close'): number => {
    const i = find(k) ?? (k === 'close' ? find('adjclose') : null);
    if (i === null) throw new ParseError(file, 1, `a ${k} column (${ALIASES[k].join('|')})`, header.join(','), -1, 'header');
    return i;
  };
  return { time: find('time'), date: find('date'), clock: find('clock'), open: need('open'), high: need('high'), low: need('low'), close: need('close'), volume: find('volume') };
}

const isDigit = (ch: number): boolean => ch >= 48 && ch <= 57;

function d2At(s: string, p: number): number {
  const a = s.charCodeAt(p), b = s.charCodeAt(p + 1);
  return isDigit(a) && isDigit(b) ? (a - 48) * 10 + b - 48 : NaN;
}

/** 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS[.sss]]' or with 'T', optionally 'Z': parsed by hand as UTC (NaN when not this shape). */
function fastIso(s: string): number {
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const y = d2At(s, 0) * 100 + d2At(s, 2), mo = d2At(s, 5), d = d2At(s, 8);
  if (n === 10) return Date.UTC(y, mo - 1, d);
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || n < 16 || s.charCodeAt(13) !== 58) return NaN;
  const hh = d2At(s, 11), mi = d2At(s, 14);
  let p = 16, ss = 0, ms = 0;
  if (p < n && s.charCodeAt(p) === 58) { ss = d2At(s, p + 1); p += 3; }
  if (p < n && s.charCodeAt(p) === 46) {
    let k = p + 1, f = 0, scale = 100;
    while (k < n && isDigit(s.charCodeAt(k))) { f += (s.charCodeAt(k) - 48) * scale; scale /= 10; k++; }
    ms = Math.round(f); p = k;
  }
  if (p < n && s.charCodeAt(p) === 90) p++;
  if (p !== n) return NaN;
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && hh <= 23 && mi <= 59 && ss <= 60)) return NaN;
  return Date.UTC(y, mo - 1, d, hh, mi, ss, ms);
}

function parseTime(s: string): number {
  const f = fastIso(s);
  if (f === f) return f;
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const v = Number(s);
    // Seconds, milliseconds, or compact yyyymmdd dates.
    if (s.length === 8 && v >= 19000101 && v <= 21001231) return Date.UTC(Math.floor(v / 10000), Math.floor(v / 100) % 100 - 1, v % 100);
    return v < 1e11 ? v * 1000 : v;
  }
  return Date.parse(s.includes(' ') && !s.includes('T') && /^\d{4}-\d\d-\d\d \d/.test(s) ? s.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? '' : 'Z') : s);
}

export interface OhlcvLoadOptions {
  /** Field delimiter; detected from the header (',' ';' or tab) when absent. */
  readonly delimiter?: string;
}

/**
 * Parse OHLCV CSV text. Strict: every price must be a finite number with low <= open, close <= high;
 * volume non-negative; times strictly increasing (a file entirely in descending order is reversed
 * with a warning, as several data vendors write newest first). Errors name file, line and column.
 */
export function parseOhlcvCsv(text: string, file = '<csv>', opts: OhlcvLoadOptions = {}): Candles {
  const nl = text.indexOf('\n');
  const headLine = (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
  const delim = opts.delimiter ?? (headLine.includes(',') ? ',' : headLine.includes(';') ? ';' : headLine.includes('\t') ? '\t' : ',');
  let header: string[] | null = null;
  let cm: ColumnMap | null = null;
  // Rows go straight from csv-parse's record callback into number columns (and their line numbers),
  // so a million candles never sit in memory as arrays of strings.
  const T: number[] = [], O: number[] = [], Hi: number[] = [], Lo: number[] = [], C: number[] = [], V: number[] = [], lineNos: number[] = [];
  const num = (s: string | undefined, line: number, col: number): number => {
    const v = s === undefined || s.trim() === '' ? NaN : Number(s);
    if (!Number.isFinite(v)) throw new ParseError(file, line, 'a number', s ?? '', -1, header![col]);
    return v;
  };
  const onRow = (vals: string[], line: number): void => {
    if (header === null) { header = vals.map((h) => h.trim()); cm = mapColumns(header, file); return; }
    const m = cm!;
    // A line of blanks (spaces or tabs only) is empty, as csv-parse's skip_empty_lines has it for truly empty lines.
    if (vals.length === 1 && vals[0].trim() === '') return;
    if (vals.length !== header.length) throw new ParseError(file, line, `${header.length} fields`, `${vals.length} fields`, -1, 'row');
    const o = num(vals[m.open], line, m.open), h = num(vals[m.high], line, m.high), l = num(vals[m.low], line, m.low), cl = num(vals[m.close], line, m.close);
    if (h < l) throw new ParseError(file, line, `high >= low (${l})`, String(vals[m.high]), -1, header[m.high]);
    if (o > h || o < l) throw new ParseError(file, line, `open within [low, high] = [${l}, ${h}]`, String(vals[m.open]), -1, header[m.open]);
    if (cl > h || cl < l) throw new ParseError(file, line, `close within [low, high] = [${l}, ${h}]`, String(vals[m.close]), -1, header[m.close]);
    if (m.volume !== null) {
      const v = num(vals[m.volume], line, m.volume);
      if (v < 0) throw new ParseError(file, line, 'a non-negative volume', String(vals[m.volume]), -1, header[m.volume]);
      V.push(v);
    }
    let t: number;
    if (m.time !== null) t = parseTime(vals[m.time].trim());
    else if (m.date !== null) t = parseTime(m.clock !== null ? `${vals[m.date].trim()}T${vals[m.clock].trim()}` : vals[m.date].trim());
    else if (m.clock !== null) t = parseTime(vals[m.clock].trim());
    else t = O.length;
    if (!Number.isFinite(t)) {
      const col = m.time ?? m.date ?? m.clock!;
      throw new ParseError(file, line, 'a date or time', String(vals[col]), -1, header[col]);
    }
    T.push(t); O.push(o); Hi.push(h); Lo.push(l); C.push(cl); lineNos.push(line);
  };
  try {
    parse(text, {
      bom: true, delimiter: delim, skip_empty_lines: true, relax_column_count: true,
      // Spaces around a quoted field are allowed only when trimmed; unquoted fields are trimmed where they are read.
      trim: text.includes('"'),
      on_record: (record: string[], ctx: { lines: number }) => { onRow(record, ctx.lines); return null; },
    });
  } catch (e) {
    if (e instanceof ParseError || e instanceof InputError) throw e;
    const err = e as Error & { lines?: number };
    throw new ParseError(file, err.lines ?? 0, 'well-formed CSV', err.message, -1, 'row');
  }
  if (header === null) throw new ParseError(file, 1, 'a header row', 'an empty file', -1, 'header');
  const count = O.length;
  // A header with no rows is a mistake (a failed download, the wrong file), not an empty market.
  if (count === 0) throw new ParseError(file, 2, 'at least one candle row after the header', '', -1, 'row');
  const c = allocCandles(count, cm!.volume !== null);
  c.time.set(T); c.open.set(O); c.high.set(Hi); c.low.set(Lo); c.close.set(C);
  if (cm!.volume !== null) c.volume.set(V);
  const m = cm!;
  return orderByTime(c, file, (i) => lineNos[i], header[m.time ?? m.date ?? m.clock ?? 0] ?? 'time');
}

function orderByTime(c: Candles, file: string, lineNoOf: (i: number) => number, timeCol: string): Candles {
  if (c.n < 2) return c;
  let inc = true, dec = true;
  for (let i = 1; i < c.n && (inc || dec); i++) {
    if (!(c.time[i] > c.time[i - 1])) inc = false;
    if (!(c.time[i] < c.time[i - 1])) dec = false;
  }
  if (inc) return c;
  if (dec) {
    warn('breakout.ohlcv.reversed', `${file}: rows are newest first; reversed to time order`);
    for (const a of [c.time, c.open, c.high, c.low, c.close, c.volume]) a.reverse();
    return c;
  }
  for (let i = 1; i < c.n; i++) if (!(c.time[i] > c.time[i - 1])) throw new ParseError(file, lineNoOf(i), `a time after ${new Date(c.time[i - 1]).toISOString()}`, new Date(c.time[i]).toISOString(), -1, timeCol);
  return c;
}

export function loadOhlcvCsv(path: string, opts: OhlcvLoadOptions = {}): Candles {
  return parseOhlcvCsv(readFileSync(path, 'utf8'), path, opts);
}

/** Candles to CSV text (date as ISO time, then OHLCV). */
export function candlesToCsv(c: Candles): string {
  const parts: string[] = ['date,open,high,low,close,volume'];
  for (let i = 0; i < c.n; i++) parts.push(`${new Date(c.time[i]).toISOString()},${c.open[i]},${c.high[i]},${c.low[i]},${c.close[i]},${c.hasVolume ? c.volume[i] : ''}`);
  return parts.join('\n') + '\n';
}

// ---------------------------------------------------------------- ATR, ranges, breakouts

/**
 * Average true range. 'wilder' (default): the first value is the mean of n true ranges, then
 * ATR = ATR_prev + (TR - ATR_prev) / n (technicalindicators' WEMA); 'sma': the plain n-bar mean
 * (its SMA). NaN before bar n-1. The true range of bar 0 is its high - low: technicalindicators'
 * TrueRange starts at bar 1 (it needs a previous close), so bar 0's range is put in front, which
 * keeps one ATR value per bar from bar n-1 on, as the range scan indexes it.
 */
export function atr(c: Candles, n = 14, method: 'wilder' | 'sma' = 'wilder'): Float64Array {
  if (!(Number.isInteger(n) && n >= 1)) throw new InputError(`ATR period must be a positive integer, got ${n}`);
  const out = new Float64Array(c.n).fill(NaN);
  if (c.n < n) return out;
  const high = Array.from(c.high), low = Array.from(c.low), close = Array.from(c.close);
  const tr = [c.high[0] - c.low[0], ...TrueRange.calculate({ high, low, close })];
  // An identity format: the library's default rounds when a global precision is configured.
  const same = (v: number): number => v;
  const avg = method === 'sma' ? SMA.calculate({ period: n, values: tr, format: same }) : WEMA.calculate({ period: n, values: tr, format: same });
  out.set(avg, n - 1);
  return out;
}

export interface RangeOptions {
  readonly atrPeriod: number;
  readonly atrMethod: 'wilder' | 'sma';
  /** Lookback W in bars. */
  readonly lookback: number;
  /** Max span (max high - min low) in ATRs. */
  readonly kappa: number;
  /** Touches needed at each boundary. */
  readonly touches: number;
  /** A bar within epsilon * ATR of a boundary touches it. */
  readonly epsilon: number;
  /** Breakout: close beyond the level by delta * ATR. */
  readonly delta: number;
  /** Volume confirmation: breakout volume >= nu * mean volume of the range. */
  readonly volumeFactor: number;
  /** Keep only volume-confirmed breakouts. */
  readonly requireVolume: boolean;
  /** Follow-through horizon H in bars. */
  readonly horizon: number;
  /** 'target': true if the target (level +- m * ATR) is reached before a close back inside; 'hold': true if the close stays beyond the level for holdBars bars. */
  readonly labelMode: 'target' | 'hold';
  readonly targetAtr: number;
  readonly holdBars: number;
}

export const DEFAULT_RANGE_OPTIONS: RangeOptions = Object.freeze({
  atrPeriod: 14, atrMethod: 'wilder', lookback: 20, kappa: 3, touches: 2, epsilon: 0.25, delta: 0.1,
  volumeFactor: 1.5, requireVolume: false, horizon: 5, labelMode: 'target', targetAtr: 1, holdBars: 3,
} as const);

export function rangeOptions(o: Partial<RangeOptions> = {}): RangeOptions {
  const r = withDefaults(DEFAULT_RANGE_OPTIONS, o, 'range options');
  const bad = (name: string, v: unknown): never => { throw new InputError(`range option ${name}: bad value ${JSON.stringify(v)}`); };
  if (!(Number.isInteger(r.lookback) && r.lookback >= 2)) bad('lookback', r.lookback);
  if (!(Number.isInteger(r.atrPeriod) && r.atrPeriod >= 1)) bad('atrPeriod', r.atrPeriod);
  if (!(r.kappa > 0)) bad('kappa', r.kappa);
  if (!(Number.isInteger(r.touches) && r.touches >= 1)) bad('touches', r.touches);
  if (!(r.epsilon >= 0 && r.delta >= 0 && r.volumeFactor >= 0 && r.targetAtr > 0)) bad('epsilon/delta/volumeFactor/targetAtr', [r.epsilon, r.delta, r.volumeFactor, r.targetAtr]);
  if (!(Number.isInteger(r.horizon) && r.horizon >= 1 && Number.isInteger(r.holdBars) && r.holdBars >= 1)) bad('horizon/holdBars', [r.horizon, r.holdBars]);
  if (r.labelMode !== 'target' && r.labelMode !== 'hold') bad('labelMode', r.labelMode);
  if (r.atrMethod !== 'wilder' && r.atrMethod !== 'sma') bad('atrMethod', r.atrMethod);
  return Object.freeze(r);
}

export interface TradingRange {
  readonly start: number;
  readonly end: number;
  readonly resistance: number;
  readonly support: number;
  /** ATR at the range's last bar. */
  readonly atr: number;
  /** Index of the breakout event in `events`, or -1 when the range dissolved or the data ended. */
  readonly breakout: number;
}

export type OhlcvLabel = 'true' | 'false' | 'undetermined';

export interface BreakoutEvent {
  readonly index: number;
  readonly range: number;
  readonly direction: 'up' | 'down';
  readonly level: number;
  readonly atr: number;
  readonly close: number;
  /** null when the data has no volume. */
  readonly volumeConfirmed: boolean | null;
  readonly label: OhlcvLabel;
  /** Bar at which the label was decided (null when undetermined). */
  readonly resolvedAt: number | null;
}

export interface RangeResult {
  readonly ranges: TradingRange[];
  readonly events: BreakoutEvent[];
  readonly options: RangeOptions;
}

/** Label one breakout by what follows it (bars index+1 .. index+H); inputs never look past the breakout bar. */
export function labelFollowThrough(c: Candles, index: number, direction: 'up' | 'down', level: number, atrRef: number, o: RangeOptions): { label: OhlcvLabel; resolvedAt: number | null } {
  const s = direction === 'up' ? 1 : -1;
  if (o.labelMode === 'hold') {
    for (let k = 1; k <= o.holdBars; k++) {
      const j = index + k;
      if (j >= c.n) return { label: 'undetermined', resolvedAt: null };
      if (s * (c.close[j] - level) <= 0) return { label: 'false', resolvedAt: j };
    }
    return { label: 'true', resolvedAt: index + o.holdBars };
  }
  const target = level + s * o.targetAtr * atrRef;
  for (let k = 1; k <= o.horizon; k++) {
    const j = index + k;
    if (j >= c.n) break;
    if (s * (c.close[j] - level) <= 0) return { label: 'false', resolvedAt: j };
    if (s > 0 ? c.high[j] >= target : c.low[j] <= target) return { label: 'true', resolvedAt: j };
  }
  return { label: 'undetermined', resolvedAt: null };
}

/**
 * One pass over the candles. Scanning: the W-bar window ending at i is a range when its span is at
 * most kappa * ATR(i) and each boundary has `touches` bars within epsilon * ATR. Active: each new
 * bar either closes beyond a level by delta * ATR (a breakout; scanning restarts after it), or is
 * absorbed (levels widen to its high/low) while the span stays within kappa * ATR, or dissolves
 * the range. The W-bar highest high and lowest low come from technicalindicators' Highest and
 * Lowest (value k is the window ending at bar k + W - 1), so the scan is O(n) plus the touch counts.
 */
export function detectRanges(c: Candles, opts: Partial<RangeOptions> = {}): RangeResult {
  const o = rangeOptions(opts);
  const a = atr(c, o.atrPeriod, o.atrMethod);
  const W = o.lookback;
  const ranges: TradingRange[] = [];
  const events: BreakoutEvent[] = [];
  const n = c.n;
  const H = c.high, L = c.low, C = c.close, V = c.volume;
  // All-zero volume is a placeholder column, not volume: 0 >= factor * 0 would confirm every
  // breakout. It counts as no volume; keeping only confirmed breakouts then cannot be done.
  let anyVolume = false;
  if (c.hasVolume) for (let i = 0; i < n && !anyVolume; i++) anyVolume = V[i] > 0;
  const useVolume = c.hasVolume && anyVolume;
  if (c.hasVolume && !anyVolume && n > 0) warn('ohlcv-volume-all-zero', `every volume in the candles is 0: volume confirmation is not computed (volumeConfirmed null)`, { once: true });
  if (o.requireVolume && !useVolume) throw new InputError(`--require-volume: ${c.hasVolume ? 'the volume column is 0 on every bar' : 'the candles have no volume column'}, so no breakout can be volume-confirmed`);
  const highs = n >= W ? Highest.calculate({ values: Array.from(H), period: W }) : [];
  const lows = n >= W ? Lowest.calculate({ values: Array.from(L), period: W }) : [];
  let minStart = 0;
  let active = false;
  let rs = 0, re = 0, res = 0, sup = 0, ratr = 0;
  const closeRange = (breakout: number): void => { ranges.push({ start: rs, end: re, resistance: res, support: sup, atr: ratr, breakout }); active = false; };
  for (let i = 0; i < n; i++) {
    const ws = i - W + 1;
    if (active) {
      const ar = a[i - 1];
      const up = C[i] > res + o.delta * ar, down = C[i] < sup - o.delta * ar;
      if (up || down) {
        const dir = up ? 'up' : 'down';
        const level = up ? res : sup;
        let vc: boolean | null = null;
        if (useVolume) {
          let vs = 0;
          for (let k = rs; k <= re; k++) vs += V[k];
          // A range with no volume confirms only a breakout bar that has some.
          vc = vs > 0 ? V[i] >= o.volumeFactor * (vs / (re - rs + 1)) : V[i] > 0;
        }
        if (!o.requireVolume || vc === true) {
          const lab = labelFollowThrough(c, i, dir, level, ar, o);
          events.push({ index: i, range: ranges.length, direction: dir, level, atr: ar, close: C[i], volumeConfirmed: vc, label: lab.label, resolvedAt: lab.resolvedAt });
          closeRange(events.length - 1);
          minStart = i + 1;
          continue;
        }
      }
      const nr = Math.max(res, H[i]), ns = Math.min(sup, L[i]);
      if (nr - ns <= o.kappa * a[i]) { res = nr; sup = ns; re = i; ratr = a[i]; continue; }
      closeRange(-1);
    }
    if (ws < minStart || ws < 0 || !(a[i] > 0)) continue;
    const mx = highs[ws], mn = lows[ws];
    const ai = a[i];
    if (mx - mn > o.kappa * ai) continue;
    const eps = o.epsilon * ai;
    let th = 0, tl = 0;
    for (let k = ws; k <= i; k++) { if (H[k] >= mx - eps) th++; if (L[k] <= mn + eps) tl++; }
    if (th < o.touches || tl < o.touches) continue;
    active = true; rs = ws; re = i; res = mx; sup = mn; ratr = ai;
  }
  if (active) closeRange(-1);
  return { ranges, events, options: o };
}

export interface OhlcvBaselines {
  readonly determined: number;
  readonly share_true: number | null;
  readonly always_true_acc: number | null;
  readonly volume_rule_acc: number | null;
  /** Time split: the first `trainFraction` of events (by bar) train, an embargo of H bars, the rest test. */
  readonly majority_train_class: OhlcvLabel | null;
  readonly majority_test_acc: number | null;
  readonly always_true_test_acc: number | null;
  readonly volume_rule_test_acc: number | null;
  readonly n_train: number;
  readonly n_test: number;
}

export function ohlcvBaselines(c: Candles, r: RangeResult, trainFraction = 0.7): OhlcvBaselines {
  const det = r.events.filter((e) => e.label !== 'undetermined');
  const acc = (es: readonly BreakoutEvent[], f: (e: BreakoutEvent) => boolean | null): number | null => {
    const xs = es.map((e) => { const p = f(e); return p === null ? null : p === (e.label === 'true'); }).filter((x): x is boolean => x !== null);
    return xs.length ? xs.filter(Boolean).length / xs.length : null;
  };
  const cut = Math.floor(c.n * trainFraction);
  const train = det.filter((e) => e.index < cut - r.options.horizon);
  const test = det.filter((e) => e.index >= cut);
  const nt = train.filter((e) => e.label === 'true').length;
  const maj: OhlcvLabel | null = train.length ? (nt * 2 >= train.length ? 'true' : 'false') : null;
  return {
    determined: det.length,
    share_true: det.length ? det.filter((e) => e.label === 'true').length / det.length : null,
    always_true_acc: acc(det, () => true),
    volume_rule_acc: c.hasVolume ? acc(det, (e) => e.volumeConfirmed) : null,
    majority_train_class: maj,
    majority_test_acc: maj === null ? null : acc(test, () => maj === 'true'),
    always_true_test_acc: acc(test, () => true),
    volume_rule_test_acc: c.hasVolume ? acc(test, (e) => e.volumeConfirmed) : null,
    n_train: train.length, n_test: test.length,
  };
}

// ---------------------------------------------------------------- synthetic candles

export interface OhlcvSpec {
  readonly n: number;
  readonly basePrice: number;
  /** Nominal bar size (about one ATR). */
  readonly unit: number;
  /** Share of planted breakouts that follow through (true). */
  readonly trueShare: number;
  /** A breakout bar that will follow through carries a volume spike (x2.5) with this probability; one that will fail, with 1 minus it. */
  readonly volumeSpikeShare: number;
  readonly startTime: number;
  readonly barMs: number;
}

export const DEFAULT_OHLCV_SPEC: OhlcvSpec = Object.freeze({ n: 2000, basePrice: 1000, unit: 1, trueShare: 0.5, volumeSpikeShare: 0.7, startTime: Date.UTC(2024, 0, 1), barMs: 60_000 });

const round2 = (x: number): number => Math.round(x * 100) / 100;

export interface PlantedBreakout {
  readonly index: number;
  readonly direction: 'up' | 'down';
  readonly label: 'true' | 'false';
  readonly rangeStart: number;
}

/**
 * Regime switching: trend -> range (bars inside a band, both edges touched repeatedly) ->
 * breakout bar closing about two units beyond the band -> follow-through (drift beyond the level)
 * or failure (the next bar closes back at the band's centre) -> trend again.
 */
export function generateOhlcv(seed: number, specIn: Partial<OhlcvSpec> = {}): { candles: Candles; planted: PlantedBreakout[] } {
  const spec = withDefaults(DEFAULT_OHLCV_SPEC, specIn, 'OHLCV spec');
  if (!(Number.isInteger(spec.n) && spec.n >= 1)) throw new InputError(`OHLCV spec n must be a positive integer, got ${spec.n}`);
  // Six float64 columns plus about 100 bytes of CSV text per candle.
  assertArrayFits(spec.n, 8, `${spec.n} candles`, 'OHLCV spec n');
  assertAllocatable(spec.n * 160, `${spec.n} candles`, 'OHLCV spec n');
  const rng = new Rng(seed, 'ohlcv');
  const c = allocCandles(spec.n, true);
  const u = spec.unit;
  const planted: PlantedBreakout[] = [];
  let i = 0;
  let price = spec.basePrice;
  const push = (o: number, cl: number, wu: number, wd: number, vol: number, top = Infinity, bot = -Infinity): void => {
    if (i >= spec.n) return;
    const h = Math.min(top, Math.max(o, cl) + wu), l = Math.max(bot, Math.min(o, cl) - wd);
    c.time[i] = spec.startTime + i * spec.barMs;
    // Prices on a 0.01 grid, as exchanges quote them (rounding is monotone, so low <= open, close <= high holds).
    c.open[i] = round2(o); c.close[i] = round2(cl); c.high[i] = round2(Math.max(h, o, cl)); c.low[i] = round2(Math.min(l, o, cl));
    c.volume[i] = Math.round(vol);
    price = c.close[i];
    i++;
  };
  const baseVol = (): number => 1000 * Math.exp(0.3 * rng.normal());
  while (i < spec.n) {
    // Trend: drift away from or back toward the base price.
    const dir = (price > spec.basePrice ? -1 : 1) * (rng.next() < 0.7 ? 1 : -1);
    const tl = 12 + rng.int(12);
    for (let k = 0; k < tl; k++) { const o = price; push(o, o + dir * (0.6 + 0.2 * rng.normal()) * u, rng.uniform(0.05, 0.3) * u, rng.uniform(0.05, 0.3) * u, baseVol()); }
    // Range around the current price.
    const centre = price, half = rng.uniform(0.9, 1.1) * u, top = centre + half, bot = centre - half;
    const rl = 36 + rng.int(20);
    const rangeStart = i;
    for (let k = 0; k < rl; k++) {
      const o = Math.min(top - 0.05 * u, Math.max(bot + 0.05 * u, price));
      let cl = centre + rng.uniform(-0.7, 0.7) * half;
      let wu = rng.uniform(0.05, 0.3) * u, wd = rng.uniform(0.05, 0.3) * u;
      if (k % 6 === 2) { cl = top - rng.uniform(0.1, 0.3) * u; wu = 10 * u; }
      if (k % 6 === 5) { cl = bot + rng.uniform(0.1, 0.3) * u; wd = 10 * u; }
      push(o, cl, wu, wd, baseVol(), top, bot);
    }
    if (i >= spec.n) break;
    // Breakout bar.
    const up = rng.next() < 0.5;
    const s = up ? 1 : -1;
    const follow = rng.next() < spec.trueShare;
    const spike = rng.next() < (follow ? spec.volumeSpikeShare : 1 - spec.volumeSpikeShare);
    const edge = up ? top : bot;
    const bi = i;
    push(price, edge + s * rng.uniform(2.0, 2.5) * u, 0.1 * u, 0.1 * u, baseVol() * (spike ? 2.5 : 1));
    if (i > spec.n - 1 - 6) break; // not enough bars left to resolve the label
    planted.push({ index: bi, direction: up ? 'up' : 'down', label: follow ? 'true' : 'false', rangeStart });
    if (follow) {
      const fl = 4 + rng.int(5);
      for (let k = 0; k < fl; k++) { const o = price; push(o, o + s * rng.uniform(0.6, 1.0) * u, 0.2 * u, 0.2 * u, baseVol()); }
    } else {
      push(price, centre + rng.uniform(-0.3, 0.3) * half, 0.1 * u, 0.1 * u, baseVol());
    }
  }
  // The loop can stop a few bars short of n (a breakout too close to the end is not planted):
  // finish with a gentle drift so every bar is filled.
  while (i < spec.n) { const o = price; push(o, o + (0.6 + 0.2 * rng.normal()) * u, 0.2 * u, 0.2 * u, baseVol()); }
  return { candles: c, planted };
}

// ---------------------------------------------------------------- chart

/** A candlestick chart (Vega-Lite) of bars [from, to) with ranges shaded and breakouts marked. */
export function candlestickChart(c: Candles, r: RangeResult, opts: { from?: number; to?: number; title?: string; width?: number; height?: number } = {}): VegaLiteSpec {
  const from = Math.max(0, opts.from ?? 0), to = Math.min(c.n, opts.to ?? Math.min(c.n, from + 200));
  const bars = [];
  for (let i = from; i < to; i++) bars.push({ i, open: c.open[i], high: c.high[i], low: c.low[i], close: c.close[i], dir: c.close[i] >= c.open[i] ? 'up bar' : 'down bar' });
  const ranges = r.ranges.filter((g) => g.end >= from && g.start < to).map((g) => ({ start: Math.max(g.start, from) - 0.5, end: Math.min(g.end, to - 1) + 0.5, resistance: g.resistance, support: g.support }));
  const events = r.events.filter((e) => e.index >= from && e.index < to).map((e) => ({ i: e.index, price: e.direction === 'up' ? c.high[e.index] : c.low[e.index], breakout: `${e.direction} ${e.label}` }));
  const x = { field: 'i', type: 'quantitative', title: 'bar', scale: { domain: [from - 1, to], nice: false, zero: false } };
  const barColour = { field: 'dir', type: 'nominal', scale: { domain: ['up bar', 'down bar'], range: ['#2ca02c', '#d62728'] }, legend: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title ?? `candles ${from}-${to - 1}: ranges shaded, breakouts marked`,
    width: opts.width ?? 760, height: opts.height ?? 300,
    resolve: { scale: { color: 'independent' } },
    layer: [
      { data: { values: ranges }, mark: { type: 'rect', opacity: 0.15, color: '#4c78a8' }, encoding: { x: { field: 'start', type: 'quantitative', scale: { domain: [from - 1, to], nice: false, zero: false } }, x2: { field: 'end' }, y: { field: 'support', type: 'quantitative' }, y2: { field: 'resistance' } } },
      { data: { values: bars }, mark: { type: 'rule' }, encoding: { x, y: { field: 'low', type: 'quantitative', scale: { zero: false }, title: 'price' }, y2: { field: 'high' }, color: barColour } },
      { data: { values: bars }, mark: { type: 'bar', width: Math.max(1, Math.floor((opts.width ?? 760) / Math.max(1, to - from)) - 1) }, encoding: { x, y: { field: 'open', type: 'quantitative' }, y2: { field: 'close' }, color: barColour } },
      { data: { values: events }, mark: { type: 'point', shape: 'triangle', size: 120, filled: true }, encoding: { x, y: { field: 'price', type: 'quantitative' }, color: { field: 'breakout', type: 'nominal', scale: { domain: ['up true', 'up false', 'down true', 'down false', 'up undetermined', 'down undetermined'], range: ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#7f7f7f', '#bcbd22'] } } } },
    ],
  } as VegaLiteSpec;
}
