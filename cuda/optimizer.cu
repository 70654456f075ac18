// Fused optimizer steps on the GPU: one grid-stride kernel per update, each thread updating
// its elements of the parameter and its state buffers in place. The per-element math is the
// functors of math/optimizer_math.h, shared with the CPU loops (csrc/cpu/optimizer_kernels.cpp);
// the option flags become template arguments there and here alike, so the kernels are
// branch-free. Elements are independent: every access is coalesced and no thread waits on another.
#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "math/optimizer_math.h"
#include "ops/optimizer.h"

namespace pe::cuda {
namespace {

using namespace pe::optim;

// Coefficients travel by value as kernel parameters (trivially copyable structs).
template <class T, bool DECAY, int MOMENTUM, bool NESTEROV>
__global__ void sgd_kernel(int64_t n, T* p, const T* g, T* buf, SgdCoeffs<T> c) {
  T dummy{};
  PE_GRID_STRIDE_LOOP(i, n) {
    sgd_update<T, DECAY, MOMENTUM, NESTEROV>(p[i], g[i], element<MOMENTUM != 0>(buf, i, dummy), c);
  }
}

template <class T, Decay DECAY, bool AMSGRAD>
__global__ void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, T* vmax, AdamCoeffs<T> c) {
  T dummy{};
  PE_GRID_STRIDE_LOOP(i, n) { adam_update<T, DECAY, AMSGRAD>(p[i], g[i], m[i], v[i], element<AMSGRAD>(vmax, i, dummy), c); }
}

template <class T, bool DECAY, bool CENTERED, bool MOMENTUM>
__global__ void rmsprop_kernel(int64_t n, T* p, const T* g, T* sq, T* gavg, T* buf, RmspropCoeffs<T> c) {
  T dummy{};
  PE_GRID_STRIDE_LOOP(i, n) {
    rmsprop_update<T, DECAY, CENTERED, MOMENTUM>(p[i], g[i], sq[i], element<CENTERED>(gavg, i, dummy),
                                                 element<MOMENTUM>(buf, i, dummy), c);
  }
}

template <class T, bool DECAY>
__global__ void adagrad_kernel(int64_t n, T* p, const T* g, T* sum, AdagradCoeffs<T> c) {
  PE_GRID_STRIDE_LOOP(i, n) { adagrad_update<T, DECAY>(p[i], g[i], sum[i], c); }
}

template <class T, bool DECAY>
__global__ void adadelta_kernel(int64_t n, T* p, const T* g, T* sq, T* acc, AdadeltaCoeffs<T> c) {
  PE_GRID_STRIDE_LOOP(i, n) { adadelta_update<T, DECAY>(p[i], g[i], sq[i], acc[i], c); }
}

template <class T, Decay DECAY>
__global__ void nadam_kernel(int64_t n, T* p, const T* g, T* m, T* v, NadamCoeffs<T> c) {
  PE_GRID_STRIDE_LOOP(i, n) { nadam_update<T, DECAY>(p[i], g[i], m[i], v[i], c); }
}

template <class T, Decay DECAY, bool RECTIFY>
__global__ void radam_kernel(int64_t n, T* p, const T* g, T* m, T* v, RadamCoeffs<T> c) {
  PE_GRID_STRIDE_LOOP(i, n) { radam_update<T, DECAY, RECTIFY>(p[i], g[i], m[i], v[i], c); }
}

template <class T, bool DECAY>
__global__ void adamax_kernel(int64_t n, T* p, const T* g, T* m, T* u, AdamaxCoeffs<T> c) {
  PE_GRID_STRIDE_LOOP(i, n) { adamax_update<T, DECAY>(p[i], g[i], m[i], u[i], c); }
}

// One thread per element; each checks its own row's gradient for presence (rows are short:
// embedding widths), so no thread waits on another.
template <class T>
__global__ void sparse_adam_kernel(int64_t n, int64_t cols, T* p, const T* g, T* m, T* v, SparseAdamCoeffs<T> c) {
  PE_GRID_STRIDE_LOOP(i, n) {
    if (row_present(g + (i / cols) * cols, cols)) sparse_adam_update(p[i], g[i], m[i], v[i], c);
  }
}

template <class T>
T* as(void* p) {
  return static_cast<T*>(p);
}

// The launchers: the dtype picks T, the options pick the kernel, one launch.
void sgd(const ops::SgdArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "sgd_step_", [&] {
    using T = scalar_t;
    const SgdCoeffs<T> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      with_flag(a.o.nesterov, [&](auto nesterov) {
        with_sgd_momentum(a.o, [&](auto mode) {
          auto* k = &sgd_kernel<T, decltype(decay)::value, decltype(mode)::value, decltype(nesterov)::value>;
          PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                    as<T>(a.momentum_buf), c);
        });
      });
    });
  });
}

