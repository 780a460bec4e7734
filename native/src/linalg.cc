// perennial_linalg: dense linear algebra over the system's OpenBLAS (CBLAS + LAPACK).
//
// makeLinalg() returns { name: 'openblas', gemm, syrk, eigh, cholesky, choleskySolve } working on
// row-major matrices { rows, cols, data: Float32Array | Float64Array }. Inputs are read in place
// (zero copy); LAPACK routines that overwrite their input work on a copy (up to 8 MiB in a
// per-thread buffer that is reused, so a small call allocates nothing but its result). LAPACK is column-major: a
// row-major symmetric matrix read as column-major is its transpose, i.e. the same matrix. eigh
// copies the lower triangle transposed and uses 'L'; so does Cholesky (see "Cholesky layout").
// The *Into / *InPlace entries (gemmInto, syrkInto, choleskyInPlace, choleskySolveInPlace) write
// into caller-owned typed arrays and allocate nothing: for loops of small problems, where
// allocating and zeroing p x p results costs as much as the BLAS call itself. Results are converted
// back to row-major explicitly.
//
// sgemmBatch(...) multiplies batches of float32 matrices given as typed-array views (for example
// views of the tfjs wasm heap) with element strides, stride 0 meaning "broadcast this operand".
//
// Errors are thrown as JS Errors; src/core/linalg/native.ts maps them onto perennial's error types.
// Nothing here reads or sets OPENBLAS_* environment variables.
#include <napi.h>

#include "sgemm.h"
#include <cblas.h>

#include <sys/mman.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern "C" {
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info);
}

