// Reduction loops. Every reduction is an accumulator policy (cpu/reduce_policies.h) run by
// one of two loops:
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
#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "cpu/reduce_policies.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::ReduceOp;

// Row loop: reduced elements per chunk. Column loop: output columns per block (their
// accumulators stay in L1), input elements per task, and a cap on row chunks (partials).
constexpr int64_t kChunk = 16384;
constexpr int64_t kColumns = 1024;
constexpr int64_t kColumnTask = 1 << 18;
constexpr int64_t kMaxColumnChunks = 64;

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

// The innermost kept dim is contiguous (stride 1, size C): add whole input rows into a block
// of up to kColumns output accumulators, so memory is read in order. The rows are cut into
// at most kMaxColumnChunks chunks, a number fixed by the shape.
template <class P, class T>
void column_loop(const P& pol, const ReduceArgs& a, const T* in, int64_t M, int64_t K) {
  const int64_t C = a.kept_shape.back();
  const Shape outer_shape(a.kept_shape.begin(), a.kept_shape.end() - 1);
  const Shape outer_strides(a.kept_strides.begin(), a.kept_strides.end() - 1);
  const int64_t groups = M / C;
  const int64_t width = std::min(C, kColumns);
  const int64_t blocks = (C + width - 1) / width;
  const int64_t want_chunks = std::clamp<int64_t>(K * width / kColumnTask, 1, kMaxColumnChunks);
  const int64_t rows = (K + want_chunks - 1) / want_chunks;
  const int64_t chunks = (K + rows - 1) / rows;
  partials_t<P> partial(chunks > 1 ? new typename P::acc_t[M * chunks] : nullptr);
  parallel_for(groups * blocks * chunks, rows * width, [&](int64_t begin, int64_t end) {
    Walker red(a.red_shape, a.red_strides);
    std::unique_ptr<typename P::acc_t[]> acc(new typename P::acc_t[width]);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t c = t % chunks, blk = (t / chunks) % blocks, g = t / chunks / blocks;
      int64_t base = 0;
      for (int64_t d = static_cast<int64_t>(outer_shape.size()) - 1, rem = g; d >= 0; --d) {
        base += (rem % outer_shape[d]) * outer_strides[d];
        rem /= outer_shape[d];
      }
      const int64_t c0 = blk * width, w = std::min(width, C - c0);
      const T* col = in + base + c0;
      typename P::acc_t* acc_p = acc.get();
      for (int64_t j = 0; j < w; ++j) acc_p[j] = pol.init();
      red.for_runs(c * rows, std::min(K, (c + 1) * rows), [&](int64_t off, int64_t n, int64_t i0) {
        for (int64_t r = 0; r < n; ++r) {
          const T* row = col + off + r * red.inner_stride();
          for (int64_t j = 0; j < w; ++j) pol.add(acc_p[j], row[j], i0 + r);
        }
      });
      const int64_t o0 = g * C + c0;
      for (int64_t j = 0; j < w; ++j) {
        if (chunks == 1)
          pol.write(acc_p[j], K, o0 + j);
        else
          partial[(o0 + j) * chunks + c] = acc_p[j];
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
        check_out<sum_out_t<scalar_t>>(a);
        run<SumP<scalar_t>, scalar_t>(a);
      });
    case ReduceOp::Prod:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] {
        check_out<sum_out_t<scalar_t>>(a);
        run<ProdP<scalar_t>, scalar_t>(a);
      });
    case ReduceOp::Mean:
      return PE_DISPATCH_FLOATING(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<MeanP<scalar_t>, scalar_t>(a); });
    case ReduceOp::Amax:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<ExtremeP<scalar_t, true>, scalar_t>(a); });
    case ReduceOp::Amin:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] { check_out<scalar_t>(a), run<ExtremeP<scalar_t, false>, scalar_t>(a); });
    case ReduceOp::ArgMax:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] {
        if (a.out) check_out<scalar_t>(a);
        run<ArgExtremeP<scalar_t, true>, scalar_t>(a);
      });
    case ReduceOp::ArgMin:
      return PE_DISPATCH_ALL(a.in_dtype, name, [&] {
        if (a.out) check_out<scalar_t>(a);
        run<ArgExtremeP<scalar_t, false>, scalar_t>(a);
      });
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

PE_REGISTER_CPU_KERNEL(ops::reduce_kernel, reduce);

}  // namespace pe::cpu::PE_ISA_NS
