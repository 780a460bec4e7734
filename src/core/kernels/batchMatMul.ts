// perennial's BatchMatMul kernel for the tfjs wasm backend.
//
// The stock wasm kernel (tfjs-backend-wasm 4.22) is fast only for untransposed operands; training
// needs A^T B and A B^T in every backward pass. This kernel
//   - with the OpenBLAS addon: calls its batched sgemm directly on the wasm heap (zero copy; the
//     transposes are handled by BLAS);
//   - without it: materialises each transpose with the wasm Transpose kernel, then runs the stock
//     kernel on untransposed operands. Batch shapes that broadcast in both directions (e.g. [2,1]
//     against [1,3]) are computed directly per output batch.
// `installKernels()` (called by initTf before setBackend) swaps it in, and the fused variant
// (_FusedMatMul, used by tf.layers Dense) from fusedMatMul.ts, and checks the registry.
import * as tf from '@tensorflow/tfjs';
import type { BatchMatMulAttrs, BatchMatMulInputs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeAddon, gemmTsInto } from '../linalg/index.js';
import { installFusedKernel } from './fusedMatMul.js';
import { replaceStockKernel } from './register.js';

/** 'addon': OpenBLAS on the wasm heap; 'wasm': explicit transposes + stock path; 'stock': the stock kernel as is (for comparisons). */
export type BatchMatMulMode = 'addon' | 'wasm' | 'stock';

const NAME = tf.BatchMatMul;
const BACKEND = 'wasm';

let stock: KernelConfig | null = null;
let mode: BatchMatMulMode = 'wasm';

/** Which path the kernel takes now. */
export function batchMatMulMode(): BatchMatMulMode {
  return mode;
}

/** Choose the path (tests and benchmarks compare them); 'addon' needs the OpenBLAS addon. */
export function setBatchMatMulMode(m: BatchMatMulMode): void {
  if (m === 'addon' && !nativeAddon()) throw new Error('BatchMatMul: the OpenBLAS addon is not loaded');
  if (m !== 'addon' && m !== 'wasm' && m !== 'stock') throw new Error(`BatchMatMul: unknown mode ${String(m)} (known: addon, wasm, stock)`);
  mode = m;
}

/** Run `fn` with the kernel on path `m`, then restore the previous path (even if `fn` throws). */
export function withBatchMatMulMode<T>(m: BatchMatMulMode, fn: () => T): T {
  const before = mode;
  setBatchMatMulMode(m);
  try {
    return fn();
  } finally {
    mode = before;
  }
}

/** The stock wasm kernel that ours replaced (for parity tests); null before installKernels(). */
export function stockBatchMatMul(): KernelConfig | null {
  return stock;
}

interface Plan {
  m: number;
  n: number;
  k: number;
  batchA: number;
  batchB: number;
  outOuter: number[];
  outShape: number[];
}

