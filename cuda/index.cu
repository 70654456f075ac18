// CUDA kernels of the index family (contracts in ops/index.h): bounds check, reading through
// indices (take), writing through them (put), advanced-index offsets, nonzero, tril/triu and
// one_hot. Each launcher turns an ops:: argument struct into POD kernel parameters (Strided
// geometry, cuda/strided.h) and registers itself in the family's slot. Errors found on the
// device (an index out of range) come back as data: the bounds-check kernel writes each block's
// first bad position to device memory, the launcher copies those back and returns the first.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "cuda/strided.h"
#include "math/elementwise_math.h"
#include "ops/index.h"

namespace pe::cuda {
namespace {

// ---- block-wide helpers (every thread of the block must call them) ----

// Sum (Min = false) or minimum (Min = true) of v over the block; every thread gets the result.
template <bool Min>
__device__ int64_t block_reduce(int64_t v) {
  __shared__ int64_t partial[32];  // one per warp (at most 1024 threads)
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  const int nwarps = (blockDim.x + warpSize - 1) / warpSize;
  for (int delta = warpSize / 2; delta > 0; delta /= 2) {
    int64_t other = __shfl_down_sync(0xffffffffu, v, delta);
    v = Min ? (other < v ? other : v) : v + other;
  }
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = partial[0];
  for (int w = 1; w < nwarps; ++w) v = Min ? (partial[w] < v ? partial[w] : v) : v + partial[w];
  __syncthreads();  // `partial` is reused by the next call
  return v;
}

// Exclusive prefix sum of v over the block's threads in order; *total gets the block's sum.
// blockDim.x is a multiple of the warp size.
__device__ int block_exclusive_scan(int v, int* total) {
  __shared__ int warp_sums[32];
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  const int nwarps = blockDim.x / warpSize;
  int inclusive = v;
  for (int d = 1; d < warpSize; d *= 2) {
    int y = __shfl_up_sync(0xffffffffu, inclusive, d);
    if (lane >= d) inclusive += y;
  }
  if (lane == warpSize - 1) warp_sums[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {  // scan the warp totals
    int s = lane < nwarps ? warp_sums[lane] : 0;
    for (int d = 1; d < warpSize; d *= 2) {
      int y = __shfl_up_sync(0xffffffffu, s, d);
      if (lane >= d) s += y;
    }
    if (lane < nwarps) warp_sums[lane] = s;
  }
  __syncthreads();
  const int before = (warp == 0 ? 0 : warp_sums[warp - 1]) + inclusive - v;
  *total = warp_sums[nwarps - 1];
  __syncthreads();  // `warp_sums` is reused by the next call
  return before;
}

// ---- kernels ----

// first[block] = the smallest i this block visits with index[i] outside [lo, hi), or n.
__global__ void range_kernel(const int64_t* index, int64_t n, int64_t lo, int64_t hi, int64_t* first) {
  int64_t mine = n;
  PE_GRID_STRIDE_LOOP(i, n) {  // a thread's i only grows: its first hit is its smallest
    const int64_t v = index[i];
    if (v < lo || v >= hi) {
      mine = i;
      break;
    }
  }
  mine = block_reduce<true>(mine);
  if (threadIdx.x == 0) first[blockIdx.x] = mine;
}

// out[p] = x[p + index[p] * scale]; T carries the element's bits.
template <class T>
__global__ void take_elements(T* out, const T* x, const int64_t* index, Strided<3> g, int64_t scale) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[3];
    g.offsets(i, off);
    out[off[0]] = x[off[1] + index[off[2]] * scale];
  }
}

// How put writes one element: a plain store, or an atomic add.
template <class T>
struct Store {
  __device__ static void apply(T* dst, T v) { *dst = v; }
};
template <class T>
struct AtomicAdd {
  __device__ static void apply(T* dst, T v) { atomicAdd(dst, v); }
};
template <>
struct AtomicAdd<int64_t> {  // two's complement: the unsigned add is the signed one
  __device__ static void apply(int64_t* dst, int64_t v) {
    atomicAdd(reinterpret_cast<unsigned long long*>(dst), static_cast<unsigned long long>(v));
  }
};
template <>
struct AtomicAdd<bool> {  // bool + bool is logical or: only `true` is ever stored, so races agree
  __device__ static void apply(bool* dst, bool v) {
    if (v) *dst = true;
  }
};

// Every (j, p) in parallel: x[p + index[p + j*index_step] * scale] (op)= src[p + j*src_step].
template <class T, class Apply>
__global__ void put_elements(T* x, const T* src, const int64_t* index, Strided<3> g, int64_t steps, int64_t src_step,
                             int64_t index_step, int64_t scale) {
  const int64_t total = g.numel * steps;
  PE_GRID_STRIDE_LOOP(i, total) {
    const int64_t j = i / g.numel, p = i - j * g.numel;
    int64_t off[3];
    g.offsets(p, off);
    Apply::apply(x + off[0] + index[off[2] + j * index_step] * scale, src[off[1] + j * src_step]);
  }
}

// Folds for put's Prod/Max/Min modes (ops::PutMode): NaN propagates through max/min; bool's
// product is and, its max or, its min and; int64 products wrap.
template <class T>
struct FoldProd {
  __device__ static void apply(T* dst, T v) {
    if constexpr (std::is_same<T, bool>::value) *dst = *dst && v;
    else *dst = ew::mul_wrapping(*dst, v);
  }
};
template <class T>
struct FoldMax {
  __device__ static void apply(T* dst, T v) {
    if (v != v || v > *dst) *dst = v;
  }
};
template <class T>
struct FoldMin {
  __device__ static void apply(T* dst, T v) {
    if (v != v || v < *dst) *dst = v;
  }
};

// One thread per p walks its j in order: x[p + index[p + j*index_step] * scale] (fold)= src[...].
// Distinct p never share an element of x, so no atomics are needed (and the result is
// deterministic); the emulated GPU offers atomicAdd only, no atomicCAS for a CAS loop.
template <class T, class Fold>
__global__ void put_lines(T* x, const T* src, const int64_t* index, Strided<3> g, int64_t steps, int64_t src_step,
                          int64_t index_step, int64_t scale) {
  PE_GRID_STRIDE_LOOP(p, g.numel) {
    int64_t off[3];
    g.offsets(p, off);
    for (int64_t j = 0; j < steps; ++j)
      Fold::apply(x + off[0] + index[off[2] + j * index_step] * scale, src[off[1] + j * src_step]);
  }
}

// offsets[b] += wrap(index[b]) * stride; offsets contiguous.
__global__ void add_offsets(int64_t* offsets, const int64_t* index, Strided<1> g, int64_t size, int64_t stride) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off;
    g.offsets(i, &off);
    const int64_t k = index[off];
    offsets[i] += (k < 0 ? k + size : k) * stride;
  }
}

