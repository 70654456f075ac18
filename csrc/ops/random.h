// Random tensors from the process-wide Philox generator state (seed, offset). Every draw
// reserves the Philox blocks it reads by advancing the offset, so draws never overlap and a
// (seed, offset) pair replays a draw exactly, on any thread count. CUDA tensors are filled on
// the device with the same numbers as the CPU (the element math is math/philox.h, shared).
#pragma once
#include <cstdint>
#include <mutex>
#include <utility>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/philox.h"

namespace pe::ops {

// PyTorch's default seed, so an unseeded program is still reproducible run to run.
constexpr uint64_t kDefaultSeed = 67280421310721ull;

// One Philox stream: (seed, offset), the offset counting the blocks already drawn. The
// process-wide stream is default_generator(); pe.Generator objects are further ones. A draw
// reserves its blocks under the mutex, so threads sharing a generator never overlap.
class Generator {
 public:
  explicit Generator(uint64_t seed = kDefaultSeed) : seed_(seed) {}
  void manual_seed(uint64_t seed) { set_state(seed, 0); }
  std::pair<uint64_t, uint64_t> state() const;  // (seed, offset)
  void set_state(uint64_t seed, uint64_t offset);
  // Claims `blocks` Philox blocks for one draw; returns (seed, first block).
  std::pair<uint64_t, uint64_t> reserve(int64_t blocks);

 private:
  mutable std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

Generator& default_generator();

void manual_seed(uint64_t seed);  // the default generator: seed, offset 0
std::pair<uint64_t, uint64_t> seed_state();
void set_seed_state(uint64_t seed, uint64_t offset);

// Every draw takes an optional generator; nullptr means default_generator().
Tensor rand(const Shape& shape, DType dtype, Device device, Generator* gen = nullptr);   // uniform [0, 1)
Tensor randn(const Shape& shape, DType dtype, Device device, Generator* gen = nullptr);  // standard normal
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device,
               Generator* gen = nullptr);  // [low, high)
const Tensor& uniform_(const Tensor& t, double low, double high, Generator* gen = nullptr);
const Tensor& normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);
const Tensor& bernoulli_(const Tensor& t, double p, Generator* gen = nullptr);  // 1 with probability p, else 0
// A draw per element of p (float32/float64, any layout and device): 1 with probability p[i],
// else 0, in p's dtype and shape (contiguous). RuntimeError when some p[i] is NaN or outside [0, 1].
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
// PyTorch's multinomial: `num_samples` category indices (int64) per row of the 1-d or 2-d
// float32/float64 weights `probs` (non-negative, finite, each row summing to > 0), with or
// without replacement. Without replacement, the rows' positive entries must number at least
// num_samples. Same numbers on every device for the same generator state.
Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement, Generator* gen = nullptr);

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

// Kernel: multinomial samples, one row at a time through philox::multinomial_row
// (math/multinomial_math.h). Contract: probs holds rows x n contiguous validated weights of
// `dtype` (float32/float64), out rows x k int64, scratch rows x n doubles, all on the slot's
// device; row r reads blocks offset + r * blocks_per_row ... of the stream keyed by seed (the op
// reserved rows * blocks_per_row blocks, blocks_per_row = philox::multinomial_blocks(n, k, replacement)).
struct MultinomialArgs {
  DType dtype;
  const void* probs;
  int64_t* out;
  double* scratch;
  int64_t rows, n, k;
  bool replacement;
  uint64_t seed, offset;
};
inline KernelSlot<void (*)(const MultinomialArgs&)> multinomial_kernel{"multinomial"};

}  // namespace pe::ops
