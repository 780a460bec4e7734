// Records never hold a bare NaN/Infinity: a metric that cannot be computed is null with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordError, RunRecorder, checkRecord, findBareNonFinite, writeRecord } from '../../src/core/record.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'perennial-rec-'));

test('findBareNonFinite: bare NaN, Infinity, -Infinity, inside arrays and nested objects', () => {
  const bare = findBareNonFinite({ a: 1, b: NaN, c: [1, Infinity, [2, -Infinity]], d: { e: { f: NaN } }, g: [{ h: NaN }], ok: null, s: 'NaN' });
  const where = bare.map((b) => [...b.path, b.key].join('.')).sort();
  assert.deepEqual(where, ['b', 'c', 'c', 'd.e.f', 'g.0.h']);
  assert.deepEqual(findBareNonFinite(new Float64Array([1, NaN])).length, 1);
});

test('findBareNonFinite: a sibling <key>_reason or reasons[key] makes a non-finite value acceptable', () => {
  assert.equal(findBareNonFinite({ mir: NaN, mir_reason: 'H(X) = 0' }).length, 0);
  assert.equal(findBareNonFinite({ mir: NaN, reasons: { mir: 'H(X) = 0' } }).length, 0);
  assert.equal(findBareNonFinite({ curve: [1, NaN], reasons: { curve: 'pole at p = n' } }).length, 0);
  // The reason must be for this key, non-empty, and in the same object.
  assert.equal(findBareNonFinite({ mir: NaN, reasons: { hdr: 'x' } }).length, 1);
  assert.equal(findBareNonFinite({ mir: NaN, mir_reason: '' }).length, 1);
  assert.equal(findBareNonFinite({ inner: { mir: NaN }, mir_reason: 'wrong level' }).length, 1);
});

test('writeRecord throws RecordError on a bare NaN under the test runner and writes nothing', () => {
  const dir = tmp();
  try {
    const rec = new RunRecorder('test', {}, null).finish({ acc: NaN });
    const out = join(dir, 'r.json');
    assert.throws(() => writeRecord(out, rec), (e: unknown) => e instanceof RecordError && /acc = NaN/.test((e as Error).message));
    assert.equal(existsSync(out), false);
    // With the reason it is written, as null.
    writeRecord(out, new RunRecorder('test', {}, null).finish({ acc: NaN, acc_reason: 'no windows answered' }));
    const j = JSON.parse(readFileSync(out, 'utf8')) as { acc: unknown; acc_reason: string };
    assert.equal(j.acc, null);
    assert.equal(j.acc_reason, 'no windows answered');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('outside tests a bare NaN is kept as null with a generated reason and a warning in the record', () => {
  const prev = process.env.PERENNIAL_STRICT_RECORDS;
  process.env.PERENNIAL_STRICT_RECORDS = '0';
  try {
    const rec = new RunRecorder('test', {}, null).finish({ acc: NaN, per: { a: [1, Infinity] } });
    const fixed = checkRecord('r.json', rec) as unknown as { acc: unknown; reasons: Record<string, string>; per: { reasons: Record<string, string> }; run: { warnings: { code: string }[] } };
    assert.equal(fixed.acc, null);
    assert.match(fixed.reasons.acc!, /NaN with no reason/);
    assert.match(fixed.per.reasons.a!, /Infinity with no reason/);
    assert.ok(fixed.run.warnings.some((w) => w.code === 'record-bare-nonfinite'));
    assert.equal(findBareNonFinite(fixed).length, 0);
  } finally {
    if (prev === undefined) delete process.env.PERENNIAL_STRICT_RECORDS; else process.env.PERENNIAL_STRICT_RECORDS = prev;
  }
});
