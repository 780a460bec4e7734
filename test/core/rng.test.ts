// The seeded RNG: same seed and path give the same stream, split streams are independent of each
// other and of how much the parent was used, and the samplers have the right ranges and moments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, rng } from '../../src/core/rng.js';

function draw(r: Rng, n: number): number[] {
  return Array.from({ length: n }, () => r.next());
}

test('same seed and path give the same stream; other seeds and paths differ', () => {
  assert.deepEqual(draw(new Rng(7), 50), draw(new Rng(7), 50));
  assert.deepEqual(draw(rng(7, 'a'), 20), draw(new Rng(7, 'a'), 20));
  assert.notDeepEqual(draw(new Rng(7), 20), draw(new Rng(8), 20));
  assert.notDeepEqual(draw(new Rng(7, 'a'), 20), draw(new Rng(7, 'b'), 20));
});

test('split streams depend only on (seed, path, name), not on the parent\'s use', () => {
  const p1 = new Rng(3), p2 = new Rng(3);
  draw(p2, 1000);
  assert.deepEqual(draw(p1.split('init'), 30), draw(p2.split('init'), 30));
  assert.deepEqual(draw(p1.split('a').split('b'), 10), draw(new Rng(3, 'a/b'), 10));
  assert.notDeepEqual(draw(p1.split('init'), 30), draw(p1.split('data'), 30));
  // Split streams are not shifted copies of one another.
  const a = draw(p1.split('x'), 200), b = draw(p1.split('y'), 200);
  const sb = new Set(b);
  assert.ok(a.filter((v) => sb.has(v)).length === 0);
});

test('next is in [0, 1) with mean 1/2; int is unbiased over its range; normal has mean 0 and sd 1', () => {
  const r = new Rng(11);
  const n = 40000;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    s += v;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.01);
  const counts = new Array<number>(7).fill(0);
  for (let i = 0; i < 70000; i++) counts[r.int(7)]!++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `int(7) count ${c}`);
  let m = 0, m2 = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    m += z;
    m2 += z * z;
  }
  assert.ok(Math.abs(m / n) < 0.03);
  assert.ok(Math.abs(m2 / n - 1) < 0.04);
  assert.throws(() => r.int(0), RangeError);
  assert.throws(() => r.int(2.5), RangeError);
});

test('permutation, shuffle and sample are permutations/subsets and seeded', () => {
  const p = new Rng(5).permutation(100);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(p, new Rng(5).permutation(100));
  assert.notDeepEqual(p, new Rng(6).permutation(100));
  const s = new Rng(5).sample(50, 10);
  assert.equal(new Set(s).size, 10);
  for (const v of s) assert.ok(v >= 0 && v < 50);
  assert.throws(() => new Rng(5).sample(3, 4), RangeError);
  const arr = [1, 2, 3, 4, 5];
  new Rng(9).shuffle(arr);
  assert.deepEqual([...arr].sort(), [1, 2, 3, 4, 5]);
  assert.throws(() => new Rng(1).choice([]), RangeError);
  const f = new Rng(2).fillNormal(new Float32Array(8), 2, 10);
  assert.deepEqual(f, new Rng(2).fillNormal(new Float32Array(8), 2, 10));
});
