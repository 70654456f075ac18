// GEMM micro-kernels, compiled once per ISA (generic / AVX2+FMA / AVX-512), and the entry
// points gemm_f32/gemm_f64 that run the packed driver (gemm_packed.h) with this ISA's kernels.
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

// Portable kernel: plain loops over a small tile that the compiler keeps in vector registers.
template <class T, int MR_, int NR_>
struct PortableKernel {
  static constexpr int MR = MR_, NR = NR_;
  static void run(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t rsc, T alpha, T beta) {
    T acc[MR][NR] = {};
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) c[i * rsc + j] = gemm_detail::blend(acc[i][j], alpha, beta, c[i * rsc + j]);
  }
};

#if defined(__AVX512F__) || defined(__AVX2__)
// The C tile is read (beta != 0) and written only after the k loop; its rows lie far apart,
// beyond the hardware prefetchers' reach, so ask for them before the loop starts.
template <int MR, int NR, class T>
inline void prefetch_c_tile(const T* c, int64_t rsc) {
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc + NR - 1), _MM_HINT_T0);
  }
}
#endif

#if defined(__AVX512F__)
// MR rows x 2 vectors of 512 bits: 2*MR accumulators, 2 loads of B and MR broadcasts of A
// per k. MR = 12 keeps 24 accumulators + 2 B vectors + broadcasts within 32 registers.
struct Avx512KernelF32 {
  static constexpr int MR = 12, NR = 32;
  static void run(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t rsc,
                  float alpha, float beta) {
    __m512 c0[MR], c1[MR];
    for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
    prefetch_c_tile<MR, NR>(c, rsc);
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
      const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512 ai = _mm512_set1_ps(a[i]);
        c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
        c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
      }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * rsc;
      if (beta == 0.0f) {
        _mm512_storeu_ps(ci, _mm512_mul_ps(va, c0[i]));
        _mm512_storeu_ps(ci + 16, _mm512_mul_ps(va, c1[i]));
      } else {
        _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, c0[i], _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
        _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(va, c1[i], _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16))));
      }
    }
  }
};

struct Avx512KernelF64 {
  static constexpr int MR = 12, NR = 16;
  static void run(int64_t kc, const double* __restrict a, const double* __restrict b, double* c, int64_t rsc,
                  double alpha, double beta) {
    __m512d c0[MR], c1[MR];
    for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_pd();
    prefetch_c_tile<MR, NR>(c, rsc);
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
      const __m512d b0 = _mm512_load_pd(b), b1 = _mm512_load_pd(b + 8);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512d ai = _mm512_set1_pd(a[i]);
        c0[i] = _mm512_fmadd_pd(ai, b0, c0[i]);
        c1[i] = _mm512_fmadd_pd(ai, b1, c1[i]);
      }
    }
    const __m512d va = _mm512_set1_pd(alpha), vb = _mm512_set1_pd(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      double* ci = c + i * rsc;
      if (beta == 0.0) {
        _mm512_storeu_pd(ci, _mm512_mul_pd(va, c0[i]));
        _mm512_storeu_pd(ci + 8, _mm512_mul_pd(va, c1[i]));
      } else {
        _mm512_storeu_pd(ci, _mm512_fmadd_pd(va, c0[i], _mm512_mul_pd(vb, _mm512_loadu_pd(ci))));
        _mm512_storeu_pd(ci + 8, _mm512_fmadd_pd(va, c1[i], _mm512_mul_pd(vb, _mm512_loadu_pd(ci + 8))));
      }
    }
  }
};
using KernelF32 = Avx512KernelF32;
using KernelF64 = Avx512KernelF64;

#elif defined(__AVX2__)
// 6 rows x 2 vectors of 256 bits: 12 accumulators + 2 B vectors + 1 broadcast of 16 registers.
struct Avx2KernelF32 {
  static constexpr int MR = 6, NR = 16;
  static void run(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t rsc,
                  float alpha, float beta) {
    __m256 c0[MR], c1[MR];
    for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
    prefetch_c_tile<MR, NR>(c, rsc);
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
      const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const __m256 ai = _mm256_broadcast_ss(a + i);
        c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
        c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
      }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * rsc;
      if (beta == 0.0f) {
        _mm256_storeu_ps(ci, _mm256_mul_ps(va, c0[i]));
        _mm256_storeu_ps(ci + 8, _mm256_mul_ps(va, c1[i]));
      } else {
        _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, c0[i], _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));
        _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, c1[i], _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));
      }
    }
  }
};

struct Avx2KernelF64 {
  static constexpr int MR = 6, NR = 8;
  static void run(int64_t kc, const double* __restrict a, const double* __restrict b, double* c, int64_t rsc,
                  double alpha, double beta) {
    __m256d c0[MR], c1[MR];
    for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_pd();
    prefetch_c_tile<MR, NR>(c, rsc);
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
      const __m256d b0 = _mm256_load_pd(b), b1 = _mm256_load_pd(b + 4);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const __m256d ai = _mm256_broadcast_sd(a + i);
        c0[i] = _mm256_fmadd_pd(ai, b0, c0[i]);
        c1[i] = _mm256_fmadd_pd(ai, b1, c1[i]);
      }
    }
    const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      double* ci = c + i * rsc;
      if (beta == 0.0) {
        _mm256_storeu_pd(ci, _mm256_mul_pd(va, c0[i]));
        _mm256_storeu_pd(ci + 4, _mm256_mul_pd(va, c1[i]));
      } else {
        _mm256_storeu_pd(ci, _mm256_fmadd_pd(va, c0[i], _mm256_mul_pd(vb, _mm256_loadu_pd(ci))));
        _mm256_storeu_pd(ci + 4, _mm256_fmadd_pd(va, c1[i], _mm256_mul_pd(vb, _mm256_loadu_pd(ci + 4))));
      }
    }
  }
};
using KernelF32 = Avx2KernelF32;
using KernelF64 = Avx2KernelF64;

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

}  // namespace pe::cpu::PE_ISA_NS
