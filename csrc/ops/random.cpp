#include "ops/random.h"

#include <cmath>
#include <mutex>

#include "core/allocator.h"
#include "core/overlap.h"
#include "ops/copy.h"

namespace pe::ops {

namespace {

// PyTorch's default seed, so an unseeded program is still reproducible run to run.
constexpr uint64_t kDefaultSeed = 67280421310721ull;

struct Generator {
  std::mutex mutex;
  uint64_t seed = kDefaultSeed;
  uint64_t offset = 0;
};

Generator& generator() {
  static Generator g;
  return g;
}

// Claims `blocks` Philox blocks for one draw; returns (seed, first block).
std::pair<uint64_t, uint64_t> reserve(int64_t blocks) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  const uint64_t first = g.offset;
  g.offset += static_cast<uint64_t>(blocks);
  return {g.seed, first};
}

void check_floating(DType dtype, const char* name) {
  PE_CHECK(is_floating(dtype), TypeError, name, ": expected a floating dtype, got ",
           dtype_name(dtype));
}

// Fills `t` (any layout, any device) on its device, through a contiguous buffer there when it
// cannot be written directly.
void fill_random(const Tensor& t, const philox::Draw& draw, const char* op) {
  check_no_internal_overlap(op, t);  // an expanded view would get one draw for many elements
  // Storage-only dtypes (float16, int32, ...) draw in their compute dtype and round once.
  const DType compute = compute_dtype_of(t.dtype());
  const bool direct = t.is_contiguous() && compute == t.dtype();
  const Tensor buffer = direct ? t : Tensor::empty(t.shape(), compute, t.device());
  const int64_t per = philox::elements_per_block(draw.dist, compute == DType::Float64);
  const auto [seed, offset] = reserve((t.numel() + per - 1) / per);
  if (t.numel() > 0) random_kernel(t.device(), RandomArgs{compute, buffer.raw_data(), t.numel(), seed, offset, draw});
  if (!direct) copy_(t, buffer);
  t.bump_version();
}

philox::Draw make_draw(philox::Dist dist, double a, double span) {
  philox::Draw d;
  d.dist = dist;
  d.a = a;
  d.span = span;
  return d;
}

Tensor new_tensor(const Shape& shape, DType dtype, Device device) {
  check_device(device);
  return Tensor::empty(shape, dtype, device);
}

}  // namespace

void manual_seed(uint64_t seed) { set_seed_state(seed, 0); }

std::pair<uint64_t, uint64_t> seed_state() {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  return {g.seed, g.offset};
}

void set_seed_state(uint64_t seed, uint64_t offset) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  g.seed = seed;
  g.offset = offset;
}

const Tensor& uniform_(const Tensor& t, double low, double high) {
  check_floating(t.dtype(), "uniform_");
  PE_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, ValueError,
           "uniform_: expected finite low <= high, got low=", low, ", high=", high);
  fill_random(t, make_draw(philox::Dist::Uniform, low, high - low), "uniform_");
  return t;
}

const Tensor& normal_(const Tensor& t, double mean, double std) {
  check_floating(t.dtype(), "normal_");
  PE_CHECK(std::isfinite(mean) && std::isfinite(std) && std >= 0, ValueError,
           "normal_: expected a finite mean and a finite std >= 0, got mean=", mean, ", std=", std);
  fill_random(t, make_draw(philox::Dist::Normal, mean, std), "normal_");
  return t;
}

const Tensor& bernoulli_(const Tensor& t, double p) {
  PE_CHECK(p >= 0 && p <= 1, ValueError, "bernoulli_: expected 0 <= p <= 1, got p=", p);
  fill_random(t, make_draw(philox::Dist::Bernoulli, p, 0.0), "bernoulli_");
  return t;
}

Tensor bernoulli(const Tensor& p) {
  PE_CHECK(is_floating(p.dtype()), NotImplementedError, "bernoulli: expected floating probabilities p, got ",
           dtype_name(p.dtype()));
  if (!is_compute_dtype(p.dtype())) return to_dtype(bernoulli(to_dtype(p, compute_dtype_of(p.dtype()))), p.dtype());
  const Tensor probs = contiguous(p);
  Tensor out = Tensor::empty(p.shape(), p.dtype(), p.device());
  const int64_t per = philox::elements_per_block(philox::Dist::Bernoulli, p.dtype() == DType::Float64);
  const auto [seed, offset] = reserve((out.numel() + per - 1) / per);
  if (out.numel() == 0) return out;
  const bool ok =
      bernoulli_kernel(p.device(), BernoulliArgs{p.dtype(), probs.raw_data(), out.raw_data(), out.numel(), seed, offset});
  PE_CHECK(ok, RuntimeError, "bernoulli: expected every probability p to be in [0, 1], but p of shape ",
           shape_str(p.shape()), " has a value outside it (or NaN)");
  return out;
}

Tensor rand(const Shape& shape, DType dtype, Device device) {
  check_floating(dtype, "rand");
  Tensor t = new_tensor(shape, dtype, device);
  uniform_(t, 0.0, 1.0);
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Device device) {
  check_floating(dtype, "randn");
  Tensor t = new_tensor(shape, dtype, device);
  normal_(t, 0.0, 1.0);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device) {
  PE_CHECK(low < high, ValueError, "randint: expected low < high, got low=", low, ", high=", high);
  PE_CHECK(dtype != DType::Bool || (low >= 0 && high <= 2), ValueError,
           "randint: a bool result needs 0 <= low < high <= 2, got low=", low, ", high=", high);
  Tensor t = new_tensor(shape, dtype, device);
  philox::Draw d;
  d.dist = philox::Dist::Randint;
  d.low = low;
  d.range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  fill_random(t, d, "randint");
  return t;
}

}  // namespace pe::ops
