// The index family's op bodies: argument checks (every index value through index_range_kernel,
// on the index's device, before anything is written), allocation, and one slot call per kernel.
#include "ops/index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/checked.h"
#include "core/iter.h"
#include "core/overlap.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace pe::ops {

// ---- shared checks ----


// The kernels' view of a tensor whose shape is the kernel's shape.
static IndexOperand operand(const Tensor& t) { return {t.raw_data(), t.strides()}; }
static IndexOperand operand(const Tensor& t, Shape strides) { return {t.raw_data(), std::move(strides)}; }

// `t`'s element strides seen in the broadcast shape `shape` (0 along broadcast dims).
static Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape s = broadcast_byte_strides(t, shape);
  for (int64_t& v : s) v /= static_cast<int64_t>(t.itemsize());
  return s;
}

// The first value of the contiguous int64 tensor `index` outside [lo, hi), on its device.
static IndexRangeResult out_of_range(const Tensor& index, int64_t lo, int64_t hi) {
  if (index.numel() == 0) return {};
  return index_range_kernel(index.device(), IndexRangeArgs{index.data<int64_t>(), index.numel(), lo, hi});
}

static void check_index_dtype(const char* op, const Tensor& index) {
  PE_CHECK(index.dtype() == DType::Int64, TypeError, op, ": expected an index tensor of dtype int64, got ",
           dtype_name(index.dtype()));
}

// Result sizes come from the user (eye(n), arange bounds, broadcast indices, expanded views): the byte
// count must fit in int64 before anything is allocated or indexed.
static void check_result_size(const char* op, const Shape& shape, DType dtype) { checked_nbytes(shape, dtype, op); }

// Checks every value of `index` against x's dimension `dim` of size `size` (negative values
// wrap when allowed) and returns the index contiguous, ready for the kernels.
static Tensor checked_index(const char* op, const Tensor& index, int64_t dim, int64_t size, bool wrap) {
  check_index_dtype(op, index);
  check_result_size(op, index.shape(), DType::Int64);  // an expanded view may be huge
  Tensor c = contiguous(index);
  IndexRangeResult bad = out_of_range(c, wrap ? -size : 0, size);
  PE_CHECK(bad.position < 0, IndexError, op, ": index ", bad.value, " is out of bounds for dimension ", dim,
           " with size ", size);
  return c;
}

// checked_index for the kernels that read the index through its strides (gather, scatter):
// the index keeps its layout, and an expanded one (stride-0 dims, as dst.unsqueeze(1).expand(E, F)
// in message passing) is checked on its distinct values only, never copied.
static Tensor checked_strided_index(const char* op, const Tensor& index, int64_t dim, int64_t size) {
  check_index_dtype(op, index);
  Shape distinct = index.shape();
  for (int64_t d = 0; d < index.ndim(); ++d)
    if (index.stride(d) == 0) distinct[d] = std::min<int64_t>(distinct[d], 1);
  checked_index(op, index.as_strided(distinct, index.strides(), index.offset()), dim, size, false);
  return index;
}

