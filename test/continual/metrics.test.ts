import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccuracyMatrix, groupCorrect } from '../../src/continual/metrics.js';

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('triangle [[90],[95,70],[60,65,75]]: A_t, average incremental, forgetting, BWT', () => {
  const m = AccuracyMatrix.fromTriangle([[90], [95, 70], [60, 65, 75]]);
  close(m.accMeanGroup(0), 90);
  close(m.accMeanGroup(1), 82.5);
  close(m.accMeanGroup(2), 200 / 3);
  close(m.avgIncremental('meanGroup'), (90 + 82.5 + 200 / 3) / 3);
  assert.equal(Math.round(m.avgIncremental('meanGroup') * 1000) / 1000, 79.722);
  close(m.forgetting(), 20);
  close(m.bwt(), -17.5);
});

test('accTop1 equals accMeanGroup with equal group counts and differs otherwise', () => {
  const eq = AccuracyMatrix.fromTriangle([[90], [95, 70]]);
  close(eq.accTop1(1), eq.accMeanGroup(1));
  const uneq = AccuracyMatrix.fromTriangle([[90], [95, 70]], [[100], [100, 300]]);
  close(uneq.accMeanGroup(1), 82.5);
  close(uneq.accTop1(1), (95 + 210) / 400 * 100);
  assert.notEqual(uneq.accTop1(1), uneq.accMeanGroup(1));
});

test('one session: forgetting and BWT are 0; sessions must be recorded in order', () => {
  const m = AccuracyMatrix.fromTriangle([[80]]);
  assert.equal(m.forgetting(), 0);
  assert.equal(m.bwt(), 0);
  assert.throws(() => m.record(2, [1, 1, 1], [1, 1, 1]), /expected session 1/);
  assert.throws(() => m.record(1, [1], [1]), /needs 2 groups/);
});

test('groupCorrect counts per group and ignores unseen labels', () => {
  const pred = Int32Array.from([0, 1, 2, 3, 0]);
  const y = Int32Array.from([0, 0, 2, 3, 5]);
  const { correct, counts } = groupCorrect(pred, y, (c) => Math.floor(c / 2), 2);
  assert.deepEqual(counts, [2, 2]);
  assert.deepEqual(correct, [1, 2]);
});
