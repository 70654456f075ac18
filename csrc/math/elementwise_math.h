// The per-element math of every elementwise op, written once. The CPU loops
// (csrc/cpu/elementwise_kernels.cpp) and the CUDA kernels (cuda/) both instantiate these
// functors, so the header uses only <cmath> and <type_traits> and marks every functor
// PE_HOST_DEVICE: __host__ __device__ under nvcc, nothing under a plain host compiler (which
// is also how the CUDA-emulation build sees it).
//
// Contract for a kernel that runs op F (CPU or CUDA):
//   * every input already has the op's compute dtype T (the op layer casts);
//   * the output has dtype decltype(F{}(T...)): T, or bool for comparisons and logical ops;
//   * inputs broadcast to the output's shape; the output never overlaps an input except as
//     the very same view (elementwise same-index aliasing), so in-place ops are safe;
//   * F is only instantiated for the T its `domain` allows (see takes_dtype).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "math/glibc_symbols.h"  // std::hypot at glibc 2.2.5's version
#include "math/host_device.h"

namespace pe::ew {

// X-macros: the one list of ops. Each entry is (functor/enum name, Python name).
#define PE_UNARY_OPS(X)                                                                       \
  X(Neg, "neg") X(Abs, "abs") X(Exp, "exp") X(Log, "log") X(Log1p, "log1p") X(Expm1, "expm1") \
  X(Sqrt, "sqrt") X(Rsqrt, "rsqrt") X(Sin, "sin") X(Cos, "cos") X(Tanh, "tanh")               \
  X(Sigmoid, "sigmoid") X(Relu, "relu") X(Erf, "erf") X(Sign, "sign") X(Floor, "floor")       \
  X(Ceil, "ceil") X(Round, "round") X(LogicalNot, "logical_not") X(Reciprocal, "reciprocal")  \
  X(Square, "square") X(BitwiseNot, "bitwise_not") PE_UNARY_MATH_OPS(X)

// The fused backward helpers are binary ops too: (grad, saved tensor) -> grad_input.
#define PE_BINARY_OPS(X)                                                                      \
  X(Add, "add") X(Sub, "sub") X(Mul, "mul") X(Div, "div") X(Pow, "pow")                       \
  X(Maximum, "maximum") X(Minimum, "minimum") X(Eq, "eq") X(Ne, "ne") X(Lt, "lt") X(Le, "le") \
  X(Gt, "gt") X(Ge, "ge") X(LogicalAnd, "logical_and") X(LogicalOr, "logical_or")             \
  X(LogicalXor, "logical_xor") X(BitwiseAnd, "bitwise_and") X(BitwiseOr, "bitwise_or")       \
  X(BitwiseXor, "bitwise_xor") X(LeftShift, "bitwise_left_shift")                              \
  X(RightShift, "bitwise_right_shift") X(FloorDivide, "floor_divide") X(Remainder, "remainder") \
  X(ReluBackward, "relu_backward")                                                            \
  X(SigmoidBackward, "sigmoid_backward") X(TanhBackward, "tanh_backward")                     \
  X(ErfBackward, "erf_backward") PE_BINARY_MATH_OPS(X)

// Issue 15's everyday math (predicates, inverse and hyperbolic trig, rounding, two-argument
// functions); the functors are at the end of the functor section.
#define PE_UNARY_MATH_OPS(X)                                                                   \
  X(Isnan, "isnan") X(Isinf, "isinf") X(Isposinf, "isposinf") X(Isneginf, "isneginf")         \
  X(Isfinite, "isfinite") X(Log2, "log2") X(Log10, "log10") X(Exp2, "exp2") X(Tan, "tan")     \
  X(Asin, "asin") X(Acos, "acos") X(Atan, "atan") X(Sinh, "sinh") X(Cosh, "cosh")             \
  X(Asinh, "asinh") X(Acosh, "acosh") X(Atanh, "atanh") X(Trunc, "trunc") X(Frac, "frac")

#define PE_BINARY_MATH_OPS(X)                                                                  \
  X(Copysign, "copysign") X(Fmod, "fmod") X(DivTrunc, "div_trunc") X(Atan2, "atan2")          \
  X(Hypot, "hypot") X(Logaddexp, "logaddexp") X(Xlogy, "xlogy")

#define PE_EW_ENUM_ENTRY(E, name) E,
enum class UnaryOp : int { PE_UNARY_OPS(PE_EW_ENUM_ENTRY) kCount };
enum class BinaryOp : int { PE_BINARY_OPS(PE_EW_ENUM_ENTRY) kCount };
#undef PE_EW_ENUM_ENTRY

// Which compute dtypes an op has a kernel for, and what the op layer does with the others.
enum class Domain : uint8_t {
  All,        // bool, int64, float32, float64
  Numeric,    // int64, float32, float64; a bool operand is a TypeError
  BoolAsInt,  // like Numeric, but bool is computed as int64 (PyTorch's square)
  Float,      // float32, float64; bool and int64 are computed as float32
  Integral,   // bool, int64 (bitwise ops); a float operand is a NotImplementedError, as in PyTorch
  Int,        // int64 only (shifts); bool and float are NotImplementedError
  NonBool,    // int64, float32, float64 (floor_divide, remainder); bool is NotImplementedError
};

template <class T>
constexpr bool is_float_v = std::is_floating_point_v<T>;
template <class T>
constexpr bool is_int_v = std::is_same_v<T, int64_t>;

// True when functor Op has a kernel for compute type T.
template <class Op, class T>
constexpr bool takes_dtype() {
  switch (Op::domain) {
    case Domain::All: return true;
    case Domain::Numeric:
    case Domain::BoolAsInt: return !std::is_same_v<T, bool>;
    case Domain::Float: return is_float_v<T>;
    case Domain::Integral: return !is_float_v<T>;
    case Domain::Int: return is_int_v<T>;
    case Domain::NonBool: return !std::is_same_v<T, bool>;
  }
  return false;
}

// Whether an op of `domain` computes floating operands in their own dtype (the op layer's fast
// paths for floating tensors are only valid then).
constexpr bool takes_floating(Domain domain) {
  return domain != Domain::Integral && domain != Domain::Int;
}

// int64 arithmetic wraps around like PyTorch's (two's complement) instead of being
// undefined behaviour on overflow: do it in uint64_t.
PE_HOST_DEVICE inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
PE_HOST_DEVICE inline int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
PE_HOST_DEVICE inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
// a + b and a * b for accumulators (sums, products): wrapping for int64, plain otherwise.
template <class T>
PE_HOST_DEVICE inline T add_wrapping(T a, T b) {
  if constexpr (std::is_same<T, int64_t>::value) return wrap_add(a, b);
  else return a + b;
}
template <class T>
PE_HOST_DEVICE inline T mul_wrapping(T a, T b) {
  if constexpr (std::is_same<T, int64_t>::value) return wrap_mul(a, b);
  else return a * b;
}

// Integer power by squaring. Negative exponents follow PyTorch's integer pow: 1 and -1 keep
// their magnitude, every other base truncates to 0.
PE_HOST_DEVICE inline int64_t int_pow(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exp & 1) ? -1 : 1;
    return 0;
  }
  int64_t result = 1;
  while (exp) {
    if (exp & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exp >>= 1;
  }
  return result;
}