namespace {

enum class DType { F32, F64 };

struct Mat {
  int rows = 0;
  int cols = 0;
  DType dtype = DType::F64;
  void* data = nullptr;
};

Napi::Value Throw(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool ReadDim(const Napi::Object& o, const char* key, int* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 2147483647.0) return false;
  *out = static_cast<int>(d);
  return true;
}

// Reads a Matrix object; on failure throws a JS error and returns false.
bool ReadMat(Napi::Env env, const Napi::Value& v, const char* what, Mat* m) {
  if (!v.IsObject()) {
    Throw(env, std::string(what) + ": expected a matrix object {rows, cols, data}");
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  if (!ReadDim(o, "rows", &m->rows) || !ReadDim(o, "cols", &m->cols)) {
    Throw(env, std::string(what) + ": rows and cols must be non-negative integers");
    return false;
  }
  Napi::Value d = o.Get("data");
  if (!d.IsTypedArray()) {
    Throw(env, std::string(what) + ": data must be a Float32Array or Float64Array");
    return false;
  }
  Napi::TypedArray ta = d.As<Napi::TypedArray>();
  size_t len = ta.ElementLength();
  if (ta.TypedArrayType() == napi_float32_array) {
    m->dtype = DType::F32;
    m->data = ta.As<Napi::Float32Array>().Data();
  } else if (ta.TypedArrayType() == napi_float64_array) {
    m->dtype = DType::F64;
    m->data = ta.As<Napi::Float64Array>().Data();
  } else {
    Throw(env, std::string(what) + ": data must be a Float32Array or Float64Array");
    return false;
  }
  if (len != static_cast<size_t>(m->rows) * static_cast<size_t>(m->cols)) {
    Throw(env, std::string(what) + ": data has " + std::to_string(len) + " values, expected " +
                   std::to_string(m->rows) + "x" + std::to_string(m->cols));
    return false;
  }
  return true;
}

// Results live in V8-owned ArrayBuffers. An external buffer with a finalizer would be freed only
// when the event loop turns (Node defers addon finalizers), so a synchronous loop of calls kept
// every large result alive until it yielded. For large results the 2 MiB-aligned interior of the
// buffer is advised for transparent huge pages (as numpy does for its arrays): the allocator's
// large blocks are fresh, untouched mappings, so the advice takes effect on first write and BLAS
// sees fewer TLB misses writing the result and reading it again.
constexpr size_t kHugeMin = size_t(1) << 21;

void AdviseHuge(void* p, size_t bytes) {
  if (bytes < 2 * kHugeMin) return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (begin + kHugeMin - 1) & ~(kHugeMin - 1);
  const uintptr_t last = (begin + bytes) & ~(kHugeMin - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

template <typename TA, typename T>
TA NewArray(Napi::Env env, size_t count) {
  TA arr = TA::New(env, count);
  AdviseHuge(arr.Data(), count * sizeof(T));
  return arr;
}

Napi::Object MakeMatrix(Napi::Env env, int rows, int cols, Napi::Value data) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rows", Napi::Number::New(env, rows));
  o.Set("cols", Napi::Number::New(env, cols));
  o.Set("data", data);
  return o;
}

bool OptBool(const Napi::Value& opts, const char* key, bool dflt) {
  if (!opts.IsObject()) return dflt;
  Napi::Value v = opts.As<Napi::Object>().Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

double OptNumber(const Napi::Value& opts, const char* key, double dflt) {
  if (!opts.IsObject()) return dflt;
  Napi::Value v = opts.As<Napi::Object>().Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
}

// C = alpha * op(A) op(B)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a, b;
  if (!ReadMat(env, info[0], "gemm A", &a) || !ReadMat(env, info[1], "gemm B", &b)) return env.Undefined();
  if (a.dtype != b.dtype) return Throw(env, "gemm: A and B must have the same dtype");
  const bool ta = OptBool(info[2], "transA", false);
  const bool tb = OptBool(info[2], "transB", false);
  const double alpha = OptNumber(info[2], "alpha", 1.0);
  const int m = ta ? a.cols : a.rows;
  const int k = ta ? a.rows : a.cols;
  const int kb = tb ? b.cols : b.rows;
  const int n = tb ? b.rows : b.cols;
  if (k != kb) {
    return Throw(env, "gemm: inner dimensions differ (" + std::to_string(m) + "x" + std::to_string(k) + " times " +
                          std::to_string(kb) + "x" + std::to_string(n) + ")");
  }
  const size_t size = static_cast<size_t>(m) * static_cast<size_t>(n);
  const CBLAS_TRANSPOSE opA = ta ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE opB = tb ? CblasTrans : CblasNoTrans;
  const int lda = std::max(1, a.cols), ldb = std::max(1, b.cols), ldc = std::max(1, n);
  if (a.dtype == DType::F32) {
    Napi::Float32Array c = NewArray<Napi::Float32Array, float>(env, size);
    if (m > 0 && n > 0 && k > 0) {
      perennial::Sgemm(ta, tb, m, n, k, static_cast<float>(alpha), static_cast<const float*>(a.data), lda,
                       static_cast<const float*>(b.data), ldb, 0.0f, c.Data(), ldc);
    }
    return MakeMatrix(env, m, n, c);
  }
  Napi::Float64Array c = NewArray<Napi::Float64Array, double>(env, size);
  if (m > 0 && n > 0 && k > 0) {
    cblas_dgemm(CblasRowMajor, opA, opB, m, n, k, alpha, static_cast<const double*>(a.data), lda,
                static_cast<const double*>(b.data), ldb, 0.0, c.Data(), ldc);
  }
  return MakeMatrix(env, m, n, c);
}

// Copies the upper triangle onto the lower one, in square tiles so both the rows read and the
// columns written stay in cache.
template <typename T>
void MirrorUpper(T* c, int d) {
  constexpr int kTile = 32;
  for (int i0 = 0; i0 < d; i0 += kTile) {
    const int i1 = std::min(d, i0 + kTile);
    for (int j0 = i0; j0 < d; j0 += kTile) {
      const int j1 = std::min(d, j0 + kTile);
      for (int i = i0; i < i1; i++) {
        const T* row = c + static_cast<size_t>(i) * d;
        for (int j = std::max(j0, i + 1); j < j1; j++) c[static_cast<size_t>(j) * d + i] = row[j];
      }
    }
  }
}

// Working memory for LAPACK's copies. Up to kKeep doubles (8 MiB, a 1024 x 1024 factor) it is a
// per-thread buffer that grows and is kept, so small repeated calls allocate nothing; larger requests
// get their own allocation, freed with the Work (their O(n^3) cost dwarfs the allocation, and a
// kept buffer would hold that memory for the life of the thread). Not zeroed.
constexpr size_t kKeep = size_t(1) << 20;

class Work {
 public:
  explicit Work(size_t count) {
    if (count > kKeep) {
      // Above the heap's limit this is a fresh mapping: huge pages fault it in 512 times faster.
      own_.reset(new double[count]);
      p_ = own_.get();
      AdviseHuge(p_, count * sizeof(double));
      return;
    }
    thread_local std::unique_ptr<double[]> buf;
    thread_local size_t cap = 0;
    if (count > cap) {
      buf.reset(new double[count]);
      cap = count;
    }
    p_ = buf.get();
  }
  double* get() const { return p_; }

 private:
  std::unique_ptr<double[]> own_;
  double* p_ = nullptr;
};

// C = A^T A, both triangles.
Napi::Value Syrk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a;
  if (!ReadMat(env, info[0], "syrk A", &a)) return env.Undefined();
  const int n = a.rows, d = a.cols;
  const size_t size = static_cast<size_t>(d) * static_cast<size_t>(d);
  const int ld = std::max(1, d);
  if (a.dtype == DType::F32) {
    Napi::Float32Array c = NewArray<Napi::Float32Array, float>(env, size);
    if (n > 0 && d > 0) {
      cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0f, static_cast<const float*>(a.data), ld, 0.0f,
                  c.Data(), ld);
      MirrorUpper(c.Data(), d);
    }
    return MakeMatrix(env, d, d, c);
  }
  Napi::Float64Array c = NewArray<Napi::Float64Array, double>(env, size);
  if (n > 0 && d > 0) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0, static_cast<const double*>(a.data), ld, 0.0,
                c.Data(), ld);
    MirrorUpper(c.Data(), d);
  }
  return MakeMatrix(env, d, d, c);
}

