// embedding_bag's op bodies: every check (index values through the index family's range kernel,
// offsets through bag_offsets_check_kernel, both on their device) before any kernel writes,
// then one slot call. Messages are PyTorch's (pyengine/nn/_embedding_fns.py relies on them).
#include "ops/embedding.h"

#include "core/error.h"
#include "ops/copy.h"
#include "ops/index.h"

namespace pe::ops {
namespace {

BagMode parse_mode(const std::string& mode) {
  if (mode == "sum") return BagMode::Sum;
  if (mode == "mean") return BagMode::Mean;
  PE_CHECK(mode == "max", ValueError, "mode has to be one of sum, mean or max, got '", mode, "'");
  return BagMode::Max;
}

void check_same_device(const Tensor& indices, const Tensor& t, const char* name) {
  PE_CHECK(indices.device() == t.device(), RuntimeError, "embedding_bag(): expected indices and ", name,
           " on the same device, got indices on ", indices.device().str(), " and ", name, " on ",
           t.device().str());
}

void check_float(const Tensor& t, const char* name) {
  PE_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, TypeError, "embedding_bag(): expected ",
           name, " of dtype float32 or float64, got ", dtype_name(t.dtype()));
}

void check_index_tensor(const Tensor& t, const char* name) {
  PE_CHECK(t.dtype() == DType::Int64, TypeError, "embedding_bag(): expected ", name,
           " of dtype int64, got ", dtype_name(t.dtype()));
  PE_CHECK(t.ndim() == 1, ValueError, "embedding_bag(): expected 1-D ", name, ", got shape ",
           shape_str(t.shape()));
}

// Checks shared by forward and backward; returns the number of bags.
int64_t check_layout(const Tensor& indices, const Tensor& offsets, bool include_last_offset, int64_t num_weights,
                     const std::optional<Tensor>& psw, DType dtype) {
  check_index_tensor(indices, "indices");
  check_index_tensor(offsets, "offsets");
  check_same_device(indices, offsets, "offsets");
  if (psw) {
    PE_CHECK(psw->dtype() == dtype, TypeError, "embedding_bag: expected per_sample_weights of the weight's dtype (",
             dtype_name(dtype), "), got ", dtype_name(psw->dtype()));
    PE_CHECK(psw->shape() == indices.shape(), ValueError, "embedding_bag: per_sample_weights ",
             shape_str(psw->shape()), " must have the same shape as the input ", shape_str(indices.shape()));
    check_same_device(indices, *psw, "per_sample_weights");
  }
  const int64_t n = indices.numel(), m = offsets.numel();
  const Tensor idx = contiguous(indices), off = contiguous(offsets);
  if (n > 0) {
    IndexRangeResult bad = index_range_kernel(idx.device(), IndexRangeArgs{idx.data<int64_t>(), n, 0, num_weights});
    PE_CHECK(bad.position < 0, IndexError, "index ", bad.value, " is out of range for an embedding table of ",
             num_weights, " rows");
  }
  if (m > 0) {
    BagOffsetsCheck c = bag_offsets_check_kernel(off.device(), off.data<int64_t>(), m);
    PE_CHECK(c.first == 0, RuntimeError,
             "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. "
             "However, got ", c.first);
    PE_CHECK(c.last <= n, RuntimeError, "offsets[-1] can not be greater than input's length ", n,
             " but got offsets[-1] of ", c.last);
    PE_CHECK(c.decrease < 0, ValueError, "offsets must be non-decreasing, got offsets[", c.decrease, "] = ", c.left,
             " > offsets[", c.decrease + 1, "] = ", c.right);
  }
  return include_last_offset ? (m > 0 ? m - 1 : 0) : m;
}

EmbeddingBagArgs layout_args(const Tensor& idx, const Tensor& off, int64_t bags, const std::optional<Tensor>& psw,
                             BagMode mode, int64_t padding_idx, int64_t num_weights, int64_t dim, DType dtype) {
  EmbeddingBagArgs a;
  a.dtype = dtype;
  a.mode = mode;
  a.num_weights = num_weights;
  a.dim = dim;
  a.indices = idx.data<int64_t>();
  a.n = idx.numel();
  a.offsets = off.data<int64_t>();
  a.m = off.numel();
  a.bags = bags;
  a.padding_idx = padding_idx;
  a.per_sample_weights = psw ? psw->raw_data() : nullptr;
  return a;
}

void check_padding_and_psw(BagMode mode, int64_t padding_idx, int64_t num_weights, bool has_psw) {
  PE_CHECK(padding_idx >= -1 && padding_idx < num_weights, ValueError,
           "embedding_bag: padding_idx must be in [0, ", num_weights, ") or -1 for none, got ", padding_idx);
  PE_CHECK(!has_psw || mode == BagMode::Sum, ValueError,
           "embedding_bag: per_sample_weights is only supported for mode='sum'");
}

}  // namespace

void embedding_bag_check(const Tensor& weight, const Tensor& indices, const Tensor& offsets,
                         bool include_last_offset, const std::optional<Tensor>& per_sample_weights) {
  PE_CHECK(weight.ndim() == 2, ValueError, "weight has to be a 2D Tensor, but got Tensor of dimension ",
           weight.ndim());
  check_float(weight, "weight");
  check_same_device(indices, weight, "weight");
  check_layout(indices, offsets, include_last_offset, weight.size(0), per_sample_weights, weight.dtype());
}

