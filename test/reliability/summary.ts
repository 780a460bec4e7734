// The reliability summary: runs the kill-and-resume tests (RELIABILITY_KILLS kills per command,
// default 20) and the remote-fault tests, merges their results with a fuzz record, and writes
//   {"readers": {...from npm run fuzz...}, "kills": {"<command>": {...}}, "faults": [...], "passed": bool}
// Usage: node --import tsx test/reliability/summary.ts --fuzz tmp/fuzz.json --json tmp/reliability.json [--kills 20]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { RunRecorder, writeRecord } from '../../src/core/record.js';
import { readRecord } from '../../src/core/record-read.js';

function args(argv: string[]): { fuzz: string | null; json: string; kills: number } {
  const o = { fuzz: null as string | null, json: 'reliability.json', kills: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i]!, argv[i + 1]];
    if (v === undefined) throw new InputError(`summary: ${k} needs a value`);
    if (k === '--fuzz') o.fuzz = v; else if (k === '--json') o.json = v; else if (k === '--kills') o.kills = Number(v);
    else throw new InputError(`summary: unknown option ${k}; known: --fuzz, --json, --kills`);
  }
  return o;
}

const o = args(process.argv.slice(2).filter((a) => a !== '--'));
const rec = new RunRecorder('reliability summary', o, null);
const tmp = mkdtempSync(join(tmpdir(), 'perennial-summary-'));
const lines = join(tmp, 'results.jsonl');
const files = ['kill-selfknow', 'kill-breakout', 'kill-features', 'kill-cil', 'kill-crystal', 'remote-faults'].map((f) => `test/reliability/${f}.test.ts`);
// One file at a time: the kill tests time their kills, and the machine may be small.
const statuses: Record<string, number | null> = {};
for (const f of files) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', f], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PERENNIAL_QUIET: '1', RELIABILITY_KILLS: String(o.kills), RELIABILITY_SUMMARY: lines },
  });
  statuses[f] = r.status;
}
const t = { status: Object.values(statuses).every((s) => s === 0) ? 0 : 1 };
const results = existsSync(lines) ? readFileSync(lines, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
rmSync(tmp, { recursive: true, force: true });
const kills: Record<string, unknown> = {};
for (const r of results.filter((x) => x.kind === 'kill')) kills[String(r.command)] = { kills: r.kills, runs: r.runs, identical: r.identical, clean_seconds: r.cleanSeconds, leftover_tmp_files: r.leftoverTmp };
const faults = results.filter((x) => x.kind === 'faults').map(({ kind: _k, ...r }) => r);
const fuzz = o.fuzz ? readRecord(resolve(o.fuzz)) : null;
const readers = (fuzz?.readers ?? {}) as Record<string, { inputs: number; crashes: number; hangs: number; untyped: number; oversized?: number }>;
const fuzzOk = Object.keys(readers).length > 0 && Object.values(readers).every((r) => r.inputs >= 10_000 && r.crashes === 0 && r.hangs === 0 && r.untyped === 0 && !r.oversized);
const killsOk = Object.keys(kills).length === 5 && Object.values(kills).every((k) => (k as { kills: number; identical: boolean }).kills >= o.kills && (k as { identical: boolean }).identical);
const passed = t.status === 0 && fuzzOk && killsOk && faults.length === 2;
writeRecord(resolve(o.json), rec.finish({ readers, kills, faults, tests_exit_code: t.status, test_files: statuses, targets: { fuzz: fuzzOk, kills: killsOk, faults: t.status === 0 && faults.length === 2 }, passed }));
process.stdout.write(`reliability: fuzz ${fuzzOk ? 'ok' : 'NOT MET'}, kills ${killsOk ? 'ok' : 'NOT MET'} (${Object.keys(kills).length} commands), faults ${faults.length === 2 && t.status === 0 ? 'ok' : 'NOT MET'} -> ${o.json}\n`);
process.exitCode = passed ? 0 : 1;
