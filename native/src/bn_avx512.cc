#include "bn_avx512.h"

#include "avx512.h"

namespace perennial {

namespace {

using avx512::Hi;
using avx512::Lo;
using avx512::Relu;

// Two halves of float64 rounded to float32 (round to nearest, as static_cast<float>).
PERENNIAL_AVX512_EXACT inline __m512 Narrow(__m512d lo, __m512d hi) {
  const __m256 l = _mm512_cvtpd_ps(lo), h = _mm512_cvtpd_ps(hi);
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(l)), _mm256_castps_pd(h), 1));
}
// dy where y > 0 (y's bits, read as a signed integer, > 0), else +0.
PERENNIAL_AVX512_EXACT inline __m512 Masked(__m512 dy, __m512 y) {
  return _mm512_maskz_mov_ps(_mm512_cmpgt_epi32_mask(_mm512_castps_si512(y), _mm512_setzero_si512()), dy);
}
PERENNIAL_AVX512_EXACT inline __m512d Ld(const double* p) { return _mm512_loadu_pd(p); }

template <int NG>
PERENNIAL_AVX512_EXACT void StatsChunk(const float* x, size_t rows, size_t C, size_t c0, double* sum, double* sq) {
  __m512d s[2 * NG], q[2 * NG];
#pragma GCC unroll 8
  for (int i = 0; i < 2 * NG; i++) { s[i] = Ld(sum + c0 + 8 * i); q[i] = Ld(sq + c0 + 8 * i); }
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * C + c0;
#pragma GCC unroll 4
    for (int g = 0; g < NG; g++) {
      const __m512 v = _mm512_loadu_ps(xr + 16 * g);
      const __m512d a = Lo(v), b = Hi(v);
      s[2 * g] = _mm512_add_pd(s[2 * g], a);
      s[2 * g + 1] = _mm512_add_pd(s[2 * g + 1], b);
      q[2 * g] = _mm512_add_pd(q[2 * g], _mm512_mul_pd(a, a));
      q[2 * g + 1] = _mm512_add_pd(q[2 * g + 1], _mm512_mul_pd(b, b));
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 2 * NG; i++) { _mm512_storeu_pd(sum + c0 + 8 * i, s[i]); _mm512_storeu_pd(sq + c0 + 8 * i, q[i]); }
}

