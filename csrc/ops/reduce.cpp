#include "ops/reduce.h"

#include <algorithm>
#include <cmath>

#include "ops/copy.h"

namespace pe::ops {

namespace {

// Which dims a reduction folds, and the shapes of its result.
struct Plan {
  std::vector<bool> reduced;  // per input dim
  Shape dims;                 // the reduced dims, sorted
  Shape keep_shape;           // input shape with reduced dims set to 1
  Shape out_shape;            // keep_shape, or without those dims when !keepdim
  int64_t count = 1;          // elements folded into each output
};

// nullopt or an empty list: every dim (PyTorch's rule). Negative dims wrap; repeats are errors.
Plan make_plan(const Tensor& x, const Dims& dims, bool keepdim, const char* name) {
  const int64_t nd = x.ndim();
  Plan plan;
  plan.reduced.assign(nd, !dims || dims->empty());
  if (dims) {
    for (int64_t d : *dims) {
      int64_t w = wrap_dim(d, nd);
      if (nd == 0) continue;  // a 0-d tensor accepts dim 0 / -1 and reduces nothing
      PE_CHECK(!plan.reduced[w], RuntimeError, name, "(): dim ", w, " appears multiple times in the list of dims");
      plan.reduced[w] = true;
    }
  }
  // An empty tensor's sizes may multiply beyond int64 before its 0 comes: its count is 0.
  const bool empty = x.numel() == 0;
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t size = x.shape()[d];
    if (plan.reduced[d]) {
      plan.dims.push_back(d);
      plan.count = empty && size != 0 ? plan.count : plan.count * size;
      plan.keep_shape.push_back(1);
      if (keepdim) plan.out_shape.push_back(1);
    } else {
      plan.keep_shape.push_back(size);
      plan.out_shape.push_back(size);
    }
  }
  return plan;
}

// Append a dim to a (shape, strides) index space, dropping size-1 dims and merging with the
// previous dim when the two are contiguous with each other (row-major order is preserved).
void append_dim(Shape& shape, Shape& strides, int64_t size, int64_t stride) {
  if (size == 1) return;
  if (!shape.empty() && strides.back() == stride * size) {
    shape.back() *= size;
    strides.back() = stride;
    return;
  }
  shape.push_back(size);
  strides.push_back(stride);
}

struct Extra {
  Tensor* index = nullptr;  // ArgMax/ArgMin
  double p = 2.0;
  double correction = 1.0;
};

// Allocates the result(s) with plan.out_shape and runs the kernel. `values` may be skipped
// (argmax) by passing out_dtype = nullopt.
Tensor launch(ReduceOp op, const char* name, const Tensor& x, const Plan& plan, std::optional<DType> out_dtype,
              const Extra& extra = {}) {
  // Storage-only dtypes (float16, int32, ...) reduce in their compute dtype (float32 accumulates
  // float16, as in PyTorch); the result converts back once.
  if (!is_compute_dtype(x.dtype()) || (out_dtype && !is_compute_dtype(*out_dtype))) {
    std::optional<DType> compute_out;
    if (out_dtype) compute_out = compute_dtype_of(*out_dtype);
    Tensor out = launch(op, name, to_dtype(x, compute_dtype_of(x.dtype())), plan, compute_out, extra);
    return out_dtype ? to_dtype(out, *out_dtype) : out;
  }
  const Device dev = x.device();
  Tensor out;
  if (out_dtype) out = Tensor::empty(plan.out_shape, *out_dtype, dev);
  if (extra.index) *extra.index = Tensor::empty(plan.out_shape, DType::Int64, dev);
  ReduceArgs a;
  a.op = op;
  a.in_dtype = x.dtype();
  a.in = x.raw_data();
  if (out_dtype) {
    a.out_dtype = *out_dtype;
    a.out = out.raw_data();
  }
  if (extra.index) a.out_index = extra.index->data<int64_t>();
  a.p = extra.p;
  a.correction = extra.correction;
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (plan.reduced[d])
      append_dim(a.red_shape, a.red_strides, x.shape()[d], x.strides()[d]);
    else
      append_dim(a.kept_shape, a.kept_strides, x.shape()[d], x.strides()[d]);
  }
  reduce_kernel(dev, a);
  return out;
}

// max/min/argmax and the inf-norms have no identity: an empty reduction is an error.
template <class Err>
void check_nonempty(const Tensor& x, const Plan& plan, const char* name) {
  if (plan.count != 0) return;
  for (int64_t d : plan.dims)
    if (x.shape()[d] == 0)
      throw Err(str(name, "(): cannot reduce over dim ", d, " of size 0 (input shape ", shape_str(x.shape()),
                    "): the operation has no identity"));
}

void check_floating(const Tensor& x, const char* name) {
  PE_CHECK(is_floating(x.dtype()), TypeError, name, "(): expected a floating input, got ",
           dtype_name(x.dtype()));
}

