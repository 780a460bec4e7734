// Elementwise and data-movement kernels for the tfjs wasm backend, on typed-array views of the
// wasm heap: im2col / col2im for the convolution (src/core/kernels/conv2d.ts), fused batch
// norm + ReLU (src/core/kernels/batchnorm.ts), frozen batch norm + ReLU + SSF (src/core/kernels/ssf.ts)
// and the optimisers' one-pass updates (core/nn.ts). The conv and batch-norm loops have TypeScript
// twins that give the same values (without the addon, the SSF and optimiser callers run tfjs ops); these run the loops compiled (measured 3-6x faster than the JIT-compiled loops). Tensors
// are row-major with the channel axis last; per-channel parameters come in Float64Arrays.
#include <napi.h>
#include <cblas.h>

#include "conv_gemm.h"
#include "sgemm.h"
#include "adam_avx512.h"
#include "bn_avx512.h"
#include "ssf_avx512.h"
#include "workers.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

Napi::Value Fail(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool F32(const Napi::Value& v, float** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return false;
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  *data = a.Data();
  *len = a.ElementLength();
  return true;
}

bool F64(const Napi::Value& v, double** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) return false;
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  *data = a.Data();
  *len = a.ElementLength();
  return true;
}

bool Int(const Napi::Value& v, long long* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 9.0e15) return false;
  *out = static_cast<long long>(d);
  return true;
}

// --- batch norm + ReLU --------------------------------------------------------------------------
// Written branch-free with integer operations on the float bits: a branch per element mispredicts
// on half the activations, and compilers keep the branch for the obvious forms (v > 0 ? v : 0,
// std::max) because of their NaN and signed-zero rules; measured 10x slower.

inline int32_t Bits(float f) { int32_t b; std::memcpy(&b, &f, sizeof b); return b; }
// dy where y > 0, else +0 (a float is positive exactly when its bits, read as a signed integer, are > 0).
inline double Masked(float dy, float y) {
  const int32_t b = Bits(dy) & -static_cast<int32_t>(Bits(y) > 0);
  float r; std::memcpy(&r, &b, sizeof r); return r;
}
// max(0, v) for float v: negative numbers (sign bit set) become +0.
inline float Relu(float v) {
  int32_t b = Bits(v);
  b &= ~(b >> 31);
  float r; std::memcpy(&r, &b, sizeof r); return r;
}

// bnChannelStats(x, C, sum, sq): sum[c] += x[., c], sq[c] += x[., c]^2 (float64 accumulators).
Napi::Value BnChannelStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float* x; double *sum, *sq; size_t nx, ns, nq; long long C;
  if (info.Length() < 4 || !F32(info[0], &x, &nx) || !Int(info[1], &C) || !F64(info[2], &sum, &ns) || !F64(info[3], &sq, &nq))
    return Fail(env, "bnChannelStats(x: Float32Array, C, sum: Float64Array, sq: Float64Array)");
  if (C == 0 || nx % C != 0 || ns < static_cast<size_t>(C) || nq < static_cast<size_t>(C)) return Fail(env, "bnChannelStats: sizes do not fit C");
  if (perennial::BnVectorised(static_cast<size_t>(C))) {
    perennial::BnStatsRows(x, nx / C, static_cast<size_t>(C), sum, sq);
    return env.Undefined();
  }
  for (size_t o = 0; o < nx; o += C) {
    const float* xr = x + o;
    for (long long c = 0; c < C; c++) {
      const double v = xr[c];
      sum[c] += v;
      sq[c] += v * v;
    }
  }
  return env.Undefined();
}

// bnAffineRelu(x, C, a, b, y): y = max(0, x a[c] + b[c]).
Napi::Value BnAffineRelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *x, *y; double *a, *b; size_t nx, ny, na, nb; long long C;
  if (info.Length() < 5 || !F32(info[0], &x, &nx) || !Int(info[1], &C) || !F64(info[2], &a, &na) || !F64(info[3], &b, &nb) || !F32(info[4], &y, &ny))
    return Fail(env, "bnAffineRelu(x: Float32Array, C, a: Float64Array, b: Float64Array, y: Float32Array)");
  if (C == 0 || nx % C != 0 || ny != nx || na < static_cast<size_t>(C) || nb < static_cast<size_t>(C)) return Fail(env, "bnAffineRelu: sizes do not fit C");
  if (perennial::BnVectorised(static_cast<size_t>(C))) {
    perennial::BnAffineReluRows(x, nx / C, static_cast<size_t>(C), a, b, y);
    return env.Undefined();
  }
  for (size_t o = 0; o < nx; o += C) {
    const float* xr = x + o;
    float* yr = y + o;
    for (long long c = 0; c < C; c++) {
      const double v = xr[c] * a[c] + b[c];
      yr[c] = Relu(static_cast<float>(v));
    }
  }
  return env.Undefined();
}