static Shape concat(Shape a, const Shape& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

static bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

// gather/scatter treat a 0-d tensor as 1-d of size 1, as PyTorch does.
static Tensor at_least_1d(const Tensor& t) { return t.ndim() == 0 ? t.as_strided({1}, {1}, t.offset()) : t; }

// ---- cat ----

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  PE_CHECK(!tensors.empty(), ValueError, "cat: expected a non-empty list of tensors");
  DType dtype = tensors[0].dtype();
  const Device device = tensors[0].device();
  for (size_t i = 0; i < tensors.size(); ++i) {
    PE_CHECK(tensors[i].device() == device, RuntimeError, "cat: expected all tensors on the same device, got tensor 0 on ",
             device.str(), " and tensor ", i, " on ", tensors[i].device().str());
    PE_CHECK(tensors[i].ndim() > 0, ValueError, "cat: zero-dimensional tensor (at position ", i,
             ") cannot be concatenated");
    dtype = promote_types(dtype, tensors[i].dtype());
  }
  // PyTorch's legacy rule: 1-D empty tensors (shape (0,)) take no part in the shape checks.
  auto skipped = [](const Tensor& t) { return t.ndim() == 1 && t.numel() == 0; };
  auto it = std::find_if(tensors.begin(), tensors.end(), [&](const Tensor& t) { return !skipped(t); });
  if (it == tensors.end()) return Tensor::empty({0}, dtype, device);
  const size_t ref = static_cast<size_t>(it - tensors.begin());
  const Tensor& r = tensors[ref];
  dim = wrap_dim(dim, r.ndim());

  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped(t)) continue;
    PE_CHECK(t.ndim() == r.ndim(), ValueError, "cat: tensors must have the same number of dimensions: tensor ", ref,
             " has shape ", shape_str(r.shape()), " but tensor ", i, " has shape ", shape_str(t.shape()));
    for (int64_t d = 0; d < r.ndim(); ++d)
      PE_CHECK(d == dim || t.shape()[d] == r.shape()[d], ValueError,
               "cat: sizes of tensors must match except in dimension ", dim, ": tensor ", ref, " has shape ",
               shape_str(r.shape()), " but tensor ", i, " has shape ", shape_str(t.shape()), " (size ",
               t.shape()[d], " vs ", r.shape()[d], " at dimension ", d, ")");
    total = checked_add(total, t.shape()[dim], "cat: the total size along dim");  // inputs may be huge broadcast views
  }
  Shape shape = r.shape();
  shape[dim] = total;
  check_result_size("cat", shape, dtype);
  Tensor out = Tensor::empty(shape, dtype, device);
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    if (skipped(t)) continue;
    // Each input lands in its slab of out; the copy converts dtypes and follows any strides.
    if (t.numel() > 0) copy_(out.as_strided(t.shape(), out.strides(), at * out.stride(dim)), t);
    at += t.shape()[dim];
  }
  return out;
}

// ---- gather / scatter_add / index_select ----

// PyTorch's rule: same ndim; index.size(d) <= x.size(d) for d != dim, and <= src.size(d) for all d.
static void check_index_shapes(const char* op, const Tensor& x, int64_t dim, const Tensor& index, const Tensor* src) {
  PE_CHECK(index.ndim() == x.ndim(), ValueError, op,
           ": index should have the same number of dimensions as the input: index shape ", shape_str(index.shape()),
           " vs input shape ", shape_str(x.shape()));
  for (int64_t d = 0; d < x.ndim(); ++d)
    PE_CHECK(d == dim || index.shape()[d] <= x.shape()[d], ValueError, op, ": index shape ",
             shape_str(index.shape()), " must not exceed input shape ", shape_str(x.shape()),
             " except in dimension ", dim, " (size ", index.shape()[d], " > ", x.shape()[d], " at dimension ", d, ")");
  if (!src) return;
  PE_CHECK(src->ndim() == x.ndim(), ValueError, op,
           ": src should have the same number of dimensions as the input: src shape ", shape_str(src->shape()),
           " vs input shape ", shape_str(x.shape()));
  for (int64_t d = 0; d < x.ndim(); ++d)
    PE_CHECK(index.shape()[d] <= src->shape()[d], ValueError, op, ": index shape ", shape_str(index.shape()),
             " must not exceed src shape ", shape_str(src->shape()), " (size ", index.shape()[d], " > ",
             src->shape()[d], " at dimension ", d, ")");
}

