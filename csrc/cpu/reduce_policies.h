// The math of each reduction, as an accumulator "policy" that the loops in
// reduce_kernels.cpp run:
//   acc_t            the running state
//   init()           the state of an empty range
//   add(acc, x, i)   fold in element x at reduced index i (row-major over the reduced dims)
//   merge(a, b)      fold in the state of another part of the range (lane or chunk)
//   write(acc, n, o) store output o (n = elements reduced)
//   add_run(...)     optional: fold a whole strided run at once (two-pass var, logsumexp)
//
// Only reduce_kernels.cpp includes this, and like it this is compiled once per ISA: everything
// lives in that ISA's namespace, so the AVX-512 build of a template never stands in for the
// generic one.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "math/elementwise_math.h"  // ew::add_wrapping / mul_wrapping
#include "ops/reduce.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::ReduceArgs;

constexpr int kLanes = 8;

// sum of f(p[i * stride]) for i < n, in double, over kLanes independent partial sums (which
// the compiler can keep in vector registers; float addition is not reassociated otherwise).
template <class T, class F>
double lanes_sum(const T* p, int64_t stride, int64_t n, F f) {
  double lane[kLanes] = {};
  int64_t i = 0;
  if (stride == 1) {
    for (; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) lane[k] += f(p[i + k]);
  } else {
    for (; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) lane[k] += f(p[(i + k) * stride]);
  }
  double total = 0;
  for (; i < n; ++i) total += f(p[i * stride]);
  for (int k = 0; k < kLanes; ++k) total += lane[k];
  return total;
}

template <class T>
constexpr T lowest() {
  if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::lowest();
}
template <class T>
constexpr T highest() {
  if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::max();
}
template <class T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  return false;
}

// Float inputs accumulate in double, integers and bools in int64 (PyTorch's result types).
template <class T>
using wide_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// The result pointer most policies write through.
template <class Out>
struct Output {
  Out* out;
  explicit Output(const ReduceArgs& a) : out(static_cast<Out*>(a.out)) {}
};

template <class T>
using sum_out_t = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;

template <class T>
struct SumP : Output<sum_out_t<T>> {
  using out_t = sum_out_t<T>;
  using acc_t = wide_t<T>;
  using Output<out_t>::Output;
  acc_t init() const { return 0; }
  void add(acc_t& a, T x, int64_t) const { a = ew::add_wrapping(a, static_cast<acc_t>(x)); }
  void merge(acc_t& a, const acc_t& b) const { a = ew::add_wrapping(a, b); }
  void write(const acc_t& a, int64_t, int64_t o) const { this->out[o] = static_cast<out_t>(a); }
};

template <class T>
struct MeanP : SumP<T> {
  using typename SumP<T>::acc_t;
  using SumP<T>::SumP;
  void write(const acc_t& a, int64_t n, int64_t o) const {
    this->out[o] = static_cast<T>(a / static_cast<double>(n));  // n == 0: NaN, as PyTorch
  }
};

template <class T>
struct ProdP : SumP<T> {
  using typename SumP<T>::acc_t;
  using SumP<T>::SumP;
  acc_t init() const { return 1; }
  void add(acc_t& a, T x, int64_t) const { a = ew::mul_wrapping(a, static_cast<acc_t>(x)); }
  void merge(acc_t& a, const acc_t& b) const { a = ew::mul_wrapping(a, b); }
};

// amax / amin: NaN wins (it propagates).
template <class T, bool kMax>
struct ExtremeP : Output<T> {
  using out_t = T;
  using acc_t = T;
  using Output<T>::Output;
  acc_t init() const { return kMax ? lowest<T>() : highest<T>(); }
  void add(acc_t& a, T x, int64_t) const {
    // Branch-free so it vectorises: keep a unless x is larger/smaller or x is NaN.
    if constexpr (std::is_floating_point_v<T>)
      a = ((kMax ? a >= x : a <= x) || a != a) ? a : x;
    else
      a = kMax ? std::max(a, x) : std::min(a, x);
  }
  void merge(acc_t& a, const acc_t& b) const { add(a, b, 0); }
  void write(const acc_t& a, int64_t, int64_t o) const { this->out[o] = a; }
};

