// The OpenBLAS/LAPACK addon (native/), wrapped to the Linalg contract. The addon is optional:
// when it did not build (no compiler, no libopenblas-dev), `loadNativeLinalg` returns null and
// index.ts falls back to the TypeScript implementation with a one-time warning.
//
// The addon throws plain Errors; this wrapper checks shapes and dtypes first (InputError) and maps
// LAPACK failures (not positive definite, no convergence) onto NumericalError.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { InputError, NumericalError, warn } from '../errors.js';
import type { BufferedLinalg, EighResult, GemmIntoOptions, GemmOptions, Linalg, Matrix, Matrix64, SyrkIntoOptions } from './types.js';
import { checkCholeskyInPlace, checkGemmInto, checkSyrkInto, withBufferDefaults } from './matrix.js';

/** Where the built addon lives, relative to this package's root. */
export function addonPath(): string {
  // src/core/linalg or dist/core/linalg -> package root is three folders up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return join(root, 'native', 'build', 'Release', 'perennial_linalg.node');
}

type F = Float32Array | Float64Array;

/** The raw functions the addon exports (see native/src/linalg.cc). */
export interface NativeAddon {
  makeLinalg(): RawLinalg;
  /**
   * Batched row-major float32 GEMM on typed-array views: for b < batch,
   * C[b*m*n ..] = alpha * op(A + b*strideA) op(B + b*strideB); a stride of 0 broadcasts.
   */
  sgemmBatch(
    transA: boolean, transB: boolean, batch: number, m: number, n: number, k: number,
    a: Float32Array, strideA: number, b: Float32Array, strideB: number, c: Float32Array, alpha?: number,
  ): void;
  /** OpenBLAS's thread count. */
  threads(): number;
  /** Set OpenBLAS's thread count for later calls; returns the count now in effect (absent from older builds). */
  setThreads?(n: number): number;
  /** OpenBLAS's build configuration string. */
  config(): string;
  /** The glibc malloc limits the addon set when it loaded, or whose settings it left alone (absent from older builds). */
  malloc?(): string;
  // Compiled twins of core/kernels' loops (native/src/kernels.cc); absent from addons built before
  // they existed. Arrays are row-major with the channel axis last; per-channel values in float64.
  /**
   * Convolution in image blocks (mode 0: y = im2col(x) w; mode 1: dx = col2im(dy w^T)), `per`
   * images at a time, on as many workers as OpenBLAS has threads (core/kernels/conv2d.ts).
   */
  convBlocks?(mode: 0 | 1, src: Float32Array, w: Float32Array, dst: Float32Array, n: number, h: number, wd: number, cin: number,
    kh: number, kw: number, stride: number, pad: number, ho: number, wo: number, cout: number, per: number): void;
  /**
   * 'avx512' where the addon's own products can run (the convolution blocks, and float32 GEMM from
   * 2^27 multiply-adds where sgemmKernel() says 'own'); 'none' where every product goes to OpenBLAS
   * (CPUs without AVX-512).
   */
  ownKernels?(): 'avx512' | 'none';
  /**
   * Which kernel takes float32 products of at least 2^27 multiply-adds: the addon's own (AVX-512
   * CPUs where OpenBLAS runs no AVX-512 kernel of its own) or OpenBLAS's. With a mode, sets it first
   * ('own' throws without AVX-512); returns the kernel in use after the call.
   */
  sgemmKernel?(mode?: 'auto' | 'own' | 'openblas'): 'own' | 'openblas';
  /** sum[c] += x[., c], sq[c] += x[., c]^2. */
  bnChannelStats?(x: Float32Array, C: number, sum: Float64Array, sq: Float64Array): void;
  /** y = max(0, x a[c] + b[c]). */
  bnAffineRelu?(x: Float32Array, C: number, a: Float64Array, b: Float64Array, y: Float32Array): void;
  /** With r = dy where y > 0: sr[c] += r, srx[c] += r (x - mu[c]) inv[c]. */
  bnReluGradStats?(dy: Float32Array, x: Float32Array, y: Float32Array, C: number, mu: Float64Array, inv: Float64Array, sr: Float64Array, srx: Float64Array): void;
  /** dx = k (r - m1 - (x - mu) inv m2) when batchStats, else k r. */
  bnReluGradX?(dy: Float32Array, x: Float32Array, y: Float32Array, C: number, k: Float64Array, mu: Float64Array, inv: Float64Array, m1: Float64Array, m2: Float64Array, batchStats: boolean, dx: Float32Array): void;
  /** im2col / col2im with the geometry n, h, w, cin, kh, kw, stride, pad, ho, wo (col2im overwrites dx). */
  im2col?(x: Float32Array, n: number, h: number, w: number, cin: number, kh: number, kw: number, stride: number, pad: number, ho: number, wo: number, col: Float32Array): void;
  /**
   * Adam with tf.train.adam's float32 arithmetic, operation for operation: m = m b1 + g a1;
   * s = s b2 + (g g) a2; p = ((m / om1) / (sqrt(s / om2) + eps)) negLr + p (scalars float32).
   */
  adamTfjs?(p: Float32Array, g: Float32Array, m: Float32Array, s: Float32Array, b1: number, a1: number, b2: number, a2: number, om1: number, om2: number, negLr: number, eps: number): void;
  /** Frozen batch norm + ReLU + SSF: z = relu(((x - m) r) g + b) s + t per channel (all float32, tfjs's rounding). */
  ssfBnRelu?(x: Float32Array, C: number, m: Float32Array, r: Float32Array, g: Float32Array, b: Float32Array, s: Float32Array, t: Float32Array, z: Float32Array): void;
  /** Its scale and shift gradients: ds[c] = sum dz y, dt[c] = sum dz (float64, overwritten; summed as the engine's Sum). */
  ssfBnReluGradStats?(dz: Float32Array, x: Float32Array, C: number, m: Float32Array, r: Float32Array, g: Float32Array, b: Float32Array, ds: Float64Array, dt: Float64Array): void;
  /** Its input gradient: dx = ((dz s masked where the pre-activation is not > 0) g) r. */
  ssfBnReluGradX?(dz: Float32Array, x: Float32Array, C: number, m: Float32Array, r: Float32Array, g: Float32Array, b: Float32Array, s: Float32Array, dx: Float32Array): void;
  /** SGD: vel = momentum vel + g + wd p; p -= lr vel, in float32. */
  sgdUpdate?(p: Float32Array, g: Float32Array, vel: Float32Array, lr: number, momentum: number, weightDecay: number): void;
  /** y[r, j] += bias[j] (bias of length n, or empty), then max(0, y) when relu; in place. */
  biasRelu?(y: Float32Array, bias: Float32Array, n: number, relu: boolean): void;
  /** out = dy where y > 0, else +0. */
  reluGrad?(dy: Float32Array, y: Float32Array, out: Float32Array): void;
  col2im?(col: Float32Array, n: number, h: number, w: number, cin: number, kh: number, kw: number, stride: number, pad: number, ho: number, wo: number, dx: Float32Array): void;
}