Tensor gather(const Tensor& x_in, int64_t dim, const Tensor& index_in) {
  check_same_device("gather", x_in, "input", index_in, "index");
  check_index_dtype("gather", index_in);
  Tensor x = at_least_1d(x_in), index = at_least_1d(index_in);
  dim = wrap_dim(dim, x.ndim());
  check_index_shapes("gather", x, dim, index, nullptr);
  Tensor idx = checked_strided_index("gather", index, dim, x.size(dim));
  Tensor out = Tensor::empty(index_in.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  // x seen with index's shape and dim frozen at 0; the kernel adds index * stride(dim).
  Shape xs = x.strides();
  xs[dim] = 0;
  take_kernel(x.device(), TakeArgs{x.dtype(), idx.shape(), operand(out, contiguous_strides(idx.shape())),
                                   operand(x, xs), operand(idx), x.stride(dim)});
  return out;
}

// scatter's operands, checked and seen the way put_kernel wants them (0-d as 1-d).
struct ScatterOperands {
  Tensor x, idx, src;
  int64_t dim = 0;
};

static ScatterOperands checked_scatter(const char* op, const Tensor& x_in, int64_t dim, const Tensor& index_in,
                                       const Tensor& src_in) {
  check_same_device(op, x_in, "input", index_in, "index");
  check_same_device(op, x_in, "input", src_in, "src");
  check_index_dtype(op, index_in);
  PE_CHECK(src_in.dtype() == x_in.dtype(), TypeError, op, ": expected src of the same dtype as self (",
           dtype_name(x_in.dtype()), "), got ", dtype_name(src_in.dtype()));
  ScatterOperands s{at_least_1d(x_in), {}, at_least_1d(src_in), 0};
  Tensor index = at_least_1d(index_in);
  s.dim = wrap_dim(dim, s.x.ndim());
  check_index_shapes(op, s.x, s.dim, index, &s.src);
  check_no_internal_overlap(op, s.x);
  s.idx = checked_strided_index(op, index, s.dim, s.x.size(s.dim));
  return s;
}

// x[..., idx[p + j], ...] (mode)= src[p + j] along s.dim: parallel over index's positions outside
// dim, in order along it (the `steps`). `x` is s.x or a tensor of its shape.
static void scatter_put(const ScatterOperands& s, const Tensor& x, const Tensor& src, PutMode mode) {
  if (s.idx.numel() == 0) return;
  Shape lines = s.idx.shape();
  lines[s.dim] = 1;
  put_kernel(x.device(), PutArgs{x.dtype(), lines, s.idx.size(s.dim), operand(x), operand(src), operand(s.idx),
                                 src.stride(s.dim), s.idx.stride(s.dim), x.stride(s.dim), mode});
}

// A value seen as a src of index's shape (every stride 0): scatter_(dim, index, value).
static Tensor broadcast_value(Scalar value, const ScatterOperands& s) {
  Tensor v = full({}, value, s.x.dtype(), s.x.device());
  return v.as_strided(s.idx.shape(), Shape(s.idx.ndim(), 0), v.offset());
}

// Accumulating writes (sum, prod, max, min) into a storage-only dtype (float16, int32, ...) run
// on a compute-dtype copy of x, written back once when they succeeded: float32 accumulation for
// the 16-bit floats, and x unchanged on an error.
template <class Write>
static Tensor accumulate_in_compute_dtype(const Tensor& x, const Tensor& src, Write&& write) {
  Tensor xc = to_dtype(x, compute_dtype_of(x.dtype()));
  write(xc, to_dtype(src, xc.dtype()));
  copy_(x, xc);
  return x;
}

static Tensor scatter_impl(const char* op, const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                           PutMode mode) {
  if (mode != PutMode::Store && !is_compute_dtype(x.dtype()) && src.dtype() == x.dtype())
    return accumulate_in_compute_dtype(
        x, src, [&](const Tensor& xc, const Tensor& sc) { scatter_impl(op, xc, dim, index, sc, mode); });
  ScatterOperands s = checked_scatter(op, x, dim, index, src);
  scatter_put(s, s.x, s.src, mode);
  x.bump_version();
  return x;
}

Tensor scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl("scatter_add_", x, dim, index, src, PutMode::Sum);
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_result_size("scatter_add", x.shape(), x.dtype());
  return scatter_impl("scatter_add", clone(x), dim, index, src, PutMode::Sum);
}

static PutMode scatter_mode(const std::optional<std::string>& reduce) {
  if (!reduce) return PutMode::Store;
  PE_CHECK(*reduce == "add" || *reduce == "multiply", RuntimeError,
           "scatter: reduce argument must be either add or multiply, got ", *reduce);
  return *reduce == "add" ? PutMode::Sum : PutMode::Prod;
}

Tensor scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                const std::optional<std::string>& reduce) {
  return scatter_impl("scatter_", x, dim, index, src, scatter_mode(reduce));
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
               const std::optional<std::string>& reduce) {
  const PutMode mode = scatter_mode(reduce);
  check_result_size("scatter", x.shape(), x.dtype());
  return scatter_impl("scatter", clone(x), dim, index, src, mode);
}

