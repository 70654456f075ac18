// The reductions whose running state is more than one value of the input's type, as
// accumulator policies (the device twin of cpu/reduce_policies.h, same math, same results to
// rounding), run by the policy kernels in reduce.cu:
//   acc_t                 the running state (a plain aggregate: it lives in __shared__ memory)
//   init()                the state of an empty range
//   add(acc, x, k)        fold in element x at reduced index k (row-major over the reduced dims);
//                         a thread adds its elements in increasing k
//   merge(a, b)           fold in another thread's state; order-free (the shuffle tree pairs
//                         lanes in any order)
//   shfl_down(acc, d)     the state of lane + d (every lane of the warp must call it)
//   write(acc, n, o)      store output o (n = elements reduced)
// Only reduce.cu includes this.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cuda/cuda_emu.h"

namespace pe::cuda {
namespace {

template <class T>
__device__ __forceinline__ bool is_nan(T x) {
  if constexpr (std::is_floating_point<T>::value) return x != x;
  else return false;
}

// nvcc's shuffles take arithmetic types, not bool: carry bools as ints.
template <class T>
__device__ __forceinline__ T shfl_down(T v, int delta) {
  if constexpr (std::is_same<T, bool>::value) return __shfl_down_sync(0xffffffffu, int(v), delta) != 0;
  else return __shfl_down_sync(0xffffffffu, v, delta);
}

// max_dim / min_dim / argmax / argmin: the extreme value and the FIRST index holding it; the
// first NaN wins over numbers (PyTorch). `values` may be null (argmax/argmin only).
template <class T, bool kMax>
struct ArgExtremeP {
  struct acc_t {
    T v;
    int64_t i;  // -1: nothing seen yet
  };
  T* values;
  int64_t* index;
  __device__ static acc_t init() { return {T(0), -1}; }
  __device__ static bool better(T x, T v) { return is_nan(x) ? !is_nan(v) : (kMax ? x > v : x < v); }
  __device__ void add(acc_t& a, T x, int64_t k) const {
    if (a.i < 0 || better(x, a.v)) a = {x, k};
  }
  // On equal values (or both NaN) the lower index wins, so any merge order gives the first one.
  __device__ void merge(acc_t& a, const acc_t& b) const {
    if (b.i < 0) return;
    if (a.i < 0 || better(b.v, a.v) || (!better(a.v, b.v) && b.i < a.i)) a = b;
  }
  __device__ static acc_t shfl(const acc_t& a, int d) { return {shfl_down(a.v, d), shfl_down(a.i, d)}; }
  __device__ void write(const acc_t& a, int64_t, int64_t o) const {
    if (values) values[o] = a.v;
    index[o] = a.i;
  }
};

// var / std: Welford per thread, Chan's formula to merge, in double (as the CPU), so long rows
// of nearly equal values lose no precision to a naive sum of squares.
template <class T, bool kStd>
struct VarP {
  struct acc_t {
    double n, mean, m2;
  };
  T* out;
  double correction;
  __device__ static acc_t init() { return {0, 0, 0}; }
  __device__ void add(acc_t& a, T x, int64_t) const {
    a.n += 1;
    const double d = x - a.mean;
    a.mean += d / a.n;
    a.m2 += d * (x - a.mean);
  }
  __device__ void merge(acc_t& a, const acc_t& b) const {
    if (b.n == 0) return;
    if (a.n == 0) {
      a = b;
      return;
    }
    const double n = a.n + b.n, d = b.mean - a.mean;
    a.mean += d * (b.n / n);
    a.m2 += b.m2 + d * d * (a.n * b.n / n);
    a.n = n;
  }
  __device__ static acc_t shfl(const acc_t& a, int d) {
    return {shfl_down(a.n, d), shfl_down(a.mean, d), shfl_down(a.m2, d)};
  }
  __device__ void write(const acc_t& a, int64_t, int64_t o) const {
    // Degrees of freedom clamped at 0 (PyTorch): dividing by 0 gives inf, or NaN for 0/0.
    const double dof = a.n - correction > 0 ? a.n - correction : 0.0;
    const double v = a.m2 / dof;
    out[o] = static_cast<T>(kStd ? std::sqrt(v) : v);
  }
};

// Vector norms of order p, accumulated in double (as the CPU); the kind is chosen on the host.
enum class NormKind { Zero, One, Two, Inf, NegInf, General };

inline NormKind norm_kind(double p) {
  return p == 0 ? NormKind::Zero
         : p == 1 ? NormKind::One
         : p == 2 ? NormKind::Two
         : p == INFINITY ? NormKind::Inf
         : p == -INFINITY ? NormKind::NegInf
                          : NormKind::General;
}

template <class T>
struct NormP {
  using acc_t = double;
  T* out;
  NormKind kind;
  double p;
  __device__ acc_t init() const { return kind == NormKind::NegInf ? INFINITY : 0.0; }
  __device__ void add(acc_t& a, T x, int64_t) const {
    const double ax = std::fabs(static_cast<double>(x));
    switch (kind) {
      case NormKind::Zero: a += (x != 0) ? 1.0 : 0.0; break;
      case NormKind::One: a += ax; break;
      case NormKind::Two: a += ax * ax; break;
      case NormKind::Inf: merge(a, ax); break;
      case NormKind::NegInf: merge(a, ax); break;
      case NormKind::General: a += std::pow(ax, p); break;
    }
  }
  // max / min propagate NaN (a NaN element makes the inf-norms NaN, as on the CPU).
  __device__ void merge(acc_t& a, const acc_t& b) const {
    if (kind == NormKind::Inf)
      a = (a >= b || a != a) ? a : b;
    else if (kind == NormKind::NegInf)
      a = (a <= b || a != a) ? a : b;
    else
      a += b;
  }
  __device__ static acc_t shfl(acc_t a, int d) { return shfl_down(a, d); }
  __device__ void write(const acc_t& a, int64_t, int64_t o) const {
    const double r = kind == NormKind::Two ? std::sqrt(a) : kind == NormKind::General ? std::pow(a, 1.0 / p) : a;
    out[o] = static_cast<T>(r);
  }
};

}  // namespace
}  // namespace pe::cuda
