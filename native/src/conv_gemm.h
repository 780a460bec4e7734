// One-thread float32 products for the convolution blocks (kernels.cc convBlocks): a block's im2col
// rows against a small kernel matrix (a patch of at most a few hundred values, at most a few hundred
// output channels). The distribution's OpenBLAS is built for Haswell (AVX2) and picks that kernel on
// CPUs it does not know, so on AVX-512 machines it leaves half of each vector unit idle; these use
// AVX-512 where the CPU has it (checked at run time) and fall back to cblas_sgemm elsewhere.
#pragma once

namespace perennial {

// Sizes of one convolution, rows of images with the channel axis last.
struct ConvShape {
  long long n, h, w, cin, kh, kw, stride, pad, ho, wo, cout;
};

// Whether the AVX-512 kernels run on this CPU.
bool ConvGemmVectorised();

// C[m x n] = A[m x k] B, row-major with leading dimensions lda, ldc. B is [k x n] row-major (ldb)
// when bTrans is false and [n x k] row-major (ldb), read transposed, when it is true. On the AVX-512
// route every output is one sum over p = 0..k-1 in order, a fused multiply-add per term, so the
// values do not depend on m, the block size or the thread.
void SmallSgemm(bool bTrans, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);

// Whether ConvForward applies and pays: AVX-512, at most 8 kernel rows, and kernel rows of fewer
// than 16 values (kw cin), where the explicit rows are made of copies too short to run at memory
// speed (3x3, one channel: the explicit route took 0.88 ms at batch 48, this one 0.37). From 16
// values up the explicit rows were as fast or faster (3x3 from 16 channels, stride 2: 0.96 against 1.00 ms).
bool ConvForwardFits(const ConvShape& s);

// y [n, ho, wo, cout] = im2col(x) w, w being [K x cout] (K = kh kw cin), without the im2col rows:
// each tile of outputs reads its patches straight from a zero-padded copy of x, kernel row by kernel
// row: each output is the same ordered sum as SmallSgemm over the explicit row, zeros included.
void ConvForward(const float* x, const ConvShape& s, const float* w, float* y);

// d[i] += o[i] for i < n, in AVX-512 registers where the CPU has them (the compiler does not
// vectorise the loop at -O2: its length is known only at run time and d and o may overlap).
void AddTo(float* d, const float* o, long long n);

}  // namespace perennial
