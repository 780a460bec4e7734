import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateFootprintSet, generateFootprintWindow, labelFootprint, footprintSpec, rationaleConsistent, goldFromLabel, RULE_VERSION } from '../../src/breakout/index.js';
import { RANGE, win } from './helpers.js';

// Hand-checked windows. The range (tables 0-2) has high 1001.25 and low 1000.50.
// Pairs are read diagonally: sell(p) against buy(p + 0.25).

test('upward, buyers stronger: a true breakout; diagonal, not straight, comparison', () => {
  // Pairs p >= 1001.25: (sell 10 @1001.25 vs buy 20 @1001.50), (5 vs 25), (2 vs 30). Row 1001.00 is below the level.
  // Straight at 1001.25 the seller would win (10 vs 3): the rule must not read it that way.
  const w = win([...RANGE, [[1002.0, 1, 30], [1001.75, 2, 25], [1001.5, 5, 20], [1001.25, 10, 3], [1001.0, 40, 50]]]);
  const l = labelFootprint(w);
  assert.equal(l.direction, 'upward');
  assert.equal(l.levelTicks, 4005);
  assert.deepEqual(l.pairs.map((p) => [p.priceTicks, p.sell, p.buy]), [[4005, 10, 20], [4006, 5, 25], [4007, 2, 30]]);
  assert.equal(l.sellTotal, 17);
  assert.equal(l.buyTotal, 75);
  assert.equal(l.strongerSide, 'buyer');
  assert.equal(l.verdict, true);
  assert.equal(l.ruleVersion, RULE_VERSION);
  assert.match(l.rationale, /upward/);
  assert.match(l.rationale, /1001\.25/);
  assert.ok(rationaleConsistent(l.rationale, goldFromLabel(l, 0.25), 0.25));
});

test('volume and count aggregations disagree on a hand-made window', () => {
  // Pairs: (10 vs 11) buyer, (10 vs 11) buyer, (30 vs 12) seller. Volume: 50 sell vs 34 buy -> seller -> false.
  // Count: buyers win 2 of 3 -> buyer -> true.
  const w = win([...RANGE, [[1002.0, 0, 12], [1001.75, 30, 11], [1001.5, 10, 11], [1001.25, 10, 0]]]);
  const v = labelFootprint(w, { aggregation: 'volume' }), c = labelFootprint(w, { aggregation: 'count' });
  assert.equal(v.strongerSide, 'seller');
  assert.equal(v.verdict, false);
  assert.equal(c.strongerSide, 'buyer');
  assert.equal(c.verdict, true);
  assert.deepEqual([c.buyWins, c.sellWins], [2, 1]);
  assert.throws(() => labelFootprint(w, { aggregation: 'mean' as never }), /volume, count/);
});

test('downward mirror: pairs at and below the level; sellers -> true, buyers -> false', () => {
  // Down true: pairs p <= 1000.50: (20 @1000.50 vs 5 @1000.75), (30 vs 4), (25 vs 3).
  const t = labelFootprint(win([...RANGE, [[1001.0, 5, 5], [1000.75, 5, 5], [1000.5, 20, 4], [1000.25, 30, 3], [1000.0, 25, 2]]]));
  assert.equal(t.direction, 'downward');
  assert.equal(t.levelTicks, 4002);
  assert.deepEqual(t.pairs.map((p) => [p.priceTicks, p.sell, p.buy]), [[4000, 25, 3], [4001, 30, 4], [4002, 20, 5]]);
  assert.equal(t.strongerSide, 'seller');
  assert.equal(t.verdict, true);
  // Down false: (2 vs 30), (3 vs 25), (4 vs 20).
  const f = labelFootprint(win([...RANGE, [[1000.75, 1, 30], [1000.5, 2, 25], [1000.25, 3, 20], [1000.0, 4, 0]]]));
  assert.equal(f.direction, 'downward');
  assert.equal(f.strongerSide, 'buyer');
  assert.equal(f.verdict, false);
});