// The value a reduction starts from when x's own element takes no part (include_self = false).
static Scalar reduce_identity(ReduceOp op, DType dtype) {
  const bool fp = is_floating(dtype);
  switch (op) {
    case ReduceOp::Prod: return dtype == DType::Bool ? Scalar(true) : Scalar(int64_t{1});
    case ReduceOp::Amax:
      if (dtype == DType::Bool) return Scalar(false);
      return fp ? Scalar(-std::numeric_limits<double>::infinity()) : Scalar(std::numeric_limits<int64_t>::min());
    case ReduceOp::Amin:
      if (dtype == DType::Bool) return Scalar(true);
      return fp ? Scalar(std::numeric_limits<double>::infinity()) : Scalar(std::numeric_limits<int64_t>::max());
    default: return dtype == DType::Bool ? Scalar(false) : Scalar(int64_t{0});
  }
}

static ReduceOp scatter_reduce_op(const std::string& reduce) {
  if (reduce == "sum") return ReduceOp::Sum;
  if (reduce == "prod") return ReduceOp::Prod;
  if (reduce == "mean") return ReduceOp::Mean;
  if (reduce == "amax") return ReduceOp::Amax;
  if (reduce == "amin") return ReduceOp::Amin;
  throw RuntimeError(str("scatter_reduce: reduce argument must be either sum, prod, mean, amax or amin, got ", reduce));
}

static Tensor scatter_reduce_impl(const char* name, const Tensor& x, int64_t dim, const Tensor& index,
                                  const Tensor& src, const std::string& reduce, bool include_self) {
  const ReduceOp op = scatter_reduce_op(reduce);
  PE_CHECK(!(op == ReduceOp::Mean && x.dtype() == DType::Bool), NotImplementedError,
           "scatter_reduce: reduce='mean' is not supported for bool tensors");
  if (!is_compute_dtype(x.dtype()) && src.dtype() == x.dtype())
    return accumulate_in_compute_dtype(x, src, [&](const Tensor& xc, const Tensor& sc) {
      scatter_reduce_impl(name, xc, dim, index, sc, reduce, include_self);
    });
  ScatterOperands s = checked_scatter(name, x, dim, index, src);
  if (s.idx.numel() == 0) return x;
  // Scattered-to elements start from the identity, so only src's values are reduced there.
  if (!include_self) scatter_put(s, s.x, broadcast_value(reduce_identity(op, x.dtype()), s), PutMode::Store);
  switch (op) {
    case ReduceOp::Prod: scatter_put(s, s.x, s.src, PutMode::Prod); break;
    case ReduceOp::Amax: scatter_put(s, s.x, s.src, PutMode::Max); break;
    case ReduceOp::Amin: scatter_put(s, s.x, s.src, PutMode::Min); break;
    case ReduceOp::Mean: {
      // PyTorch's: counts in x's dtype (x's own element counted when included), at least 1.
      Tensor count = full(x.shape(), Scalar(int64_t{include_self ? 1 : 0}), x.dtype(), x.device());
      scatter_put(s, at_least_1d(count), broadcast_value(Scalar(int64_t{1}), s), PutMode::Sum);
      scatter_put(s, s.x, s.src, PutMode::Sum);
      count = binary(ew::BinaryOp::Maximum, count, int64_t{1});
      const bool fp = is_floating(x.dtype());
      binary(fp ? ew::BinaryOp::Div : ew::BinaryOp::FloorDivide, x, count, x);
      break;
    }
    default: scatter_put(s, s.x, s.src, PutMode::Sum);
  }
  x.bump_version();
  return x;
}

Tensor scatter_reduce_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                       const std::string& reduce, bool include_self) {
  return scatter_reduce_impl("scatter_reduce_", x, dim, index, src, reduce, include_self);
}

Tensor scatter_reduce(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                      const std::string& reduce, bool include_self) {
  check_result_size("scatter_reduce", x.shape(), x.dtype());
  return scatter_reduce_impl("scatter_reduce", clone(x), dim, index, src, reduce, include_self);
}

