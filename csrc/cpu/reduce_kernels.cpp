// Reduction kernels. Every reduction is an accumulator "policy" (init / add / merge / write)
// run by one of two loops:
//
//  * row loop: each output reduces its own block of the input, walked in runs along the
//    innermost reduced dim; contiguous runs use 8 independent accumulators so the compiler
//    can vectorise and float sums gain accuracy (each lane sums an eighth of the run);
//  * column loop: when the innermost KEPT dim is the contiguous one (sum over dim 0 of an
//    (N, C) tensor: bias gradients), whole input rows are added into a block of output
//    accumulators, so memory is read in order.
//
// Determinism: the reduced index range is cut into chunks whose size depends only on the
// shape; chunks are reduced independently (in parallel when worth it) and their partial
// accumulators are merged in chunk order. The thread count never changes a result.
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "cpu/reduce.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::ReduceOp;

// Reduced elements per chunk (row loop) and output columns per block (column loop).
constexpr int64_t kChunk = 16384;
constexpr int64_t kColumns = 64;
constexpr int kLanes = 8;

// Row-major walk over (shape, strides) in element offsets, one run of the innermost dim at a
// time. `shape` must be non-empty.
class Walker {
 public:
  Walker(const Shape& shape, const Shape& strides) : shape_(shape), strides_(strides), idx_(shape.size(), 0) {}

  void seek(int64_t linear) {
    offset_ = 0;
    for (int64_t d = static_cast<int64_t>(shape_.size()) - 1; d >= 0; --d) {
      idx_[d] = linear % shape_[d];
      linear /= shape_[d];
      offset_ += idx_[d] * strides_[d];
    }
  }
  int64_t offset() const { return offset_; }
  int64_t run_left() const { return shape_.back() - idx_.back(); }
  int64_t inner_stride() const { return strides_.back(); }
  // Move n elements along the innermost dim (n <= run_left()), carrying into outer dims.
  void step(int64_t n) {
    size_t d = shape_.size() - 1;
    idx_[d] += n;
    offset_ += n * strides_[d];
    while (d > 0 && idx_[d] >= shape_[d]) {
      offset_ -= idx_[d] * strides_[d];
      idx_[d] = 0;
      --d;
      ++idx_[d];
      offset_ += strides_[d];
    }
  }
  // f(offset, n, linear_start) for each run covering [begin, end).
  template <class F>
  void for_runs(int64_t begin, int64_t end, F&& f) {
    seek(begin);
    while (begin < end) {
      int64_t n = std::min(run_left(), end - begin);
      f(offset_, n, begin);
      begin += n;
      if (begin < end) step(n);
    }
  }

 private:
  const Shape& shape_;
  const Shape& strides_;
  std::vector<int64_t> idx_;
  int64_t offset_ = 0;
};

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

// ---------------------------------------------------------------------------------------
// Policies. acc_t: the running state; add(acc, x, i): fold in element x at reduced index i;
// merge(a, b): fold in the state of a LATER part of the range; write(acc, n, o): store the
// result of output o (n = reduced count).
// ---------------------------------------------------------------------------------------

// Float inputs accumulate in double, integers and bools in int64 (PyTorch's result types).
template <class T>
using wide_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T, class Out>
struct Output {
  Out* out;
  explicit Output(const ReduceArgs& a) : out(static_cast<Out*>(a.out)) {}
};

template <class T>
struct SumP : Output<T, std::conditional_t<std::is_floating_point_v<T>, T, int64_t>> {
  using out_t = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;
  using acc_t = wide_t<T>;
  using Output<T, out_t>::Output;
  acc_t init() const { return 0; }
  void add(acc_t& a, T x, int64_t) const { a += static_cast<acc_t>(x); }
  void merge(acc_t& a, const acc_t& b) const { a += b; }
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
  void add(acc_t& a, T x, int64_t) const { a *= static_cast<acc_t>(x); }
  void merge(acc_t& a, const acc_t& b) const { a *= b; }
};