// bnReluGradStats(dy, x, y, C, mu, inv, sr, srx): r = dy where y > 0; sr[c] += r, srx[c] += r (x - mu) inv.
Napi::Value BnReluGradStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dy, *x, *y; double *mu, *inv, *sr, *srx; size_t nd, nx, ny, n1, n2, n3, n4; long long C;
  if (info.Length() < 8 || !F32(info[0], &dy, &nd) || !F32(info[1], &x, &nx) || !F32(info[2], &y, &ny) || !Int(info[3], &C) ||
      !F64(info[4], &mu, &n1) || !F64(info[5], &inv, &n2) || !F64(info[6], &sr, &n3) || !F64(info[7], &srx, &n4))
    return Fail(env, "bnReluGradStats(dy, x, y: Float32Array, C, mu, inv, sr, srx: Float64Array)");
  const size_t c0 = static_cast<size_t>(C);
  if (C == 0 || nx % C != 0 || nd != nx || ny != nx || n1 < c0 || n2 < c0 || n3 < c0 || n4 < c0) return Fail(env, "bnReluGradStats: sizes do not fit C");
  if (perennial::BnVectorised(c0)) {
    perennial::BnGradStatsRows(dy, x, y, nx / c0, c0, mu, inv, sr, srx);
    return env.Undefined();
  }
  for (size_t o = 0; o < nx; o += C) {
    for (long long c = 0; c < C; c++) {
      const double r = Masked(dy[o + c], y[o + c]);
      sr[c] += r;
      srx[c] += r * (x[o + c] - mu[c]) * inv[c];
    }
  }
  return env.Undefined();
}

// bnReluGradX(dy, x, y, C, k, mu, inv, m1, m2, batchStats, dx):
//   batchStats: dx = k (r - m1 - (x - mu) inv m2); otherwise dx = k r; r = dy where y > 0.
Napi::Value BnReluGradX(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dy, *x, *y, *dx; double *k, *mu, *inv, *m1, *m2; size_t nd, nx, ny, no, a1, a2, a3, a4, a5; long long C;
  if (info.Length() < 11 || !F32(info[0], &dy, &nd) || !F32(info[1], &x, &nx) || !F32(info[2], &y, &ny) || !Int(info[3], &C) ||
      !F64(info[4], &k, &a1) || !F64(info[5], &mu, &a2) || !F64(info[6], &inv, &a3) || !F64(info[7], &m1, &a4) || !F64(info[8], &m2, &a5) ||
      !F32(info[10], &dx, &no))
    return Fail(env, "bnReluGradX(dy, x, y: Float32Array, C, k, mu, inv, m1, m2: Float64Array, batchStats: boolean, dx: Float32Array)");
  const size_t c0 = static_cast<size_t>(C);
  if (C == 0 || nx % C != 0 || nd != nx || ny != nx || no != nx || a1 < c0 || a2 < c0 || a3 < c0 || a4 < c0 || a5 < c0)
    return Fail(env, "bnReluGradX: sizes do not fit C");
  const bool batchStats = info[9].ToBoolean().Value();
  if (perennial::BnVectorised(c0)) {
    perennial::BnGradXRows(dy, x, y, nx / c0, c0, k, mu, inv, m1, m2, batchStats, dx);
    return env.Undefined();
  }
  for (size_t o = 0; o < nx; o += C) {
    for (long long c = 0; c < C; c++) {
      const double r = Masked(dy[o + c], y[o + c]);
      dx[o + c] = static_cast<float>(batchStats ? k[c] * (r - m1[c] - (x[o + c] - mu[c]) * inv[c] * m2[c]) : k[c] * r);
    }
  }
  return env.Undefined();
}

// --- im2col / col2im ----------------------------------------------------------------------------

struct Geometry {
  long long n, h, w, cin, kh, kw, stride, pad, ho, wo;
};

// Arguments 1..10: n, h, w, cin, kh, kw, stride, pad, ho, wo.
bool ReadGeometry(const Napi::CallbackInfo& info, Geometry* g) {
  long long* f[] = {&g->n, &g->h, &g->w, &g->cin, &g->kh, &g->kw, &g->stride, &g->pad, &g->ho, &g->wo};
  for (size_t i = 0; i < 10; i++) if (!Int(info[i + 1], f[i])) return false;
  return g->stride >= 1;
}

