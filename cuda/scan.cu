// The scan family on the GPU (the contract is in ops/scan.h). One block per row (grid-stride
// over rows): the block walks its row in tiles of blockDim.x elements; each tile is scanned in
// shared memory (Hillis-Steele, double-buffered: log2(blockDim) steps, each a barrier), the
// running result of the earlier tiles (the carry) is combined in front, and the tile's last
// element becomes the next carry. Every step of math/scan_math.h is associative, so the tree
// order gives the sequential result up to rounding (exactly for cummax/cummin, whose state is
// a (value, index) pair). Float32 accumulates in float (the CPU kernel uses double: results
// agree to float rounding).
#include <cstdint>
#include <type_traits>

#include "cuda/block_reduce.h"
#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "math/scan_math.h"
#include "ops/scan.h"

namespace pe::cuda {
namespace {

using ops::ScanArgs;
using scan::ScanOp;

template <class T>
struct State {
  T v;
  int64_t i;  // cummax/cummin: the index holding v
};

// a comes before b in scan order.
template <class T>
__device__ __forceinline__ State<T> combine(const State<T>& a, const State<T>& b, ScanOp op) {
  switch (op) {
    case ScanOp::Sum: return {a.v + b.v, b.i};
    case ScanOp::Prod: return {a.v * b.v, b.i};
    case ScanOp::LogSumExp:
      if constexpr (std::is_floating_point_v<T>) return {scan::log_add_exp(a.v, b.v), b.i};
      return b;
    case ScanOp::Max: return scan::extremum_takes_over(a.v, b.v, true) ? b : a;
    case ScanOp::Min: return scan::extremum_takes_over(a.v, b.v, false) ? b : a;
  }
  return b;
}

template <class T>
__global__ void scan_rows(void* out, const T* in, Strided<2> rows, int64_t n, int64_t s_in, int64_t s_out,
                          ScanOp op, bool reverse) {
  PE_DYNAMIC_SHARED(State<T>, buf);  // two tiles of states (double buffer), then the carry
  const int bd = blockDim.x, t = threadIdx.x;
  State<T>* carry = buf + 2 * bd;
  const bool indices = op == ScanOp::Max || op == ScanOp::Min;
  for (int64_t r = blockIdx.x; r < rows.numel; r += gridDim.x) {
    int64_t off[2];
    rows.offsets(r, off);
    const T* x = in + off[1];
    for (int64_t base = 0; base < n; base += bd) {
      const int64_t i = base + t;
      const int64_t p = reverse ? n - 1 - i : i;
      // Lanes past the row's end hold a filler: they come after every live lane, so no live
      // lane ever combines it.
      State<T> s{i < n ? x[p * s_in] : T(0), i};
      int src = 0;
      buf[t] = s;
      __syncthreads();
      for (int d = 1; d < bd; d *= 2) {
        if (t >= d) s = combine(buf[src * bd + t - d], s, op);
        buf[(1 - src) * bd + t] = s;
        src = 1 - src;
        __syncthreads();
      }
      if (base > 0) s = combine(*carry, s, op);
      __syncthreads();  // every lane has read the carry before it is replaced
      if (t == bd - 1) *carry = s;  // a tile that is not the row's last is full: this lane is live
      if (i < n) {
        if (indices) static_cast<int64_t*>(out)[off[0] + p * s_out] = s.i;
        else static_cast<T*>(out)[off[0] + p * s_out] = s.v;
      }
      __syncthreads();  // the carry is written before the next tile reads it
    }
  }
}

template <class T>
void scan_t(const ScanArgs& a) {
  const Strided<2> rows = make_strided<2>(a.row_shape, {&a.out_row_strides, &a.in_row_strides});
  const int threads = row_block_threads(a.n);
  const unsigned blocks = static_cast<unsigned>(rows.numel < 4096 ? rows.numel : 4096);
  auto* k = &scan_rows<T>;
  PE_LAUNCH(k, blocks, threads, (2 * threads + 1) * sizeof(State<T>), a.out, static_cast<const T*>(a.in), rows,
            a.n, a.in_stride, a.out_stride, a.op, a.reverse);
}

void scan_kernel(const ScanArgs& a) {
  if (a.dtype == DType::Float64) return scan_t<double>(a);
  if (a.dtype == DType::Int64) return scan_t<int64_t>(a);
  scan_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::scan_kernel, scan_kernel);

}  // namespace pe::cuda
