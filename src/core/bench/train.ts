// `perennial bench train`: training steps per second of a 784-256-10 MLP (ReLU, softmax
// cross-entropy, Adam 1e-3, batch 128) in perennial's engine and in PyTorch CPU, measured in the
// same run on random data of the same shape. perennial's loop is the one its own code writes:
// `linear` (one fused product + bias + ReLU kernel, gradients only where asked), the one-kernel
// softmaxCrossEntropy and FusedAdam (one in-place pass over all parameters); the plain tfjs loop (tf.matMul/tf.add/tf.relu and
// tf.train.adam through optimizer.minimize) is timed beside it. Both sides run at each thread count
// (OpenBLAS's for perennial; torch.set_num_threads and its OpenBLAS's for PyTorch; 1 and the addon's default), in
// alternating chunks of steps (torch in a worker process) so they see the same machine load; each
// keeps its fastest chunk per thread count. The headline ratio is perennial's best thread count
// against PyTorch's best, so it never flatters perennial.
import { initTf, tf, batchMatMulMode, setBatchMatMulMode, type BatchMatMulMode } from '../tensor.js';
import { nativeAddon } from '../linalg/index.js';
import { Rng } from '../rng.js';
import { constInit, fusedAdam, linear, softmaxCrossEntropy, variable } from '../nn.js';
import { ensurePythonModule, PythonWorker, PY_SET_TORCH_THREADS } from './python.js';
import { progress } from '../progress.js';

export interface TrainBenchResult {
  /** perennial's loop (fused linear + FusedAdam), best thread count. */
  perennial_steps_per_s: number;
  peer: 'torch';
  peer_steps_per_s: number | null;
  ratio: number | null;
  /** The plain tfjs loop (tf.matMul, tf.add, tf.relu, tf.train.adam; optimizer.minimize), best thread count. */
  tfjs_minimize_steps_per_s: number;
  /** Per thread count: perennial's and PyTorch's steps/s and their ratio, at equal threads. */
  by_threads: Record<string, { perennial: number; tfjs_minimize: number; torch: number | null; ratio: number | null }>;
  /** The same model through tf.layers (model.trainOnBatch). */
  perennial_layers_steps_per_s: number;
  /** Steps/s with the stock wasm BatchMatMul, for reference. */
  stock_kernel_steps_per_s: number | null;
  batch_matmul: BatchMatMulMode;
  /** OpenBLAS's default thread count (what perennial uses unless told otherwise). */
  threads: number;
  /** Torch steps/s per thread count tried. */
  peer_by_threads: Record<string, number>;
  steps: number;
}

const IN = 784, HIDDEN = 256, OUT = 10, BATCH = 128;

function batches(count: number, rng: Rng): { x: tf.Tensor2D; y: tf.Tensor2D }[] {
  return Array.from({ length: count }, () => {
    const x = tf.tensor2d(rng.fillNormal(new Float32Array(BATCH * IN)), [BATCH, IN]);
    const labels = Int32Array.from({ length: BATCH }, () => rng.int(OUT));
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), OUT).toFloat() as tf.Tensor2D;
    return { x, y };
  });
}

/** The plain loop: forward, loss, gradients, Adam update (optimizer.minimize). `run(k)` returns seconds for k steps; exported for the leak test. */
export function makeLoop(data: { x: tf.Tensor2D; y: tf.Tensor2D }[], rng: Rng): { run: (k: number) => number; dispose: () => void } {
  const glorot = (name: string, fanIn: number, fanOut: number): tf.Variable => {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-lim, lim);
    return variable(name, [fanIn, fanOut], w);
  };
  const w1 = glorot('w1', IN, HIDDEN), b1 = variable('b1', [HIDDEN], constInit(HIDDEN, 0));
  const w2 = glorot('w2', HIDDEN, OUT), b2 = variable('b2', [OUT], constInit(OUT, 0));
  const opt = tf.train.adam(1e-3);
  let i = 0;
  const step = (): void => {
    const { x, y } = data[i++ % data.length];
    const loss = opt.minimize(() => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
      const logits = tf.add(tf.matMul(h, w2), b2);
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    }, true);
    loss!.dataSync();
    loss!.dispose();
  };
  return timedLoop(step, () => { tf.dispose([w1, b1, w2, b2]); opt.dispose(); });
}

