// The frozen batch norm + ReLU + SSF loops (kernels.cc) in AVX-512, for channel counts that are a
// multiple of 16: the same float32 operations in the same order per element (no fused multiply-adds)
// and the same float64 sums per channel in row order, so the values equal the scalar loops' bit for
// bit. The accumulators of up to 64 channels stay in registers across the rows.
#pragma once

#include <cstddef>

namespace perennial {

struct SsfParams { const float *m, *r, *g, *b, *s, *t; };

// An AVX-512 CPU and C a multiple of 16.
bool SsfVectorised(size_t C);

// z = relu(((x - m) r) g + b) s + t for rows [lo, hi) of C channels.
void SsfForwardRows(const float* x, float* z, size_t lo, size_t hi, size_t C, const SsfParams& k);

// ps[c] = sum dz y (each product rounded to float32), pt[c] = sum dz over rows [lo, hi), in row
// order, from +0 (float64; overwritten).
void SsfStatsRows(const float* dz, const float* x, size_t lo, size_t hi, size_t C, const SsfParams& k, double* ps, double* pt);

// dx = ((q g) r), q = dz s where the pre-activation is > 0, else a zero with the sign of dz s.
void SsfGradXRows(const float* dz, const float* x, float* dx, size_t lo, size_t hi, size_t C, const SsfParams& k);

}  // namespace perennial
