// The fused step kernels of the recurrent layers (contract: ops/rnn.h; math: math/rnn_math.h).
// One pass over a step's rows does the bias adds, the gate nonlinearities, the cell update and
// the saving of what backward needs. The loop over a row's hidden units runs the shared
// per-unit math with the vectorisable sigmoid/tanh of fast_math.h, each gate block read as
// its own unit-stride stream, so the compiler turns it into vector code. Rows are independent
// and split over threads: results never depend on the thread count.
#include <cstdint>

#include "core/parallel.h"
#include "cpu/fast_math.h"
#include "math/rnn_math.h"
#include "ops/rnn.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::RnnStepBackwardArgs;
using ops::RnnStepForwardArgs;
using rnn::Mode;

struct FastAct {
  template <class T>
  static T sigmoid(T x) {
    return fast_sigmoid(x);
  }
  template <class T>
  static T tanh(T x) {
    return fast_tanh(x);
  }
};

// Row r's state to continue from: the neighbouring step's, or the initial one.
template <class T>
const T* prev_row(const void* prev, const void* init, int64_t r, int64_t rows_prev, int64_t H) {
  return static_cast<const T*>(r < rows_prev ? prev : init) + r * H;
}

template <class T, Mode M>
void step_forward(const RnnStepForwardArgs& a) {
  const int64_t H = a.H, GH = rnn::gate_count(M) * H, SH = rnn::saved_gate_count(M) * H;
  const T* b_ih = static_cast<const T*>(a.b_ih);
  const T* b_hh = static_cast<const T*>(a.b_hh);
  parallel_for(a.rows, GH * 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xg = static_cast<const T*>(a.xg) + r * GH;
      const T* hg = static_cast<const T*>(a.hg) + r * GH;
      T* h = static_cast<T*>(a.h) + r * H;
      auto pre = [&](int64_t i) { return xg[i] + rnn::bias_at(b_ih, i) + hg[i] + rnn::bias_at(b_hh, i); };
      if constexpr (M == Mode::Tanh || M == Mode::Relu) {
        for (int64_t j = 0; j < H; ++j) h[j] = rnn::rnn_forward<T, FastAct>(M, pre(j));
      } else if constexpr (M == Mode::Lstm) {
        const T* c_prev = prev_row<T>(a.c_prev, a.c_init, r, a.rows_prev, H);
        T* c = static_cast<T*>(a.c) + r * H;
        T* gates = static_cast<T*>(a.gates) + r * SH;
        for (int64_t j = 0; j < H; ++j)
          rnn::lstm_forward<T, FastAct>(pre(j), pre(H + j), pre(2 * H + j), pre(3 * H + j), c_prev[j], c[j], h[j],
                                        gates + j, H);
      } else {
        const T* h_prev = prev_row<T>(a.h_prev, a.h_init, r, a.rows_prev, H);
        T* gates = static_cast<T*>(a.gates) + r * SH;
        for (int64_t j = 0; j < H; ++j) {
          const T xn = xg[2 * H + j] + rnn::bias_at(b_ih, 2 * H + j);
          const T hn = hg[2 * H + j] + rnn::bias_at(b_hh, 2 * H + j);
          h[j] = rnn::gru_forward<T, FastAct>(pre(j), pre(H + j), xn, hn, h_prev[j], gates + j, H);
        }
      }
    }
  });
}

template <class T, Mode M>
void step_backward(const RnnStepBackwardArgs& a) {
  const int64_t H = a.H, GH = rnn::gate_count(M) * H, SH = rnn::saved_gate_count(M) * H;
  parallel_for(a.rows, GH * 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* dh_in = static_cast<const T*>(a.dh) + r * H;
      const T* dh_extra = a.dh_extra ? static_cast<const T*>(a.dh_extra) + r * H : nullptr;
      T* dgi = static_cast<T*>(a.dgi) + r * GH;
      T* dgh = static_cast<T*>(a.dgh) + r * GH;
      auto dh = [&](int64_t j) { return dh_extra ? dh_in[j] + dh_extra[j] : dh_in[j]; };
      if constexpr (M == Mode::Tanh || M == Mode::Relu) {
        const T* h = static_cast<const T*>(a.h) + r * H;
        for (int64_t j = 0; j < H; ++j) dgi[j] = rnn::rnn_backward<T>(M, dh(j), h[j]);
      } else if constexpr (M == Mode::Lstm) {
        const T* gates = static_cast<const T*>(a.gates) + r * SH;
        const T* c = static_cast<const T*>(a.c) + r * H;
        const T* c_prev = prev_row<T>(a.c_prev, a.c_init, r, a.rows_prev, H);
        T* dc = static_cast<T*>(a.dc) + r * H;
        for (int64_t j = 0; j < H; ++j)
          dc[j] = rnn::lstm_backward<T, FastAct>(dh(j), dc[j], gates + j, c[j], c_prev[j], dgi + j, H);
      } else {
        const T* gates = static_cast<const T*>(a.gates) + r * SH;
        const T* h_prev = prev_row<T>(a.h_prev, a.h_init, r, a.rows_prev, H);
        T* dh_prev = static_cast<T*>(a.dh_prev) + r * H;
        for (int64_t j = 0; j < H; ++j)
          dh_prev[j] = rnn::gru_backward<T>(dh(j), gates + j, h_prev[j], dgi + j, dgh + j, H);
      }
    }
  });
}

template <class Args, template <class, Mode> class K>
void by_mode_and_dtype(const Args& a) {
  auto run = [&](auto tag) {
    using T = decltype(tag);
    switch (a.mode) {
      case Mode::Tanh: return K<T, Mode::Tanh>::run(a);
      case Mode::Relu: return K<T, Mode::Relu>::run(a);
      case Mode::Lstm: return K<T, Mode::Lstm>::run(a);
      case Mode::Gru: return K<T, Mode::Gru>::run(a);
    }
  };
  if (a.dtype == DType::Float64)
    run(double{});
  else
    run(float{});
}

template <class T, Mode M>
struct Forward {
  static void run(const RnnStepForwardArgs& a) { step_forward<T, M>(a); }
};
template <class T, Mode M>
struct Backward {
  static void run(const RnnStepBackwardArgs& a) { step_backward<T, M>(a); }
};

void rnn_step_forward(const RnnStepForwardArgs& a) { by_mode_and_dtype<RnnStepForwardArgs, Forward>(a); }
void rnn_step_backward(const RnnStepBackwardArgs& a) { by_mode_and_dtype<RnnStepBackwardArgs, Backward>(a); }

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::rnn_step_forward_kernel, rnn_step_forward);
PE_REGISTER_CPU_KERNEL(ops::rnn_step_backward_kernel, rnn_step_backward);

}  // namespace pe::cpu::PE_ISA_NS
