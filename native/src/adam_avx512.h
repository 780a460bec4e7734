// tf.train.adam's float32 update (kernels.cc AdamTfjsLoop) in AVX-512, 16 parameters at a time: the
// same IEEE operations (products, sums, quotients and the square root each rounded once, no fused
// multiply-adds), so the result equals the scalar loop's bit for bit.
#pragma once

#include <cstddef>

namespace perennial {

// An AVX-512 CPU.
bool AdamVectorised();

// Parameters [0, n - n % 16) of the update; the caller runs the scalar loop over the rest.
void AdamRows(float* p, const float* g, float* m, float* s, size_t n, float b1, float a1, float b2, float a2, float om1, float om2,
              float negLr, float eps);

}  // namespace perennial
