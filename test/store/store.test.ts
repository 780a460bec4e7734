import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { MIGRATIONS, SCHEMA_VERSION, openStore } from '../../src/core/store/db.js';
import { compareRuns } from '../../src/core/store/compare.js';
import { t975 } from '../../src/core/stats.js';
import { extract } from '../../src/core/store/extract.js';
import { indexWrittenRecord } from '../../src/core/store/hook.js';
import { RunStore } from '../../src/core/store/runs.js';
import { writeFixtureRecords } from './fixtures.js';
import { tempDir } from './helpers.js';
import { textOnly } from '../helpers/stdout.js';

const Driver = createRequire(import.meta.url)('better-sqlite3') as new (f: string) => { pragma(s: string, o?: unknown): unknown; exec(s: string): void; close(): void };

async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = textOnly((s) => { out += s; });
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = undefined;
  }
}

test('every record written is indexed; runs list --json has the documented shape and filters', async () => {
  const dir = tempDir('store');
  try {
    const store = join(dir, 'runs', 'perennial.db');
    writeFixtureRecords(dir, store);
    const r = await capture(['runs', 'list', '--json', '--store', store]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { runs: Record<string, unknown>[] };
    assert.equal(j.runs.length, 6);
    for (const run of j.runs) {
      for (const k of ['id', 'command', 'job', 'created', 'metrics']) assert.ok(k in run, k);
      assert.equal(run.job, null);
      assert.equal(run.command, 'fake train');
      assert.equal(typeof (run.metrics as Record<string, number>).final_accuracy, 'number');
    }
    const ewc = JSON.parse((await capture(['runs', 'list', '--json', '--store', store, '--method', 'ewc'])).out) as { runs: unknown[] };
    assert.equal(ewc.runs.length, 3);
    assert.equal(JSON.parse((await capture(['runs', 'list', '--json', '--store', store, '--command', 'other'])).out).runs.length, 0);
    assert.equal(JSON.parse((await capture(['runs', 'list', '--json', '--store', store, '--since', '2000-01-01'])).out).runs.length, 6);
    assert.equal(JSON.parse((await capture(['runs', 'list', '--json', '--store', store, '--since', '2999-01-01'])).out).runs.length, 0);
    const bad = await capture(['runs', 'list', '--store', store, '--since', 'yesterday-ish']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--since expects a date/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('runs import rebuilds the store from the record files with the same ids', async () => {
  const dir = tempDir('store-import');
  try {
    const store = join(dir, 'a', 'perennial.db');
    const recs = join(dir, 'recs');
    mkdirSync(recs);
    writeFixtureRecords(recs, store);
    writeFileSync(join(recs, 'not-a-record.json'), '{"x": 1}');
    const s1 = new RunStore(store);
    const ids1 = s1.list().map((r) => r.id).sort();
    s1.close();
    const store2 = join(dir, 'b', 'perennial.db');
    const r = await capture(['runs', 'import', recs, '--store', store2]);
    assert.equal(r.code, 0);
    assert.match(r.out, /indexed 6 record\(s\), skipped 1/);
    assert.match(r.err, /not-a-record\.json/);
    const s2 = new RunStore(store2);
    assert.deepEqual(s2.list().map((x) => x.id).sort(), ids1);
    // Importing again replaces rows, never duplicates them.
    s2.importDir(recs);
    assert.equal(s2.count(), 6);
    s2.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('store schema: migrations are versioned, an old store is migrated, a newer one is refused', () => {
  const dir = tempDir('store-schema');
  try {
    // A store at version 1 (before the jobs table) with one row.
    const old = join(dir, 'old.db');
    const db = new Driver(old);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.exec(`INSERT INTO runs (id, path, command, created, metrics, indexed) VALUES ('abcdef123456', '/x.json', 'c', '2026-01-01T00:00:00Z', '{}', 'now')`);
    db.close();
    const s = new RunStore(old);
    assert.equal(s.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(s.count(), 1, 'rows kept across the migration');
    s.setJob('0123456789abcdef', 'sw', ['x'], 'failed', 'boom', 2);
    assert.equal(s.jobStates(['0123456789abcdef']).get('0123456789abcdef')?.error, 'boom');
    s.close();
    const newer = join(dir, 'newer.db');
    const d2 = new Driver(newer);
    d2.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    d2.close();
    assert.throws(() => openStore(newer), /schema version 3, newer than this perennial knows \(2\)/);
    assert.throws(() => openStore(newer, { readonly: true }), /newer than this perennial knows/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('an index failure never loses the JSON record: one warning line, the file intact', async () => {
  const dir = tempDir('store-fail');
  try {
    const notADb = join(dir, 'bad.db');
    writeFileSync(notADb, 'this is not a database, and it is long enough to have a header'.repeat(10));
    const prev = process.env.PERENNIAL_STORE;
    process.env.PERENNIAL_STORE = notADb;
    let err = '';
    const ew = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
    try {
      const { RunRecorder, writeRecord } = await import('../../src/core/record.js');
      const p = join(dir, 'r.json');
      writeRecord(p, new RunRecorder('fake', {}, 1).finish({ x: 1 }));
      assert.equal(JSON.parse(readFileSync(p, 'utf8')).x, 1);
    } finally {
      process.stderr.write = ew;
      if (prev === undefined) delete process.env.PERENNIAL_STORE; else process.env.PERENNIAL_STORE = prev;
    }
    assert.match(err, /was written but not indexed in the run store/);
    assert.equal(err.trim().split('\n').length, 1);
    // PERENNIAL_STORE=off: not indexed at all.
    process.env.PERENNIAL_STORE = 'off';
    try { assert.equal(indexWrittenRecord(join(dir, 'r.json'), {}), null); } finally { if (prev === undefined) delete process.env.PERENNIAL_STORE; else process.env.PERENNIAL_STORE = prev; }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('runs compare: paired differences over shared seeds equal the hand computation', async () => {
  const dir = tempDir('store-compare');
  try {
    const store = join(dir, 'perennial.db');
    writeFixtureRecords(dir, store, [0, 1, 2, 3]);
    const s = new RunStore(store);
    const rows = s.list();
    const ewc = rows.filter((r) => r.method === 'ewc').sort((a, b) => Number(a.seed) - Number(b.seed));
    const rep = rows.filter((r) => r.method === 'replay').sort((a, b) => Number(a.seed) - Number(b.seed));
    // Only three replay seeds: the pairing uses the seeds both variants have.
    const chosen = [...ewc, ...rep.slice(0, 3)].map((r) => s.get(r.id));
    const c = compareRuns(chosen);
    assert.equal(c.variants.length, 2);
    const p = c.paired.find((x) => x.metric === 'final_accuracy')!;
    assert.deepEqual(p.seeds, [0, 1, 2]);
    const d = [0, 1, 2].map((i) => rep[i]!.metrics.final_accuracy! - ewc[i]!.metrics.final_accuracy!);
    const mean = d.reduce((a, b) => a + b) / 3;
    assert.ok(Math.abs(p.mean - mean) < 1e-12 && Math.abs(mean - 0.05) < 1e-9);
    // The noise is shared by seed, so the paired spread is (numerically) zero.
    assert.ok(p.sd! < 1e-9 && p.lo! <= p.mean && p.hi! >= p.mean);
    assert.match(p.variant, /lr=0\.01/);
    assert.match(p.variant, /method="replay"/);
    const f = c.paired.find((x) => x.metric === 'nested.forgetting')!;
    assert.ok(Math.abs(f.mean + 0.05) < 1e-9);
    // Different seeds in one variant: the metric table still lines them up.
    assert.equal(c.metrics.find((m) => m.metric === 'final_accuracy')!.values.length, 7);
    s.close();
    const cli = await capture(['runs', 'compare', ewc[0]!.id, rep[0]!.id, '--store', store]);
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.out, /final_accuracy/);
    assert.match(cli.out, /\(one seed\)/);
    const missing = await capture(['runs', 'compare', ewc[0]!.id, 'ffff0000', '--store', store]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no run ffff0000/);
    const show = await capture(['runs', 'show', ewc[0]!.id.slice(0, 6), '--store', store]);
    assert.equal(show.code, 0);
    assert.match(show.out, /accuracy_matrix \(matrix, 2\)/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('t quantiles and extraction caps', () => {
  assert.equal(t975(1), 12.706);
  assert.ok(Math.abs(t975(40) - 2.021) < 2e-3);
  assert.ok(Math.abs(t975(1000) - 1.962) < 2e-3);
  const big = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`m${i}`, i]));
  const ex = extract({ ...big, run: { wall_s: 1 } });
  assert.equal(Object.keys(ex.metrics).length, 400);
  assert.ok(ex.truncated);
  const ex2 = extract({ curve: Array.from({ length: 5000 }, (_, i) => i), bad: NaN, run: {} });
  assert.equal(ex2.series.curve!.values.length, 2000);
  assert.equal(ex2.metrics['curve.last'], 4999);
  assert.ok(!('bad' in ex2.metrics));
});