bool ReadSquare64(Napi::Env env, const Napi::Value& v, const char* what, Mat* m) {
  if (!ReadMat(env, v, what, m)) return false;
  if (m->dtype != DType::F64) {
    Throw(env, std::string(what) + ": needs a Float64Array matrix");
    return false;
  }
  if (m->rows != m->cols) {
    Throw(env, std::string(what) + " needs a square matrix, got " + std::to_string(m->rows) + "x" +
                   std::to_string(m->cols));
    return false;
  }
  return true;
}

// Symmetric eigendecomposition (dsyevd), lower triangle of the row-major input.
Napi::Value Eigh(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a;
  if (!ReadSquare64(env, info[0], "eigh", &a)) return env.Undefined();
  const bool vectors = OptBool(info[1], "vectors", false);
  const int n = a.rows;
  const size_t nn = static_cast<size_t>(n) * static_cast<size_t>(n);
  Napi::Float64Array values = Napi::Float64Array::New(env, n);
  Napi::Object out = Napi::Object::New(env);
  out.Set("values", values);
  if (n == 0) {
    if (vectors) out.Set("vectors", MakeMatrix(env, 0, 0, Napi::Float64Array::New(env, 0)));
    return out;
  }
  // Transposed copy: the column-major lower triangle of w is the row-major lower triangle of A.
  // (The 'L' path of dsytrd is the one numpy takes and is the faster one here.)
  std::vector<double> w(nn);
  const double* ad = static_cast<const double*>(a.data);
  const char uplo = 'L';
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) w[static_cast<size_t>(j) * n + i] = ad[static_cast<size_t>(i) * n + j];
  const char jobz = vectors ? 'V' : 'N';
  int lwork = -1, liwork = -1, info_ = 0;
  double wq = 0;
  int iwq = 0;
  dsyevd_(&jobz, &uplo, &n, w.data(), &n, values.Data(), &wq, &lwork, &iwq, &liwork, &info_);
  if (info_ != 0) return Throw(env, "eigh: dsyevd workspace query failed (info " + std::to_string(info_) + ")");
  lwork = static_cast<int>(wq);
  liwork = std::max(1, iwq);
  std::vector<double> work(std::max(1, lwork));
  std::vector<int> iwork(liwork);
  dsyevd_(&jobz, &uplo, &n, w.data(), &n, values.Data(), work.data(), &lwork, iwork.data(), &liwork, &info_);
  if (info_ < 0) return Throw(env, "eigh: dsyevd argument " + std::to_string(-info_) + " was illegal");
  if (info_ > 0) return Throw(env, "eigh: dsyevd did not converge (info " + std::to_string(info_) + ")");
  if (vectors) {
    // Column-major eigenvector j occupies w[j*n .. j*n+n); row-major output wants it as column j.
    Napi::Float64Array vec = Napi::Float64Array::New(env, nn);
    double* v = vec.Data();
    for (int j = 0; j < n; j++)
      for (int i = 0; i < n; i++) v[static_cast<size_t>(i) * n + j] = w[static_cast<size_t>(j) * n + i];
    out.Set("vectors", MakeMatrix(env, n, n, vec));
  }
  return out;
}

