#include "ops/norm.h"

#include "ops/copy.h"

namespace pe::ops {

namespace {

void check_float(const Tensor& t, const char* op, const char* what) {
  PE_CHECK(is_floating(t.dtype()), TypeError, op, ": expected a floating ", what,
           " (float32 or float64), got ", dtype_name(t.dtype()));
}

// Every operand of a call lives on the input's device.

// A per-channel / per-element parameter: same dtype as x, the expected shape; made contiguous.
const void* param_data(const OptTensor& p, Tensor& keep, const Tensor& x, const Shape& expected, const char* op,
                       const char* name, const char* what_expected) {
  if (!p) return nullptr;
  PE_CHECK(p->dtype() == x.dtype(), TypeError, op, ": ", name, " dtype ", dtype_name(p->dtype()),
           " does not match input dtype ", dtype_name(x.dtype()));
  check_same_device(op, x, "input", *p, name);
  PE_CHECK(p->shape() == expected, ValueError, op, ": ", name, " of shape ", shape_str(p->shape()),
           " does not match ", what_expected, " (expected shape ", shape_str(expected), ", input of shape ",
           shape_str(x.shape()), ")");
  keep = contiguous(*p);
  return keep.raw_data();
}

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

void check_grad(const Tensor& grad, const Tensor& x, const char* op) {
  check_float(grad, op, "gradient");
  check_same_device(op, x, "input", grad, "gradient");
  PE_CHECK(grad.shape() == x.shape(), ValueError, op, ": gradient shape ", shape_str(grad.shape()),
           " does not match input shape ", shape_str(x.shape()));
  PE_CHECK(grad.dtype() == x.dtype(), TypeError, op, ": gradient dtype ", dtype_name(grad.dtype()),
           " does not match input dtype ", dtype_name(x.dtype()));
}

void check_stat(const Tensor& s, const Tensor& x, int64_t numel, const char* op, const char* name) {
  check_same_device(op, x, "input", s, name);
  PE_CHECK(s.dtype() == x.dtype(), TypeError, op, ": ", name, " dtype ", dtype_name(s.dtype()),
           " does not match input dtype ", dtype_name(x.dtype()));
  PE_CHECK(s.numel() == numel && s.is_contiguous(), ValueError, op, ": ", name, " must be contiguous with ",
           numel, " elements, got shape ", shape_str(s.shape()));
}

OptTensor empty_if(bool need, const Shape& shape, const Tensor& like) {
  return need ? OptTensor(Tensor::empty(shape, like.dtype(), like.device())) : std::nullopt;
}

void* data_or_null(const OptTensor& t) { return t ? t->raw_data() : nullptr; }

// Group-norm kernel call shared by group, layer and RMS norm.
std::tuple<Tensor, Tensor, Tensor> run_group_forward(const Tensor& x_in, int64_t N, int64_t C, int64_t S, int64_t G,
                                                     bool subtract_mean, const void* w, const void* b, double eps,
                                                     const Shape& stat_shape) {
  Tensor x = contiguous(x_in);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty(subtract_mean ? stat_shape : Shape{0}, x.dtype(), x.device());
  Tensor rstd = Tensor::empty(stat_shape, x.dtype(), x.device());
  if (x.numel() == 0) {
    fill_(mean, 0.0);
    fill_(rstd, 0.0);  // empty groups have no statistics; nothing reads them
    return {out, mean, rstd};
  }
  GroupNormForwardArgs a;
  a.dtype = x.dtype();
  a.N = N, a.C = C, a.S = S, a.G = G;
  a.subtract_mean = subtract_mean;
  a.x = x.raw_data();
  a.y = out.raw_data();
  a.weight = w;
  a.bias = b;
  a.eps = eps;
  a.mean = subtract_mean ? mean.raw_data() : nullptr;
  a.rstd = rstd.raw_data();
  group_norm_forward_kernel(x.device(), a);
  return {out, mean, rstd};
}

NormGrads run_group_backward(const Tensor& grad_in, const Tensor& x_in, const Tensor* mean, const Tensor& rstd,
                             int64_t N, int64_t C, int64_t S, int64_t G, const void* w, const Shape& param_shape,
                             GradMask mask, bool has_bias) {
  Tensor x = contiguous(x_in), grad = contiguous(grad_in);
  OptTensor gx = empty_if(mask[0], x.shape(), x);
  OptTensor gw = empty_if(mask[1], param_shape, x);
  OptTensor gb = empty_if(mask[2] && has_bias, param_shape, x);
  if (x.numel() == 0) {
    if (gw) fill_(*gw, 0.0);
    if (gb) fill_(*gb, 0.0);
    return {gx, gw, gb};
  }
  GroupNormBackwardArgs a;
  a.dtype = x.dtype();
  a.N = N, a.C = C, a.S = S, a.G = G;
  a.subtract_mean = mean != nullptr;
  a.grad = grad.raw_data();
  a.x = x.raw_data();
  a.weight = w;
  a.mean = mean ? mean->raw_data() : nullptr;
  a.rstd = rstd.raw_data();
  a.grad_input = data_or_null(gx);
  a.grad_weight = data_or_null(gw);
  a.grad_bias = data_or_null(gb);
  group_norm_backward_kernel(x.device(), a);
  return {gx, gw, gb};
}

// Trailing dims of x must equal normalized_shape; returns (rows, row length).
std::pair<int64_t, int64_t> rows_of(const Tensor& x, const Shape& ns, const char* op) {
  const size_t k = ns.size(), nd = static_cast<size_t>(x.ndim());
  bool ok = k >= 1 && k <= nd;
  for (size_t i = 0; ok && i < k; ++i) ok = x.shape()[nd - k + i] == ns[i];
  PE_CHECK(ok, ValueError, op, ": given normalized_shape=", shape_str(ns), ", expected input with shape (*",
           [&] {
             std::string s;
             for (int64_t d : ns) s += ", " + std::to_string(d);
             return s;
           }(),
           "), but got input of shape ", shape_str(x.shape()));
  return {prod(x.shape(), 0, nd - k), prod(x.shape(), nd - k, nd)};
}

}  // namespace

// ---------------------------------------------------------------- batch norm
std::tuple<Tensor, Tensor, Tensor> batch_norm_forward(const Tensor& x_in, const OptTensor& weight,
                                                      const OptTensor& bias, const OptTensor& running_mean,
                                                      const OptTensor& running_var,
                                                      const OptTensor& num_batches_tracked, bool training,
                                                      std::optional<double> momentum, double eps) {
  const char* op = "batch_norm";
  check_float(x_in, op, "input");
  PE_CHECK(x_in.ndim() >= 2, ValueError, op, ": expected input of shape (N, C, *) with at least 2 dims, got shape ",
           shape_str(x_in.shape()));
  const int64_t N = x_in.shape()[0], C = x_in.shape()[1], S = prod(x_in.shape(), 2, x_in.ndim());
  const std::string chans = str("the input's ", C, " channels");
  Tensor wk, bk;
  const void* w = param_data(weight, wk, x_in, {C}, op, "weight", chans.c_str());
  const void* b = param_data(bias, bk, x_in, {C}, op, "bias", chans.c_str());
  PE_CHECK(running_mean.has_value() == running_var.has_value(), ValueError, op,
           ": running_mean and running_var must both be given or both be None");
  for (const auto* r : {&running_mean, &running_var}) {
    if (!*r) continue;
    const char* name = r == &running_mean ? "running_mean" : "running_var";
    PE_CHECK((*r)->dtype() == x_in.dtype(), TypeError, op, ": ", name, " dtype ", dtype_name((*r)->dtype()),
             " does not match input dtype ", dtype_name(x_in.dtype()));
    check_same_device(op, x_in, "input", **r, name);
    PE_CHECK((*r)->ndim() == 1 && (*r)->shape()[0] == C, ValueError, op, ": expected ", (*r)->numel(),
             " channels (", name, " shape ", shape_str((*r)->shape()), "), got input of shape ",
             shape_str(x_in.shape()));
  }
  PE_CHECK(running_mean || training, ValueError, op,
           ": running_mean and running_var are required in eval mode (training=False)");
  // The update writes one element per channel: a broadcast view would make channels collide.
  PE_CHECK(!running_mean || C <= 1 || (running_mean->strides()[0] != 0 && running_var->strides()[0] != 0),
           ValueError, op, ": running_mean and running_var must not be broadcast (stride-0) views, got strides (",
           running_mean ? running_mean->strides()[0] : 0, ",) and (", running_var ? running_var->strides()[0] : 0,
           ",)");
  if (training)
    PE_CHECK(N * S != 1, ValueError, "Expected more than 1 value per channel when training, got input size ",
             shape_str(x_in.shape()));
  const bool update = training && running_mean.has_value();
  if (num_batches_tracked && update) {
    PE_CHECK(num_batches_tracked->dtype() == DType::Int64 && num_batches_tracked->numel() == 1, TypeError, op,
             ": num_batches_tracked must be an int64 tensor with one element, got ",
             dtype_name(num_batches_tracked->dtype()), " of shape ", shape_str(num_batches_tracked->shape()));
    PE_CHECK(!num_batches_tracked->device().is_cuda() || num_batches_tracked->device() == x_in.device(),
             RuntimeError, op, ": num_batches_tracked is on ", num_batches_tracked->device().str(),
             " but the input is on ", x_in.device().str());
  }
  PE_CHECK(momentum || !update || num_batches_tracked, ValueError, op,
           ": momentum=None (cumulative average) needs num_batches_tracked");
  PE_CHECK(eps >= 0, ValueError, op, ": eps must be non-negative, got ", eps);

  Tensor x = contiguous(x_in);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor save_mean = Tensor::empty({C}, x.dtype(), x.device());
  Tensor save_invstd = Tensor::empty({C}, x.dtype(), x.device());
  double factor = momentum.value_or(0.0);
  if (num_batches_tracked && update) {  // a one-element counter on any device, counted on the host
    const int64_t count = to_device(*num_batches_tracked, Device{}).data<int64_t>()[0] + 1;
    fill_(*num_batches_tracked, static_cast<double>(count));  // also bumps its version
    if (!momentum) factor = 1.0 / static_cast<double>(count);
  }
  if (x.numel() == 0 && training) {  // no values: nothing to normalise, statistics undefined
    fill_(save_mean, 0.0);
    fill_(save_invstd, 0.0);
    return {out, save_mean, save_invstd};
  }
  BatchNormForwardArgs a;
  a.dtype = x.dtype();
  a.N = N, a.C = C, a.S = S;
  a.x = x.raw_data();
  a.y = out.raw_data();
  a.weight = w;
  a.bias = b;
  a.training = training;
  if (running_mean) {  // read in eval, updated in training
    a.running_mean = running_mean->raw_data();
    a.running_var = running_var->raw_data();
    a.running_mean_stride = running_mean->strides()[0];
    a.running_var_stride = running_var->strides()[0];
  }
  a.momentum = factor;
  a.eps = eps;
  a.save_mean = save_mean.raw_data();
  a.save_invstd = save_invstd.raw_data();
  batch_norm_forward_kernel(x.device(), a);
  if (update) {
    running_mean->bump_version();
    running_var->bump_version();
  }
  return {out, save_mean, save_invstd};
}

NormGrads batch_norm_backward(const Tensor& grad_in, const Tensor& x_in, const OptTensor& weight,
                              const Tensor& save_mean, const Tensor& save_invstd, bool training, GradMask mask) {
  const char* op = "batch_norm_backward";
  check_float(x_in, op, "input");
  check_grad(grad_in, x_in, op);
  PE_CHECK(x_in.ndim() >= 2, ValueError, op, ": expected input of shape (N, C, *), got shape ",
           shape_str(x_in.shape()));
  const int64_t N = x_in.shape()[0], C = x_in.shape()[1], S = prod(x_in.shape(), 2, x_in.ndim());
  const std::string chans = str("the input's ", C, " channels");
  Tensor wk;
  const void* w = param_data(weight, wk, x_in, {C}, op, "weight", chans.c_str());
  check_stat(save_mean, x_in, C, op, "save_mean");
  check_stat(save_invstd, x_in, C, op, "save_invstd");
  Tensor x = contiguous(x_in), grad = contiguous(grad_in);
  OptTensor gx = empty_if(mask[0], x.shape(), x);
  OptTensor gw = empty_if(mask[1], {C}, x);
  OptTensor gb = empty_if(mask[2], {C}, x);
  if (x.numel() == 0) {
    if (gw) fill_(*gw, 0.0);
    if (gb) fill_(*gb, 0.0);
    return {gx, gw, gb};
  }
  BatchNormBackwardArgs a;
  a.dtype = x.dtype();
  a.N = N, a.C = C, a.S = S;
  a.training = training;
  a.grad = grad.raw_data();
  a.x = x.raw_data();
  a.weight = w;
  a.mean = save_mean.raw_data();
  a.invstd = save_invstd.raw_data();
  a.grad_input = data_or_null(gx);
  a.grad_weight = data_or_null(gw);
  a.grad_bias = data_or_null(gb);
  batch_norm_backward_kernel(x.device(), a);
  return {gx, gw, gb};
}

// ---------------------------------------------------------------- group norm
namespace {
int64_t checked_groups(const Tensor& x, int64_t G, const char* op) {
  PE_CHECK(x.ndim() >= 2, ValueError, op, ": expected input of shape (N, C, *) with at least 2 dims, got shape ",
           shape_str(x.shape()));
  PE_CHECK(G > 0, ValueError, op, ": num_groups must be positive, got ", G);
  const int64_t C = x.shape()[1];
  PE_CHECK(C % G == 0, ValueError, op, ": num_channels ", C, " is not divisible by num_groups ", G,
           " (input shape ", shape_str(x.shape()), ")");
  return C;
}
}  // namespace

std::tuple<Tensor, Tensor, Tensor> group_norm_forward(const Tensor& x, int64_t num_groups, const OptTensor& weight,
                                                      const OptTensor& bias, double eps) {
  const char* op = "group_norm";
  check_float(x, op, "input");
  const int64_t C = checked_groups(x, num_groups, op), N = x.shape()[0], S = prod(x.shape(), 2, x.ndim());
  const std::string chans = str("the input's ", C, " channels");
  Tensor wk, bk;
  const void* w = param_data(weight, wk, x, {C}, op, "weight", chans.c_str());
  const void* b = param_data(bias, bk, x, {C}, op, "bias", chans.c_str());
  return run_group_forward(x, N, C, S, num_groups, true, w, b, eps, {N, num_groups});
}

NormGrads group_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              int64_t num_groups, const OptTensor& weight, GradMask mask) {
  const char* op = "group_norm_backward";
  check_float(x, op, "input");
  check_grad(grad, x, op);
  const int64_t C = checked_groups(x, num_groups, op), N = x.shape()[0], S = prod(x.shape(), 2, x.ndim());
  const std::string chans = str("the input's ", C, " channels");
  Tensor wk;
  const void* w = param_data(weight, wk, x, {C}, op, "weight", chans.c_str());
  check_stat(mean, x, N * num_groups, op, "mean");
  check_stat(rstd, x, N * num_groups, op, "rstd");
  return run_group_backward(grad, x, &mean, rstd, N, C, S, num_groups, w, {C}, mask, true);
}

