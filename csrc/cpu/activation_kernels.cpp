// Activation loops (forward and fused backward): one instantiation per (functor, dtype), with a
// straight loop when every operand is contiguous and a byte-stride walk otherwise. The math is
// math/activation_math.h, shared with cuda/activation.cu. Compiled once per ISA.
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

// The functors' math policy on the CPU: exp and tanh in plain arithmetic the compiler vectorises.
struct CpuMath {
  template <class T>
  static T exp(T x) { return fast_exp(x); }
  template <class T>
  static T tanh(T x) { return fast_tanh(x); }
};

constexpr int64_t kCost = 8;  // transcendental-heavy: a threading hint, as the elementwise loops

template <class Op, class T>
void forward_loop(const ops::ActivationArgs& args) {
  const T a = static_cast<T>(args.a), b = static_cast<T>(args.b);
  auto loop = make_args_loop<2>(args, {args.out, args.x.data}, {&args.out_strides, &args.x.strides});
  loop.run(
      [a, b](char* const* p, const int64_t* s, int64_t n) {
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
      },
      kCost);
}

template <class Op, class T>
void backward_loop(const ops::ActivationArgs& args) {
  const T a = static_cast<T>(args.a), b = static_cast<T>(args.b);
  auto loop = make_args_loop<3>(args, {args.out, args.grad.data, args.x.data},
                                {&args.out_strides, &args.grad.strides, &args.x.strides});
  loop.run(
      [a, b](char* const* p, const int64_t* s, int64_t n) {
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
      },
      kCost);
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
