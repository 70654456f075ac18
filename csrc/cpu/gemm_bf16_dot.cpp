// bfloat16 GEMM on the AVX512_BF16 dot-product instruction (vdpbf16ps): each 32-bit lane of
// the packed panels holds two bfloat16 of consecutive k, and one instruction multiplies 16 such
// pairs and adds both products into 16 float32 accumulators - twice the multiply-adds of a
// float32 FMA per instruction, from operands half the size, with nothing converted to float32.
//
// Compiled on its own with -mavx512bf16 (CMakeLists.txt) and run only where the CPU has the
// instruction and the AVX-512 kernels are the active ISA (cpu::gemm16 in gemm.cpp). The packed
// driver, blocking and thread split are gemm_packed.h's, with a pair-packing policy.
//
// Rounding: the products of two bfloat16 are exact in float32, and the sums are float32
// additions as in the float32 kernel (in a different order). The instruction treats subnormal
// inputs as zero and flushes subnormal results (bfloat16 subnormals are below 1.2e-38).
#include <immintrin.h>

#include "cpu/gemm_packed.h"

namespace pe::cpu::avx512bf16 {
namespace {

using gemm_detail::imin;

// Two bfloat16 of consecutive k in one 32-bit lane: the lower k in the low half, as vdpbf16ps
// pairs them (element 2i with element 2i of the other operand).
inline uint32_t pair(const BFloat16& lo, const BFloat16& hi) { return uint32_t(lo.bits) | uint32_t(hi.bits) << 16; }

// Packing: A panel [g * MR + r] = pair(A[r, 2g], A[r, 2g + 1]); B panel q, [g * NR + c] =
// pair(B[2g, c], B[2g + 1, c]). An odd k count ends in a pair whose upper half is zero, and rows
// or columns past the edge are zero pairs.
struct PairPack {
  using S = BFloat16;
  using P = uint32_t;
  static constexpr int kGroup = 2;

  template <int MR>
  static void a(int64_t rows, int64_t kc, const S* A, int64_t rsA, int64_t csA, P* dst) {
    const BFloat16 zero{};
    const int64_t kg = (kc + 1) / 2;
    for (int64_t r = 0; r < rows; ++r) {
      const S* src = A + r * rsA;
      for (int64_t g = 0; g < kg; ++g) {
        const int64_t k = 2 * g;
        dst[g * MR + r] = pair(src[k * csA], k + 1 < kc ? src[(k + 1) * csA] : zero);
      }
    }
    for (int64_t g = 0; g < kg; ++g)
      for (int64_t r = rows; r < MR; ++r) dst[g * MR + r] = 0;
  }

  template <int NR>
  static void b(int64_t cols, int64_t kc, const S* B, int64_t rsB, int64_t csB, P* dst) {
    const BFloat16 zero{};
    const int64_t kg = (kc + 1) / 2;
    for (int64_t q = 0; q * NR < cols; ++q) {
      const int64_t n = imin(NR, cols - q * NR);
      const S* src = B + q * NR * csB;
      P* d = dst + q * NR * kg;
      for (int64_t g = 0; g < kg; ++g) {
        const S* row0 = src + 2 * g * rsB;
        const bool has_second = 2 * g + 1 < kc;
        for (int64_t c = 0; c < n; ++c) d[g * NR + c] = pair(row0[c * csB], has_second ? row0[rsB + c * csB] : zero);
        for (int64_t c = n; c < NR; ++c) d[g * NR + c] = 0;
      }
    }
  }
};

// MR x NR = 12 x 32 float32 accumulators (24 zmm registers), 2 B vectors and a broadcast per
// k pair - the float32 kernel's register plan, with each lane now consuming two k values.
struct DotKernel {
  using T = float;
  static constexpr int MR = 12, NR = 32, W = 16;

  template <int R, int C>
  static void tile(int64_t kg, const uint32_t* __restrict a, const uint32_t* __restrict b, float* c, int64_t rsc,
                   float alpha, float beta) {
    static_assert(R <= MR && C % W == 0 && C <= NR, "a tile variant fits in the packed panels");
    constexpr int CV = C / W;
    __m512 acc[R][CV];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
      for (int j = 0; j < CV; ++j) acc[i][j] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc + C - 1), _MM_HINT_T0);
    }
#pragma GCC unroll 2
    for (int64_t g = 0; g < kg; ++g, a += MR, b += NR) {
      __m512bh bv[CV];
#pragma GCC unroll 2
      for (int j = 0; j < CV; ++j) bv[j] = (__m512bh)_mm512_load_si512(b + j * W);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const __m512bh ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i]));
#pragma GCC unroll 2
        for (int j = 0; j < CV; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], ai, bv[j]);
      }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
#pragma GCC unroll 2
      for (int j = 0; j < CV; ++j) {
        float* cij = c + i * rsc + j * W;
        if (beta == 0.f)
          _mm512_storeu_ps(cij, _mm512_mul_ps(va, acc[i][j]));
        else
          _mm512_storeu_ps(cij, _mm512_fmadd_ps(va, acc[i][j], _mm512_mul_ps(vb, _mm512_loadu_ps(cij))));
      }
    }
  }
};

}  // namespace

void gemm_bf16_dot(int64_t M, int64_t N, int64_t K, float alpha, const BFloat16* A, int64_t rsA, int64_t csA,
                   const BFloat16* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC) {
  gemm_detail::gemm_entry_16<DotKernel, PairPack>(avx512::gemm_f32, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta,
                                                  C, rsC, csC);
}

}  // namespace pe::cpu::avx512bf16
