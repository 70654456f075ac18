#include "ops/copy.h"

#include "core/allocator.h"
#include "core/overlap.h"
#include "ops/view.h"

namespace pe::ops {

// Host <-> device moves go through a contiguous staging tensor on the source side.
static void copy_across_devices(const Tensor& dst, const Tensor& src) {
  auto& hooks = cuda_hooks();
  Tensor s = contiguous(to_dtype(src, dst.dtype()));
  if (s.shape() != dst.shape()) s = contiguous(expand(s, dst.shape()));
  Tensor staged = (dst.is_contiguous() && dst.device() != s.device()) ? dst : Tensor::empty(dst.shape(), dst.dtype(), dst.device());
  size_t nbytes = static_cast<size_t>(s.numel()) * s.itemsize();
  if (nbytes > 0) {
    if (staged.device().is_cuda())
      hooks.copy_to_device(staged.raw_data(), s.raw_data(), nbytes, staged.device().index);
    else
      hooks.copy_to_host(staged.raw_data(), s.raw_data(), nbytes, s.device().index);
  }
  if (staged.raw_data() != dst.raw_data()) copy_(dst, staged);
}

void copy_(const Tensor& dst, const Tensor& src) {
  broadcast_shapes(dst.shape(), src.shape());  // error message names both shapes
  PE_CHECK(broadcast_shapes(dst.shape(), src.shape()) == dst.shape(), ValueError, "copy: source shape ",
           shape_str(src.shape()), " cannot be broadcast to destination shape ", shape_str(dst.shape()));
  check_no_internal_overlap("copy_", dst);
  dst.bump_version();  // an in-place write: autograd must see that saved copies of dst are stale
  if (dst.device() != src.device()) return copy_across_devices(dst, src);
  // A source that the copy would overwrite before reading it (x[1:].copy_(x[:-1]), x.copy_(x.t()))
  // is read from a temporary first, so the result is the source as it was, as in NumPy.
  if (unsafe_overlap(dst, src, dst.shape())) return copy_kernel(dst.device(), dst, clone(src));
  copy_kernel(dst.device(), dst, src);
}

void fill_(const Tensor& dst, Scalar value) {
  PE_DISPATCH_STORAGE(dst.dtype(), "fill_", [&] { (void)value.to_checked<scalar_t>("fill_"); });
  dst.bump_version();
  fill_kernel(dst.device(), dst, value);
}

Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }

Tensor clone(const Tensor& t) {
  Tensor out = empty_like(t);
  copy_(out, t);
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype, t.device());
  copy_(out, t);
  return out;
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  check_device(device);
  Tensor out = Tensor::empty(t.shape(), t.dtype(), device);
  copy_(out, t);
  return out;
}

Tensor full(const Shape& shape, Scalar value, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device);
  fill_(out, value);
  return out;
}

}  // namespace pe::ops
