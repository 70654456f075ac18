// CPU pooling kernels, forward and backward (csrc/cpu/pool_kernels.cpp, compiled once per ISA).
//
// The op layer (csrc/ops/pool.cpp) reduces every pooling flavour - max / average, fixed or
// adaptive windows, 1-D as 2-D with H = 1 - to one description: the N*C planes of the input and,
// per spatial axis, a table saying where each output's window lies in the input (PoolAxis).
// The kernels only walk those tables; they never recompute padding, ceil_mode or adaptive rules.
// Threads split the planes, so results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "core/isa.h"
#include "core/tensor.h"

namespace pe::cpu {

// One spatial axis. Output o reads the inputs first[o] + t * dilation for t < count[o]: the taps
// of its window that lie inside the input (padding taps are dropped here, once). Windows that are
// regular and fully inside the input - outputs [full_lo, full_hi) with first = o * stride - pad and
// count = kernel - take the vectorized interior path.
struct PoolAxis {
  int64_t in = 0, out = 0;
  int64_t dilation = 1;
  std::vector<int64_t> first, count;
  std::vector<int64_t> extent;  // average pooling: this axis's factor of the divisor
  int64_t kernel = 0, stride = 0, pad = 0;
  int64_t full_lo = 0, full_hi = 0;  // empty when the windows are not regular
};

struct PoolArgs {
  DType dtype = DType::Float32;
  int64_t batch = 0, channels = 0;  // planes = batch * channels
  PoolAxis h, w;
  // Forward only: x is read with x_strides (N, C, H, W), y is written contiguous (N, C, OH, OW).
  // The backward kernels take dL/dy (contiguous, output shape) and write dL/dx (contiguous,
  // input shape) and use only the geometry above.
  const void* x = nullptr;
  int64_t x_strides[4] = {0, 0, 0, 0};
  void* y = nullptr;
  // Max pooling: argmax per output as h * W + w within its plane (PyTorch's layout); -1 marks a
  // window with no input element (possible only when dilation steps over the whole input).
  int64_t* indices = nullptr;
  int64_t divisor_override = 0;  // average pooling: 0 = none, else divides every window sum
};

}  // namespace pe::cpu

// max_pool2d_backward returns false when some index is outside its plane (nothing reachable from
// Python may write out of bounds); the op layer turns that into an IndexError.
#define PE_DECLARE_POOL(isa)                                          \
  namespace pe::cpu::isa {                                            \
  void max_pool2d_forward(const ::pe::cpu::PoolArgs& a);              \
  bool max_pool2d_backward(const ::pe::cpu::PoolArgs& a, void* gx,    \
                           const void* gy, const int64_t* indices);   \
  void avg_pool2d_forward(const ::pe::cpu::PoolArgs& a);              \
  void avg_pool2d_backward(const ::pe::cpu::PoolArgs& a, void* gx,    \
                           const void* gy);                           \
  }
PE_FOR_EACH_ISA(PE_DECLARE_POOL)
#undef PE_DECLARE_POOL
