// topk on the GPU (the contract is in ops/sort.h), by ranking: one thread per element counts
// the row's elements that come before it under the total order of math/topk_order.h (no two
// elements tie there), and an element of rank j < k writes its index to output slot j. O(n)
// work per element, with no sorting network and no scratch memory; the results equal the CPU
// kernel's exactly. Pruning calls it once per pruning step on a weight tensor, so simplicity
// is worth more here than the O(n log n) of a radix select.
#include <cstdint>

#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "math/topk_order.h"
#include "ops/sort.h"

namespace pe::cuda {
namespace {

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

void topk(const TopkArgs& a) {
  if (a.dtype == DType::Float64) return topk_t<double>(a);
  if (a.dtype == DType::Int64) return topk_t<int64_t>(a);
  topk_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::topk_kernel, topk);

}  // namespace pe::cuda
