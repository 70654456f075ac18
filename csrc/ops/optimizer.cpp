#include "ops/optimizer.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ops/copy.h"

namespace pe::ops {
namespace {

// The bytes [lo, hi) a tensor's elements can touch; lo == hi for an empty tensor.
struct Span {
  uintptr_t lo = 0, hi = 0;
};

Span span_of(const Tensor& t) {
  if (t.numel() == 0) return {};
  int64_t lo = 0, hi = 0;  // element offsets from raw_data()
  for (int64_t d = 0; d < t.ndim(); ++d) {
    int64_t reach = (t.shape()[d] - 1) * t.strides()[d];
    (reach < 0 ? lo : hi) += reach;
  }
  auto base = reinterpret_cast<intptr_t>(t.raw_data());
  auto isz = static_cast<intptr_t>(t.itemsize());
  return {static_cast<uintptr_t>(base + lo * isz), static_cast<uintptr_t>(base + (hi + 1) * isz)};
}

bool overlaps(const Tensor& a, const Tensor& b) {
  Span x = span_of(a), y = span_of(b);
  return x.lo != x.hi && y.lo != y.hi && x.lo < y.hi && y.lo < x.hi;
}

// Some dimension of size > 1 with stride 0: several elements share one memory cell.
bool has_repeated_elements(const Tensor& t) {
  if (t.numel() == 0) return false;
  for (int64_t d = 0; d < t.ndim(); ++d)
    if (t.shape()[d] > 1 && t.strides()[d] == 0) return true;
  return false;
}

// Contiguous, counting empty tensors as contiguous whatever their strides (as PyTorch does).
bool is_dense(const Tensor& t) { return t.numel() == 0 || t.is_contiguous(); }

void* data_or_null(const Tensor* t) { return t ? t->raw_data() : nullptr; }

// The operands of one fused step: validates everything once, gives the kernel contiguous
// param and grad (on param's device), and afterwards copies a temporary back and bumps versions.
class StepOperands {
 public:
  StepOperands(const char* op, const Tensor& param, const Tensor& grad) : op_(op), param_(param), grad_(grad) {
    PE_CHECK(param.defined() && grad.defined(), ValueError, op, ": param and grad must be tensors");
    PE_CHECK(is_floating(param.dtype()), TypeError, op,
             ": param must be a floating dtype (float32, float64, float16 or bfloat16), got ",
             dtype_name(param.dtype()));
    PE_CHECK(!has_repeated_elements(param), ValueError, op, ": param of shape ", shape_str(param.shape()),
             " with strides ", shape_str(param.strides()),
             " has elements sharing memory (a broadcast view); optimize a tensor that owns its elements");
    check_like_param("grad", grad);
  }

  // A state buffer the update reads and writes.
  const Tensor* state(const char* name, const Tensor& buf) {
    PE_CHECK(buf.defined(), ValueError, op_, ": ", name, " must be a tensor");
    check_like_param(name, buf);
    PE_CHECK(is_dense(buf), ValueError, op_, ": state buffer ", name, " must be contiguous, got strides ",
             shape_str(buf.strides()), " for shape ", shape_str(buf.shape()));
    for (const auto& [other_name, other] : states_)
      PE_CHECK(!overlaps(buf, *other), ValueError, op_, ": state buffers ", other_name, " and ", name,
               " overlap in memory; each needs its own storage");
    PE_CHECK(!overlaps(buf, param_), ValueError, op_, ": state buffer ", name,
             " overlaps the parameter in memory; each needs its own storage");
    states_.emplace_back(name, &buf);
    return &buf;
  }

  // A buffer only some options use: required when `used`, ignored (nullptr) otherwise.
  const Tensor* optional_state(const char* name, const OptionalTensor& buf, bool used, const char* option) {
    if (!used) return nullptr;
    PE_CHECK(buf.has_value(), ValueError, op_, ": ", option, " needs the state buffer ", name, ", got None");
    return state(name, *buf);
  }

  // kernel(param, grad) on contiguous tensors; then the write-back and version bumps.
  template <class Kernel>
  void run(Kernel&& kernel) {
    if (param_.numel() == 0) return;  // validated; nothing to update or bump
    Tensor work = param_.is_contiguous() ? param_ : clone(param_);
    Tensor grad = contiguous(grad_);
    // The kernel reads grad while writing param and state through restrict pointers.
    bool aliased = overlaps(grad, work);
    for (const auto& named : states_) aliased = aliased || overlaps(grad, *named.second);
    if (aliased) grad = clone(grad_);
    kernel(work, grad);
    if (work.raw_data() != param_.raw_data()) copy_(param_, work);
    param_.bump_version();
    for (const auto& named : states_) named.second->bump_version();
  }

 private:
  void check_like_param(const char* name, const Tensor& t) const {
    check_same_device(op_, param_, "param", t, name);
    PE_CHECK(t.dtype() == param_.dtype(), TypeError, op_, ": ", name, " dtype ", dtype_name(t.dtype()),
             " does not match param dtype ", dtype_name(param_.dtype()));
    PE_CHECK(t.shape() == param_.shape(), ValueError, op_, ": ", name, " shape ", shape_str(t.shape()),
             " does not match param shape ", shape_str(param_.shape()));
  }