// ---------------------------------------------------------------- layer norm / RMS norm
std::tuple<Tensor, Tensor, Tensor> layer_norm_forward(const Tensor& x, const Shape& ns, const OptTensor& weight,
                                                      const OptTensor& bias, double eps) {
  const char* op = "layer_norm";
  check_float(x, op, "input");
  auto [M, K] = rows_of(x, ns, op);
  const std::string what = "normalized_shape " + shape_str(ns);
  Tensor wk, bk;
  const void* w = param_data(weight, wk, x, ns, op, "weight", what.c_str());
  const void* b = param_data(bias, bk, x, ns, op, "bias", what.c_str());
  return run_group_forward(x, M, K, 1, 1, true, w, b, eps, {M});
}

NormGrads layer_norm_backward(const Tensor& grad, const Tensor& x, const Shape& ns, const Tensor& mean,
                              const Tensor& rstd, const OptTensor& weight, GradMask mask) {
  const char* op = "layer_norm_backward";
  check_float(x, op, "input");
  check_grad(grad, x, op);
  auto [M, K] = rows_of(x, ns, op);
  const std::string what = "normalized_shape " + shape_str(ns);
  Tensor wk;
  const void* w = param_data(weight, wk, x, ns, op, "weight", what.c_str());
  check_stat(mean, x, M, op, "mean");
  check_stat(rstd, x, M, op, "rstd");
  return run_group_backward(grad, x, &mean, rstd, M, K, 1, 1, w, ns, mask, true);
}

