// core/options: withDefaults merges over the defaults, rejects unknown keys naming the caller and
// the key (with the nearest known key for a typo), and rejects a value of the wrong type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDefaults, checkOptionKeys, nearestKey } from '../../src/core/options.js';
import { InputError } from '../../src/core/errors.js';

const D = { epochs: 10, lr: 0.1, verbose: false, name: 'x', dims: [1, 2], seed: undefined as number | undefined, extra: null as object | null };

test('given keys override the defaults; undefined keeps the default; the defaults object is not changed', () => {
  const o = withDefaults(D, { epochs: 3, lr: undefined, seed: 7 }, 'fit');
  assert.deepEqual(o, { ...D, epochs: 3, seed: 7 });
  assert.equal(D.epochs, 10);
  assert.notEqual(withDefaults(D, undefined, 'fit'), D);
  assert.deepEqual(withDefaults(D, undefined, 'fit'), D);
});

test('an unknown key names the caller, the key, the nearest known key and every known key', () => {
  assert.throws(() => withDefaults(D, { epoch: 3 }, 'train'), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.message, 'train: unknown option "epoch" (did you mean "epochs"?); known: epochs, lr, verbose, name, dims, seed, extra');
    return true;
  });
  assert.throws(() => withDefaults(D, { zzzzzz: 1 }, 'train'), /^InputError: train: unknown option "zzzzzz"; known: epochs/);
  assert.throws(() => checkOptionKeys({ LR: 1 }, ['lr', 'epochs'], 'g'), /g: unknown option "LR" \(did you mean "lr"\?\)/);
});

test('a value of the wrong type is an error; null or undefined defaults accept anything', () => {
  assert.throws(() => withDefaults(D, { epochs: '3' }, 'fit'), /fit: option "epochs" must be a number, got string "3"/);
  assert.throws(() => withDefaults(D, { verbose: 1 }, 'fit'), /option "verbose" must be a boolean/);
  assert.throws(() => withDefaults(D, { dims: 3 }, 'fit'), /option "dims" must be an array, got number 3/);
  assert.throws(() => withDefaults(D, { name: ['a'] }, 'fit'), /option "name" must be a string, got an array/);
  assert.throws(() => withDefaults(D, { epochs: null }, 'fit'), /got null/);
  assert.deepEqual(withDefaults(D, { dims: new Float64Array([3]) }, 'fit').dims, new Float64Array([3]));
  assert.equal(withDefaults(D, { seed: 5 }, 'fit').seed, 5);
  assert.deepEqual(withDefaults(D, { extra: { a: 1 } }, 'fit').extra, { a: 1 });
});

test('nearestKey: case-insensitive match first, no suggestion for a distant key', () => {
  assert.equal(nearestKey('Epochs', ['epochs', 'lr']), 'epochs');
  assert.equal(nearestKey('lrr', ['epochs', 'lr']), 'lr');
  assert.equal(nearestKey('ephocs', ['epochs', 'lr']), 'epochs');
  assert.equal(nearestKey('batchSize', ['epochs', 'lr']), undefined);
});
