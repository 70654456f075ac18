// Elementwise ops: type promotion, scalar operands, broadcasting, `out=` handling and device
// dispatch. The math itself lives in math/elementwise_math.h; the loops in cpu/ and cuda/.
#pragma once
#include <optional>
#include <variant>
#include <vector>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/elementwise_math.h"

namespace pe::ops {

// What binary ops, where and clamp take for each operand: a tensor or a Python number.
// A number's value is converted straight to the compute dtype (float64 tensor * 0.1 uses the
// double 0.1), and it never decides the dtype over a tensor of the same category.
using Operand = std::variant<Tensor, bool, int64_t, double>;

// PyTorch's promotion. Categories bool < integer < floating; dimensioned tensors decide
// unless a 0-d tensor, then a number, has a higher category (a float number -> float32).
DType result_type(const std::vector<Operand>& operands);

// f(x). Float-only ops compute bool/int64 input as float32; `out` (if given) must have the
// result's shape and a dtype the result can be cast to; it is returned with its version bumped.
Tensor unary(ew::UnaryOp op, const Tensor& x, const std::optional<Tensor>& out = std::nullopt);
// f(a, b) with broadcasting; comparisons and logical ops return bool.
Tensor binary(ew::BinaryOp op, const Operand& a, const Operand& b,
              const std::optional<Tensor>& out = std::nullopt);
// cond ? a : b; cond is a bool tensor (or a Python bool).
Tensor where(const Operand& cond, const Operand& a, const Operand& b);
// min(max(x, min), max); at least one bound. With min > max every element becomes max.
Tensor clamp(const Operand& x, const std::optional<Operand>& min, const std::optional<Operand>& max,
             const std::optional<Tensor>& out = std::nullopt);

// Kernels. Contract (see the top of math/elementwise_math.h): inputs already have the op's
// compute dtype and broadcast to out.shape(); out has the op's result dtype and overlaps no
// input except as the same view; every operand is on one device.
inline KernelSlot<void (*)(ew::UnaryOp op, const Tensor& out, const Tensor& in)> unary_kernel{"unary elementwise op"};
inline KernelSlot<void (*)(ew::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b)> binary_kernel{
    "binary elementwise op"};
// out = cond ? a : b; cond is bool, a and b have out's dtype.
inline KernelSlot<void (*)(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b)> where_kernel{
    "where"};

}  // namespace pe::ops
