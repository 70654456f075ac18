// The per-element math of every optimizer update, written once (like ew:: functors in
// elementwise_math.h): the CPU loops in csrc/cpu/optimizer_kernels.cpp instantiate these, and
// a CUDA kernel can do the same, so the header uses only <cmath> and PE_HOST_DEVICE.
//
// Each update follows PyTorch's single-tensor (foreach=False) implementation operation by
// operation - same order of multiplications and additions, each rounded to T - so trajectories
// agree with torch.optim to rounding. Hyperparameters arrive as doubles (Python floats); the
// values PyTorch derives in Python (step sizes, bias corrections) are derived in double too
// (see *Coeffs below), then every scalar is rounded to T once, as PyTorch does when it passes
// a Python number to a float32 kernel.
//
// Flags that change the code path are template parameters so the inner loops have no
// branches and vectorise; `maximize` is a multiplication by -1 or +1 (exact either way). The
// host-side helpers at the end turn the run-time options into those template arguments, the
// same way for the CPU loops and the CUDA kernels.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "math/half_types.h"
#include "math/host_device.h"

namespace pe::optim {

// ----- hyperparameters, as Python passes them ------------------------------------------------

struct SgdOptions {
  double lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
  bool first_step = false;  // no momentum buffer yet: PyTorch starts it as a copy of the gradient
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step = 1;  // the step count after this update (1 on the first call)
  bool decoupled = false, amsgrad = false, maximize = false;
};

struct RmspropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false;
};

struct AdagradOptions {
  double lr = 1e-2, lr_decay = 0, weight_decay = 0, eps = 1e-10;
  double step = 1;  // the step count after this update
  bool maximize = false;
};

struct AdadeltaOptions {
  double lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0;
  bool maximize = false;
};

struct NadamOptions {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step = 1;        // the step count after this update
  double mu = 0, mu_next = 0;  // the momentum cache mu_t and mu_{t+1} (computed in Python, as PyTorch does)
  double mu_product = 1;  // prod_{i<=t} mu_i, including this step's mu (PyTorch keeps it in a float32 tensor)
  bool decoupled = false, maximize = false;
};

struct RadamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step = 1;  // the step count after this update
  bool decoupled = false, maximize = false;
};

struct AdamaxOptions {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step = 1;  // the step count after this update
  bool maximize = false;
};

struct SparseAdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double step = 1;  // the step count after this update
  bool maximize = false;
};

// ----- helpers with PyTorch's rounding -------------------------------------------------------

// torch.lerp(a, b, w) for a scalar weight: a + w * (b - a) when |w| < 0.5, else the more
// accurate b - (b - a) * (1 - w). Both are base + coeff * (b - a) (negating a product is exact),
// so the loop only selects between values and stays branch-free.
template <class T>
struct LerpWeight {
  T coeff;
  bool from_start;  // |w| < 0.5: start from a
  explicit LerpWeight(T w) : coeff(std::fabs(w) < T(0.5) ? w : -(T(1) - w)), from_start(std::fabs(w) < T(0.5)) {}
};

template <class T>
PE_HOST_DEVICE inline T lerp(T a, T b, const LerpWeight<T>& w) {
  return (w.from_start ? a : b) + w.coeff * (b - a);
}

// torch.maximum: NaN in either operand propagates. (Bitwise |, not ||: no branch, so the
// loop around it still vectorises.)
template <class T>
PE_HOST_DEVICE inline T nan_maximum(T a, T b) {
  return ((a > b) | (a != a)) ? a : b;
}

// Optional state buffers are passed by reference like the others; when the option is off the
// caller passes a dummy that the update never touches (see load<USED> below).

// ----- storage types -> compute types ----------------------------------------------------------
// float16 and bfloat16 parameters (and their state, kept in the parameter's dtype as PyTorch
// keeps it) are updated in float: each element is loaded to float, the update runs in float
// arithmetic, and the results are stored rounded once. float32 and float64 compute in place.
template <class S> struct StepCompute { using type = S; };
template <> struct StepCompute<Half> { using type = float; };
template <> struct StepCompute<BFloat16> { using type = float; };
template <class S> using step_compute_t = typename StepCompute<S>::type;