// Cholesky layout. LAPACK is column-major; a row-major buffer read column-major is the transpose.
// perennial's contract reads the row-major lower triangle of A (as the TypeScript backend does) and
// returns the row-major lower L. Reading the row-major lower triangle directly means dpotrf 'U',
// which in OpenBLAS 0.3.21 is about 1.5x slower at n = 200 than 'L' (the path scipy takes). So the
// lower triangle is first transposed into the upper one (the row-major upper triangle is the
// column-major lower one), dpotrf/dpotrs run 'L', and the factor, which then sits transposed in the
// row-major upper triangle, is transposed back when L itself is wanted.

// dst's upper triangle (with the diagonal) <- the transpose of src's lower triangle. src == dst is
// allowed (only src's lower triangle is read, only dst's upper triangle is written). Tiled.
void LowerToUpper(const double* src, double* dst, int n) {
  constexpr int kTile = 32;
  for (int j0 = 0; j0 < n; j0 += kTile) {
    const int j1 = std::min(n, j0 + kTile);
    for (int i0 = 0; i0 <= j0; i0 += kTile) {
      const int i1 = std::min(n, i0 + kTile);
      for (int j = j0; j < j1; j++) {
        const double* row = src + static_cast<size_t>(j) * n;
        const int iend = std::min(i1, j + 1);
        for (int i = i0; i < iend; i++) dst[static_cast<size_t>(i) * n + j] = row[i];
      }
    }
  }
}

// Factor in place the matrix whose row-major upper triangle holds A (see above): on success that
// triangle holds L^T.
bool FactorUpper(Napi::Env env, int n, double* u, const char* what) {
  if (n == 0) return true;
  const char uplo = 'L';
  int info_ = 0;
  dpotrf_(&uplo, &n, u, &n, &info_);
  if (info_ > 0) {
    Throw(env, std::string(what) + ": matrix is not positive definite (leading minor " + std::to_string(info_) + ")");
    return false;
  }
  if (info_ < 0) {
    Throw(env, std::string(what) + ": dpotrf argument " + std::to_string(-info_) + " was illegal");
    return false;
  }
  return true;
}

void ZeroStrictUpper(double* l, int n) {
  for (int i = 0; i + 1 < n; i++) std::fill(l + static_cast<size_t>(i) * n + i + 1, l + static_cast<size_t>(i + 1) * n, 0.0);
}

// dst's lower triangle (with the diagonal) <- the transpose of src's upper triangle; dst's strict
// upper triangle is left alone. src != dst. Tiled.
void UpperToLowerInto(const double* src, double* dst, int n) {
  constexpr int kTile = 32;
  for (int i0 = 0; i0 < n; i0 += kTile) {
    const int i1 = std::min(n, i0 + kTile);
    for (int j0 = 0; j0 <= i0; j0 += kTile) {
      const int j1 = std::min(n, j0 + kTile);
      for (int i = i0; i < i1; i++) {
        double* row = dst + static_cast<size_t>(i) * n;
        const int jend = std::min(j1, i + 1);
        for (int j = j0; j < jend; j++) row[j] = src[static_cast<size_t>(j) * n + i];
      }
    }
  }
}

// After FactorUpper: row-major lower L, zeros above the diagonal.
void UpperFactorToLower(double* u, int n) {
  MirrorUpper(u, n);
  ZeroStrictUpper(u, n);
}