// amax / amin: NaN wins (it propagates).
template <class T, bool kMax>
struct ExtremeP : Output<T, T> {
  using out_t = T;
  using acc_t = T;
  using Output<T, T>::Output;
  acc_t init() const { return kMax ? lowest<T>() : highest<T>(); }
  void add(acc_t& a, T x, int64_t) const {
    bool keep = kMax ? (a >= x) : (a <= x);
    if (!(keep || is_nan(a))) a = x;  // x is larger/smaller, or x is NaN
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
struct VarP : Output<T, T> {
  struct acc_t {
    double n, mean, m2;
  };
  double correction;
  explicit VarP(const ReduceArgs& a) : Output<T, T>(a), correction(a.correction) {}
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
    double s[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) s[k] += p[(i + k) * stride];
    double total = 0;
    for (; i < n; ++i) total += p[i * stride];
    for (int k = 0; k < kLanes; ++k) total += s[k];
    const double mean = total / n;
    double q[kLanes] = {};
    for (i = 0; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) {
        double d = p[(i + k) * stride] - mean;
        q[k] += d * d;
      }
    double m2 = 0;
    for (; i < n; ++i) m2 += (p[i * stride] - mean) * (p[i * stride] - mean);
    for (int k = 0; k < kLanes; ++k) m2 += q[k];
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
struct LogSumExpP : Output<T, T> {
  struct acc_t {
    double m, s;
  };
  using Output<T, T>::Output;
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
  void write(const acc_t& a, int64_t, int64_t o) const {
    this->out[o] = static_cast<T>(a.s == 0 ? a.m : a.m + std::log(a.s));
  }
};

// Vector norms; the kind is chosen once from p.
template <class T>
struct NormP : Output<T, T> {
  enum Kind { Zero, One, Two, Inf, NegInf, General };
  using acc_t = double;
  Kind kind;
  double p;
  explicit NormP(const ReduceArgs& a) : Output<T, T>(a), p(a.p) {
    kind = p == 0 ? Zero
           : p == 1 ? One
           : p == 2 ? Two
           : p == std::numeric_limits<double>::infinity() ? Inf
           : p == -std::numeric_limits<double>::infinity() ? NegInf
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
      case General: a += std::pow(ax, p); break;
    }
  }
  void merge(acc_t& a, const acc_t& b) const {
    if (kind == Inf || kind == NegInf)
      add(a, static_cast<T>(b), 0);
    else
      a += b;
  }
  void write(const acc_t& a, int64_t, int64_t o) const {
    double r = kind == Two ? std::sqrt(a) : kind == General ? std::pow(a, 1.0 / p) : a;
    this->out[o] = static_cast<T>(r);
  }
};

template <class T, bool kAll>
struct LogicalP : Output<T, bool> {
  using acc_t = bool;
  using Output<T, bool>::Output;
  acc_t init() const { return kAll; }
  void add(acc_t& a, T x, int64_t) const { a = kAll ? (a && x != 0) : (a || x != 0); }
  void merge(acc_t& a, const acc_t& b) const { a = kAll ? (a && b) : (a || b); }
  void write(const acc_t& a, int64_t, int64_t o) const { this->out[o] = a; }
};

// ---------------------------------------------------------------------------------------
// Loops
// ---------------------------------------------------------------------------------------

template <class P, class = void>
struct has_add_run : std::false_type {};
template <class P>
struct has_add_run<P, std::void_t<decltype(&P::add_run)>> : std::true_type {};

// Fold n elements starting at p (element stride `stride`, first reduced index i0) into acc.
template <class P, class T>
void add_run(const P& pol, typename P::acc_t& acc, const T* p, int64_t stride, int64_t n, int64_t i0) {
  if constexpr (has_add_run<P>::value) {
    pol.add_run(acc, p, stride, n);
  } else {
    if (n < 2 * kLanes) {
      for (int64_t i = 0; i < n; ++i) pol.add(acc, p[i * stride], i0 + i);
      return;
    }
    typename P::acc_t lane[kLanes];
    for (int k = 0; k < kLanes; ++k) lane[k] = pol.init();
    int64_t i = 0;
    if (stride == 1) {
      for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < kLanes; ++k) pol.add(lane[k], p[i + k], i0 + i + k);
    } else {
      for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < kLanes; ++k) pol.add(lane[k], p[(i + k) * stride], i0 + i + k);
    }
    for (; i < n; ++i) pol.add(lane[i % kLanes], p[i * stride], i0 + i);
    for (int k = 0; k < kLanes; ++k) pol.merge(acc, lane[k]);
  }
}

