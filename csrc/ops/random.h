// Random tensors from the process-wide Philox generator state (seed, offset). Every draw
// reserves the Philox blocks it reads by advancing the offset, so draws never overlap and a
// (seed, offset) pair replays a draw exactly, on any thread count. CUDA tensors get the same
// numbers as the CPU (they are made on the CPU and copied).
#pragma once
#include <cstdint>
#include <utility>

#include "core/tensor.h"

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

}  // namespace pe::ops
