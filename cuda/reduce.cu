// Reductions over any set of dims (sum, mean, max, min, prod) on strided inputs.
//
// One block per output element (grid-stride over outputs): each thread folds a strided
// slice of the reduced elements, then the block combines the per-thread values with a warp
// shuffle tree, one partial per warp in shared memory, and a last shuffle tree in warp 0.
#include <type_traits>

#include "cuda/cuda_emu.h"
#include "cuda/launchers.h"
#include "cuda/strided.h"

namespace pe::cuda {
namespace {

template <class T>
struct SumOp {
  __host__ __device__ static T identity() { return T(0); }
  __host__ __device__ static T combine(T a, T b) { return a + b; }
};
template <class T>
struct ProdOp {
  __host__ __device__ static T identity() { return T(1); }
  __host__ __device__ static T combine(T a, T b) { return a * b; }
};
// max/min propagate NaN, as NumPy's amax/amin and PyTorch do.
template <class T>
struct MaxOp {
  __host__ __device__ static T identity() {
    if constexpr (std::is_floating_point<T>::value) return -INFINITY;
    else return INT64_MIN;
  }
  __host__ __device__ static T combine(T a, T b) { return (a != a || a > b) ? a : b; }
};
template <class T>
struct MinOp {
  __host__ __device__ static T identity() {
    if constexpr (std::is_floating_point<T>::value) return INFINITY;
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

// outer: the kept dims (operand 0 = out, 1 = in); inner: the reduced dims of in.
template <class Op, class T>
__global__ void reduce_kernel(T* out, const T* in, Strided<2> outer, Strided<1> inner, bool mean) {
  for (int64_t j = blockIdx.x; j < outer.numel; j += gridDim.x) {
    int64_t base[2];
    outer.offsets(j, base);
    T acc = Op::identity();
    for (int64_t k = threadIdx.x; k < inner.numel; k += blockDim.x) {
      int64_t off[1];
      inner.offsets(k, off);
      acc = Op::combine(acc, in[base[1] + off[0]]);
    }
    acc = block_reduce<Op>(acc);
    if (threadIdx.x == 0) out[base[0]] = mean ? acc / static_cast<T>(inner.numel) : acc;
  }
}

template <template <class> class Op, class T>
void launch_reduce(T* out, const T* in, const Strided<2>& outer, const Strided<1>& inner, bool mean) {
  // A warp at least; no more threads than elements to fold (rounded up to whole warps).
  int64_t threads = (inner.numel + 31) / 32 * 32;
  threads = threads < 32 ? 32 : (threads > kThreads ? kThreads : threads);
  unsigned blocks = static_cast<unsigned>(outer.numel < 4096 ? outer.numel : 4096);
  auto* reduce_op = &reduce_kernel<Op<T>, T>;
  PE_LAUNCH(reduce_op, blocks, unsigned(threads), 0, out, in, outer, inner, mean);
}

}  // namespace

void reduce(Reduce op, const Dims& shape, const Operand& out, const Operand& in, const std::vector<bool>& reduced) {
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
  if (op == Reduce::Mean && !is_floating(in.dtype))
    throw std::runtime_error("CUDA mean: expected a floating dtype, got " + std::string(dtype_name(in.dtype)));
  PE_DISPATCH_NUMERIC(in.dtype, "CUDA reduce", [&] {
    auto* o = static_cast<scalar_t*>(out.data);
    auto* x = static_cast<const scalar_t*>(in.data);
    switch (op) {
      case Reduce::Sum: return launch_reduce<SumOp>(o, x, outer, inner, false);
      case Reduce::Mean: return launch_reduce<SumOp>(o, x, outer, inner, true);
      case Reduce::Prod: return launch_reduce<ProdOp>(o, x, outer, inner, false);
      case Reduce::Max: return launch_reduce<MaxOp>(o, x, outer, inner, false);
      case Reduce::Min: return launch_reduce<MinOp>(o, x, outer, inner, false);
    }
  });
}

}  // namespace pe::cuda
