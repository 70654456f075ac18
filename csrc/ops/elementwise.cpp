#include "ops/elementwise.h"

#include <algorithm>

#include "core/iter.h"
#include "core/overlap.h"
#include "ops/copy.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace pe::ops {

using ew::BinaryOp;
using ew::Domain;
using ew::UnaryOp;

namespace {

// ---------------------------------------------------------------------------------------
// Operands
// ---------------------------------------------------------------------------------------

const Tensor* tensor_of(const Operand& o) { return std::get_if<Tensor>(&o); }

Shape shape_of(const Operand& o) {
  const Tensor* t = tensor_of(o);
  return t ? t->shape() : Shape{};
}

// A Python number's own dtype for promotion: float numbers count as the default float32.
DType number_dtype(const Operand& o) {
  if (std::holds_alternative<bool>(o)) return DType::Bool;
  if (std::holds_alternative<int64_t>(o)) return DType::Int64;
  return DType::Float32;
}

// tensor ** number as a unary op, as PyTorch does: x ** 2 is x * x exactly and far cheaper
// than pow() (squared errors); x ** 0.5 and x ** -0.5 are sqrt and rsqrt, which differ from
// std::pow at the edges (sqrt(-0) = -0 and sqrt(-inf) = NaN, where pow gives +0 and +inf), and
// the backward of x ** 0.5 computes x ** -0.5, so forward and gradient follow PyTorch there.
std::optional<UnaryOp> pow_as_unary(const Operand& exponent, DType compute) {
  if (const int64_t* i = std::get_if<int64_t>(&exponent)) {
    if (*i == 2) return UnaryOp::Square;
  } else if (const double* d = std::get_if<double>(&exponent)) {
    if (*d == 2.0) return UnaryOp::Square;
    if (is_floating(compute) && *d == 0.5) return UnaryOp::Sqrt;
    if (is_floating(compute) && *d == -0.5) return UnaryOp::Rsqrt;
  }
  return std::nullopt;
}

// A 0-d tensor of dtype `dt` holding the number's value, converted once from its own type.
Tensor number_tensor(const Operand& o, DType dt, Device device) {
  Tensor t = Tensor::empty({}, dt, Device{});
  PE_DISPATCH_ALL(dt, "scalar operand", [&] {
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (!std::is_same_v<V, Tensor>) *t.data<scalar_t>() = static_cast<scalar_t>(v);
        },
        o);
  });
  return to_device(t, device);
}

// The operand as a tensor of the compute dtype on `device` (a no-op for a matching tensor;
// a 0-d CPU tensor joining tensors on a GPU is copied there, see common_device).
Tensor materialise(const Operand& o, DType dt, Device device) {
  if (const Tensor* t = tensor_of(o)) return to_device(to_dtype(*t, dt), device);
  return number_tensor(o, dt, device);
}

// PyTorch's one exception to "all on one device": a 0-d CPU input counts as a number, so
// x_cuda * torch.tensor(2.0) works (not the reverse: a 0-d CUDA tensor is a device tensor).
bool is_cpu_scalar(const Tensor& t) { return t.ndim() == 0 && t.device().is_cpu(); }

// The one device all tensor operands (and `out`) live on; numbers and 0-d CPU inputs follow it.
Device common_device(const char* name, const std::vector<const Operand*>& operands,
                     const std::optional<Tensor>& out) {
  std::optional<Device> device;
  auto visit = [&](const Tensor& t) {
    if (!device) device = t.device();
    PE_CHECK(t.device() == *device, RuntimeError, name, ": expected all tensors to be on the same device, but found ",
             device->str(), " and ", t.device().str());
  };
  for (const Operand* o : operands)
    if (const Tensor* t = tensor_of(*o); t && !is_cpu_scalar(*t)) visit(*t);
  if (out) visit(*out);
  return device.value_or(Device{});
}

Shape broadcast_all(const std::vector<const Operand*>& operands) {
  Shape shape;
  for (const Operand* o : operands) shape = broadcast_shapes(shape, shape_of(*o));
  return shape;
}

// ---------------------------------------------------------------------------------------
// Dtypes
// ---------------------------------------------------------------------------------------

// PyTorch's combine_categories: the higher tier wins unless the lower one is of a higher
// category (a float below an int tier, or anything below a bool tier).
std::optional<DType> combine_tiers(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (is_floating(*higher)) return higher;
  if (*higher == DType::Bool || is_floating(*lower)) return promote_types(*higher, *lower);
  return higher;
}