interface RawLinalg {
  gemm(a: Matrix, b: Matrix, opts?: GemmOptions): Matrix;
  syrk(a: Matrix): Matrix;
  eigh(a: Matrix64, opts?: { vectors?: boolean }): EighResult;
  cholesky(a: Matrix64): Matrix64;
  choleskySolve(a: Matrix64, b: Matrix64): Matrix64;
  // The buffer entries; absent from addons built before they existed.
  gemmInto?(a: Matrix, b: Matrix, c: Matrix, opts: GemmIntoOptions): void;
  syrkInto?(a: Matrix, c: Matrix, opts: SyrkIntoOptions): void;
  choleskyInPlace?(a: Matrix64): void;
  choleskySolveInPlace?(a: Matrix64, b: Matrix64): void;
}

export interface NativeLoad {
  readonly linalg: BufferedLinalg | null;
  readonly reason: string;
  readonly addon: NativeAddon | null;
}

function checkMatrix(m: Matrix, what: string): void {
  if (!(m.data instanceof Float32Array || m.data instanceof Float64Array)) throw new InputError(`${what}: data must be a Float32Array or Float64Array`);
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 0) throw new InputError(`${what}: bad shape ${m.rows}x${m.cols}`);
  if (m.data.length !== m.rows * m.cols) throw new InputError(`${what}: ${m.rows}x${m.cols} matrix has ${m.data.length} values`);
}
function checkSquare64(a: Matrix64, what: string): void {
  checkMatrix(a, what);
  if (!(a.data instanceof Float64Array)) throw new InputError(`${what}: needs a float64 matrix`);
  if (a.rows !== a.cols) throw new InputError(`${what} needs a square matrix, got ${a.rows}x${a.cols}`);
}
function checkFiniteLower(a: Matrix64, what: string): void {
  const n = a.rows, d = a.data;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    if (!Number.isFinite(d[i * n + j])) throw new InputError(`${what}: non-finite entry at (${i}, ${j})`);
  }
}

function numerical<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const msg = (e as Error).message;
    if (/not positive definite|did not converge/.test(msg)) throw new NumericalError(msg);
    throw new InputError(msg);
  }
}