// Arguments of im2col and col2im: (image-side array, geometry, column-side array) with sizes checked.
// The array that is written is named last in `usage`.
bool PatchArgs(const Napi::CallbackInfo& info, const char* usage, float** image, float** cols, Geometry* g) {
  size_t ni, nc;
  const bool imageFirst = std::strncmp(usage, "im2col", 6) == 0;
  if (info.Length() < 12 || !F32(info[imageFirst ? 0 : 11], image, &ni) || !ReadGeometry(info, g) || !F32(info[imageFirst ? 11 : 0], cols, &nc)) {
    Fail(info.Env(), usage);
    return false;
  }
  if (static_cast<long long>(ni) != g->n * g->h * g->w * g->cin || static_cast<long long>(nc) != g->n * g->ho * g->wo * g->kh * g->kw * g->cin) {
    Fail(info.Env(), std::string(usage, 6) + ": array sizes do not fit the geometry");
    return false;
  }
  return true;
}

// col[(b, oy, ox), (ky, kx, c)] = x[b, oy*s+ky-p, ox*s+kx-p, c], zero outside the image.
void Im2colLoop(const float* x, const Geometry& g, float* col) {
  const long long K = g.kh * g.kw * g.cin, rowW = g.kw * g.cin;
  float* out = col;
  for (long long b = 0; b < g.n; b++) {
    const float* xb = x + b * g.h * g.w * g.cin;
    for (long long oy = 0; oy < g.ho; oy++) {
      const long long iy0 = oy * g.stride - g.pad;
      for (long long ox = 0; ox < g.wo; ox++, out += K) {
        const long long ix0 = ox * g.stride - g.pad;
        const bool inside = ix0 >= 0 && ix0 + g.kw <= g.w;
        for (long long ky = 0; ky < g.kh; ky++) {
          float* o = out + ky * rowW;
          const long long iy = iy0 + ky;
          if (iy < 0 || iy >= g.h) { std::memset(o, 0, sizeof(float) * rowW); continue; }
          const float* xr = xb + iy * g.w * g.cin;
          if (inside) { std::memcpy(o, xr + ix0 * g.cin, sizeof(float) * rowW); continue; }
          for (long long kx = 0; kx < g.kw; kx++, o += g.cin) {
            const long long ix = ix0 + kx;
            if (ix < 0 || ix >= g.w) std::memset(o, 0, sizeof(float) * g.cin);
            else std::memcpy(o, xr + ix * g.cin, sizeof(float) * g.cin);
          }
        }
      }
    }
  }
}

// The adjoint of im2col; dx is overwritten.
void Col2imLoop(const float* col, const Geometry& g, float* dx) {
  const long long K = g.kh * g.kw * g.cin, rowW = g.kw * g.cin;
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(g.n * g.h * g.w * g.cin));
  const float* in = col;
  for (long long b = 0; b < g.n; b++) {
    float* xb = dx + b * g.h * g.w * g.cin;
    for (long long oy = 0; oy < g.ho; oy++) {
      const long long iy0 = oy * g.stride - g.pad;
      for (long long ox = 0; ox < g.wo; ox++, in += K) {
        const long long ix0 = ox * g.stride - g.pad;
        for (long long ky = 0; ky < g.kh; ky++) {
          const long long iy = iy0 + ky;
          if (iy < 0 || iy >= g.h) continue;
          const float* o = in + ky * rowW;
          float* xr = xb + iy * g.w * g.cin;
          // A patch inside the width adds one run of kw cin values.
          if (ix0 >= 0 && ix0 + g.kw <= g.w) { perennial::AddTo(xr + ix0 * g.cin, o, rowW); continue; }
          for (long long kx = 0; kx < g.kw; kx++, o += g.cin) {
            const long long ix = ix0 + kx;
            if (ix < 0 || ix >= g.w) continue;
            perennial::AddTo(xr + ix * g.cin, o, g.cin);
          }
        }
      }
    }
  }
}

// im2col(x, n, h, w, cin, kh, kw, stride, pad, ho, wo, col)
Napi::Value Im2col(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *x, *col; Geometry g;
  if (!PatchArgs(info, "im2col(x: Float32Array, n, h, w, cin, kh, kw, stride, pad, ho, wo, col: Float32Array)", &x, &col, &g)) return env.Undefined();
  Im2colLoop(x, g, col);
  return env.Undefined();
}

// col2im(col, n, h, w, cin, kh, kw, stride, pad, ho, wo, dx)
Napi::Value Col2im(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *col, *dx; Geometry g;
  if (!PatchArgs(info, "col2im(col: Float32Array, n, h, w, cin, kh, kw, stride, pad, ho, wo, dx: Float32Array)", &dx, &col, &g)) return env.Undefined();
  Col2imLoop(col, g, dx);
  return env.Undefined();
}

