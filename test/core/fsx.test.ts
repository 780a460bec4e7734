import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { sweepStaleTemps, writeFileAtomic } from '../../src/core/fsx.js';

/** A PID that was running a moment ago and is certainly gone now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('writeFileAtomic removes temp files left by a dead writer, keeps live and foreign ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-fsx-'));
  const dead = deadPid();
  const stale = `.out.json.${dead}.3.tmp`;
  const live = `.out.json.${process.ppid}.0.tmp`; // the parent is alive while the test runs
  const other = `.other.json.${dead}.0.tmp`; // a different target: not ours to touch
  for (const n of [stale, live, other]) writeFileSync(join(dir, n), 'partial');
  writeFileAtomic(join(dir, 'out.json'), '{"a":1}\n');
  const left = readdirSync(dir).sort();
  assert.deepEqual(left, [live, other, 'out.json'].sort());
  assert.equal(readFileSync(join(dir, 'out.json'), 'utf8'), '{"a":1}\n');
});

test('sweepStaleTemps ignores names that only look similar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-fsx-'));
  const dead = deadPid();
  const names = [`.x.${dead}.tmp`, `.x.${dead}.1.tmp.bak`, `x.${dead}.1.tmp`, `.x.abc.1.tmp`];
  for (const n of names) writeFileSync(join(dir, n), '');
  assert.deepEqual(sweepStaleTemps(join(dir, 'x')), []);
  assert.equal(readdirSync(dir).length, names.length);
});
