// The one place that picks the linear-algebra backend. Everything else calls `linalg()`.
import { warn } from '../errors.js';
import { loadNativeLinalg, type NativeAddon } from './native.js';
import { typescriptLinalg } from './ts.js';
import type { Linalg, LinalgBackendName, Matrix64 } from './types.js';
import { addDiagonal } from './matrix.js';

export * from './types.js';
export * from './matrix.js';
export { typescriptLinalg, gemmTsInto } from './ts.js';

let active: Linalg | null = null;
let nativeReason = '';
let nativeCache: Linalg | null | undefined;
let addonCache: NativeAddon | null = null;

function native(): Linalg | null {
  if (nativeCache === undefined) {
    const load = loadNativeLinalg();
    nativeCache = load.linalg;
    addonCache = load.addon;
    nativeReason = load.reason;
  }
  return nativeCache;
}

/**
 * The raw addon (batched float32 GEMM on typed-array views, thread count), or null when it is not
 * loaded. Only core kernels (the tfjs BatchMatMul) use it; area code calls `linalg()`.
 */
export function nativeAddon(): NativeAddon | null {
  native();
  return addonCache;
}
export type { NativeAddon } from './native.js';

/** The active backend: the OpenBLAS addon when it loads, else pure TypeScript (warned once). */
export function linalg(): Linalg {
  if (active) return active;
  const n = native();
  if (n) active = n;
  else {
    warn('linalg-fallback', `linear algebra uses the pure-TypeScript backend (${nativeReason})`, { once: true });
    active = typescriptLinalg;
  }
  return active;
}

/** Every backend available here (for tests and benchmarks that compare them). */
export function linalgBackends(): Linalg[] {
  const n = native();
  return n ? [n, typescriptLinalg] : [typescriptLinalg];
}

export function linalgBackendName(): LinalgBackendName {
  return linalg().name;
}

/** Why the addon is or is not active (for `perennial doctor`). */
export function nativeStatus(): string {
  native();
  return nativeReason;
}

/** Force a backend (tests, benchmarks, `--linalg`). */
export function useLinalg(name: LinalgBackendName): Linalg {
  const pick = name === 'typescript' ? typescriptLinalg : native();
  if (!pick) throw new Error(`linalg backend ${name} is not available: ${nativeReason}`);
  active = pick;
  return pick;
}

/** (G + lambda I)^{-1} R for a symmetric PSD Gram G (d x d) and R (d x k): ridge for many targets. */
export function ridgeSolve(G: Matrix64, R: Matrix64, lambda: number, la: Linalg = linalg()): Matrix64 {
  return la.choleskySolve(addDiagonal(G, lambda), R);
}
