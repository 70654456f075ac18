// Glue between the op table and the CUDA launchers (compiled into _C only with CUDA): turns
// validated pe::Tensor arguments into raw operands and registers the entries of
// pe::ops::cuda_ops(). The op layer has checked shapes, dtypes and devices; this file only
// adapts dtypes where a kernel computes in another one, and picks the device.
#include "core/iter.h"
#include "cuda/backend.h"
#include "cuda/launchers.h"
#include "ops/copy.h"
#include "ops/cuda_table.h"

// The reduce family's op codes; its slot is registered once that header is in the tree.
#if __has_include("ops/reduce.h")
#include "ops/reduce.h"
#define PE_CUDA_HAS_REDUCE_OPS 1
#endif

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

void copy_op(const Tensor& dst, const Tensor& src) {
  set_device(dst.device().index);
  copy(dst.shape(), operand(dst, dst.shape()), operand(src, dst.shape()));
}

void fill_op(const Tensor& dst, double value) {
  set_device(dst.device().index);
  fill(dst.shape(), operand(dst, dst.shape()), value);
}

void unary_op(int op, const Tensor& out, const Tensor& in) {
  set_device(out.device().index);
  unary(op, out.shape(), operand(out, out.shape()), operand(in, out.shape()));
}

void binary_op(int op, const Tensor& out, const Tensor& a, const Tensor& b) {
  set_device(out.device().index);
  binary(op, out.shape(), operand(out, out.shape()), operand(a, out.shape()), operand(b, out.shape()));
}

// out (batch..., m, n) = a (batch..., m, k) @ b (batch..., k, n); a and b are (expanded) views
// in out's dtype.
void matmul_op(const Tensor& out, const Tensor& a, const Tensor& b) {
  set_device(out.device().index);
  const int64_t nd = out.ndim();
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  gemm(out.dtype(), batch, out.shape()[nd - 2], out.shape()[nd - 1], a.shape()[a.ndim() - 1], 1.0, matrix(a, batch),
       matrix(b, batch), 0.0, matrix(out, batch));
}

#ifdef PE_CUDA_HAS_REDUCE_OPS
// `out` has in's shape with every reduced dim 1. Kernels run in one dtype: the input is
// converted to it first (on the device), and all/any run as min/max on bool.
void reduce_op(int code, const Tensor& out, const Tensor& in, const Shape& dims) {
  Reduce op;
  DType compute = out.dtype();
  switch (static_cast<ops::ReduceOp>(code)) {
    case ops::ReduceOp::Sum: op = Reduce::Sum; break;
    case ops::ReduceOp::Prod: op = Reduce::Prod; break;
    case ops::ReduceOp::Mean: op = Reduce::Mean; break;
    case ops::ReduceOp::Amax: op = Reduce::Max; break;
    case ops::ReduceOp::Amin: op = Reduce::Min; break;
    case ops::ReduceOp::LogSumExp: op = Reduce::LogSumExp; break;
    case ops::ReduceOp::All: op = Reduce::Min, compute = DType::Bool; break;
    case ops::ReduceOp::Any: op = Reduce::Max, compute = DType::Bool; break;
    default: throw RuntimeError(str("reduce op code ", code, " is not implemented for CUDA tensors yet"));
  }
  set_device(out.device().index);
  std::vector<bool> reduced(in.ndim(), false);
  for (int64_t d : dims) reduced[d] = true;
  Tensor x = ops::to_dtype(in, compute);
  Tensor o = out.dtype() == compute ? out : Tensor::empty(out.shape(), compute, out.device());
  reduce(op, x.shape(), operand(o, x.shape()), operand(x, x.shape()), reduced);
  if (o.raw_data() != out.raw_data()) ops::copy_(out, o);
}
#endif

}  // namespace

void register_ops() {
  ops::CudaOps& table = ops::cuda_ops();
  table.copy_ = &copy_op;
  table.fill_ = &fill_op;
  table.unary = &unary_op;
  table.binary = &binary_op;
  table.matmul = &matmul_op;
#ifdef PE_CUDA_HAS_REDUCE_OPS
  table.reduce = &reduce_op;
#endif
}

}  // namespace pe::cuda
