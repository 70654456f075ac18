// Multinomial sampling of one row of weights, written once for the CPU loop
// (csrc/cpu/random.cpp) and the CUDA kernel (cuda/random.cu), so a generator state gives the
// same samples on both. Uniforms come from the Philox stream (math/philox.h): uniform j of a row
// is the 53-bit double of words 2 (j % 2), 2 (j % 2) + 1 of block first + j / 2.
#pragma once
#include <cmath>
#include <cstdint>

#include "math/host_device.h"
#include "math/philox.h"

namespace pe::philox {

// Blocks one row reads: a uniform per sample with replacement, per category without.
PE_HOST_DEVICE inline int64_t multinomial_blocks(int64_t n, int64_t k, bool replacement) {
  return ((replacement ? k : n) + 1) / 2;
}

PE_HOST_DEVICE inline Block row_block(uint64_t seed, uint64_t first, int64_t j) {
  return block(seed, first + static_cast<uint64_t>(j / 2));
}

// With replacement: inverse-CDF sampling, a binary search of u * total in the running sums
// (cdf, n doubles of scratch); a zero weight spans an empty interval and is never drawn.
// Without replacement: the exponential-race trick PyTorch uses (the k largest of
// p[i] / E[i], E[i] ~ Exp(1), taken in order, are a draw without replacement); zero weights get
// keys -E[i] <= 0, below every positive one, so they come last, in random order, as PyTorch's
// may. `p` holds the row's n validated weights (non-negative, finite, positive sum).
template <class T>
PE_HOST_DEVICE inline void multinomial_row(const T* p, int64_t n, int64_t k, bool replacement, double* scratch,
                                           int64_t* out, uint64_t seed, uint64_t first) {
  if (replacement) {
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      total += static_cast<double>(p[i]);
      scratch[i] = total;
    }
    Block b{};
    for (int64_t s = 0; s < k; ++s) {
      if (s % 2 == 0) b = row_block(seed, first, s);
      const int w = 2 * static_cast<int>(s % 2);
      const double u = uniform_double(b.w[w], b.w[w + 1]) * total;
      int64_t lo = 0, hi = n - 1;
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (scratch[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      while (lo > 0 && p[lo] == T(0)) --lo;  // u rounded up to total: the last positive weight
      out[s] = lo;
    }
    return;
  }
  Block b{};
  for (int64_t i = 0; i < n; ++i) {
    if (i % 2 == 0) b = row_block(seed, first, i);
    const int w = 2 * static_cast<int>(i % 2);
    const double e = -std::log(uniform_open_closed(b.w[w], b.w[w + 1]));  // Exp(1), finite, >= 0
    const double pi = static_cast<double>(p[i]);
    scratch[i] = pi > 0.0 ? pi / e : -e;
  }
  // The k largest keys in O(n log k): a min-heap of indices in out[0, k) (root: the smallest
  // key kept), then heap-sorted so out[0] has the largest key. Ties go to the lower index.
  auto below = [scratch](int64_t i, int64_t j) {
    return scratch[i] < scratch[j] || (scratch[i] == scratch[j] && i > j);
  };
  auto sift_down = [&](int64_t root, int64_t size) {
    for (;;) {
      int64_t child = 2 * root + 1;
      if (child >= size) return;
      if (child + 1 < size && below(out[child + 1], out[child])) ++child;
      if (!below(out[child], out[root])) return;
      const int64_t t = out[root];
      out[root] = out[child];
      out[child] = t;
      root = child;
    }
  };
  for (int64_t i = 0; i < k; ++i) out[i] = i;
  for (int64_t i = k / 2 - 1; i >= 0; --i) sift_down(i, k);
  for (int64_t i = k; i < n; ++i) {
    if (below(out[0], i)) {
      out[0] = i;
      sift_down(0, k);
    }
  }
  for (int64_t size = k - 1; size > 0; --size) {  // the smallest key goes last
    const int64_t t = out[0];
    out[0] = out[size];
    out[size] = t;
    sift_down(0, size);
  }
}

}  // namespace pe::philox
