// Fused optimizer updates, compiled once per ISA and registered in the ops/optimizer.h slots.
// The per-element math is in math/optimizer_math.h; here it only gets a loop: the option flags
// become template arguments (so the inner loop has no branches and vectorises), the pointers
// are declared restrict (the op layer guarantees the buffers are distinct), and big tensors
// are split across threads. Every element is independent, so results never depend on the
// thread count.
#include <type_traits>

#include "core/parallel.h"
#include "ops/optimizer.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using namespace pe::optim;

// Work per element, in parallel_for's cost units (a few flops and a sqrt/div).
constexpr int64_t kStepCost = 8;

// The *_range loops take the coefficients by value: a local copy cannot alias the buffers being
// written, so the compiler keeps them in registers and vectorises (through a reference it may not).

// T is the storage type, C = step_compute_t<T> the arithmetic type: each element is loaded,
// updated and stored back (a no-op conversion for float32/float64, one rounding for 16-bit).
template <class T, bool DECAY, int MOMENTUM, bool NESTEROV>
void sgd_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict buf,
               const SgdCoeffs<step_compute_t<T>> c) {
  constexpr bool M = MOMENTUM != 0;
  for (int64_t i = b; i < e; ++i) {
    auto pi = load(p, i), bi = load<M>(buf, i);
    sgd_update<step_compute_t<T>, DECAY, MOMENTUM, NESTEROV>(pi, load(g, i), bi, c);
    store(p, i, pi);
    store<M>(buf, i, bi);
  }
}

template <class T, Decay DECAY, bool AMSGRAD>
void adam_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict m,
                T* __restrict v, T* __restrict vmax, const AdamCoeffs<step_compute_t<T>> c) {
  for (int64_t i = b; i < e; ++i) {
    auto pi = load(p, i), mi = load(m, i), vi = load(v, i), xi = load<AMSGRAD>(vmax, i);
    adam_update<step_compute_t<T>, DECAY, AMSGRAD>(pi, load(g, i), mi, vi, xi, c);
    store(p, i, pi), store(m, i, mi), store(v, i, vi), store<AMSGRAD>(vmax, i, xi);
  }
}

template <class T, bool DECAY, bool CENTERED, bool MOMENTUM>
void rmsprop_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict sq,
                   T* __restrict gavg, T* __restrict buf, const RmspropCoeffs<step_compute_t<T>> c) {
  for (int64_t i = b; i < e; ++i) {
    auto pi = load(p, i), si = load(sq, i), ai = load<CENTERED>(gavg, i), bi = load<MOMENTUM>(buf, i);
    rmsprop_update<step_compute_t<T>, DECAY, CENTERED, MOMENTUM>(pi, load(g, i), si, ai, bi, c);
    store(p, i, pi), store(sq, i, si), store<CENTERED>(gavg, i, ai), store<MOMENTUM>(buf, i, bi);
  }
}

template <class T, bool DECAY>
void adagrad_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict sum,
                   const AdagradCoeffs<step_compute_t<T>> c) {
  for (int64_t i = b; i < e; ++i) {
    auto pi = load(p, i), si = load(sum, i);
    adagrad_update<step_compute_t<T>, DECAY>(pi, load(g, i), si, c);
    store(p, i, pi), store(sum, i, si);
  }
}

template <class T, bool DECAY>
void adadelta_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict sq,
                    T* __restrict acc, const AdadeltaCoeffs<step_compute_t<T>> c) {
  for (int64_t i = b; i < e; ++i) {
    auto pi = load(p, i), si = load(sq, i), ai = load(acc, i);
    adadelta_update<step_compute_t<T>, DECAY>(pi, load(g, i), si, ai, c);
    store(p, i, pi), store(sq, i, si), store(acc, i, ai);
  }
}

template <class T>
void sgd_step(int64_t n, T* param, const T* grad, T* momentum_buf, const SgdOptions& o) {
  const SgdCoeffs<step_compute_t<T>> c(o);
  with_flag(o.weight_decay != 0, [&](auto decay) {
    with_flag(o.nesterov, [&](auto nesterov) {
      with_sgd_momentum(o, [&](auto mode) {
        parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
          sgd_range<T, decltype(decay)::value, decltype(mode)::value, decltype(nesterov)::value>(
              b, e, param, grad, momentum_buf, c);
        });
      });
    });
  });
}