// Element i of a buffer in its compute type (a zero when the option USED is off: the buffer is
// then nullptr and the update never reads the value).
template <bool USED = true, class S>
PE_HOST_DEVICE inline step_compute_t<S> load(const S* buf, int64_t i) {
  if constexpr (USED) return static_cast<step_compute_t<S>>(buf[i]);
  return step_compute_t<S>(0);
}

// Stores v into element i (rounding to a 16-bit storage type); nothing when USED is off.
template <bool USED = true, class S, class C>
PE_HOST_DEVICE inline void store(S* buf, int64_t i, C v) {
  if constexpr (USED) buf[i] = S(v);
}

// Weight decay modes of the update rules.
enum class Decay { None, L2, Decoupled };

// ----- SGD -----------------------------------------------------------------------------------

template <class T>
struct SgdCoeffs {
  T sign, neg_lr, momentum, one_minus_dampening, weight_decay;
  explicit SgdCoeffs(const SgdOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), neg_lr(T(-o.lr)), momentum(T(o.momentum)),
        one_minus_dampening(T(1 - o.dampening)), weight_decay(T(o.weight_decay)) {}
};

// MOMENTUM: 0 = none, 1 = first step (buf = g), 2 = running buffer.
template <class T, bool DECAY, int MOMENTUM, bool NESTEROV>
PE_HOST_DEVICE inline void sgd_update(T& p, T grad, T& buf, const SgdCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY) g = g + c.weight_decay * p;
  if (MOMENTUM == 1) buf = g;
  if (MOMENTUM == 2) buf = buf * c.momentum + c.one_minus_dampening * g;
  if (MOMENTUM != 0) g = NESTEROV ? g + c.momentum * buf : buf;
  p = p + c.neg_lr * g;
}

// ----- Adam / AdamW --------------------------------------------------------------------------

template <class T>
struct AdamCoeffs {
  T sign, weight_decay, decay_factor, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step_size;
  LerpWeight<T> one_minus_beta1;
  explicit AdamCoeffs(const AdamOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        weight_decay(T(o.weight_decay)),
        decay_factor(T(1 - o.lr * o.weight_decay)),
        beta2(T(o.beta2)),
        one_minus_beta2(T(1 - o.beta2)),
        bc2_sqrt(T(std::sqrt(1 - std::pow(o.beta2, o.step)))),
        eps(T(o.eps)),
        neg_step_size(T(-(o.lr / (1 - std::pow(o.beta1, o.step))))),
        one_minus_beta1(T(1 - o.beta1)) {}
};

template <class T, Decay DECAY, bool AMSGRAD>
PE_HOST_DEVICE inline void adam_update(T& p, T grad, T& exp_avg, T& exp_avg_sq, T& max_exp_avg_sq,
                                       const AdamCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY == Decay::Decoupled) p = p * c.decay_factor;
  if (DECAY == Decay::L2) g = g + c.weight_decay * p;
  exp_avg = lerp(exp_avg, g, c.one_minus_beta1);
  exp_avg_sq = exp_avg_sq * c.beta2;
  exp_avg_sq = exp_avg_sq + c.one_minus_beta2 * g * g;
  T second = exp_avg_sq;
  if (AMSGRAD) second = max_exp_avg_sq = nan_maximum(max_exp_avg_sq, exp_avg_sq);
  T denom = std::sqrt(second) / c.bc2_sqrt + c.eps;
  p = p + c.neg_step_size * exp_avg / denom;
}

// ----- RMSprop -------------------------------------------------------------------------------

