// `node --import tsx bench/bn-loops.ts`: milliseconds per call of the addon's four training batch
// norm + ReLU loops (channel statistics, affine + ReLU, gradient statistics, dx) at the shapes of
// Co2L's two layers at 512 images (100352 x 32 and 25088 x 64), one thread. Run it with the addon
// built before and after a change to compare.
import { nativeAddon } from '../src/core/linalg/index.js';
import { Rng } from '../src/core/rng.js';

const L = nativeAddon();
if (!L?.bnChannelStats || !L.bnAffineRelu || !L.bnReluGradStats || !L.bnReluGradX) throw new Error('bench/bn-loops needs the OpenBLAS addon (npm run build:native)');
const rng = new Rng(0, 'bench/bn-loops');
const fill = <T extends Float32Array | Float64Array>(a: T, lo: number): T => { for (let i = 0; i < a.length; i++) a[i] = lo + rng.next(); return a; };
const ms = (f: () => void): string => {
  for (let i = 0; i < 3; i++) f();
  const t = performance.now();
  for (let i = 0; i < 20; i++) f();
  return ((performance.now() - t) / 20).toFixed(2);
};
for (const [R, C] of [[512 * 196, 32], [512 * 49, 64]] as const) {
  const n = R * C;
  const x = fill(new Float32Array(n), -0.5), dy = fill(new Float32Array(n), -0.5), y = new Float32Array(n), dx = new Float32Array(n);
  const p = () => fill(new Float64Array(C), 0);
  const [s1, s2, a, b, mu, inv, k, m1, m2] = [p(), p(), p(), p(), p(), p(), p(), p(), p()];
  process.stdout.write(`${R} x ${C}: stats ${ms(() => L.bnChannelStats!(x, C, s1, s2))}  affine+relu ${ms(() => L.bnAffineRelu!(x, C, a, b, y))}  ` +
    `grad stats ${ms(() => L.bnReluGradStats!(dy, x, y, C, mu, inv, s1, s2))}  dx ${ms(() => L.bnReluGradX!(dy, x, y, C, k, mu, inv, m1, m2, true, dx))} ms\n`);
}
