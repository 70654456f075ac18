// The parametrised activations on the GPU, forward and fused backward (the contract is in
// ops/activation.h): one grid-stride loop over the elements, the per-element math being the
// functors of math/activation_math.h, shared with the CPU kernels.
#include <cstdint>

#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "ops/activation.h"

namespace pe::cuda {
namespace {

using ops::ActivationArgs;

template <class F, class T>
__global__ void forward_kernel(T* out, const T* x, Strided<2> g, T a, T b, F f) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[2];
    g.offsets(i, off);
    out[off[0]] = f.forward(x[off[1]], a, b);
  }
}

template <class F, class T>
__global__ void backward_kernel(T* out, const T* grad, const T* x, Strided<3> g, T a, T b, F f) {
  PE_GRID_STRIDE_LOOP(i, g.numel) {
    int64_t off[3];
    g.offsets(i, off);
    out[off[0]] = f.backward(grad[off[1]], x[off[2]], a, b);
  }
}

template <class T>
void forward_t(const ActivationArgs& args) {
  const Strided<2> g = make_strided<2>(args.shape, {&args.out_strides, &args.x.strides});
  act::visit(args.op, [&](auto fn) {
    auto* k = &forward_kernel<decltype(fn), T>;
    PE_LAUNCH(k, blocks_for(g.numel), kThreads, 0, static_cast<T*>(args.out), static_cast<const T*>(args.x.data), g,
              static_cast<T>(args.a), static_cast<T>(args.b), fn);
  });
}

template <class T>
void backward_t(const ActivationArgs& args) {
  const Strided<3> g = make_strided<3>(args.shape, {&args.out_strides, &args.grad.strides, &args.x.strides});
  act::visit(args.op, [&](auto fn) {
    auto* k = &backward_kernel<decltype(fn), T>;
    PE_LAUNCH(k, blocks_for(g.numel), kThreads, 0, static_cast<T*>(args.out), static_cast<const T*>(args.grad.data),
              static_cast<const T*>(args.x.data), g, static_cast<T>(args.a), static_cast<T>(args.b), fn);
  });
}

void activation_forward(const ActivationArgs& args) {
  if (args.dtype == DType::Float64) return forward_t<double>(args);
  forward_t<float>(args);
}

void activation_backward(const ActivationArgs& args) {
  if (args.dtype == DType::Float64) return backward_t<double>(args);
  backward_t<float>(args);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::activation_forward_kernel, activation_forward);
PE_REGISTER_CUDA_KERNEL(ops::activation_backward_kernel, activation_backward);

}  // namespace pe::cuda