std::tuple<Tensor, Tensor> rms_norm_forward(const Tensor& x, const Shape& ns, const OptTensor& weight, double eps) {
  const char* op = "rms_norm";
  check_float(x, op, "input");
  auto [M, K] = rows_of(x, ns, op);
  const std::string what = "normalized_shape " + shape_str(ns);
  Tensor wk;
  const void* w = param_data(weight, wk, x, ns, op, "weight", what.c_str());
  auto [out, mean, rstd] = run_group_forward(x, M, K, 1, 1, false, w, nullptr, eps, {M});
  return {out, rstd};
}

NormGrads rms_norm_backward(const Tensor& grad, const Tensor& x, const Shape& ns, const Tensor& rstd,
                            const OptTensor& weight, GradMask mask) {
  const char* op = "rms_norm_backward";
  check_float(x, op, "input");
  check_grad(grad, x, op);
  auto [M, K] = rows_of(x, ns, op);
  const std::string what = "normalized_shape " + shape_str(ns);
  Tensor wk;
  const void* w = param_data(weight, wk, x, ns, op, "weight", what.c_str());
  check_stat(rstd, x, M, op, "rstd");
  return run_group_backward(grad, x, nullptr, rstd, M, K, 1, 1, w, ns, mask, false);
}

}  // namespace pe::ops