// The dtypes of an op: `result` is what it returns (PyTorch's result dtype), `compute` what its
// kernel runs in: the result's compute dtype (int64 for the small integers, float32 for the
// 16-bit floats), converted to `result` once at the end.
struct OpDtypes {
  DType result;
  DType compute;
};

// The dtypes of an op of `domain`, given the promoted operand dtype.
OpDtypes op_dtypes(Domain domain, DType promoted, const char* name) {
  DType result = promoted;
  switch (domain) {
    case Domain::All: break;
    case Domain::Float:
      if (!is_floating(promoted)) result = DType::Float32;
      break;
    case Domain::BoolAsInt:
      if (promoted == DType::Bool) result = DType::Int64;
      break;
    case Domain::Numeric:
      PE_CHECK(promoted != DType::Bool, TypeError, name, ": expected a numeric dtype, got bool");
      break;
    case Domain::Integral:
      PE_CHECK(!is_floating(promoted), NotImplementedError, name, ": not implemented for ", dtype_name(promoted),
               " operands (integer and bool tensors only)");
      break;
    case Domain::Int:
      PE_CHECK(is_integer(promoted), NotImplementedError, name, ": not implemented for ", dtype_name(promoted),
               " operands (integer tensors only)");
      break;
    case Domain::NonBool:
      PE_CHECK(promoted != DType::Bool, NotImplementedError, name,
               ": not implemented for bool operands (integer and floating tensors only)");
      break;
  }
  return {result, compute_dtype_of(result)};
}

// PyTorch's can_cast for outputs: no floating result into an integer or bool output, no
// numeric result into a bool output.
bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != DType::Bool && to == DType::Bool) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Output and aliasing
// ---------------------------------------------------------------------------------------

// Runs `kernel(dst)` so that the result (shape, dtype) lands in `out` when given, else in a
// new tensor. The kernel writes a tensor of `kernel_dtype` (the compute dtype, or bool); it
// writes `out` directly when it can, otherwise (another dtype, or `out` overlapping an input)
// a temporary that is then converted into `out` or the result.
template <class Kernel>
Tensor write_result(const char* name, const Shape& shape, DType dtype, DType kernel_dtype, Device device,
                    const std::vector<Tensor>& inputs, const std::optional<Tensor>& out, Kernel&& kernel) {
  if (!out) {
    Tensor result = Tensor::empty(shape, kernel_dtype, device);
    kernel(result);
    return to_dtype(result, dtype);
  }
  const Tensor& o = *out;
  PE_CHECK(o.shape() == shape, ValueError, name, ": out has shape ", shape_str(o.shape()),
           " but the result has shape ", shape_str(shape));
  PE_CHECK(can_cast(dtype, o.dtype()), RuntimeError, name, ": result type ", dtype_name(dtype),
           " can't be cast to the desired output type ", dtype_name(o.dtype()));
  check_no_internal_overlap(name, o);
  bool direct = o.dtype() == kernel_dtype && kernel_dtype == dtype;
  for (const Tensor& in : inputs)
    if (unsafe_overlap(o, in, shape)) direct = false;
  if (direct) {
    kernel(o);
  } else {
    Tensor tmp = Tensor::empty(shape, kernel_dtype, device);
    kernel(tmp);
    // The result rounds to its own dtype first (float16 out of float32 math), then into out.
    copy_(o, to_dtype(tmp, dtype));
  }
  o.bump_version();
  return o;
}

// ---------------------------------------------------------------------------------------
// Kernel dispatch on device (arguments already validated)
// ---------------------------------------------------------------------------------------

void run_unary(UnaryOp op, const Tensor& dst, const Tensor& x) { unary_kernel(dst.device(), op, dst, x); }

void run_binary(BinaryOp op, const Tensor& dst, const Tensor& a, const Tensor& b) {
  binary_kernel(dst.device(), op, dst, a, b);
}

// Integer // and % by zero: PyTorch raises "ZeroDivisionError" (a RuntimeError) instead of
// computing. One all() reduction on the divisor's own device, read back before any kernel
// runs: no kernel writes an error flag, so nothing races.
void check_nonzero_divisor(const char* name, const Tensor& divisor) {
  if (divisor.numel() == 0) return;
  Tensor nonzero = to_device(all(divisor, std::nullopt, false), Device{});
  PE_CHECK(*nonzero.data<bool>(), RuntimeError, name,
           ": ZeroDivisionError: integer division or modulo by zero (the divisor contains 0)");
}