template <class T>
void adam_step(int64_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
               const AdamOptions& o) {
  const AdamCoeffs<step_compute_t<T>> c(o);
  with_decay(adam_decay(o), [&](auto d) {
    with_flag(o.amsgrad, [&](auto amsgrad) {
      parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
        adam_range<T, decltype(d)::value, decltype(amsgrad)::value>(b, e, param, grad, exp_avg, exp_avg_sq,
                                                                     max_exp_avg_sq, c);
      });
    });
  });
}

template <class T>
void rmsprop_step(int64_t n, T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buf,
                  const RmspropOptions& o) {
  const RmspropCoeffs<step_compute_t<T>> c(o);
  with_flag(o.weight_decay != 0, [&](auto decay) {
    with_flag(o.centered, [&](auto centered) {
      with_flag(o.momentum > 0, [&](auto momentum) {
        parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
          rmsprop_range<T, decltype(decay)::value, decltype(centered)::value, decltype(momentum)::value>(
              b, e, param, grad, square_avg, grad_avg, momentum_buf, c);
        });
      });
    });
  });
}

template <class T>
void adagrad_step(int64_t n, T* param, const T* grad, T* sum, const AdagradOptions& o) {
  const AdagradCoeffs<step_compute_t<T>> c(o);
  with_flag(o.weight_decay != 0, [&](auto decay) {
    parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
      adagrad_range<T, decltype(decay)::value>(b, e, param, grad, sum, c);
    });
  });
}

template <class T>
void adadelta_step(int64_t n, T* param, const T* grad, T* square_avg, T* acc_delta, const AdadeltaOptions& o) {
  const AdadeltaCoeffs<step_compute_t<T>> c(o);
  with_flag(o.weight_decay != 0, [&](auto decay) {
    parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
      adadelta_range<T, decltype(decay)::value>(b, e, param, grad, square_avg, acc_delta, c);
    });
  });
}

// The slot entry points: the dtype picks T.
template <class T>
T* as(void* p) {
  return static_cast<T*>(p);
}

void sgd(const ops::SgdArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "sgd_step_", [&] {
    sgd_step<scalar_t>(a.n, as<scalar_t>(a.param), static_cast<const scalar_t*>(a.grad), as<scalar_t>(a.momentum_buf),
                       a.o);
  });
}

void adam(const ops::AdamArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "adam_step_", [&] {
    adam_step<scalar_t>(a.n, as<scalar_t>(a.param), static_cast<const scalar_t*>(a.grad), as<scalar_t>(a.exp_avg),
                        as<scalar_t>(a.exp_avg_sq), as<scalar_t>(a.max_exp_avg_sq), a.o);
  });
}

void rmsprop(const ops::RmspropArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "rmsprop_step_", [&] {
    rmsprop_step<scalar_t>(a.n, as<scalar_t>(a.param), static_cast<const scalar_t*>(a.grad),
                           as<scalar_t>(a.square_avg), as<scalar_t>(a.grad_avg), as<scalar_t>(a.momentum_buf), a.o);
  });
}

void adagrad(const ops::AdagradArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "adagrad_step_", [&] {
    adagrad_step<scalar_t>(a.n, as<scalar_t>(a.param), static_cast<const scalar_t*>(a.grad), as<scalar_t>(a.sum), a.o);
  });
}

void adadelta(const ops::AdadeltaArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "adadelta_step_", [&] {
    adadelta_step<scalar_t>(a.n, as<scalar_t>(a.param), static_cast<const scalar_t*>(a.grad),
                            as<scalar_t>(a.square_avg), as<scalar_t>(a.acc_delta), a.o);
  });
}

// The Adam-like updates with two state buffers, through the compute type like the loops above.
template <class T, class Update>
void two_state_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict s1,
                     T* __restrict s2, Update update) {
  for (int64_t i = b; i < e; ++i) {
    auto pi = load(p, i), ai = load(s1, i), bi = load(s2, i);
    update(pi, load(g, i), ai, bi);
    store(p, i, pi), store(s1, i, ai), store(s2, i, bi);
  }
}

template <class T, Decay DECAY>
void nadam_range(int64_t b, int64_t e, T* p, const T* g, T* m, T* v, const NadamCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  two_state_range(b, e, p, g, m, v, [c](C& pi, C gi, C& mi, C& vi) { nadam_update<C, DECAY>(pi, gi, mi, vi, c); });
}