static Tensor index_add_impl(const char* op, const Tensor& x_in, int64_t dim, const Tensor& index,
                             const Tensor& source_in, Scalar alpha) {
  check_same_device(op, x_in, "input", index, "index");
  check_same_device(op, x_in, "input", source_in, "source");
  check_index_dtype(op, index);
  PE_CHECK(index.ndim() <= 1, IndexError, op, ": index should be 0-d or 1-d, got shape ", shape_str(index.shape()));
  PE_CHECK(source_in.dtype() == x_in.dtype(), TypeError, op, ": self (", dtype_name(x_in.dtype()),
           ") and source (", dtype_name(source_in.dtype()), ") must have the same dtype");
  if (!is_compute_dtype(x_in.dtype()))
    return accumulate_in_compute_dtype(x_in, source_in, [&](const Tensor& xc, const Tensor& sc) {
      index_add_impl(op, xc, dim, index, sc, alpha);
    });
  // PyTorch converts alpha to the tensor's dtype: truncated for int64, nonzero for bool.
  const bool fp = is_floating(x_in.dtype());
  if (x_in.dtype() == DType::Bool) {
    alpha = Scalar(int64_t{alpha.to<double>() != 0 ? 1 : 0});
  } else if (!fp && alpha.is_floating()) {
    PE_CHECK(std::isfinite(alpha.d) && std::fabs(alpha.d) < 9223372036854775808.0, RuntimeError, op, ": alpha ",
             alpha.str(), " cannot be converted to ", dtype_name(x_in.dtype()), " without overflow");
    alpha = Scalar(static_cast<int64_t>(std::trunc(alpha.d)));
  }
  Tensor x = at_least_1d(x_in), source = at_least_1d(source_in);
  dim = wrap_dim(dim, x.ndim());
  PE_CHECK(source_in.ndim() == x_in.ndim(), RuntimeError, op,
           ": source tensor shape must match self tensor shape, excluding the specified dimension ", dim,
           ". Got self.shape = ", shape_str(x_in.shape()), " source.shape = ", shape_str(source_in.shape()));
  for (int64_t d = 0; d < x.ndim(); ++d)
    PE_CHECK(d == dim || source.size(d) == x.size(d), RuntimeError, op,
             ": source tensor shape must match self tensor shape, excluding the specified dimension ", dim,
             ". Got self.shape = ", shape_str(x_in.shape()), " source.shape = ", shape_str(source_in.shape()));
  PE_CHECK(source.size(dim) == index.numel(), RuntimeError, op, ": number of indices (", index.numel(),
           ") should be equal to source.size(dim) (", source.size(dim), ") for dim ", dim);
  check_no_internal_overlap(op, x);
  Tensor idx = checked_index(op, index, dim, x.size(dim), false);
  if (idx.numel() > 0 && source.numel() > 0) {
    if (!(alpha.is_integral() && alpha.to<int64_t>() == 1)) {
      Operand a = alpha.is_floating() ? Operand{alpha.d} : Operand{alpha.to<int64_t>()};
      source = to_dtype(binary(ew::BinaryOp::Mul, source, a), x.dtype());
    }
    // Step j adds source's slice j at x's slice idx[j]: the index is one value per step.
    Shape lines = source.shape();
    lines[dim] = 1;
    put_kernel(x.device(), PutArgs{x.dtype(), lines, idx.numel(), operand(x), operand(source),
                                   operand(idx, Shape(x.ndim(), 0)), source.stride(dim), 1, x.stride(dim),
                                   PutMode::Sum});
  }
  x_in.bump_version();
  return x_in;
}

Tensor index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  return index_add_impl("index_add_", x, dim, index, source, alpha);
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  check_result_size("index_add", x.shape(), x.dtype());
  return index_add_impl("index_add", clone(x), dim, index, source, alpha);
}

