#include "sgemm.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#include "conv_gemm.h"
#include "workers.h"

namespace perennial {

namespace {

#define PERENNIAL_AVX512 __attribute__((target("avx512f")))

// Blocking (BLIS's scheme): C is computed in tiles of kMr x kNr from panels packed contiguously, a
// kKc-long slice of the sum at a time. A packed block of A (kMc x kKc, 120 KiB) stays in L2, a packed
// panel of B (kKc x kNr, 32 KiB) in L1 while it meets every panel of that block.
constexpr int kMr = 12, kNr = 32, kKc = 256, kMc = 120, kNc = 1024;
// From here up the addon's kernel takes the product: 2^27 multiply-adds (512 x 512 x 512). Square
// products, GFLOPS own / OpenBLAS: 1 thread 134 / 104 at 512, 175 / 109 at 1024; 2 threads 165-173 /
// 173-179 at 512, 226 / 181 at 1024, 241-260 / 191-196 at 2048; at 384 with 2 threads OpenBLAS was
// twice as fast (its threads split a small product better). Smaller products stay on OpenBLAS.
constexpr long long kOwnSgemmMinMacs = 1LL << 27;

struct Operand {
  const float* p;
  int ld;
  bool trans;
  // Element (r, c) of op(X).
  float at(long long r, long long c) const { return trans ? p[c * ld + r] : p[r * ld + c]; }
};

// ap[(i / kMr) kc kMr + p kMr + i % kMr] = op(A)(i0 + i, p0 + p), rows past mc zero.
void PackA(const Operand& A, long long i0, int mc, long long p0, int kc, float* ap) {
  for (int r0 = 0; r0 < mc; r0 += kMr) {
    const int mr = std::min(kMr, mc - r0);
    float* dst = ap + static_cast<long long>(r0) * kc;
    if (mr < kMr) std::fill(dst, dst + static_cast<long long>(kc) * kMr, 0.0f);
    if (!A.trans) {
      // Row by row: each row of A is read once, in order.
      for (int i = 0; i < mr; i++) {
        const float* src = A.p + (i0 + r0 + i) * A.ld + p0;
        for (int p = 0; p < kc; p++) dst[static_cast<long long>(p) * kMr + i] = src[p];
      }
    } else {
      for (int p = 0; p < kc; p++) {
        const float* src = A.p + (p0 + p) * A.ld + i0 + r0;
        for (int i = 0; i < mr; i++) dst[static_cast<long long>(p) * kMr + i] = src[i];
      }
    }
  }
}

// bp[(j / kNr) kc kNr + p kNr + j % kNr] = op(B)(p0 + p, j0 + j), columns past nc zero.
void PackB(const Operand& B, long long p0, int kc, long long j0, int nc, float* bp) {
  for (int c0 = 0; c0 < nc; c0 += kNr) {
    const int nr = std::min(kNr, nc - c0);
    float* dst = bp + static_cast<long long>(c0) * kc;
    for (int p = 0; p < kc; p++) {
      float* d = dst + static_cast<long long>(p) * kNr;
      if (!B.trans) {
        const float* src = B.p + (p0 + p) * B.ld + j0 + c0;
        for (int j = 0; j < nr; j++) d[j] = src[j];
      } else {
        for (int j = 0; j < nr; j++) d[j] = B.at(p0 + p, j0 + c0 + j);
      }
      for (int j = nr; j < kNr; j++) d[j] = 0.0f;
    }
  }
}

__mmask16 Mask(int cols) { return cols >= 16 ? static_cast<__mmask16>(0xFFFF) : cols <= 0 ? 0 : static_cast<__mmask16>((1u << cols) - 1u); }

// The kMr x kNr tile of the packed panels' product over kc terms, written to the mr x nr corner of C:
// C = alpha acc + beta C on the first slice of the sum (C unread when beta is 0), C += alpha acc after.
PERENNIAL_AVX512 void Kernel(int kc, const float* ap, const float* bp, float* c, int ldc, int mr, int nr, float alpha, float beta, bool first) {
  __m512 acc[kMr][2];
#pragma GCC unroll 12
  for (int i = 0; i < kMr; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
  for (int p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; i++) {
      const __m512 ai = _mm512_set1_ps(ap[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    ap += kMr;
    bp += kNr;
  }
  const __mmask16 m0 = Mask(nr), m1 = Mask(nr - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int i = 0; i < kMr; i++) {
    if (i >= mr) break;
    float* ci = c + static_cast<long long>(i) * ldc;
    __m512 v0 = acc[i][0], v1 = acc[i][1];
    if (alpha != 1.0f) { v0 = _mm512_mul_ps(va, v0); v1 = _mm512_mul_ps(va, v1); }
    if (!first) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), v1);
    } else if (beta != 0.0f) {
      v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), v0);
      v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), v1);
    }
    _mm512_mask_storeu_ps(ci, m0, v0);
    _mm512_mask_storeu_ps(ci + 16, m1, v1);
  }
}