template <class T, Decay DECAY, bool RECTIFY>
void radam_range(int64_t b, int64_t e, T* p, const T* g, T* m, T* v, const RadamCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  two_state_range(b, e, p, g, m, v,
                  [c](C& pi, C gi, C& mi, C& vi) { radam_update<C, DECAY, RECTIFY>(pi, gi, mi, vi, c); });
}

template <class T, bool DECAY>
void adamax_range(int64_t b, int64_t e, T* p, const T* g, T* m, T* u, const AdamaxCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  two_state_range(b, e, p, g, m, u, [c](C& pi, C gi, C& mi, C& ui) { adamax_update<C, DECAY>(pi, gi, mi, ui, c); });
}

// Rows [b, e) of a rows x cols parameter; absent rows (all-zero gradient) are skipped.
template <class T>
void sparse_adam_rows(int64_t b, int64_t e, int64_t cols, T* p, const T* g, T* m, T* v,
                      const SparseAdamCoeffs<step_compute_t<T>> c) {
  using C = step_compute_t<T>;
  for (int64_t r = b; r < e; ++r) {
    const int64_t o = r * cols;
    if (!row_present(g + o, cols)) continue;
    two_state_range(o, o + cols, p, g, m, v, [c](C& pi, C gi, C& mi, C& vi) { sparse_adam_update(pi, gi, mi, vi, c); });
  }
}

// The slot entry points: the dtype picks T, the options the loop.
void nadam(const ops::NadamArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "nadam_step_", [&] {
    using T = scalar_t;
    const NadamCoeffs<step_compute_t<T>> c(a.o);
    with_decay(adam_decay(a.o), [&](auto d) {
      parallel_for(a.n, kStepCost, [&](int64_t b, int64_t e) {
        nadam_range<T, decltype(d)::value>(b, e, as<T>(a.param), static_cast<const T*>(a.grad), as<T>(a.state1),
                                           as<T>(a.state2), c);
      });
    });
  });
}

void radam(const ops::RadamArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "radam_step_", [&] {
    using T = scalar_t;
    const RadamCoeffs<step_compute_t<T>> c(a.o);
    with_decay(adam_decay(a.o), [&](auto d) {
      with_flag(c.rectify, [&](auto rectify) {
        parallel_for(a.n, kStepCost, [&](int64_t b, int64_t e) {
          radam_range<T, decltype(d)::value, decltype(rectify)::value>(
              b, e, as<T>(a.param), static_cast<const T*>(a.grad), as<T>(a.state1), as<T>(a.state2), c);
        });
      });
    });
  });
}

void adamax(const ops::AdamaxArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "adamax_step_", [&] {
    using T = scalar_t;
    const AdamaxCoeffs<step_compute_t<T>> c(a.o);
    with_flag(a.o.weight_decay != 0, [&](auto decay) {
      parallel_for(a.n, kStepCost, [&](int64_t b, int64_t e) {
        adamax_range<T, decltype(decay)::value>(b, e, as<T>(a.param), static_cast<const T*>(a.grad),
                                                as<T>(a.state1), as<T>(a.state2), c);
      });
    });
  });
}

void sparse_adam(const ops::SparseAdamArgs& a) {
  PE_DISPATCH_OPTIM(a.dtype, "sparse_adam_step_", [&] {
    using T = scalar_t;
    const SparseAdamCoeffs<step_compute_t<T>> c(a.o);
    parallel_for(a.rows, kStepCost * a.cols, [&](int64_t b, int64_t e) {
      sparse_adam_rows<T>(b, e, a.cols, as<T>(a.param), static_cast<const T*>(a.grad), as<T>(a.state1),
                          as<T>(a.state2), c);
    });
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::sgd_step_kernel, sgd);
PE_REGISTER_CPU_KERNEL(ops::adam_step_kernel, adam);
PE_REGISTER_CPU_KERNEL(ops::rmsprop_step_kernel, rmsprop);
PE_REGISTER_CPU_KERNEL(ops::adagrad_step_kernel, adagrad);
PE_REGISTER_CPU_KERNEL(ops::adadelta_step_kernel, adadelta);
PE_REGISTER_CPU_KERNEL(ops::nadam_step_kernel, nadam);
PE_REGISTER_CPU_KERNEL(ops::radam_step_kernel, radam);
PE_REGISTER_CPU_KERNEL(ops::adamax_step_kernel, adamax);
PE_REGISTER_CPU_KERNEL(ops::sparse_adam_step_kernel, sparse_adam);

}  // namespace pe::cpu::PE_ISA_NS