  const char* op_;
  const Tensor& param_;
  const Tensor& grad_;
  std::vector<std::pair<const char*, const Tensor*>> states_;
};

void check_step(const char* op, double step) {
  PE_CHECK(step >= 1, ValueError, op, ": step counts this update and must be >= 1, got ", step);
}

}  // namespace

void sgd_step_(const Tensor& param, const Tensor& grad, const OptionalTensor& momentum_buf,
               const optim::SgdOptions& o) {
  StepOperands s("sgd_step_", param, grad);
  const Tensor* buf = s.optional_state("momentum_buf", momentum_buf, o.momentum != 0, "momentum != 0");
  s.run([&](const Tensor& p, const Tensor& g) {
    sgd_step_kernel(p.device(), SgdArgs{p.dtype(), p.numel(), p.raw_data(), g.raw_data(), data_or_null(buf), o});
  });
}

void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const OptionalTensor& max_exp_avg_sq, const optim::AdamOptions& o) {
  check_step("adam_step_", o.step);
  StepOperands s("adam_step_", param, grad);
  s.state("exp_avg", exp_avg);
  s.state("exp_avg_sq", exp_avg_sq);
  const Tensor* vmax = s.optional_state("max_exp_avg_sq", max_exp_avg_sq, o.amsgrad, "amsgrad=True");
  s.run([&](const Tensor& p, const Tensor& g) {
    adam_step_kernel(p.device(), AdamArgs{p.dtype(), p.numel(), p.raw_data(), g.raw_data(), exp_avg.raw_data(),
                                          exp_avg_sq.raw_data(), data_or_null(vmax), o});
  });
}

void rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const OptionalTensor& grad_avg,
                   const OptionalTensor& momentum_buf, const optim::RmspropOptions& o) {
  StepOperands s("rmsprop_step_", param, grad);
  s.state("square_avg", square_avg);
  const Tensor* gavg = s.optional_state("grad_avg", grad_avg, o.centered, "centered=True");
  const Tensor* buf = s.optional_state("momentum_buf", momentum_buf, o.momentum > 0, "momentum > 0");
  s.run([&](const Tensor& p, const Tensor& g) {
    rmsprop_step_kernel(p.device(), RmspropArgs{p.dtype(), p.numel(), p.raw_data(), g.raw_data(), square_avg.raw_data(),
                                                data_or_null(gavg), data_or_null(buf), o});
  });
}

void adagrad_step_(const Tensor& param, const Tensor& grad, const Tensor& sum, const optim::AdagradOptions& o) {
  check_step("adagrad_step_", o.step);
  StepOperands s("adagrad_step_", param, grad);
  s.state("sum", sum);
  s.run([&](const Tensor& p, const Tensor& g) {
    adagrad_step_kernel(p.device(), AdagradArgs{p.dtype(), p.numel(), p.raw_data(), g.raw_data(), sum.raw_data(), o});
  });
}

void adadelta_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& acc_delta,
                    const optim::AdadeltaOptions& o) {
  StepOperands s("adadelta_step_", param, grad);
  s.state("square_avg", square_avg);
  s.state("acc_delta", acc_delta);
  s.run([&](const Tensor& p, const Tensor& g) {
    adadelta_step_kernel(p.device(), AdadeltaArgs{p.dtype(), p.numel(), p.raw_data(), g.raw_data(),
                                                  square_avg.raw_data(), acc_delta.raw_data(), o});
  });
}

namespace {

// The operands of the Adam-like steps with two state buffers; returns the kernel's common args.
template <class Run>
void two_state_step(const char* op, double step, const Tensor& param, const Tensor& grad, const char* name1,
                    const Tensor& state1, const char* name2, const Tensor& state2, Run&& run) {
  check_step(op, step);
  StepOperands s(op, param, grad);
  s.state(name1, state1);
  s.state(name2, state2);
  s.run([&](const Tensor& p, const Tensor& g) {
    run(p.device(), AdamLikeArgs{p.dtype(), p.numel(), p.raw_data(), g.raw_data(), state1.raw_data(),
                                 state2.raw_data()});
  });
}

}  // namespace

void nadam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const optim::NadamOptions& o) {
  two_state_step("nadam_step_", o.step, param, grad, "exp_avg", exp_avg, "exp_avg_sq", exp_avg_sq,
                 [&](Device d, const AdamLikeArgs& a) { nadam_step_kernel(d, NadamArgs{a, o}); });
}

void radam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const optim::RadamOptions& o) {
  two_state_step("radam_step_", o.step, param, grad, "exp_avg", exp_avg, "exp_avg_sq", exp_avg_sq,
                 [&](Device d, const AdamLikeArgs& a) { radam_step_kernel(d, RadamArgs{a, o}); });
}

void adamax_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_inf,
                  const optim::AdamaxOptions& o) {
  two_state_step("adamax_step_", o.step, param, grad, "exp_avg", exp_avg, "exp_inf", exp_inf,
                 [&](Device d, const AdamLikeArgs& a) { adamax_step_kernel(d, AdamaxArgs{a, o}); });
}

void sparse_adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                       const optim::SparseAdamOptions& o) {
  const int64_t rows = param.ndim() == 0 ? 1 : param.shape()[0];
  two_state_step("sparse_adam_step_", o.step, param, grad, "exp_avg", exp_avg, "exp_avg_sq", exp_avg_sq,
                 [&](Device d, const AdamLikeArgs& a) {
                   sparse_adam_step_kernel(d, SparseAdamArgs{a, rows, a.n / rows, o});
                 });
}

}  // namespace pe::ops
