// Kill-and-resume harness: run a long command once to completion, then again in a fresh folder
// killed with SIGKILL at random points (each kill after fresh durable progress plus a random
// delay, or at a random time for commands that restart from scratch), resumed each time, and
// finally run to the end. The final record must equal the uninterrupted one (timings aside), and
// after every kill each final output must be absent or complete.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { readRecord } from '../../src/core/record-read.js';
import { parseNpy } from '../../src/core/data/npy.js';

/** Kills per command: RELIABILITY_KILLS (the full check uses 20); a small default for npm test. */
export const KILLS = Number(process.env.RELIABILITY_KILLS ?? 2);

export interface KillPlan {
  readonly name: string;
  /** CLI arguments writing every output under `out`. */
  args(out: string): string[];
  /** Durable progress so far (cache lines, rows, checkpoints); null: the command restarts from scratch. */
  progress: ((out: string) => number) | null;
  /**
   * For commands that restart from scratch: progress lines on stderr (the run is not quiet), so a
   * kill lands after a random number of steps of the current run.
   */
  readonly stderrProgress?: RegExp;
  /** Outputs that must never exist half-written. */
  finals(out: string): string[];
  /** Throws when a final output is incomplete (default: a run record that reads back). */
  checkFinal?(path: string): void;
  /** Keys (anywhere in the record) that legitimately differ between runs: timings, cache hits. */
  readonly volatile?: RegExp;
  /** Extra checks on the resumed folder (no duplicated cache keys, no leftover partial files). */
  after?(out: string, clean: string): void;
  /** Longest random delay after the progress that triggers a kill (default 50 ms). */
  readonly jitterMs?: number;
  /** The record to compare (default: the file given by finals[0]). */
  record?(out: string): string;
}

export interface KillResult {
  readonly command: string;
  readonly kills: number;
  readonly runs: number;
  readonly identical: boolean;
  readonly cleanSeconds: number;
  /** Hidden `.NAME.PID.N.tmp` files of atomic writes interrupted by a kill (debris, never a final name). */
  readonly leftoverTmp: number;
}

const BASE_VOLATILE = /^(timings|wall_s|started|versions|machine|backend|warnings|time_s|time_per_seed_s|latency_ms|latencyMs|seconds|elapsed_s|cache_hits|images_per_second|imagesPerSecond|resumedFrom|resumed_from)$/;

function scrub(v: unknown, volatile: RegExp | undefined): unknown {
  if (Array.isArray(v)) return v.map((x) => scrub(x, volatile));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!BASE_VOLATILE.test(k) && !volatile?.test(k)) out[k] = scrub(x, volatile);
    return out;
  }
  return v;
}

/** A record as text with the output folder replaced, volatile members removed. */
export function comparable(path: string, out: string, volatile?: RegExp): unknown {
  const text = readFileSync(path, 'utf8').split(resolve(out)).join('<out>');
  return scrub(JSON.parse(text), volatile);
}

let entryFile: string | null = null;
function entry(dir: string): string {
  if (!entryFile) {
    entryFile = join(dir, 'entry.mts');
    // An entry file (not -e): node-llama-cpp forks helpers with the parent's exec arguments.
    writeFileSync(entryFile, `import { main } from ${JSON.stringify(resolve('src/cli/index.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`);
  }
  return entryFile;
}

interface Spawned { readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>; kill(): void; exited(): boolean; stderr(): string }

