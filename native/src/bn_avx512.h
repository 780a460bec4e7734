// The training batch norm + ReLU loops (kernels.cc) in AVX-512, for channel counts that are a
// multiple of 16: the same float64 operations in the same order per element (no fused
// multiply-adds) and the same per-channel sums in row order, so the values equal the scalar loops'
// bit for bit. Use SsfVectorised(C) (ssf_avx512.h) to ask whether they apply.
#pragma once

#include <cstddef>

namespace perennial {

// An AVX-512 CPU and C a multiple of 16.
bool BnVectorised(size_t C);

// sum[c] += x, sq[c] += x^2 over the rows (float64, added to what the arrays hold).
void BnStatsRows(const float* x, size_t rows, size_t C, double* sum, double* sq);

// y = relu(float(x a[c] + b[c])).
void BnAffineReluRows(const float* x, size_t rows, size_t C, const double* a, const double* b, float* y);

// r = dy where y > 0 (else +0); sr[c] += r, srx[c] += r (x - mu) inv.
void BnGradStatsRows(const float* dy, const float* x, const float* y, size_t rows, size_t C, const double* mu, const double* inv, double* sr, double* srx);

// batchStats: dx = float(k (r - m1 - (x - mu) inv m2)); otherwise dx = float(k r).
void BnGradXRows(const float* dy, const float* x, const float* y, size_t rows, size_t C, const double* k, const double* mu, const double* inv,
                 const double* m1, const double* m2, bool batchStats, float* dx);

}  // namespace perennial
