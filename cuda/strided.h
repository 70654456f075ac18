// Geometry of N strided operands that share one shape, passed by value to a kernel: each
// thread turns a linear element index into one element offset per operand.
#pragma once
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cuda_emu.h"

namespace pe::cuda {

// Dims left after merging; the op layer never sees this limit unless a tensor has more
// than this many dims that cannot be merged.
constexpr int kMaxDims = 12;

template <int N>
struct Strided {
  int ndim = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};  // in elements; 0 where an operand is broadcast

  // Offsets (in elements) of row-major linear index i < numel in every operand. The
  // outermost dim needs no division, so a fully merged (contiguous) operand needs none.
  __host__ __device__ __forceinline__ void offsets(int64_t i, int64_t* off) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d > 0; --d) {
      int64_t q = i / shape[d], r = i - q * shape[d];
      i = q;
      for (int k = 0; k < N; ++k) off[k] += r * strides[k][d];
    }
    if (ndim > 0)
      for (int k = 0; k < N; ++k) off[k] += i * strides[k][0];
  }
};

// Host side: drop size-1 dims and merge neighbours that are contiguous for every operand
// (fewer divisions per element); throws when more than kMaxDims dims remain.
template <int N>
Strided<N> make_strided(const std::vector<int64_t>& shape, const std::array<const std::vector<int64_t>*, N>& strides) {
  Strided<N> g;
  g.numel = 1;
  for (int64_t s : shape) g.numel *= s;
  int nd = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < N && merge; ++k)
      merge = g.strides[k][nd - 1] == (*strides[k])[d] * shape[d];
    if (merge) {
      g.shape[nd - 1] *= shape[d];
      for (int k = 0; k < N; ++k) g.strides[k][nd - 1] = (*strides[k])[d];
      continue;
    }
    if (nd == kMaxDims)
      throw std::runtime_error("CUDA kernels support tensors of at most " + std::to_string(kMaxDims) +
                               " non-mergeable dimensions, got " + std::to_string(shape.size()) +
                               " dimensions; make the tensor contiguous first");
    g.shape[nd] = shape[d];
    for (int k = 0; k < N; ++k) g.strides[k][nd] = (*strides[k])[d];
    ++nd;
  }
  g.ndim = nd;
  return g;
}

// Launch shape for a grid-stride loop over n items.
constexpr int kThreads = 256;
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t max_blocks = 4096;  // enough to fill any current GPU; the loop strides over the rest
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > max_blocks ? max_blocks : b));
}

}  // namespace pe::cuda

// First index and stride of a grid-stride loop (64-bit: tensors may exceed 2^31 elements).
#define PE_GRID_STRIDE_LOOP(i, n)                                                   \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);        \
       i += int64_t(gridDim.x) * blockDim.x)