template <class T>
struct RmspropCoeffs {
  T sign, weight_decay, alpha, one_minus_alpha, eps, momentum, neg_lr;
  LerpWeight<T> grad_avg_weight;  // the same 1 - alpha, as lerp's weight
  explicit RmspropCoeffs(const RmspropOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), weight_decay(T(o.weight_decay)), alpha(T(o.alpha)),
        one_minus_alpha(T(1 - o.alpha)), eps(T(o.eps)), momentum(T(o.momentum)), neg_lr(T(-o.lr)),
        grad_avg_weight(T(1 - o.alpha)) {}
};

template <class T, bool DECAY, bool CENTERED, bool MOMENTUM>
PE_HOST_DEVICE inline void rmsprop_update(T& p, T grad, T& square_avg, T& grad_avg, T& momentum_buf,
                                          const RmspropCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY) g = g + c.weight_decay * p;
  square_avg = square_avg * c.alpha;
  square_avg = square_avg + c.one_minus_alpha * g * g;
  T avg;
  if (CENTERED) {
    grad_avg = lerp(grad_avg, g, c.grad_avg_weight);
    avg = std::sqrt(square_avg + T(-1) * grad_avg * grad_avg);
  } else {
    avg = std::sqrt(square_avg);
  }
  avg = avg + c.eps;
  if (MOMENTUM) {
    momentum_buf = momentum_buf * c.momentum;
    momentum_buf = momentum_buf + T(1) * g / avg;
    p = p + c.neg_lr * momentum_buf;
  } else {
    p = p + c.neg_lr * g / avg;
  }
}

// ----- Adagrad -------------------------------------------------------------------------------

template <class T>
struct AdagradCoeffs {
  T sign, weight_decay, eps, neg_clr;
  explicit AdagradCoeffs(const AdagradOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), weight_decay(T(o.weight_decay)), eps(T(o.eps)),
        neg_clr(T(-(o.lr / (1 + (o.step - 1) * o.lr_decay)))) {}
};

template <class T, bool DECAY>
PE_HOST_DEVICE inline void adagrad_update(T& p, T grad, T& sum, const AdagradCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY) g = g + c.weight_decay * p;
  sum = sum + T(1) * g * g;
  T std_ = std::sqrt(sum) + c.eps;
  p = p + c.neg_clr * g / std_;
}

// ----- Adadelta ------------------------------------------------------------------------------

template <class T>
struct AdadeltaCoeffs {
  T sign, weight_decay, rho, one_minus_rho, eps, neg_lr;
  explicit AdadeltaCoeffs(const AdadeltaOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), weight_decay(T(o.weight_decay)), rho(T(o.rho)),
        one_minus_rho(T(1 - o.rho)), eps(T(o.eps)), neg_lr(T(-o.lr)) {}
};

template <class T, bool DECAY>
PE_HOST_DEVICE inline void adadelta_update(T& p, T grad, T& square_avg, T& acc_delta,
                                           const AdadeltaCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY) g = g + c.weight_decay * p;
  square_avg = square_avg * c.rho;
  square_avg = square_avg + c.one_minus_rho * g * g;
  T std_ = std::sqrt(square_avg + c.eps);
  T delta = std::sqrt(acc_delta + c.eps);
  delta = delta / std_;
  delta = delta * g;
  acc_delta = acc_delta * c.rho;
  acc_delta = acc_delta + c.one_minus_rho * delta * delta;
  p = p + c.neg_lr * delta;
}

// ----- NAdam ---------------------------------------------------------------------------------
// The step-dependent momentum cache (mu_t, mu_{t+1}, their running product) is scalar work that
// PyTorch does in Python; the two addcdiv coefficients it yields are derived here in double.