Tensor index_select(const Tensor& x_in, int64_t dim, const Tensor& index) {
  check_same_device("index_select", x_in, "input", index, "index");
  check_index_dtype("index_select", index);
  PE_CHECK(index.ndim() <= 1, ValueError, "index_select: index should be 0-d or 1-d, got shape ",
           shape_str(index.shape()));
  PE_CHECK(x_in.ndim() > 0 || index.numel() == 1, ValueError,
           "index_select: index to a 0-d tensor can have only 1 value, got ", index.numel());
  Tensor x = at_least_1d(x_in);
  dim = wrap_dim(dim, x.ndim());
  Tensor idx = checked_index("index_select", index, dim, x.size(dim), false);
  Shape shape = x.shape();
  shape[dim] = idx.numel();
  Tensor out = Tensor::empty(x_in.ndim() == 0 ? Shape{} : shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  // out[..., j, ...] = x[..., idx[j], ...]: x with dim frozen, idx broadcast along the other dims.
  Shape xs = x.strides(), is(shape.size(), 0);
  xs[dim] = 0;
  is[dim] = 1;
  take_kernel(x.device(), TakeArgs{x.dtype(), shape, operand(out, contiguous_strides(shape)), operand(x, xs),
                                   operand(idx, is), x.stride(dim)});
  return out;
}

// ---- advanced indexing: index_take / index_put_ ----

// Checks k index tensors against x's first k dims and returns, over their broadcast shape (the
// "batch"), the element offset into x of each indexed position.
static Tensor index_offsets(const char* op, const Tensor& x, const std::vector<Tensor>& indices) {
  const int64_t k = static_cast<int64_t>(indices.size());
  PE_CHECK(k <= x.ndim(), IndexError, op, ": too many indices for tensor of dimension ", x.ndim(), " (got ", k, ")");
  Shape batch;
  std::string shapes;
  for (const Tensor& t : indices) {
    check_index_dtype(op, t);
    shapes += (shapes.empty() ? "" : ", ") + shape_str(t.shape());
  }
  for (const Tensor& t : indices) {
    try {
      batch = broadcast_shapes(batch, t.shape());
    } catch (const ValueError&) {
      throw ValueError(str(op, ": shape mismatch: indexing tensors could not be broadcast together with shapes ",
                           shapes));
    }
  }
  check_result_size(op, concat(batch, Shape(x.shape().begin() + k, x.shape().end())), x.dtype());
  std::vector<Tensor> checked;
  for (int64_t d = 0; d < k; ++d)  // an index on another device moves to x's (PyTorch allows CPU indices)
    checked.push_back(checked_index(op, to_device(indices[d], x.device()), d, x.shape()[d], true));
  Tensor offsets = Tensor::empty(batch, DType::Int64, x.device());
  fill_(offsets, 0);
  if (offsets.numel() > 0)
    for (int64_t d = 0; d < k; ++d)
      index_offsets_kernel(x.device(), IndexOffsetArgs{batch, offsets.data<int64_t>(),
                                                       operand(checked[d], broadcast_strides(checked[d], batch)),
                                                       x.shape()[d], x.strides()[d]});
  return offsets;
}

Tensor index_take(const Tensor& x, const std::vector<Tensor>& indices) {
  Tensor offsets = index_offsets("index_take", x, indices);
  const Shape& batch = offsets.shape();
  const size_t k = indices.size();
  Shape inner(x.shape().begin() + k, x.shape().end());
  Shape shape = concat(batch, inner);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  // x's inner block at offset 0 for every batch position; offsets broadcast over the block.
  Shape xs = concat(Shape(batch.size(), 0), Shape(x.strides().begin() + k, x.strides().end()));
  Shape os = concat(offsets.strides(), Shape(inner.size(), 0));
  take_kernel(x.device(), TakeArgs{x.dtype(), shape, operand(out), operand(x, xs), operand(offsets, os), 1});
  return out;
}

Tensor index_put_(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  check_no_internal_overlap("index_put_", x);
  if (accumulate && !is_compute_dtype(x.dtype()))
    return accumulate_in_compute_dtype(
        x, values, [&](const Tensor& xc, const Tensor& vc) { index_put_(xc, indices, vc, true); });
  Tensor offsets = index_offsets("index_put_", x, indices);
  const Shape& batch = offsets.shape();
  const size_t k = indices.size();
  Shape inner(x.shape().begin() + k, x.shape().end());
  Shape shape = concat(batch, inner);
  PE_CHECK(broadcasts_to(values.shape(), shape), ValueError, "index_put_: values of shape ",
           shape_str(values.shape()), " cannot be broadcast to the indexed shape ", shape_str(shape));
  const int64_t nb = shape_numel(batch);
  if (nb > 0 && shape_numel(inner) > 0) {
    // values as (nb, inner...): a view when the broadcast allows it (e.g. a scalar), else a copy.
    // values on another device move to x's (a CPU scalar into a CUDA tensor), as in PyTorch.
    Tensor v = reshape(expand(to_dtype(to_device(values, x.device()), x.dtype()), shape), concat({nb}, inner));
    // Step j writes values row j at x's inner block + offsets[j] (offsets is contiguous).
    put_kernel(x.device(), PutArgs{x.dtype(), inner, nb, operand(x, Shape(x.strides().begin() + k, x.strides().end())),
                                   operand(v, Shape(v.strides().begin() + 1, v.strides().end())),
                                   operand(offsets, Shape(inner.size(), 0)), v.stride(0), 1, 1,
                                   accumulate ? PutMode::Sum : PutMode::Store});
  }
  x.bump_version();
  return x;
}

// ---- nonzero, tril/triu, one_hot ----

Tensor nonzero(const Tensor& x) {
  Tensor out;
  auto allocate = [&](int64_t n) {
    out = Tensor::empty({n, x.ndim()}, DType::Int64, x.device());
    return out.data<int64_t>();
  };
  nonzero_kernel(x.device(), NonzeroArgs{x.dtype(), x.shape(), operand(x), allocate});
  return out;
}

static Tensor triangle(const char* op, const Tensor& x, int64_t diagonal, bool upper) {
  PE_CHECK(x.ndim() >= 2, ValueError, op, ": expected a tensor with at least 2 dimensions, got shape ",
           shape_str(x.shape()));
  check_result_size(op, x.shape(), x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  // Beyond these bounds every diagonal gives the same result; clamping keeps i + diagonal exact.
  const int64_t rows = x.size(-2), cols = x.size(-1);
  triangle_kernel(x.device(), TriangleArgs{x.dtype(), x.shape(), out.raw_data(), operand(x),
                                           std::clamp<int64_t>(diagonal, -rows - 1, cols + 1), upper});
  return out;
}

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle("tril", x, diagonal, false); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle("triu", x, diagonal, true); }

Tensor one_hot(const Tensor& idx_in, int64_t num_classes) {
  PE_CHECK(idx_in.dtype() == DType::Int64, TypeError, "one_hot: expected an int64 tensor of class values, got ",
           dtype_name(idx_in.dtype()));
  PE_CHECK(num_classes >= -1, ValueError, "one_hot: num_classes must be -1 (infer) or non-negative, got ",
           num_classes);
  Tensor idx = contiguous(idx_in);
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  IndexRangeResult bad = out_of_range(idx, 0, kMax);
  PE_CHECK(bad.position < 0, ValueError, "one_hot: class values must be non-negative, got ", bad.value);
  if (num_classes == -1) {
    PE_CHECK(idx.numel() > 0, ValueError,
             "one_hot: cannot infer the number of classes from an empty tensor; pass num_classes");
    Tensor max = to_device(amax(idx, std::nullopt, false), Device{});
    num_classes = max.data<int64_t>()[0] + 1;  // values < kMax here, so no overflow
  } else {
    bad = out_of_range(idx, 0, num_classes);
    PE_CHECK(bad.position < 0, ValueError, "one_hot: class values must be smaller than num_classes (", num_classes,
             "), got ", bad.value);
  }
  Shape shape = idx.shape();
  shape.push_back(num_classes);
  check_result_size("one_hot", shape, DType::Int64);
  Tensor out = Tensor::empty(shape, DType::Int64, idx.device());
  if (out.numel() > 0) one_hot_kernel(idx.device(), OneHotArgs{idx.data<int64_t>(), idx.numel(), num_classes, out.data<int64_t>()});
  return out;
}

// ---- creation ----

// arange's argument as an int64 (PyTorch truncates floats for an integer arange); a float
// outside int64 cannot be truncated to one (checks_arange has refused NaN and infinite bounds).
static int64_t arange_int(const char* name, const Scalar& v, const std::string& args) {
  if (v.is_integral()) return v.to<int64_t>();
  PE_CHECK(v.d >= -9223372036854775808.0 && v.d < 9223372036854775808.0, RuntimeError, "arange: ", name, "=",
           v.str(), " cannot be converted to int64 without overflow (", args, ")");
  return v.to<int64_t>();
}

// PyTorch's checks of the arguments as given, before any conversion to the dtype: a nonzero
// step (NaN is not one), finite bounds, and a step whose sign leads from start to end. Integer
// arguments compare exactly; any float among them compares as doubles. An infinite step is
// fine (a float arange then has at most one element; an integer one cannot convert it).
static void check_arange(const Scalar& start, const Scalar& end, const Scalar& step, const std::string& args) {
  const double s0 = start.to<double>(), e0 = end.to<double>(), st = step.to<double>();
  PE_CHECK(st > 0 || st < 0, RuntimeError, "arange: step must be nonzero (", args, ")");
  PE_CHECK(std::isfinite(s0) && std::isfinite(e0), RuntimeError, "arange: unsupported range: ", args);
  bool ok;
  if (start.is_integral() && end.is_integral() && step.is_integral()) {
    const int64_t a = start.to<int64_t>(), b = end.to<int64_t>();
    ok = st > 0 ? b >= a : b <= a;
  } else {
    ok = st > 0 ? e0 >= s0 : e0 <= s0;
  }
  PE_CHECK(ok, RuntimeError, "arange: upper bound and lower bound inconsistent with step sign: ", args);
}

Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype, Device device) {
  PE_CHECK(dtype != DType::Bool, TypeError, "arange: bool is not a supported dtype; use an integer or floating one");
  // Storage-only dtypes: counted and stepped in their compute dtype, rounded once.
  if (!is_compute_dtype(dtype))
    return to_dtype(arange(start, end, step, compute_dtype_of(dtype), device), dtype);
  const std::string args = str("start=", start.str(), ", end=", end.str(), ", step=", step.str());
  check_arange(start, end, step, args);
  ArangeArgs a{dtype};
  // The element count, exact: an int64 range can hold up to 2**64 - 1 values, so it is counted in
  // uint64 and checked against what a tensor can hold.
  uint64_t count = 0;
  if (dtype == DType::Int64) {
    // PyTorch truncates each argument to int64, then counts and steps in int64: arange(0.5, 5.5,
    // 1.5) is arange(0, 5, 1). A step truncated to 0 is its ValueError. Truncation keeps the
    // order check_arange checked, so end - start has the step's sign.
    const int64_t s0 = arange_int("start", start, args), e0 = arange_int("end", end, args);
    const int64_t st = arange_int("step", step, args);
    PE_CHECK(st != 0, ValueError, "arange: step must be nonzero once truncated to int64 (", args, ")");
    // |end - start| and |step| as uint64: exact for any int64 pair (two's complement differences).
    const uint64_t span = st > 0 ? static_cast<uint64_t>(e0) - static_cast<uint64_t>(s0)
                                 : static_cast<uint64_t>(s0) - static_cast<uint64_t>(e0);
    const uint64_t stride = st > 0 ? static_cast<uint64_t>(st) : uint64_t(0) - static_cast<uint64_t>(st);
    count = span / stride + (span % stride != 0 ? 1 : 0);
    a.int_start = s0;
    a.int_step = st;
  } else {
    const double s0 = start.to<double>(), e0 = end.to<double>(), st = step.to<double>();
    const double length = std::ceil((e0 - s0) / st);  // 0 for an infinite step (or -0.0: still 0)
    PE_CHECK(length < 9223372036854775808.0, ValueError, "arange: a result of ", length,
             " elements is too large (", args, ")");
    count = static_cast<uint64_t>(length);
    a.start = s0;
    a.step = st;
  }
  const uint64_t max_count = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / itemsize(dtype);
  PE_CHECK(count <= max_count, ValueError, "arange: a result of shape (", count, ",) is too large (", args, ")");
  Tensor out = Tensor::empty({static_cast<int64_t>(count)}, dtype, device);
  a.out = out.raw_data();
  a.n = out.numel();
  if (a.n > 0) arange_kernel(device, a);
  return out;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  PE_CHECK(dtype != DType::Bool, TypeError, "linspace: bool is not a supported dtype; use an integer or floating one");
  if (!is_compute_dtype(dtype)) return to_dtype(linspace(start, end, steps, compute_dtype_of(dtype), device), dtype);
  PE_CHECK(steps >= 0, ValueError, "linspace: number of steps must be non-negative, got ", steps);
  check_result_size("linspace", {steps}, dtype);
  Tensor out = Tensor::empty({steps}, dtype, device);
  if (steps == 1) fill_(out, start);
  if (steps >= 2) linspace_kernel(device, LinspaceArgs{dtype, out.raw_data(), steps, start, end});
  return out;
}

Tensor eye(int64_t n, std::optional<int64_t> m_opt, DType dtype, Device device) {
  const int64_t m = m_opt.value_or(n);
  PE_CHECK(n >= 0 && m >= 0, ValueError, "eye: n and m must be non-negative, got n=", n, ", m=", m);
  if (!is_compute_dtype(dtype)) return to_dtype(eye(n, m, compute_dtype_of(dtype), device), dtype);
  check_result_size("eye", {n, m}, dtype);
  Tensor out = Tensor::empty({n, m}, dtype, device);
  if (out.numel() > 0) eye_kernel(device, EyeArgs{dtype, out.raw_data(), n, m});
  return out;
}

}  // namespace pe::ops