// Solves L L^T X = B in place for the factor left by FactorUpper at u and the row-major
// n x k right-hand side at b. LAPACK wants B column-major: k == 1 needs no transpose (and goes
// through dtrsv), otherwise it goes through `work` (n * k doubles from the caller).
bool SolveFactored(Napi::Env env, int n, int k, const double* u, double* b, double* work, const char* what) {
  const size_t nk = static_cast<size_t>(n) * static_cast<size_t>(k);
  if (nk == 0) return true;
  if (k == 1) {
    // One right-hand side: two triangular solves (dtrsv) cost less than dpotrs's dtrsm calls.
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, n, u, n, b, 1);
    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, n, u, n, b, 1);
    return true;
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) work[static_cast<size_t>(j) * n + i] = b[static_cast<size_t>(i) * k + j];
  const char uplo = 'L';
  int info_ = 0;
  dpotrs_(&uplo, &n, &k, u, &n, work, &n, &info_);
  if (info_ != 0) {
    Throw(env, std::string(what) + ": dpotrs failed (info " + std::to_string(info_) + ")");
    return false;
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) b[static_cast<size_t>(i) * k + j] = work[static_cast<size_t>(j) * n + i];
  return true;
}

Napi::Value Cholesky(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a;
  if (!ReadSquare64(env, info[0], "cholesky", &a)) return env.Undefined();
  const int n = a.rows;
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(n) * n);
  if (n > 512) {
    // Large: factor the result in place with 'U' (reads the row-major lower triangle directly). The
    // 'L' path would need an n x n working copy and two transposing passes; at n = 2048 that
    // measured 108 vs 95 ms CPU (at n = 200 'L' wins: 122 vs 180 us for dpotrf alone).
    double* l = out.Data();
    std::memcpy(l, a.data, static_cast<size_t>(n) * n * sizeof(double));
    const char uplo = 'U';
    int info_ = 0;
    dpotrf_(&uplo, &n, l, &n, &info_);
    if (info_ > 0)
      return Throw(env, "cholesky: matrix is not positive definite (leading minor " + std::to_string(info_) + ")");
    if (info_ < 0) return Throw(env, "cholesky: dpotrf argument " + std::to_string(-info_) + " was illegal");
    ZeroStrictUpper(l, n);
    return MakeMatrix(env, n, n, out);
  }
  // Factor in working memory, then one transposing pass into the (zeroed) result's lower triangle.
  Work w(static_cast<size_t>(n) * n);
  double* u = w.get();
  LowerToUpper(static_cast<const double*>(a.data), u, n);
  if (!FactorUpper(env, n, u, "cholesky")) return env.Undefined();
  UpperToLowerInto(u, out.Data(), n);
  return MakeMatrix(env, n, n, out);
}

// X with A X = B (dpotrf + dpotrs); B is n x k row-major. A is factored in working memory (Work).
Napi::Value CholeskySolve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a, b;
  if (!ReadSquare64(env, info[0], "choleskySolve", &a) || !ReadMat(env, info[1], "choleskySolve B", &b))
    return env.Undefined();
  if (b.dtype != DType::F64) return Throw(env, "choleskySolve: right-hand side must be a Float64Array matrix");
  const int n = a.rows, k = b.cols;
  if (b.rows != n)
    return Throw(env, "choleskySolve: right-hand side has " + std::to_string(b.rows) + " rows, expected " +
                          std::to_string(n));
  const size_t nn = static_cast<size_t>(n) * n;
  const size_t nk = static_cast<size_t>(n) * static_cast<size_t>(k);
  // One request for the factor and (k > 1) the column-major right-hand side after it.
  Work w(nn + (k != 1 ? nk : 0));
  double* u = w.get();
  LowerToUpper(static_cast<const double*>(a.data), u, n);
  if (!FactorUpper(env, n, u, "choleskySolve")) return env.Undefined();
  Napi::Float64Array x = Napi::Float64Array::New(env, nk);
  if (nk == 0) return MakeMatrix(env, n, k, x);
  std::memcpy(x.Data(), b.data, nk * sizeof(double));
  if (!SolveFactored(env, n, k, u, x.Data(), u + nn, "choleskySolve")) return env.Undefined();
  return MakeMatrix(env, n, k, x);
}

