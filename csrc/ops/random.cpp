#include "ops/random.h"

#include <cmath>
#include <mutex>

#include "core/allocator.h"
#include "core/checked.h"
#include "core/overlap.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "math/multinomial_math.h"

namespace pe::ops {

namespace {

Generator& resolve(Generator* gen) { return gen ? *gen : default_generator(); }

void check_floating(DType dtype, const char* name) {
  PE_CHECK(is_floating(dtype), TypeError, name, ": expected a floating dtype, got ",
           dtype_name(dtype));
}

// Fills `t` (any layout, any device) on its device, through a contiguous buffer there when it
// cannot be written directly.
void fill_random(const Tensor& t, const philox::Draw& draw, const char* op, Generator* gen) {
  check_no_internal_overlap(op, t);  // an expanded view would get one draw for many elements
  // Storage-only dtypes (float16, int32, ...) draw in their compute dtype and round once.
  const DType compute = compute_dtype_of(t.dtype());
  const bool direct = t.is_contiguous() && compute == t.dtype();
  const Tensor buffer = direct ? t : Tensor::empty(t.shape(), compute, t.device());
  const int64_t per = philox::elements_per_block(draw.dist, compute == DType::Float64);
  const auto [seed, offset] = resolve(gen).reserve((t.numel() + per - 1) / per);
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

std::pair<uint64_t, uint64_t> Generator::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {seed_, offset_};
}

void Generator::set_state(uint64_t seed, uint64_t offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  seed_ = seed;
  offset_ = offset;
}

std::pair<uint64_t, uint64_t> Generator::reserve(int64_t blocks) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t first = offset_;
  offset_ += static_cast<uint64_t>(blocks);
  return {seed_, first};
}

Generator& default_generator() {
  static Generator g;
  return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }
std::pair<uint64_t, uint64_t> seed_state() { return default_generator().state(); }
void set_seed_state(uint64_t seed, uint64_t offset) { default_generator().set_state(seed, offset); }

const Tensor& uniform_(const Tensor& t, double low, double high, Generator* gen) {
  check_floating(t.dtype(), "uniform_");
  PE_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, ValueError,
           "uniform_: expected finite low <= high, got low=", low, ", high=", high);
  fill_random(t, make_draw(philox::Dist::Uniform, low, high - low), "uniform_", gen);
  return t;
}

const Tensor& normal_(const Tensor& t, double mean, double std, Generator* gen) {
  check_floating(t.dtype(), "normal_");
  PE_CHECK(std::isfinite(mean) && std::isfinite(std) && std >= 0, ValueError,
           "normal_: expected a finite mean and a finite std >= 0, got mean=", mean, ", std=", std);
  fill_random(t, make_draw(philox::Dist::Normal, mean, std), "normal_", gen);
  return t;
}

const Tensor& bernoulli_(const Tensor& t, double p, Generator* gen) {
  PE_CHECK(p >= 0 && p <= 1, ValueError, "bernoulli_: expected 0 <= p <= 1, got p=", p);
  fill_random(t, make_draw(philox::Dist::Bernoulli, p, 0.0), "bernoulli_", gen);
  return t;
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  PE_CHECK(is_floating(p.dtype()), NotImplementedError, "bernoulli: expected floating probabilities p, got ",
           dtype_name(p.dtype()));
  if (!is_compute_dtype(p.dtype()))
    return to_dtype(bernoulli(to_dtype(p, compute_dtype_of(p.dtype())), gen), p.dtype());
  const Tensor probs = contiguous(p);
  Tensor out = Tensor::empty(p.shape(), p.dtype(), p.device());
  const int64_t per = philox::elements_per_block(philox::Dist::Bernoulli, p.dtype() == DType::Float64);
  const auto [seed, offset] = resolve(gen).reserve((out.numel() + per - 1) / per);
  if (out.numel() == 0) return out;
  const bool ok =
      bernoulli_kernel(p.device(), BernoulliArgs{p.dtype(), probs.raw_data(), out.raw_data(), out.numel(), seed, offset});
  PE_CHECK(ok, RuntimeError, "bernoulli: expected every probability p to be in [0, 1], but p of shape ",
           shape_str(p.shape()), " has a value outside it (or NaN)");
  return out;
}

