// Elementwise loops: one instantiation per (functor, dtype), so the inner loops carry no
// switch on the op and the compiler can vectorise them. Compiled once per ISA.
//
// Every loop body first tries the layouts that are common in practice and that the compiler
// turns into straight vector code: all operands contiguous, and a contiguous operand with a
// broadcast scalar (byte stride 0, e.g. `x * 0.5`). Anything else walks byte strides.
#include "core/iter.h"
#include "ops/elementwise.h"
#include "cpu/fast_math.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

template <class T>
inline T load(const char* p) {
  return *reinterpret_cast<const T*>(p);
}

// Threading hint: transcendental functions cost several times a load/store.
template <class Op>
constexpr int64_t cost_of() {
  return Op::domain == ew::Domain::Float ? 8 : 1;
}

// The CPU's own version of a shared functor where libm would keep the loop scalar: exp,
// sigmoid and tanh through fast_math.h (CUDA keeps the shared functors).
template <class Op>
struct CpuFunctor {
  using type = Op;
};
#define PE_CPU_FUNCTOR(Shared, fn)                 \
  struct Cpu##Shared {                             \
    template <class T>                             \
    T operator()(T x) const { return fn(x); }      \
  };                                               \
  template <>                                      \
  struct CpuFunctor<ew::Shared> {                  \
    using type = Cpu##Shared;                      \
  };
PE_CPU_FUNCTOR(Exp, fast_exp)
PE_CPU_FUNCTOR(Sigmoid, fast_sigmoid)
PE_CPU_FUNCTOR(Tanh, fast_tanh)
#undef PE_CPU_FUNCTOR

template <class Op, class T>
void unary_loop(const Tensor& out, const Tensor& in) {
  using R = decltype(Op{}(T{}));
  auto loop = make_loop<2>(out.shape(), {&out, &in});
  loop.run(
      [](char* const* p, const int64_t* s, int64_t n) {
        const typename CpuFunctor<Op>::type op{};
        if (s[0] == sizeof(R) && s[1] == sizeof(T)) {
          R* o = reinterpret_cast<R*>(p[0]);
          const T* x = reinterpret_cast<const T*>(p[1]);
          for (int64_t i = 0; i < n; ++i) o[i] = op(x[i]);
          return;
        }
        char* o = p[0];
        const char* x = p[1];
        for (int64_t i = 0; i < n; ++i, o += s[0], x += s[1]) *reinterpret_cast<R*>(o) = op(load<T>(x));
      },
      cost_of<Op>());
}

template <class Op, class T>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b) {
  using R = decltype(Op{}(T{}, T{}));
  auto loop = make_loop<3>(out.shape(), {&out, &a, &b});
  loop.run(
      [](char* const* p, const int64_t* s, int64_t n) {
        const Op op{};
        if (s[0] == sizeof(R)) {
          R* o = reinterpret_cast<R*>(p[0]);
          const T* x = reinterpret_cast<const T*>(p[1]);
          const T* y = reinterpret_cast<const T*>(p[2]);
          if (s[1] == sizeof(T) && s[2] == sizeof(T)) {
            for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i]);
            return;
          }
          if (s[1] == sizeof(T) && s[2] == 0) {
            const T yv = *y;
            for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], yv);
            return;
          }
          if (s[1] == 0 && s[2] == sizeof(T)) {
            const T xv = *x;
            for (int64_t i = 0; i < n; ++i) o[i] = op(xv, y[i]);
            return;
          }
        }
        char* o = p[0];
        const char* x = p[1];
        const char* y = p[2];
        for (int64_t i = 0; i < n; ++i, o += s[0], x += s[1], y += s[2])
          *reinterpret_cast<R*>(o) = op(load<T>(x), load<T>(y));
      },
      cost_of<Op>());
}

template <class T>
void where_loop(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  auto loop = make_loop<4>(out.shape(), {&out, &cond, &a, &b});
  loop.run([](char* const* p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(bool) && s[2] == sizeof(T) && s[3] == sizeof(T)) {
      T* o = reinterpret_cast<T*>(p[0]);
      const bool* c = reinterpret_cast<const bool*>(p[1]);
      const T* x = reinterpret_cast<const T*>(p[2]);
      const T* y = reinterpret_cast<const T*>(p[3]);
      for (int64_t i = 0; i < n; ++i) o[i] = c[i] ? x[i] : y[i];
      return;
    }
    char* o = p[0];
    const char* c = p[1];
    const char* x = p[2];
    const char* y = p[3];
    for (int64_t i = 0; i < n; ++i, o += s[0], c += s[1], x += s[2], y += s[3])
      *reinterpret_cast<T*>(o) = load<bool>(c) ? load<T>(x) : load<T>(y);
  });
}

}  // namespace

void elementwise_unary(ew::UnaryOp op, const Tensor& out, const Tensor& in) {
  PE_DISPATCH_ALL(in.dtype(), ew::op_name(op), [&] {
    ew::visit_unary(op, [&](auto fn) {
      using Op = decltype(fn);
      if constexpr (ew::takes_dtype<Op, scalar_t>()) {
        unary_loop<Op, scalar_t>(out, in);
      } else {  // the op layer promotes or rejects such dtypes before we get here
        throw TypeError(str(ew::op_name(op), ": no kernel for dtype ", dtype_name(in.dtype())));
      }
    });
  });
}

void elementwise_binary(ew::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  PE_DISPATCH_ALL(a.dtype(), ew::op_name(op), [&] {
    ew::visit_binary(op, [&](auto fn) {
      using Op = decltype(fn);
      if constexpr (ew::takes_dtype<Op, scalar_t>()) {
        binary_loop<Op, scalar_t>(out, a, b);
      } else {
        throw TypeError(str(ew::op_name(op), ": no kernel for dtype ", dtype_name(a.dtype())));
      }
    });
  });
}

void elementwise_where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  PE_DISPATCH_ALL(out.dtype(), "where", [&] { where_loop<scalar_t>(out, cond, a, b); });
}

PE_REGISTER_CPU_KERNEL(ops::unary_kernel, elementwise_unary);
PE_REGISTER_CPU_KERNEL(ops::binary_kernel, elementwise_binary);
PE_REGISTER_CPU_KERNEL(ops::where_kernel, elementwise_where);

}  // namespace pe::cpu::PE_ISA_NS
