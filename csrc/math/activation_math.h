// The per-element math of the parametrised activations (PyTorch's Hardswish, Hardsigmoid, Mish,
// Softsign, Tanhshrink, CELU, SELU, LogSigmoid, Hardtanh, Softshrink, Hardshrink): forward and
// backward written once, shared by the CPU loop (csrc/cpu/activation_kernels.cpp) and the CUDA
// kernel (cuda/activation.cu). The parameterless activations that are also plain math ops
// (relu, sigmoid, tanh) stay in elementwise_math.h; these live apart because they take up to two
// scalar parameters (alpha, lambd, min/max), which the unary elementwise signature has no room for.
//
// Functor contract: `forward(x, a, b)` is y; `backward(g, x, a, b)` is dL/dx given g = dL/dy and
// the forward input x. a and b are the op's parameters in the compute dtype (unused ones are 0).
// The transcendental functions come from the math policy M: StdMath (libm / CUDA's math library)
// by default; the CPU loops pass their vectorisable exp and tanh (cpu/fast_math.h), as the
// elementwise loops do for exp, sigmoid and tanh.
// Formulas and comparison directions follow PyTorch's CPU kernels, so NaN and the kinks (x == 3
// for hardswish, x == lambd for the shrinks, x == min for hardtanh) give PyTorch's values.
#pragma once
#include <cmath>

#include "math/host_device.h"

namespace pe::act {

struct StdMath {
  template <class T>
  PE_HOST_DEVICE static T exp(T x) { return std::exp(x); }
  template <class T>
  PE_HOST_DEVICE static T expm1(T x) { return std::expm1(x); }
  template <class T>
  PE_HOST_DEVICE static T tanh(T x) { return std::tanh(x); }
  // log(1 + z) for z in [0, 1] (all that logsigmoid needs; a policy may rely on that range)
  template <class T>
  PE_HOST_DEVICE static T log1p_unit(T z) { return std::log1p(z); }
};

// X-macro: the one list of ops, (functor/enum name, Python name).
#define PE_ACTIVATION_OPS(X)                                                                       \
  X(Hardswish, "hardswish") X(Hardsigmoid, "hardsigmoid") X(Mish, "mish") X(Softsign, "softsign") \
  X(Tanhshrink, "tanhshrink") X(Celu, "celu") X(Selu, "selu") X(LogSigmoid, "logsigmoid")         \
  X(Hardtanh, "hardtanh") X(Softshrink, "softshrink") X(Hardshrink, "hardshrink")

#define PE_ACT_ENUM_ENTRY(E, name) E,
enum class ActivationOp : int { PE_ACTIVATION_OPS(PE_ACT_ENUM_ENTRY) kCount };
#undef PE_ACT_ENUM_ENTRY

// SELU's constants (Klambauer et al. 2017), as PyTorch writes them.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// relu6(v) = min(max(v, 0), 6), NaN passing through (as PyTorch's vectorised min/max).
template <class T>
PE_HOST_DEVICE inline T relu6(T v) {
  return v < T(0) ? T(0) : (v > T(6) ? T(6) : v);
}

// x * relu6(x + 3) / 6; at the kinks the gradient is PyTorch's: 0 at x == -3, 1 at x == 3.
struct Hardswish {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T, T) const {
    return x * relu6(x + T(3)) / T(6);
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T, T) const {
    if (x <= T(-3)) return T(0);
    if (x < T(3)) return g * (x / T(3) + T(0.5));
    return g;
  }
};

// relu6(x + 3) / 6; no gradient at the kinks -3 and 3.
struct Hardsigmoid {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T, T) const {
    return relu6(x + T(3)) / T(6);
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T, T) const {
    return (x > T(-3) && x < T(3)) ? g / T(6) : T(0);
  }
};

// x * tanh(softplus(x)). With e = exp(x), tanh(log(1 + e)) = n / (n + 2), n = e (e + 2): one exp
// instead of exp, log1p and tanh; from x = 20 on it is 1 in both float types (n overflows later).
template <class T, class M>
PE_HOST_DEVICE inline T tanh_softplus(T x) {
  if (x >= T(20)) return T(1);
  const T e = M::exp(x);
  const T n = e * (e + T(2));
  return n / (n + T(2));
}

struct Mish {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T, T) const {
    return x * tanh_softplus<T, M>(x);
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T, T) const {
    const T t = tanh_softplus<T, M>(x);
    const T s = T(1) / (T(1) + M::exp(-x));
    return g * (t + x * s * (T(1) - t * t));
  }
};