// max_dim / argmax: value and the FIRST index holding it; the first NaN wins over numbers.
template <class T, bool kMax>
struct ArgExtremeP {
  struct acc_t {
    T v;
    int64_t i;  // -1: nothing seen yet
  };
  T* values;
  int64_t* index;
  explicit ArgExtremeP(const ReduceArgs& a) : values(static_cast<T*>(a.out)), index(a.out_index) {}
  acc_t init() const { return {lowest<T>(), -1}; }
  static bool better(T x, T v) { return is_nan(x) ? !is_nan(v) : (kMax ? x > v : x < v); }
  void add(acc_t& a, T x, int64_t i) const {
    if (a.i < 0 || better(x, a.v)) a = {x, i};
  }
  // Order-free: on equal values (or both NaN) the lower index wins, so lanes can be merged.
  void merge(acc_t& a, const acc_t& b) const {
    if (b.i < 0) return;
    if (a.i < 0 || better(b.v, a.v) || (!better(a.v, b.v) && b.i < a.i)) a = b;
  }
  void write(const acc_t& a, int64_t, int64_t o) const {
    if (values) values[o] = a.v;
    index[o] = a.i;
  }
};

// var / std: Welford per element, Chan's formula to merge; contiguous runs are done in two
// passes (mean, then squared deviations), which is both exact-er and vectorisable.
template <class T, bool kStd>
struct VarP : Output<T> {
  struct acc_t {
    double n, mean, m2;
  };
  double correction;
  explicit VarP(const ReduceArgs& a) : Output<T>(a), correction(a.correction) {}
  acc_t init() const { return {0, 0, 0}; }
  void add(acc_t& a, T x, int64_t) const {
    a.n += 1;
    double d = x - a.mean;
    a.mean += d / a.n;
    a.m2 += d * (x - a.mean);
  }
  void merge(acc_t& a, const acc_t& b) const {
    if (b.n == 0) return;
    if (a.n == 0) {
      a = b;
      return;
    }
    double n = a.n + b.n, d = b.mean - a.mean;
    a.mean += d * (b.n / n);
    a.m2 += b.m2 + d * d * (a.n * b.n / n);
    a.n = n;
  }
  void add_run(acc_t& a, const T* p, int64_t stride, int64_t n) const {
    const double mean = lanes_sum(p, stride, n, [](T x) { return static_cast<double>(x); }) / n;
    const double m2 = lanes_sum(p, stride, n, [mean](T x) {
      const double d = x - mean;
      return d * d;
    });
    merge(a, {static_cast<double>(n), mean, m2});
  }
  void write(const acc_t& a, int64_t, int64_t o) const {
    // PyTorch clamps the degrees of freedom at 0: dividing by 0 gives inf (or NaN for 0/0).
    double v = a.m2 / std::max(0.0, a.n - correction);
    this->out[o] = static_cast<T>(kStd ? std::sqrt(v) : v);
  }
};

// logsumexp, online: (m, s) with result m + log(s) and s = sum exp(x - m).
template <class T>
struct LogSumExpP : Output<T> {
  struct acc_t {
    double m, s;
  };
  using Output<T>::Output;
  acc_t init() const { return {-std::numeric_limits<double>::infinity(), 0}; }
  static void fold(acc_t& a, double m, double s) {
    if (s == 0) return;  // nothing (or only -inf) on that side
    if (m > a.m) {       // rescale what we have to the new maximum
      a.s = a.s == 0 ? s : s + a.s * std::exp(a.m - m);
      a.m = m;
    } else if (m == a.m) {  // also covers +inf == +inf, where m - a.m would be NaN
      a.s += s;
    } else {
      a.s += s * std::exp(m - a.m);  // NaN m lands here and poisons s
    }
  }
  void add(acc_t& a, T x, int64_t) const {
    if (x == -std::numeric_limits<T>::infinity()) return;
    fold(a, x, 1.0);
  }
  void merge(acc_t& a, const acc_t& b) const { fold(a, b.m, b.s); }
  // Runs in two passes: the run's maximum, then sum exp(x - max), exp in T's precision
  // (float exp for float32, like PyTorch) and the sum in double.
  void add_run(acc_t& a, const T* p, int64_t stride, int64_t n) const {
    T m = -std::numeric_limits<T>::infinity();
    bool nan = false;
    for (int64_t i = 0; i < n; ++i) {
      const T x = p[i * stride];
      nan |= x != x;
      m = x > m ? x : m;
    }
    if (nan) return fold(a, std::numeric_limits<double>::quiet_NaN(), 1.0);
    if (m == -std::numeric_limits<T>::infinity()) return;  // exp(-inf) = 0 everywhere
    double s;
    if (m == std::numeric_limits<T>::infinity())  // x - m would be inf - inf: count the infs
      s = lanes_sum(p, stride, n, [m](T x) { return x == m ? 1.0 : 0.0; });
    else
      s = lanes_sum(p, stride, n, [m](T x) { return static_cast<double>(std::exp(static_cast<T>(x - m))); });
    fold(a, m, s);
  }
  void write(const acc_t& a, int64_t, int64_t o) const {
    this->out[o] = static_cast<T>(a.s == 0 ? a.m : a.m + std::log(a.s));
  }
};

