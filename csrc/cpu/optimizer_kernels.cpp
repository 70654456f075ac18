// Fused optimizer updates, compiled once per ISA. The per-element math is in
// math/optimizer_math.h; here it only gets a loop: the option flags become template arguments
// (so the inner loop has no branches and vectorises), the pointers are declared restrict (the
// op layer guarantees the buffers are distinct), and big tensors are split across threads.
// Every element is independent, so results never depend on the thread count.
#include <type_traits>

#include "core/parallel.h"
#include "cpu/optimizer.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using namespace pe::optim;

// Work per element, in parallel_for's cost units (a few flops and a sqrt/div).
constexpr int64_t kStepCost = 8;

// The *_range loops take the coefficients by value: a local copy cannot alias the buffers being
// written, so the compiler keeps them in registers and vectorises (through a reference it may not).

// f(std::true_type{}) or f(std::false_type{}): turns a run-time flag into a template argument.
template <class F>
void with_flag(bool flag, F&& f) {
  if (flag)
    f(std::true_type{});
  else
    f(std::false_type{});
}

template <class F>
void with_decay(Decay mode, F&& f) {
  switch (mode) {
    case Decay::None: return f(std::integral_constant<Decay, Decay::None>{});
    case Decay::L2: return f(std::integral_constant<Decay, Decay::L2>{});
    case Decay::Decoupled: return f(std::integral_constant<Decay, Decay::Decoupled>{});
  }
}

// Element i of an optional buffer, or `dummy` when the option (a template flag) is off: then
// the buffer is nullptr and the update never touches the element.
template <bool USED, class T>
inline T& element(T* buf, int64_t i, T& dummy) {
  if constexpr (USED) return buf[i];
  return dummy;
}

template <class T, bool DECAY, int MOMENTUM, bool NESTEROV>
void sgd_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict buf,
               const SgdCoeffs<T> c) {
  T dummy{};
  for (int64_t i = b; i < e; ++i)
    sgd_update<T, DECAY, MOMENTUM, NESTEROV>(p[i], g[i], element<MOMENTUM != 0>(buf, i, dummy), c);
}

template <class T, Decay DECAY, bool AMSGRAD>
void adam_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict m,
                T* __restrict v, T* __restrict vmax, const AdamCoeffs<T> c) {
  T dummy{};
  for (int64_t i = b; i < e; ++i)
    adam_update<T, DECAY, AMSGRAD>(p[i], g[i], m[i], v[i], element<AMSGRAD>(vmax, i, dummy), c);
}

template <class T, bool DECAY, bool CENTERED, bool MOMENTUM>
void rmsprop_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict sq,
                   T* __restrict gavg, T* __restrict buf, const RmspropCoeffs<T> c) {
  T dummy{};
  for (int64_t i = b; i < e; ++i)
    rmsprop_update<T, DECAY, CENTERED, MOMENTUM>(p[i], g[i], sq[i], element<CENTERED>(gavg, i, dummy),
                                                 element<MOMENTUM>(buf, i, dummy), c);
}

template <class T, bool DECAY>
void adagrad_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict sum,
                   const AdagradCoeffs<T> c) {
  for (int64_t i = b; i < e; ++i) adagrad_update<T, DECAY>(p[i], g[i], sum[i], c);
}

template <class T, bool DECAY>
void adadelta_range(int64_t b, int64_t e, T* __restrict p, const T* __restrict g, T* __restrict sq,
                    T* __restrict acc, const AdadeltaCoeffs<T> c) {
  for (int64_t i = b; i < e; ++i) adadelta_update<T, DECAY>(p[i], g[i], sq[i], acc[i], c);
}

}  // namespace

template <class T>
void sgd_step(int64_t n, T* param, const T* grad, T* momentum_buf, const SgdOptions& o) {
  const SgdCoeffs<T> c(o);
  const int momentum_mode = o.momentum == 0 ? 0 : (o.first_step ? 1 : 2);
  with_flag(o.weight_decay != 0, [&](auto decay) {
    with_flag(o.nesterov, [&](auto nesterov) {
      auto run = [&](auto mode) {
        parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
          sgd_range<T, decltype(decay)::value, decltype(mode)::value, decltype(nesterov)::value>(
              b, e, param, grad, momentum_buf, c);
        });
      };
      if (momentum_mode == 0) run(std::integral_constant<int, 0>{});
      if (momentum_mode == 1) run(std::integral_constant<int, 1>{});
      if (momentum_mode == 2) run(std::integral_constant<int, 2>{});
    });
  });
}

template <class T>
void adam_step(int64_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
               const AdamOptions& o) {
  const AdamCoeffs<T> c(o);
  Decay decay = o.weight_decay == 0 ? Decay::None : (o.decoupled ? Decay::Decoupled : Decay::L2);
  with_decay(decay, [&](auto d) {
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
  const RmspropCoeffs<T> c(o);
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
  const AdagradCoeffs<T> c(o);
  with_flag(o.weight_decay != 0, [&](auto decay) {
    parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
      adagrad_range<T, decltype(decay)::value>(b, e, param, grad, sum, c);
    });
  });
}

template <class T>
void adadelta_step(int64_t n, T* param, const T* grad, T* square_avg, T* acc_delta, const AdadeltaOptions& o) {
  const AdadeltaCoeffs<T> c(o);
  with_flag(o.weight_decay != 0, [&](auto decay) {
    parallel_for(n, kStepCost, [&](int64_t b, int64_t e) {
      adadelta_range<T, decltype(decay)::value>(b, e, param, grad, square_avg, acc_delta, c);
    });
  });
}

#define PE_INSTANTIATE_OPTIMIZER_KERNELS(T)                                                          \
  template void sgd_step<T>(int64_t, T*, const T*, T*, const SgdOptions&);                         \
  template void adam_step<T>(int64_t, T*, const T*, T*, T*, T*, const AdamOptions&);               \
  template void rmsprop_step<T>(int64_t, T*, const T*, T*, T*, T*, const RmspropOptions&);         \
  template void adagrad_step<T>(int64_t, T*, const T*, T*, const AdagradOptions&);                 \
  template void adadelta_step<T>(int64_t, T*, const T*, T*, T*, const AdadeltaOptions&);
PE_INSTANTIATE_OPTIMIZER_KERNELS(float)
PE_INSTANTIATE_OPTIMIZER_KERNELS(double)
#undef PE_INSTANTIATE_OPTIMIZER_KERNELS

}  // namespace pe::cpu::PE_ISA_NS