// convBlocks(mode, src, w, dst, n, h, w, cin, kh, kw, stride, pad, ho, wo, cout, per):
//   mode 0: dst = y [n, ho, wo, cout] = im2col(src = x) w          (w is [K, cout], K = kh kw cin)
//   mode 1: dst = dx [n, h, w, cin]   = col2im(src = dy  w^T)
// `per` images at a time, so one block's im2col rows (per * ho * wo * K floats) stay in the cache
// between the loop and the GEMM. With OpenBLAS set to T > 1 threads, T workers take blocks in turn,
// each with its own rows and a one-thread sgemm (OpenBLAS is set to one thread meanwhile and then
// restored): im2col / col2im run on every worker instead of one, and no worker waits on another.
// The products are conv_gemm.cc's: its AVX-512 kernel where the CPU has one (then a forward with
// kernel rows of fewer than 16 values reads its patches without im2col rows), else cblas_sgemm.
// Every output element is one dot product whose value does not depend on the block or the worker.
Napi::Value ConvBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "convBlocks(mode, src, w, dst: Float32Array, n, h, w, cin, kh, kw, stride, pad, ho, wo, cout, per)";
  long long mode, cout, per;
  float *src, *wt, *dst; size_t ns, nw, nd;
  Geometry g;
  if (info.Length() < 16 || !Int(info[0], &mode) || mode > 1 || !F32(info[1], &src, &ns) || !F32(info[2], &wt, &nw) || !F32(info[3], &dst, &nd)) return Fail(env, usage);
  long long* f[] = {&g.n, &g.h, &g.w, &g.cin, &g.kh, &g.kw, &g.stride, &g.pad, &g.ho, &g.wo, &cout, &per};
  for (size_t i = 0; i < 12; i++) if (!Int(info[i + 4], f[i])) return Fail(env, usage);
  if (g.stride < 1 || per < 1 || cout < 1) return Fail(env, usage);
  const long long K = g.kh * g.kw * g.cin, rowsPer = g.ho * g.wo, xPer = g.h * g.w * g.cin, yPer = rowsPer * cout;
  const long long nx = g.n * xPer, ny = g.n * yPer;
  if (static_cast<long long>(nw) != K * cout || static_cast<long long>(ns) != (mode == 0 ? nx : ny) || static_cast<long long>(nd) != (mode == 0 ? ny : nx))
    return Fail(env, "convBlocks: array sizes do not fit the geometry");
  const long long blocks = (g.n + per - 1) / per;
  const int before = openblas_get_num_threads();
  const int workers = static_cast<int>(std::max<long long>(1, std::min<long long>(before, blocks)));
  std::atomic<long long> next{0};
  const perennial::ConvShape shape{g.n, g.h, g.w, g.cin, g.kh, g.kw, g.stride, g.pad, g.ho, g.wo, cout};
  const bool fused = mode == 0 && perennial::ConvForwardFits(shape);
  const std::function<void()> work = [&]() {
    std::vector<float> col(fused ? 0 : static_cast<size_t>(per * rowsPer * K));
    for (long long blk; (blk = next.fetch_add(1)) < blocks;) {
      const long long b0 = blk * per, nb = std::min(per, g.n - b0);
      Geometry gb = g;
      gb.n = nb;
      const int rows = static_cast<int>(nb * rowsPer);
      if (fused) {
        perennial::ConvShape sb = shape;
        sb.n = nb;
        perennial::ConvForward(src + b0 * xPer, sb, wt, dst + b0 * yPer);
      } else if (mode == 0) {
        Im2colLoop(src + b0 * xPer, gb, col.data());
        perennial::SmallSgemm(false, rows, static_cast<int>(cout), static_cast<int>(K), col.data(), static_cast<int>(K), wt, static_cast<int>(cout), dst + b0 * yPer, static_cast<int>(cout));
      } else {
        perennial::SmallSgemm(true, rows, static_cast<int>(K), static_cast<int>(cout), src + b0 * yPer, static_cast<int>(cout), wt, static_cast<int>(cout), col.data(), static_cast<int>(K));
        Col2imLoop(col.data(), gb, dst + b0 * xPer);
      }
    }
  };
  if (workers == 1) {
    work();
    return env.Undefined();
  }
  openblas_set_num_threads(1);
  perennial::Pool().Run(workers - 1, work);
  openblas_set_num_threads(before);
  return env.Undefined();
}

