// Elementwise math: one Python function per op in the op lists of math/elementwise_math.h,
// plus where, clamp and result_type. Python numbers are accepted for any tensor operand of
// binary ops, where and clamp (pybind11 tries bool, then int, then float).
#include "bindings/bind.h"
#include "ops/elementwise.h"

namespace pe::bind {

using ew::BinaryOp;
using ew::UnaryOp;
using OptTensor = std::optional<Tensor>;

namespace {

// The fused backward helpers are binary ops named (grad, <saved tensor>) and take no `out`.
struct FusedBackward {
  BinaryOp op;
  const char* saved;
};
constexpr FusedBackward kFusedBackward[] = {{BinaryOp::ReluBackward, "x"},
                                            {BinaryOp::SigmoidBackward, "y"},
                                            {BinaryOp::TanhBackward, "y"},
                                            {BinaryOp::ErfBackward, "x"}};

const char* fused_saved_name(BinaryOp op) {
  for (const auto& f : kFusedBackward)
    if (f.op == op) return f.saved;
  return nullptr;
}

}  // namespace

void bind_elementwise(py::module_& m) {
  for (int i = 0; i < static_cast<int>(UnaryOp::kCount); ++i) {
    const auto op = static_cast<UnaryOp>(i);
    m.def(
        ew::op_name(op), [op](const Tensor& x, const OptTensor& out) { return ops::unary(op, x, out); },
        py::arg("x"), py::arg("out") = py::none(), release_gil());
  }

  for (int i = 0; i < static_cast<int>(BinaryOp::kCount); ++i) {
    const auto op = static_cast<BinaryOp>(i);
    if (const char* saved = fused_saved_name(op)) {
      m.def(
          ew::op_name(op), [op](const ops::Operand& grad, const ops::Operand& s) { return ops::binary(op, grad, s); },
          py::arg("grad"), py::arg(saved), release_gil());
    } else {
      m.def(
          ew::op_name(op),
          [op](const ops::Operand& a, const ops::Operand& b, const OptTensor& out) {
            return ops::binary(op, a, b, out);
          },
          py::arg("a"), py::arg("b"), py::arg("out") = py::none(), release_gil());
    }
  }

  m.def("where", &ops::where, py::arg("cond"), py::arg("a"), py::arg("b"), release_gil());
  m.def("clamp", &ops::clamp, py::arg("x"), py::arg("min") = py::none(), py::arg("max") = py::none(),
        py::arg("out") = py::none(), release_gil());
  m.def(
      "result_type",
      [](const ops::Operand& a, const ops::Operand& b) { return dtype_name(ops::result_type({a, b})); },
      py::arg("a"), py::arg("b"));
}

}  // namespace pe::bind
