#include "core/tensor.h"

#include <algorithm>
#include <cstdint>

#include "core/checked.h"

namespace pe {

int64_t shape_numel(const Shape& shape) { return checked_numel(shape, ""); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = acc;
    // Only an empty tensor gets here with sizes whose product overflows (its numel, 0, was
    // checked): its strides address nothing, so they saturate instead of wrapping (UB).
    if (__builtin_mul_overflow(acc, shape[i] > 1 ? shape[i] : 1, &acc)) acc = INT64_MAX;
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim) {
  int64_t n = ndim > 0 ? ndim : 1;  // a 0-d tensor accepts dim 0 and -1, as in PyTorch
  PE_CHECK(dim >= -n && dim < n, IndexError, "dimension out of range (expected to be in range of [",
           -n, ", ", n - 1, "], but got ", dim, ")");
  return dim < 0 ? dim + n : dim;
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset,
               DType dtype)
    : storage_(std::move(storage)),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      offset_(offset),
      dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  // Check the byte count for overflow before allocating: a wrapped size would under-allocate.
  for (int64_t s : shape) PE_CHECK(s >= 0, ValueError, "negative dimension in shape ", shape_str(shape));
  const int64_t bytes = checked_nbytes(shape, dtype, "");
  std::shared_ptr<Storage> storage;
  try {
    storage = Storage::allocate(static_cast<size_t>(bytes), device);
  } catch (const MemoryError& e) {  // say what the bytes were for
    throw MemoryError(str(e.what(), " for a tensor of shape ", shape_str(shape), " and dtype ", dtype_name(dtype)));
  }
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;  // no element to misplace (PyTorch's rule)
  int64_t expected = 1;
  for (int64_t i = ndim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

Tensor Tensor::as_strided(Shape shape, Shape strides, int64_t offset) const {
  checked_numel(shape, "view");  // a view may be larger than its storage (stride 0), never uncountable
  return Tensor(storage_, std::move(shape), std::move(strides), offset, dtype_);
}

void check_same_device(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name) {
  PE_CHECK(a.device() == b.device(), RuntimeError, op, ": expected all tensors on the same device, got ", a_name, " on ",
           a.device().str(), " and ", b_name, " on ", b.device().str());
}

}  // namespace pe
