// The CPU's matrix-product kernels (slots in ops/linalg.h): stacks of products and the 2-D
// alpha/beta product, both over cpu::gemm (BLIS-style, per ISA inside).
#include <algorithm>

#include "core/parallel.h"
#include "cpu/gemm.h"
#include "ops/linalg.h"

namespace pe::cpu {
namespace {

Shape leading(const Tensor& t, int64_t keep_last) { return Shape(t.shape().begin(), t.shape().end() - keep_last); }

// Rows of a stack of matrices (dims 0..ndim-2) that form one evenly strided run, so the whole
// stack is a single taller matrix. Returns that row stride, or -1 when they do not.
int64_t merged_row_stride(const Tensor& t) {
  int64_t stride = -1, span = 0;  // stride and row count of the run of inner dims seen so far
  for (int64_t d = t.ndim() - 2; d >= 0; --d) {
    int64_t n = t.shape()[d];
    if (n == 1) continue;
    if (stride < 0) {
      stride = t.strides()[d];
      span = n;
    } else {
      if (t.strides()[d] != stride * span) return -1;
      span *= n;
    }
  }
  return stride < 0 ? 0 : stride;
}

// out[..., M, N] = a[..., M, K] @ b[..., K, N]; a and b already expanded to out's batch dims
// (broadcast batch dims have stride 0) and converted to out's dtype (or, float16/bfloat16,
// left as they are, with a float32 out).
template <class T, class S = T>
void batched_gemm_cpu(const Tensor& out, const Tensor& a, const Tensor& b) {
  const int64_t nd = out.ndim(), M = out.shape()[nd - 2], N = out.shape()[nd - 1], K = a.shape()[nd - 1];
  const int64_t rsA = a.strides()[nd - 2], csA = a.strides()[nd - 1];
  const int64_t rsB = b.strides()[nd - 2], csB = b.strides()[nd - 1];
  const Shape batch = leading(out, 2);
  const int64_t nbatch = shape_numel(batch);
  T* C = out.data<T>();
  const S* A = a.data<S>();
  const S* B = b.data<S>();
  if (out.numel() == 0) return;

  // One matrix B for the whole stack (a Linear layer on a 3-D input): one tall GEMM.
  bool b_shared = true;
  for (int64_t d = 0; d < nd - 2; ++d) b_shared = b_shared && (b.strides()[d] == 0 || b.shape()[d] == 1);
  int64_t rs_merged = b_shared ? merged_row_stride(a) : -1;
  if (rs_merged >= 0) {
    gemm_acc(nbatch * M, N, K, A, rs_merged, csA, B, rsB, csB, T(0), C, N, 1);
    return;
  }

  auto one = [&](int64_t t) {
    int64_t rem = t, offA = 0, offB = 0;
    for (int64_t d = nd - 3; d >= 0; --d) {
      int64_t i = rem % batch[d];
      rem /= batch[d];
      offA += i * a.strides()[d];
      offB += i * b.strides()[d];
    }
    gemm_acc(M, N, K, A + offA, rsA, csA, B + offB, rsB, csB, T(0), C + t * M * N, N, 1);
  };
  // Big matrices: one after another, each GEMM uses every thread. Small ones: threads take
  // whole matrices (GEMM inside a parallel region runs single-threaded).
  const int64_t flops = M * N * std::max<int64_t>(K, 1);
  if (flops >= (int64_t(1) << 18)) {
    for (int64_t t = 0; t < nbatch; ++t) one(t);
  } else {
    parallel_for(nbatch, flops, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) one(t);
    });
  }
}

void matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
  if (a.dtype() == DType::BFloat16) return batched_gemm_cpu<float, BFloat16>(out, a, b);
  if (a.dtype() == DType::Float16) return batched_gemm_cpu<float, Half>(out, a, b);
  PE_DISPATCH_NUMERIC(out.dtype(), "matmul", [&] { batched_gemm_cpu<scalar_t>(out, a, b); });
}

template <class S>
void gemm16_2d(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  gemm16(c.shape()[0], c.shape()[1], a.shape()[1], static_cast<float>(alpha), a.data<S>(), a.strides()[0],
         a.strides()[1], b.data<S>(), b.strides()[0], b.strides()[1], static_cast<float>(beta), c.data<float>(),
         c.strides()[0], c.strides()[1]);
}

void gemm_2d(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  if (a.dtype() == DType::BFloat16) return gemm16_2d<BFloat16>(c, a, b, alpha, beta);
  if (a.dtype() == DType::Float16) return gemm16_2d<Half>(c, a, b, alpha, beta);
  PE_DISPATCH_NUMERIC(c.dtype(), "gemm_", [&] {
    gemm<scalar_t>(c.shape()[0], c.shape()[1], a.shape()[1], static_cast<scalar_t>(alpha), a.data<scalar_t>(),
                   a.strides()[0], a.strides()[1], b.data<scalar_t>(), b.strides()[0], b.strides()[1],
                   static_cast<scalar_t>(beta), c.data<scalar_t>(), c.strides()[0], c.strides()[1]);
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::matmul_kernel, matmul);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::gemm_kernel, gemm_2d);

}  // namespace pe::cpu
