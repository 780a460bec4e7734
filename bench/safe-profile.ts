// `node --import tsx bench/safe-profile.ts [--threads T] [--batch B] [--steps N]`: where one SAFE
// SSF step (bench/continual-steps.ts, fused kernels) spends its time: milliseconds per step in each
// wasm kernel (a timer around every kernel function, outermost calls only), and the step's total.
import { initTf } from '../src/core/tensor.js';
import { Rng } from '../src/core/rng.js';
import { nativeAddon } from '../src/core/linalg/index.js';
import { safeSteps } from './continual-steps.js';
import { installSsfKernels } from '../src/core/kernels/ssf.js';
import { timeKernels } from './kernel-timers.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const threads = Number(arg('--threads', '1')), batch = Number(arg('--batch', '48')), steps = Number(arg('--steps', '20'));
await initTf();
const addon = nativeAddon();
if (addon?.setThreads) addon.setThreads(threads);
else if (threads !== 1) throw new Error('--threads above 1 needs the OpenBLAS addon with setThreads');
installSsfKernels();
const step = safeSteps(new Rng(0, 'bench/safe-profile'))(batch);
const table = new Map<string, { calls: number; ms: number }>();
timeKernels((name, ms) => {
  const r = table.get(name) ?? { calls: 0, ms: 0 };
  r.calls++; r.ms += ms;
  table.set(name, r);
});
step(); step();
table.clear();
const c0 = process.cpuUsage(), t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const wall = (performance.now() - t0) / steps, cu = process.cpuUsage(c0);
let inKernels = 0;
table.forEach((r) => { inKernels += r.ms; });
process.stdout.write(`SAFE batch ${batch}, ${threads} thread(s): ${wall.toFixed(2)} ms per step (CPU ${((cu.user + cu.system) / 1000 / steps).toFixed(2)}), kernels ${(inKernels / steps).toFixed(2)}\nkernel\tms/step\tcalls/step\n`);
for (const [k, r] of [...table].sort((a, b) => b[1].ms - a[1].ms)) if (r.ms / steps >= 0.05) process.stdout.write(`${k}\t${(r.ms / steps).toFixed(2)}\t${(r.calls / steps).toFixed(1)}\n`);
