// Large float32 products on the addon's own AVX-512 kernel. The distribution's OpenBLAS (0.3.21,
// DYNAMIC_ARCH) runs its Haswell (AVX2) kernel on CPUs it does not know, which on an AVX-512 CPU
// leaves half of each vector unit idle; numpy, linked to the same library, does the same.
#pragma once

namespace perennial {

// Which kernel takes products of at least 2^27 multiply-adds: kAuto (the default) picks the addon's
// own on AVX-512 CPUs where OpenBLAS runs no AVX-512 kernel of its own, OpenBLAS elsewhere; kOwn and
// kOpenblas force one (tests and benchmarks; kOwn still needs AVX-512).
enum class SgemmKernel { kAuto, kOwn, kOpenblas };
void SetSgemmKernel(SgemmKernel k);
// Whether the CPU can run the addon's kernel at all (AVX-512).
bool OwnSgemmAvailable();
// Whether large products go to the addon's kernel under the current setting.
bool OwnSgemmForLarge();

// Whether Sgemm runs the addon's kernel for this product (OwnSgemmForLarge, at least 2^27
// multiply-adds); otherwise it calls cblas_sgemm.
bool OwnSgemm(long long m, long long n, long long k);

// C = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm (C is not read when beta is 0). On the
// addon's kernel the work is split by rows of C among as many workers as OpenBLAS has threads; each
// element is computed by one worker in an order fixed by the sizes alone, so the values do not
// depend on the thread count.
void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace perennial