// x / (1 + |x|); the gradient 1 / (1 + |x|)^2 plus (x - x), which is 0 except at +-inf, where it
// gives PyTorch's NaN (its composite derivative there is inf / inf).
struct Softsign {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T, T) const {
    return x / (T(1) + std::fabs(x));
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T, T) const {
    const T d = T(1) + std::fabs(x);
    return (x - x) + g / (d * d);
  }
};

// x - tanh(x); d/dx = tanh(x)^2
struct Tanhshrink {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T, T) const {
    return x - M::tanh(x);
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T, T) const {
    const T t = M::tanh(x);
    return g * t * t;
  }
};

// PyTorch's elu kernel with (negative coefficient, input scale, positive coefficient):
// y = x > 0 ? pos * x : neg * expm1(x * in_scale); the gradient tests x <= 0, so NaN passes g*pos.
template <class T, class M>
PE_HOST_DEVICE inline T elu_forward(T x, T neg, T in_scale, T pos) {
  return x > T(0) ? x * pos : neg * M::expm1(x * in_scale);
}
template <class T, class M>
PE_HOST_DEVICE inline T elu_backward(T g, T x, T neg, T in_scale, T pos) {
  return x <= T(0) ? g * in_scale * neg * M::exp(x * in_scale) : g * pos;
}

// a = alpha: max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
struct Celu {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T alpha, T) const {
    return elu_forward<T, M>(x, alpha, T(1) / alpha, T(1));
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T alpha, T) const {
    return elu_backward<T, M>(g, x, alpha, T(1) / alpha, T(1));
  }
};

struct Selu {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T, T) const {
    return elu_forward<T, M>(x, T(kSeluAlpha * kSeluScale), T(1), T(kSeluScale));
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T, T) const {
    return elu_backward<T, M>(g, x, T(kSeluAlpha * kSeluScale), T(1), T(kSeluScale));
  }
};

// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), never overflowing; the gradient is
// sigmoid(-x), written with the same z = exp(-|x|) as PyTorch's kernel.
struct LogSigmoid {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T, T) const {
    return (x < T(0) ? x : T(0)) - M::log1p_unit(M::exp(-std::fabs(x)));
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T, T) const {
    const bool neg = x < T(0);
    const T z = M::exp(-std::fabs(x));
    return g * ((neg ? T(1) : T(0)) - (neg ? T(1) : T(-1)) * (z / (T(1) + z)));
  }
};

// a = min_val, b = max_val: clamp that propagates NaN; no gradient at or outside the bounds.
struct Hardtanh {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T lo, T hi) const {
    return x < lo ? lo : (x > hi ? hi : x);
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T lo, T hi) const {
    return (x <= lo || x >= hi) ? T(0) : g;
  }
};

// a = lambd: x -+ lambd outside [-lambd, lambd], 0 inside (x * 0 keeps NaN, as PyTorch).
struct Softshrink {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T l, T) const {
    return x > l ? x - l : (x < -l ? x + l : x * T(0));
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T l, T) const {
    return (x >= -l && x <= l) ? T(0) : g;
  }
};

// a = lambd: x outside [-lambd, lambd], 0 inside.
struct Hardshrink {
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T forward(T x, T l, T) const {
    return (x >= -l && x <= l) ? T(0) : x;
  }
  template <class T, class M = StdMath>
  PE_HOST_DEVICE T backward(T g, T x, T l, T) const {
    return (x >= -l && x <= l) ? T(0) : g;
  }
};

// Run-time op -> functor: f is a generic callable taking the functor by value.
template <class F>
decltype(auto) visit(ActivationOp op, F&& f) {
  switch (op) {
#define PE_ACT_CASE(E, name) \
  case ActivationOp::E: return f(E{});
    PE_ACTIVATION_OPS(PE_ACT_CASE)
#undef PE_ACT_CASE
    default: break;
  }
  return f(Hardswish{});  // unreachable for a valid op; the op layer checks the range
}

inline const char* op_name(ActivationOp op) {
  switch (op) {
#define PE_ACT_CASE(E, name) \
  case ActivationOp::E: return name;
    PE_ACTIVATION_OPS(PE_ACT_CASE)
#undef PE_ACT_CASE
    default: return "?";
  }
}

}  // namespace pe::act