// nonzero, pass 1: counts[block] = nonzeros among the row-major positions [block*chunk, +chunk).
template <class T>
__global__ void nonzero_count(const T* x, Strided<1> g, int64_t chunk, int64_t* counts) {
  const int64_t begin = int64_t(blockIdx.x) * chunk, end = begin + chunk < g.numel ? begin + chunk : g.numel;
  int64_t k = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    int64_t off;
    g.offsets(i, &off);
    k += x[off] != T(0);
  }
  k = block_reduce<false>(k);
  if (threadIdx.x == 0) counts[blockIdx.x] = k;
}

// x's unmerged geometry: nonzero writes every coordinate.
struct Coords {
  int ndim = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

// nonzero, pass 2: the block walks its chunk in tiles of blockDim positions; a block scan of the
// nonzero flags gives each its row, starting at the chunk's prefix-sum position starts[block].
template <class T>
__global__ void nonzero_write(const T* x, Coords c, int64_t chunk, const int64_t* starts, int64_t* out) {
  const int64_t begin = int64_t(blockIdx.x) * chunk, end = begin + chunk < c.numel ? begin + chunk : c.numel;
  int64_t row = starts[blockIdx.x];
  for (int64_t tile = begin; tile < end; tile += blockDim.x) {  // the same trip count for the whole block
    const int64_t i = tile + threadIdx.x;
    int64_t coord[kMaxDims];
    int flag = 0;
    if (i < end) {
      int64_t rem = i, off = 0;
      for (int d = c.ndim - 1; d >= 0; --d) {
        coord[d] = rem % c.shape[d];
        rem /= c.shape[d];
        off += coord[d] * c.strides[d];
      }
      flag = x[off] != T(0);
    }
    int total;
    const int before = block_exclusive_scan(flag, &total);
    if (flag) {
      int64_t* o = out + (row + before) * c.ndim;
      for (int d = 0; d < c.ndim; ++d) o[d] = coord[d];
    }
    row += total;
  }
}

template <class T>
__global__ void triangle_elements(T* out, const T* x, Strided<1> g, int64_t rows, int64_t cols, int64_t diagonal,
                                  bool upper) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    const int64_t j = i % cols, r = i / cols % rows;
    const bool keep = upper ? j >= r + diagonal : j <= r + diagonal;
    int64_t off;
    g.offsets(i, &off);
    out[i] = keep ? x[off] : T(0);
  }
}