// Partial accumulators, one per (output, chunk). Not std::vector: vector<bool> packs bits, and
// threads write neighbouring entries.
template <class P>
using partials_t = std::unique_ptr<typename P::acc_t[]>;

// Each output reduces its own block. Blocks longer than kChunk are split into chunks that are
// reduced as separate tasks and merged in order.
template <class P, class T>
void row_loop(const P& pol, const ReduceArgs& a, const T* in, int64_t M, int64_t K) {
  const int64_t chunks = (K + kChunk - 1) / kChunk;
  if (chunks <= 1) {
    parallel_for(M, K, [&](int64_t begin, int64_t end) {
      Walker kept(a.kept_shape, a.kept_strides), red(a.red_shape, a.red_strides);
      kept.seek(begin);
      for (int64_t o = begin; o < end; ++o) {
        const T* base = in + kept.offset();
        auto acc = pol.init();
        red.for_runs(0, K, [&](int64_t off, int64_t n, int64_t i0) {
          add_run(pol, acc, base + off, red.inner_stride(), n, i0);
        });
        pol.write(acc, K, o);
        if (o + 1 < end) kept.step(1);
      }
    });
    return;
  }
  partials_t<P> partial(new typename P::acc_t[M * chunks]);
  parallel_for(M * chunks, kChunk, [&](int64_t begin, int64_t end) {
    Walker kept(a.kept_shape, a.kept_strides), red(a.red_shape, a.red_strides);
    for (int64_t t = begin; t < end; ++t) {
      int64_t o = t / chunks, c = t % chunks;
      kept.seek(o);
      const T* base = in + kept.offset();
      auto acc = pol.init();
      red.for_runs(c * kChunk, std::min(K, (c + 1) * kChunk), [&](int64_t off, int64_t n, int64_t i0) {
        add_run(pol, acc, base + off, red.inner_stride(), n, i0);
      });
      partial[t] = acc;
    }
  });
  parallel_for(M, chunks, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      auto acc = partial[o * chunks];
      for (int64_t c = 1; c < chunks; ++c) pol.merge(acc, partial[o * chunks + c]);
      pol.write(acc, K, o);
    }
  });
}

// The innermost kept dim is contiguous (stride 1, size C): add input rows into a block of up
// to kColumns output accumulators. Rows are cut into chunks of a shape-determined size.
template <class P, class T>
void column_loop(const P& pol, const ReduceArgs& a, const T* in, int64_t M, int64_t K) {
  const int64_t C = a.kept_shape.back();
  const Shape outer_shape(a.kept_shape.begin(), a.kept_shape.end() - 1);
  const Shape outer_strides(a.kept_strides.begin(), a.kept_strides.end() - 1);
  const int64_t groups = M / C;
  const int64_t blocks = (C + kColumns - 1) / kColumns;
  const int64_t rows = std::max<int64_t>(1, kChunk / std::min(C, kColumns));
  const int64_t chunks = (K + rows - 1) / rows;
  partials_t<P> partial(chunks > 1 ? new typename P::acc_t[M * chunks] : nullptr);
  parallel_for(groups * blocks * chunks, rows * std::min(C, kColumns), [&](int64_t begin, int64_t end) {
    Walker red(a.red_shape, a.red_strides);
    std::vector<int64_t> gidx(outer_shape.size());
    typename P::acc_t acc[kColumns];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t c = t % chunks, blk = (t / chunks) % blocks, g = t / chunks / blocks;
      int64_t base = 0;
      for (int64_t d = static_cast<int64_t>(outer_shape.size()) - 1, rem = g; d >= 0; --d) {
        base += (rem % outer_shape[d]) * outer_strides[d];
        rem /= outer_shape[d];
      }
      const int64_t c0 = blk * kColumns, w = std::min(kColumns, C - c0);
      const T* col = in + base + c0;
      for (int64_t j = 0; j < w; ++j) acc[j] = pol.init();
      red.for_runs(c * rows, std::min(K, (c + 1) * rows), [&](int64_t off, int64_t n, int64_t i0) {
        for (int64_t r = 0; r < n; ++r) {
          const T* row = col + off + r * red.inner_stride();
          for (int64_t j = 0; j < w; ++j) pol.add(acc[j], row[j], i0 + r);
        }
      });
      const int64_t o0 = g * C + c0;
      for (int64_t j = 0; j < w; ++j) {
        if (chunks == 1)
          pol.write(acc[j], K, o0 + j);
        else
          partial[(o0 + j) * chunks + c] = acc[j];
      }
    }
  });
  if (chunks <= 1) return;
  parallel_for(M, chunks, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      auto acc = partial[o * chunks];
      for (int64_t c = 1; c < chunks; ++c) pol.merge(acc, partial[o * chunks + c]);
      pol.write(acc, K, o);
    }
  });
}