// sum/prod/mean's dtype argument: the input is converted first, as in PyTorch.
Tensor cast_for(const Tensor& x, std::optional<DType> dtype, const char* name) {
  if (!dtype) return x;
  PE_CHECK(*dtype != DType::Bool, TypeError, name, "(): dtype must be a numeric dtype, got bool");
  return to_dtype(x, *dtype);
}

DType sum_dtype(DType in) { return is_floating(in) ? in : DType::Int64; }

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype) {
  Tensor in = cast_for(x, dtype, "sum");
  return launch(ReduceOp::Sum, "sum", in, make_plan(in, dims, keepdim, "sum"), sum_dtype(in.dtype()));
}

Tensor prod(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype) {
  Tensor in = cast_for(x, dtype, "prod");
  return launch(ReduceOp::Prod, "prod", in, make_plan(in, dims, keepdim, "prod"), sum_dtype(in.dtype()));
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype) {
  Tensor in = cast_for(x, dtype, "mean");
  PE_CHECK(is_floating(in.dtype()), TypeError, "mean(): expected a floating input, got ",
           dtype_name(in.dtype()), "; pass dtype='float32' to average integers");
  return launch(ReduceOp::Mean, "mean", in, make_plan(in, dims, keepdim, "mean"), in.dtype());
}

static Tensor extreme(ReduceOp op, const char* name, const Tensor& x, const Dims& dims, bool keepdim) {
  Plan plan = make_plan(x, dims, keepdim, name);
  check_nonempty<IndexError>(x, plan, name);
  return launch(op, name, x, plan, x.dtype());
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return extreme(ReduceOp::Amax, "amax", x, dims, keepdim); }
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) { return extreme(ReduceOp::Amin, "amin", x, dims, keepdim); }

static std::pair<Tensor, Tensor> extreme_dim(ReduceOp op, const char* name, const Tensor& x, int64_t dim,
                                             bool keepdim) {
  Plan plan = make_plan(x, Dims{{dim}}, keepdim, name);
  check_nonempty<IndexError>(x, plan, name);
  Tensor index;
  Tensor values = launch(op, name, x, plan, x.dtype(), Extra{&index});
  return {values, index};
}

std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(ReduceOp::ArgMax, "max", x, dim, keepdim);
}
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(ReduceOp::ArgMin, "min", x, dim, keepdim);
}

static Tensor arg_extreme(ReduceOp op, const char* name, const Tensor& x, std::optional<int64_t> dim,
                          bool keepdim) {
  PE_CHECK(x.dtype() != DType::Bool, TypeError, name, "(): does not support bool input");
  Plan plan = dim ? make_plan(x, Dims{{*dim}}, keepdim, name) : make_plan(x, std::nullopt, keepdim, name);
  check_nonempty<IndexError>(x, plan, name);
  Tensor index;
  launch(op, name, x, plan, std::nullopt, Extra{&index});
  return index;
}

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(ReduceOp::ArgMax, "argmax", x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(ReduceOp::ArgMin, "argmin", x, dim, keepdim);
}

static Tensor variance(ReduceOp op, const char* name, const Tensor& x, const Dims& dims, double correction,
                       bool keepdim) {
  check_floating(x, name);
  Extra extra;
  extra.correction = correction;
  return launch(op, name, x, make_plan(x, dims, keepdim, name), x.dtype(), extra);
}

Tensor var(const Tensor& x, const Dims& dims, double correction, bool keepdim) {
  return variance(ReduceOp::Var, "var", x, dims, correction, keepdim);
}
Tensor std(const Tensor& x, const Dims& dims, double correction, bool keepdim) {
  return variance(ReduceOp::Std, "std", x, dims, correction, keepdim);
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  // PyTorch computes logsumexp of integers and bools in float32.
  Tensor in = is_floating(x.dtype()) ? x : to_dtype(x, DType::Float32);
  return launch(ReduceOp::LogSumExp, "logsumexp", in, make_plan(in, dims, keepdim, "logsumexp"), in.dtype());
}

Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  check_floating(x, "norm");
  PE_CHECK(!std::isnan(p), ValueError, "norm(): the order p must be a number, got nan");
  Plan plan = make_plan(x, dims, keepdim, "norm");
  if (std::isinf(p)) check_nonempty<RuntimeError>(x, plan, "norm");
  Extra extra;
  extra.p = p;
  return launch(ReduceOp::Norm, "norm", x, plan, x.dtype(), extra);
}

// PyTorch keeps uint8 for all/any of a uint8 tensor (masks from before bool existed).
static Tensor logical(ReduceOp op, const char* name, const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor out = launch(op, name, x, make_plan(x, dims, keepdim, name), DType::Bool);
  return x.dtype() == DType::UInt8 ? to_dtype(out, DType::UInt8) : out;
}

Tensor all(const Tensor& x, const Dims& dims, bool keepdim) { return logical(ReduceOp::All, "all", x, dims, keepdim); }
Tensor any(const Tensor& x, const Dims& dims, bool keepdim) { return logical(ReduceOp::Any, "any", x, dims, keepdim); }

}  // namespace pe::ops
