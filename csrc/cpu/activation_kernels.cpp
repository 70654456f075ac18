// Activation loops (forward and fused backward): one instantiation per (functor, dtype), with a
// straight loop when every operand is contiguous and a byte-stride walk otherwise. The math is
// math/activation_math.h, shared with cuda/activation.cu. Compiled once per ISA.
#include <array>
#include <cmath>

#include "core/iter.h"
#include "cpu/fast_math.h"
#include "ops/activation.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

template <class T>
inline T load(const char* p) {
  return *reinterpret_cast<const T*>(p);
}

// A loop over `n` operands of args.shape given as (pointer, element strides), out first.
template <int N>
StridedLoop<N> make_args_loop(const ops::ActivationArgs& args, const std::array<const void*, N>& data,
                              const std::array<const Shape*, N>& strides) {
  const int64_t itemsize = args.dtype == DType::Float64 ? 8 : 4;
  std::array<char*, N> base;
  std::array<LoopDims, N> bytes;
  for (int k = 0; k < N; ++k) {
    base[k] = static_cast<char*>(const_cast<void*>(data[k]));
    for (int64_t s : *strides[k]) bytes[k].push_back(s * itemsize);
  }
  return StridedLoop<N>(args.shape, base, bytes);
}

// 1/k! for k = 1..17 and 1/(2k+1) for k = 0..16: Taylor coefficients of expm1(x)/x and of
// atanh(s)/s in s^2, enough for float64 on the ranges used below (float32 takes the first terms).
constexpr double kInvFactorial[] = {1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                                    1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600,
                                    1.0 / 6227020800.0, 1.0 / 87178291200.0, 1.0 / 1307674368000.0,
                                    1.0 / 20922789888000.0, 1.0 / 355687428096000.0};
constexpr double kInvOdd[] = {1.0, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17,
                              1.0 / 19, 1.0 / 21, 1.0 / 23, 1.0 / 25, 1.0 / 27, 1.0 / 29, 1.0 / 31, 1.0 / 33};

template <class T, size_t N, size_t M>
constexpr std::array<T, N> first(const double (&c)[M]) {
  std::array<T, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = static_cast<T>(c[i]);
  return out;
}

// The functors' math policy on the CPU: plain arithmetic the compiler vectorises, where libm would
// make the loop one scalar call per element. exp/tanh from fast_math.h; expm1 and log1p as series
// on the ranges where exp(x) - 1 and log(1 + z) would lose digits, accurate to about 1 ulp.
struct CpuMath {
  template <class T>
  static T exp(T x) { return fast_exp(x); }
  template <class T>
  static T tanh(T x) { return fast_tanh(x); }

  // |x| <= 1/2: x (1 + x/2! + x^2/3! + ...); beyond, |expm1(x)| > 0.39, so exp(x) - 1 is fine.
  template <class T>
  static T expm1(T x) {
    static constexpr auto c = first<T, sizeof(T) == 4 ? 10 : 17>(kInvFactorial);
    T p = c[c.size() - 1];
    for (size_t k = c.size() - 1; k-- > 0;) p = p * x + c[k];
    const T small = x * p;
    const T big = fast_exp(x) - T(1);
    return std::fabs(x) <= T(0.5) ? small : big;
  }

  // z in [0, 1]: log(1 + z) = 2 atanh(s), s = z / (2 + z) <= 1/3, by its series in s^2 <= 1/9.
  template <class T>
  static T log1p_unit(T z) {
    static constexpr auto c = first<T, sizeof(T) == 4 ? 9 : 17>(kInvOdd);
    const T s = z / (T(2) + z);
    const T s2 = s * s;
    T p = c[c.size() - 1];
    for (size_t k = c.size() - 1; k-- > 0;) p = p * s2 + c[k];
    return T(2) * s * p;
  }
};

constexpr int64_t kCost = 8;  // transcendental-heavy: a threading hint, as the elementwise loops

// flatten: every call inside (fast_exp and the functors) is inlined, so the contiguous loops
// vectorise; with eleven ops in one file, GCC's inliner otherwise leaves fast_exp a scalar call.
#if defined(__GNUC__)
#define PE_ACT_FLATTEN __attribute__((flatten))
#else
#define PE_ACT_FLATTEN
#endif

template <class Op, class T>
PE_ACT_FLATTEN void forward_chunk(char* const* p, const int64_t* s, int64_t n, T a, T b) {
  const Op op{};
  if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
    T* o = reinterpret_cast<T*>(p[0]);
    const T* x = reinterpret_cast<const T*>(p[1]);
    for (int64_t i = 0; i < n; ++i) o[i] = op.template forward<T, CpuMath>(x[i], a, b);
    return;
  }
  char* o = p[0];
  const char* x = p[1];
  for (int64_t i = 0; i < n; ++i, o += s[0], x += s[1])
    *reinterpret_cast<T*>(o) = op.template forward<T, CpuMath>(load<T>(x), a, b);
}

template <class Op, class T>
PE_ACT_FLATTEN void backward_chunk(char* const* p, const int64_t* s, int64_t n, T a, T b) {
  const Op op{};
  if (s[0] == sizeof(T) && s[1] == sizeof(T) && s[2] == sizeof(T)) {
    T* o = reinterpret_cast<T*>(p[0]);
    const T* g = reinterpret_cast<const T*>(p[1]);
    const T* x = reinterpret_cast<const T*>(p[2]);
    for (int64_t i = 0; i < n; ++i) o[i] = op.template backward<T, CpuMath>(g[i], x[i], a, b);
    return;
  }
  char* o = p[0];
  const char* g = p[1];
  const char* x = p[2];
  for (int64_t i = 0; i < n; ++i, o += s[0], g += s[1], x += s[2])
    *reinterpret_cast<T*>(o) = op.template backward<T, CpuMath>(load<T>(g), load<T>(x), a, b);
}

template <class Op, class T>
void forward_loop(const ops::ActivationArgs& args) {
  const T a = static_cast<T>(args.a), b = static_cast<T>(args.b);
  auto loop = make_args_loop<2>(args, {args.out, args.x.data}, {&args.out_strides, &args.x.strides});
  loop.run([a, b](char* const* p, const int64_t* s, int64_t n) { forward_chunk<Op, T>(p, s, n, a, b); }, kCost);
}

template <class Op, class T>
void backward_loop(const ops::ActivationArgs& args) {
  const T a = static_cast<T>(args.a), b = static_cast<T>(args.b);
  auto loop = make_args_loop<3>(args, {args.out, args.grad.data, args.x.data},
                                {&args.out_strides, &args.grad.strides, &args.x.strides});
  loop.run([a, b](char* const* p, const int64_t* s, int64_t n) { backward_chunk<Op, T>(p, s, n, a, b); }, kCost);
}

void activation_forward(const ops::ActivationArgs& args) {
  PE_DISPATCH_FLOATING(args.dtype, act::op_name(args.op), [&] {
    act::visit(args.op, [&](auto fn) { forward_loop<decltype(fn), scalar_t>(args); });
  });
}

void activation_backward(const ops::ActivationArgs& args) {
  PE_DISPATCH_FLOATING(args.dtype, act::op_name(args.op), [&] {
    act::visit(args.op, [&](auto fn) { backward_loop<decltype(fn), scalar_t>(args); });
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::activation_forward_kernel, activation_forward);
PE_REGISTER_CPU_KERNEL(ops::activation_backward_kernel, activation_backward);

}  // namespace pe::cpu::PE_ISA_NS
