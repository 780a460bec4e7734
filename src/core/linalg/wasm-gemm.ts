// float32 GEMM on WebAssembly SIMD for the pure-TypeScript backend (what a user without the OpenBLAS
// addon gets). JavaScript has no vector arithmetic: the packed scalar kernel in ts.ts tops out near
// 4 GFLOPS, so the inner loops here run as a small wasm module written out byte by byte below (no
// toolchain needed at build or install time). Panels are packed GotoBLAS-style into the module's
// memory, transposes folded into the packing: op(A) in 4-row strips, op(B) in 8-column strips, and
// a 4x8 micro-kernel keeps eight f32x4 accumulators. Accumulation is in float32, as in BLAS sgemm.
// `wasmGemmF32Into` returns false when the engine lacks wasm SIMD; the caller then uses ts.ts.

const KC = 256, MC = 128, NC = 1024;

// --- the module ----------------------------------------------------------------------------------
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// Opcodes used.
const I32 = 0x7f, V128 = 0x7b;
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const i32c = (v: number): number[] => [0x41, ...sleb(v)];
const I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_SHL = 0x74, I32_LT_S = 0x48;
const f32load = (offset: number): number[] => [0x2a, 2, ...uleb(offset)];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const v128load = (offset: number): number[] => [...simd(0x00), 4, ...uleb(offset)];
const v128store = (offset: number): number[] => [...simd(0x0b), 4, ...uleb(offset)];
const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
const F32X4_SPLAT = simd(0x13), F32X4_ADD = simd(0xe4), F32X4_MUL = simd(0xe6);
const LOOP = [0x03, 0x40], END = 0x0b, BR_IF = (d: number): number[] => [0x0d, ...uleb(d)];

/**
 * k(ap, bp, cp, mt, nt, kc, ldc): for each 4-row strip i < mt of the packed A (kc x 4 floats per
 * strip, p-major) and each 8-column strip j < nt of the packed B (kc x 8 floats per strip),
 * C[4i .. 4i+4, 8j .. 8j+8] += A_i B_j, where C is row-major with ldc floats per row. Byte offsets.
 */
function moduleBytes(): Uint8Array {
  // Locals after the 7 params: i, j, p, a, b, c (i32); c0..c7, b0, b1, av (v128).
  const [AP, BP, CP, MT, NT, KCL, LDC] = [0, 1, 2, 3, 4, 5, 6];
  const [I, J, P, A, B, C] = [7, 8, 9, 10, 11, 12];
  const acc = (r: number, h: number): number => 13 + 2 * r + h;
  const B0 = 21, B1 = 22, AV = 23;
  const body: number[] = [];
  const e = (...xs: (number | number[])[]): void => { for (const x of xs) Array.isArray(x) ? body.push(...x) : body.push(x); };
  e(i32c(0), set(J), LOOP);
  e(i32c(0), set(I), LOOP);
  // a = ap + i * kc * 16; b = bp + j * kc * 32
  e(get(AP), get(I), get(KCL), I32_MUL, i32c(4), I32_SHL, I32_ADD, set(A));
  e(get(BP), get(J), get(KCL), I32_MUL, i32c(5), I32_SHL, I32_ADD, set(B));
  for (let r = 0; r < 4; r++) for (let h = 0; h < 2; h++) e(V128_ZERO, set(acc(r, h)));
  e(get(KCL), set(P), LOOP);
  e(get(B), v128load(0), set(B0), get(B), v128load(16), set(B1));
  for (let r = 0; r < 4; r++) {
    e(get(A), f32load(4 * r), F32X4_SPLAT, set(AV));
    for (let h = 0; h < 2; h++) e(get(acc(r, h)), get(AV), get(h === 0 ? B0 : B1), F32X4_MUL, F32X4_ADD, set(acc(r, h)));
  }
  e(get(A), i32c(16), I32_ADD, set(A), get(B), i32c(32), I32_ADD, set(B));
  e(get(P), i32c(1), I32_SUB, set(P), get(P), BR_IF(0), END);
  // c = cp + ((4 i) ldc + 8 j) * 4; then each row: C += acc; c += ldc * 4
  e(get(CP), get(I), i32c(2), I32_SHL, get(LDC), I32_MUL, get(J), i32c(3), I32_SHL, I32_ADD, i32c(2), I32_SHL, I32_ADD, set(C));
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) e(get(C), get(C), v128load(16 * h), get(acc(r, h)), F32X4_ADD, v128store(16 * h));
    if (r < 3) e(get(C), get(LDC), i32c(2), I32_SHL, I32_ADD, set(C));
  }
  e(get(I), i32c(1), I32_ADD, set(I), get(I), get(MT), I32_LT_S, BR_IF(0), END);
  e(get(J), i32c(1), I32_ADD, set(J), get(J), get(NT), I32_LT_S, BR_IF(0), END);
  e(END);
  const locals = [2, ...uleb(6), I32, ...uleb(11), V128];
  const fn = [...locals, ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 7, I32, I32, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...str('e'), ...str('m'), 0x02, 0x00, 0x01]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('k'), 0x00, 0]),
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ]);
}

