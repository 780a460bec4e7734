// `node --import tsx bench/train-profile.ts [--steps N] [--loop minimize|fused] [--threads T]`: where the time of
// one training step of the bench's MLP (784-256-10, ReLU, softmax cross-entropy, Adam 1e-3, batch
// 128; src/core/bench/train.ts) goes: `minimize` is the plain tfjs loop (tf.train.adam), `fused`
// perennial's (linear + FusedAdam); --threads sets OpenBLAS's thread count. Every wasm kernel's function is wrapped with a timer, as are
// the heap allocator (malloc/free) and the phases of the step (forward, backward, optimiser update,
// loss read-back); the time of a phase not spent inside kernels is tfjs's dispatch and bookkeeping
// (tape, tensor tracking, tidy scopes). Timers add their own cost (about 0.3 us per call), so the
// totals run a little above an untimed step.
import { initTf, tf } from '../src/core/tensor.js';
import { Rng } from '../src/core/rng.js';
import { FusedAdam } from '../src/core/nn.js';
import { nativeAddon } from '../src/core/linalg/index.js';
import { makeLoop, makeFusedLoop } from '../src/core/bench/train.js';
import { timeKernels } from './kernel-timers.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const steps = Number(arg('--steps', '200'));
const which = arg('--loop', 'minimize');
const threads = Number(arg('--threads', '0'));

await initTf();
if (threads > 0) {
  const a = nativeAddon();
  if (!a?.setThreads) throw new Error('--threads needs the OpenBLAS addon with setThreads (npm run build:native)');
  a.setThreads(threads);
}
type Row = { calls: number; ms: number };
const table = new Map<string, Row>();
let phase = 'other';
const add = (key: string, ms: number): void => {
  const r = table.get(key) ?? { calls: 0, ms: 0 };
  r.calls++; r.ms += ms;
  table.set(key, r);
};
timeKernels((name, ms) => add(`${phase}\tkernel ${name}`, ms));
const backend = tf.backend() as unknown as { wasm: { _malloc: (n: number) => number; _free: (p: number) => void } };
// Emscripten's exports rebind themselves on first call: call each once before wrapping.
backend.wasm._free(backend.wasm._malloc(16));
const malloc = backend.wasm._malloc, free = backend.wasm._free;
backend.wasm._malloc = (n) => { const t = performance.now(); try { return malloc(n); } finally { add(`${phase}\tmalloc`, performance.now() - t); } };
backend.wasm._free = (p) => { const t = performance.now(); try { free(p); } finally { add(`${phase}\tfree`, performance.now() - t); } };

// Phases: forward = the loss function; optimiser = applyGradients; backward = the rest of the
// gradient computation; readback = the loss's dataSync.
const Opt = which === 'fused' ? FusedAdam : tf.AdamOptimizer;
const origApply = Opt.prototype.applyGradients;
Opt.prototype.applyGradients = function (this: tf.Optimizer, g: never) {
  const prev = phase; phase = 'optimiser';
  const t = performance.now();
  try { return origApply.call(this, g); } finally { add('optimiser\tphase total', performance.now() - t); phase = prev; }
};
const origMin = tf.Optimizer.prototype.minimize;
tf.Optimizer.prototype.minimize = function (this: tf.Optimizer, f: () => tf.Scalar, ret?: boolean, vl?: tf.Variable[]) {
  const wrapped = (): tf.Scalar => {
    phase = 'forward';
    const t = performance.now();
    try { return f(); } finally { add('forward\tphase total', performance.now() - t); phase = 'backward'; }
  };
  const t = performance.now();
  try { return origMin.call(this, wrapped, ret, vl); } finally { add('minimize\ttotal', performance.now() - t); phase = 'other'; }
};
const origSync = tf.Tensor.prototype.dataSync;
tf.Tensor.prototype.dataSync = function <D extends tf.DataType>(this: tf.Tensor) {
  const prev = phase; phase = 'readback';
  const t = performance.now();
  try { return origSync.call(this) as tf.DataTypeMap[D]; } finally { add('readback\tphase total', performance.now() - t); phase = prev; }
};

const rng = new Rng(0, 'bench/train');
const dataRng = rng.split('data');
const data = Array.from({ length: 8 }, () => {
  const x = tf.tensor2d(dataRng.fillNormal(new Float32Array(128 * 784)), [128, 784]);
  const labels = Int32Array.from({ length: 128 }, () => dataRng.int(10));
  return { x, y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tf.Tensor2D };
});
const loop = which === 'fused' ? makeFusedLoop(data, rng.split('init')) : makeLoop(data, rng.split('init'));
loop.run(20);
table.clear();
const wall = loop.run(steps) * 1000;

const per = (ms: number): string => (ms / steps).toFixed(3).padStart(8);
const rows = [...table].sort((a, b) => b[1].ms - a[1].ms);
process.stdout.write(`loop: ${which}; OpenBLAS threads ${nativeAddon()?.threads() ?? 'none'}; load ${(await import('node:os')).loadavg()[0].toFixed(1)}; ${steps} steps, wall ${per(wall)} ms/step (timers included)\n`);
process.stdout.write(`phase\titem\tms/step\tcalls/step\n`);
for (const [k, r] of rows) process.stdout.write(`${k}\t${per(r.ms)}\t${(r.calls / steps).toFixed(1)}\n`);
const phases = ['forward', 'backward', 'optimiser', 'readback'];
process.stdout.write('\nsummary (ms/step): phase, kernels, malloc+free, dispatch/bookkeeping\n');
const sum = (pred: (k: string) => boolean): number => rows.filter(([k]) => pred(k)).reduce((s, [, r]) => s + r.ms, 0);
for (const p of phases) {
  const kern = sum((k) => k.startsWith(`${p}\tkernel`));
  const alloc = sum((k) => k === `${p}\tmalloc` || k === `${p}\tfree`);
  let total: number;
  if (p === 'backward') total = sum((k) => k === 'minimize\ttotal') - sum((k) => k === 'forward\tphase total') - sum((k) => k === 'optimiser\tphase total');
  else total = sum((k) => k === `${p}\tphase total`);
  process.stdout.write(`${p}\t${per(total)}\t${per(kern)}\t${per(alloc)}\t${per(total - kern - alloc)}\n`);
}
