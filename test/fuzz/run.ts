// `npm run fuzz -- --minutes N --json F [--readers a,b] [--seed S] [--findings DIR]`: time-boxed
// fuzzing of every reader (property generators and mutators with outcome feedback; see
// targets.ts), one worker per reader, each input checked against a 2 s hang limit. Inputs that
// crash, hang or throw an untyped error are saved under --findings for regression tests.
import { Worker } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { RunRecorder, writeRecord } from '../../src/core/record.js';
import { progress } from '../../src/core/progress.js';
import { TARGETS } from './targets.js';
import type { WorkerInput } from './worker.js';

interface ReaderStats {
  inputs: number; crashes: number; hangs: number; untyped: number;
  values: number; typed: number; oversized: number; outcomes: number; corpus: number; seconds: number; restarts: number;
}

const HANG_MS = 2000;

function parseArgs(argv: string[]): { minutes: number; json: string | null; readers: string[]; seed: number; findings: string; maxInputs: number } {
  const known = ['--minutes', '--json', '--readers', '--seed', '--findings', '--max-inputs'];
  const o = { minutes: 1, json: null as string | null, readers: TARGETS.map((t) => t.name), seed: 0, findings: 'tmp/fuzz-findings', maxInputs: Number.MAX_SAFE_INTEGER };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    const v = argv[++i];
    if (!known.includes(a) || v === undefined) throw new InputError(`fuzz: unknown or incomplete option ${a}; known: ${known.join(', ')}`);
    if (a === '--minutes') o.minutes = Number(v);
    else if (a === '--json') o.json = v;
    else if (a === '--readers') o.readers = v.split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--seed') o.seed = Number(v);
    else if (a === '--findings') o.findings = v;
    else o.maxInputs = Number(v);
  }
  if (!(o.minutes > 0)) throw new InputError(`fuzz: --minutes must be > 0, got ${o.minutes}`);
  for (const r of o.readers) if (!TARGETS.some((t) => t.name === r)) throw new InputError(`fuzz: unknown reader ${r}; known: ${TARGETS.map((t) => t.name).join(', ')}`);
  return o;
}

async function fuzzReader(reader: string, seconds: number, seed: number, maxInputs: number, findings: string): Promise<ReaderStats> {
  const st: ReaderStats = { inputs: 0, crashes: 0, hangs: 0, untyped: 0, values: 0, typed: 0, oversized: 0, outcomes: 0, corpus: 0, seconds: 0, restarts: 0 };
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  let saved = 0;
  const save = (kind: string, bytes: Uint8Array, note: string): void => {
    if (saved++ >= 20) return;
    mkdirSync(findings, { recursive: true });
    const base = join(findings, `${reader}-${kind}-${seed}-${saved}`);
    writeFileSync(`${base}.bin`, bytes);
    writeFileSync(`${base}.txt`, note + '\n');
  };
  for (let run = 0; Date.now() < deadline && st.inputs < maxInputs; run++) {
    const counters = new SharedArrayBuffer(4 * 8);
    const input = new SharedArrayBuffer(4 << 20);
    const c = new Int32Array(counters);
    const data: WorkerInput = { reader, seed: seed + 7919 * run, deadline, maxInputs: maxInputs - st.inputs, counters, input, hangMs: HANG_MS };
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: data, env: { ...process.env, PERENNIAL_QUIET: '1' }, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    const current = (): Uint8Array => new Uint8Array(input).slice(0, Math.min(Atomics.load(c, 5), input.byteLength));
    const outcome = await new Promise<'done' | 'hang' | 'crash'>((resolveP) => {
      let lastCount = -1, lastChange = Date.now(), settled = false;
      const finish = (r: 'done' | 'hang' | 'crash'): void => { if (!settled) { settled = true; clearInterval(timer); resolveP(r); } };
      const timer = setInterval(() => {
        const n = Atomics.load(c, 0);
        if (n !== lastCount) { lastCount = n; lastChange = Date.now(); return; }
        // Before the first input the worker is still loading modules: that is not a hang.
        if (n > 0 && Date.now() - lastChange > HANG_MS + 250) {
          save('hang', current(), `no progress for ${HANG_MS} ms`);
          void worker.terminate();
          finish('hang');
        }
      }, 100);
      worker.on('message', (m: { kind: string; error?: string; input?: Uint8Array; ms?: number; held?: number; outcomes?: number; corpus?: number }) => {
        if (m.kind === 'untyped') save('untyped', m.input!, m.error!);
        else if (m.kind === 'slow') save('slow', m.input!, `${m.ms!.toFixed(0)} ms`);
        else if (m.kind === 'oversized') save('oversized', m.input!, `value holds ${m.held} bytes`);
        else if (m.kind === 'done') { st.outcomes = Math.max(st.outcomes, m.outcomes!); st.corpus = Math.max(st.corpus, m.corpus!); }
      });
      worker.on('error', (e) => { save('crash', current(), String(e?.stack ?? e)); finish('crash'); });
      worker.on('exit', (code) => finish(code === 0 ? 'done' : 'crash'));
    });
    st.inputs += Atomics.load(c, 0);
    st.values += Atomics.load(c, 1);
    st.typed += Atomics.load(c, 2);
    st.untyped += Atomics.load(c, 3);
    st.hangs += Atomics.load(c, 4) + (outcome === 'hang' ? 1 : 0);
    st.oversized += Atomics.load(c, 6);
    if (outcome === 'crash') st.crashes++;
    if (outcome === 'done') break;
    st.restarts++;
  }
  st.seconds = (Date.now() - t0) / 1000;
  return st;
}

async function mainFuzz(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const rec = new RunRecorder('fuzz', o, o.seed);
  const lanes = Math.min(2, o.readers.length);
  // Seconds per reader so that all readers, two at a time, fit in the minutes asked for.
  const perReader = (o.minutes * 60 * lanes) / o.readers.length;
  const readers: Record<string, ReaderStats> = {};
  const p = progress('fuzz', o.readers.length);
  // Workers run in pairs: the machine has few cores, and each reader gets its full time box.
  const queue = [...o.readers];
  const lane = async (): Promise<void> => {
    for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
      readers[r] = await rec.time(r, () => fuzzReader(r, perReader, o.seed, o.maxInputs, resolve(o.findings)));
      p.tick(1, `${r}: ${readers[r]!.inputs} inputs`);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  p.done();
  const ordered: Record<string, ReaderStats> = {};
  for (const r of o.readers) ordered[r] = readers[r]!;
  const failures = Object.values(ordered).reduce((a, s) => a + s.crashes + s.hangs + s.untyped + s.oversized, 0);
  const record = rec.finish({ readers: ordered, hang_limit_ms: HANG_MS, failures });
  for (const [r, s] of Object.entries(ordered)) {
    process.stdout.write(`${r.padEnd(12)} inputs ${String(s.inputs).padStart(8)}  crashes ${s.crashes}  hangs ${s.hangs}  untyped ${s.untyped}  oversized ${s.oversized}  (values ${s.values}, typed errors ${s.typed}, outcomes ${s.outcomes}, ${s.seconds.toFixed(0)} s)\n`);
  }
  if (o.json) writeRecord(resolve(o.json), record);
  return failures === 0 ? 0 : 1;
}

mainFuzz(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { process.stderr.write(`fuzz: ${e instanceof Error ? e.message : String(e)}\n`); process.exitCode = 2; },
);