type Kernel = (ap: number, bp: number, cp: number, mt: number, nt: number, kc: number, ldc: number) => void;
// The few WebAssembly globals used (the project's TypeScript lib settings do not declare them).
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
let state: { mem: WasmMemory; k: Kernel } | null | undefined;

function instance(): { mem: WasmMemory; k: Kernel } | null {
  if (state !== undefined) return state;
  try {
    const W = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    const bytes = moduleBytes();
    if (!W || !W.validate(bytes)) { state = null; return state; }
    const mem = new W.Memory({ initial: 1 });
    const inst = new W.Instance(new W.Module(bytes), { e: { m: mem } });
    state = { mem, k: inst.exports['k'] as Kernel };
  } catch {
    state = null;
  }
  return state;
}

/** Whether the wasm SIMD kernel runs here. */
export function wasmGemmAvailable(): boolean {
  return instance() !== null;
}

/**
 * out (m x n, row-major) = alpha op(A) op(B) for float32 data, where element (i, p) of op(A) is
 * A[i*sai + p*sap] and element (p, j) of op(B) is B[p*sbp + j*sbj]. False (out untouched) when
 * wasm SIMD is unavailable.
 */
export function wasmGemmF32Into(
  A: Float32Array, sai: number, sap: number, B: Float32Array, sbp: number, sbj: number,
  m: number, n: number, k: number, alpha: number, out: Float32Array,
): boolean {
  const s = instance();
  if (!s) return false;
  const mPad = Math.ceil(m / 4) * 4, nPad = Math.ceil(n / 8) * 8;
  const kc0 = Math.min(KC, k), mc0 = Math.min(MC, mPad), nc0 = Math.min(NC, nPad);
  // Layout in wasm memory (floats): C (mPad x nPad), then packed A (mc0 x kc0), then packed B (kc0 x nc0).
  const cFloats = mPad * nPad, aFloats = mc0 * kc0, bFloats = kc0 * nc0;
  const bytes = 4 * (cFloats + aFloats + bFloats);
  const have = s.mem.buffer.byteLength;
  if (bytes > have) s.mem.grow(Math.ceil((bytes - have) / 65536));
  const heap = new Float32Array(s.mem.buffer);
  const cOff = 0, aOff = cFloats, bOff = cFloats + aFloats;
  heap.fill(0, 0, cFloats);
  for (let j0 = 0; j0 < nPad; j0 += NC) {
    const nc = Math.min(NC, nPad - j0), nt = nc >> 3;
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      // B strips: for strip t, p-major rows of 8 columns (zero past n).
      for (let t = 0; t < nt; t++) {
        const jj = j0 + 8 * t, base = bOff + t * kc * 8, w = Math.min(8, n - jj);
        for (let p = 0; p < kc; p++) {
          const src = (p0 + p) * sbp + jj * sbj, o = base + p * 8;
          if (w === 8) {
            for (let c = 0; c < 8; c++) heap[o + c] = B[src + c * sbj];
          } else {
            for (let c = 0; c < 8; c++) heap[o + c] = c < w ? B[src + c * sbj] : 0;
          }
        }
      }
      for (let i0 = 0; i0 < mPad; i0 += MC) {
        const mc = Math.min(MC, mPad - i0), mt = mc >> 2;
        for (let t = 0; t < mt; t++) {
          const base = aOff + t * kc * 4;
          for (let r = 0; r < 4; r++) {
            const i = i0 + 4 * t + r;
            if (i < m) {
              const src = i * sai + p0 * sap;
              for (let p = 0; p < kc; p++) heap[base + p * 4 + r] = A[src + p * sap];
            } else {
              for (let p = 0; p < kc; p++) heap[base + p * 4 + r] = 0;
            }
          }
        }
        s.k(4 * aOff, 4 * bOff, 4 * (cOff + i0 * nPad + j0), mt, nt, kc, nPad);
      }
    }
  }
  for (let i = 0; i < m; i++) {
    const src = cOff + i * nPad, dst = i * n;
    if (alpha === 1) out.set(heap.subarray(src, src + n), dst);
    else for (let j = 0; j < n; j++) out[dst + j] = alpha * heap[src + j];
  }
  return true;
}
