// Glue for the families whose kernel slots take tensors (copy, elementwise incl. where, reduce, matmul):
// turns validated pe::Tensor / ReduceArgs arguments into the raw operands of the launchers in
// launchers.h and registers them in the slots. Host C++, compiled into _C in CUDA and emulated
// builds. The op layer has checked shapes, dtypes and devices, and the slot has selected the
// tensors' device; this file only adapts dtypes where a kernel computes in another one.
#include <numeric>

#include "core/iter.h"
#include "cuda/device_buffer.h"
#include "cuda/launchers.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"

namespace pe::cuda {
namespace {

// `t` seen in `shape` (broadcast dims get stride 0), in element strides.
Operand operand(const Tensor& t, const Shape& shape) {
  Dims strides = broadcast_byte_strides(t, shape);
  for (int64_t& s : strides) s /= static_cast<int64_t>(t.itemsize());
  return {t.raw_data(), t.dtype(), std::move(strides)};
}

Matrix matrix(const Tensor& t, const Shape& batch_shape) {
  Shape shape = batch_shape;
  shape.push_back(t.shape()[t.ndim() - 2]);
  shape.push_back(t.shape()[t.ndim() - 1]);
  Operand op = operand(t, shape);
  return {op.data, t.strides()[t.ndim() - 2], t.strides()[t.ndim() - 1], Dims(op.strides.begin(), op.strides.end() - 2)};
}

void copy_op(const Tensor& dst, const Tensor& src) { copy(dst.shape(), operand(dst, dst.shape()), operand(src, dst.shape())); }

void fill_op(const Tensor& dst, Scalar value) { fill(dst.shape(), operand(dst, dst.shape()), value); }

void unary_op(ew::UnaryOp op, const Tensor& out, const Tensor& in) {
  unary(op, out.shape(), operand(out, out.shape()), operand(in, out.shape()));
}

void binary_op(ew::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  binary(op, out.shape(), operand(out, out.shape()), operand(a, out.shape()), operand(b, out.shape()));
}

void where_op(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  where(out.shape(), operand(out, out.shape()), operand(cond, out.shape()), operand(a, out.shape()),
        operand(b, out.shape()));
}

void check_floating(DType dt, const char* name) {
  PE_CHECK(is_floating(dt), TypeError, name, " on CUDA tensors takes float32 or float64, got ", dtype_name(dt));
}

// out (batch..., m, n) = a (batch..., m, k) @ b (batch..., k, n).
void matmul_op(const Tensor& out, const Tensor& a, const Tensor& b) {
  check_floating(out.dtype(), "matmul");
  const int64_t nd = out.ndim();
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  gemm(out.dtype(), batch, out.shape()[nd - 2], out.shape()[nd - 1], a.shape()[a.ndim() - 1], 1.0, matrix(a, batch),
       matrix(b, batch), 0.0, matrix(out, batch));
}

void gemm_op(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  check_floating(c.dtype(), "gemm_");
  gemm(c.dtype(), {}, c.shape()[0], c.shape()[1], a.shape()[1], alpha, matrix(a, {}), matrix(b, {}), beta,
       matrix(c, {}));
}

// The reduction as the kernel sees it: kept dims then reduced dims, the output contiguous over
// the kept dims. Sum..LogSumExp run in one dtype (the output's; bool for all/any, which run as
// min/max): an input of another dtype is converted into a contiguous device buffer first. The
// ops with more state (argmax/argmin, var/std, norm) run in the input's dtype, which is also
// their values' dtype.
void reduce_op(const ops::ReduceArgs& a) {
  // The kernels run in one dtype: the output's for the folds, bool for all/any (min/max on
  // bool), the input's for the arg/moment/norm policies (which write their own output type).
  const ReduceOp op = a.op;
  DType compute = a.out_dtype;
  if (op == ReduceOp::All || op == ReduceOp::Any) compute = DType::Bool;
  if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin || op == ReduceOp::Var || op == ReduceOp::Std ||
      op == ReduceOp::Norm)
    compute = a.in_dtype;
  ReduceExtra extra;
  extra.index = a.out_index;
  extra.p = a.p;
  extra.correction = a.correction;
  Dims shape = a.kept_shape, in_strides = a.kept_strides;
  shape.insert(shape.end(), a.red_shape.begin(), a.red_shape.end());
  in_strides.insert(in_strides.end(), a.red_strides.begin(), a.red_strides.end());
  const size_t nkept = a.kept_shape.size();
  std::vector<bool> reduced(shape.size(), false);
  std::fill(reduced.begin() + nkept, reduced.end(), true);
  Dims out_strides(shape.size(), 0);
  for (int64_t d = int64_t(nkept) - 1, s = 1; d >= 0; --d) out_strides[d] = s, s *= shape[d];
  const int64_t numel = std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<int64_t>());
  const int64_t kept = std::accumulate(a.kept_shape.begin(), a.kept_shape.end(), int64_t(1), std::multiplies<int64_t>());

  Operand in{const_cast<void*>(a.in), a.in_dtype, in_strides};
  DeviceBuffer converted_in, converted_out;
  if (a.in_dtype != compute) {
    converted_in = DeviceBuffer(numel * int64_t(itemsize(compute)));
    Operand dst{converted_in.get(), compute, contiguous_strides(shape)};
    copy(shape, dst, in);
    in = dst;
  }
  // a.out is null when argmax/argmin want only indices (then out_dtype means nothing).
  const bool convert_out = a.out != nullptr && a.out_dtype != compute;
  Operand out{a.out, compute, out_strides};
  if (convert_out) {
    converted_out = DeviceBuffer(kept * int64_t(itemsize(compute)));
    out.data = converted_out.get();
  }
  reduce(op, shape, out, in, reduced, extra);
  if (convert_out)
    copy(a.kept_shape, Operand{a.out, a.out_dtype, contiguous_strides(a.kept_shape)},
         Operand{out.data, compute, contiguous_strides(a.kept_shape)});
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::copy_kernel, copy_op);
PE_REGISTER_CUDA_KERNEL(ops::fill_kernel, fill_op);
PE_REGISTER_CUDA_KERNEL(ops::unary_kernel, unary_op);
PE_REGISTER_CUDA_KERNEL(ops::binary_kernel, binary_op);
PE_REGISTER_CUDA_KERNEL(ops::where_kernel, where_op);
PE_REGISTER_CUDA_KERNEL(ops::matmul_kernel, matmul_op);
PE_REGISTER_CUDA_KERNEL(ops::gemm_kernel, gemm_op);
PE_REGISTER_CUDA_KERNEL(ops::reduce_kernel, reduce_op);

}  // namespace pe::cuda