__global__ void one_hot_elements(const int64_t* index, int64_t total, int64_t classes, int64_t* out) {
  PE_GRID_STRIDE_LOOP(i, total) {
    const int64_t row = i / classes;
    out[i] = index[row] == i - row * classes ? 1 : 0;
  }
}

// ---- launchers ----

// Kernels that only move elements run on unsigned integers of the element's size.
template <class F>
void by_itemsize(DType dtype, F&& f) {
  switch (itemsize(dtype)) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
  }
  throw RuntimeError(str("CUDA index kernels: unsupported item size ", itemsize(dtype)));
}

void download(void* host, const void* device, size_t nbytes) {
  if (nbytes > 0) cuda_hooks().copy_to_host(host, device, nbytes, current_cuda_device());
}

template <int N>
Strided<N> geometry(const Shape& shape, const std::array<const ops::IndexOperand*, N>& ops) {
  std::array<const std::vector<int64_t>*, N> strides;
  for (int k = 0; k < N; ++k) strides[k] = &ops[k]->strides;
  return make_strided<N>(shape, strides);
}

ops::IndexRangeResult index_range(const ops::IndexRangeArgs& a) {
  const unsigned blocks = blocks_for(a.n) < 256 ? blocks_for(a.n) : 256;  // few partial results to copy back
  DeviceBuffer first(int64_t(blocks) * int64_t(sizeof(int64_t)));
  PE_LAUNCH(range_kernel, blocks, kThreads, 0, a.index, a.n, a.lo, a.hi, first.as<int64_t>());
  std::vector<int64_t> host(blocks);
  download(host.data(), first.get(), host.size() * sizeof(int64_t));
  const int64_t pos = *std::min_element(host.begin(), host.end());
  if (pos == a.n) return {};
  ops::IndexRangeResult r{pos, 0};
  download(&r.value, a.index + pos, sizeof(int64_t));
  return r;
}

void take(const ops::TakeArgs& a) {
  Strided<3> g = geometry<3>(a.shape, {&a.out, &a.x, &a.index});
  if (g.numel == 0) return;
  by_itemsize(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    PE_LAUNCH(take_elements<T>, blocks_for(g.numel), kThreads, 0, static_cast<T*>(a.out.data),
              static_cast<const T*>(a.x.data), static_cast<const int64_t*>(a.index.data), g, a.scale);
  });
}

template <class T, class Apply>
void launch_put(const ops::PutArgs& a, const Strided<3>& g) {
  auto* kernel = &put_elements<T, Apply>;
  PE_LAUNCH(kernel, blocks_for(g.numel * a.steps), kThreads, 0, static_cast<T*>(a.x.data),
            static_cast<const T*>(a.src.data), static_cast<const int64_t*>(a.index.data), g, a.steps, a.src_step,
            a.index_step, a.scale);
}

template <class T, class Fold>
void launch_put_lines(const ops::PutArgs& a, const Strided<3>& g) {
  auto* kernel = &put_lines<T, Fold>;
  PE_LAUNCH(kernel, blocks_for(g.numel), kThreads, 0, static_cast<T*>(a.x.data), static_cast<const T*>(a.src.data),
            static_cast<const int64_t*>(a.index.data), g, a.steps, a.src_step, a.index_step, a.scale);
}

void put(const ops::PutArgs& a) {
  Strided<3> g = geometry<3>(a.shape, {&a.x, &a.src, &a.index});
  if (g.numel == 0 || a.steps <= 0) return;
  if (a.mode == ops::PutMode::Store) {
    by_itemsize(a.dtype, [&](auto tag) { launch_put<decltype(tag), Store<decltype(tag)>>(a, g); });
    return;
  }
  PE_DISPATCH_ALL(a.dtype, "index put", [&] {
    switch (a.mode) {
      case ops::PutMode::Sum: return launch_put<scalar_t, AtomicAdd<scalar_t>>(a, g);
      case ops::PutMode::Prod: return launch_put_lines<scalar_t, FoldProd<scalar_t>>(a, g);
      case ops::PutMode::Max: return launch_put_lines<scalar_t, FoldMax<scalar_t>>(a, g);
      case ops::PutMode::Min: return launch_put_lines<scalar_t, FoldMin<scalar_t>>(a, g);
      case ops::PutMode::Store: return;
    }
  });
}