// choleskyInPlace(A): A <- L (lower triangle, strict upper zeroed). Returns nothing.
Napi::Value CholeskyInPlace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a;
  if (!ReadSquare64(env, info[0], "choleskyInPlace", &a)) return env.Undefined();
  double* l = static_cast<double*>(a.data);
  LowerToUpper(l, l, a.rows);
  if (!FactorUpper(env, a.rows, l, "choleskyInPlace")) return env.Undefined();
  UpperFactorToLower(l, a.rows);
  return env.Undefined();
}

// choleskySolveInPlace(A, B): A <- L (as choleskyInPlace), B <- A^{-1} B. Returns nothing.
Napi::Value CholeskySolveInPlace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a, b;
  if (!ReadSquare64(env, info[0], "choleskySolveInPlace", &a) || !ReadMat(env, info[1], "choleskySolveInPlace B", &b))
    return env.Undefined();
  if (b.dtype != DType::F64) return Throw(env, "choleskySolveInPlace: right-hand side must be a Float64Array matrix");
  if (b.rows != a.rows)
    return Throw(env, "choleskySolveInPlace: right-hand side has " + std::to_string(b.rows) + " rows, expected " +
                          std::to_string(a.rows));
  double* l = static_cast<double*>(a.data);
  LowerToUpper(l, l, a.rows);
  if (!FactorUpper(env, a.rows, l, "choleskySolveInPlace")) return env.Undefined();
  Work w(b.cols != 1 ? static_cast<size_t>(a.rows) * static_cast<size_t>(b.cols) : 0);
  if (!SolveFactored(env, a.rows, b.cols, l, static_cast<double*>(b.data), w.get(), "choleskySolveInPlace"))
    return env.Undefined();
  UpperFactorToLower(l, a.rows);
  return env.Undefined();
}

// gemmInto(A, B, C, {transA, transB, alpha, beta}): C <- alpha op(A) op(B) + beta C, C already sized
// m x n with A's dtype. Shapes and aliasing are checked by the caller (native.ts) and again here.
Napi::Value GemmInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a, b, c;
  if (!ReadMat(env, info[0], "gemmInto A", &a) || !ReadMat(env, info[1], "gemmInto B", &b) ||
      !ReadMat(env, info[2], "gemmInto C", &c))
    return env.Undefined();
  if (a.dtype != b.dtype || a.dtype != c.dtype) return Throw(env, "gemmInto: A, B and C must have the same dtype");
  const bool ta = OptBool(info[3], "transA", false);
  const bool tb = OptBool(info[3], "transB", false);
  const double alpha = OptNumber(info[3], "alpha", 1.0);
  const double beta = OptNumber(info[3], "beta", 0.0);
  const int m = ta ? a.cols : a.rows;
  const int k = ta ? a.rows : a.cols;
  const int kb = tb ? b.cols : b.rows;
  const int n = tb ? b.rows : b.cols;
  if (k != kb || c.rows != m || c.cols != n) return Throw(env, "gemmInto: shapes do not agree");
  if (m == 0 || n == 0) return env.Undefined();
  const CBLAS_TRANSPOSE opA = ta ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE opB = tb ? CblasTrans : CblasNoTrans;
  const int lda = std::max(1, a.cols), ldb = std::max(1, b.cols), ldc = std::max(1, n);
  if (a.dtype == DType::F32) {
    float* cd = static_cast<float*>(c.data);
    if (k == 0) {
      for (size_t i = 0; i < static_cast<size_t>(m) * n; i++) cd[i] = beta == 0.0 ? 0.0f : static_cast<float>(beta) * cd[i];
    } else {
      perennial::Sgemm(ta, tb, m, n, k, static_cast<float>(alpha), static_cast<const float*>(a.data), lda,
                       static_cast<const float*>(b.data), ldb, static_cast<float>(beta), cd, ldc);
    }
    return env.Undefined();
  }
  double* cd = static_cast<double*>(c.data);
  if (k == 0) {
    for (size_t i = 0; i < static_cast<size_t>(m) * n; i++) cd[i] = beta == 0.0 ? 0.0 : beta * cd[i];
  } else {
    cblas_dgemm(CblasRowMajor, opA, opB, m, n, k, alpha, static_cast<const double*>(a.data), lda,
                static_cast<const double*>(b.data), ldb, beta, cd, ldc);
  }
  return env.Undefined();
}

