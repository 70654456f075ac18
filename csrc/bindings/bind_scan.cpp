// The scan family: cumsum/cumprod/logcumsumexp values and cummax/cummin indices.
#include <string>

#include "bindings/bind.h"
#include "ops/scan.h"

namespace pe::bind {
namespace {

ops::ScanOp parse_scan_op(const std::string& s) {
  if (s == "sum") return ops::ScanOp::Sum;
  if (s == "prod") return ops::ScanOp::Prod;
  if (s == "logsumexp") return ops::ScanOp::LogSumExp;
  if (s == "max") return ops::ScanOp::Max;
  if (s == "min") return ops::ScanOp::Min;
  throw ValueError("scan: unknown op '" + s + "': expected one of sum, prod, logsumexp, max, min");
}

}  // namespace

void bind_scan(py::module_& m) {
  m.def(
      "scan",
      [](const Tensor& x, int64_t dim, const std::string& op, bool reverse) {
        const ops::ScanOp o = parse_scan_op(op);
        ReleaseGil nogil;
        return ops::scan(x, dim, o, reverse);
      },
      py::arg("x"), py::arg("dim"), py::arg("op"), py::arg("reverse") = false,
      "running sum / prod / logsumexp of x along dim (reverse: from the end), in x's dtype");
  m.def(
      "scan_indices",
      [](const Tensor& x, int64_t dim, const std::string& op) {
        const ops::ScanOp o = parse_scan_op(op);
        ReleaseGil nogil;
        return ops::scan_indices(x, dim, o);
      },
      py::arg("x"), py::arg("dim"), py::arg("op"),
      "int64 indices of the running max / min of x along dim (ties: the last; NaN wins and stays)");
}

}  // namespace pe::bind
