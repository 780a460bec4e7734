#include "ssf_avx512.h"

#include "avx512.h"

namespace perennial {

namespace {

using avx512::Hi;
using avx512::Lo;
using avx512::Relu;

struct Group { __m512 m, r, g, b; };

PERENNIAL_AVX512_EXACT inline Group Load(const SsfParams& k, size_t c) {
  return {_mm512_loadu_ps(k.m + c), _mm512_loadu_ps(k.r + c), _mm512_loadu_ps(k.g + c), _mm512_loadu_ps(k.b + c)};
}

// ((x - m) r) g + b, each operation rounded.
PERENNIAL_AVX512_EXACT inline __m512 Pre(__m512 x, const Group& p) {
  return _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(x, p.m), p.r), p.g), p.b);
}

// NG groups of 16 channels from channel c0, rows [lo, hi): the 4 NG float64 accumulators live in
// registers for the whole range.
template <int NG>
PERENNIAL_AVX512_EXACT void StatsChunk(const float* dz, const float* x, size_t lo, size_t hi, size_t C, size_t c0, const SsfParams& k, double* ps, double* pt) {
  Group p[NG];
  __m512d s0[NG], s1[NG], t0[NG], t1[NG];
#pragma GCC unroll 4
  for (int q = 0; q < NG; q++) {
    p[q] = Load(k, c0 + 16 * q);
    s0[q] = s1[q] = t0[q] = t1[q] = _mm512_setzero_pd();
  }
  for (size_t r = lo; r < hi; r++) {
    const float* xr = x + r * C + c0;
    const float* dr = dz + r * C + c0;
#pragma GCC unroll 4
    for (int q = 0; q < NG; q++) {
      const __m512 d = _mm512_loadu_ps(dr + 16 * q);
      const __m512 y = Relu(Pre(_mm512_loadu_ps(xr + 16 * q), p[q]));
      const __m512 prod = _mm512_mul_ps(d, y);
      s0[q] = _mm512_add_pd(s0[q], Lo(prod));
      s1[q] = _mm512_add_pd(s1[q], Hi(prod));
      t0[q] = _mm512_add_pd(t0[q], Lo(d));
      t1[q] = _mm512_add_pd(t1[q], Hi(d));
    }
  }
#pragma GCC unroll 4
  for (int q = 0; q < NG; q++) {
    _mm512_storeu_pd(ps + c0 + 16 * q, s0[q]);
    _mm512_storeu_pd(ps + c0 + 16 * q + 8, s1[q]);
    _mm512_storeu_pd(pt + c0 + 16 * q, t0[q]);
    _mm512_storeu_pd(pt + c0 + 16 * q + 8, t1[q]);
  }
}

}  // namespace

bool SsfVectorised(size_t C) { return HasAvx512() && C > 0 && C % 16 == 0; }

// Rows outside, channels inside: each row is read once; the parameters come from L1.
PERENNIAL_AVX512_EXACT void SsfForwardRows(const float* x, float* z, size_t lo, size_t hi, size_t C, const SsfParams& k) {
  for (size_t r = lo; r < hi; r++) {
    for (size_t c = 0; c < C; c += 16) {
      const size_t o = r * C + c;
      const __m512 y = Relu(Pre(_mm512_loadu_ps(x + o), Load(k, c)));
      _mm512_storeu_ps(z + o, _mm512_add_ps(_mm512_mul_ps(y, _mm512_loadu_ps(k.s + c)), _mm512_loadu_ps(k.t + c)));
    }
  }
}

void SsfStatsRows(const float* dz, const float* x, size_t lo, size_t hi, size_t C, const SsfParams& k, double* ps, double* pt) {
  // Channels in chunks of at most 64 (16 accumulators), each chunk one pass over the rows.
  for (size_t c0 = 0; c0 < C; c0 += 64) {
    switch ((C - c0 >= 64 ? 64 : C - c0) / 16) {
      case 1: StatsChunk<1>(dz, x, lo, hi, C, c0, k, ps, pt); break;
      case 2: StatsChunk<2>(dz, x, lo, hi, C, c0, k, ps, pt); break;
      case 3: StatsChunk<3>(dz, x, lo, hi, C, c0, k, ps, pt); break;
      default: StatsChunk<4>(dz, x, lo, hi, C, c0, k, ps, pt); break;
    }
  }
}

PERENNIAL_AVX512_EXACT void SsfGradXRows(const float* dz, const float* x, float* dx, size_t lo, size_t hi, size_t C, const SsfParams& k) {
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  for (size_t r = lo; r < hi; r++) {
    for (size_t c = 0; c < C; c += 16) {
      const size_t o = r * C + c;
      const Group p = Load(k, c);
      const __m512i pre = _mm512_castps_si512(Pre(_mm512_loadu_ps(x + o), p));
      const __m512i q0 = _mm512_castps_si512(_mm512_mul_ps(_mm512_loadu_ps(dz + o), _mm512_loadu_ps(k.s + c)));
      // Kept where the pre-activation's bits, read as a signed integer, are > 0; else only the sign.
      const __mmask16 keep = _mm512_cmpgt_epi32_mask(pre, _mm512_setzero_si512());
      const __m512 q = _mm512_castsi512_ps(_mm512_mask_blend_epi32(keep, _mm512_and_si512(q0, sign), q0));
      _mm512_storeu_ps(dx + o, _mm512_mul_ps(_mm512_mul_ps(q, p.g), p.r));
    }
  }
}

}  // namespace perennial