// syrkInto(A, C, {outer, alpha, beta}): C <- alpha A^T A + beta C (outer: alpha A A^T + beta C), both
// triangles. With beta != 0 only C's upper triangle is read (C is meant to be symmetric).
Napi::Value SyrkInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat a, c;
  if (!ReadMat(env, info[0], "syrkInto A", &a) || !ReadMat(env, info[1], "syrkInto C", &c)) return env.Undefined();
  if (a.dtype != c.dtype) return Throw(env, "syrkInto: A and C must have the same dtype");
  const bool outer = OptBool(info[2], "outer", false);
  const double alpha = OptNumber(info[2], "alpha", 1.0);
  const double beta = OptNumber(info[2], "beta", 0.0);
  const int d = outer ? a.rows : a.cols;  // result size
  const int k = outer ? a.cols : a.rows;  // summed over
  if (c.rows != d || c.cols != d) return Throw(env, "syrkInto: C has the wrong shape");
  if (d == 0) return env.Undefined();
  const CBLAS_TRANSPOSE op = outer ? CblasNoTrans : CblasTrans;
  const int lda = std::max(1, a.cols), ldc = std::max(1, d);
  if (a.dtype == DType::F32) {
    float* cd = static_cast<float*>(c.data);
    if (k == 0) {
      for (size_t i = 0; i < static_cast<size_t>(d) * d; i++) cd[i] = beta == 0.0 ? 0.0f : static_cast<float>(beta) * cd[i];
    } else {
      cblas_ssyrk(CblasRowMajor, CblasUpper, op, d, k, static_cast<float>(alpha), static_cast<const float*>(a.data), lda,
                  static_cast<float>(beta), cd, ldc);
    }
    MirrorUpper(cd, d);
    return env.Undefined();
  }
  double* cd = static_cast<double*>(c.data);
  if (k == 0) {
    for (size_t i = 0; i < static_cast<size_t>(d) * d; i++) cd[i] = beta == 0.0 ? 0.0 : beta * cd[i];
  } else {
    cblas_dsyrk(CblasRowMajor, CblasUpper, op, d, k, alpha, static_cast<const double*>(a.data), lda, beta, cd, ldc);
  }
  MirrorUpper(cd, d);
  return env.Undefined();
}

bool ArgInt(const Napi::CallbackInfo& info, size_t i, long long* out) {
  if (!info[i].IsNumber()) return false;
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 9.0e15) return false;
  *out = static_cast<long long>(d);
  return true;
}

// sgemmBatch(transA, transB, batch, m, n, k, A, strideA, B, strideB, C, alpha?)
// For each b < batch: C[b] = alpha * op(A[b]) op(B[b]) with A[b] = A + b*strideA (elements), likewise B,
// and C[b] = C + b*m*n. op(A) is m x k (A stored k x m when transposed), op(B) is k x n. Row-major.
Napi::Value SgemmBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 11) return Throw(env, "sgemmBatch: expected 11 arguments");
  const bool ta = info[0].ToBoolean().Value();
  const bool tb = info[1].ToBoolean().Value();
  long long batch, m, n, k, sa, sb;
  if (!ArgInt(info, 2, &batch) || !ArgInt(info, 3, &m) || !ArgInt(info, 4, &n) || !ArgInt(info, 5, &k) ||
      !ArgInt(info, 7, &sa) || !ArgInt(info, 9, &sb))
    return Throw(env, "sgemmBatch: sizes and strides must be non-negative integers");
  if (m > 2147483647LL || n > 2147483647LL || k > 2147483647LL)
    return Throw(env, "sgemmBatch: matrix dimension too large");
  if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[8].IsTypedArray() || info[8].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[10].IsTypedArray() || info[10].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    return Throw(env, "sgemmBatch: A, B and C must be Float32Arrays");
  Napi::Float32Array A = info[6].As<Napi::Float32Array>();
  Napi::Float32Array B = info[8].As<Napi::Float32Array>();
  Napi::Float32Array C = info[10].As<Napi::Float32Array>();
  const float alpha = info.Length() > 11 && info[11].IsNumber() ? info[11].As<Napi::Number>().FloatValue() : 1.0f;
  const long long sizeA = m * k, sizeB = k * n, sizeC = m * n;
  if (batch == 0 || sizeC == 0) return env.Undefined();
  if (static_cast<long long>(A.ElementLength()) < (batch - 1) * sa + sizeA ||
      static_cast<long long>(B.ElementLength()) < (batch - 1) * sb + sizeB ||
      static_cast<long long>(C.ElementLength()) < batch * sizeC)
    return Throw(env, "sgemmBatch: an array is shorter than the batch needs");
  float* c = C.Data();
  if (k == 0) {
    std::fill(c, c + batch * sizeC, 0.0f);
    return env.Undefined();
  }
  const float* a = A.Data();
  const float* b = B.Data();
  const int lda = static_cast<int>(ta ? m : k), ldb = static_cast<int>(tb ? k : n);
  for (long long i = 0; i < batch; i++) {
    perennial::Sgemm(ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a + i * sa, std::max(1, lda),
                     b + i * sb, std::max(1, ldb), 0.0f, c + i * sizeC, static_cast<int>(std::max<long long>(1, n)));
  }
  return env.Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

