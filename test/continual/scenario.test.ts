import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelRange, makeClassIncremental, parseSplit, remapDataset } from '../../src/continual/scenario.js';
import { makeDataset } from '../../src/core/data/dataset.js';

test('B2Inc2 over 10 classes: 5 sessions, contiguous ids, order from the seed', () => {
  const s = makeClassIncremental({ numClasses: 10, base: 2, increment: 2, classOrderSeed: 3 });
  assert.equal(s.sessions.length, 5);
  assert.deepEqual(s.sessions.map((x) => x.seen), [2, 4, 6, 8, 10]);
  assert.deepEqual(s.sessions[2]!.newIds, [4, 5]);
  assert.deepEqual([...s.classOrder].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(s.sessions[1]!.originalClasses, [s.classOrder[2], s.classOrder[3]]);
  assert.equal(s.groupOf(9), 4);
  const again = makeClassIncremental({ numClasses: 10, base: 2, increment: 2, classOrderSeed: 3 });
  assert.deepEqual(again.classOrder, s.classOrder);
  const other = makeClassIncremental({ numClasses: 10, base: 2, increment: 2, classOrderSeed: 4 });
  assert.notDeepEqual(other.classOrder, s.classOrder);
});

test('B4Inc2 and unequal base; bad splits are rejected', () => {
  const s = makeClassIncremental({ numClasses: 10, base: 4, increment: 3, classOrderSeed: 0 });
  assert.deepEqual(s.sessions.map((x) => x.newIds.length), [4, 3, 3]);
  assert.throws(() => makeClassIncremental({ numClasses: 10, base: 3, increment: 2, classOrderSeed: 0 }), /whole sessions/);
  assert.deepEqual(parseSplit('B2Inc2'), { base: 2, increment: 2 });
  assert.deepEqual(parseSplit('b10inc5'), { base: 10, increment: 5 });
  assert.throws(() => parseSplit('2-2'), /B<base>Inc<increment>/);
});

test('remapDataset relabels by class order and labelRange selects sessions', () => {
  const ds = makeDataset({ x: Float32Array.from([0, 1, 2, 3]), y: Int32Array.from([0, 1, 2, 3]), d: 1, source: 't' });
  const r = remapDataset(ds, [2, 0, 3, 1]);
  assert.deepEqual([...r.y], [1, 3, 0, 2]);
  assert.deepEqual([...r.x], [0, 1, 2, 3]);
  const part = labelRange(r, 0, 2);
  assert.deepEqual([...part.y], [1, 0]);
  assert.deepEqual([...part.x], [0, 2]);
});