function wrap(raw: RawLinalg): BufferedLinalg {
  const base = wrapBase(raw);
  const { gemmInto, syrkInto, choleskyInPlace, choleskySolveInPlace } = raw;
  if (!gemmInto || !syrkInto || !choleskyInPlace || !choleskySolveInPlace) {
    warn('linalg-addon-stale', 'the OpenBLAS addon predates gemmInto/syrkInto/choleskyInPlace/choleskySolveInPlace: they copy results from the allocating routines (rebuild it with `npm run build:native`)', { once: true });
    return withBufferDefaults(base);
  }
  return {
    ...base,
    gemmInto<T extends F>(a: Matrix<T>, b: Matrix<T>, out: Matrix<T>, opts: GemmIntoOptions = {}): Matrix<T> {
      checkGemmInto(a, b, out, opts);
      numerical(() => gemmInto.call(raw, a, b, out, opts));
      return out;
    },
    syrkInto<T extends F>(a: Matrix<T>, out: Matrix<T>, opts: SyrkIntoOptions = {}): Matrix<T> {
      checkSyrkInto(a, out, opts);
      numerical(() => syrkInto.call(raw, a, out, opts));
      return out;
    },
    choleskyInPlace(a: Matrix64): Matrix64 {
      checkCholeskyInPlace(a, null, 'choleskyInPlace');
      numerical(() => choleskyInPlace.call(raw, a));
      return a;
    },
    choleskySolveInPlace(a: Matrix64, b: Matrix64): Matrix64 {
      checkCholeskyInPlace(a, b, 'choleskySolveInPlace');
      numerical(() => choleskySolveInPlace.call(raw, a, b));
      return b;
    },
  };
}

function wrapBase(raw: RawLinalg): Linalg {
  return {
    name: 'openblas',
    gemm<T extends F>(a: Matrix<T>, b: Matrix<T>, opts: GemmOptions = {}): Matrix<T> {
      checkMatrix(a, 'gemm A');
      checkMatrix(b, 'gemm B');
      if (a.data.constructor !== b.data.constructor) throw new InputError('gemm: A and B must have the same dtype');
      const k = opts.transA ? a.rows : a.cols;
      const kb = opts.transB ? b.cols : b.rows;
      if (k !== kb) {
        const m = opts.transA ? a.cols : a.rows, n = opts.transB ? b.rows : b.cols;
        throw new InputError(`gemm: inner dimensions differ (${m}x${k} times ${kb}x${n})`);
      }
      return numerical(() => raw.gemm(a, b, opts)) as Matrix<T>;
    },
    syrk<T extends F>(a: Matrix<T>): Matrix<T> {
      checkMatrix(a, 'syrk');
      return numerical(() => raw.syrk(a)) as Matrix<T>;
    },
    eigh(a: Matrix64, opts: { vectors?: boolean } = {}): EighResult {
      checkSquare64(a, 'eigh');
      checkFiniteLower(a, 'eigh');
      const r = numerical(() => raw.eigh(a, { vectors: opts.vectors ?? false }));
      return r.vectors ? { values: r.values, vectors: r.vectors } : { values: r.values };
    },
    cholesky(a: Matrix64): Matrix64 {
      checkSquare64(a, 'cholesky');
      return numerical(() => raw.cholesky(a));
    },
    choleskySolve(a: Matrix64, b: Matrix64): Matrix64 {
      checkSquare64(a, 'choleskySolve');
      checkMatrix(b, 'choleskySolve B');
      if (!(b.data instanceof Float64Array)) throw new InputError('choleskySolve: right-hand side must be float64');
      if (b.rows !== a.rows) throw new InputError(`choleskySolve: right-hand side has ${b.rows} rows, expected ${a.rows}`);
      return numerical(() => raw.choleskySolve(a, b));
    },
  };
}

export function loadNativeLinalg(): NativeLoad {
  const path = addonPath();
  if (process.env.PERENNIAL_LINALG === 'typescript') return { linalg: null, addon: null, reason: 'PERENNIAL_LINALG=typescript' };
  if (!existsSync(path)) return { linalg: null, addon: null, reason: `addon not built (${path} missing)` };
  try {
    const req = createRequire(import.meta.url);
    const mod = req(path) as Partial<NativeAddon>;
    if (typeof mod.makeLinalg !== 'function') return { linalg: null, addon: null, reason: 'addon has no makeLinalg export' };
    const raw = mod.makeLinalg();
    return { linalg: wrap(raw), addon: mod as NativeAddon, reason: 'loaded' };
  } catch (e) {
    return { linalg: null, addon: null, reason: `addon failed to load: ${(e as Error).message}` };
  }
}