function plan(a: TensorInfo, b: TensorInfo, ta: boolean, tb: boolean): Plan {
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 2 || rb < 2) throw new Error(`BatchMatMul needs rank >= 2 operands, got shapes [${a.shape}] and [${b.shape}]`);
  const m = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = ta ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = tb ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) {
    throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes [${a.shape}] and [${b.shape}] and transposeA=${ta} and transposeB=${tb} must match.`);
  }
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const outOuter = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  return {
    m, n, k,
    batchA: tf.util.sizeFromShape(outerA),
    batchB: tf.util.sizeFromShape(outerB),
    outOuter,
    outShape: [...outOuter, m, n],
  };
}

/** For output batch index `i`, the batch index of an operand with outer dims `dims` (right-aligned broadcasting). */
function sourceIndex(i: number, outOuter: readonly number[], dims: readonly number[]): number {
  let idx = 0, stride = 1, rest = i;
  const off = outOuter.length - dims.length;
  const coords = new Array<number>(outOuter.length);
  for (let d = outOuter.length - 1; d >= 0; d--) {
    coords[d] = rest % outOuter[d];
    rest = Math.floor(rest / outOuter[d]);
  }
  for (let d = dims.length - 1; d >= 0; d--) {
    const size = dims[d];
    idx += (size === 1 ? 0 : coords[d + off]) * stride;
    stride *= size;
  }
  return idx;
}

function simpleBroadcast(p: Plan): boolean {
  const batch = tf.util.sizeFromShape(p.outOuter);
  return (p.batchA === batch || p.batchA === 1) && (p.batchB === batch || p.batchB === 1);
}

/** Per-batch products when the batch dims broadcast both ways; `mul` computes one product into C. */
function perBatch(a: TensorInfo, b: TensorInfo, p: Plan, mul: (ai: number, bi: number, ci: number) => void): void {
  const batch = tf.util.sizeFromShape(p.outOuter);
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  for (let i = 0; i < batch; i++) mul(sourceIndex(i, p.outOuter, outerA), sourceIndex(i, p.outOuter, outerB), i);
}

function addonKernel(a: TensorInfo, b: TensorInfo, ta: boolean, tb: boolean, backend: BackendWasm, p: Plan): TensorInfo {
  const addon = nativeAddon()!;
  const out = backend.makeOutput(p.outShape, 'float32');
  // Views are taken after makeOutput: allocating may grow (and so replace) the wasm heap.
  const av = backend.typedArrayFromHeap(a) as Float32Array;
  const bv = backend.typedArrayFromHeap(b) as Float32Array;
  const cv = backend.typedArrayFromHeap(out) as Float32Array;
  const { m, n, k } = p;
  const batch = tf.util.sizeFromShape(p.outOuter);
  if (simpleBroadcast(p)) {
    addon.sgemmBatch(ta, tb, batch, m, n, k, av, p.batchA === 1 ? 0 : m * k, bv, p.batchB === 1 ? 0 : k * n, cv);
  } else {
    perBatch(a, b, p, (ai, bi, ci) => {
      addon.sgemmBatch(ta, tb, 1, m, n, k, av.subarray(ai * m * k), 0, bv.subarray(bi * k * n), 0, cv.subarray(ci * m * n));
    });
  }
  return out;
}

function transposeLast2(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const r = x.shape.length;
  const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
  const t = tf.getKernel(tf.Transpose, BACKEND);
  if (!t) throw new Error('BatchMatMul: the wasm Transpose kernel is not registered');
  return t.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

function wasmKernel(a: TensorInfo, b: TensorInfo, ta: boolean, tb: boolean, backend: BackendWasm, p: Plan): TensorInfo {
  if (!simpleBroadcast(p)) {
    // Two-way batch broadcasting: compute each product directly.
    const out = backend.makeOutput(p.outShape, 'float32');
    const av = backend.typedArrayFromHeap(a) as Float32Array;
    const bv = backend.typedArrayFromHeap(b) as Float32Array;
    const cv = backend.typedArrayFromHeap(out) as Float32Array;
    const { m, n, k } = p;
    perBatch(a, b, p, (ai, bi, ci) => {
      gemmTsInto(
        { rows: ta ? k : m, cols: ta ? m : k, data: av.subarray(ai * m * k, (ai + 1) * m * k) },
        { rows: tb ? n : k, cols: tb ? k : n, data: bv.subarray(bi * k * n, (bi + 1) * k * n) },
        cv.subarray(ci * m * n, (ci + 1) * m * n),
        { transA: ta, transB: tb },
      );
    });
    return out;
  }
  const s = stock!;
  const aT = ta ? transposeLast2(a, backend) : a;
  const bT = tb ? transposeLast2(b, backend) : b;
  try {
    return s.kernelFunc({ inputs: { a: aT, b: bT }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
  } finally {
    if (ta) backend.disposeData(aT.dataId);
    if (tb) backend.disposeData(bT.dataId);
  }
}

/**
 * op(A) op(B) with batch broadcasting on the wasm backend, through the current non-stock path
 * ('addon' or 'wasm'); in 'stock' mode through the stock kernel. Shared with the fused kernel.
 */
export function batchMatMulImpl(a: TensorInfo, b: TensorInfo, ta: boolean, tb: boolean, backend: BackendWasm): TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`BatchMatMul needs float32 tensors, got ${a.dtype} and ${b.dtype}`);
  }
  const p = plan(a, b, ta, tb);
  if (p.m * p.n === 0 || tf.util.sizeFromShape(p.outOuter) === 0 || p.k === 0) {
    return backend.makeOutput(p.outShape, 'float32', undefined, new Float32Array(tf.util.sizeFromShape(p.outShape)));
  }
  if (mode === 'stock') {
    return stock!.kernelFunc({ inputs: { a, b }, backend, attrs: { transposeA: ta, transposeB: tb } }) as TensorInfo;
  }
  return mode === 'addon' ? addonKernel(a, b, ta, tb, backend, p) : wasmKernel(a, b, ta, tb, backend, p);
}

const kernelFunc = ((args: { inputs: BatchMatMulInputs; backend: BackendWasm; attrs: BatchMatMulAttrs }): TensorInfo => {
  const { inputs, backend, attrs } = args;
  return batchMatMulImpl(inputs.a as TensorInfo, inputs.b as TensorInfo, Boolean(attrs.transposeA), Boolean(attrs.transposeB), backend);
}) as unknown as KernelFunc;

/** The kernel config perennial registers. */
export const batchMatMulKernel: KernelConfig = {
  kernelName: NAME,
  backendName: BACKEND,
  // The stock kernel's setup wraps its wasm export; ours calls it for the untransposed fast path.
  setupFunc: (backend) => {
    stock?.setupFunc?.(backend);
  },
  kernelFunc,
};

/**
 * Replace the stock wasm BatchMatMul with ours. Must run before setBackend('wasm') (setBackend runs
 * each kernel's setupFunc). Idempotent; throws if the registry does not hand back our kernel.
 */
export function installKernels(): void {
  stock = replaceStockKernel(batchMatMulKernel, ' (is @tensorflow/tfjs-backend-wasm imported?)') ?? stock;
  installFusedKernel();
  mode = nativeAddon() ? 'addon' : 'wasm';
}
