// info sizes are capped before allocation (issue 17, item 4): Grams, NC batches, grokking's full batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/core/errors.js';
import { collapseSweep, grokkingOptions, measureBytes, measureFeatures } from '../../src/info/index.js';

function withBudget<T>(v: string, fn: () => T): T {
  const prev = process.env.PERENNIAL_MAX_BYTES;
  process.env.PERENNIAL_MAX_BYTES = v;
  try { return fn(); } finally { if (prev === undefined) delete process.env.PERENNIAL_MAX_BYTES; else process.env.PERENNIAL_MAX_BYTES = prev; }
}

test('measureFeatures refuses an n x n Gram over the budget before computing it', () => {
  // 3000 rows of dimension 4000: the Gram route (d > n) takes 3 x 3000^2 doubles per side.
  const X = { rows: 3000, cols: 4000, data: new Float64Array(0) };
  assert.ok(measureBytes(3000, 4000, 0) > 8 * 3000 * 3000 * 3);
  withBudget('100M', () => assert.throws(() => measureFeatures(X), (e: unknown) => e instanceof InputError && /info measure: the Grams of 3000 rows/.test((e as Error).message)));
  // Small inputs are measured as before.
  const small = { rows: 4, cols: 2, data: Float64Array.from([1, 0, 0, 1, 1, 1, 1, -1]) };
  assert.ok(Number.isFinite(withBudget('100M', () => measureFeatures(small)).entropy_x));
});

test('info nc and grokking sizes: refused with the options named', () => {
  assert.throws(() => collapseSweep({ classes: 10000, dim: 10000 }), /nc sweep \(--classes, --dim, --per-class\): batches of up to 100000000 rows/);
  assert.throws(() => collapseSweep({ seeds: 1e11 }), /seeds = 100000000000 is above the limit/);
  assert.throws(() => grokkingOptions({ p: 3000 }), /grokking \(--p\): the p\^2 x p logits/);
  withBudget('10M', () => assert.throws(() => grokkingOptions({ p: 200 }), /needs about/));
  assert.doesNotThrow(() => grokkingOptions({ p: 23 }));
});
