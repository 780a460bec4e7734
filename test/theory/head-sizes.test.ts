import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logIntGrid } from '../../src/core/stats.js';
import { defaultHeadSizes } from '../../src/theory/index.js';
import { parseRangeOrList } from '../../src/cli/util.js';

test('logIntGrid: ends included, ascending, distinct, log-spaced; --p lo..hi is the same grid', () => {
  const g = logIntGrid(5, 400, 24);
  assert.equal(g[0], 5);
  assert.equal(g.at(-1), 400);
  for (let i = 1; i < g.length; i++) assert.ok(g[i]! > g[i - 1]!);
  assert.equal(g.length, 24);
  assert.deepEqual(logIntGrid(1, 4, 10), [1, 2, 3, 4]);
  assert.deepEqual(parseRangeOrList('p', 24)('5..400'), g);
});

test('defaultHeadSizes: the 5..400 grid plus n - 4 and n + 4 around the pole', () => {
  const ps = defaultHeadSizes(100);
  assert.ok(ps.includes(96) && ps.includes(104));
  assert.deepEqual(ps, [...new Set([...logIntGrid(5, 400, 24), 96, 104])].sort((a, b) => a - b));
  assert.deepEqual(defaultHeadSizes(3, 14).filter((p) => p < 5), [], 'n - 4 < 1 is left out');
  assert.ok(defaultHeadSizes(3, 14).includes(7));
});