template <int NG>
PERENNIAL_AVX512_EXACT void GradStatsChunk(const float* dy, const float* x, const float* y, size_t rows, size_t C, size_t c0, const double* mu,
                                    const double* inv, double* sr, double* srx) {
  __m512d s[2 * NG], t[2 * NG];
#pragma GCC unroll 8
  for (int i = 0; i < 2 * NG; i++) { s[i] = Ld(sr + c0 + 8 * i); t[i] = Ld(srx + c0 + 8 * i); }
  for (size_t r = 0; r < rows; r++) {
    const size_t o = r * C + c0;
#pragma GCC unroll 4
    for (int g = 0; g < NG; g++) {
      const __m512 m = Masked(_mm512_loadu_ps(dy + o + 16 * g), _mm512_loadu_ps(y + o + 16 * g));
      const __m512 xv = _mm512_loadu_ps(x + o + 16 * g);
      const __m512d rv[2] = {Lo(m), Hi(m)}, xd[2] = {Lo(xv), Hi(xv)};
#pragma GCC unroll 2
      for (int h = 0; h < 2; h++) {
        const size_t c = c0 + 16 * g + 8 * h;
        const int i = 2 * g + h;
        s[i] = _mm512_add_pd(s[i], rv[h]);
        // r (x - mu) inv, left to right.
        t[i] = _mm512_add_pd(t[i], _mm512_mul_pd(_mm512_mul_pd(rv[h], _mm512_sub_pd(xd[h], Ld(mu + c))), Ld(inv + c)));
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 2 * NG; i++) { _mm512_storeu_pd(sr + c0 + 8 * i, s[i]); _mm512_storeu_pd(srx + c0 + 8 * i, t[i]); }
}

}  // namespace

bool BnVectorised(size_t C) { return HasAvx512() && C > 0 && C % 16 == 0; }

// Channels in chunks of at most 64 (their sums in 16 registers), each chunk one pass over the rows.
void BnStatsRows(const float* x, size_t rows, size_t C, double* sum, double* sq) {
  for (size_t c0 = 0; c0 < C; c0 += 64) {
    switch ((C - c0 >= 64 ? 64 : C - c0) / 16) {
      case 1: StatsChunk<1>(x, rows, C, c0, sum, sq); break;
      case 2: StatsChunk<2>(x, rows, C, c0, sum, sq); break;
      case 3: StatsChunk<3>(x, rows, C, c0, sum, sq); break;
      default: StatsChunk<4>(x, rows, C, c0, sum, sq); break;
    }
  }
}

void BnGradStatsRows(const float* dy, const float* x, const float* y, size_t rows, size_t C, const double* mu, const double* inv, double* sr, double* srx) {
  for (size_t c0 = 0; c0 < C; c0 += 64) {
    switch ((C - c0 >= 64 ? 64 : C - c0) / 16) {
      case 1: GradStatsChunk<1>(dy, x, y, rows, C, c0, mu, inv, sr, srx); break;
      case 2: GradStatsChunk<2>(dy, x, y, rows, C, c0, mu, inv, sr, srx); break;
      case 3: GradStatsChunk<3>(dy, x, y, rows, C, c0, mu, inv, sr, srx); break;
      default: GradStatsChunk<4>(dy, x, y, rows, C, c0, mu, inv, sr, srx); break;
    }
  }
}

PERENNIAL_AVX512_EXACT void BnAffineReluRows(const float* x, size_t rows, size_t C, const double* a, const double* b, float* y) {
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < C; c += 16) {
      const size_t o = r * C + c;
      const __m512 v = _mm512_loadu_ps(x + o);
      const __m512d lo = _mm512_add_pd(_mm512_mul_pd(Lo(v), Ld(a + c)), Ld(b + c));
      const __m512d hi = _mm512_add_pd(_mm512_mul_pd(Hi(v), Ld(a + c + 8)), Ld(b + c + 8));
      _mm512_storeu_ps(y + o, Relu(Narrow(lo, hi)));
    }
  }
}

PERENNIAL_AVX512_EXACT void BnGradXRows(const float* dy, const float* x, const float* y, size_t rows, size_t C, const double* k, const double* mu,
                                 const double* inv, const double* m1, const double* m2, bool batchStats, float* dx) {
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < C; c += 16) {
      const size_t o = r * C + c;
      const __m512 m = Masked(_mm512_loadu_ps(dy + o), _mm512_loadu_ps(y + o));
      const __m512d rv[2] = {Lo(m), Hi(m)};
      __m512d out[2];
      if (batchStats) {
        const __m512 xv = _mm512_loadu_ps(x + o);
        const __m512d xd[2] = {Lo(xv), Hi(xv)};
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
          const size_t j = c + 8 * h;
          // k (r - m1 - (x - mu) inv m2), each operation in the scalar loop's order.
          const __m512d t = _mm512_mul_pd(_mm512_mul_pd(_mm512_sub_pd(xd[h], Ld(mu + j)), Ld(inv + j)), Ld(m2 + j));
          out[h] = _mm512_mul_pd(Ld(k + j), _mm512_sub_pd(_mm512_sub_pd(rv[h], Ld(m1 + j)), t));
        }
      } else {
        out[0] = _mm512_mul_pd(Ld(k + c), rv[0]);
        out[1] = _mm512_mul_pd(Ld(k + c + 8), rv[1]);
      }
      _mm512_storeu_ps(dx + o, Narrow(out[0], out[1]));
    }
  }
}

}  // namespace perennial