void check_op(int op, int count, const char* what) {
  PE_CHECK(op >= 0 && op < count, ValueError, "invalid ", what, " op code ", op, " (expected 0..", count - 1, ")");
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public ops
// ---------------------------------------------------------------------------------------

DType result_type(const std::vector<Operand>& operands) {
  PE_CHECK(!operands.empty(), ValueError, "result_type: expected at least one operand");
  std::optional<DType> dimensioned, zero_dim, number;
  auto merge = [](std::optional<DType>& tier, DType d) { tier = tier ? promote_types(*tier, d) : d; };
  for (const Operand& o : operands) {
    if (const Tensor* t = tensor_of(o)) merge(t->ndim() > 0 ? dimensioned : zero_dim, t->dtype());
    else merge(number, number_dtype(o));
  }
  return *combine_tiers(dimensioned, combine_tiers(zero_dim, number));
}

Tensor unary(UnaryOp op, const Tensor& x, const std::optional<Tensor>& out) {
  check_op(static_cast<int>(op), static_cast<int>(UnaryOp::kCount), "unary");
  const char* name = ew::op_name(op);
  PE_CHECK(!(op == UnaryOp::Neg && x.dtype() == DType::Bool), TypeError,
           "neg: negation, the `-` operator, on a bool tensor is not supported; use logical_not() to invert a mask");
  Operand xo = x;
  Device device = common_device(name, {&xo}, out);
  const OpDtypes dt = op_dtypes(ew::op_domain(op), x.dtype(), name);
  const bool to_bool = ew::returns_bool(op);
  Tensor in = materialise(xo, dt.compute, device);
  return write_result(name, x.shape(), to_bool ? DType::Bool : dt.result, to_bool ? DType::Bool : dt.compute, device,
                      {in}, out, [&](const Tensor& dst) { run_unary(op, dst, in); });
}

Tensor binary(BinaryOp op, const Operand& a, const Operand& b, const std::optional<Tensor>& out) {
  check_op(static_cast<int>(op), static_cast<int>(BinaryOp::kCount), "binary");
  const char* name = ew::op_name(op);
  // The common case in training code, without the general path's temporaries: two tensors of
  // one floating dtype and one shape on one device, no `out`. Every check below passes for it
  // and every conversion is a no-op, so the result is the general path's.
  const Tensor* x = tensor_of(a);
  const Tensor* y = tensor_of(b);
  const bool float_kernel = ew::takes_floating(ew::op_domain(op));
  if (!out && float_kernel && x && y && x->dtype() == y->dtype() && is_floating(x->dtype()) &&
      is_compute_dtype(x->dtype()) &&
      x->device() == y->device() && x->shape() == y->shape()) {
    Tensor result = Tensor::empty(x->shape(), ew::returns_bool(op) ? DType::Bool : x->dtype(), x->device());
    run_binary(op, result, *x, *y);
    return result;
  }
  // The same for a floating tensor and a Python int or float (x * 0.5, 1 - x): the tensor's
  // dtype wins promotion, so the number becomes a 0-d tensor of it, broadcast by stride 0.
  // (pow keeps the general path: its unary shortcuts and integer-exponent checks.)
  const Tensor* t = x ? x : y;
  const Operand& number = x ? b : a;
  if (!out && float_kernel && op != BinaryOp::Pow && t && !(x && y) && is_floating(t->dtype()) &&
      is_compute_dtype(t->dtype()) &&
      !std::holds_alternative<bool>(number)) {
    const Tensor n = number_tensor(number, t->dtype(), t->device());
    Tensor result = Tensor::empty(t->shape(), ew::returns_bool(op) ? DType::Bool : t->dtype(), t->device());
    run_binary(op, result, x ? *t : n, x ? n : *t);
    return result;
  }
  Device device = common_device(name, {&a, &b}, out);
  DType promoted = result_type({a, b});
  if (op == BinaryOp::Sub) {
    auto is_bool = [](const Operand& o) {
      const Tensor* t = tensor_of(o);
      return t ? t->dtype() == DType::Bool : std::holds_alternative<bool>(o);
    };
    PE_CHECK(!is_bool(a) && !is_bool(b), TypeError,
             "sub: subtraction, the `-` operator, with a bool operand is not supported; use logical_xor() "
             "or logical_not() instead");
  }
  if (op == BinaryOp::Pow && is_integer(promoted)) {
    const int64_t* e = std::get_if<int64_t>(&b);
    PE_CHECK(!e || *e >= 0, ValueError, "pow: integers to negative integer powers are not allowed (exponent ", *e,
             ")");
  }
  const OpDtypes dt = op_dtypes(ew::op_domain(op), promoted, name);
  const DType compute = dt.compute;
  const bool to_bool = ew::returns_bool(op);
  const DType result = to_bool ? DType::Bool : dt.result, kernel_dtype = to_bool ? DType::Bool : compute;
  if (op == BinaryOp::Pow && tensor_of(a)) {
    if (std::optional<UnaryOp> unary_op = pow_as_unary(b, compute)) {
      Tensor x = materialise(a, compute, device);
      return write_result(name, x.shape(), dt.result, compute, device, {x}, out,
                          [&](const Tensor& dst) { run_unary(*unary_op, dst, x); });
    }
  }
  Shape shape = broadcast_all({&a, &b});
  Tensor ta = materialise(a, compute, device), tb = materialise(b, compute, device);
  if ((op == BinaryOp::FloorDivide || op == BinaryOp::Remainder || op == BinaryOp::Fmod ||
       op == BinaryOp::DivTrunc) && compute == DType::Int64)
    check_nonzero_divisor(name, tb);
  return write_result(name, shape, result, kernel_dtype, device, {ta, tb}, out,
                      [&](const Tensor& dst) { run_binary(op, dst, ta, tb); });
}

Tensor where(const Operand& cond, const Operand& a, const Operand& b) {
  const Tensor* ct = tensor_of(cond);
  DType cond_dtype = ct ? ct->dtype() : number_dtype(cond);
  PE_CHECK(cond_dtype == DType::Bool, TypeError, "where: expected a bool condition, got ", dtype_name(cond_dtype));
  Device device = common_device("where", {&cond, &a, &b}, std::nullopt);
  DType dtype = result_type({a, b}), compute = compute_dtype_of(dtype);
  Shape shape = broadcast_all({&cond, &a, &b});
  Tensor tc = materialise(cond, DType::Bool, device);
  Tensor ta = materialise(a, compute, device), tb = materialise(b, compute, device);
  return write_result("where", shape, dtype, compute, device, {tc, ta, tb}, std::nullopt,
                      [&](const Tensor& dst) { where_kernel(dst.device(), dst, tc, ta, tb); });
}

Tensor clamp(const Operand& x, const std::optional<Operand>& min, const std::optional<Operand>& max,
             const std::optional<Tensor>& out) {
  PE_CHECK(min || max, ValueError, "clamp: at least one of 'min' or 'max' must not be None");
  std::vector<const Operand*> operands{&x};
  std::vector<Operand> for_promotion{x};
  for (const auto* bound : {&min, &max})
    if (*bound) {
      operands.push_back(&**bound);
      for_promotion.push_back(**bound);
    }
  Device device = common_device("clamp", operands, out);
  // Domain of maximum/minimum: bools clamp too (PyTorch only allows that for tensor bounds).
  const OpDtypes dt = op_dtypes(Domain::All, result_type(for_promotion), "clamp");
  const DType compute = dt.compute;
  Shape shape = broadcast_all(operands);
  Tensor tx = materialise(x, compute, device);
  std::vector<Tensor> inputs{tx};
  std::optional<Tensor> tmin, tmax;
  if (min) inputs.push_back(*(tmin = materialise(*min, compute, device)));
  if (max) inputs.push_back(*(tmax = materialise(*max, compute, device)));
  // The second pass reads `max` after the first pass wrote `out`: even an identical view
  // would be read too late, so such a bound gets its own copy first.
  if (out && tmin && tmax && shares_memory(*out, *tmax)) inputs.back() = *(tmax = clone(*tmax));
  // Two passes through the shared maximum/minimum functors (so CUDA gets clamp for free);
  // the second reads what the first wrote, element by element, which is safe aliasing.
  return write_result("clamp", shape, dt.result, compute, device, inputs, out, [&](const Tensor& dst) {
    if (tmin) run_binary(BinaryOp::Maximum, dst, tx, *tmin);
    if (tmax) run_binary(BinaryOp::Minimum, dst, tmin ? dst : tx, *tmax);
  });
}

}  // namespace pe::ops