Tensor rand(const Shape& shape, DType dtype, Device device, Generator* gen) {
  check_floating(dtype, "rand");
  Tensor t = new_tensor(shape, dtype, device);
  uniform_(t, 0.0, 1.0, gen);
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Device device, Generator* gen) {
  check_floating(dtype, "randn");
  Tensor t = new_tensor(shape, dtype, device);
  normal_(t, 0.0, 1.0, gen);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device, Generator* gen) {
  PE_CHECK(low < high, ValueError, "randint: expected low < high, got low=", low, ", high=", high);
  PE_CHECK(dtype != DType::Bool || (low >= 0 && high <= 2), ValueError,
           "randint: a bool result needs 0 <= low < high <= 2, got low=", low, ", high=", high);
  Tensor t = new_tensor(shape, dtype, device);
  philox::Draw d;
  d.dist = philox::Dist::Randint;
  d.low = low;
  d.range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  fill_random(t, d, "randint", gen);
  return t;
}

Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement, Generator* gen) {
  PE_CHECK(probs.ndim() == 1 || probs.ndim() == 2, RuntimeError, "multinomial: prob_dist must be 1 or 2 dim, got ",
           probs.ndim(), " dims (shape ", shape_str(probs.shape()), ")");
  PE_CHECK(is_floating(probs.dtype()), RuntimeError,
           "multinomial only supports floating-point dtypes for input, got: ", dtype_name(probs.dtype()));
  PE_CHECK(num_samples > 0, RuntimeError, "multinomial: cannot sample n_sample <= 0 samples (num_samples=",
           num_samples, ")");
  const int64_t n = probs.shape().back();
  const int64_t rows = probs.ndim() == 2 ? probs.shape()[0] : 1;
  PE_CHECK(n > 0, RuntimeError, "multinomial: number of categories cannot be zero (prob_dist of shape ",
           shape_str(probs.shape()), ")");
  PE_CHECK(replacement || num_samples <= n, RuntimeError, "multinomial: cannot sample n_sample > prob_dist.size(-1) "
           "samples without replacement (n_sample=", num_samples, ", prob_dist.size(-1)=", n, ")");
  Shape out_shape = probs.ndim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  Tensor out = Tensor::empty(out_shape, DType::Int64, probs.device());
  if (rows == 0) return out;
  // PyTorch's checks, as reductions on the weights' own device, read back before any draw.
  auto holds = [](const Tensor& mask) { return *to_device(all(mask, std::nullopt, false), Device{}).data<bool>(); };
  // The kernel reads float32 or float64; other floating dtypes (storage-only ones) as float32.
  const bool native = probs.dtype() == DType::Float32 || probs.dtype() == DType::Float64;
  const Tensor p = contiguous(native ? probs : to_dtype(probs, DType::Float32));
  PE_CHECK(holds(binary(ew::BinaryOp::LogicalAnd, binary(ew::BinaryOp::Ge, p, 0.0), unary(ew::UnaryOp::Isfinite, p))),
           RuntimeError, "multinomial: probability tensor contains either `inf`, `nan` or element < 0");
  PE_CHECK(holds(binary(ew::BinaryOp::Gt, sum(p, Dims{std::vector<int64_t>{probs.ndim() - 1}}, false, std::nullopt), 0.0)), RuntimeError,
           "multinomial: invalid multinomial distribution (sum of probabilities <= 0)");
  const int64_t per_row = philox::multinomial_blocks(n, num_samples, replacement);
  const auto [seed, offset] = resolve(gen).reserve(checked_mul(rows, per_row, "multinomial blocks"));
  Tensor scratch = Tensor::empty({rows, n}, DType::Float64, probs.device());
  multinomial_kernel(probs.device(), MultinomialArgs{p.dtype(), p.raw_data(), out.data<int64_t>(),
                                                     scratch.data<double>(), rows, n, num_samples, replacement, seed,
                                                     offset});
  return out;
}

}  // namespace pe::ops