// Integer division and remainder rounding toward -inf (Python's and PyTorch's // and %): the
// remainder has the divisor's sign. b == 0 never reaches a kernel (the op layer raises
// PyTorch's ZeroDivisionError first); it gives 0 here rather than a trap. b == -1 is done apart:
// INT64_MIN / -1 traps in hardware, and PyTorch's result wraps to INT64_MIN (remainder 0).
PE_HOST_DEVICE inline int64_t floor_div_int(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return wrap_sub(0, a);
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}
PE_HOST_DEVICE inline int64_t floor_mod_int(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

template <class T>
PE_HOST_DEVICE inline bool truthy(T x) {
  return x != T(0);
}

// ---------------------------------------------------------------------------------------
// Unary functors: T operator()(T) (bool for logical_not).
// ---------------------------------------------------------------------------------------
#define PE_EW_FLOAT_UNARY(Name, expr)                  \
  struct Name {                                        \
    static constexpr Domain domain = Domain::Float;    \
    template <class T>                                 \
    PE_HOST_DEVICE T operator()(T x) const {           \
      return expr;                                     \
    }                                                  \
  };

PE_EW_FLOAT_UNARY(Exp, std::exp(x))
PE_EW_FLOAT_UNARY(Log, std::log(x))
PE_EW_FLOAT_UNARY(Log1p, std::log1p(x))
PE_EW_FLOAT_UNARY(Expm1, std::expm1(x))
PE_EW_FLOAT_UNARY(Sqrt, std::sqrt(x))
PE_EW_FLOAT_UNARY(Rsqrt, T(1) / std::sqrt(x))
PE_EW_FLOAT_UNARY(Sin, std::sin(x))
PE_EW_FLOAT_UNARY(Cos, std::cos(x))
PE_EW_FLOAT_UNARY(Tanh, std::tanh(x))
// e^x / (1 + e^x) on the negative side: 1 / (1 + e^-x) would give 0 once e^-x overflows.
PE_EW_FLOAT_UNARY(Sigmoid, x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x)))
PE_EW_FLOAT_UNARY(Erf, std::erf(x))
PE_EW_FLOAT_UNARY(Reciprocal, T(1) / x)

