// The sort family on the GPU (the contracts are in ops/sort.h).
//
// topk: rows of up to kRankMaxN elements by ranking: one thread per element counts the row's
// elements that come before it under the total order of math/topk_order.h (no two elements
// tie there), and an element of rank j < k writes its index to output slot j (O(n) work per
// element, no scratch memory). Longer rows (a pruning step over a whole weight tensor) are
// sorted as below and keep their first k, O(n log n). Either way the results equal the CPU
// kernel's exactly.
//
// sort: rows of up to kTile elements are sorted in one block, in shared memory, by a bitonic
// network (padded to a power of two with "after everything" slots); longer rows first sort
// each kTile slice that way into a scratch buffer of indices, then merge pairs of sorted runs
// (width kTile, 2 kTile, ...) until one run is left: in a merge pass each element finds its
// output slot as its position in its own run plus the count of the other run's elements that
// come before it (a binary search), so the pass is one thread per element with no
// synchronisation, and the last pass writes the output. The order (math/topk_order.h) is total
// (ties by index), so the result is the CPU kernel's exactly.
//
// median: the rows sorted into scratch (as sort), then one thread per row counts the row's
// NaNs (they sit at its end) and picks the element of the median's rank.
// mode: one thread per row walks the row's ascending order (from the sort); searchsorted: one
// thread per value, the binary search of math/search_math.h.
#include <cstdint>

#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "cuda/strided.h"
#include "math/search_math.h"
#include "math/topk_order.h"
#include "ops/sort.h"

