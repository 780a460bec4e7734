// The deterministic rule labeller: the gold answers for every stage.
//   1. direction: upward if the breakout bar's high exceeds the range high, downward if its low is
//      under the range low; both or neither -> 'none' (the window is excluded).
//   2. level: range high (upward) or range low (downward).
//   3. stronger side, read diagonally in the breakout bar: sell(p) against buy(p + tick) for every
//      p >= L (upward) or p <= L (downward) where both rows exist; aggregated by total volume
//      ('volume', default) or by the number of pairs each side wins ('count'); ties -> 'none'.
//   4. verdict: upward+buyer and downward+seller are true breakouts; the other two are false.
import { InputError } from '../core/errors.js';
import { formatPrice, rowMap, tableHigh, tableLow, type FootprintWindow } from './footprint.js';

export type Direction = 'upward' | 'downward' | 'none';
export type Side = 'buyer' | 'seller' | 'none';
export type Aggregation = 'volume' | 'count';

/** Recorded with every label so results from different rule versions are never mixed. */
export const RULE_VERSION = 'breakout-rules/1 diag sell(p)~buy(p+1); up p>=L, down p<=L';

export interface DiagonalPair {
  readonly priceTicks: number;
  /** sell volume at p */
  readonly sell: number;
  /** buy volume at p + tick */
  readonly buy: number;
}

export interface BreakoutLabel {
  readonly direction: Direction;
  readonly levelTicks: number | null;
  readonly strongerSide: Side;
  /** true/false breakout; null when direction or side is 'none' (window excluded). */
  readonly verdict: boolean | null;
  readonly pairs: readonly DiagonalPair[];
  readonly sellTotal: number;
  readonly buyTotal: number;
  readonly sellWins: number;
  readonly buyWins: number;
  readonly aggregation: Aggregation;
  readonly ruleVersion: string;
  /** A sentence per stage stating the facts used. */
  readonly rationale: string;
  readonly stageReasons: { readonly direction: string; readonly level: string; readonly side: string };
}

export interface LabelOptions {
  readonly aggregation?: Aggregation;
}

export function directionOf(w: FootprintWindow): { direction: Direction; rangeHigh: number; rangeLow: number; lastHigh: number; lastLow: number } {
  const range = w.tables.slice(0, -1);
  const last = w.tables[w.tables.length - 1];
  let rangeHigh = -Infinity, rangeLow = Infinity;
  for (const t of range) {
    rangeHigh = Math.max(rangeHigh, tableHigh(t));
    rangeLow = Math.min(rangeLow, tableLow(t));
  }
  const lastHigh = tableHigh(last), lastLow = tableLow(last);
  const up = lastHigh > rangeHigh, down = lastLow < rangeLow;
  const direction: Direction = up && !down ? 'upward' : down && !up ? 'downward' : 'none';
  return { direction, rangeHigh, rangeLow, lastHigh, lastLow };
}

/** Diagonal pairs of the breakout bar at and beyond the level, in increasing price. */
export function diagonalPairs(w: FootprintWindow, direction: 'upward' | 'downward', levelTicks: number): DiagonalPair[] {
  const last = w.tables[w.tables.length - 1];
  const m = rowMap(last);
  const out: DiagonalPair[] = [];
  const prices = [...m.keys()].sort((a, b) => a - b);
  for (const p of prices) {
    if (direction === 'upward' ? p < levelTicks : p > levelTicks) continue;
    const above = m.get(p + 1);
    if (!above) continue;
    out.push({ priceTicks: p, sell: m.get(p)!.sell, buy: above.buy });
  }
  return out;
}

export function sideOf(pairs: readonly DiagonalPair[], aggregation: Aggregation): { side: Side; sellTotal: number; buyTotal: number; sellWins: number; buyWins: number } {
  let sellTotal = 0, buyTotal = 0, sellWins = 0, buyWins = 0;
  for (const p of pairs) {
    sellTotal += p.sell;
    buyTotal += p.buy;
    if (p.sell > p.buy) sellWins++;
    else if (p.buy > p.sell) buyWins++;
  }
  const [s, b] = aggregation === 'volume' ? [sellTotal, buyTotal] : [sellWins, buyWins];
  const side: Side = b > s ? 'buyer' : s > b ? 'seller' : 'none';
  return { side, sellTotal, buyTotal, sellWins, buyWins };
}

