// topk on the CPU (the contract is in ops/sort.h). Per row: the n indices are partitioned
// around rank k (nth_element, O(n)) and the first k sorted (O(k log k)) under the shared total
// order of math/topk_order.h, so the result equals the CUDA kernel's exactly. Rows are
// independent: threads split rows, so results never depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "core/parallel.h"
#include "cpu/row_offset.h"
#include "math/topk_order.h"
#include "ops/sort.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::TopkArgs;

template <class T>
void topk_rows(const TopkArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  parallel_for(rows, a.n, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> idx(static_cast<size_t>(a.n));
    for (int64_t r = begin; r < end; ++r) {
      const T* x = static_cast<const T*>(a.in) + row_offset(r, a.row_shape, a.in_row_strides);
      int64_t* out = a.out + row_offset(r, a.row_shape, a.out_row_strides);
      const int64_t s = a.in_stride;
      const bool largest = a.largest;
      auto before = [x, s, largest](int64_t i, int64_t j) {
        return sorting::topk_before(x[i * s], i, x[j * s], j, largest);
      };
      std::iota(idx.begin(), idx.end(), int64_t(0));
      if (a.k < a.n) std::nth_element(idx.begin(), idx.begin() + a.k, idx.end(), before);
      std::sort(idx.begin(), idx.begin() + a.k, before);
      for (int64_t j = 0; j < a.k; ++j) out[j * a.out_stride] = idx[static_cast<size_t>(j)];
    }
  });
}

void topk(const TopkArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "topk", [&] { topk_rows<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::topk_kernel, topk);

}  // namespace pe::cpu::PE_ISA_NS
