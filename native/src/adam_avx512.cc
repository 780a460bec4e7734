#include "adam_avx512.h"

#include "avx512.h"

namespace perennial {

bool AdamVectorised() { return HasAvx512(); }

// m = m b1 + g a1; s = s b2 + (g g) a2; p = ((m / om1) / (sqrt(s / om2) + eps)) negLr + p.
PERENNIAL_AVX512_EXACT void AdamRows(float* p, const float* g, float* m, float* s, size_t n, float b1, float a1, float b2, float a2, float om1, float om2,
              float negLr, float eps) {
  const __m512 vb1 = _mm512_set1_ps(b1), va1 = _mm512_set1_ps(a1), vb2 = _mm512_set1_ps(b2), va2 = _mm512_set1_ps(a2);
  const __m512 vom1 = _mm512_set1_ps(om1), vom2 = _mm512_set1_ps(om2), vlr = _mm512_set1_ps(negLr), veps = _mm512_set1_ps(eps);
  for (size_t i = 0; i + 16 <= n; i += 16) {
    const __m512 gi = _mm512_loadu_ps(g + i);
    const __m512 mi = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(m + i), vb1), _mm512_mul_ps(gi, va1));
    const __m512 si = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(s + i), vb2), _mm512_mul_ps(_mm512_mul_ps(gi, gi), va2));
    _mm512_storeu_ps(m + i, mi);
    _mm512_storeu_ps(s + i, si);
    const __m512 bm = _mm512_div_ps(mi, vom1), bs = _mm512_div_ps(si, vom2);
    const __m512 step = _mm512_mul_ps(_mm512_div_ps(bm, _mm512_add_ps(_mm512_sqrt_ps(bs), veps)), vlr);
    _mm512_storeu_ps(p + i, _mm512_add_ps(step, _mm512_loadu_ps(p + i)));
  }
}

}  // namespace perennial
