// Softmax / log-softmax along one dim on the GPU, forward and backward (the contract is in
// ops/softmax.h). One block per row (grid-stride over rows): the threads walk the row in
// strides of blockDim.x, so a contiguous row is read coalesced, and the row statistics (max,
// then the sum of exponentials; the dot product in backward) are block_allreduce'd with warp
// shuffles. Float32 rows accumulate in float through the reduction tree (pairwise-like error);
// float64 in double.
#include <cmath>
#include <cstdint>

#include "cuda/block_reduce.h"
#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "ops/softmax.h"

namespace pe::cuda {
namespace {

using ops::SoftmaxArgs;

// Row r's first element in each operand: operand 0 = out, 1 = in (x or y), 2 = grad.
template <int N>
Strided<N> row_geometry(const SoftmaxArgs& a) {
  std::array<const std::vector<int64_t>*, N> strides;
  strides[0] = &a.out_row_strides;
  strides[1] = &a.in.row_strides;
  if constexpr (N > 2) strides[2] = &a.grad.row_strides;
  return make_strided<N>(a.row_shape, strides);
}

template <class T>
__global__ void forward_kernel(T* out, const T* in, Strided<2> rows, int64_t n, int64_t s_in, int64_t s_out,
                               bool log) {
  for (int64_t r = blockIdx.x; r < rows.numel; r += gridDim.x) {
    int64_t off[2];
    rows.offsets(r, off);
    const T* x = in + off[1];
    T* y = out + off[0];
    T m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = BlockMaxNan::combine(m, x[i * s_in]);
    m = block_allreduce<BlockMaxNan>(m);  // NaN in the row: NaN; all -inf: x - m is NaN (PyTorch)
    T s = T(0);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += std::exp(x[i * s_in] - m);
    s = block_allreduce<BlockSum>(s);
    if (log) {
      const T log_s = std::log(s);  // (x - m) - log(s): m + log(s) would round at the logits' scale
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i * s_out] = (x[i * s_in] - m) - log_s;
    } else {
      const T inv = T(1) / s;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i * s_out] = std::exp(x[i * s_in] - m) * inv;
    }
  }
}

template <class T>
__global__ void backward_kernel(T* out, const T* yv, const T* gv, Strided<3> rows, int64_t n, int64_t s_y,
                                int64_t s_g, int64_t s_out, bool log) {
  for (int64_t r = blockIdx.x; r < rows.numel; r += gridDim.x) {
    int64_t off[3];
    rows.offsets(r, off);
    const T* y = yv + off[1];
    const T* g = gv + off[2];
    T* dx = out + off[0];
    T dot = T(0);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dot += log ? g[i * s_g] : g[i * s_g] * y[i * s_y];
    dot = block_allreduce<BlockSum>(dot);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      dx[i * s_out] = log ? g[i * s_g] - std::exp(y[i * s_y]) * dot : y[i * s_y] * (g[i * s_g] - dot);
  }
}

unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(rows < 4096 ? rows : 4096); }

template <class T>
void forward_t(const SoftmaxArgs& a) {
  const Strided<2> rows = row_geometry<2>(a);
  auto* k = &forward_kernel<T>;
  PE_LAUNCH(k, row_blocks(rows.numel), row_block_threads(a.n), 0, static_cast<T*>(a.out),
            static_cast<const T*>(a.in.data), rows, a.n, a.in.stride, a.out_stride, a.log);
}

template <class T>
void backward_t(const SoftmaxArgs& a) {
  const Strided<3> rows = row_geometry<3>(a);
  auto* k = &backward_kernel<T>;
  PE_LAUNCH(k, row_blocks(rows.numel), row_block_threads(a.n), 0, static_cast<T*>(a.out),
            static_cast<const T*>(a.in.data), static_cast<const T*>(a.grad.data), rows, a.n, a.in.stride,
            a.grad.stride, a.out_stride, a.log);
}

void softmax_forward(const SoftmaxArgs& a) {
  if (a.dtype == DType::Float64) return forward_t<double>(a);
  forward_t<float>(a);
}

void softmax_backward(const SoftmaxArgs& a) {
  if (a.dtype == DType::Float64) return backward_t<double>(a);
  backward_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::softmax_forward_kernel, softmax_forward);
PE_REGISTER_CUDA_KERNEL(ops::softmax_backward_kernel, softmax_backward);

}  // namespace pe::cuda
