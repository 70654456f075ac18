// Random tensors from the process-wide Philox generator state (seed, offset). Every draw
// reserves the Philox blocks it reads by advancing the offset, so draws never overlap and a
// (seed, offset) pair replays a draw exactly, on any thread count. CUDA tensors are filled on
// the device with the same numbers as the CPU (the element math is math/philox.h, shared).
#pragma once
#include <cstdint>
#include <utility>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/philox.h"

namespace pe::ops {

void manual_seed(uint64_t seed);  // seed, offset 0
std::pair<uint64_t, uint64_t> seed_state();
void set_seed_state(uint64_t seed, uint64_t offset);

Tensor rand(const Shape& shape, DType dtype, Device device);   // uniform [0, 1)
Tensor randn(const Shape& shape, DType dtype, Device device);  // standard normal
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device);  // [low, high)
const Tensor& uniform_(const Tensor& t, double low, double high);
const Tensor& normal_(const Tensor& t, double mean, double std);
const Tensor& bernoulli_(const Tensor& t, double p);  // 1 with probability p, else 0
// A draw per element of p (float32/float64, any layout and device): 1 with probability p[i],
// else 0, in p's dtype and shape (contiguous). RuntimeError when some p[i] is NaN or outside [0, 1].
Tensor bernoulli(const Tensor& p);

// Kernel: fill `out` with a draw. Contract: out holds n > 0 contiguous elements of `dtype` on
// the slot's device (float32/float64 for Uniform and Normal; any dtype for Randint and
// Bernoulli); element i comes from philox::emit on block offset + i / E of the stream keyed by
// seed, E = philox::elements_per_block(draw.dist, dtype == Float64); the op has reserved
// ceil(n / E) blocks.
struct RandomArgs {
  DType dtype;
  void* out;
  int64_t n;
  uint64_t seed, offset;
  philox::Draw draw;
};
inline KernelSlot<void (*)(const RandomArgs&)> random_kernel{"random fill"};

// Kernel: out[i] = 1 with probability p[i] (philox::emit_bernoulli on block offset + i / 4 of
// the stream keyed by seed; the op has reserved ceil(n / 4) blocks). Contract: p and out hold
// n > 0 contiguous elements of `dtype` (float32/float64) on the slot's device, not overlapping.
// Returns false when some p[i] is NaN or outside [0, 1].
struct BernoulliArgs {
  DType dtype;
  const void* p;
  void* out;
  int64_t n;
  uint64_t seed, offset;
};
inline KernelSlot<bool (*)(const BernoulliArgs&)> bernoulli_kernel{"bernoulli"};

}  // namespace pe::ops