/** A training loop as the bench times it: `run(k)` takes k steps and returns the seconds. */
function timedLoop(step: () => void, dispose: () => void): { run: (k: number) => number; dispose: () => void } {
  return {
    run: (k) => {
      const t = performance.now();
      for (let j = 0; j < k; j++) step();
      return (performance.now() - t) / 1000;
    },
    dispose,
  };
}

/**
 * perennial's loop: weights in PyTorch layout through `linear` (fused product + bias + ReLU) and
 * FusedAdam; the same model, loss and data as makeLoop. Exported for the leak test and the profile.
 */
export function makeFusedLoop(data: { x: tf.Tensor2D; y: tf.Tensor2D }[], rng: Rng): { run: (k: number) => number; dispose: () => void } {
  const glorot = (name: string, fanOut: number, fanIn: number): tf.Variable => {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-lim, lim);
    return variable(name, [fanOut, fanIn], w);
  };
  const w1 = glorot('w1', HIDDEN, IN), b1 = variable('b1', [HIDDEN], constInit(HIDDEN, 0));
  const w2 = glorot('w2', OUT, HIDDEN), b2 = variable('b2', [OUT], constInit(OUT, 0));
  const vars = [w1, b1, w2, b2];
  const opt = fusedAdam(1e-3);
  let i = 0;
  const step = (): void => {
    const { x, y } = data[i++ % data.length];
    const loss = opt.minimize(() => {
      return softmaxCrossEntropy(y, linear(linear(x, w1, b1, 'relu'), w2, b2));
    }, true, vars);
    loss!.dataSync();
    loss!.dispose();
  };
  return timedLoop(step, () => { tf.dispose(vars); opt.dispose(); });
}

/** Steps/s through tf.layers (Dense + Dense, model.trainOnBatch). */
async function timeLayers(data: { x: tf.Tensor2D; y: tf.Tensor2D }[], steps: number, warmup: number): Promise<number> {
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [IN], units: HIDDEN, activation: 'relu' }), tf.layers.dense({ units: OUT })],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(data[i % data.length].x, data[i % data.length].y);
  const t = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(data[i % data.length].x, data[i % data.length].y);
  const s = (performance.now() - t) / 1000;
  model.dispose();
  return steps / s;
}

// PyTorch as a worker: builds the same model and data once, then runs k steps per request with
// the thread count asked for and answers the seconds taken.
const TORCH_WORKER = PY_SET_TORCH_THREADS + String.raw`
import json, sys, time
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
lossf = torch.nn.CrossEntropyLoss()
data = [(torch.randn(128, 784), torch.randint(0, 10, (128,))) for _ in range(8)]
i = 0
def step():
    global i
    x, y = data[i % len(data)]
    i += 1
    opt.zero_grad()
    loss = lossf(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()
print(json.dumps({"version": torch.__version__}), flush=True)
for line in sys.stdin:
    c = json.loads(line)
    set_torch_threads(torch, c["threads"])
    for _ in range(c.get("warmup", 0)): step()
    t = time.perf_counter()
    for _ in range(c["steps"]): step()
    print(json.dumps({"s": time.perf_counter() - t, "threads": torch.get_num_threads()}), flush=True)
`;

export interface TrainBenchOptions {
  readonly quick?: boolean;
  readonly noPeer?: boolean;
  /** Also time the stock wasm kernel (slow; skipped in quick mode unless asked). */
  readonly stock?: boolean;
}

