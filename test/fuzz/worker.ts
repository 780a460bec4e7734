// One fuzz worker: runs one reader on generated and mutated inputs until its deadline. Before each
// parse it copies the input into shared memory and bumps a counter, so the parent can see a hang
// (no progress for 2 s), stop the worker and keep the input that hung.
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../../src/core/rng.js';
import { check, describeError, generate, target } from './targets.js';

export interface WorkerInput {
  readonly reader: string;
  readonly seed: number;
  readonly deadline: number;
  readonly maxInputs: number;
  /** [0] inputs started, [1] values, [2] typed errors, [3] untyped, [4] slow (> hangMs but finished), [5] current input length, [6] oversized values. */
  readonly counters: SharedArrayBuffer;
  readonly input: SharedArrayBuffer;
  readonly hangMs: number;
}

const w = workerData as WorkerInput;
const t = target(w.reader);
const rng = new Rng(w.seed, `fuzz-${w.reader}`);
const seeds = t.seeds(new Rng(w.seed, `seeds-${w.reader}`));
const corpus: Uint8Array[] = [...seeds];
const seen = new Set<string>();
const c = new Int32Array(w.counters);
const inBuf = new Uint8Array(w.input);

/** Bytes held in typed arrays reachable from a parsed value (bounded walk). */
function heldBytes(v: unknown, depth = 0, seenObjs = new Set<unknown>()): number {
  if (v === null || typeof v !== 'object' || depth > 6 || seenObjs.has(v)) return 0;
  seenObjs.add(v);
  if (ArrayBuffer.isView(v)) return v.byteLength;
  let s = 0;
  const vals = v instanceof Map ? [...v.values()] : Array.isArray(v) ? v : Object.values(v as object);
  for (const x of vals.slice(0, 10_000)) s += heldBytes(x, depth + 1, seenObjs);
  return s;
}

for (let i = 0; i < w.maxInputs && Date.now() < w.deadline; i++) {
  const bytes = i < seeds.length ? seeds[i]! : generate(rng, t, corpus);
  const n = Math.min(bytes.length, inBuf.length);
  inBuf.set(bytes.subarray(0, n));
  Atomics.store(c, 5, bytes.length);
  Atomics.add(c, 0, 1);
  const t0 = performance.now();
  let value: unknown;
  const r = check({ ...t, parse: (b, f) => (value = t.parse(b, f)) }, bytes, `fuzz-${w.reader}.in`);
  const ms = performance.now() - t0;
  if (ms > w.hangMs) {
    Atomics.add(c, 4, 1);
    parentPort!.postMessage({ kind: 'slow', ms, input: bytes });
  }
  if (r.outcome === 'value') {
    Atomics.add(c, 1, 1);
    // A lying header must not make the reader hold far more than the file: gzip IDX may expand.
    const held = heldBytes(value);
    const bound = 16 * bytes.length + (1 << 20);
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
    if (held > bound && !gz) {
      Atomics.add(c, 6, 1);
      parentPort!.postMessage({ kind: 'oversized', held, input: bytes });
    }
  } else if (r.outcome === 'typed') Atomics.add(c, 2, 1);
  else {
    Atomics.add(c, 3, 1);
    parentPort!.postMessage({ kind: 'untyped', error: describeError(r.error), input: bytes });
  }
  // Feedback: an input that reaches an outcome not seen before joins the corpus.
  if (r.key && !seen.has(r.key) && bytes.length <= 65536) {
    seen.add(r.key);
    if (corpus.length < 2000) corpus.push(bytes);
  }
}
parentPort!.postMessage({ kind: 'done', outcomes: seen.size, corpus: corpus.length });