// ownKernels(): "avx512" where the addon's own products can run (convolution blocks, conv_gemm.cc;
// large float32 products, sgemm.cc, where sgemmKernel() says "own"), "none" where everything goes
// to OpenBLAS.
Napi::Value OwnKernels(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), perennial::ConvGemmVectorised() ? "avx512" : "none");
}

// sgemmKernel(mode?): with "auto", "own" or "openblas", sets which kernel takes float32 products of
// at least 2^27 multiply-adds (sgemm.h); returns the kernel they now go to, "own" or "openblas".
Napi::Value SgemmKernelFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0) {
    if (!info[0].IsString()) { Napi::TypeError::New(env, "sgemmKernel(mode): mode must be auto, own or openblas").ThrowAsJavaScriptException(); return env.Undefined(); }
    const std::string m = info[0].As<Napi::String>().Utf8Value();
    if (m == "auto") perennial::SetSgemmKernel(perennial::SgemmKernel::kAuto);
    else if (m == "own") {
      if (!perennial::OwnSgemmAvailable()) { Napi::Error::New(env, "sgemmKernel: the own kernel needs an AVX-512 CPU").ThrowAsJavaScriptException(); return env.Undefined(); }
      perennial::SetSgemmKernel(perennial::SgemmKernel::kOwn);
    } else if (m == "openblas") perennial::SetSgemmKernel(perennial::SgemmKernel::kOpenblas);
    else { Napi::TypeError::New(env, "sgemmKernel(mode): mode must be auto, own or openblas").ThrowAsJavaScriptException(); return env.Undefined(); }
  }
  return Napi::String::New(env, perennial::OwnSgemmForLarge() ? "own" : "openblas");
}

// --- frozen batch norm + ReLU + SSF scale/shift (continual/backbones/cnn.ts) -----------------------
// z = relu(((x - m) r) g + b) s + t per channel, with r = rsqrt(var + eps) computed by tfjs: the
// composed tfjs ops' values bit for bit (each product and sum rounded to float32 in their order, no
// fused multiply-adds). The gradient stats reproduce the engine's Sum (kernels/engine.ts
// reduceMiddle): float64 partial sums over blocks of 128 rows, each added to the channel's total.

#define PERENNIAL_EXACT __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic", "fp-contract=off")))

PERENNIAL_EXACT inline float SsfPre(float x, float m, float r, float g, float b) { return ((x - m) * r) * g + b; }

// The loops below split their rows among OpenBLAS's thread count of workers from this many values
// each (fewer: one thread; waking a helper costs about as much as 64K values of these loops).
constexpr size_t kSsfMinPerWorker = 1 << 16;

struct SsfChannels { const float *m, *r, *g, *b, *s, *t; };

bool SsfArgs(const Napi::CallbackInfo& info, int at, size_t C, SsfChannels* k) {
  const float** dst[6] = {&k->m, &k->r, &k->g, &k->b, &k->s, &k->t};
  for (int i = 0; i < 6; i++) {
    float* d; size_t n;
    if (!F32(info[at + i], &d, &n) || n != C) return false;
    *dst[i] = d;
  }
  return true;
}

// ssfBnRelu(x, C, m, r, g, b, s, t, z): z = relu(((x - m) r) g + b) s + t.
PERENNIAL_EXACT Napi::Value SsfBnRelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *x, *z; size_t nx, nz; long long C; SsfChannels k;
  if (info.Length() < 9 || !F32(info[0], &x, &nx) || !Int(info[1], &C) || C == 0 || !SsfArgs(info, 2, static_cast<size_t>(C), &k) || !F32(info[8], &z, &nz))
    return Fail(env, "ssfBnRelu(x: Float32Array, C, m, r, g, b, s, t: Float32Array of length C, z: Float32Array)");
  if (nx % C != 0 || nz != nx) return Fail(env, "ssfBnRelu: sizes do not fit C");
  const size_t c0 = static_cast<size_t>(C);
  const bool vec = perennial::SsfVectorised(c0);
  const perennial::SsfParams kp{k.m, k.r, k.g, k.b, k.s, k.t};
  perennial::ParallelRanges(nx / c0, 1, kSsfMinPerWorker / c0 + 1, openblas_get_num_threads(), [&](size_t lo, size_t hi) PERENNIAL_EXACT {
    if (vec) return perennial::SsfForwardRows(x, z, lo, hi, c0, kp);
    for (size_t o = lo * c0; o < hi * c0; o += c0) {
      for (size_t c = 0; c < c0; c++) {
        const float y = Relu(SsfPre(x[o + c], k.m[c], k.r[c], k.g[c], k.b[c]));
        const float w = y * k.s[c];
        z[o + c] = w + k.t[c];
      }
    }
  });
  return env.Undefined();
}