template <class T>
struct NadamCoeffs {
  T sign, weight_decay, decay_factor, beta2, one_minus_beta2, bc2, eps, grad_coeff, exp_avg_coeff;
  LerpWeight<T> one_minus_beta1;
  explicit NadamCoeffs(const NadamOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        weight_decay(T(o.weight_decay)),
        decay_factor(T(1 - o.lr * o.weight_decay)),
        beta2(T(o.beta2)),
        one_minus_beta2(T(1 - o.beta2)),
        bc2(T(1 - std::pow(o.beta2, o.step))),
        eps(T(o.eps)),
        grad_coeff(T(-o.lr * (1.0 - o.mu) / (1.0 - o.mu_product))),
        exp_avg_coeff(T((-o.lr * o.mu_next) / (1.0 - o.mu_product * o.mu_next))),
        one_minus_beta1(T(1 - o.beta1)) {}
};

template <class T, Decay DECAY>
PE_HOST_DEVICE inline void nadam_update(T& p, T grad, T& exp_avg, T& exp_avg_sq, const NadamCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY == Decay::Decoupled) p = p * c.decay_factor;
  if (DECAY == Decay::L2) g = g + c.weight_decay * p;
  exp_avg = lerp(exp_avg, g, c.one_minus_beta1);
  exp_avg_sq = exp_avg_sq * c.beta2;
  exp_avg_sq = exp_avg_sq + c.one_minus_beta2 * g * g;
  T denom = std::sqrt(exp_avg_sq / c.bc2) + c.eps;
  p = p + c.grad_coeff * g / denom;
  p = p + c.exp_avg_coeff * exp_avg / denom;
}

// ----- RAdam ---------------------------------------------------------------------------------
// RECTIFY: the variance of the adaptive lr is tractable (rho_t > 5) and the step is rectified;
// otherwise the step is plain bias-corrected momentum. The choice depends only on the step count.

template <class T>
struct RadamCoeffs {
  T sign, weight_decay, decay_factor, beta2, one_minus_beta2, bc1, lr, bc2_sqrt, eps, rect;
  LerpWeight<T> one_minus_beta1;
  bool rectify;
  explicit RadamCoeffs(const RadamOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        weight_decay(T(o.weight_decay)),
        decay_factor(T(1 - o.lr * o.weight_decay)),
        beta2(T(o.beta2)),
        one_minus_beta2(T(1 - o.beta2)),
        bc1(T(1 - std::pow(o.beta1, o.step))),
        lr(T(o.lr)),
        bc2_sqrt(T(std::sqrt(1 - std::pow(o.beta2, o.step)))),
        eps(T(o.eps)),
        rect(T(0)),
        one_minus_beta1(T(1 - o.beta1)),
        rectify(false) {
    double bc2 = 1 - std::pow(o.beta2, o.step);
    double rho_inf = 2 / (1 - o.beta2) - 1;
    double rho_t = rho_inf - 2 * o.step * std::pow(o.beta2, o.step) / bc2;
    rectify = rho_t > 5.0;
    if (rectify) rect = T(std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)));
  }
};

template <class T, Decay DECAY, bool RECTIFY>
PE_HOST_DEVICE inline void radam_update(T& p, T grad, T& exp_avg, T& exp_avg_sq, const RadamCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY == Decay::Decoupled) p = p * c.decay_factor;
  if (DECAY == Decay::L2) g = g + c.weight_decay * p;
  exp_avg = lerp(exp_avg, g, c.one_minus_beta1);
  exp_avg_sq = exp_avg_sq * c.beta2;
  exp_avg_sq = exp_avg_sq + c.one_minus_beta2 * g * g;
  T update = exp_avg / c.bc1 * c.lr;
  if (RECTIFY) {
    // PyTorch writes bc2**0.5 / t, which Tensor.__rtruediv__ evaluates as reciprocal(t) * bc2**0.5.
    T adaptive_lr = T(1) / (std::sqrt(exp_avg_sq) + c.eps) * c.bc2_sqrt;
    update = update * adaptive_lr * c.rect;
  }
  p = p + T(-1) * update;
}

// ----- Adamax --------------------------------------------------------------------------------

template <class T>
struct AdamaxCoeffs {
  T sign, weight_decay, beta2, eps, neg_clr;
  LerpWeight<T> one_minus_beta1;
  explicit AdamaxCoeffs(const AdamaxOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), weight_decay(T(o.weight_decay)), beta2(T(o.beta2)), eps(T(o.eps)),
        neg_clr(T(-(o.lr / (1 - std::pow(o.beta1, o.step))))), one_minus_beta1(T(1 - o.beta1)) {}
};

