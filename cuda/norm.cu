// Batch norm and group norm (also layer norm and RMS norm) on the GPU, forward and fused
// backward; the layouts and the kernel contract are in ops/norm.h.
//
// Statistics are block reductions (cuda/block_reduce.h: warp shuffles, one partial per warp in
// shared memory), two passes over the data: the mean first, then the sum of squared deviations,
// so |mean| >> std loses nothing to E[x^2] - E[x]^2 cancellation. Accumulation is in T: the
// per-thread runs are short and the block tree is pairwise.
//  - batch norm: one block per channel; its threads stride over the channel's N planes of S
//    elements (coalesced along S). The block finishes the channel (running-stat update on the
//    device, save_mean/invstd) and normalises it, so forward and backward are one launch each.
//  - group / layer / RMS norm: one block per group (its Cg*S elements are contiguous).
//    Backward: the same block computes the group's two sums and dx; dweight/dbias (sums over
//    the N groups sharing a channel) are a second kernel: one thread per channel walking the
//    rows when S == 1 (layer norm: neighbouring threads read neighbouring elements), one block
//    per channel otherwise.
#include <cmath>
#include <cstdint>

#include "cuda/block_reduce.h"
#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "ops/norm.h"

namespace pe::cuda {
namespace {

using ops::BatchNormBackwardArgs;
using ops::BatchNormForwardArgs;
using ops::GroupNormBackwardArgs;
using ops::GroupNormForwardArgs;

template <class T>
__device__ __forceinline__ T param_or(const T* p, int64_t i, T dflt) {
  return p ? p[i] : dflt;
}

unsigned grid_for(int64_t blocks) { return static_cast<unsigned>(blocks < 4096 ? blocks : 4096); }

// ---------------------------------------------------------------- batch norm
// Element j of channel c's N*S values (plane n = j / S, offset s = j % S).
__device__ __forceinline__ int64_t channel_elem(int64_t j, int64_t c, int64_t C, int64_t S) {
  return (j / S * C + c) * S + j % S;
}

template <class T>
__global__ void batch_norm_forward_kernel(BatchNormForwardArgs a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  T* rm = static_cast<T*>(a.running_mean);
  T* rv = static_cast<T*>(a.running_var);
  const T* w = static_cast<const T*>(a.weight);
  const T* b = static_cast<const T*>(a.bias);
  const int64_t C = a.C, S = a.S, M = a.N * a.S;
  __shared__ T scale_shift[2];
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    if (a.training) {
      T s = T(0);
      for (int64_t j = threadIdx.x; j < M; j += blockDim.x) s += x[channel_elem(j, c, C, S)];
      const T mean = block_allreduce<BlockSum>(s) / T(M);
      T q = T(0);
      for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
        const T d = x[channel_elem(j, c, C, S)] - mean;
        q += d * d;
      }
      const T var = block_allreduce<BlockSum>(q) / T(M);
      if (threadIdx.x == 0) {
        const T invstd = T(1) / std::sqrt(var + T(a.eps));
        static_cast<T*>(a.save_mean)[c] = mean;
        static_cast<T*>(a.save_invstd)[c] = invstd;
        if (rm) {
          const T mom = T(a.momentum);
          rm[c * a.running_mean_stride] = (T(1) - mom) * rm[c * a.running_mean_stride] + mom * mean;
          rv[c * a.running_var_stride] = (T(1) - mom) * rv[c * a.running_var_stride] + mom * var * T(M) / T(M - 1);
        }
        scale_shift[0] = param_or(w, c, T(1)) * invstd;
        scale_shift[1] = param_or(b, c, T(0)) - mean * scale_shift[0];
      }
    } else if (threadIdx.x == 0) {
      const T mean = rm[c * a.running_mean_stride];
      const T invstd = T(1) / std::sqrt(rv[c * a.running_var_stride] + T(a.eps));
      static_cast<T*>(a.save_mean)[c] = mean;
      static_cast<T*>(a.save_invstd)[c] = invstd;
      scale_shift[0] = param_or(w, c, T(1)) * invstd;
      scale_shift[1] = param_or(b, c, T(0)) - mean * scale_shift[0];
    }
    __syncthreads();
    const T sc = scale_shift[0], sh = scale_shift[1];
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const int64_t e = channel_elem(j, c, C, S);
      y[e] = x[e] * sc + sh;
    }
    __syncthreads();  // scale_shift is rewritten for the block's next channel
  }
}