struct AlignedFree { void operator()(float* p) const { std::free(p); } };
using Buffer = std::unique_ptr<float, AlignedFree>;
Buffer Aligned(size_t floats) { return Buffer(static_cast<float*>(std::aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64))); }

// Rows [r0, r1) of C.
void Rows(const Operand& A, const Operand& B, long long r0, long long r1, int n, int k, float alpha, float beta, float* c, int ldc) {
  const Buffer ap = Aligned(static_cast<size_t>(kMc) * kKc), bp = Aligned(static_cast<size_t>(kKc) * kNc);
  for (long long j0 = 0; j0 < n; j0 += kNc) {
    const int nc = static_cast<int>(std::min<long long>(kNc, n - j0));
    for (long long p0 = 0; p0 < k; p0 += kKc) {
      const int kc = static_cast<int>(std::min<long long>(kKc, k - p0));
      PackB(B, p0, kc, j0, nc, bp.get());
      for (long long i0 = r0; i0 < r1; i0 += kMc) {
        const int mc = static_cast<int>(std::min<long long>(kMc, r1 - i0));
        PackA(A, i0, mc, p0, kc, ap.get());
        for (int jr = 0; jr < nc; jr += kNr)
          for (int ir = 0; ir < mc; ir += kMr)
            Kernel(kc, ap.get() + static_cast<long long>(ir) * kc, bp.get() + static_cast<long long>(jr) * kc,
                   c + (i0 + ir) * ldc + j0 + jr, ldc, std::min(kMr, mc - ir), std::min(kNr, nc - jr), alpha, beta, p0 == 0);
      }
    }
  }
}

}  // namespace

namespace {

// The kernel above exists for AVX-512 CPUs that the distribution's OpenBLAS (0.3.21) does not know:
// there it falls back to its Haswell (AVX2) kernel and ours was faster (175 against 109 GFLOPS at
// 1024, 1 thread). Where OpenBLAS recognised the CPU and runs one of its own AVX-512 kernels, its
// kernel was the faster one (Zen 4, which OpenBLAS runs as Cooperlake: 96 against 82 GFLOPS at 1024,
// 1 thread), so large products stay on OpenBLAS there.
bool OpenblasRunsAvx512() {
  static const bool yes = [] {
    const char* core = openblas_get_corename();
    if (!core) return false;
    for (const char* k : {"SkylakeX", "Cooperlake", "SapphireRapids"})
      if (std::strcmp(core, k) == 0) return true;
    return false;
  }();
  return yes;
}

SgemmKernel chosen = SgemmKernel::kAuto;

}  // namespace

void SetSgemmKernel(SgemmKernel k) { chosen = k; }

bool OwnSgemmAvailable() { return ConvGemmVectorised(); }

bool OwnSgemmForLarge() {
  if (!ConvGemmVectorised() || chosen == SgemmKernel::kOpenblas) return false;
  return chosen == SgemmKernel::kOwn || !OpenblasRunsAvx512();
}

bool OwnSgemm(long long m, long long n, long long k) { return OwnSgemmForLarge() && m * n * k >= kOwnSgemmMinMacs; }

void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || !OwnSgemm(m, n, k)) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const Operand A{a, lda, transA}, B{b, ldb, transB};
  // One range of rows per worker, in whole tiles of kMr rows: every tile starts at a multiple of kMr
  // and sums its slices in order whatever the split, so the values do not depend on the workers.
  const long long tiles = (m + kMr - 1) / kMr;
  const int workers = static_cast<int>(std::max<long long>(1, std::min<long long>(openblas_get_num_threads(), tiles / 4)));
  std::atomic<long long> next{0};
  const std::function<void()> work = [&]() {
    for (long long t; (t = next.fetch_add(1)) < workers;) {
      const long long r0 = tiles * t / workers * kMr, r1 = std::min<long long>(m, tiles * (t + 1) / workers * kMr);
      if (r0 < r1) Rows(A, B, r0, r1, n, k, alpha, beta, c, ldc);
    }
  };
  if (workers == 1) work();
  else Pool().Run(workers - 1, work);
}

}  // namespace perennial