struct Neg {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_int_v<T>) return wrap_sub(0, x);
    else return -x;
  }
};

struct Abs {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_int_v<T>) return x < 0 ? wrap_sub(0, x) : x;
    else return std::fabs(x);
  }
};

// `x < 0 ? 0 : x` rather than `x > 0 ? x : 0` so NaN propagates, as in PyTorch.
struct Relu {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const { return x < T(0) ? T(0) : x; }
};

// sign(NaN) is 0, as in PyTorch.
struct Sign {
  static constexpr Domain domain = Domain::All;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return x;
    else return T(int(T(0) < x) - int(x < T(0)));
  }
};

// Rounding is the identity on integers.
struct Floor {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_int_v<T>) return x;
    else return std::floor(x);
  }
};

struct Ceil {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_int_v<T>) return x;
    else return std::ceil(x);
  }
};

// Half-way cases go to the even neighbour (nearbyint in the default rounding mode).
struct Round {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_int_v<T>) return x;
    else return std::nearbyint(x);
  }
};

struct LogicalNot {
  static constexpr Domain domain = Domain::All;
  template <class T>
  PE_HOST_DEVICE bool operator()(T x) const { return !truthy(x); }
};

// ~x: bitwise complement of an integer, logical not of a bool.
struct BitwiseNot {
  static constexpr Domain domain = Domain::Integral;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return !x;
    else return ~x;
  }
};

struct Square {
  static constexpr Domain domain = Domain::BoolAsInt;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_int_v<T>) return wrap_mul(x, x);
    else return x * x;
  }
};

// ---------------------------------------------------------------------------------------
// Binary functors: T operator()(T, T) (bool for comparisons and logical ops).
// ---------------------------------------------------------------------------------------
struct Add {
  static constexpr Domain domain = Domain::All;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a || b;
    else if constexpr (is_int_v<T>) return wrap_add(a, b);
    else return a + b;
  }
};

struct Sub {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_int_v<T>) return wrap_sub(a, b);
    else return a - b;
  }
};

struct Mul {
  static constexpr Domain domain = Domain::All;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a && b;
    else if constexpr (is_int_v<T>) return wrap_mul(a, b);
    else return a * b;
  }
};

// True division: integer operands are computed as float32 (Domain::Float).
struct Div {
  static constexpr Domain domain = Domain::Float;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const { return a / b; }
};

struct Pow {
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_int_v<T>) return int_pow(a, b);
    else return std::pow(a, b);
  }
};

// maximum/minimum propagate NaN from either side (x != x only for NaN).
struct Maximum {
  static constexpr Domain domain = Domain::All;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if (a != a) return a;
    if (b != b) return b;
    return a < b ? b : a;
  }
};

