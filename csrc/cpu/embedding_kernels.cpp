// embedding_bag forward and backward on the CPU (contract in ops/embedding.h).
//
// Forward: bags are split over threads; a bag's rows are added straight from the table, in entry
// order, into accumulators that stay in vector registers (blocks of 128 bytes of columns, then
// the tail), so the result never depends on the thread count. Max keeps, per element, the first maximum's row (NaN wins
// and stays, like torch).
// Backward: a counting sort lists, per table row, its (entry, bag) contributions in entry order;
// threads own ranges of table rows and each row adds its list in that fixed order, so the
// gradient is deterministic and bitwise the same on any thread count. Max mode: threads own
// ranges of columns and walk the bags in order.
#include <climits>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "ops/embedding.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::BagMode;
using ops::EmbeddingBagArgs;

// Sum / mean: columns [d0, d0 + W) of the bag's rows added into o (W = 0: up to D, a loop
// over memory). A compile-time W keeps the accumulators in registers.
template <class T>
constexpr int64_t kBlock = 128 / sizeof(T);

template <class T, int64_t W>
void sum_columns(const EmbeddingBagArgs& a, const T* w, const T* psw, T* __restrict o, int64_t s, int64_t e,
                 int64_t d0) {
  const int64_t D = a.dim, width = W ? W : D - d0;
  const int64_t* idx = a.indices;
  const int64_t pad = a.padding_idx;
  T acc[W ? W : kBlock<T>];
  for (int64_t c0 = 0; c0 < width; c0 += W ? W : kBlock<T>) {  // W = 0: the tail, in chunks
    const int64_t cw = W ? W : (width - c0 < kBlock<T> ? width - c0 : kBlock<T>);
    for (int64_t j = 0; j < (W ? W : cw); ++j) acc[j] = T(0);
    for (int64_t i = s; i < e; ++i) {
      const int64_t v = idx[i];
      if (v == pad) continue;
      const T* __restrict r = w + v * D + d0 + c0;
      if (psw) {
        const T f = psw[i];
#pragma omp simd
        for (int64_t j = 0; j < (W ? W : cw); ++j) acc[j] += f * r[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < (W ? W : cw); ++j) acc[j] += r[j];
      }
    }
    for (int64_t j = 0; j < (W ? W : cw); ++j) o[d0 + c0 + j] = acc[j];
  }
}

// Max mode: the winner per element is kept as its entry number within the bag in an integer of
// T's width, so the selects vectorise with the float compares; it becomes a table row at the end.
template <class T>
using MaxPos = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;

template <class T, class Pos>
void max_bag(const EmbeddingBagArgs& a, const T* w, T* __restrict o, Pos* __restrict pos, int64_t b, int64_t s,
             int64_t e) {
  const int64_t D = a.dim;
  int64_t count = 0;
  for (int64_t d = 0; d < D; ++d) o[d] = T(0), pos[d] = -1;
  for (int64_t i = s; i < e; ++i) {
    const int64_t v = a.indices[i];
    if (v == a.padding_idx) continue;
    const T* __restrict r = w + v * D;
    const Pos p = static_cast<Pos>(i - s);
    if (count++ == 0) {
      for (int64_t d = 0; d < D; ++d) o[d] = r[d], pos[d] = p;
      continue;
    }
    // Strictly greater: the first maximum wins; a NaN (x != x) replaces a number and then stays.
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) {
      const T x = r[d], cur = o[d];
      const bool take = x > cur || (x != x && cur == cur);
      o[d] = take ? x : cur;
      pos[d] = take ? p : pos[d];
    }
  }
  int64_t* arg = a.max_indices + b * D;
  for (int64_t d = 0; d < D; ++d) arg[d] = pos[d] < 0 ? -1 : a.indices[s + pos[d]];
}

template <class T>
void forward_t(const EmbeddingBagArgs& a) {
  const int64_t D = a.dim;
  const T* w = static_cast<const T*>(a.weight);
  const T* psw = static_cast<const T*>(a.per_sample_weights);
  T* out = static_cast<T*>(a.out);
  const int64_t avg = a.bags ? a.n / a.bags + 1 : 1;
  parallel_for(a.bags, avg * D, [&](int64_t b0, int64_t b1) {
    std::vector<MaxPos<T>> pos_buf(a.mode == BagMode::Max ? D : 0);
    for (int64_t b = b0; b < b1; ++b) {
      T* __restrict o = out + b * D;
      const int64_t s = a.offsets[b], e = ops::bag_end(a.offsets, a.m, a.n, b);
      if (a.mode == BagMode::Max) {
        if (e - s <= INT32_MAX) {
          max_bag<T>(a, w, o, pos_buf.data(), b, s, e);
        } else {  // a bag of 2^31 entries or more: entry numbers need 64 bits
          std::vector<int64_t> wide(D);
          max_bag<T>(a, w, o, wide.data(), b, s, e);
        }
        continue;
      }
      int64_t count = 0;
      for (int64_t i = s; i < e; ++i) count += a.indices[i] != a.padding_idx;
      // Columns in blocks of kBlock held in registers across the whole bag (an output row in
      // memory would be loaded and stored once per entry), then the tail columns.
      int64_t d0 = 0;
      for (; d0 + kBlock<T> <= D; d0 += kBlock<T>) sum_columns<T, kBlock<T>>(a, w, psw, o, s, e, d0);
      if (d0 < D) sum_columns<T, 0>(a, w, psw, o, s, e, d0);
      if (a.mode == BagMode::Mean && count > 1) {
        const T c = T(count);
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) o[d] /= c;
      }
    }
  });
}

