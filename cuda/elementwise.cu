// Elementwise unary and binary ops, and where, on strided, broadcast operands. The per-element math is
// the functors of math/elementwise_math.h, shared with the CPU kernels; this file only walks
// the elements: one grid-stride loop, one offset computation per element.
#include <stdexcept>
#include <string>

#include "cuda/cuda_emu.h"
#include "cuda/launchers.h"
#include "cuda/strided.h"
#include "math/elementwise_math.h"

namespace pe::cuda {
namespace {

template <class F, class T, class R>
__global__ void unary_kernel(R* out, const T* in, Strided<2> g, F f) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[2];
    g.offsets(i, off);
    out[off[0]] = f(in[off[1]]);
  }
}

template <class F, class T, class R>
__global__ void binary_kernel(R* out, const T* a, const T* b, Strided<3> g, F f) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[3];
    g.offsets(i, off);
    out[off[0]] = f(a[off[1]], b[off[2]]);
  }
}

template <class T>
__global__ void where_kernel(T* out, const bool* cond, const T* a, const T* b, Strided<4> g) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[4];
    g.offsets(i, off);
    out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]];
  }
}

// The functor's result type for compute type T must be the output's dtype (the op layer
// allocates it so); anything else is a caller bug reported by name.
template <class R>
void check_out(const char* name, const Operand& out) {
  if (out.dtype != dtype_of<R>::value)
    throw std::runtime_error(std::string("CUDA ") + name + ": output dtype " + dtype_name(out.dtype) +
                             ", expected " + dtype_name(dtype_of<R>::value));
}

[[noreturn]] void no_kernel(const char* name, DType dt) {
  throw std::runtime_error(std::string("CUDA ") + name + ": no kernel for compute dtype " + dtype_name(dt));
}

}  // namespace

void unary(ew::UnaryOp op, const Dims& shape, const Operand& out, const Operand& in) {
  const char* name = ew::op_name(op);
  Strided<2> g = make_strided<2>(shape, {&out.strides, &in.strides});
  ew::visit_unary(op, [&](auto fn) {
    using F = decltype(fn);
    PE_DISPATCH_ALL(in.dtype, name, [&] {
      using T = scalar_t;
      if constexpr (ew::takes_dtype<F, T>()) {
        using R = decltype(fn(T{}));
        check_out<R>(name, out);
        if (g.numel == 0) return;
        auto* kernel = &unary_kernel<F, T, R>;
        PE_LAUNCH(kernel, blocks_for(g.numel), kThreads, 0, static_cast<R*>(out.data), static_cast<const T*>(in.data),
                  g, fn);
      } else {
        no_kernel(name, in.dtype);
      }
    });
  });
}

void binary(ew::BinaryOp op, const Dims& shape, const Operand& out, const Operand& a, const Operand& b) {
  const char* name = ew::op_name(op);
  if (a.dtype != b.dtype)
    throw std::runtime_error(std::string("CUDA ") + name + ": operands must share the compute dtype, got " +
                             dtype_name(a.dtype) + " and " + dtype_name(b.dtype));
  Strided<3> g = make_strided<3>(shape, {&out.strides, &a.strides, &b.strides});
  ew::visit_binary(op, [&](auto fn) {
    using F = decltype(fn);
    PE_DISPATCH_ALL(a.dtype, name, [&] {
      using T = scalar_t;
      if constexpr (ew::takes_dtype<F, T>()) {
        using R = decltype(fn(T{}, T{}));
        check_out<R>(name, out);
        if (g.numel == 0) return;
        auto* kernel = &binary_kernel<F, T, R>;
        PE_LAUNCH(kernel, blocks_for(g.numel), kThreads, 0, static_cast<R*>(out.data), static_cast<const T*>(a.data),
                  static_cast<const T*>(b.data), g, fn);
      } else {
        no_kernel(name, a.dtype);
      }
    });
  });
}

void where(const Dims& shape, const Operand& out, const Operand& cond, const Operand& a, const Operand& b) {
  if (cond.dtype != DType::Bool || a.dtype != out.dtype || b.dtype != out.dtype)
    throw std::runtime_error(std::string("CUDA where: expected a bool condition and values of the output's dtype ") +
                             dtype_name(out.dtype) + ", got " + dtype_name(cond.dtype) + ", " + dtype_name(a.dtype) +
                             " and " + dtype_name(b.dtype));
  Strided<4> g = make_strided<4>(shape, {&out.strides, &cond.strides, &a.strides, &b.strides});
  if (g.numel == 0) return;
  PE_DISPATCH_ALL(out.dtype, "CUDA where", [&] {
    using T = scalar_t;
    auto* kernel = &where_kernel<T>;
    PE_LAUNCH(kernel, blocks_for(g.numel), kThreads, 0, static_cast<T*>(out.data), static_cast<const bool*>(cond.data),
              static_cast<const T*>(a.data), static_cast<const T*>(b.data), g);
  });
}

}  // namespace pe::cuda