function runCli(dir: string, args: string[], quiet = true): Spawned {
  const env: NodeJS.ProcessEnv = { ...process.env, PERENNIAL_QUIET: quiet ? '1' : '0', CI: quiet ? process.env.CI : 'false' };
  const child = spawn(process.execPath, ['--import', 'tsx', entry(dir), ...args], { cwd: resolve('.'), stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  let exited = false;
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((r) => child.on('exit', (code, signal) => { exited = true; r({ code, signal, stderr }); }));
  return { done, kill: () => child.kill('SIGKILL'), exited: () => exited, stderr: () => stderr };
}

/** A final output is complete: a record reads back, an HTML report is closed, an NPY parses. */
export function checkComplete(path: string): void {
  if (path.endsWith('.html')) {
    if (!/<\/html>\s*$/i.test(readFileSync(path, 'utf8'))) throw new Error('HTML report without its closing tag');
  } else if (path.endsWith('.npy')) {
    parseNpy(readFileSync(path), path);
  } else readRecord(path);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function checkFinals(plan: KillPlan, out: string, when: string): void {
  for (const f of plan.finals(out)) {
    if (!existsSync(f)) continue;
    try {
      if (plan.checkFinal) plan.checkFinal(f); else checkComplete(f);
    } catch (e) {
      assert.fail(`${plan.name}: ${when}: ${f} exists but is incomplete: ${(e as Error).message}`);
    }
  }
}

export async function killAndResume(plan: KillPlan, dir: string, kills = KILLS, seed = 0): Promise<KillResult> {
  const rng = new Rng(seed, `kill-${plan.name}`);
  const clean = join(dir, 'clean'), killed = join(dir, 'killed');
  mkdirSync(clean, { recursive: true });
  mkdirSync(killed, { recursive: true });
  const t0 = performance.now();
  const quiet = !plan.stderrProgress;
  const steps = (text: string): number => (plan.stderrProgress ? (text.match(plan.stderrProgress) ?? []).length : 0);
  const c = await runCli(dir, plan.args(clean), quiet).done;
  const cleanMs = performance.now() - t0;
  assert.equal(c.code, 0, `${plan.name}: clean run failed: ${c.stderr.slice(-2000)}`);
  const total = plan.progress ? plan.progress(clean) : 0;
  let delivered = 0, runs = 0;
  for (let k = 0; k < kills; k++) {
    const p = runCli(dir, plan.args(killed), quiet);
    runs++;
    if (plan.stderrProgress) {
      // A random step of this run (never its last), plus a random delay.
      const total = steps(c.stderr);
      const need = 1 + rng.int(Math.max(1, total - 1));
      while (!p.exited() && steps(p.stderr()) < need) await sleep(5);
      if (!p.exited()) await sleep(rng.int((plan.jitterMs ?? 50) + 1));
    } else if (plan.progress) {
      // Kill after 1..n new units of durable progress (n spreads the kills over half the work
      // left, the other half is margin for the delay), plus a random delay into the next unit.
      const start = plan.progress(killed);
      const room = Math.max(1, Math.floor((total - start) / (2 * (kills - k + 1))));
      const need = 1 + rng.int(room);
      while (!p.exited() && plan.progress(killed) < start + need) await sleep(10);
      if (!p.exited()) await sleep(rng.int((plan.jitterMs ?? 50) + 1));
    } else {
      // No checkpoints: a random moment of a run as long as the clean one.
      await sleep(cleanMs * (0.2 + 0.7 * rng.next()));
    }
    if (p.exited()) {
      const r = await p.done;
      assert.fail(`${plan.name}: run ${runs} finished (exit ${r.code}) before kill ${k + 1} of ${kills}: give the command more work. ${r.stderr.slice(-1000)}`);
    }
    p.kill();
    const r = await p.done;
    assert.equal(r.signal, 'SIGKILL', `${plan.name}: killed run ended by ${r.signal ?? r.code}: ${r.stderr.slice(-1000)}`);
    delivered++;
    checkFinals(plan, killed, `after kill ${delivered}`);
  }
  const last = await runCli(dir, plan.args(killed), quiet).done;
  runs++;
  assert.equal(last.code, 0, `${plan.name}: resumed run failed: ${last.stderr.slice(-2000)}`);
  checkFinals(plan, killed, 'after the resumed run');
  const recClean = plan.record ? plan.record(clean) : plan.finals(clean)[0]!;
  const recKilled = plan.record ? plan.record(killed) : plan.finals(killed)[0]!;
  const a = comparable(recClean, clean, plan.volatile), b = comparable(recKilled, killed, plan.volatile);
  assert.deepEqual(b, a, `${plan.name}: the resumed record equals the uninterrupted one`);
  plan.after?.(killed, clean);
  const leftoverTmp = readdirSync(killed, { recursive: true }).map(String).filter((f) => /(^|\/)\.[^/]*\.tmp$/.test(f)).length;
  return { command: plan.name, kills: delivered, runs, identical: true, cleanSeconds: cleanMs / 1000, leftoverTmp };
}

/** JSONL lines in a file (0 when absent); a torn last line does not count. */
export function jsonlLines(path: string): number {
  if (!existsSync(path)) return 0;
  const t = readFileSync(path, 'utf8');
  return t.split('\n').length - 1;
}

/** Keys of a JSONL cache are unique (no call stored twice). */
export function assertUniqueKeys(path: string): void {
  const keys = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { key: string }).key);
  assert.equal(new Set(keys).size, keys.length, `${path}: ${keys.length - new Set(keys).size} duplicated keys`);
}

/** Append one result line to RELIABILITY_SUMMARY (a JSONL that test/reliability/summary.ts collects). */
export function note(kind: 'kill' | 'faults', value: object): void {
  const p = process.env.RELIABILITY_SUMMARY;
  if (p) writeFileSync(p, JSON.stringify({ kind, ...value }) + '\n', { flag: 'a' });
}

export function noteResult(r: KillResult): void {
  note('kill', r);
}