// ssfBnReluGradStats(dz, x, C, m, r, g, b, ds, dt): ds[c] = sum dz y, dt[c] = sum dz (float64,
// overwritten), y = relu(((x - m) r) g + b), the products dz y rounded to float32 first.
PERENNIAL_EXACT Napi::Value SsfBnReluGradStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dz, *x; double *ds, *dt; size_t nd, nx, n1, n2; long long C;
  if (info.Length() < 9 || !F32(info[0], &dz, &nd) || !F32(info[1], &x, &nx) || !Int(info[2], &C) || C == 0 ||
      !F64(info[7], &ds, &n1) || !F64(info[8], &dt, &n2))
    return Fail(env, "ssfBnReluGradStats(dz, x: Float32Array, C, m, r, g, b: Float32Array of length C, ds, dt: Float64Array)");
  const size_t c0 = static_cast<size_t>(C);
  SsfChannels k;
  float* d; size_t n;
  const float** dst[4] = {&k.m, &k.r, &k.g, &k.b};
  for (int i = 0; i < 4; i++) {
    if (!F32(info[3 + i], &d, &n) || n != c0) return Fail(env, "ssfBnReluGradStats: m, r, g and b must have length C");
    *dst[i] = d;
  }
  if (nx % c0 != 0 || nd != nx || n1 < c0 || n2 < c0) return Fail(env, "ssfBnReluGradStats: sizes do not fit C");
  const size_t rows = nx / c0, B = 128, blocks = (rows + B - 1) / B;
  // Each block of B rows gets its own float64 partial sums, in any worker; the blocks' partials are
  // then added to the totals in block order, as the serial loop did.
  std::vector<double> ps(blocks * c0, 0.0), pt(blocks * c0, 0.0);
  const bool vec = perennial::SsfVectorised(c0);
  const perennial::SsfParams kp{k.m, k.r, k.g, k.b, nullptr, nullptr};
  perennial::ParallelRanges(rows, B, kSsfMinPerWorker / c0 + 1, openblas_get_num_threads(), [&](size_t lo, size_t hi) PERENNIAL_EXACT {
    for (size_t r0 = lo; r0 < hi; r0 += B) {
      const size_t r1 = std::min(hi, r0 + B);
      double* bs = ps.data() + (r0 / B) * c0;
      double* bt = pt.data() + (r0 / B) * c0;
      if (vec) { perennial::SsfStatsRows(dz, x, r0, r1, c0, kp, bs, bt); continue; }
      for (size_t r = r0; r < r1; r++) {
        const float* xr = x + r * c0;
        const float* dr = dz + r * c0;
        for (size_t c = 0; c < c0; c++) {
          const float y = Relu(SsfPre(xr[c], k.m[c], k.r[c], k.g[c], k.b[c]));
          const float p = dr[c] * y;
          bs[c] += p;
          bt[c] += dr[c];
        }
      }
    }
  });
  for (size_t c = 0; c < c0; c++) { ds[c] = 0; dt[c] = 0; }
  for (size_t b = 0; b < blocks; b++)
    for (size_t c = 0; c < c0; c++) { ds[c] = ds[c] + ps[b * c0 + c]; dt[c] = dt[c] + pt[b * c0 + c]; }
  return env.Undefined();
}

// ssfBnReluGradX(dz, x, C, m, r, g, b, s, dx): dx = ((q g) r), q = dz s where the pre-activation is
// > 0, else a zero with the sign of dz s (tfjs's dy * step(x)).
PERENNIAL_EXACT Napi::Value SsfBnReluGradX(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dz, *x, *dx; size_t nd, nx, no; long long C;
  if (info.Length() < 9 || !F32(info[0], &dz, &nd) || !F32(info[1], &x, &nx) || !Int(info[2], &C) || C == 0 || !F32(info[8], &dx, &no))
    return Fail(env, "ssfBnReluGradX(dz, x: Float32Array, C, m, r, g, b, s: Float32Array of length C, dx: Float32Array)");
  const size_t c0 = static_cast<size_t>(C);
  SsfChannels k;
  float* d; size_t n;
  const float** dst[5] = {&k.m, &k.r, &k.g, &k.b, &k.s};
  for (int i = 0; i < 5; i++) {
    if (!F32(info[3 + i], &d, &n) || n != c0) return Fail(env, "ssfBnReluGradX: m, r, g, b and s must have length C");
    *dst[i] = d;
  }
  if (nx % c0 != 0 || nd != nx || no != nx) return Fail(env, "ssfBnReluGradX: sizes do not fit C");
  const bool vec = perennial::SsfVectorised(c0);
  const perennial::SsfParams kp{k.m, k.r, k.g, k.b, k.s, nullptr};
  perennial::ParallelRanges(nx / c0, 1, kSsfMinPerWorker / c0 + 1, openblas_get_num_threads(), [&](size_t lo, size_t hi) PERENNIAL_EXACT {
    if (vec) return perennial::SsfGradXRows(dz, x, dx, lo, hi, c0, kp);
    for (size_t o = lo * c0; o < hi * c0; o += c0) {
      for (size_t c = 0; c < c0; c++) {
        const float pre = SsfPre(x[o + c], k.m[c], k.r[c], k.g[c], k.b[c]);
        const float q0 = dz[o + c] * k.s[c];
        const int32_t keep = -static_cast<int32_t>(Bits(pre) > 0) | static_cast<int32_t>(0x80000000u);
        const int32_t qb = Bits(q0) & keep;
        float q; std::memcpy(&q, &qb, sizeof q);
        dx[o + c] = (q * k.g[c]) * k.r[c];
      }
    }
  });
  return env.Undefined();
}