template <class T>
void backward_t(const EmbeddingBagArgs& a) {
  const int64_t D = a.dim, V = a.num_weights;
  const T* g = static_cast<const T*>(a.grad);
  const T* psw = static_cast<const T*>(a.per_sample_weights);
  T* gw = static_cast<T*>(a.grad_weight);
  // Each entry's bag (-1: in no bag or a padding entry) and, per bag, its non-padding count.
  std::vector<int64_t> bag_of(a.n, -1), size(a.bags, 0);
  for (int64_t b = 0; b < a.bags; ++b) {
    const int64_t e = ops::bag_end(a.offsets, a.m, a.n, b);
    for (int64_t i = a.offsets[b]; i < e; ++i) {
      if (a.indices[i] == a.padding_idx) continue;
      bag_of[i] = b;
      ++size[b];
    }
  }
  if (a.grad_psw) {  // sum_d grad[bag] * weight[index] per entry
    const T* w = static_cast<const T*>(a.weight);
    T* gp = static_cast<T*>(a.grad_psw);
    parallel_for(a.n, D, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        T s = T(0);
        if (bag_of[i] >= 0) {
          const T* r = w + a.indices[i] * D;
          const T* gb = g + bag_of[i] * D;
#pragma omp simd reduction(+ : s)
          for (int64_t d = 0; d < D; ++d) s += gb[d] * r[d];
        }
        gp[i] = s;
      }
    });
  }
  if (V * D == 0) return;
  if (a.mode == BagMode::Max) {
    parallel_for(V, D, [&](int64_t v0, int64_t v1) {
      for (int64_t v = v0; v < v1; ++v)
        for (int64_t d = 0; d < D; ++d) gw[v * D + d] = T(0);
    });
    parallel_for(D, a.bags, [&](int64_t d0, int64_t d1) {
      for (int64_t b = 0; b < a.bags; ++b)
        for (int64_t d = d0; d < d1; ++d) {
          const int64_t v = a.max_indices[b * D + d];
          if (v >= 0) gw[v * D + d] += g[b * D + d];
        }
    });
    return;
  }
  // Counting sort of the entries by table row, stable (entry order within a row).
  std::vector<int64_t> start(V + 1, 0), order;
  for (int64_t i = 0; i < a.n; ++i)
    if (bag_of[i] >= 0) ++start[a.indices[i] + 1];
  for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
  order.resize(start[V]);
  {
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < a.n; ++i)
      if (bag_of[i] >= 0) order[next[a.indices[i]]++] = i;
  }
  const int64_t avg = V ? start[V] / V + 1 : 1;
  parallel_for(V, avg * D, [&](int64_t v0, int64_t v1) {
    for (int64_t v = v0; v < v1; ++v) {
      T* o = gw + v * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) o[d] = T(0);
      const int64_t k0 = start[v], k1 = start[v + 1];
      // Each contribution carries its factor: the sample weight, 1 / bag size (mean), and
      // 1 / frequency of the row (scale_grad_by_freq), as torch applies them per entry.
      const T freq = a.scale_grad_by_freq && k1 > k0 ? T(1) / T(k1 - k0) : T(1);
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t i = order[k], b = bag_of[i];
        T f = freq;
        if (psw) f *= psw[i];
        if (a.mode == BagMode::Mean) f /= T(size[b]);
        const T* gb = g + b * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) o[d] += f * gb[d];
      }
    }
  });
}

ops::BagOffsetsCheck offsets_check(const int64_t* off, int64_t m) {
  ops::BagOffsetsCheck c{off[0], off[m - 1], -1, 0, 0};
  for (int64_t i = 0; i + 1 < m; ++i)
    if (off[i] > off[i + 1]) return {off[0], off[m - 1], i, off[i], off[i + 1]};
  return c;
}

void forward(const EmbeddingBagArgs& a) { a.dtype == DType::Float64 ? forward_t<double>(a) : forward_t<float>(a); }
void backward(const EmbeddingBagArgs& a) {
  a.dtype == DType::Float64 ? backward_t<double>(a) : backward_t<float>(a);
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::bag_offsets_check_kernel, offsets_check);
PE_REGISTER_CPU_KERNEL(ops::embedding_bag_forward_kernel, forward);
PE_REGISTER_CPU_KERNEL(ops::embedding_bag_backward_kernel, backward);

}  // namespace pe::cpu::PE_ISA_NS