template <class P, class T>
void run(const ReduceArgs& a) {
  const P pol(a);
  const T* in = static_cast<const T*>(a.in);
  const int64_t M = shape_numel(a.kept_shape), K = shape_numel(a.red_shape);
  if (M == 0) return;
  if (K == 0) {  // empty reduction: the identity (sum 0, prod 1, mean NaN, ...)
    parallel_for(M, 1, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) pol.write(pol.init(), 0, o);
    });
    return;
  }
  // Both loops walk non-empty index spaces; a missing side is one element.
  ReduceArgs g = a;
  if (g.kept_shape.empty()) g.kept_shape = {1}, g.kept_strides = {0};
  if (g.red_shape.empty()) g.red_shape = {1}, g.red_strides = {0};
  if (g.kept_strides.back() == 1 && g.kept_shape.back() > 1 && g.red_strides.back() != 1)
    column_loop(pol, g, in, M, K);
  else
    row_loop(pol, g, in, M, K);
}

template <class Out>
void check_out(const ReduceArgs& a) {
  PE_CHECK(a.out_dtype == dtype_of<Out>::value, RuntimeError, "reduce kernel: output dtype ",
           dtype_name(a.out_dtype), " does not match the kernel's ", dtype_name(dtype_of<Out>::value));
}

}  // namespace

void reduce(const ReduceArgs& a) {
  const char* name = "reduce";
  switch (a.op) {
    case ReduceOp::Sum:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] {
        check_out<typename SumP<scalar_t>::out_t>(a);
        run<SumP<scalar_t>, scalar_t>(a);
      });
    case ReduceOp::Prod:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] {
        check_out<typename SumP<scalar_t>::out_t>(a);
        run<ProdP<scalar_t>, scalar_t>(a);
      });
    case ReduceOp::Mean:
      return PE_DISPATCH_FLOATING(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<MeanP<scalar_t>, scalar_t>(a); });
    case ReduceOp::Amax:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<ExtremeP<scalar_t, true>, scalar_t>(a); });
    case ReduceOp::Amin:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<ExtremeP<scalar_t, false>, scalar_t>(a); });
    case ReduceOp::ArgMax:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { run<ArgExtremeP<scalar_t, true>, scalar_t>(a); });
    case ReduceOp::ArgMin:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { run<ArgExtremeP<scalar_t, false>, scalar_t>(a); });
    case ReduceOp::Var:
      return PE_DISPATCH_FLOATING(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<VarP<scalar_t, false>, scalar_t>(a); });
    case ReduceOp::Std:
      return PE_DISPATCH_FLOATING(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<VarP<scalar_t, true>, scalar_t>(a); });
    case ReduceOp::LogSumExp:
      return PE_DISPATCH_FLOATING(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<LogSumExpP<scalar_t>, scalar_t>(a); });
    case ReduceOp::Norm:
      return PE_DISPATCH_FLOATING(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<NormP<scalar_t>, scalar_t>(a); });
    case ReduceOp::All:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { check_out<bool>(a), run<LogicalP<scalar_t, true>, scalar_t>(a); });
    case ReduceOp::Any:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { check_out<bool>(a), run<LogicalP<scalar_t, false>, scalar_t>(a); });
  }
  throw RuntimeError(str("reduce kernel: unknown op ", static_cast<int>(a.op)));
}

}  // namespace pe::cpu::PE_ISA_NS