// --- optimiser updates ---------------------------------------------------------------------------
// One pass per parameter, in float32 like the stock tfjs ops. GCC's optimize attribute left the Adam
// loop scalar, with a call to sqrtf per parameter (0.85 ms for the bench MLP's 203,530 parameters);
// on AVX-512 CPUs adam_avx512.cc takes every whole group of 16.

#define PERENNIAL_VECTORISE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))

// Adam with tf.train.adam's arithmetic, operation for operation in float32, so that the result is
// the stock optimiser's bit for bit: m = m b1 + g a1; s = s b2 + (g g) a2; p = ((m / om1) /
// (sqrt(s / om2) + eps)) (-lr) + p, where a1 = fround(1 - b1) and a2 = fround(1 - b2) as tfjs
// rounds its scalars, and om1 = 1 - acc1, om2 = 1 - acc2 with tfjs's float32 running products
// acc1 = b1^t, acc2 = b2^t (core/nn.ts computes them). No contraction into fused multiply-adds:
// every product and sum is rounded as tfjs-wasm rounds it. sqrt of s >= 0 never sets errno.
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic", "fp-contract=off", "no-math-errno")))
void AdamTfjsLoop(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict s, size_t n,
                  float b1, float a1, float b2, float a2, float om1, float om2, float negLr, float eps) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * a1;
    const float si = s[i] * b2 + (gi * gi) * a2;
    m[i] = mi;
    s[i] = si;
    const float bm = mi / om1, bs = si / om2;
    p[i] = (bm / (std::sqrt(bs) + eps)) * negLr + p[i];
  }
}

// adamTfjs(p, g, m, s, b1, a1, b2, a2, om1, om2, negLr, eps): the loop above; the scalars are
// float32 values passed as numbers (core/nn.ts FusedAdam).
Napi::Value AdamTfjs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *p, *g, *m, *s; size_t np, ng, nm, ns;
  if (info.Length() < 12 || !F32(info[0], &p, &np) || !F32(info[1], &g, &ng) || !F32(info[2], &m, &nm) || !F32(info[3], &s, &ns))
    return Fail(env, "adamTfjs(p, g, m, s: Float32Array, b1, a1, b2, a2, om1, om2, negLr, eps)");
  float v[8];
  for (int k = 0; k < 8; k++) {
    if (!info[4 + k].IsNumber()) return Fail(env, "adamTfjs: b1, a1, b2, a2, om1, om2, negLr and eps must be numbers");
    v[k] = static_cast<float>(info[4 + k].As<Napi::Number>().DoubleValue());
  }
  if (ng != np || nm != np || ns != np) return Fail(env, "adamTfjs: p, g, m and s must have one length");
  if (!(v[4] > 0) || !(v[5] > 0)) return Fail(env, "adamTfjs: om1 and om2 must be positive");
  // AVX-512 over whole groups of 16, the scalar loop over the rest (and everywhere without AVX-512).
  const size_t done = perennial::AdamVectorised() ? np - np % 16 : 0;
  if (done) perennial::AdamRows(p, g, m, s, done, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
  AdamTfjsLoop(p + done, g + done, m + done, s + done, np - done, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
  return env.Undefined();
}

PERENNIAL_VECTORISE void SgdLoop(float* __restrict p, const float* __restrict g, float* __restrict vel, size_t n,
                                 float lr, float momentum, float wd) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i] + wd * p[i];
    const float b = momentum * vel[i] + gi;
    vel[i] = b;
    p[i] = p[i] - lr * b;
  }
}