export async function runTrainBench(opts: TrainBenchOptions = {}): Promise<TrainBenchResult & { peer_version: string | null }> {
  await initTf();
  const quick = opts.quick ?? false;
  const rounds = quick ? 3 : 6, chunk = quick ? 10 : 40, warmup = quick ? 3 : 10;
  const rng = new Rng(0, 'bench/train');
  const data = batches(8, rng.split('data'));
  const addon = nativeAddon();
  const threads = addon?.threads() ?? 1;
  const mode = batchMatMulMode();
  // Without a thread setter (no addon, or an addon built before it) perennial runs at its one count.
  const threadCounts = addon?.setThreads ? [...new Set([1, threads])] : [threads];
  const peerThreads = [...new Set([...threadCounts, 1])];
  const setThreads = (t: number): void => { if (addon?.setThreads) addon.setThreads(t); };
  let worker: PythonWorker | null = null;
  let version: string | null = null;
  if (!opts.noPeer && ensurePythonModule('torch', 'python3-torch')) {
    worker = new PythonWorker(TORCH_WORKER);
    version = String((await worker.ready()).version);
  }
  const fused = makeFusedLoop(data, rng.split('init'));
  const plain = makeLoop(data, rng.split('init'));
  // Chunks of `chunk` steps, alternating perennial's loop, the plain loop and torch at each thread
  // count; the fastest chunk of each gives its steps/s.
  const best = (m: Map<number, number>, t: number, s: number): void => { m.set(t, Math.min(m.get(t) ?? Infinity, s)); };
  const ours = new Map<number, number>(), plainBest = new Map<number, number>(), peerBest = new Map<number, number>();
  const bar = progress('bench train', rounds);
  try {
    fused.run(warmup);
    plain.run(warmup);
    for (let r = 0; r < rounds; r++) {
      for (const t of peerThreads) {
        if (threadCounts.includes(t)) {
          setThreads(t);
          best(ours, t, fused.run(chunk));
          best(plainBest, t, plain.run(chunk));
        }
        if (worker) {
          const ans = await worker.request({ threads: t, steps: chunk, warmup: r === 0 ? warmup : 0 });
          best(peerBest, t, Number(ans.s));
        }
      }
      bar.tick(1, `perennial ${(chunk / Math.min(...ours.values())).toFixed(1)} steps/s`);
    }
  } finally {
    setThreads(threads);
    worker?.close();
    fused.dispose();
    plain.dispose();
  }
  bar.done();
  const layers = await timeLayers(data, quick ? 10 : 60, warmup);
  let stock: number | null = null;
  if (opts.stock ?? !quick) {
    setBatchMatMulMode('stock');
    try {
      const s = makeLoop(data, rng.split('init-stock'));
      s.run(2);
      stock = (quick ? 5 : 20) / s.run(quick ? 5 : 20);
      s.dispose();
    } finally {
      setBatchMatMulMode(mode);
    }
  }
  tf.dispose(data.flatMap((d) => [d.x, d.y]));
  const rate = (s: number | undefined): number | null => (s === undefined ? null : chunk / s);
  const byThreads: TrainBenchResult['by_threads'] = {};
  for (const t of threadCounts) {
    const o = rate(ours.get(t))!, p = rate(peerBest.get(t));
    byThreads[String(t)] = { perennial: o, tfjs_minimize: rate(plainBest.get(t))!, torch: p, ratio: p === null ? null : o / p };
  }
  const peerByThreads: Record<string, number> = {};
  for (const [t, s] of peerBest) peerByThreads[String(t)] = chunk / s;
  const oursRate = chunk / Math.min(...ours.values());
  const peer = worker ? chunk / Math.min(...peerBest.values()) : null;
  return {
    perennial_steps_per_s: oursRate,
    peer: 'torch',
    peer_steps_per_s: peer,
    ratio: peer === null ? null : oursRate / peer,
    tfjs_minimize_steps_per_s: chunk / Math.min(...plainBest.values()),
    by_threads: byThreads,
    perennial_layers_steps_per_s: layers,
    stock_kernel_steps_per_s: stock,
    batch_matmul: mode,
    threads,
    peer_by_threads: peerByThreads,
    steps: rounds * chunk,
    peer_version: version,
  };
}
