// Glue between the op table and the CUDA launchers (compiled into _C only with CUDA): turns
// validated pe::Tensor arguments into raw operands and registers the entries of
// pe::ops::cuda_ops(). No checks beyond what the launchers need: the op layer has done them.
#include "core/iter.h"
#include "cuda/backend.h"
#include "cuda/launchers.h"
#include "ops/cuda_table.h"

namespace pe::cuda {
namespace {

// `t` seen in `shape` (broadcast dims get stride 0), in element strides.
Operand operand(const Tensor& t, const Shape& shape) {
  Dims strides = broadcast_byte_strides(t, shape);
  for (int64_t& s : strides) s /= static_cast<int64_t>(t.itemsize());
  return {t.raw_data(), t.dtype(), std::move(strides)};
}

void copy_op(const Tensor& dst, const Tensor& src) {
  set_device(dst.device().index);
  copy(dst.shape(), operand(dst, dst.shape()), operand(src, dst.shape()));
}

void fill_op(const Tensor& dst, double value) {
  set_device(dst.device().index);
  fill(dst.shape(), operand(dst, dst.shape()), value);
}

}  // namespace

void register_ops() {
  ops::CudaOps& table = ops::cuda_ops();
  table.copy_ = &copy_op;
  table.fill_ = &fill_op;
}

}  // namespace pe::cuda
