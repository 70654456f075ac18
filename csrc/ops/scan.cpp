#include "ops/scan.h"

#include <algorithm>

namespace pe::ops {
namespace {

const char* op_name(ScanOp op) {
  switch (op) {
    case ScanOp::Sum: return "cumsum";
    case ScanOp::Prod: return "cumprod";
    case ScanOp::LogSumExp: return "logcumsumexp";
    case ScanOp::Max: return "cummax";
    case ScanOp::Min: return "cummin";
  }
  return "scan";
}

// Validates x and dim for `op`, fills the row geometry of `a` for x and out; returns the dim.
void run_scan(const Tensor& x, const Tensor& out, int64_t dim, ScanOp op, bool reverse) {
  const char* name = op_name(op);
  PE_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64 ||
               (x.dtype() == DType::Int64 && op != ScanOp::LogSumExp),
           TypeError, name, "(): expected a ",
           op == ScanOp::LogSumExp ? "float32 or float64" : "float32, float64 or int64", " input, got ",
           dtype_name(x.dtype()));
  if (out.numel() == 0) return;
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.ndim(), 1));
  ScanArgs a;
  a.dtype = x.dtype();
  a.op = op;
  a.reverse = reverse;
  a.n = x.ndim() == 0 ? 1 : x.shape()[d];
  a.in = x.raw_data();
  a.out = out.raw_data();
  for (int64_t i = 0; i < x.ndim(); ++i) {
    if (i == d) {
      a.in_stride = x.strides()[i];
      a.out_stride = out.strides()[i];
    } else {
      a.row_shape.push_back(x.shape()[i]);
      a.in_row_strides.push_back(x.strides()[i]);
      a.out_row_strides.push_back(out.strides()[i]);
    }
  }
  scan_kernel(x.device(), a);
}

}  // namespace

Tensor scan(const Tensor& x, int64_t dim, ScanOp op, bool reverse) {
  PE_CHECK(op == ScanOp::Sum || op == ScanOp::Prod || op == ScanOp::LogSumExp, ValueError,
           "scan(): expected a sum, prod or logsumexp scan, got ", op_name(op));
  wrap_dim(dim, std::max<int64_t>(x.ndim(), 1));  // IndexError before any allocation
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  run_scan(x, out, dim, op, reverse);
  return out;
}

Tensor scan_indices(const Tensor& x, int64_t dim, ScanOp op) {
  PE_CHECK(op == ScanOp::Max || op == ScanOp::Min, ValueError, "scan_indices(): expected a max or min scan, got ",
           op_name(op));
  wrap_dim(dim, std::max<int64_t>(x.ndim(), 1));
  Tensor out = Tensor::empty(x.shape(), DType::Int64, x.device());
  run_scan(x, out, dim, op, false);
  return out;
}

}  // namespace pe::ops
