#include "ops/linalg.h"

#include <cmath>

#include "core/parallel.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernels.h"
#include "ops/copy.h"
#include "ops/cuda_table.h"
#include "ops/view.h"

namespace pe::ops {

namespace {

// Same device, and a dtype the products support (float32, float64, int64).
void check_operands(const char* name, const Tensor& a, const Tensor& b) {
  PE_CHECK(a.device() == b.device(), RuntimeError, name, ": expected both tensors on the same device, got ",
           a.device().str(), " and ", b.device().str());
  PE_CHECK(a.dtype() != DType::Bool && b.dtype() != DType::Bool, TypeError, name,
           ": expected float32, float64 or int64 tensors, got ", dtype_name(a.dtype()), " and ",
           dtype_name(b.dtype()));
}

void check_inner(const char* name, const Tensor& a, const Tensor& b, int64_t ka, int64_t kb) {
  PE_CHECK(ka == kb, ValueError, name, ": shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " cannot be multiplied (", ka, " != ", kb, ")");
}

Shape leading(const Tensor& t, int64_t keep_last) {
  return Shape(t.shape().begin(), t.shape().end() - keep_last);
}

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
// (broadcast batch dims have stride 0) and converted to out's dtype.
template <class T>
void batched_gemm_cpu(const Tensor& out, const Tensor& a, const Tensor& b) {
  const int64_t nd = out.ndim(), M = out.shape()[nd - 2], N = out.shape()[nd - 1], K = a.shape()[nd - 1];
  const int64_t rsA = a.strides()[nd - 2], csA = a.strides()[nd - 1];
  const int64_t rsB = b.strides()[nd - 2], csB = b.strides()[nd - 1];
  const Shape batch = leading(out, 2);
  const int64_t nbatch = shape_numel(batch);
  T* C = out.data<T>();
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  if (out.numel() == 0) return;

  // One matrix B for the whole stack (a Linear layer on a 3-D input): one tall GEMM.
  bool b_shared = true;
  for (int64_t d = 0; d < nd - 2; ++d) b_shared = b_shared && (b.strides()[d] == 0 || b.shape()[d] == 1);
  int64_t rs_merged = b_shared ? merged_row_stride(a) : -1;
  if (rs_merged >= 0) {
    cpu::gemm<T>(nbatch * M, N, K, T(1), A, rs_merged, csA, B, rsB, csB, T(0), C, N,
                 1);
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
    cpu::gemm<T>(M, N, K, T(1), A + offA, rsA, csA, B + offB, rsB, csB, T(0), C + t * M * N, N, 1);
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

// a: (..., M, K), b: (..., K, N) with batch dims broadcastable to `batch`. Returns
// (batch..., M, N) in the promoted dtype.
Tensor batched_matmul(const char* name, const Tensor& a, const Tensor& b, const Shape& batch) {
  const DType dt = promote_types(a.dtype(), b.dtype());
  const int64_t M = a.shape()[a.ndim() - 2], K = a.shape()[a.ndim() - 1], N = b.shape()[b.ndim() - 1];
  Shape out_shape = batch, a_shape = batch, b_shape = batch;
  out_shape.insert(out_shape.end(), {M, N});
  a_shape.insert(a_shape.end(), {M, K});
  b_shape.insert(b_shape.end(), {K, N});
  Tensor out = Tensor::empty(out_shape, dt, a.device());
  Tensor ax = expand(to_dtype(a, dt), a_shape), bx = expand(to_dtype(b, dt), b_shape);
  if (out.device().is_cuda()) {
    PE_CHECK(is_floating(dt), TypeError, name, ": ", dtype_name(dt), " is not implemented for CUDA tensors");
    cuda_op(cuda_ops().matmul, name)(out, ax, bx);
    return out;
  }
  PE_DISPATCH_NUMERIC(dt, name, [&] { batched_gemm_cpu<scalar_t>(out, ax, bx); });
  return out;
}

// Elements of a 2-D tensor never share memory (needed before writing into it).
bool non_overlapping_2d(const Tensor& t) {
  int64_t n0 = t.shape()[0], n1 = t.shape()[1], s0 = t.strides()[0], s1 = t.strides()[1];
  if (n0 <= 1 || n1 <= 1) return (n0 <= 1 || s0 > 0) && (n1 <= 1 || s1 > 0);
  if (s0 == 0 || s1 == 0) return false;
  return s0 >= n1 * s1 || s1 >= n0 * s0;
}

bool shares_storage(const Tensor& x, const Tensor& y) { return x.storage() == y.storage(); }

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b);
  PE_CHECK(a.ndim() >= 1 && b.ndim() >= 1, ValueError,
           "matmul: both arguments need at least 1 dimension, got shapes ", shape_str(a.shape()), " and ",
           shape_str(b.shape()));
  // 1-D operands become a row (left) or a column (right) vector, dropped again at the end.
  Tensor a2 = a.ndim() == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = b.ndim() == 1 ? unsqueeze(b, 1) : b;
  check_inner("matmul", a, b, a2.shape()[a2.ndim() - 1], b2.shape()[b2.ndim() - 2]);
  Shape batch;
  try {
    batch = broadcast_shapes(leading(a2, 2), leading(b2, 2));
  } catch (const ValueError&) {
    throw ValueError(str("matmul: batch dimensions of shapes ", shape_str(a.shape()), " and ",
                         shape_str(b.shape()), " cannot be broadcast"));
  }
  Tensor out = batched_matmul("matmul", a2, b2, batch);
  Shape result = batch;
  if (a.ndim() > 1) result.push_back(a2.shape()[a2.ndim() - 2]);
  if (b.ndim() > 1) result.push_back(b2.shape()[b2.ndim() - 1]);
  return result.size() == static_cast<size_t>(out.ndim()) ? out : view(out, result);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands("bmm", a, b);
  PE_CHECK(a.ndim() == 3 && b.ndim() == 3, ValueError, "bmm: expected 3-D tensors, got shapes ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  PE_CHECK(a.shape()[0] == b.shape()[0], ValueError, "bmm: shapes ", shape_str(a.shape()), " and ",
           shape_str(b.shape()), " have different batch sizes (", a.shape()[0], " != ", b.shape()[0], ")");
  check_inner("bmm", a, b, a.shape()[2], b.shape()[1]);
  return batched_matmul("bmm", a, b, {a.shape()[0]});
}

Tensor gemm_(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  check_operands("gemm_", a, b);
  PE_CHECK(c.device() == a.device(), RuntimeError, "gemm_: expected the output on ", a.device().str(),
           " like the operands, got ", c.device().str());
  PE_CHECK(a.ndim() == 2 && b.ndim() == 2 && c.ndim() == 2, ValueError,
           "gemm_: expected 2-D tensors, got shapes ", shape_str(c.shape()), " (output), ", shape_str(a.shape()),
           " and ", shape_str(b.shape()));
  check_inner("gemm_", a, b, a.shape()[1], b.shape()[0]);
  const Shape product{a.shape()[0], b.shape()[1]};
  PE_CHECK(c.shape() == product, ValueError, "gemm_: output shape ", shape_str(c.shape()),
           " does not match the product shape ", shape_str(product), " of ", shape_str(a.shape()), " and ",
           shape_str(b.shape()));
  const DType result = promote_types(a.dtype(), b.dtype());
  PE_CHECK(c.dtype() != DType::Bool && !(is_floating(result) && !is_floating(c.dtype())), TypeError,
           "gemm_: result dtype ", dtype_name(result), " can't be cast to the output dtype ",
           dtype_name(c.dtype()));
  PE_CHECK(non_overlapping_2d(c), RuntimeError, "gemm_: the output (shape ", shape_str(c.shape()), ", strides ",
           shape_str(c.strides()), ") has elements that share memory; write into a contiguous tensor");
  // Work in the wider of the product's and the output's dtype; narrow into c at the end.
  const DType work = promote_types(result, c.dtype());
  if (work == DType::Int64)
    PE_CHECK(alpha == std::floor(alpha) && beta == std::floor(beta), ValueError,
             "gemm_: alpha and beta must be integers for int64 tensors, got ", alpha, " and ", beta);

  // Operands that share memory with c are read from a copy, since c is written as we go.
  Tensor a_w = to_dtype(a, work), b_w = to_dtype(b, work);
  if (shares_storage(a_w, c)) a_w = clone(a_w);
  if (shares_storage(b_w, c)) b_w = clone(b_w);
  Tensor c_w = work == c.dtype() ? c : to_dtype(c, work);

  if (c.device().is_cuda()) {
    PE_CHECK(alpha == 1.0 && beta == 0.0, RuntimeError,
             "gemm_ with alpha != 1 or beta != 0 is not implemented for CUDA tensors yet");
    Tensor tmp = Tensor::empty(product, work, c.device());
    cuda_op(cuda_ops().matmul, "gemm_")(tmp, a_w, b_w);
    copy_(c, tmp);
  } else {
    PE_DISPATCH_NUMERIC(work, "gemm_", [&] {
      cpu::gemm<scalar_t>(product[0], product[1], a.shape()[1], static_cast<scalar_t>(alpha), a_w.data<scalar_t>(),
                          a_w.strides()[0], a_w.strides()[1], b_w.data<scalar_t>(), b_w.strides()[0],
                          b_w.strides()[1], static_cast<scalar_t>(beta), c_w.data<scalar_t>(), c_w.strides()[0],
                          c_w.strides()[1]);
    });
    if (c_w.raw_data() != c.raw_data()) copy_(c, c_w);
  }
  c.bump_version();
  return c;
}

std::array<int64_t, 3> gemm_cache_sizes() {
  cpu::CacheSizes c = cpu::cache_sizes();
  return {c.l1, c.l2, c.l3};
}

void set_gemm_cache_sizes(int64_t l1, int64_t l2, int64_t l3) {
  bool reset = l1 == 0 && l2 == 0 && l3 == 0;
  PE_CHECK(reset || (l1 >= 1024 && l2 >= l1 && l3 >= l2), ValueError,
           "set_gemm_cache_sizes: expected 1024 <= l1 <= l2 <= l3 (or all 0), got ", l1, ", ", l2, ", ", l3);
  cpu::set_cache_sizes({l1, l2, l3});
}

}  // namespace pe::ops
