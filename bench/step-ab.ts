// `node --import tsx bench/step-ab.ts [--threads T] [--rounds N] [--profile]`: the two changes to
// the continual steps of bench/conv.bench.ts, each timed against what it replaced in the same
// process, the two taking turns step by step (so load changes hit both alike):
//   co2l: one Co2L step (512 images, as conv.bench) with tf.train.adam vs FusedAdam;
//   safe48 / safe256: one SAFE SSF step with the composed frozen batch norm + ReLU + SSF ops vs the
//   fused kernel (core/bn batchNormReluEvalSsf).
// Both pairs give the same values bit for bit (test/core/fused-adam-exact.test.ts,
// test/core/ssf-kernel.test.ts). Median wall and CPU milliseconds per step; --profile adds, for the
// SAFE batch-48 step, milliseconds per step in each wasm kernel (timers wrapped around every kernel
// function, as bench/train-profile.ts does) for both variants.
import { initTf, tf } from '../src/core/tensor.js';
import { Rng } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { nativeAddon } from '../src/core/linalg/index.js';
import { co2l, co2lBatch, co2lNet, co2lStep, safeSteps } from './continual-steps.js';
import { fusedAdam } from '../src/core/nn.js';
import { installSsfKernels, useFusedSsf } from '../src/core/kernels/ssf.js';
import { timeKernels } from './kernel-timers.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const threads = Number(arg('--threads', '1'));
const rounds = Number(arg('--rounds', '20'));
const profile = args.includes('--profile');

await initTf();
const addon = nativeAddon();
if (addon?.setThreads) addon.setThreads(threads);
else if (threads !== 1) throw new Error('--threads above 1 needs the OpenBLAS addon with setThreads');
installSsfKernels();
const rng = new Rng(0, 'bench/step-ab');

// Co2L: two networks from one initialisation, one per optimiser.
const batch = co2lBatch(rng);
const netA = co2lNet(), netB = co2lNet();
const stockStep = co2lStep(tf.train.adam(co2l.lr), netA, batch);
const fusedStep = co2lStep(fusedAdam(co2l.lr), netB, batch);

// SAFE SSF step (as conv.bench).
const safeStep = safeSteps(rng);
const withSsf = (on: boolean, f: () => void) => (): void => { const before = useFusedSsf(on); try { f(); } finally { useFusedSsf(before); } };

type Timing = { wall_ms: number; cpu_ms: number };
/** Alternate a and b step by step after one warm-up each; medians. */
function pair(a: () => void, b: () => void, n: number): { before: Timing; after: Timing; speedup_wall: number; speedup_cpu: number } {
  a(); b();
  const w: [number[], number[]] = [[], []], c: [number[], number[]] = [[], []];
  for (let r = 0; r < n; r++) {
    [a, b].forEach((f, k) => {
      const c0 = process.cpuUsage(), t = performance.now();
      f();
      const u = process.cpuUsage(c0);
      w[k]!.push(performance.now() - t);
      c[k]!.push((u.user + u.system) / 1000);
    });
  }
  const before = { wall_ms: median(w[0]), cpu_ms: median(c[0]) }, after = { wall_ms: median(w[1]), cpu_ms: median(c[1]) };
  return { before, after, speedup_wall: before.wall_ms / after.wall_ms, speedup_cpu: before.cpu_ms / after.cpu_ms };
}

const s48 = safeStep(48), s256 = safeStep(256);
const load0 = (await import('node:os')).loadavg();
const results = {
  threads: addon?.threads() ?? null,
  co2l_adam: pair(stockStep, fusedStep, Math.max(3, Math.ceil(rounds / 4))),
  safe48_ssf: pair(withSsf(false, s48), withSsf(true, s48), rounds),
  safe256_ssf: pair(withSsf(false, s256), withSsf(true, s256), Math.ceil(rounds / 2)),
  load: { start: load0.map((v) => Number(v.toFixed(2))), end: (await import('node:os')).loadavg().map((v) => Number(v.toFixed(2))) },
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);

if (profile) {
  const table = new Map<string, { calls: number; ms: number }>();
  let tag = '';
  timeKernels((name, ms) => {
    const key = `${tag}\t${name}`, r = table.get(key) ?? { calls: 0, ms: 0 };
    r.calls++; r.ms += ms;
    table.set(key, r);
  });
  const steps = rounds;
  const total: Record<string, number> = {};
  for (const on of [false, true]) {
    tag = on ? 'fused' : 'composed';
    const f = withSsf(on, s48);
    f();
    table.forEach((_v, k) => { if (k.startsWith(`${tag}\t`)) table.delete(k); });
    const t = performance.now();
    for (let i = 0; i < steps; i++) f();
    total[tag] = (performance.now() - t) / steps;
  }
  process.stdout.write(`\nSAFE batch 48, ms per step (timers included): composed ${total['composed']!.toFixed(2)}, fused ${total['fused']!.toFixed(2)}\nvariant\tkernel\tms/step\tcalls/step\n`);
  for (const [k, r] of [...table].sort((a, b) => b[1].ms - a[1].ms)) {
    if (r.ms / steps >= 0.01) process.stdout.write(`${k}\t${(r.ms / steps).toFixed(3)}\t${(r.calls / steps).toFixed(1)}\n`);
  }
}
