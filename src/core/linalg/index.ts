// The one place that picks the linear-algebra backend. Everything else calls `linalg()`.
import { warn } from '../errors.js';
import { loadNativeLinalg, type NativeAddon } from './native.js';
import { typescriptLinalg as typescriptCore, gemmTsInto, choleskyTs, choleskySolveFactor } from './ts.js';
import type { BufferedLinalg, GemmIntoOptions, Linalg, LinalgBackendName, Matrix, Matrix64 } from './types.js';
import { addDiagonal, checkCholeskyInPlace, checkGemmInto, withBufferDefaults } from './matrix.js';

export * from './types.js';
export * from './matrix.js';
export { gemmTsInto } from './ts.js';

/**
 * The pure-TypeScript backend with the buffer variants: built from ts.ts's routines, with gemmInto
 * writing straight into `out` when beta = 0 and choleskySolveInPlace factoring once.
 */
const tsDefaults = withBufferDefaults(typescriptCore);
export const typescriptLinalg: BufferedLinalg = {
  ...tsDefaults,
  gemmInto<T extends Float32Array | Float64Array>(a: Matrix<T>, b: Matrix<T>, out: Matrix<T>, opts: GemmIntoOptions = {}): Matrix<T> {
    if ((opts.beta ?? 0) !== 0) return tsDefaults.gemmInto(a, b, out, opts);
    checkGemmInto(a, b, out, opts);
    gemmTsInto(a, b, out.data, { transA: opts.transA ?? false, transB: opts.transB ?? false, alpha: opts.alpha ?? 1 });
    return out;
  },
  choleskySolveInPlace(a: Matrix64, b: Matrix64): Matrix64 {
    checkCholeskyInPlace(a, b, 'choleskySolveInPlace');
    const L = choleskyTs(a);
    b.data.set(choleskySolveFactor(L, b).data);
    a.data.set(L.data);
    return b;
  },
};

let active: BufferedLinalg | null = null;
let nativeReason = '';
let nativeCache: BufferedLinalg | null | undefined;
let addonCache: NativeAddon | null = null;

function native(): BufferedLinalg | null {
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
export function linalg(): BufferedLinalg {
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
export function linalgBackends(): BufferedLinalg[] {
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
export function useLinalg(name: LinalgBackendName): BufferedLinalg {
  const pick = name === 'typescript' ? typescriptLinalg : native();
  if (!pick) throw new Error(`linalg backend ${name} is not available: ${nativeReason}`);
  active = pick;
  return pick;
}

/** (G + lambda I)^{-1} R for a symmetric PSD Gram G (d x d) and R (d x k): ridge for many targets. */
export function ridgeSolve(G: Matrix64, R: Matrix64, lambda: number, la: Linalg = linalg()): Matrix64 {
  return la.choleskySolve(addDiagonal(G, lambda), R);
}
