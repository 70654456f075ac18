// Internals of cpu::gemm shared by gemm.cpp (dispatch, cache sizes) and gemm_kernels.cpp
// (compiled once per ISA: micro-kernels, packing, blocking, threads).
#pragma once
#include <cstdint>

#include "core/isa.h"
#include "math/half_types.h"

namespace pe::cpu {

// Data cache sizes in bytes (per core for L1/L2, whole cache for L3), read once from the OS.
struct CacheSizes {
  int64_t l1 = 0, l2 = 0, l3 = 0;
};
CacheSizes cache_sizes();
// Tests shrink the caches the blocking believes in, so small matrices cross every block
// boundary; all zeros restores the sizes read from the OS.
void set_cache_sizes(const CacheSizes& sizes);

}  // namespace pe::cpu

#define PE_DECLARE_GEMM(isa)                                                                          \
  namespace pe::cpu::isa {                                                                            \
  void gemm_f32(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsA, int64_t csA, \
                const float* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC,           \
                int64_t csC);                                                                         \
  void gemm_f64(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsA,           \
                int64_t csA, const double* B, int64_t rsB, int64_t csB, double beta, double* C,        \
                int64_t rsC, int64_t csC);                                                            \
  void gemm_bf16_widen(int64_t M, int64_t N, int64_t K, float alpha, const BFloat16* A, int64_t rsA,   \
                       int64_t csA, const BFloat16* B, int64_t rsB, int64_t csB, float beta, float* C, \
                       int64_t rsC, int64_t csC);                                                     \
  void gemm_f16_widen(int64_t M, int64_t N, int64_t K, float alpha, const Half* A, int64_t rsA,        \
                      int64_t csA, const Half* B, int64_t rsB, int64_t csB, float beta, float* C,      \
                      int64_t rsC, int64_t csC);                                                      \
  }
PE_FOR_EACH_ISA(PE_DECLARE_GEMM)
#undef PE_DECLARE_GEMM

// bfloat16 products on the AVX512_BF16 dot-product instruction (gemm_bf16_dot.cpp, compiled
// only on x86-64 multi-ISA builds; run only where bf16_dot_supported()).
namespace pe::cpu {
bool bf16_dot_supported();  // this CPU has AVX512_BF16 and this build has the kernel
namespace avx512bf16 {
void gemm_bf16_dot(int64_t M, int64_t N, int64_t K, float alpha, const BFloat16* A, int64_t rsA, int64_t csA,
                   const BFloat16* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC);
}
}  // namespace pe::cpu
