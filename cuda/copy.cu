// Moving data on the GPU: strided copy with dtype conversion and broadcasting, and fill.
#include "cuda/cuda_emu.h"
#include "cuda/launchers.h"
#include "cuda/strided.h"

namespace pe::cuda {
namespace {

template <class Dst, class Src>
__global__ void copy_kernel(Dst* dst, const Src* src, Strided<2> g) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[2];
    g.offsets(i, off);
    dst[off[0]] = static_cast<Dst>(src[off[1]]);
  }
}

template <class T>
__global__ void fill_kernel(T* dst, T value, Strided<1> g) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[1];
    g.offsets(i, off);
    dst[off[0]] = value;
  }
}

}  // namespace

void copy(const Dims& shape, const Operand& dst, const Operand& src) {
  Strided<2> g = make_strided<2>(shape, {&dst.strides, &src.strides});
  if (g.numel == 0) return;
  PE_DISPATCH_STORAGE(dst.dtype, "copy", [&] {
    using Dst = scalar_t;
    PE_DISPATCH_STORAGE(src.dtype, "copy", [&] {
      auto* copy_cast = &copy_kernel<Dst, scalar_t>;
      PE_LAUNCH(copy_cast, blocks_for(g.numel), kThreads, 0, static_cast<Dst*>(dst.data),
                static_cast<const scalar_t*>(src.data), g);
    });
  });
}

void fill(const Dims& shape, const Operand& dst, Scalar value) {
  Strided<1> g = make_strided<1>(shape, {&dst.strides});
  if (g.numel == 0) return;
  PE_DISPATCH_STORAGE(dst.dtype, "fill", [&] {
    PE_LAUNCH(fill_kernel<scalar_t>, blocks_for(g.numel), kThreads, 0, static_cast<scalar_t*>(dst.data),
              value.to<scalar_t>(), g);
  });
}

}  // namespace pe::cuda
