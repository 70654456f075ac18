// Reductions over any set of dims (sum, mean, max, min, prod, logsumexp; argmax/argmin,
// var/std and norms through the policies of reduce_policies.h) on strided inputs.
//
// Many elements per output: one block per output (grid-stride over outputs); each thread
// folds a strided slice of the reduced elements, then the block combines the per-thread
// values with a warp shuffle tree, one partial per warp in shared memory, and a last shuffle
// tree in warp 0. Few elements per output: one thread per output.
#include <type_traits>

#include "cuda/cuda_emu.h"
#include "cuda/launchers.h"
#include "cuda/reduce_policies.h"
#include "cuda/strided.h"

namespace pe::cuda {
namespace {

template <class T>
struct SumOp {
  __host__ __device__ static T identity() { return T(0); }
  __host__ __device__ static T combine(T a, T b) { return ew::add_wrapping(a, b); }
};
template <class T>
struct ProdOp {
  __host__ __device__ static T identity() { return T(1); }
  __host__ __device__ static T combine(T a, T b) { return ew::mul_wrapping(a, b); }
};
// max/min propagate NaN, as NumPy's amax/amin and PyTorch do. On bool they are any/all.
template <class T>
struct MaxOp {
  __host__ __device__ static T identity() {
    if constexpr (std::is_floating_point<T>::value) return -INFINITY;
    else if constexpr (std::is_same<T, bool>::value) return false;
    else return INT64_MIN;
  }
  __host__ __device__ static T combine(T a, T b) { return (a != a || a > b) ? a : b; }
};
template <class T>
struct MinOp {
  __host__ __device__ static T identity() {
    if constexpr (std::is_floating_point<T>::value) return INFINITY;
    else if constexpr (std::is_same<T, bool>::value) return true;
    else return INT64_MAX;
  }
  __host__ __device__ static T combine(T a, T b) { return (a != a || a < b) ? a : b; }
};

// Combines `v` across the 32 lanes of a warp; lane 0 ends with the result.
template <class Op, class T>
__device__ __forceinline__ T warp_reduce(T v) {
  for (int delta = warpSize / 2; delta > 0; delta /= 2) v = Op::combine(v, __shfl_down_sync(0xffffffffu, v, delta));
  return v;
}

// Combines `v` across the block; thread 0 ends with the result. Every thread must call it.
template <class Op, class T>
__device__ T block_reduce(T v) {
  __shared__ T partial[32];  // one per warp (at most 1024 threads)
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  const int nwarps = (blockDim.x + warpSize - 1) / warpSize;
  v = warp_reduce<Op>(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nwarps ? partial[lane] : Op::identity();
    v = warp_reduce<Op>(v);
  }
  __syncthreads();  // `partial` is reused by the next output this block reduces
  return v;
}

// Folds in[base + inner(k)] for k = first, first + step, ... < inner.numel.
template <class Op, class T>
__device__ __forceinline__ T fold(const T* in, int64_t base, const Strided<1>& inner, int64_t first, int64_t step) {
  T acc = Op::identity();
  for (int64_t k = first; k < inner.numel; k += step) {
    int64_t off[1];
    inner.offsets(k, off);
    acc = Op::combine(acc, in[base + off[0]]);
  }
  return acc;
}

// sum(exp(x - shift)) over the same elements.
template <class T>
__device__ __forceinline__ T fold_exp(const T* in, int64_t base, const Strided<1>& inner, int64_t first, int64_t step,
                                      T shift) {
  T acc = T(0);
  for (int64_t k = first; k < inner.numel; k += step) {
    int64_t off[1];
    inner.offsets(k, off);
    acc += std::exp(in[base + off[0]] - shift);
  }
  return acc;
}

// logsumexp shifts by the max, or by 0 when the max is infinite (all -inf gives -inf, any
// +inf gives +inf; NaN propagates), as PyTorch does.
template <class T>
__device__ __forceinline__ T lse_shift(T max) {
  return std::isinf(max) ? T(0) : max;
}

template <class T>
__device__ __forceinline__ T finish_mean(T sum, int64_t count, bool mean) {
  return mean ? sum / static_cast<T>(count) : sum;
}

// Kernels. `outer` walks the kept dims (operand 0 = out, 1 = in), `inner` the reduced dims of
// in. Few elements per output: one thread per output, no cooperation needed. Many: one
// block per output, its threads folding strided slices, then combined by block_reduce.
template <class Op, class T>
__global__ void reduce_thread_kernel(T* out, const T* in, Strided<2> outer, Strided<1> inner, bool mean) {
  PE_GRID_STRIDE_LOOP(j, outer.numel) {
    int64_t base[2];
    outer.offsets(j, base);
    out[base[0]] = finish_mean(fold<Op>(in, base[1], inner, 0, 1), inner.numel, mean);
  }
}

template <class Op, class T>
__global__ void reduce_block_kernel(T* out, const T* in, Strided<2> outer, Strided<1> inner, bool mean) {
  for (int64_t j = blockIdx.x; j < outer.numel; j += gridDim.x) {
    int64_t base[2];
    outer.offsets(j, base);
    T acc = block_reduce<Op>(fold<Op>(in, base[1], inner, threadIdx.x, blockDim.x));
    if (threadIdx.x == 0) out[base[0]] = finish_mean(acc, inner.numel, mean);
  }
}

template <class T>
__global__ void logsumexp_thread_kernel(T* out, const T* in, Strided<2> outer, Strided<1> inner, bool) {
  PE_GRID_STRIDE_LOOP(j, outer.numel) {
    int64_t base[2];
    outer.offsets(j, base);
    T shift = lse_shift(fold<MaxOp<T>>(in, base[1], inner, 0, 1));
    out[base[0]] = std::log(fold_exp(in, base[1], inner, 0, 1, shift)) + shift;
  }
}

template <class T>
__global__ void logsumexp_block_kernel(T* out, const T* in, Strided<2> outer, Strided<1> inner, bool) {
  __shared__ T block_shift;
  for (int64_t j = blockIdx.x; j < outer.numel; j += gridDim.x) {
    int64_t base[2];
    outer.offsets(j, base);
    T max = block_reduce<MaxOp<T>>(fold<MaxOp<T>>(in, base[1], inner, threadIdx.x, blockDim.x));
    if (threadIdx.x == 0) block_shift = lse_shift(max);
    __syncthreads();
    const T shift = block_shift;
    // block_reduce's barriers also keep block_shift until every thread has read it.
    T sum = block_reduce<SumOp<T>>(fold_exp(in, base[1], inner, threadIdx.x, blockDim.x, shift));
    if (threadIdx.x == 0) out[base[0]] = std::log(sum) + shift;
  }
}

// Below this many elements per output a thread reduces alone; a block would idle.
constexpr int64_t kBlockReduceMin = 64;

template <class T>
void launch(void (*thread_kernel)(T*, const T*, Strided<2>, Strided<1>, bool),
            void (*block_kernel)(T*, const T*, Strided<2>, Strided<1>, bool), T* out, const T* in,
            const Strided<2>& outer, const Strided<1>& inner, bool mean) {
  if (inner.numel < kBlockReduceMin) {
    PE_LAUNCH(thread_kernel, blocks_for(outer.numel), kThreads, 0, out, in, outer, inner, mean);
    return;
  }
  // No more threads than elements to fold (in whole warps), one block per output.
  int64_t threads = (inner.numel + 31) / 32 * 32;
  threads = threads > kThreads ? kThreads : threads;
  unsigned blocks = static_cast<unsigned>(outer.numel < 4096 ? outer.numel : 4096);
  PE_LAUNCH(block_kernel, blocks, unsigned(threads), 0, out, in, outer, inner, mean);
}

template <template <class> class Op, class T>
void launch_reduce(T* out, const T* in, const Strided<2>& outer, const Strided<1>& inner, bool mean) {
  launch(&reduce_thread_kernel<Op<T>, T>, &reduce_block_kernel<Op<T>, T>, out, in, outer, inner, mean);
}

// Policy kernels (reduce_policies.h): the same two shapes, with a state of several values.
// The output offset of operand 0 also places the argmax index (same layout as the values).
template <class P, class T>
__global__ void policy_thread_kernel(P pol, const T* in, Strided<2> outer, Strided<1> inner) {
  PE_GRID_STRIDE_LOOP(j, outer.numel) {
    int64_t base[2];
    outer.offsets(j, base);
    typename P::acc_t acc = pol.init();
    for (int64_t k = 0; k < inner.numel; ++k) {
      int64_t off[1];
      inner.offsets(k, off);
      pol.add(acc, in[base[1] + off[0]], k);
    }
    pol.write(acc, inner.numel, base[0]);
  }
}

template <class P>
__device__ __forceinline__ typename P::acc_t policy_warp_merge(const P& pol, typename P::acc_t v) {
  for (int delta = warpSize / 2; delta > 0; delta /= 2) {
    typename P::acc_t other = P::shfl(v, delta);
    pol.merge(v, other);
  }
  return v;
}

// block_reduce for a policy state; thread 0 ends with the result. Every thread must call it.
template <class P>
__device__ typename P::acc_t policy_block_merge(const P& pol, typename P::acc_t v) {
  __shared__ typename P::acc_t partial[32];  // one per warp
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  const int nwarps = (blockDim.x + warpSize - 1) / warpSize;
  v = policy_warp_merge(pol, v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nwarps ? partial[lane] : pol.init();
    v = policy_warp_merge(pol, v);
  }
  __syncthreads();  // `partial` is reused by the next output this block reduces
  return v;
}

template <class P, class T>
__global__ void policy_block_kernel(P pol, const T* in, Strided<2> outer, Strided<1> inner) {
  for (int64_t j = blockIdx.x; j < outer.numel; j += gridDim.x) {
    int64_t base[2];
    outer.offsets(j, base);
    typename P::acc_t acc = pol.init();
    for (int64_t k = threadIdx.x; k < inner.numel; k += blockDim.x) {  // increasing k per thread
      int64_t off[1];
      inner.offsets(k, off);
      pol.add(acc, in[base[1] + off[0]], k);
    }
    acc = policy_block_merge(pol, acc);
    if (threadIdx.x == 0) pol.write(acc, inner.numel, base[0]);
  }
}

template <class P, class T>
void launch_policy(const P& pol, const T* in, const Strided<2>& outer, const Strided<1>& inner) {
  if (inner.numel < kBlockReduceMin) {
    auto* k = &policy_thread_kernel<P, T>;
    PE_LAUNCH(k, blocks_for(outer.numel), kThreads, 0, pol, in, outer, inner);
    return;
  }
  int64_t threads = (inner.numel + 31) / 32 * 32;
  threads = threads > kThreads ? kThreads : threads;
  unsigned blocks = static_cast<unsigned>(outer.numel < 4096 ? outer.numel : 4096);
  auto* k = &policy_block_kernel<P, T>;
  PE_LAUNCH(k, blocks, unsigned(threads), 0, pol, in, outer, inner);
}

template <class T>
void run_policy(ReduceOp op, void* out, const T* x, const Strided<2>& outer, const Strided<1>& inner,
                const ReduceExtra& extra) {
  T* o = static_cast<T*>(out);
  switch (op) {
    case ReduceOp::ArgMax: return launch_policy(ArgExtremeP<T, true>{o, extra.index}, x, outer, inner);
    case ReduceOp::ArgMin: return launch_policy(ArgExtremeP<T, false>{o, extra.index}, x, outer, inner);
    default: break;
  }
  if constexpr (std::is_floating_point<T>::value) {
    switch (op) {
      case ReduceOp::Var: return launch_policy(VarP<T, false>{o, extra.correction}, x, outer, inner);
      case ReduceOp::Std: return launch_policy(VarP<T, true>{o, extra.correction}, x, outer, inner);
      case ReduceOp::Norm: return launch_policy(NormP<T>{o, norm_kind(extra.p), extra.p}, x, outer, inner);
      default: break;
    }
  }
}

// A template, so that `if constexpr` drops the kernels a dtype has no use for (no bool sums,
// no integer logsumexp); reduce() has checked the op against the dtype.
template <class T>
void run_reduce(ReduceOp op, T* o, const T* x, const Strided<2>& outer, const Strided<1>& inner) {
  if constexpr (std::is_same<T, bool>::value) {
    if (op == ReduceOp::Amax || op == ReduceOp::Any) launch_reduce<MaxOp>(o, x, outer, inner, false);
    else launch_reduce<MinOp>(o, x, outer, inner, false);  // Amin, All
  } else {
    switch (op) {
      case ReduceOp::Sum: return launch_reduce<SumOp>(o, x, outer, inner, false);
      case ReduceOp::Mean: return launch_reduce<SumOp>(o, x, outer, inner, true);
      case ReduceOp::Prod: return launch_reduce<ProdOp>(o, x, outer, inner, false);
      case ReduceOp::Amax: return launch_reduce<MaxOp>(o, x, outer, inner, false);
      case ReduceOp::Amin: return launch_reduce<MinOp>(o, x, outer, inner, false);
      case ReduceOp::LogSumExp:
        if constexpr (std::is_floating_point<T>::value)
          launch(&logsumexp_thread_kernel<T>, &logsumexp_block_kernel<T>, o, x, outer, inner, false);
        return;
      default: return;  // the policy ops go through run_policy
    }
  }
}

}  // namespace

void reduce(ReduceOp op, const Dims& shape, const Operand& out, const Operand& in, const std::vector<bool>& reduced,
            const ReduceExtra& extra) {
  Dims outer_shape, inner_shape, out_strides, in_outer, in_inner;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      inner_shape.push_back(shape[d]);
      in_inner.push_back(in.strides[d]);
    } else {
      outer_shape.push_back(shape[d]);
      out_strides.push_back(out.strides[d]);
      in_outer.push_back(in.strides[d]);
    }
  }
  Strided<2> outer = make_strided<2>(outer_shape, {&out_strides, &in_outer});
  Strided<1> inner = make_strided<1>(inner_shape, {&in_inner});
  if (outer.numel == 0) return;
  const bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  const bool floating_only =
      op == ReduceOp::Mean || op == ReduceOp::LogSumExp || op == ReduceOp::Var || op == ReduceOp::Std || op == ReduceOp::Norm;
  const bool logical = op == ReduceOp::All || op == ReduceOp::Any;
  if (logical && in.dtype != DType::Bool) throw std::runtime_error("CUDA reduce: all/any run on bool");
  const bool bool_ok = op == ReduceOp::Amax || op == ReduceOp::Amin || logical || arg;
  if ((floating_only && !is_floating(in.dtype)) || (in.dtype == DType::Bool && !bool_ok))
    throw std::runtime_error("CUDA reduce: no kernel for this op on dtype " + std::string(dtype_name(in.dtype)));
  if (arg && extra.index == nullptr) throw std::runtime_error("CUDA reduce: argmax/argmin need an index output");
  const bool policy = arg || op == ReduceOp::Var || op == ReduceOp::Std || op == ReduceOp::Norm;
  PE_DISPATCH_ALL(in.dtype, "CUDA reduce", [&] {
    const auto* x = static_cast<const scalar_t*>(in.data);
    if (policy) run_policy(op, out.data, x, outer, inner, extra);
    else run_reduce(op, static_cast<scalar_t*>(out.data), x, outer, inner);
  });
}

}  // namespace pe::cuda
