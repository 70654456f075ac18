// The one GEMM every matmul-like op calls (matmul, Linear, conv via im2col, RNN gates):
//
//     C = alpha * A @ B + beta * C        A: M x K, B: K x N, C: M x N
//
// Each matrix is given by a pointer and a row and a column stride in elements, so transposed,
// sliced and broadcast (stride 0) operands cost nothing. C must not overlap itself or A/B
// (the op layer guarantees it). beta == 0 writes C without reading it (NaNs already there
// vanish); alpha == 0 or K == 0 only scales C by beta (A and B are not read) - BLAS rules.
//
// float and double run the BLIS-style packed, cache-blocked, multi-threaded path with one
// register-tiled micro-kernel per ISA (gemm_kernels.cpp, chosen at run time like every
// *_kernels.cpp); int64_t runs a plain, exact loop; 16-bit floats: gemm16 below. The result depends only on the shapes,
// strides and the ISA, never on the thread count: blocking along K (the only blocking that
// changes the order of additions) is chosen without looking at the thread count.
#pragma once
#include <cstdint>
#include <type_traits>

#include "math/half_types.h"

namespace pe::cpu {

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
          int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC);

// Defined for exactly these element types (gemm.cpp).
template <>
void gemm<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*, int64_t,
                 int64_t, float, float*, int64_t, int64_t);
template <>
void gemm<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*, int64_t,
                  int64_t, double, double*, int64_t, int64_t);
template <>
void gemm<int64_t>(int64_t, int64_t, int64_t, int64_t, const int64_t*, int64_t, int64_t, const int64_t*,
                   int64_t, int64_t, int64_t, int64_t*, int64_t, int64_t);

// 16-bit float operands, float32 accumulation and result (C is float32; the op layer rounds it
// to the 16-bit dtype once). bfloat16 runs on the AVX512_BF16 dot-product instruction where the
// CPU has it and the AVX-512 kernels are active; otherwise, and for float16, the operands are
// widened to float32 as they are packed and the float32 kernels run.
void gemm16(int64_t M, int64_t N, int64_t K, float alpha, const BFloat16* A, int64_t rsA, int64_t csA,
            const BFloat16* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC);
void gemm16(int64_t M, int64_t N, int64_t K, float alpha, const Half* A, int64_t rsA, int64_t csA, const Half* B,
            int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC);

// Which kernel gemm16 runs for bfloat16 now: "avx512_bf16" or "float32".
const char* bf16_gemm_path();

// The type a product of T operands sums into: float32 for the 16-bit floats (gemm16), else T.
template <class T>
using gemm_acc_t = std::conditional_t<std::is_same_v<T, BFloat16> || std::is_same_v<T, Half>, float, T>;

// C = A @ B + beta * C with C in gemm_acc_t<T>: gemm for float/double, gemm16 for 16-bit
// operands. For kernels templated over their element type (matmul, conv), so one body serves
// both; rounding C to a 16-bit result is the caller's, once.
template <class T>
void gemm_acc(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsA, int64_t csA, const T* B, int64_t rsB,
              int64_t csB, gemm_acc_t<T> beta, gemm_acc_t<T>* C, int64_t rsC, int64_t csC) {
  if constexpr (std::is_same_v<T, gemm_acc_t<T>>)
    gemm<T>(M, N, K, T(1), A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
  else
    gemm16(M, N, K, 1.f, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

}  // namespace pe::cpu
