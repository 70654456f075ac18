// embedding_bag forward and backward on the GPU (contract in ops/embedding.h).
//  - forward: one block per bag (grid-stride over bags), its threads over D, so each entry's
//    row is read coalesced; every thread walks the bag's entries itself (the index loads are
//    broadcast within the block), so no shared memory and no barriers are needed.
//  - backward (sum / mean): the same layout, adding each entry's share into grad_weight with
//    atomicAdd: rows that occur several times get their sums in a run-dependent order (float
//    rounding may differ from run to run, as with scatter_add). scale_grad_by_freq counts the
//    rows first (integer atomics, exact). Max: one thread per (bag, column) adds into the
//    arg-max row. grad_per_sample_weights: one block per entry, a block reduction over D.
#include <cmath>
#include <cstdint>

#include "cuda/block_reduce.h"
#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "cuda/strided.h"
#include "ops/embedding.h"

namespace pe::cuda {
namespace {

using ops::BagMode;
using ops::EmbeddingBagArgs;

unsigned grid_for(int64_t blocks) { return static_cast<unsigned>(blocks < 1 ? 1 : (blocks < 4096 ? blocks : 4096)); }

// The bag holding entry i (the last bag starting at or before i), or -1 when i is in none.
__device__ int64_t bag_of_entry(const EmbeddingBagArgs& a, int64_t i) {
  int64_t lo = 0, hi = a.bags;  // first b with offsets[b] > i, in [0, bags]
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (a.offsets[mid] <= i) lo = mid + 1;
    else hi = mid;
  }
  const int64_t b = lo - 1;
  return b >= 0 && i < ops::bag_end(a.offsets, a.m, a.n, b) ? b : -1;
}

template <class T>
__global__ void forward_kernel(EmbeddingBagArgs a) {
  const T* w = static_cast<const T*>(a.weight);
  const T* psw = static_cast<const T*>(a.per_sample_weights);
  T* out = static_cast<T*>(a.out);
  for (int64_t b = blockIdx.x; b < a.bags; b += gridDim.x) {
    const int64_t s = a.offsets[b], e = ops::bag_end(a.offsets, a.m, a.n, b);
    for (int64_t d = threadIdx.x; d < a.dim; d += blockDim.x) {
      T acc = T(0);
      int64_t count = 0, arg = -1;
      for (int64_t i = s; i < e; ++i) {
        const int64_t v = a.indices[i];
        if (v == a.padding_idx) continue;
        const T x = w[v * a.dim + d];
        if (a.mode == BagMode::Max) {
          // First maximum wins; a NaN (x != x) replaces a number and then stays (torch's max).
          if (count == 0 || x > acc || (x != x && acc == acc)) acc = x, arg = v;
        } else {
          acc += psw ? psw[i] * x : x;
        }
        ++count;
      }
      if (a.mode == BagMode::Mean && count > 1) acc /= T(count);
      out[b * a.dim + d] = acc;
      if (a.mode == BagMode::Max) a.max_indices[b * a.dim + d] = arg;
    }
  }
}

template <class T>
__global__ void zero_kernel(T* p, int64_t n) {
  PE_GRID_STRIDE_LOOP(i, n) p[i] = T(0);
}

__global__ void count_kernel(EmbeddingBagArgs a, unsigned long long* counts) {
  PE_GRID_STRIDE_LOOP(i, a.n) {
    if (a.indices[i] != a.padding_idx && bag_of_entry(a, i) >= 0) atomicAdd(counts + a.indices[i], 1ull);
  }
}

template <class T>
__global__ void backward_sum_kernel(EmbeddingBagArgs a, const unsigned long long* counts) {
  const T* g = static_cast<const T*>(a.grad);
  const T* psw = static_cast<const T*>(a.per_sample_weights);
  T* gw = static_cast<T*>(a.grad_weight);
  for (int64_t b = blockIdx.x; b < a.bags; b += gridDim.x) {
    const int64_t s = a.offsets[b], e = ops::bag_end(a.offsets, a.m, a.n, b);
    T inv_size = T(1);
    if (a.mode == BagMode::Mean) {
      int64_t size = 0;
      for (int64_t i = s; i < e; ++i) size += a.indices[i] != a.padding_idx;
      if (size > 0) inv_size = T(1) / T(size);
    }
    for (int64_t d = threadIdx.x; d < a.dim; d += blockDim.x) {
      const T gb = g[b * a.dim + d];
      for (int64_t i = s; i < e; ++i) {
        const int64_t v = a.indices[i];
        if (v == a.padding_idx) continue;
        T f = a.mode == BagMode::Mean ? inv_size : T(1);
        if (psw) f *= psw[i];
        if (counts) f /= T(counts[v]);
        atomicAdd(gw + v * a.dim + d, f * gb);
      }
    }
  }
}

template <class T>
__global__ void backward_max_kernel(EmbeddingBagArgs a) {
  const T* g = static_cast<const T*>(a.grad);
  T* gw = static_cast<T*>(a.grad_weight);
  PE_GRID_STRIDE_LOOP(k, a.bags * a.dim) {
    const int64_t v = a.max_indices[k];
    if (v >= 0) atomicAdd(gw + v * a.dim + k % a.dim, g[k]);
  }
}

template <class T>
__global__ void psw_grad_kernel(EmbeddingBagArgs a) {
  const T* g = static_cast<const T*>(a.grad);
  const T* w = static_cast<const T*>(a.weight);
  T* gp = static_cast<T*>(a.grad_psw);
  for (int64_t i = blockIdx.x; i < a.n; i += gridDim.x) {
    const int64_t v = a.indices[i];
    const int64_t b = v == a.padding_idx ? -1 : bag_of_entry(a, i);
    T s = T(0);
    if (b >= 0)
      for (int64_t d = threadIdx.x; d < a.dim; d += blockDim.x) s += g[b * a.dim + d] * w[v * a.dim + d];
    s = block_allreduce<BlockSum>(s);  // every thread reaches it (b is uniform over the block)
    if (threadIdx.x == 0) gp[i] = s;
  }
}

// One block: the first i with offsets[i] > offsets[i + 1] (m - 1 when none).
__global__ void decrease_kernel(const int64_t* off, int64_t m, int64_t* first) {
  __shared__ int64_t best[kThreads];
  int64_t mine = m - 1;
  for (int64_t i = threadIdx.x; i + 1 < m; i += blockDim.x) {
    if (off[i] > off[i + 1]) {
      mine = i;
      break;  // later i of this thread are larger
    }
  }
  best[threadIdx.x] = mine;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (int(threadIdx.x) < step && best[threadIdx.x + step] < best[threadIdx.x]) best[threadIdx.x] = best[threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0) *first = best[0];
}

// ---------------------------------------------------------------- launchers
void download(void* host, const void* device, size_t nbytes) {
  if (nbytes > 0) cuda_hooks().copy_to_host(host, device, nbytes, current_cuda_device());
}

ops::BagOffsetsCheck offsets_check(const int64_t* off, int64_t m) {
  ops::BagOffsetsCheck c;
  download(&c.first, off, sizeof(int64_t));
  download(&c.last, off + m - 1, sizeof(int64_t));
  if (m < 2) return c;
  DeviceBuffer first(sizeof(int64_t));
  PE_LAUNCH(decrease_kernel, 1, kThreads, 0, off, m, first.as<int64_t>());
  int64_t pos = m - 1;
  download(&pos, first.get(), sizeof(int64_t));
  if (pos < m - 1) {
    c.decrease = pos;
    download(&c.left, off + pos, sizeof(int64_t));
    download(&c.right, off + pos + 1, sizeof(int64_t));
  }
  return c;
}

template <class T>
void forward_t(const EmbeddingBagArgs& a) {
  auto* k = &forward_kernel<T>;
  PE_LAUNCH(k, grid_for(a.bags), row_block_threads(a.dim), 0, a);
}

template <class T>
void backward_t(const EmbeddingBagArgs& a) {
  if (a.grad_psw && a.n > 0) {
    auto* k = &psw_grad_kernel<T>;
    PE_LAUNCH(k, grid_for(a.n), row_block_threads(a.dim), 0, a);
  }
  const int64_t total = a.num_weights * a.dim;
  if (total == 0) return;
  auto* zero = &zero_kernel<T>;
  PE_LAUNCH(zero, blocks_for(total), kThreads, 0, static_cast<T*>(a.grad_weight), total);
  if (a.bags == 0 || a.dim == 0) return;
  if (a.mode == BagMode::Max) {
    auto* k = &backward_max_kernel<T>;
    PE_LAUNCH(k, blocks_for(a.bags * a.dim), kThreads, 0, a);
    return;
  }
  DeviceBuffer counts;
  if (a.scale_grad_by_freq) {
    counts = DeviceBuffer(a.num_weights * int64_t(sizeof(unsigned long long)));
    auto* z = &zero_kernel<unsigned long long>;
    PE_LAUNCH(z, blocks_for(a.num_weights), kThreads, 0, counts.as<unsigned long long>(), a.num_weights);
    PE_LAUNCH(count_kernel, blocks_for(a.n), kThreads, 0, a, counts.as<unsigned long long>());
  }
  auto* k = &backward_sum_kernel<T>;
  const unsigned long long* c = a.scale_grad_by_freq ? counts.as<unsigned long long>() : nullptr;
  PE_LAUNCH(k, grid_for(a.bags), row_block_threads(a.dim), 0, a, c);
}

void forward(const EmbeddingBagArgs& a) { a.dtype == DType::Float64 ? forward_t<double>(a) : forward_t<float>(a); }
void backward(const EmbeddingBagArgs& a) {
  a.dtype == DType::Float64 ? backward_t<double>(a) : backward_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::bag_offsets_check_kernel, offsets_check);
PE_REGISTER_CUDA_KERNEL(ops::embedding_bag_forward_kernel, forward);
PE_REGISTER_CUDA_KERNEL(ops::embedding_bag_backward_kernel, backward);

}  // namespace pe::cuda
