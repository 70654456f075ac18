// The sort family on the CPU (the contracts are in ops/sort.h). Every kernel ranks a row's
// (value, index) pairs under the shared total order of math/topk_order.h, so its result equals
// the CUDA kernel's exactly: topk partitions around rank k (nth_element, O(n)) and sorts the
// first k (O(k log k)); sort sorts the row; median puts the median's rank in place (O(n)).
// Rows are independent: threads split rows, so results never depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "cpu/row_offset.h"
#include "math/search_math.h"
#include "math/topk_order.h"
#include "ops/sort.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::ModeArgs;
using ops::SearchArgs;
using ops::TopkArgs;

// Rows are copied into (value, index) pairs first, so the comparisons read contiguous memory
// instead of reaching into a strided row through an index.
template <class T>
using Ranked = std::pair<T, int64_t>;

template <class T>
void copy_row(const TopkArgs& a, int64_t r, std::vector<Ranked<T>>& row) {
  const T* x = static_cast<const T*>(a.in) + row_offset(r, a.row_shape, a.in_row_strides);
  for (int64_t i = 0; i < a.n; ++i) row[static_cast<size_t>(i)] = {x[i * a.in_stride], i};
}

template <class T>
auto rank_order(bool largest) {
  return [largest](const Ranked<T>& p, const Ranked<T>& q) {
    return sorting::topk_before(p.first, p.second, q.first, q.second, largest);
  };
}

template <class T>
void topk_rows(const TopkArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  parallel_for(rows, a.n * 2, [&](int64_t begin, int64_t end) {
    std::vector<Ranked<T>> row(static_cast<size_t>(a.n));
    const auto before = rank_order<T>(a.largest);
    for (int64_t r = begin; r < end; ++r) {
      copy_row(a, r, row);
      if (a.k < a.n) std::nth_element(row.begin(), row.begin() + a.k, row.end(), before);
      std::sort(row.begin(), row.begin() + a.k, before);
      int64_t* out = a.out + row_offset(r, a.row_shape, a.out_row_strides);
      for (int64_t j = 0; j < a.k; ++j) out[j * a.out_stride] = row[static_cast<size_t>(j)].second;
    }
  });
}

void topk(const TopkArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "topk", [&] { topk_rows<scalar_t>(a); });
}

// sort: topk's contract with k == n (a full sort of the pairs).
template <class T>
void sort_rows(const TopkArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  parallel_for(rows, a.n * 8, [&](int64_t begin, int64_t end) {
    std::vector<Ranked<T>> row(static_cast<size_t>(a.n));
    const auto before = rank_order<T>(a.largest);
    for (int64_t r = begin; r < end; ++r) {
      copy_row(a, r, row);
      std::sort(row.begin(), row.end(), before);
      int64_t* out = a.out + row_offset(r, a.row_shape, a.out_row_strides);
      for (int64_t j = 0; j < a.n; ++j) out[j * a.out_stride] = row[static_cast<size_t>(j)].second;
    }
  });
}

void sort(const TopkArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "sort", [&] { sort_rows<scalar_t>(a); });
}

// median: the row as (value, index) pairs, its NaNs counted, and the element of the median's
// rank put in place by nth_element (O(n)) under the sort order: the pair at that rank is
// unique, so this is the index a full sort would give.
template <class T>
void median_rows(const ops::MedianArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  parallel_for(rows, a.n * 2, [&](int64_t begin, int64_t end) {
    std::vector<Ranked<T>> row(static_cast<size_t>(a.n));
    for (int64_t r = begin; r < end; ++r) {
      const T* x = static_cast<const T*>(a.in) + row_offset(r, a.row_shape, a.in_row_strides);
      int64_t nans = 0;
      for (int64_t i = 0; i < a.n; ++i) {
        const T v = x[i * a.in_stride];
        nans += v != v ? 1 : 0;
        row[static_cast<size_t>(i)] = {v, i};
      }
      const auto rank = row.begin() + sorting::median_rank(a.n, nans, a.ignore_nan);
      std::nth_element(row.begin(), rank, row.end(), rank_order<T>(false));
      a.out[row_offset(r, a.row_shape, a.out_row_strides)] = rank->second;
    }
  });
}

void median(const ops::MedianArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "median", [&] { median_rows<scalar_t>(a); });
}

// mode: one walk over the row in ascending order; runs of equal values (NaNs count as equal)
// are measured and the first longest run wins (the smallest value), reported by its last
// element, which is the value's largest index (equal values are ordered by index).
template <class T>
void mode_rows(const ModeArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  parallel_for(rows, a.n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = static_cast<const T*>(a.in) + row_offset(r, a.row_shape, a.in_row_strides);
      const int64_t* order = a.order + r * a.n;
      int64_t best_len = 0, best_idx = order[0], run = 0;
      for (int64_t j = 0; j < a.n; ++j) {
        run = (j > 0 && sorting::same_value(x[order[j - 1] * a.in_stride], x[order[j] * a.in_stride])) ? run + 1 : 1;
        if (run > best_len) best_len = run, best_idx = order[j];
      }
      a.out[row_offset(r, a.row_shape, a.out_row_strides)] = best_idx;
    }
  });
}

void mode(const ModeArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "mode", [&] { mode_rows<scalar_t>(a); });
}

template <class T>
void search_values(const SearchArgs& a) {
  const T* b = static_cast<const T*>(a.boundaries);
  const T* v = static_cast<const T*>(a.values);
  parallel_for(a.rows * a.m, 32, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const int64_t r = e / a.m;
      a.out[e] = sorting::search_row(b + r * a.n, a.sorter ? a.sorter + r * a.n : nullptr, a.n, v[e], a.right);
    }
  });
}

void searchsorted(const SearchArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "searchsorted", [&] { search_values<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::topk_kernel, topk);
PE_REGISTER_CPU_KERNEL(ops::sort_kernel, sort);
PE_REGISTER_CPU_KERNEL(ops::median_kernel, median);
PE_REGISTER_CPU_KERNEL(ops::mode_kernel, mode);
PE_REGISTER_CPU_KERNEL(ops::searchsorted_kernel, searchsorted);

}  // namespace pe::cpu::PE_ISA_NS
