#include "ops/linalg.h"

#include <cmath>

#include "cpu/gemm_kernels.h"  // cache sizes the GEMM blocks for
#include "ops/copy.h"
#include "ops/view.h"

namespace pe::ops {

namespace {

// Same device, and a dtype the products support (any but bool). matmul and bmm also want one
// dtype for both, as PyTorch's do: a float32 weight times float64 data is an error, not a
// silent float64 product (gemm_, an in-place primitive, promotes).
void check_operands(const char* name, const Tensor& a, const Tensor& b, bool same_dtype = true) {
  check_same_device(name, a, "input", b, "other");
  PE_CHECK(a.dtype() != DType::Bool && b.dtype() != DType::Bool, TypeError, name,
           ": expected integer or floating tensors, got ", dtype_name(a.dtype()), " and ",
           dtype_name(b.dtype()));
  PE_CHECK(!same_dtype || a.dtype() == b.dtype(), TypeError, name,
           ": expected both operands to have the same dtype, got ", dtype_name(a.dtype()), " and ",
           dtype_name(b.dtype()), " (convert one with .to(dtype))");
}

void check_inner(const char* name, const Tensor& a, const Tensor& b, int64_t ka, int64_t kb) {
  PE_CHECK(ka == kb, ValueError, name, ": shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " cannot be multiplied (", ka, " != ", kb, ")");
}

Shape leading(const Tensor& t, int64_t keep_last) {
  return Shape(t.shape().begin(), t.shape().end() - keep_last);
}

// The dtype the product kernel gets its operands in. On the CPU, float16/bfloat16 operands
// go as they are (cpu::gemm16 widens them while packing, or multiplies bfloat16 pairs on the
// AVX512_BF16 dot-product instruction); elsewhere they are converted to the compute dtype.
DType operand_dtype(DType dt, const Device& device) {
  const bool half = dt == DType::Float16 || dt == DType::BFloat16;
  return half && device.is_cpu() ? dt : compute_dtype_of(dt);
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
  // float16/bfloat16 (and the small integers) multiply in their compute dtype: float32
  // accumulation, one rounding of each result element.
  const DType compute = compute_dtype_of(dt), operands = operand_dtype(dt, a.device());
  Tensor out = Tensor::empty(out_shape, compute, a.device());
  Tensor ax = expand(to_dtype(a, operands), a_shape), bx = expand(to_dtype(b, operands), b_shape);
  matmul_kernel(out.device(), out, ax, bx);
  return to_dtype(out, dt);
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
  check_operands("gemm_", a, b, /*same_dtype=*/false);
  check_same_device("gemm_", a, "input", c, "output");
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
  const DType work = compute_dtype_of(promote_types(result, c.dtype()));
  if (work == DType::Int64)
    PE_CHECK(alpha == std::floor(alpha) && beta == std::floor(beta), ValueError,
             "gemm_: alpha and beta must be integers for int64 tensors, got ", alpha, " and ", beta);

  // Operands that share memory with c are read from a copy, since c is written as we go.
  const DType operands = operand_dtype(promote_types(result, c.dtype()), c.device());
  Tensor a_w = to_dtype(a, operands), b_w = to_dtype(b, operands);
  if (shares_storage(a_w, c)) a_w = clone(a_w);
  if (shares_storage(b_w, c)) b_w = clone(b_w);
  Tensor c_w = work == c.dtype() ? c : to_dtype(c, work);

  gemm_kernel(c.device(), c_w, a_w, b_w, alpha, beta);
  if (c_w.raw_data() != c.raw_data()) copy_(c, c_w);
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