void index_offsets(const ops::IndexOffsetArgs& a) {
  Strided<1> g = geometry<1>(a.shape, {&a.index});
  if (g.numel == 0) return;
  PE_LAUNCH(add_offsets, blocks_for(g.numel), kThreads, 0, a.offsets, static_cast<const int64_t*>(a.index.data), g,
            a.size, a.stride);
}

void nonzero(const ops::NonzeroArgs& a) {
  const int64_t numel = shape_numel(a.shape);
  const int ndim = static_cast<int>(a.shape.size());
  PE_CHECK(ndim <= kMaxDims, RuntimeError, "nonzero on CUDA tensors supports at most ", kMaxDims,
           " dimensions, got ", ndim);
  if (numel == 0) {
    a.allocate(0);
    return;
  }
  // Chunks of at least 8 tiles per block, at most 1024 blocks (so few counts to copy back).
  const int64_t tile = kThreads, min_chunk = 8 * tile;
  int64_t blocks = std::min<int64_t>(1024, (numel + min_chunk - 1) / min_chunk);
  const int64_t chunk = ((numel + blocks - 1) / blocks + tile - 1) / tile * tile;
  blocks = (numel + chunk - 1) / chunk;

  Strided<1> g = geometry<1>(a.shape, {&a.x});
  Coords c;
  c.ndim = ndim;
  c.numel = numel;
  for (int d = 0; d < ndim; ++d) c.shape[d] = a.shape[d], c.strides[d] = a.x.strides[d];

  DeviceBuffer counts(blocks * int64_t(sizeof(int64_t)));
  PE_DISPATCH_ALL(a.dtype, "nonzero", [&] {
    PE_LAUNCH(nonzero_count<scalar_t>, unsigned(blocks), kThreads, 0, static_cast<const scalar_t*>(a.x.data), g,
              chunk, counts.as<int64_t>());
  });
  std::vector<int64_t> starts(static_cast<size_t>(blocks));
  download(starts.data(), counts.get(), starts.size() * sizeof(int64_t));
  int64_t total = 0;
  for (int64_t& s : starts) {  // counts -> exclusive prefix sums
    const int64_t k = s;
    s = total;
    total += k;
  }
  int64_t* out = a.allocate(total);
  if (total == 0 || ndim == 0) return;
  DeviceBuffer device_starts = DeviceBuffer::upload(starts);
  PE_DISPATCH_ALL(a.dtype, "nonzero", [&] {
    PE_LAUNCH(nonzero_write<scalar_t>, unsigned(blocks), kThreads, 0, static_cast<const scalar_t*>(a.x.data), c,
              chunk, device_starts.as<const int64_t>(), out);
  });
}

void triangle(const ops::TriangleArgs& a) {
  Strided<1> g = geometry<1>(a.shape, {&a.x});
  if (g.numel == 0) return;
  const size_t nd = a.shape.size();
  by_itemsize(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    PE_LAUNCH(triangle_elements<T>, blocks_for(g.numel), kThreads, 0, static_cast<T*>(a.out),
              static_cast<const T*>(a.x.data), g, a.shape[nd - 2], a.shape[nd - 1], a.diagonal, a.upper);
  });
}

void one_hot(const ops::OneHotArgs& a) {
  const int64_t total = a.n * a.classes;
  if (total == 0) return;
  PE_LAUNCH(one_hot_elements, blocks_for(total), kThreads, 0, a.index, total, a.classes, a.out);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::index_range_kernel, index_range);
PE_REGISTER_CUDA_KERNEL(ops::take_kernel, take);
PE_REGISTER_CUDA_KERNEL(ops::put_kernel, put);
PE_REGISTER_CUDA_KERNEL(ops::index_offsets_kernel, index_offsets);
PE_REGISTER_CUDA_KERNEL(ops::nonzero_kernel, nonzero);
PE_REGISTER_CUDA_KERNEL(ops::triangle_kernel, triangle);
PE_REGISTER_CUDA_KERNEL(ops::one_hot_kernel, one_hot);

}  // namespace pe::cuda