template <class T>
__global__ void batch_norm_backward_kernel(BatchNormBackwardArgs a) {
  const T* dy = static_cast<const T*>(a.grad);
  const T* x = static_cast<const T*>(a.x);
  const T* mean = static_cast<const T*>(a.mean);
  const T* invstd = static_cast<const T*>(a.invstd);
  T* dx = static_cast<T*>(a.grad_input);
  T* gw = static_cast<T*>(a.grad_weight);
  T* gb = static_cast<T*>(a.grad_bias);
  const int64_t C = a.C, S = a.S, M = a.N * a.S;
  const bool need_sums = a.training || gw || gb;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const T mu = mean[c], inv = invstd[c], w = param_or(static_cast<const T*>(a.weight), c, T(1));
    T sg = T(0), sgx = T(0);  // sum(dy), sum(dy * (x - mean))
    if (need_sums) {
      for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
        const int64_t e = channel_elem(j, c, C, S);
        sg += dy[e];
        sgx += dy[e] * (x[e] - mu);
      }
      sg = block_allreduce<BlockSum>(sg);
      sgx = block_allreduce<BlockSum>(sgx);
    }
    if (threadIdx.x == 0) {
      if (gw) gw[c] = sgx * inv;
      if (gb) gb[c] = sg;
    }
    if (!dx) continue;
    // dx = k1 * dy + k2 * x + k3 (k2 = k3 = 0 in eval: the statistics were constants).
    const T k1 = w * inv;
    const T k2 = a.training ? -w * inv * inv * inv * sgx / T(M) : T(0);
    const T k3 = a.training ? -w * inv * sg / T(M) - k2 * mu : T(0);
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const int64_t e = channel_elem(j, c, C, S);
      dx[e] = k1 * dy[e] + k2 * x[e] + k3;
    }
  }
}

// ---------------------------------------------------------------- group / layer / RMS norm
template <class T>
__global__ void group_norm_forward_kernel(GroupNormForwardArgs a) {
  const int64_t G = a.G, Cg = a.C / G, S = a.S, D = Cg * S, groups = a.N * G;
  const T* w = static_cast<const T*>(a.weight);
  const T* b = static_cast<const T*>(a.bias);
  for (int64_t q = blockIdx.x; q < groups; q += gridDim.x) {
    const T* xp = static_cast<const T*>(a.x) + q * D;  // group q = (n, g) is contiguous
    T* yp = static_cast<T*>(a.y) + q * D;
    T mu = T(0);
    if (a.subtract_mean) {
      T s = T(0);
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += xp[i];
      mu = block_allreduce<BlockSum>(s) / T(D);
    }
    T sq = T(0);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) sq += (xp[i] - mu) * (xp[i] - mu);
    const T r = T(1) / std::sqrt(block_allreduce<BlockSum>(sq) / T(D) + T(a.eps));
    if (threadIdx.x == 0) {
      if (a.mean) static_cast<T*>(a.mean)[q] = mu;
      static_cast<T*>(a.rstd)[q] = r;
    }
    const int64_t c0 = (q % G) * Cg;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const int64_t c = c0 + i / S;
      yp[i] = (xp[i] - mu) * r * param_or(w, c, T(1)) + param_or(b, c, T(0));
    }
  }
}

template <class T>
__global__ void group_norm_backward_input_kernel(GroupNormBackwardArgs a) {
  const int64_t G = a.G, Cg = a.C / G, S = a.S, D = Cg * S, groups = a.N * G;
  const T* w = static_cast<const T*>(a.weight);
  for (int64_t q = blockIdx.x; q < groups; q += gridDim.x) {
    const T* gp = static_cast<const T*>(a.grad) + q * D;
    const T* xp = static_cast<const T*>(a.x) + q * D;
    const T mu = a.mean ? static_cast<const T*>(a.mean)[q] : T(0), r = static_cast<const T*>(a.rstd)[q];
    const int64_t c0 = (q % G) * Cg;
    T sum_a = T(0), sum_b = T(0);  // sum(w * dy * (x - mu)), sum(w * dy) over the group
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const T g = gp[i] * param_or(w, c0 + i / S, T(1));
      sum_a += g * (xp[i] - mu);
      sum_b += g;
    }
    sum_a = block_allreduce<BlockSum>(sum_a);
    sum_b = block_allreduce<BlockSum>(sum_b);
    const T A = r * r * r * sum_a / T(D), B = a.subtract_mean ? r * sum_b / T(D) : T(0);
    T* o = static_cast<T*>(a.grad_input) + q * D;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
      o[i] = r * param_or(w, c0 + i / S, T(1)) * gp[i] - A * (xp[i] - mu) - B;
  }
}