// The thread count for later calls (benchmarks compare against a peer at equal thread counts; on a
// loaded machine small products run faster on one thread than on several).
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setThreads(n): n must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) {
    Napi::RangeError::New(env, "setThreads(n): n must be at least 1").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  openblas_set_num_threads(n);
  return Napi::Number::New(env, openblas_get_num_threads());
}

Napi::Value Config(const Napi::CallbackInfo& info) {
  const char* c = openblas_get_config();
  return Napi::String::New(info.Env(), c ? c : "");
}

Napi::Value MakeLinalg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, "openblas"));
  o.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  o.Set("syrk", Napi::Function::New(env, Syrk, "syrk"));
  o.Set("eigh", Napi::Function::New(env, Eigh, "eigh"));
  o.Set("cholesky", Napi::Function::New(env, Cholesky, "cholesky"));
  o.Set("choleskySolve", Napi::Function::New(env, CholeskySolve, "choleskySolve"));
  o.Set("gemmInto", Napi::Function::New(env, GemmInto, "gemmInto"));
  o.Set("syrkInto", Napi::Function::New(env, SyrkInto, "syrkInto"));
  o.Set("choleskyInPlace", Napi::Function::New(env, CholeskyInPlace, "choleskyInPlace"));
  o.Set("choleskySolveInPlace", Napi::Function::New(env, CholeskySolveInPlace, "choleskySolveInPlace"));
  return o;
}

}  // namespace

void RegisterKernels(Napi::Env env, Napi::Object exports);  // kernels.cc

namespace {

// glibc serves blocks above its mmap threshold with fresh mappings and gives freed heap tops back
// to the kernel, so a 4 MiB result of every GEMM 1024 was faulted in page by page (about 6 ms of
// an 11 ms product on a virtual machine). numpy's allocations stay below glibc's raised dynamic
// threshold and reuse their pages. Results up to 32 MiB now come from the heap, and up to
// 256 MiB of freed heap stays mapped for the next result. A user's own MALLOC_* or
// GLIBC_TUNABLES settings win.
const char* g_malloc = "glibc defaults";

void KeepLargeBlocksMapped() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") || (tunables && std::strstr(tunables, "glibc.malloc."))) {
    g_malloc = "the user's MALLOC_* / GLIBC_TUNABLES settings";
    return;
  }
  if (mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1) g_malloc = "mmap threshold 32 MiB, trim threshold 256 MiB";
}

Napi::Value Malloc(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), g_malloc); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  KeepLargeBlocksMapped();
  exports.Set("makeLinalg", Napi::Function::New(env, MakeLinalg, "makeLinalg"));
  exports.Set("sgemmBatch", Napi::Function::New(env, SgemmBatch, "sgemmBatch"));
  exports.Set("threads", Napi::Function::New(env, Threads, "threads"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("config", Napi::Function::New(env, Config, "config"));
  exports.Set("malloc", Napi::Function::New(env, Malloc, "malloc"));
  RegisterKernels(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(perennial_linalg, Init)
