// `npm run bench -- webgpu [--quick]` (or `node --import tsx bench/webgpu.bench.ts --json F
// [--quick] [--backend webgpu|cpu] [--only mlp,safe48,safe256,co2l]`): the training steps of the engine benchmarks on tfjs's WebGPU
// backend against the same steps on wasm, in one process, the two taking turns round by round.
//   mlp:     784-256-10 MLP, Adam, batch 128 (bench/train's perennial loop);
//   safe48 / safe256: one SAFE SSF step (frozen reference CNN, SSF, cosine head, SGD);
//   co2l:    one Co2L step on 512 images (FusedAdam, as the learner).
// Milliseconds per step (medians of rounds; each step reads its loss back, so GPU work is inside
// the time). Without an adapter it writes {"measured": false, "reason": ...} and exits 0, so the
// full and quick bench runs go on. `--backend cpu` runs the same harness on tfjs's cpu backend (the
// paths webgpu takes), to check the harness where no GPU is (it is about 100x slower than wasm:
// give it `--only mlp,safe48`).
import { writeJsonAtomic } from '../src/core/fsx.js';
import { initTf, probeWebGpu, setTrainingBackend, tf } from '../src/core/tensor.js';
import { Rng } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { fusedAdam } from '../src/core/nn.js';
import { makeFusedLoop } from '../src/core/bench/train.js';
import { versions } from '../src/core/record.js';
import { co2lBatch, co2lNet, co2lStep, safeSteps } from './continual-steps.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const arg = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const json = arg('--json');
const target = arg('--backend') ?? 'webgpu';
if (target !== 'webgpu' && target !== 'cpu') throw new Error(`--backend: webgpu or cpu, got ${target}`);
const ALL = ['mlp', 'safe48', 'safe256', 'co2l'];
const only = (arg('--only') ?? ALL.join(',')).split(',');
for (const n of only) if (!ALL.includes(n)) throw new Error(`--only: unknown step ${n} (known: ${ALL.join(', ')})`);

const write = (r: object): void => { if (json) writeJsonAtomic(json, r); };

if (target === 'webgpu') {
  const why = await probeWebGpu();
  if (why) {
    process.stdout.write(`webgpu: not measured (${why})\n`);
    write({ measured: false, reason: why, versions: versions() });
    process.exit(0);
  }
  setTrainingBackend('webgpu');
}
await initTf();
if (target === 'cpu') await tf.setBackend('cpu');

type Step = () => void;
/** The selected steps, built on `backend` (their tensors live there); each from its own random stream. */
async function build(backend: string): Promise<Record<string, Step>> {
  await tf.setBackend(backend);
  const root = new Rng(0, 'bench/webgpu');
  // Every step reads its loss back (dataSync / lossAndGrads), so queued GPU work is inside its time.
  const makers: Record<string, (rng: Rng) => Step> = {
    mlp: (rng) => {
      const data = Array.from({ length: 4 }, () => {
        const x = tf.tensor2d(rng.fillNormal(new Float32Array(128 * 784)), [128, 784]);
        const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 128 }, () => rng.int(10)), 'int32'), 10).toFloat() as tf.Tensor2D;
        return { x, y };
      });
      const loop = makeFusedLoop(data, rng);
      return () => { loop.run(1); };
    },
    safe48: (rng) => safeSteps(rng)(48),
    safe256: (rng) => safeSteps(rng)(256),
    co2l: (rng) => co2lStep(fusedAdam(1e-3), co2lNet(), co2lBatch(rng)),
  };
  return Object.fromEntries(only.map((n) => [n, makers[n]!(root.split(n))]));
}

const rounds = quick ? 3 : 10, perRound = quick ? 2 : 5;
const sides = [target, 'wasm'];
const steps: Record<string, Record<string, Step>> = {};
for (const b of sides) steps[b] = await build(b);
const times: Record<string, Record<string, number[]>> = {};
for (const name of only) {
  for (const b of sides) {
    await tf.setBackend(b);
    steps[b]![name]!(); // warm-up: shader compilation, kernel set-up
    times[b] ??= {};
    times[b]![name] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const b of sides) {
      await tf.setBackend(b);
      const t = performance.now();
      for (let i = 0; i < perRound; i++) steps[b]![name]!();
      times[b]![name]!.push((performance.now() - t) / perRound);
    }
  }
  const a = median(times[target]![name]!), w = median(times.wasm![name]!);
  process.stdout.write(`${name}: ${target} ${a.toFixed(2)} ms, wasm ${w.toFixed(2)} ms per step, wasm/${target} ${(w / a).toFixed(2)}\n`);
}
const result = {
  measured: true,
  backend: target,
  rounds, steps_per_round: perRound,
  ms_per_step: Object.fromEntries(Object.keys(times[target]!).map((n) => [n, { [target]: median(times[target]![n]!), wasm: median(times.wasm![n]!), speedup_vs_wasm: median(times.wasm![n]!) / median(times[target]![n]!) }])),
  peer_note: "PyTorch on the GPU is not in this comparison: Debian's python3-torch is a CPU build",
  versions: versions(),
};
write(result);
