// GEMM micro-kernels, compiled once per ISA (generic / AVX2+FMA / AVX-512), and the entry
// points gemm_f32/gemm_f64 (and gemm_bf16_widen/gemm_f16_widen: 16-bit operands widened while
// packing) that run the packed driver (gemm_packed.h) with this ISA's kernels.
//
// Micro-kernel contract: c[MR x NR] (row stride rsc, unit column stride) =
//     alpha * sum_k a[k*MR + i] * b[k*NR + j] + beta * c      (beta == 0: c is not read)
// a and b are packed panels, 64-byte aligned. The C tile lives in registers for all of kc.
#include "cpu/gemm_kernels.h"

#include "cpu/gemm_packed.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace pe::cpu::PE_ISA_NS {
namespace {

// Every kernel has the full MR x NR tile and smaller variants tile<R, C>() (R <= MR rows,
// C <= NR columns) that the driver runs on the bottom and right edges of C, so a 4-row
// remainder does not pay for 12 rows. The packed panels keep their MR / NR layout; a variant
// just reads fewer of their rows and columns. Every C element is summed over k in the same
// order whichever variant computes it, so results do not depend on where a tile falls.

// Portable kernel: plain loops over a small tile that the compiler keeps in vector registers.
template <class T, int MR_, int NR_>
struct PortableKernel {
  static constexpr int MR = MR_, NR = NR_;
  template <int R, int C>
  static void tile(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t rsc, T alpha, T beta) {
    T acc[R][C] = {};
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < C; ++j) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j) c[i * rsc + j] = gemm_detail::blend(acc[i][j], alpha, beta, c[i * rsc + j]);
  }
};

#if defined(__AVX512F__) || defined(__AVX2__)
// One vector register type and the handful of intrinsics the kernel needs.
#if defined(__AVX512F__)
struct VecF32 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_load_ps(p); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V mul(V x, V y) { return _mm512_mul_ps(x, y); }
  static V fmadd(V x, V y, V z) { return _mm512_fmadd_ps(x, y, z); }
};
struct VecF64 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V mul(V x, V y) { return _mm512_mul_pd(x, y); }
  static V fmadd(V x, V y, V z) { return _mm512_fmadd_pd(x, y, z); }
};
#else
struct VecF32 {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_load_ps(p); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V mul(V x, V y) { return _mm256_mul_ps(x, y); }
  static V fmadd(V x, V y, V z) { return _mm256_fmadd_ps(x, y, z); }
};
struct VecF64 {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_load_pd(p); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V mul(V x, V y) { return _mm256_mul_pd(x, y); }
  static V fmadd(V x, V y, V z) { return _mm256_fmadd_pd(x, y, z); }
};
#endif

// MR rows x 2 vectors: 2*MR accumulators, 2 loads of B and MR broadcasts of A per k. AVX-512
// has 32 registers: MR = 12 keeps 24 accumulators + 2 B vectors + a broadcast; AVX2 has 16:
// MR = 6 (12 + 2 + 1).
template <class Vec, int MR_>
struct VecKernel {
  using T = typename Vec::T;
  using V = typename Vec::V;
  static constexpr int W = Vec::W;
  static constexpr int MR = MR_, NR = 2 * W;

  template <int R, int C>
  static void tile(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t rsc, T alpha, T beta) {
    static_assert(R <= MR && C % W == 0 && C <= NR, "a tile variant fits in the packed panels");
    constexpr int CV = C / W;  // vectors per row
    V acc[R][CV];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
      for (int j = 0; j < CV; ++j) acc[i][j] = Vec::zero();
    // The C tile is read (beta != 0) and written only after the k loop; its rows lie far
    // apart, beyond the hardware prefetchers' reach, so ask for them before the loop starts.
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc + C - 1), _MM_HINT_T0);
    }
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
      V bv[CV];
#pragma GCC unroll 2
      for (int j = 0; j < CV; ++j) bv[j] = Vec::load(b + j * W);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const V ai = Vec::set1(a[i]);
#pragma GCC unroll 2
        for (int j = 0; j < CV; ++j) acc[i][j] = Vec::fmadd(ai, bv[j], acc[i][j]);
      }
    }
    const V va = Vec::set1(alpha), vb = Vec::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
#pragma GCC unroll 2
      for (int j = 0; j < CV; ++j) {
        T* cij = c + i * rsc + j * W;
        if (beta == T(0))
          Vec::storeu(cij, Vec::mul(va, acc[i][j]));
        else
          Vec::storeu(cij, Vec::fmadd(va, acc[i][j], Vec::mul(vb, Vec::loadu(cij))));
      }
    }
  }
};

#if defined(__AVX512F__)
using KernelF32 = VecKernel<VecF32, 12>;  // 12 x 32
using KernelF64 = VecKernel<VecF64, 12>;  // 12 x 16
#else
using KernelF32 = VecKernel<VecF32, 6>;  // 6 x 16
using KernelF64 = VecKernel<VecF64, 6>;  // 6 x 8
#endif

#else
// SSE2 baseline: 4 x 8 floats / 4 x 4 doubles = 8 vector accumulators of 128 bits.
using KernelF32 = PortableKernel<float, 4, 8>;
using KernelF64 = PortableKernel<double, 4, 4>;
#endif

}  // namespace

void gemm_f32(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsA, int64_t csA,
              const float* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC) {
  gemm_detail::gemm_entry<float, KernelF32>(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

void gemm_f64(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsA, int64_t csA,
              const double* B, int64_t rsB, int64_t csB, double beta, double* C, int64_t rsC, int64_t csC) {
  gemm_detail::gemm_entry<double, KernelF64>(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

void gemm_bf16_widen(int64_t M, int64_t N, int64_t K, float alpha, const BFloat16* A, int64_t rsA, int64_t csA,
                     const BFloat16* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC) {
  gemm_detail::gemm_entry_16<KernelF32, gemm_detail::WidenPack<BFloat16>>(gemm_f32, M, N, K, alpha, A, rsA, csA, B,
                                                                          rsB, csB, beta, C, rsC, csC);
}

void gemm_f16_widen(int64_t M, int64_t N, int64_t K, float alpha, const Half* A, int64_t rsA, int64_t csA,
                    const Half* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC) {
  gemm_detail::gemm_entry_16<KernelF32, gemm_detail::WidenPack<Half>>(gemm_f32, M, N, K, alpha, A, rsA, csA, B, rsB,
                                                                      csB, beta, C, rsC, csC);
}

}  // namespace pe::cpu::PE_ISA_NS