namespace pe::cuda {
namespace {

using ops::ModeArgs;
using ops::SearchArgs;
using ops::TopkArgs;

template <class T>
__global__ void rank_kernel(int64_t* out, const T* in, Strided<2> rows, int64_t n, int64_t k, int64_t s_in,
                            int64_t s_out, bool largest) {
  const int64_t total = rows.numel * n;
  PE_GRID_STRIDE_LOOP(e, total) {
    const int64_t r = e / n, i = e - r * n;
    int64_t off[2];
    rows.offsets(r, off);
    const T* x = in + off[0];
    const T v = x[i * s_in];
    int64_t rank = 0;
    for (int64_t j = 0; j < n && rank < k; ++j)
      rank += sorting::topk_before(x[j * s_in], j, v, i, largest) ? 1 : 0;
    if (rank < k) out[off[1] + rank * s_out] = i;
  }
}

template <class T>
void topk_t(const TopkArgs& a) {
  const Strided<2> rows = make_strided<2>(a.row_shape, {&a.in_row_strides, &a.out_row_strides});
  auto* kern = &rank_kernel<T>;
  PE_LAUNCH(kern, blocks_for(rows.numel * a.n), kThreads, 0, a.out, static_cast<const T*>(a.in), rows, a.n, a.k,
            a.in_stride, a.out_stride, a.largest);
}


// ---------------------------------------------------------------- sort
constexpr int64_t kTile = 1024;  // elements per shared-memory sort: 16 KiB of keys and indices for double

// Index -1 marks a padding slot, which comes after every element.
template <class T>
__device__ __forceinline__ bool slot_before(T va, int64_t ia, T vb, int64_t ib, bool largest) {
  if (ia < 0) return false;
  if (ib < 0) return true;
  return sorting::topk_before(va, ia, vb, ib, largest);
}

// One block per (row, tile): sorts elements [tile * kTile, +len) of the row. Writes the row's
// indices to `out` (strided, when the row is one tile) or to `scratch` (contiguous rows of n).
template <class T>
__global__ void tile_sort_kernel(int64_t* out, int64_t* scratch, const T* in, Strided<2> rows, int64_t n,
                                 int64_t tiles, int64_t p, int64_t s_in, int64_t s_out, bool largest) {
  PE_DYNAMIC_SHARED(unsigned char, smem);
  int64_t* idx = reinterpret_cast<int64_t*>(smem);
  T* key = reinterpret_cast<T*>(smem + p * sizeof(int64_t));
  for (int64_t job = blockIdx.x; job < rows.numel * tiles; job += gridDim.x) {
    const int64_t r = job / tiles, tile = job - r * tiles;
    int64_t off[2];
    rows.offsets(r, off);
    const T* x = in + off[1];
    const int64_t start = tile * kTile;
    const int64_t len = n - start < kTile ? n - start : kTile;
    for (int64_t i = threadIdx.x; i < p; i += blockDim.x) {
      idx[i] = i < len ? start + i : -1;
      key[i] = i < len ? x[(start + i) * s_in] : T(0);
    }
    __syncthreads();
    for (int64_t k = 2; k <= p; k *= 2) {
      for (int64_t j = k / 2; j > 0; j /= 2) {
        for (int64_t i = threadIdx.x; i < p; i += blockDim.x) {
          const int64_t l = i ^ j;
          if (l <= i) continue;
          const bool up = (i & k) == 0;  // this pair's half of the bitonic sequence sorts ascending
          const bool swap = up ? slot_before(key[l], idx[l], key[i], idx[i], largest)
                               : slot_before(key[i], idx[i], key[l], idx[l], largest);
          if (swap) {
            const T tk = key[i];
            key[i] = key[l];
            key[l] = tk;
            const int64_t ti = idx[i];
            idx[i] = idx[l];
            idx[l] = ti;
          }
        }
        __syncthreads();
      }
    }
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
      if (tiles == 1) out[off[0] + i * s_out] = idx[i];
      else scratch[r * n + start + i] = idx[i];
    }
    __syncthreads();  // the next job reuses the shared arrays
  }
}

// One merge pass: runs of `width` in src (contiguous rows of n) become runs of 2 * width, in
// dst, or in the strided output on the last pass (dst == nullptr).
template <class T>
__global__ void merge_kernel(int64_t* dst, int64_t* out, const int64_t* src, const T* in, Strided<2> rows,
                             int64_t n, int64_t width, int64_t s_in, int64_t s_out, bool largest) {
  PE_GRID_STRIDE_LOOP(e, rows.numel * n) {
    const int64_t r = e / n, j = e - r * n;
    int64_t off[2];
    rows.offsets(r, off);
    const T* x = in + off[1];
    const int64_t* row = src + r * n;
    const int64_t run = j / width, own_start = run * width;
    const int64_t pair_start = (run & ~int64_t(1)) * width;
    const int64_t other_start = (run & 1) ? pair_start : pair_start + width;
    const int64_t other_end = other_start + width < n ? other_start + width : n;
    const int64_t me = row[j];
    const T v = x[me * s_in];
    int64_t lo = other_start < n ? other_start : n, hi = other_start < n ? other_end : n;
    while (lo < hi) {  // count of the other run's elements before `me`
      const int64_t mid = lo + ((hi - lo) >> 1);
      if (sorting::topk_before(x[row[mid] * s_in], row[mid], v, me, largest)) lo = mid + 1;
      else hi = mid;
    }
    const int64_t before = lo - (other_start < n ? other_start : n);
    const int64_t pos = pair_start + (j - own_start) + before;
    if (dst) dst[r * n + pos] = me;
    else out[off[0] + pos * s_out] = me;
  }
}

template <class T>
void sort_t(const TopkArgs& a) {
  const Strided<2> rows = make_strided<2>(a.row_shape, {&a.out_row_strides, &a.in_row_strides});
  const int64_t tiles = (a.n + kTile - 1) / kTile;
  int64_t p = 1;
  while (p < (a.n < kTile ? a.n : kTile)) p *= 2;
  const int threads = static_cast<int>(p / 2 < 32 ? 32 : (p / 2 > 256 ? 256 : p / 2));
  const int64_t jobs = rows.numel * tiles;
  DeviceBuffer scratch_a, scratch_b;
  if (tiles > 1) {
    scratch_a = DeviceBuffer(rows.numel * a.n * int64_t(sizeof(int64_t)));
    scratch_b = DeviceBuffer(rows.numel * a.n * int64_t(sizeof(int64_t)));
  }
  const T* in = static_cast<const T*>(a.in);
  auto* tile_k = &tile_sort_kernel<T>;
  PE_LAUNCH(tile_k, static_cast<unsigned>(jobs < 4096 ? jobs : 4096), threads,
            p * (sizeof(int64_t) + sizeof(T)), a.out, scratch_a.as<int64_t>(), in, rows, a.n, tiles, p, a.in_stride,
            a.out_stride, a.largest);
  int64_t* src = scratch_a.as<int64_t>();
  int64_t* dst = scratch_b.as<int64_t>();
  auto* merge_k = &merge_kernel<T>;
  for (int64_t width = kTile; width < a.n; width *= 2) {
    const bool last = width * 2 >= a.n;
    PE_LAUNCH(merge_k, blocks_for(rows.numel * a.n), kThreads, 0, last ? nullptr : dst, a.out, src, in, rows, a.n,
              width, a.in_stride, a.out_stride, a.largest);
    int64_t* t = src;
    src = dst;
    dst = t;
  }
}

void sort(const TopkArgs& a) {
  if (a.dtype == DType::Float64) return sort_t<double>(a);
  if (a.dtype == DType::Int64) return sort_t<int64_t>(a);
  sort_t<float>(a);
}

// Every row of `a` (its input side) sorted into contiguous scratch rows of n indices.
template <class T>
DeviceBuffer sort_into_scratch(TopkArgs a) {
  const int64_t rows = shape_numel(a.row_shape);
  DeviceBuffer order(rows * a.n * int64_t(sizeof(int64_t)));
  a.k = a.n;
  a.out = order.as<int64_t>();
  a.out_row_strides = contiguous_strides(a.row_shape);
  for (int64_t& st : a.out_row_strides) st *= a.n;
  a.out_stride = 1;
  sort_t<T>(a);
  return order;
}

// ---------------------------------------------------------------- topk
// Rows longer than this are ranked by sorting them (O(n log n)) rather than by counting
// (O(n) per element, O(n^2) per row): a pruning step over a million weights stays fast.
constexpr int64_t kRankMaxN = 2048;

__global__ void first_k_kernel(int64_t* out, const int64_t* order, Strided<1> rows, int64_t n, int64_t k,
                               int64_t s_out) {
  PE_GRID_STRIDE_LOOP(e, rows.numel * k) {
    const int64_t r = e / k, j = e - r * k;
    int64_t off[1];
    rows.offsets(r, off);
    out[off[0] + j * s_out] = order[r * n + j];
  }
}

template <class T>
void topk_any(const TopkArgs& a) {
  if (a.n <= kRankMaxN) return topk_t<T>(a);
  const DeviceBuffer order = sort_into_scratch<T>(a);
  const Strided<1> rows = make_strided<1>(a.row_shape, {&a.out_row_strides});
  PE_LAUNCH(first_k_kernel, blocks_for(rows.numel * a.k), kThreads, 0, a.out, order.as<int64_t>(), rows, a.n, a.k,
            a.out_stride);
}

void topk(const TopkArgs& a) {
  if (a.dtype == DType::Float64) return topk_any<double>(a);
  if (a.dtype == DType::Int64) return topk_any<int64_t>(a);
  topk_any<float>(a);
}

// ---------------------------------------------------------------- median
template <class T>
__global__ void median_pick_kernel(int64_t* out, const T* in, const int64_t* order, Strided<2> rows, int64_t n,
                                   int64_t s_in, bool ignore_nan) {
  PE_GRID_STRIDE_LOOP(r, rows.numel) {
    int64_t off[2];
    rows.offsets(r, off);
    const T* x = in + off[1];
    const int64_t* o = order + r * n;
    int64_t nans = 0;
    while (nans < n && x[o[n - 1 - nans] * s_in] != x[o[n - 1 - nans] * s_in]) ++nans;
    out[off[0]] = o[sorting::median_rank(n, nans, ignore_nan)];
  }
}

template <class T>
void median_t(const ops::MedianArgs& a) {
  TopkArgs s;
  s.dtype = a.dtype;
  s.largest = false;
  s.row_shape = a.row_shape;
  s.n = a.n;
  s.in = a.in;
  s.in_row_strides = a.in_row_strides;
  s.in_stride = a.in_stride;
  const DeviceBuffer order = sort_into_scratch<T>(s);
  const Strided<2> rows = make_strided<2>(a.row_shape, {&a.out_row_strides, &a.in_row_strides});
  auto* k = &median_pick_kernel<T>;
  PE_LAUNCH(k, blocks_for(rows.numel), kThreads, 0, a.out, static_cast<const T*>(a.in), order.as<int64_t>(), rows,
            a.n, a.in_stride, a.ignore_nan);
}

void median(const ops::MedianArgs& a) {
  if (a.dtype == DType::Float64) return median_t<double>(a);
  if (a.dtype == DType::Int64) return median_t<int64_t>(a);
  median_t<float>(a);
}

// ---------------------------------------------------------------- mode
template <class T>
__global__ void mode_kernel(int64_t* out, const T* in, const int64_t* order, Strided<2> rows, int64_t n,
                            int64_t s_in) {
  PE_GRID_STRIDE_LOOP(r, rows.numel) {
    int64_t off[2];
    rows.offsets(r, off);
    const T* x = in + off[1];
    const int64_t* o = order + r * n;
    int64_t best_len = 0, best_idx = o[0], run = 0;
    for (int64_t j = 0; j < n; ++j) {  // the first longest run of equal values, by its last element
      run = (j > 0 && sorting::same_value(x[o[j - 1] * s_in], x[o[j] * s_in])) ? run + 1 : 1;
      if (run > best_len) best_len = run, best_idx = o[j];
    }
    out[off[0]] = best_idx;
  }
}

template <class T>
void mode_t(const ModeArgs& a) {
  const Strided<2> rows = make_strided<2>(a.row_shape, {&a.out_row_strides, &a.in_row_strides});
  auto* k = &mode_kernel<T>;
  PE_LAUNCH(k, blocks_for(rows.numel), kThreads, 0, a.out, static_cast<const T*>(a.in), a.order, rows, a.n,
            a.in_stride);
}

void mode(const ModeArgs& a) {
  if (a.dtype == DType::Float64) return mode_t<double>(a);
  if (a.dtype == DType::Int64) return mode_t<int64_t>(a);
  mode_t<float>(a);
}

// ---------------------------------------------------------------- searchsorted
template <class T>
__global__ void search_kernel(int64_t* out, const T* b, const int64_t* sorter, const T* v, int64_t total,
                              int64_t n, int64_t m, bool right) {
  PE_GRID_STRIDE_LOOP(e, total) {
    const int64_t r = e / m;
    out[e] = sorting::search_row(b + r * n, sorter ? sorter + r * n : nullptr, n, v[e], right);
  }
}

template <class T>
void search_t(const SearchArgs& a) {
  auto* k = &search_kernel<T>;
  const int64_t total = a.rows * a.m;
  PE_LAUNCH(k, blocks_for(total), kThreads, 0, a.out, static_cast<const T*>(a.boundaries), a.sorter,
            static_cast<const T*>(a.values), total, a.n, a.m, a.right);
}

void searchsorted(const SearchArgs& a) {
  if (a.dtype == DType::Float64) return search_t<double>(a);
  if (a.dtype == DType::Int64) return search_t<int64_t>(a);
  search_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::topk_kernel, topk);
PE_REGISTER_CUDA_KERNEL(ops::sort_kernel, sort);
PE_REGISTER_CUDA_KERNEL(ops::median_kernel, median);
PE_REGISTER_CUDA_KERNEL(ops::mode_kernel, mode);
PE_REGISTER_CUDA_KERNEL(ops::searchsorted_kernel, searchsorted);

}  // namespace pe::cuda