struct Minimum {
  static constexpr Domain domain = Domain::All;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if (a != a) return a;
    if (b != b) return b;
    return b < a ? b : a;
  }
};

#define PE_EW_PREDICATE(Name, expr)                   \
  struct Name {                                       \
    static constexpr Domain domain = Domain::All;     \
    template <class T>                                \
    PE_HOST_DEVICE bool operator()(T a, T b) const {  \
      return expr;                                    \
    }                                                 \
  };

PE_EW_PREDICATE(Eq, a == b)
PE_EW_PREDICATE(Ne, a != b)
PE_EW_PREDICATE(Lt, a < b)
PE_EW_PREDICATE(Le, a <= b)
PE_EW_PREDICATE(Gt, a > b)
PE_EW_PREDICATE(Ge, a >= b)
PE_EW_PREDICATE(LogicalAnd, truthy(a) && truthy(b))
PE_EW_PREDICATE(LogicalOr, truthy(a) || truthy(b))
PE_EW_PREDICATE(LogicalXor, truthy(a) != truthy(b))
#undef PE_EW_PREDICATE

// Bitwise ops: on bools they are the logical ops (bool & bool stays bool, as in PyTorch).
struct BitwiseAnd {
  static constexpr Domain domain = Domain::Integral;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a && b;
    else return a & b;
  }
};

struct BitwiseOr {
  static constexpr Domain domain = Domain::Integral;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a || b;
    else return a | b;
  }
};

struct BitwiseXor {
  static constexpr Domain domain = Domain::Integral;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a != b;
    else return a ^ b;
  }
};

// Shifts by a count outside [0, 64) are defined as PyTorch defines them (C++ leaves them
// undefined): a << b is 0, a >> b is the sign fill (-1 for negative a, else 0). Left shifts
// run in uint64 so bits shifted past the sign are dropped, not undefined.
struct LeftShift {
  static constexpr Domain domain = Domain::Int;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if (b < 0 || b >= 64) return 0;
    return static_cast<int64_t>(static_cast<uint64_t>(a) << b);
  }
};

struct RightShift {
  static constexpr Domain domain = Domain::Int;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if (b < 0 || b >= 64) return a < 0 ? T(-1) : T(0);
    return a >> b;  // arithmetic shift of a signed value (gcc, clang, nvcc; guaranteed in C++20)
  }
};

// a // b rounding toward -inf. Floats: PyTorch's div_floor_floating (fmod based, so the
// quotient is the one whose remainder is `remainder`'s), with x // 0 = x / 0 (inf or NaN).
struct FloorDivide {
  static constexpr Domain domain = Domain::NonBool;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_int_v<T>) {
      return floor_div_int(a, b);
    } else {
      if (b == T(0)) return a / b;
      const T mod = std::fmod(a, b);
      T div = (a - mod) / b;
      if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
      if (div == T(0)) return std::copysign(T(0), a / b);
      T floordiv = std::floor(div);
      if (div - floordiv > T(0.5)) floordiv += T(1);
      return floordiv;
    }
  }
};

// a % b with the divisor's sign (Python's and PyTorch's remainder, not C's fmod).
struct Remainder {
  static constexpr Domain domain = Domain::NonBool;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_int_v<T>) {
      return floor_mod_int(a, b);
    } else {
      T mod = std::fmod(a, b);
      if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) mod += b;
      return mod;
    }
  }
};

// Fused backward helpers: (grad, saved) -> grad_input, one pass instead of three.
struct ReluBackward {  // saved = relu's input x; `x <= 0` so NaN passes the gradient, as in PyTorch
  static constexpr Domain domain = Domain::Numeric;
  template <class T>
  PE_HOST_DEVICE T operator()(T grad, T x) const { return x <= T(0) ? T(0) : grad; }
};

struct SigmoidBackward {  // saved = sigmoid's output y
  static constexpr Domain domain = Domain::Float;
  template <class T>
  PE_HOST_DEVICE T operator()(T grad, T y) const { return grad * y * (T(1) - y); }
};

