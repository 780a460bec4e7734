#include "conv_gemm.h"
#include "avx512.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

namespace perennial {

namespace {

#define PERENNIAL_AVX512 __attribute__((target("avx512f")))

constexpr int kMr = 12;      // rows per tile: 12 x 2 accumulators fill 24 of the 32 zmm registers
constexpr int kMaxPieces = 8;  // kernel rows (kh) the fused convolution takes

// The sum over p runs over n pieces: piece t reads row i of A at a[t] + off(i) + q and B at
// b[t] + q ldb, q < k. A plain product is one piece with off(i) = i lda; a convolution has one
// piece per kernel row, read straight from the (padded) image, off(i) = off[i] being where row i's
// patch starts.
struct Pieces {
  int n, k;
  const float* a[kMaxPieces];
  const float* b[kMaxPieces];
  long long lda;
  long long off[kMr];
};

// C[MR x 16 NV] = the pieces' sum, MR NV accumulators in registers for the whole sum. The masks cover
// a last, partial group of columns. The loops are unrolled in full so that the accumulators are
// registers and not an array on the stack (at -O2 they were, at a third of the speed).
// ROWS: rows at the offsets off[i], otherwise lda apart (a separate kernel: with twelve row
// pointers live the strided product ran 25 % slower).
template <int MR, int NV, bool ROWS>
PERENNIAL_AVX512 void Tile(const Pieces& P, int ldb, float* c, int ldc, __mmask16 m0, __mmask16 m1) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
  for (int t = 0; t < P.n; t++) {
    const float* a = P.a[t];
    const float* b = P.b[t];
    const float* ar[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) ar[i] = a + (ROWS ? P.off[i] : i * P.lda);
    for (int q = 0; q < P.k; q++) {
      const float* bq = b + static_cast<long long>(q) * ldb;
      __m512 bv[NV];
      bv[0] = _mm512_maskz_loadu_ps(m0, bq);
      if (NV > 1) bv[NV - 1] = _mm512_maskz_loadu_ps(m1, bq + 16);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) {
        const __m512 ai = _mm512_set1_ps(ROWS ? ar[i][q] : a[i * P.lda + q]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float* ci = c + static_cast<long long>(i) * ldc;
    _mm512_mask_storeu_ps(ci, m0, acc[i][0]);
    if (NV > 1) _mm512_mask_storeu_ps(ci + 16, m1, acc[i][NV - 1]);
  }
}

using TileFn = void (*)(const Pieces&, int, float*, int, __mmask16, __mmask16);

template <int NV, bool ROWS, int... R>
constexpr std::array<TileFn, sizeof...(R)> Tiles(std::integer_sequence<int, R...>) {
  return {&Tile<R + 1, NV, ROWS>...};
}

// [rows][column groups - 1][mr - 1]
const std::array<TileFn, kMr> kTiles[2][2] = {
    {Tiles<1, false>(std::make_integer_sequence<int, kMr>{}), Tiles<2, false>(std::make_integer_sequence<int, kMr>{})},
    {Tiles<1, true>(std::make_integer_sequence<int, kMr>{}), Tiles<2, true>(std::make_integer_sequence<int, kMr>{})}};

__mmask16 Mask(int cols) { return cols >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1u); }

// C[mr rows x n] from the pieces (whose b pointers address column 0), 32 columns at a time.
void RowTiles(bool rows, int mr, int n, Pieces P, int ldb, float* c, int ldc) {
  const Pieces base = P;
  for (int j0 = 0; j0 < n; j0 += 32) {
    for (int t = 0; t < P.n; t++) P.b[t] = base.b[t] + j0;
    const int cols = n - j0;
    if (cols > 16) kTiles[rows][1][mr - 1](P, ldb, c + j0, ldc, 0xFFFF, Mask(cols - 16));
    else kTiles[rows][0][mr - 1](P, ldb, c + j0, ldc, Mask(cols), 0);
  }
}

// Rows outside, columns inside: a panel of kMr rows of A stays in L1 while it meets every column of
// B, which, being small, stays in L2.
void Product(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  for (int i0 = 0; i0 < m; i0 += kMr) {
    const Pieces P{1, k, {a + static_cast<long long>(i0) * lda}, {b}, lda, {}};
    RowTiles(false, m - i0 < kMr ? m - i0 : kMr, n, P, ldb, c + static_cast<long long>(i0) * ldc, ldc);
  }
}

// [k x n] from [n x k] (ldb): small, made once per call so that the kernel reads rows of B.
const float* Transposed(const float* b, int n, int k, int ldb) {
  thread_local std::vector<float> bt;
  bt.resize(static_cast<size_t>(k) * n);
  for (int j = 0; j < n; j++)
    for (int p = 0; p < k; p++) bt[static_cast<size_t>(p) * n + j] = b[static_cast<long long>(j) * ldb + p];
  return bt.data();
}

}  // namespace

bool ConvGemmVectorised() { return HasAvx512(); }

void SmallSgemm(bool bTrans, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  if (!ConvGemmVectorised()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, bTrans ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    return;
  }
  if (bTrans) Product(m, n, k, a, lda, Transposed(b, n, k, ldb), n, c, ldc);
  else Product(m, n, k, a, lda, b, ldb, c, ldc);
}

bool ConvForwardFits(const ConvShape& s) { return ConvGemmVectorised() && s.kh <= kMaxPieces && s.kw * s.cin < 16; }

void ConvForward(const float* x, const ConvShape& s, const float* w, float* y) {
  const long long seg = s.kw * s.cin, hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
  const int cout = static_cast<int>(s.cout);
  // The images with their zero border, so that every patch is kh runs of kw cin values: any 12
  // output pixels make a tile, whatever their rows, and the sums are those of the explicit rows.
  const float* xp = x;
  thread_local std::vector<float> padded;
  if (s.pad > 0) {
    padded.assign(static_cast<size_t>(s.n * hp * wp * s.cin), 0.0f);
    for (long long b = 0; b < s.n; b++)
      for (long long iy = 0; iy < s.h; iy++)
        std::memcpy(&padded[static_cast<size_t>(((b * hp + iy + s.pad) * wp + s.pad) * s.cin)], x + (b * s.h + iy) * s.w * s.cin, sizeof(float) * s.w * s.cin);
    xp = padded.data();
  }
  Pieces P{static_cast<int>(s.kh), static_cast<int>(seg), {}, {}, 0, {}};
  for (long long ky = 0; ky < s.kh; ky++) {
    P.a[ky] = xp + ky * wp * s.cin;
    P.b[ky] = w + ky * seg * s.cout;
  }
  const long long rows = s.n * s.ho * s.wo;
  for (long long r0 = 0; r0 < rows; r0 += kMr) {
    const int mr = static_cast<int>(std::min<long long>(kMr, rows - r0));
    long long ox = r0 % s.wo, oy = (r0 / s.wo) % s.ho, b = r0 / (s.wo * s.ho);
    for (int i = 0; i < mr; i++) {
      P.off[i] = ((b * hp + oy * s.stride) * wp + ox * s.stride) * s.cin;
      if (++ox == s.wo) { ox = 0; if (++oy == s.ho) { oy = 0; b++; } }
    }
    RowTiles(true, mr, cout, P, cout, y + r0 * s.cout, cout);
  }
}

namespace {
PERENNIAL_AVX512 void AddTo512(float* d, const float* o, long long n) {
  long long i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, _mm512_add_ps(_mm512_loadu_ps(d + i), _mm512_loadu_ps(o + i)));
  if (i < n) {
    const __mmask16 m = Mask(static_cast<int>(n - i));
    _mm512_mask_storeu_ps(d + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + i), _mm512_maskz_loadu_ps(m, o + i)));
  }
}
}  // namespace

void AddTo(float* d, const float* o, long long n) {
  if (ConvGemmVectorised()) AddTo512(d, o, n);
  else for (long long i = 0; i < n; i++) d[i] += o[i];
}

}  // namespace perennial