// dweight[c] = sum over (n, s) of dy * (x - mu) * r, dbias[c] = sum of dy: element j of channel
// c's N*S values, with the statistics of group (n, c / Cg).
template <class T>
__device__ __forceinline__ void param_terms(const GroupNormBackwardArgs& a, int64_t c, int64_t j, T& tw, T& tb) {
  const int64_t S = a.S, n = j / S, q = n * a.G + c / (a.C / a.G);
  const int64_t e = (n * a.C + c) * S + j % S;
  const T dy = static_cast<const T*>(a.grad)[e];
  const T mu = a.mean ? static_cast<const T*>(a.mean)[q] : T(0);
  tw = dy * (static_cast<const T*>(a.x)[e] - mu) * static_cast<const T*>(a.rstd)[q];
  tb = dy;
}

template <class T>
__global__ void group_norm_params_column_kernel(GroupNormBackwardArgs a) {  // S == 1: thread per channel
  PE_GRID_STRIDE_LOOP(c, a.C) {
    T sw = T(0), sb = T(0);
    for (int64_t n = 0; n < a.N; ++n) {
      T tw, tb;
      param_terms(a, c, n, tw, tb);
      sw += tw;
      sb += tb;
    }
    if (a.grad_weight) static_cast<T*>(a.grad_weight)[c] = sw;
    if (a.grad_bias) static_cast<T*>(a.grad_bias)[c] = sb;
  }
}

template <class T>
__global__ void group_norm_params_block_kernel(GroupNormBackwardArgs a) {  // S > 1: block per channel
  const int64_t M = a.N * a.S;
  for (int64_t c = blockIdx.x; c < a.C; c += gridDim.x) {
    T sw = T(0), sb = T(0);
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      T tw, tb;
      param_terms(a, c, j, tw, tb);
      sw += tw;
      sb += tb;
    }
    sw = block_allreduce<BlockSum>(sw);
    sb = block_allreduce<BlockSum>(sb);
    if (threadIdx.x == 0) {
      if (a.grad_weight) static_cast<T*>(a.grad_weight)[c] = sw;
      if (a.grad_bias) static_cast<T*>(a.grad_bias)[c] = sb;
    }
  }
}

// ---------------------------------------------------------------- launchers
template <class T>
void batch_norm_forward_t(const BatchNormForwardArgs& a) {
  auto* k = &batch_norm_forward_kernel<T>;
  PE_LAUNCH(k, grid_for(a.C), row_block_threads(a.N * a.S, 512), 0, a);
}

template <class T>
void batch_norm_backward_t(const BatchNormBackwardArgs& a) {
  auto* k = &batch_norm_backward_kernel<T>;
  PE_LAUNCH(k, grid_for(a.C), row_block_threads(a.N * a.S, 512), 0, a);
}

template <class T>
void group_norm_forward_t(const GroupNormForwardArgs& a) {
  auto* k = &group_norm_forward_kernel<T>;
  PE_LAUNCH(k, grid_for(a.N * a.G), row_block_threads(a.C / a.G * a.S, 512), 0, a);
}

template <class T>
void group_norm_backward_t(const GroupNormBackwardArgs& a) {
  if (a.grad_input) {
    auto* k = &group_norm_backward_input_kernel<T>;
    PE_LAUNCH(k, grid_for(a.N * a.G), row_block_threads(a.C / a.G * a.S, 512), 0, a);
  }
  if (!a.grad_weight && !a.grad_bias) return;
  if (a.S == 1) {
    auto* k = &group_norm_params_column_kernel<T>;
    PE_LAUNCH(k, blocks_for(a.C), kThreads, 0, a);
  } else {
    auto* k = &group_norm_params_block_kernel<T>;
    PE_LAUNCH(k, grid_for(a.C), row_block_threads(a.N * a.S, 512), 0, a);
  }
}

void batch_norm_forward(const BatchNormForwardArgs& a) {
  a.dtype == DType::Float64 ? batch_norm_forward_t<double>(a) : batch_norm_forward_t<float>(a);
}
void batch_norm_backward(const BatchNormBackwardArgs& a) {
  a.dtype == DType::Float64 ? batch_norm_backward_t<double>(a) : batch_norm_backward_t<float>(a);
}
void group_norm_forward(const GroupNormForwardArgs& a) {
  a.dtype == DType::Float64 ? group_norm_forward_t<double>(a) : group_norm_forward_t<float>(a);
}
void group_norm_backward(const GroupNormBackwardArgs& a) {
  a.dtype == DType::Float64 ? group_norm_backward_t<double>(a) : group_norm_backward_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::batch_norm_forward_kernel, batch_norm_forward);
PE_REGISTER_CUDA_KERNEL(ops::batch_norm_backward_kernel, batch_norm_backward);
PE_REGISTER_CUDA_KERNEL(ops::group_norm_forward_kernel, group_norm_forward);
PE_REGISTER_CUDA_KERNEL(ops::group_norm_backward_kernel, group_norm_backward);

}  // namespace pe::cuda