// Vector norms; the kind is chosen once from p.
template <class T>
struct NormP : Output<T> {
  enum Kind { Zero, One, Two, Inf, NegInf, General };
  using acc_t = double;
  Kind kind;
  double p_;
  explicit NormP(const ReduceArgs& a) : Output<T>(a), p_(a.p) {
    kind = p_ == 0 ? Zero
           : p_ == 1 ? One
           : p_ == 2 ? Two
           : p_ == std::numeric_limits<double>::infinity() ? Inf
           : p_ == -std::numeric_limits<double>::infinity() ? NegInf
                                                            : General;
  }
  acc_t init() const { return kind == NegInf ? std::numeric_limits<double>::infinity() : 0.0; }
  void add(acc_t& a, T x, int64_t) const {
    double ax = std::fabs(static_cast<double>(x));
    switch (kind) {
      case Zero: a += (x != 0); break;
      case One: a += ax; break;
      case Two: a += ax * ax; break;
      case Inf: if (!(a >= ax || a != a)) a = ax; break;
      case NegInf: if (!(a <= ax || a != a)) a = ax; break;
      case General: a += std::pow(ax, p_); break;
    }
  }
  void merge(acc_t& a, const acc_t& b) const {
    if (kind == Inf)
      a = (a >= b || a != a) ? a : b;
    else if (kind == NegInf)
      a = (a <= b || a != a) ? a : b;
    else
      a += b;
  }
  // The kind is switched on once per run, so each sum loop vectorises.
  void add_run(acc_t& a, const T* p, int64_t stride, int64_t n) const {
    const double pp = p_;
    switch (kind) {
      case Zero: a += lanes_sum(p, stride, n, [](T x) { return x != 0 ? 1.0 : 0.0; }); return;
      case One: a += lanes_sum(p, stride, n, [](T x) { return std::fabs(static_cast<double>(x)); }); return;
      case Two: a += lanes_sum(p, stride, n, [](T x) { return static_cast<double>(x) * x; }); return;
      case General:
        a += lanes_sum(p, stride, n, [pp](T x) { return std::pow(std::fabs(static_cast<double>(x)), pp); });
        return;
      default:
        for (int64_t i = 0; i < n; ++i) add(a, p[i * stride], 0);
    }
  }
  void write(const acc_t& a, int64_t, int64_t o) const {
    double r = kind == Two ? std::sqrt(a) : kind == General ? std::pow(a, 1.0 / p_) : a;
    this->out[o] = static_cast<T>(r);
  }
};

template <class T, bool kAll>
struct LogicalP : Output<bool> {
  using acc_t = bool;
  using Output<bool>::Output;
  acc_t init() const { return kAll; }
  void add(acc_t& a, T x, int64_t) const { a = kAll ? (a && x != 0) : (a || x != 0); }
  void merge(acc_t& a, const acc_t& b) const { a = kAll ? (a && b) : (a || b); }
  void write(const acc_t& a, int64_t, int64_t o) const { this->out[o] = a; }
};

}  // namespace
}  // namespace pe::cpu::PE_ISA_NS
