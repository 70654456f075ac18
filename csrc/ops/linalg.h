// Matrix products: argument checks, 1-D promotion, batch broadcasting and output allocation.
// Every product ends in one of the two kernel slots below.
#pragma once
#include <array>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

// NumPy/PyTorch matmul: 1-D . 1-D is a dot product (0-d result); a 1-D left (right) operand is
// a row (column) vector whose dim is dropped from the result; more than 2 dims are stacks of
// matrices with broadcast batch dims. Mixed dtypes promote; int64 works; bool does not.
Tensor matmul(const Tensor& a, const Tensor& b);

// Batched product of two 3-D tensors with equal batch sizes (no broadcasting).
Tensor bmm(const Tensor& a, const Tensor& b);

// c = alpha * a @ b + beta * c for 2-D tensors of any strides; beta == 0 ignores what c held
// (NaNs included). Returns c, whose version is bumped.
Tensor gemm_(const Tensor& c, const Tensor& a, const Tensor& b, double alpha = 1.0, double beta = 0.0);

// The cache sizes (bytes: L1, L2 per core, L3) the CPU GEMM blocks for. Setting them is a
// test hook: tiny caches make small matrices cross every block boundary; (0, 0, 0) restores
// the sizes read from the OS.
std::array<int64_t, 3> gemm_cache_sizes();
void set_gemm_cache_sizes(int64_t l1, int64_t l2, int64_t l3);

// Kernels. out (batch..., M, N), contiguous, = a (batch..., M, K) @ b (batch..., K, N), where a
// and b are views in out's dtype (float32, float64, int64) expanded to out's batch dims (stride 0
// where broadcast).
inline KernelSlot<void (*)(const Tensor& out, const Tensor& a, const Tensor& b)> matmul_kernel{"matmul"};
// c = alpha * a @ b + beta * c on 2-D views of one dtype; c's elements do not overlap each other
// or a and b; beta == 0 never reads c.
inline KernelSlot<void (*)(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta)>
    gemm_kernel{"gemm_"};

}  // namespace pe::ops
