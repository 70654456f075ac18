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

// Coefficients travel by value as kernel parameters (trivially copyable structs). T is the
// storage type, C = step_compute_t<T> the arithmetic type: each element is loaded, updated and
// stored back (a no-op conversion for float32/float64, one rounding for float16/bfloat16).
template <class T, bool DECAY, int MOMENTUM, bool NESTEROV>
__global__ void sgd_kernel(int64_t n, T* p, const T* g, T* buf, SgdCoeffs<step_compute_t<T>> c) {
  constexpr bool M = MOMENTUM != 0;
  PE_GRID_STRIDE_LOOP(i, n) {
    auto pi = load(p, i), bi = load<M>(buf, i);
    sgd_update<step_compute_t<T>, DECAY, MOMENTUM, NESTEROV>(pi, load(g, i), bi, c);
    store(p, i, pi), store<M>(buf, i, bi);
  }
}

template <class T, Decay DECAY, bool AMSGRAD>
__global__ void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, T* vmax, AdamCoeffs<step_compute_t<T>> c) {
  PE_GRID_STRIDE_LOOP(i, n) {
    auto pi = load(p, i), mi = load(m, i), vi = load(v, i), xi = load<AMSGRAD>(vmax, i);
    adam_update<step_compute_t<T>, DECAY, AMSGRAD>(pi, load(g, i), mi, vi, xi, c);
    store(p, i, pi), store(m, i, mi), store(v, i, vi), store<AMSGRAD>(vmax, i, xi);
  }
}

template <class T, bool DECAY, bool CENTERED, bool MOMENTUM>
__global__ void rmsprop_kernel(int64_t n, T* p, const T* g, T* sq, T* gavg, T* buf,
                               RmspropCoeffs<step_compute_t<T>> c) {
  PE_GRID_STRIDE_LOOP(i, n) {
    auto pi = load(p, i), si = load(sq, i), ai = load<CENTERED>(gavg, i), bi = load<MOMENTUM>(buf, i);
    rmsprop_update<step_compute_t<T>, DECAY, CENTERED, MOMENTUM>(pi, load(g, i), si, ai, bi, c);
    store(p, i, pi), store(sq, i, si), store<CENTERED>(gavg, i, ai), store<MOMENTUM>(buf, i, bi);
  }
}

template <class T, bool DECAY>
__global__ void adagrad_kernel(int64_t n, T* p, const T* g, T* sum, AdagradCoeffs<step_compute_t<T>> c) {
  PE_GRID_STRIDE_LOOP(i, n) {
    auto pi = load(p, i), si = load(sum, i);
    adagrad_update<step_compute_t<T>, DECAY>(pi, load(g, i), si, c);
    store(p, i, pi), store(sum, i, si);
  }
}

template <class T, bool DECAY>
__global__ void adadelta_kernel(int64_t n, T* p, const T* g, T* sq, T* acc, AdadeltaCoeffs<step_compute_t<T>> c) {
  PE_GRID_STRIDE_LOOP(i, n) {
    auto pi = load(p, i), si = load(sq, i), ai = load(acc, i);
    adadelta_update<step_compute_t<T>, DECAY>(pi, load(g, i), si, ai, c);
    store(p, i, pi), store(sq, i, si), store(acc, i, ai);
  }
}

// Element i of the Adam-like updates with two state buffers (NAdam, RAdam, Adamax, SparseAdam).
template <class T, class Update>
__device__ inline void two_state_element(int64_t i, T* p, const T* g, T* s1, T* s2, const Update& update) {
  auto pi = load(p, i), ai = load(s1, i), bi = load(s2, i);
  update(pi, load(g, i), ai, bi);
  store(p, i, pi), store(s1, i, ai), store(s2, i, bi);
}

template <class T, Decay DECAY>
__global__ void nadam_kernel(int64_t n, T* p, const T* g, T* m, T* v, NadamCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  PE_GRID_STRIDE_LOOP(i, n) {
    two_state_element(i, p, g, m, v, [&](C& pi, C gi, C& mi, C& vi) { nadam_update<C, DECAY>(pi, gi, mi, vi, c); });
  }
}

