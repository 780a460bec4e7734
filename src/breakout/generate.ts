// Seeded synthetic footprint windows: a range of bars inside a band, then a breakout bar that
// leaves the band up or down, with a controlled diagonal imbalance beyond the level. The four
// classes (up/true, up/false, down/true, down/false) are balanced by construction; difficulty
// knobs add near-threshold windows, windows where the volume and count rules disagree, ties and
// windows with no direction. Every window carries its intended label, which the rule labeller
// must reproduce exactly.
import { InputError } from '../core/errors.js';
import { withDefaults } from '../core/options.js';
import { assertAllocatable, capSize } from '../core/limits.js';
import { Rng } from '../core/rng.js';
import type { FootprintRow, FootprintTable, FootprintWindow } from './footprint.js';
import type { Direction, Side } from './label.js';

export type DifficultyKind = 'easy' | 'near' | 'hard' | 'tie' | 'nodir';

export interface FootprintSpec {
  /** Number of range bars before the breakout bar (default 10). */
  readonly rangeBars: number;
  /** Price step (default 0.25). */
  readonly tick: number;
  /** Central price level (default 1000). */
  readonly basePrice: number;
  /** Uniform jitter of the band's low, in ticks (default 400). */
  readonly priceJitterTicks: number;
  /** Band width range in ticks, [min, max] (default [6, 14]). */
  readonly bandTicks: readonly [number, number];
  /** How far the breakout bar extends beyond the band, [min, max] ticks (default [1, 4]). */
  readonly breakoutTicks: readonly [number, number];
  /** Relative imbalance favouring the winning side in easy windows (default 0.4). */
  readonly margin: number;
  /** Peak volume per level (default 40). */
  readonly volume: number;
  /** Multiplier on the Poisson-like volume noise (default 1). */
  readonly noise: number;
  /** Shares of the difficulty kinds other than 'easy'. */
  readonly nearShare: number;
  readonly hardShare: number;
  readonly tieShare: number;
  readonly noDirectionShare: number;
}

export const DEFAULT_FOOTPRINT_SPEC: FootprintSpec = Object.freeze({
  rangeBars: 10, tick: 0.25, basePrice: 1000, priceJitterTicks: 400, bandTicks: [6, 14] as const, breakoutTicks: [1, 4] as const,
  margin: 0.4, volume: 40, noise: 1, nearShare: 0.15, hardShare: 0.15, tieShare: 0.03, noDirectionShare: 0.02,
});

/** Merge options over the defaults; unknown names and out-of-range values raise InputError. */
export function footprintSpec(opts: Partial<FootprintSpec> = {}): FootprintSpec {
  const s = withDefaults(DEFAULT_FOOTPRINT_SPEC, opts, 'footprint spec');
  const chk = (ok: boolean, name: string, v: unknown): void => { if (!ok) throw new InputError(`footprint spec: bad ${name} ${JSON.stringify(v)}`); };
  chk(Number.isInteger(s.rangeBars) && s.rangeBars >= 2, 'rangeBars', s.rangeBars);
  chk(s.tick > 0, 'tick', s.tick);
  chk(s.basePrice > 0, 'basePrice', s.basePrice);
  chk(s.bandTicks[0] >= 4 && s.bandTicks[1] >= s.bandTicks[0], 'bandTicks', s.bandTicks);
  chk(s.breakoutTicks[0] >= 1 && s.breakoutTicks[1] >= s.breakoutTicks[0], 'breakoutTicks', s.breakoutTicks);
  chk(s.margin > 0, 'margin', s.margin);
  chk(s.volume >= 1 && s.noise >= 0, 'volume/noise', [s.volume, s.noise]);
  const shares = s.nearShare + s.hardShare + s.tieShare + s.noDirectionShare;
  chk([s.nearShare, s.hardShare, s.tieShare, s.noDirectionShare].every((x) => x >= 0) && shares <= 1, 'shares', shares);
  // Table sizes bound the rows of every window (and the prompt built from it).
  capSize('rangeBars', s.rangeBars, MAX_SPEC_TICKS, 'footprint spec');
  for (const [name, v] of [['bandTicks', s.bandTicks[1]], ['breakoutTicks', s.breakoutTicks[1]]] as const) {
    if (!(v <= MAX_SPEC_TICKS)) throw new InputError(`footprint spec: ${name} ${v} is above the limit of ${MAX_SPEC_TICKS}`);
  }
  return Object.freeze(s);
}