struct TanhBackward {  // saved = tanh's output y
  static constexpr Domain domain = Domain::Float;
  template <class T>
  PE_HOST_DEVICE T operator()(T grad, T y) const { return grad * (T(1) - y * y); }
};

struct ErfBackward {  // saved = erf's input x; d/dx erf(x) = 2/sqrt(pi) * exp(-x^2)
  static constexpr Domain domain = Domain::Float;
  template <class T>
  PE_HOST_DEVICE T operator()(T grad, T x) const {
    return grad * T(1.1283791670955125738961589031215452) * std::exp(-x * x);
  }
};

// ---------------------------------------------------------------------------------------
// Issue 15's everyday math (PE_UNARY_MATH_OPS, PE_BINARY_MATH_OPS).
// ---------------------------------------------------------------------------------------
// Predicates on any dtype, as PyTorch: an integer or bool is never NaN or infinite.
#define PE_EW_FLOAT_PREDICATE(Name, float_expr, other_value)  \
  struct Name {                                              \
    static constexpr Domain domain = Domain::All;            \
    template <class T>                                       \
    PE_HOST_DEVICE bool operator()(T x) const {              \
      if constexpr (is_float_v<T>) return float_expr;        \
      else return other_value;                               \
    }                                                        \
  };
PE_EW_FLOAT_PREDICATE(Isnan, x != x, false)
PE_EW_FLOAT_PREDICATE(Isinf, std::isinf(x), false)
PE_EW_FLOAT_PREDICATE(Isposinf, x == T(INFINITY), false)
PE_EW_FLOAT_PREDICATE(Isneginf, x == -T(INFINITY), false)
PE_EW_FLOAT_PREDICATE(Isfinite, std::isfinite(x), true)
#undef PE_EW_FLOAT_PREDICATE

// Float-only math: bool and int64 operands are computed as float32 (Domain::Float).
// (PE_EW_FLOAT_UNARY is the macro of the float functors above.)
PE_EW_FLOAT_UNARY(Log2, std::log2(x))
PE_EW_FLOAT_UNARY(Log10, std::log10(x))
PE_EW_FLOAT_UNARY(Exp2, std::exp2(x))
PE_EW_FLOAT_UNARY(Tan, std::tan(x))
PE_EW_FLOAT_UNARY(Asin, std::asin(x))
PE_EW_FLOAT_UNARY(Acos, std::acos(x))
PE_EW_FLOAT_UNARY(Atan, std::atan(x))
PE_EW_FLOAT_UNARY(Sinh, std::sinh(x))
PE_EW_FLOAT_UNARY(Cosh, std::cosh(x))
PE_EW_FLOAT_UNARY(Asinh, std::asinh(x))
PE_EW_FLOAT_UNARY(Acosh, std::acosh(x))
PE_EW_FLOAT_UNARY(Atanh, std::atanh(x))
// x - trunc(x): -0.5 for -2.5, NaN for +-inf (inf - inf), as PyTorch. Integer operands are a
// NotImplementedError in PyTorch; the Python layer raises it before a float32 kernel would run.
PE_EW_FLOAT_UNARY(Frac, x - std::trunc(x))
#undef PE_EW_FLOAT_UNARY

// Rounding toward zero is the identity on integers; bool is PyTorch's NotImplementedError.
struct Trunc {
  static constexpr Domain domain = Domain::NonBool;
  template <class T>
  PE_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_int_v<T>) return x;
    else return std::trunc(x);
  }
};

#define PE_EW_FLOAT_BINARY(Name, expr)                 \
  struct Name {                                        \
    static constexpr Domain domain = Domain::Float;    \
    template <class T>                                 \
    PE_HOST_DEVICE T operator()(T a, T b) const {      \
      return expr;                                     \
    }                                                  \
  };
PE_EW_FLOAT_BINARY(Copysign, std::copysign(a, b))
PE_EW_FLOAT_BINARY(Atan2, std::atan2(a, b))
PE_EW_FLOAT_BINARY(Hypot, std::hypot(a, b))
#undef PE_EW_FLOAT_BINARY