template <class T, Decay DECAY, bool RECTIFY>
__global__ void radam_kernel(int64_t n, T* p, const T* g, T* m, T* v, RadamCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  PE_GRID_STRIDE_LOOP(i, n) {
    two_state_element(i, p, g, m, v,
                      [&](C& pi, C gi, C& mi, C& vi) { radam_update<C, DECAY, RECTIFY>(pi, gi, mi, vi, c); });
  }
}

template <class T, bool DECAY>
__global__ void adamax_kernel(int64_t n, T* p, const T* g, T* m, T* u, AdamaxCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  PE_GRID_STRIDE_LOOP(i, n) {
    two_state_element(i, p, g, m, u, [&](C& pi, C gi, C& mi, C& ui) { adamax_update<C, DECAY>(pi, gi, mi, ui, c); });
  }
}

// One thread per element; each checks its own row's gradient for presence (rows are short:
// embedding widths), so no thread waits on another.
template <class T>
__global__ void sparse_adam_kernel(int64_t n, int64_t cols, T* p, const T* g, T* m, T* v,
                                   SparseAdamCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  PE_GRID_STRIDE_LOOP(i, n) {
    if (row_present(g + (i / cols) * cols, cols))
      two_state_element(i, p, g, m, v, [&](C& pi, C gi, C& mi, C& vi) { sparse_adam_update(pi, gi, mi, vi, c); });
  }
}

template <class T>
T* as(void* p) {
  return static_cast<T*>(p);
}

// The launchers: the dtype picks T, the options pick the kernel, one launch.
void sgd(const ops::SgdArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "sgd_step_", [&] {
    using T = scalar_t;
    const SgdCoeffs<step_compute_t<T>> c(a.o);
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
  PE_DISPATCH_OPTIM(a.dtype, "adam_step_", [&] {
    using T = scalar_t;
    const AdamCoeffs<step_compute_t<T>> c(a.o);
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
  PE_DISPATCH_OPTIM(a.dtype, "rmsprop_step_", [&] {
    using T = scalar_t;
    const RmspropCoeffs<step_compute_t<T>> c(a.o);
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
  PE_DISPATCH_OPTIM(a.dtype, "adagrad_step_", [&] {
    using T = scalar_t;
    const AdagradCoeffs<step_compute_t<T>> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      auto* k = &adagrad_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad), as<T>(a.sum), c);
    });
  });
}

void adadelta(const ops::AdadeltaArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "adadelta_step_", [&] {
    using T = scalar_t;
    const AdadeltaCoeffs<step_compute_t<T>> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      auto* k = &adadelta_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                as<T>(a.square_avg), as<T>(a.acc_delta), c);
    });
  });
}

void nadam(const ops::NadamArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "nadam_step_", [&] {
    using T = scalar_t;
    const NadamCoeffs<step_compute_t<T>> c(a.o);
    with_decay(adam_decay(a.o), [&](auto decay) {
      auto* k = &nadam_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad), as<T>(a.state1),
                as<T>(a.state2), c);
    });
  });
}

void radam(const ops::RadamArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "radam_step_", [&] {
    using T = scalar_t;
    const RadamCoeffs<step_compute_t<T>> c(a.o);
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
  PE_DISPATCH_OPTIM(a.dtype, "adamax_step_", [&] {
    using T = scalar_t;
    const AdamaxCoeffs<step_compute_t<T>> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      auto* k = &adamax_kernel<T, decltype(decay)::value>;
      PE_LAUNCH(k, blocks_for(a.n), kThreads, 0, a.n, as<T>(a.param), static_cast<const T*>(a.grad),
                as<T>(a.state1), as<T>(a.state2), c);
    });
  });
}

void sparse_adam(const ops::SparseAdamArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "sparse_adam_step_", [&] {
    using T = scalar_t;
    const SparseAdamCoeffs<step_compute_t<T>> c(a.o);
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
