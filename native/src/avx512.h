// What the AVX-512 channel and optimiser loops share (ssf_avx512.cc, bn_avx512.cc, adam_avx512.cc):
// the CPU check, and helpers compiled for AVX-512 with fp-contract off, so that a product and a sum
// stay two roundings as in the scalar loops they replace.
#pragma once

#include <immintrin.h>

#define PERENNIAL_AVX512_EXACT __attribute__((target("avx512f"), optimize("fp-contract=off")))

namespace perennial {

inline bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

namespace avx512 {

// The low and high 8 floats of v as doubles.
PERENNIAL_AVX512_EXACT inline __m512d Lo(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
PERENNIAL_AVX512_EXACT inline __m512d Hi(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// max(0, v) as the scalar loops take it: negative numbers (sign bit set, -0 included) become +0.
PERENNIAL_AVX512_EXACT inline __m512 Relu(__m512 v) {
  const __m512i b = _mm512_castps_si512(v);
  return _mm512_castsi512_ps(_mm512_andnot_si512(_mm512_srai_epi32(b, 31), b));
}

}  // namespace avx512
}  // namespace perennial
