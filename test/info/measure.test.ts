import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { measureFeatures, measureRecord } from '../../src/info/index.js';

const matrix = (rows: number, cols: number, f: () => number) => ({ rows, cols, data: Float64Array.from({ length: rows * cols }, f) });

test('measureRecord: the measureFeatures numbers; X alone has no Y keys; 0/0 ratios are null with the reason', () => {
  const r = new Rng(3);
  const X = matrix(20, 5, () => r.normal()), Y = matrix(20, 3, () => r.normal());
  const m = measureFeatures(X, Y, { alpha: 1, center: false });
  assert.deepEqual(measureRecord(X, Y, { alpha: 1, center: false }), { n: 20, entropy_x: m.entropy_x, alpha: 1, center: false, entropy_y: m.entropy_y, mi: m.mi, mir: m.mir, hdr: m.hdr });
  assert.deepEqual(Object.keys(measureRecord(X, undefined, { alpha: 2, center: true })), ['n', 'entropy_x', 'alpha', 'center']);
  const ones = matrix(20, 1, () => 1);
  const z = measureRecord(ones, ones, { alpha: 1, center: false });
  assert.equal(z.mir, null);
  assert.equal(z.hdr, null);
  assert.match(z.reasons!.mir!, /0\/0/);
  assert.equal(z.mi, 0);
});