export interface IntendedLabel {
  readonly direction: Direction;
  readonly levelTicks: number | null;
  /** Stronger side under the 'volume' aggregation. */
  readonly side: Side;
  /** Stronger side under the 'count' aggregation (differs from `side` only for 'hard' windows and some ties). */
  readonly sideByCount: Side;
  readonly verdict: boolean | null;
}

export interface GeneratedWindow {
  readonly window: FootprintWindow;
  readonly intended: IntendedLabel;
  readonly kind: DifficultyKind;
  readonly seed: number;
  readonly index: number;
}

function poissonish(rng: Rng, lambda: number, noise: number): number {
  return Math.max(0, Math.round(lambda + noise * Math.sqrt(Math.max(lambda, 1)) * rng.normal()));
}

function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** Rows for a bar spanning [lo, hi] ticks with a volume profile peaked near `mid`. */
function profileRows(rng: Rng, lo: number, hi: number, mid: number, spec: FootprintSpec): Map<number, { sell: number; buy: number }> {
  const sigma = Math.max(1, (hi - lo) / 2);
  const m = new Map<number, { sell: number; buy: number }>();
  for (let p = hi; p >= lo; p--) {
    const lam = 2 + spec.volume * Math.exp(-((p - mid) ** 2) / (2 * sigma * sigma));
    m.set(p, { sell: poissonish(rng, lam, spec.noise), buy: poissonish(rng, lam, spec.noise) });
  }
  return m;
}

function toTable(index: number, m: Map<number, { sell: number; buy: number }>): FootprintTable {
  const rows: FootprintRow[] = [...m.entries()].sort((a, b) => b[0] - a[0]).map(([p, v]) => ({ priceTicks: p, sell: v.sell, buy: v.buy }));
  return { index, rows };
}

const CLASSES: readonly { direction: 'upward' | 'downward'; verdict: boolean }[] = [
  { direction: 'upward', verdict: true }, { direction: 'upward', verdict: false },
  { direction: 'downward', verdict: true }, { direction: 'downward', verdict: false },
];

/**
 * Window `index` of the set generated from `seed`. Each window uses its own child stream, so a
 * window does not depend on how many others were generated. Class = index mod 4 (balanced).
 */