// log(e^a + e^b) without overflow: max + log1p(e^-|a-b|). Equal infinities are returned as
// they are (inf - inf would be NaN): logaddexp(inf, inf) = inf, (-inf, -inf) = -inf.
struct Logaddexp {
  static constexpr Domain domain = Domain::Float;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if (a == b && (a == T(INFINITY) || a == -T(INFINITY))) return a;
    const T m = a < b ? b : a;
    return m + std::log1p(std::exp(-std::fabs(a - b)));
  }
};

// a * log(b), with 0 where a == 0 (even for b == 0), NaN where b is NaN (PyTorch's xlogy).
struct Xlogy {
  static constexpr Domain domain = Domain::Float;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if (b != b) return b;
    if (a == T(0)) return T(0);
    return a * std::log(b);
  }
};

// C's remainder (the dividend's sign). Integer division by zero is the op layer's
// ZeroDivisionError before any kernel runs; b == -1 is 0 (INT64_MIN % -1 traps in hardware).
struct Fmod {
  static constexpr Domain domain = Domain::NonBool;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_int_v<T>) return (b == 0 || b == -1) ? T(0) : a % b;
    else return std::fmod(a, b);
  }
};

// Division rounded toward zero (div(rounding_mode='trunc')): integers stay integers, with the
// same zero-divisor check and INT64_MIN / -1 wrapping as floor_divide.
struct DivTrunc {
  static constexpr Domain domain = Domain::NonBool;
  template <class T>
  PE_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_int_v<T>) {
      if (b == 0) return 0;
      if (b == -1) return wrap_sub(0, a);
      return a / b;
    } else {
      return std::trunc(a / b);
    }
  }
};

// ---------------------------------------------------------------------------------------
// Run-time op -> functor. `f` is a generic callable taking the functor by value, e.g.
//   visit_unary(op, [&](auto fn) { run_loop<decltype(fn), T>(...); });
// ---------------------------------------------------------------------------------------
template <class F>
decltype(auto) visit_unary(UnaryOp op, F&& f) {
  switch (op) {
#define PE_EW_CASE(E, name) \
  case UnaryOp::E: return f(E{});
    PE_UNARY_OPS(PE_EW_CASE)
#undef PE_EW_CASE
    default: break;
  }
  return f(Neg{});  // unreachable for a valid op; the op layer checks the range
}

template <class F>
decltype(auto) visit_binary(BinaryOp op, F&& f) {
  switch (op) {
#define PE_EW_CASE(E, name) \
  case BinaryOp::E: return f(E{});
    PE_BINARY_OPS(PE_EW_CASE)
#undef PE_EW_CASE
    default: break;
  }
  return f(Add{});  // unreachable for a valid op; the op layer checks the range
}

inline const char* op_name(UnaryOp op) {
  switch (op) {
#define PE_EW_CASE(E, name) \
  case UnaryOp::E: return name;
    PE_UNARY_OPS(PE_EW_CASE)
#undef PE_EW_CASE
    default: return "?";
  }
}

inline const char* op_name(BinaryOp op) {
  switch (op) {
#define PE_EW_CASE(E, name) \
  case BinaryOp::E: return name;
    PE_BINARY_OPS(PE_EW_CASE)
#undef PE_EW_CASE
    default: return "?";
  }
}

inline Domain op_domain(UnaryOp op) {
  return visit_unary(op, [](auto fn) { return decltype(fn)::domain; });
}
inline Domain op_domain(BinaryOp op) {
  return visit_binary(op, [](auto fn) { return decltype(fn)::domain; });
}

// Whether the op's output is bool whatever the compute dtype (comparisons, logical ops).
inline bool returns_bool(UnaryOp op) {
  return visit_unary(op, [](auto fn) { return std::is_same_v<decltype(fn(1.0)), bool>; });
}
inline bool returns_bool(BinaryOp op) {
  return visit_binary(op, [](auto fn) { return std::is_same_v<decltype(fn(1.0, 1.0)), bool>; });
}

}  // namespace pe::ew