template <class T, bool DECAY>
PE_HOST_DEVICE inline void adamax_update(T& p, T grad, T& exp_avg, T& exp_inf, const AdamaxCoeffs<T>& c) {
  T g = c.sign * grad;
  if (DECAY) g = g + c.weight_decay * p;
  exp_avg = lerp(exp_avg, g, c.one_minus_beta1);
  exp_inf = nan_maximum(exp_inf * c.beta2, std::fabs(g) + c.eps);
  p = p + c.neg_clr * exp_avg / exp_inf;
}

// ----- SparseAdam ----------------------------------------------------------------------------
// PyTorch's SparseAdam updates only the rows a sparse gradient holds. pyengine has dense
// gradients only, so a row (index along dim 0, e.g. an embedding row) counts as present when any
// of its gradient elements is nonzero; present rows get PyTorch's masked update, in its order
// of operations, and the others are left untouched.

template <class T>
struct SparseAdamCoeffs {
  T sign, one_minus_beta1, one_minus_beta2, eps, neg_step_size;
  explicit SparseAdamCoeffs(const SparseAdamOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), one_minus_beta1(T(1 - o.beta1)), one_minus_beta2(T(1 - o.beta2)),
        eps(T(o.eps)),
        neg_step_size(T(-(o.lr * std::sqrt(1 - std::pow(o.beta2, o.step)) / (1 - std::pow(o.beta1, o.step))))) {}
};

// Whether row [b, b + cols) of the gradient holds anything (a NaN counts: it is not zero).
template <class T>
PE_HOST_DEVICE inline bool row_present(const T* g, int64_t cols) {
  bool any = false;
  for (int64_t j = 0; j < cols; ++j) any = any | !(g[j] == T(0));
  return any;
}

template <class T>
PE_HOST_DEVICE inline void sparse_adam_update(T& p, T grad, T& exp_avg, T& exp_avg_sq, const SparseAdamCoeffs<T>& c) {
  T g = c.sign * grad;
  T old_avg = exp_avg, old_sq = exp_avg_sq;
  T avg_update = (g - old_avg) * c.one_minus_beta1;
  exp_avg = exp_avg + avg_update;
  T sq_update = (g * g - old_sq) * c.one_minus_beta2;
  exp_avg_sq = exp_avg_sq + sq_update;
  T numer = avg_update + old_avg;
  T denom = std::sqrt(sq_update + old_sq) + c.eps;
  p = p + c.neg_step_size * (numer / denom);
}

// ----- options -> template arguments (host code, shared by both backends' launchers) ---------

// f(std::true_type{}) or f(std::false_type{}).
template <class F>
void with_flag(bool flag, F&& f) {
  if (flag)
    f(std::true_type{});
  else
    f(std::false_type{});
}

template <class F>
void with_decay(Decay mode, F&& f) {
  switch (mode) {
    case Decay::None: return f(std::integral_constant<Decay, Decay::None>{});
    case Decay::L2: return f(std::integral_constant<Decay, Decay::L2>{});
    case Decay::Decoupled: return f(std::integral_constant<Decay, Decay::Decoupled>{});
  }
}

// sgd_update's MOMENTUM argument as an integral_constant.
template <class F>
void with_sgd_momentum(const SgdOptions& o, F&& f) {
  if (o.momentum == 0) return f(std::integral_constant<int, 0>{});
  if (o.first_step) return f(std::integral_constant<int, 1>{});
  f(std::integral_constant<int, 2>{});
}

// The weight-decay mode of the Adam-like rules with a decoupled option (Adam, NAdam, RAdam).
template <class Options>
inline Decay adam_decay(const Options& o) {
  return o.weight_decay == 0 ? Decay::None : (o.decoupled ? Decay::Decoupled : Decay::L2);
}

}  // namespace pe::optim