test('direction edge cases: touching the range high is not a break; both or neither side -> none', () => {
  const touch = labelFootprint(win([...RANGE, [[1001.25, 1, 9], [1001.0, 1, 1]]]));
  assert.equal(touch.direction, 'none');
  assert.equal(touch.verdict, null);
  const both = labelFootprint(win([...RANGE, [[1001.5, 1, 9], [1001.25, 1, 1], [1001.0, 1, 1], [1000.75, 1, 1], [1000.5, 1, 1], [1000.25, 1, 1]]]));
  assert.equal(both.direction, 'none');
  assert.equal(both.levelTicks, null);
  const inside = labelFootprint(win([...RANGE, [[1001.0, 1, 9], [1000.75, 1, 1]]]));
  assert.equal(inside.direction, 'none');
  // A one-tick break with a single row above the level has no pair: side none.
  const onlyTop = labelFootprint(win([...RANGE, [[1001.5, 1, 9]]]));
  assert.equal(onlyTop.direction, 'upward');
  assert.equal(onlyTop.pairs.length, 0);
  assert.equal(onlyTop.strongerSide, 'none');
});

test('ties give side none under each aggregation, and the two rules tie differently', () => {
  // Equal pairs: (5 vs 5), (10 vs 10).
  const eq = win([...RANGE, [[1001.75, 0, 10], [1001.5, 10, 5], [1001.25, 5, 0]]]);
  assert.equal(labelFootprint(eq).strongerSide, 'none');
  assert.equal(labelFootprint(eq, { aggregation: 'count' }).strongerSide, 'none');
  assert.equal(labelFootprint(eq).verdict, null);
  // (5 vs 6) buyer, (5 vs 6) buyer, (8 vs 6) seller: volume 18-18 tie, count 2-1 buyer.
  const mixed = win([...RANGE, [[1002.0, 0, 6], [1001.75, 8, 6], [1001.5, 5, 6], [1001.25, 5, 0]]]);
  assert.equal(labelFootprint(mixed).strongerSide, 'none');
  assert.equal(labelFootprint(mixed, { aggregation: 'count' }).strongerSide, 'buyer');
});

test('property: the labeller reproduces the generator\'s intended label on every window, across seeds and specs', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 10_000 }),
    fc.constantFrom(0.25, 0.01, 0.5), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 4, max: 30 }),
    (seed, index, tick, rangeBars, band) => {
      const spec = footprintSpec({ tick, rangeBars, bandTicks: [band, band + 3], hardShare: 0.25, nearShare: 0.25, tieShare: 0.1, noDirectionShare: 0.1 });
      const g = generateFootprintWindow(seed, index, spec);
      const v = labelFootprint(g.window), c = labelFootprint(g.window, { aggregation: 'count' });
      return v.direction === g.intended.direction && v.levelTicks === g.intended.levelTicks && v.strongerSide === g.intended.side
        && v.verdict === g.intended.verdict && c.strongerSide === g.intended.sideByCount;
    }), { numRuns: 1500 });
});

test('generator: classes balanced, windows independent of set size, hard windows really split the rules, stable ids', () => {
  const set = generateFootprintSet(11, 400);
  const cls: Record<string, number> = {};
  for (const g of set) if (g.intended.verdict !== null) { const k = `${g.intended.direction}/${g.intended.verdict}`; cls[k] = (cls[k] ?? 0) + 1; }
  assert.equal(Object.keys(cls).length, 4);
  for (const v of Object.values(cls)) assert.ok(v >= 80 && v <= 100, JSON.stringify(cls));
  const hard = set.filter((g) => g.kind === 'hard');
  assert.ok(hard.length > 20);
  for (const g of hard) assert.notEqual(labelFootprint(g.window, { aggregation: 'count' }).strongerSide, labelFootprint(g.window).strongerSide);
  assert.deepEqual(generateFootprintSet(11, 5, {}, 395).map((g) => g.window), set.slice(395).map((g) => g.window));
  assert.equal(set[7]!.window.id, '11-7');
  assert.notDeepEqual(generateFootprintSet(12, 1)[0]!.window, set[0]!.window);
  assert.throws(() => footprintSpec({ bandWidth: 3 } as never), /known: rangeBars/);
});