export function verdictOf(direction: Direction, side: Side): boolean | null {
  if (direction === 'none' || side === 'none') return null;
  return direction === 'upward' ? side === 'buyer' : side === 'seller';
}

export function labelFootprint(w: FootprintWindow, opts: LabelOptions = {}): BreakoutLabel {
  const aggregation = opts.aggregation ?? 'volume';
  if (aggregation !== 'volume' && aggregation !== 'count') throw new InputError(`aggregation must be one of volume, count; got ${String(aggregation)}`);
  const d = directionOf(w);
  const n = w.tables.length - 1;
  const px = (t: number): string => formatPrice(t, w.tick);
  const dirReason = d.direction === 'upward'
    ? `The breakout bar reaches ${px(d.lastHigh)}, above the range high ${px(d.rangeHigh)}, and its low ${px(d.lastLow)} stays at or above the range low ${px(d.rangeLow)}, so the direction is upward.`
    : d.direction === 'downward'
      ? `The breakout bar reaches ${px(d.lastLow)}, below the range low ${px(d.rangeLow)}, and its high ${px(d.lastHigh)} stays at or below the range high ${px(d.rangeHigh)}, so the direction is downward.`
      : `The breakout bar spans ${px(d.lastLow)}-${px(d.lastHigh)} against a range of ${px(d.rangeLow)}-${px(d.rangeHigh)}: it breaks ${d.lastHigh > d.rangeHigh ? 'both sides' : 'neither side'}, so there is no direction.`;
  if (d.direction === 'none') {
    return { direction: 'none', levelTicks: null, strongerSide: 'none', verdict: null, pairs: [], sellTotal: 0, buyTotal: 0, sellWins: 0, buyWins: 0, aggregation, ruleVersion: RULE_VERSION, rationale: dirReason, stageReasons: { direction: dirReason, level: '', side: '' } };
  }
  const level = d.direction === 'upward' ? d.rangeHigh : d.rangeLow;
  const levelReason = `The range level is ${px(level)}, the ${d.direction === 'upward' ? 'highest' : 'lowest'} price of bars 0-${n - 1}.`;
  const pairs = diagonalPairs(w, d.direction, level);
  const s = sideOf(pairs, aggregation);
  const where = d.direction === 'upward' ? 'at and above' : 'at and below';
  const facts = aggregation === 'volume'
    ? `sellers traded ${s.sellTotal} against buyers ${s.buyTotal} one tick higher over ${pairs.length} diagonal pairs`
    : `sellers won ${s.sellWins} and buyers won ${s.buyWins} of ${pairs.length} diagonal pairs`;
  const sideWord = s.side === 'buyer' ? 'buyers are stronger' : s.side === 'seller' ? 'sellers are stronger' : 'neither side is stronger';
  const sideReason = `${where[0].toUpperCase()}${where.slice(1)} the level ${px(level)}, ${facts}, so ${sideWord}.`;
  const verdict = verdictOf(d.direction, s.side);
  const vReason = verdict === null
    ? 'With no stronger side the verdict is undetermined.'
    : `${d.direction === 'upward' ? 'An' : 'A'} ${d.direction} break with ${s.side}s stronger is a ${verdict ? 'true' : 'false'} breakout.`;
  return {
    direction: d.direction, levelTicks: level, strongerSide: s.side, verdict, pairs,
    sellTotal: s.sellTotal, buyTotal: s.buyTotal, sellWins: s.sellWins, buyWins: s.buyWins,
    aggregation, ruleVersion: RULE_VERSION,
    rationale: `${dirReason} ${levelReason} ${sideReason} ${vReason}`,
    stageReasons: { direction: dirReason, level: levelReason, side: sideReason },
  };
}

/** True when every stage has a definite answer (the window counts in accuracies). */
export function isComplete(l: BreakoutLabel): boolean {
  return l.direction !== 'none' && l.levelTicks !== null && l.strongerSide !== 'none' && l.verdict !== null;
}