std::pair<Tensor, Tensor> embedding_bag_forward(const Tensor& weight, const Tensor& indices, const Tensor& offsets,
                                                bool include_last_offset,
                                                const std::optional<Tensor>& per_sample_weights,
                                                const std::string& mode_name, int64_t padding_idx) {
  const BagMode mode = parse_mode(mode_name);
  PE_CHECK(weight.ndim() == 2, ValueError, "weight has to be a 2D Tensor, but got Tensor of dimension ",
           weight.ndim());
  check_float(weight, "weight");
  check_same_device(indices, weight, "weight");
  const int64_t V = weight.size(0), D = weight.size(1);
  check_padding_and_psw(mode, padding_idx, V, per_sample_weights.has_value());
  const int64_t bags =
      check_layout(indices, offsets, include_last_offset, V, per_sample_weights, weight.dtype());
  const Tensor idx = contiguous(indices), off = contiguous(offsets), w = contiguous(weight);
  std::optional<Tensor> psw;
  if (per_sample_weights) psw = contiguous(*per_sample_weights);
  EmbeddingBagArgs a = layout_args(idx, off, bags, psw, mode, padding_idx, V, D, weight.dtype());
  Tensor out = Tensor::empty({bags, D}, weight.dtype(), weight.device());
  Tensor arg;
  if (mode == BagMode::Max) arg = Tensor::empty({bags, D}, DType::Int64, weight.device());
  a.weight = w.raw_data();
  a.out = out.raw_data();
  a.max_indices = arg.defined() ? arg.data<int64_t>() : nullptr;
  if (bags * D > 0) embedding_bag_forward_kernel(weight.device(), a);
  return {out, arg};
}

std::pair<Tensor, Tensor> embedding_bag_backward(const Tensor& grad, const Tensor& indices, const Tensor& offsets,
                                                 bool include_last_offset,
                                                 const std::optional<Tensor>& per_sample_weights,
                                                 const std::string& mode_name, int64_t padding_idx,
                                                 const std::optional<Tensor>& max_indices, int64_t num_weights,
                                                 bool scale_grad_by_freq, const std::optional<Tensor>& weight) {
  const BagMode mode = parse_mode(mode_name);
  PE_CHECK(grad.ndim() == 2, ValueError, "embedding_bag backward: expected a 2-D grad, got shape ",
           shape_str(grad.shape()));
  check_float(grad, "grad");
  check_same_device(indices, grad, "grad");
  PE_CHECK(num_weights >= 0, ValueError, "embedding_bag backward: num_weights must be >= 0, got ", num_weights);
  check_padding_and_psw(mode, padding_idx, num_weights, per_sample_weights.has_value());
  const int64_t D = grad.size(1);
  const int64_t bags =
      check_layout(indices, offsets, include_last_offset, num_weights, per_sample_weights, grad.dtype());
  PE_CHECK(grad.size(0) == bags, ValueError, "embedding_bag backward: expected grad of ", bags, " bags, got shape ",
           shape_str(grad.shape()));
  PE_CHECK(!(mode == BagMode::Max && scale_grad_by_freq), ValueError,
           "max mode does not support scaling the gradient by the frequency");
  Tensor arg;
  if (mode == BagMode::Max) {
    PE_CHECK(max_indices && max_indices->dtype() == DType::Int64 && max_indices->shape() == grad.shape(),
             ValueError, "embedding_bag backward: max mode needs forward's int64 max_indices of shape ",
             shape_str(grad.shape()));
    check_same_device(indices, *max_indices, "max_indices");
    arg = contiguous(*max_indices);
    if (arg.numel() > 0) {  // -1 marks an empty bag
      IndexRangeResult bad =
          index_range_kernel(arg.device(), IndexRangeArgs{arg.data<int64_t>(), arg.numel(), -1, num_weights});
      PE_CHECK(bad.position < 0, IndexError, "embedding_bag backward: max_indices value ", bad.value,
               " is out of range for an embedding table of ", num_weights, " rows");
    }
  }
  Tensor w;
  if (weight) {
    PE_CHECK(per_sample_weights.has_value(), ValueError,
             "embedding_bag backward: weight is only needed for per_sample_weights' gradient");
    PE_CHECK(weight->ndim() == 2 && weight->size(0) == num_weights && weight->size(1) == D &&
                 weight->dtype() == grad.dtype(),
             ValueError, "embedding_bag backward: expected weight of shape (", num_weights, ", ", D, ") and dtype ",
             dtype_name(grad.dtype()), ", got ", shape_str(weight->shape()), " ", dtype_name(weight->dtype()));
    check_same_device(indices, *weight, "weight");
    w = contiguous(*weight);
  }
  const Tensor idx = contiguous(indices), off = contiguous(offsets), g = contiguous(grad);
  std::optional<Tensor> psw;
  if (per_sample_weights) psw = contiguous(*per_sample_weights);
  EmbeddingBagArgs a = layout_args(idx, off, bags, psw, mode, padding_idx, num_weights, D, grad.dtype());
  Tensor gw = Tensor::empty({num_weights, D}, grad.dtype(), grad.device());
  Tensor gpsw;
  if (w.defined()) gpsw = Tensor::empty({idx.numel()}, grad.dtype(), grad.device());
  a.grad = g.raw_data();
  a.max_indices = arg.defined() ? arg.data<int64_t>() : nullptr;
  a.weight = w.defined() ? w.raw_data() : nullptr;
  a.grad_weight = gw.raw_data();
  a.grad_psw = gpsw.defined() ? gpsw.raw_data() : nullptr;
  a.scale_grad_by_freq = scale_grad_by_freq;
  if (num_weights * D > 0 || gpsw.numel() > 0) embedding_bag_backward_kernel(grad.device(), a);
  return {gw, gpsw};
}

}  // namespace pe::ops