// sgdUpdate(p, g, vel, lr, momentum, weightDecay): vel = momentum vel + (g + wd p); p -= lr vel.
Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *p, *g, *vel; size_t np, ng, nv;
  if (info.Length() < 6 || !F32(info[0], &p, &np) || !F32(info[1], &g, &ng) || !F32(info[2], &vel, &nv) ||
      !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber())
    return Fail(env, "sgdUpdate(p, g, vel: Float32Array, lr, momentum, weightDecay)");
  if (ng != np || nv != np) return Fail(env, "sgdUpdate: p, g and vel must have one length");
  SgdLoop(p, g, vel, np, info[3].As<Napi::Number>().FloatValue(), info[4].As<Napi::Number>().FloatValue(),
          info[5].As<Napi::Number>().FloatValue());
  return env.Undefined();
}

// --- fused linear epilogue and ReLU gradient (src/core/kernels/fusedMatMul.ts) ---------------------

// biasRelu(y, bias, relu): y[r, j] += bias[j] (bias of length n = the row length, or empty), then
// max(0, y) when relu; in place.
PERENNIAL_VECTORISE void BiasReluLoop(float* __restrict y, const float* __restrict b, size_t rows, size_t n, bool relu) {
  for (size_t r = 0; r < rows; r++) {
    float* yr = y + r * n;
    if (b) for (size_t j = 0; j < n; j++) yr[j] += b[j];
    if (relu) for (size_t j = 0; j < n; j++) yr[j] = Relu(yr[j]);
  }
}

Napi::Value BiasRelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *y, *b; size_t ny, nb; long long n;
  if (info.Length() < 4 || !F32(info[0], &y, &ny) || !F32(info[1], &b, &nb) || !Int(info[2], &n) || !info[3].IsBoolean())
    return Fail(env, "biasRelu(y: Float32Array, bias: Float32Array, n, relu: boolean)");
  if (n == 0 || ny % n != 0 || (nb != 0 && nb != static_cast<size_t>(n))) return Fail(env, "biasRelu: y must be rows of n and bias of length n or 0");
  BiasReluLoop(y, nb ? b : nullptr, ny / n, n, info[3].As<Napi::Boolean>().Value());
  return env.Undefined();
}

PERENNIAL_VECTORISE void ReluGradLoop(const float* __restrict dy, const float* __restrict y, float* __restrict out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = static_cast<float>(Masked(dy[i], y[i]));
}

// reluGrad(dy, y, out): out = dy where y > 0, else +0.
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dy, *y, *out; size_t nd, ny, no;
  if (info.Length() < 3 || !F32(info[0], &dy, &nd) || !F32(info[1], &y, &ny) || !F32(info[2], &out, &no))
    return Fail(env, "reluGrad(dy, y, out: Float32Array)");
  if (ny != nd || no != nd) return Fail(env, "reluGrad: dy, y and out must have one length");
  ReluGradLoop(dy, y, out, nd);
  return env.Undefined();
}

}  // namespace

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("bnChannelStats", Napi::Function::New(env, BnChannelStats, "bnChannelStats"));
  exports.Set("bnAffineRelu", Napi::Function::New(env, BnAffineRelu, "bnAffineRelu"));
  exports.Set("bnReluGradStats", Napi::Function::New(env, BnReluGradStats, "bnReluGradStats"));
  exports.Set("bnReluGradX", Napi::Function::New(env, BnReluGradX, "bnReluGradX"));
  exports.Set("im2col", Napi::Function::New(env, Im2col, "im2col"));
  exports.Set("col2im", Napi::Function::New(env, Col2im, "col2im"));
  exports.Set("convBlocks", Napi::Function::New(env, ConvBlocks, "convBlocks"));
  exports.Set("ownKernels", Napi::Function::New(env, OwnKernels, "ownKernels"));
  exports.Set("sgemmKernel", Napi::Function::New(env, SgemmKernelFn, "sgemmKernel"));
  exports.Set("ssfBnRelu", Napi::Function::New(env, SsfBnRelu, "ssfBnRelu"));
  exports.Set("ssfBnReluGradStats", Napi::Function::New(env, SsfBnReluGradStats, "ssfBnReluGradStats"));
  exports.Set("ssfBnReluGradX", Napi::Function::New(env, SsfBnReluGradX, "ssfBnReluGradX"));
  exports.Set("adamTfjs", Napi::Function::New(env, AdamTfjs, "adamTfjs"));
  exports.Set("sgdUpdate", Napi::Function::New(env, SgdUpdate, "sgdUpdate"));
  exports.Set("biasRelu", Napi::Function::New(env, BiasRelu, "biasRelu"));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad, "reluGrad"));
}
