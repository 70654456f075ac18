// The scan family on the CPU (the contract is in ops/scan.h): each row is walked once, in
// order (from its end for reverse), with the steps of math/scan_math.h. Float32 sums,
// products and log-sum-exps accumulate in double, as PyTorch's CPU kernels do (a long float32
// cumsum keeps float accuracy); float64 and int64 accumulate in their own type (int64
// wraps on overflow, as PyTorch). Rows are independent: threads split rows, so results never
// depend on the thread count.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/parallel.h"
#include "cpu/row_offset.h"
#include "math/scan_math.h"
#include "ops/scan.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::ScanArgs;
using scan::ScanOp;

template <class T>
using acc_of = std::conditional_t<std::is_same_v<T, float>, double, T>;

// Position i of a row walked in scan order.
inline int64_t at(int64_t i, int64_t n, bool reverse) { return reverse ? n - 1 - i : i; }

template <class T>
void value_row(const T* x, int64_t sx, T* y, int64_t sy, int64_t n, ScanOp op, bool reverse) {
  using acc_t = acc_of<T>;
  acc_t acc = acc_t(x[at(0, n, reverse) * sx]);
  y[at(0, n, reverse) * sy] = T(acc);
  for (int64_t i = 1; i < n; ++i) {
    const int64_t p = at(i, n, reverse);
    const acc_t v = acc_t(x[p * sx]);
    if (op == ScanOp::Sum) acc += v;
    else if (op == ScanOp::Prod) acc *= v;
    else if constexpr (std::is_floating_point_v<T>) acc = scan::log_add_exp(acc, v);
    y[p * sy] = T(acc);
  }
}

template <class T>
void index_row(const T* x, int64_t sx, int64_t* y, int64_t sy, int64_t n, bool is_max) {
  T best = x[0];
  int64_t best_i = 0;
  y[0] = 0;
  for (int64_t i = 1; i < n; ++i) {
    const T v = x[i * sx];
    if (scan::extremum_takes_over(best, v, is_max)) best = v, best_i = i;
    y[i * sy] = best_i;
  }
}

template <class T>
void scan_rows(const ScanArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  parallel_for(rows, a.n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = static_cast<const T*>(a.in) + row_offset(r, a.row_shape, a.in_row_strides);
      const int64_t out_off = row_offset(r, a.row_shape, a.out_row_strides);
      if (a.op == ScanOp::Max || a.op == ScanOp::Min)
        index_row(x, a.in_stride, static_cast<int64_t*>(a.out) + out_off, a.out_stride, a.n, a.op == ScanOp::Max);
      else
        value_row(x, a.in_stride, static_cast<T*>(a.out) + out_off, a.out_stride, a.n, a.op, a.reverse);
    }
  });
}

void scan_kernel(const ScanArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "scan", [&] { scan_rows<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::scan_kernel, scan_kernel);

}  // namespace pe::cpu::PE_ISA_NS