export function generateFootprintWindow(seed: number, index: number, specIn: Partial<FootprintSpec> | FootprintSpec = {}): GeneratedWindow {
  const spec = footprintSpec(specIn);
  const rng = new Rng(seed, `footprint/w${index}`);
  const cls = CLASSES[index % 4];
  const u = rng.next();
  let kind: DifficultyKind = 'easy';
  let acc = spec.noDirectionShare;
  if (u < acc) kind = 'nodir';
  else if (u < (acc += spec.tieShare)) kind = 'tie';
  else if (u < (acc += spec.hardShare)) kind = 'hard';
  else if (u < (acc += spec.nearShare)) kind = 'near';

  const baseTicks = Math.round(spec.basePrice / spec.tick);
  const lo = baseTicks + rng.int(spec.priceJitterTicks + 1) - Math.floor(spec.priceJitterTicks / 2);
  const w = between(rng, spec.bandTicks[0], spec.bandTicks[1]);
  const hi = lo + w;

  // Range bars: a mean-reverting mid inside the band; one bar touches the high, another the low.
  const tables: FootprintTable[] = [];
  const touchHigh = rng.int(spec.rangeBars);
  let touchLow = rng.int(spec.rangeBars - 1);
  if (touchLow >= touchHigh) touchLow++;
  let mid = lo + Math.round(w / 2);
  for (let b = 0; b < spec.rangeBars; b++) {
    const centre = lo + w / 2;
    mid = Math.round(Math.min(hi - 1, Math.max(lo + 1, mid + 0.4 * (centre - mid) + 1.5 * rng.normal())));
    const half = 1 + rng.int(3);
    let barLo = Math.max(lo, mid - half), barHi = Math.min(hi, mid + half);
    if (b === touchHigh) barHi = hi;
    if (b === touchLow) barLo = lo;
    tables.push(toTable(b, profileRows(rng, barLo, barHi, mid, spec)));
  }

  // The breakout bar.
  let k = between(rng, spec.breakoutTicks[0], spec.breakoutTicks[1]);
  if (kind === 'hard') k = Math.max(k, 3);
  const bar = rng.split('bar');
  let lastLo: number, lastHi: number;
  let direction: Direction = cls.direction;
  if (kind === 'nodir') {
    direction = 'none';
    if (bar.next() < 0.5) { lastLo = lo + 1; lastHi = hi - 1; } else { lastLo = lo - k; lastHi = hi + k; }
  } else if (cls.direction === 'upward') {
    lastHi = hi + k;
    lastLo = Math.max(lo, hi - 2 - bar.int(4));
  } else {
    lastLo = lo - k;
    lastHi = Math.min(hi, lo + 2 + bar.int(4));
  }
  const rows = profileRows(bar, lastLo, lastHi, direction === 'downward' ? lastLo + 1 : direction === 'upward' ? lastHi - 1 : Math.round((lastLo + lastHi) / 2), spec);

  let levelTicks: number | null = null;
  let side: Side = 'none', sideByCount: Side = 'none';
  if (direction !== 'none') {
    levelTicks = direction === 'upward' ? hi : lo;
    const pairPs: number[] = [];
    for (let p = lastLo; p < lastHi; p++) if (direction === 'upward' ? p >= levelTicks : p <= levelTicks) pairPs.push(p);
    const winner: Side = cls.verdict === (direction === 'upward') ? 'buyer' : 'seller';
    const loser: Side = winner === 'buyer' ? 'seller' : 'buyer';
    const set = (p: number, who: Side, v: number): void => {
      if (who === 'seller') rows.get(p)!.sell = v;
      else rows.get(p + 1)!.buy = v;
    };
    const pv = bar.split('pairs');
    const base = (): number => poissonish(pv, spec.volume * 0.6, spec.noise);
    if (kind === 'easy') {
      for (const p of pairPs) {
        const l = base();
        set(p, loser, l);
        set(p, winner, l + 1 + Math.round(spec.margin * (l + 2) * pv.uniform(0.5, 1.5)));
      }
      side = winner; sideByCount = winner;
    } else if (kind === 'near') {
      const j = pv.int(pairPs.length);
      pairPs.forEach((p, i) => {
        const l = base();
        set(p, loser, l);
        set(p, winner, i === j ? l + 1 + pv.int(2) : l);
      });
      side = winner; sideByCount = winner;
    } else if (kind === 'hard') {
      // The loser wins all pairs but one by a little; the winner takes the last pair by more.
      const j = pv.int(pairPs.length);
      let deficit = 0;
      pairPs.forEach((p, i) => {
        if (i === j) return;
        const l = base(), d = 1 + pv.int(3);
        set(p, winner, l);
        set(p, loser, l + d);
        deficit += d;
      });
      const l = base();
      set(pairPs[j], loser, l);
      set(pairPs[j], winner, l + deficit + 1 + pv.int(5));
      side = winner; sideByCount = loser;
    } else if (kind === 'tie') {
      for (const p of pairPs) {
        const l = base();
        set(p, loser, l);
        set(p, winner, l);
      }
    }
  }
  tables.push(toTable(spec.rangeBars, rows));
  const verdict = direction === 'none' || side === 'none' ? null : direction === 'upward' ? side === 'buyer' : side === 'seller';
  return {
    window: { id: `${seed}-${index}`, tick: spec.tick, tables },
    intended: { direction, levelTicks, side, sideByCount, verdict },
    kind, seed, index,
  };
}

/** Most bars or ticks a generated table may span. */
export const MAX_SPEC_TICKS = 10_000;
/** Most windows one call generates (a count, so a typo such as 1e12 is refused at once). */
export const MAX_WINDOWS = 10_000_000;

/** A generous estimate of the bytes one generated window holds (row objects of every table). */
export function windowBytes(s: FootprintSpec): number {
  return 160 * (s.rangeBars + 1) * (s.bandTicks[1] + 2 * s.breakoutTicks[1] + 4);
}

/** `n` windows from `seed` (indices `offset` .. offset+n-1). */
export function generateFootprintSet(seed: number, n: number, spec: Partial<FootprintSpec> = {}, offset = 0): GeneratedWindow[] {
  const s = footprintSpec(spec);
  capSize('window count', n, MAX_WINDOWS, 'footprint windows');
  assertAllocatable(n * windowBytes(s), `${n} footprint windows`, 'footprint windows');
  const out: GeneratedWindow[] = [];
  for (let i = 0; i < n; i++) out.push(generateFootprintWindow(seed, offset + i, s));
  return out;
}