void adam(const ops::AdamArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "adam_step_", [&] {
    using T = scalar_t;
    const AdamCoeffs<T> c(a.o);
    with_decay(adam_decay(a.o), [&](auto decay) {
      with_flag(a.o.amsgrad, [&](auto amsgrad) {
        auto* k = &adam_kernel<T, decltype(decay)::value, decltype(amsgrad)::value>;
        PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                  as<T>(a.exp_avg), as<T>(a.exp_avg_sq), as<T>(a.max_exp_avg_sq), c);
      });
    });
  });
}

void rmsprop(const ops::RmspropArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "rmsprop_step_", [&] {
    using T = scalar_t;
    const RmspropCoeffs<T> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      with_flag(a.o.centered, [&](auto centered) {
        with_flag(a.o.momentum > 0, [&](auto momentum) {
          auto* k = &rmsprop_kernel<T, decltype(decay)::value, decltype(centered)::value, decltype(momentum)::value>;
          PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                    as<T>(a.square_avg), as<T>(a.grad_avg), as<T>(a.momentum_buf), c);
        });
      });
    });
  });
}

void adagrad(const ops::AdagradArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "adagrad_step_", [&] {
    using T = scalar_t;
    const AdagradCoeffs<T> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      auto* k = &adagrad_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad), as<T>(a.sum), c);
    });
  });
}

void adadelta(const ops::AdadeltaArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "adadelta_step_", [&] {
    using T = scalar_t;
    const AdadeltaCoeffs<T> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      auto* k = &adadelta_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                as<T>(a.square_avg), as<T>(a.acc_delta), c);
    });
  });
}

void nadam(const ops::NadamArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "nadam_step_", [&] {
    using T = scalar_t;
    const NadamCoeffs<T> c(a.o);
    with_decay(adam_decay(a.o), [&](auto decay) {
      auto* k = &nadam_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad), as<T>(a.state1),
                as<T>(a.state2), c);
    });
  });
}

void radam(const ops::RadamArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "radam_step_", [&] {
    using T = scalar_t;
    const RadamCoeffs<T> c(a.o);
    with_decay(adam_decay(a.o), [&](auto decay) {
      with_flag(c.rectify, [&](auto rectify) {
        auto* k = &radam_kernel<T, decltype(decay)::value, decltype(rectify)::value>;
        PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                  as<T>(a.state1), as<T>(a.state2), c);
      });
    });
  });
}

void adamax(const ops::AdamaxArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "adamax_step_", [&] {
    using T = scalar_t;
    const AdamaxCoeffs<T> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      auto* k = &adamax_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                as<T>(a.state1), as<T>(a.state2), c);
    });
  });
}

void sparse_adam(const ops::SparseAdamArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "sparse_adam_step_", [&] {
    using T = scalar_t;
    const SparseAdamCoeffs<T> c(a.o);
    auto* k = &sparse_adam_kernel<T>;
    PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, a.cols, as<T>(a.param), static_cast<const T*>(a.grad),
              as<T>(a.state1), as<T>(a.state2), c);
  });
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::sgd_step_kernel, sgd);
PE_REGISTER_CUDA_KERNEL(ops::adam_step_kernel, adam);
PE_REGISTER_CUDA_KERNEL(ops::rmsprop_step_kernel, rmsprop);
PE_REGISTER_CUDA_KERNEL(ops::adagrad_step_kernel, adagrad);
PE_REGISTER_CUDA_KERNEL(ops::adadelta_step_kernel, adadelta);
PE_REGISTER_CUDA_KERNEL(ops::nadam_step_kernel, nadam);
PE_REGISTER_CUDA_KERNEL(ops::radam_step_kernel, radam);
PE_REGISTER_CUDA_KERNEL(ops::adamax_step_kernel, adamax);
PE_REGISTER_CUDA_KERNEL(ops::sparse_adam_step_kernel, sparse_adam);

}  // namespace pe::cuda
