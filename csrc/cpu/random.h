// CPU random fills on Philox4x32-10 (math/philox.h). A draw of n elements reads the Philox
// blocks offset, offset + 1, ... of the stream keyed by the seed; element i takes its words
// from block offset + i / E, where E (elements per block) depends on the distribution and
// dtype. So element i depends only on (seed, offset, i), never on how threads split the work.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace pe::cpu {

enum class Dist { Uniform, Normal, Randint, Bernoulli };

// Philox blocks a draw of n elements of `dtype` consumes (how far the offset advances).
int64_t philox_blocks(Dist dist, DType dtype, int64_t n);

// Each fills a contiguous CPU tensor `out`.
void fill_uniform(const Tensor& out, double low, double high, uint64_t seed, uint64_t offset);
void fill_normal(const Tensor& out, double mean, double std, uint64_t seed, uint64_t offset);
void fill_randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t offset);  // [low, high)
void fill_bernoulli(const Tensor& out, double p, uint64_t seed, uint64_t offset);                // 1 with prob. p

}  // namespace pe::cpu
