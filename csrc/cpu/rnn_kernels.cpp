// The fused step kernels of the recurrent layers (contract: ops/rnn.h; math: math/rnn_math.h).
// One pass over a step's rows does the bias adds, the gate nonlinearities, the cell update and
// the saving of what backward needs. The loop over a row's hidden units runs the shared
// per-unit math with the vectorisable sigmoid/tanh of fast_math.h, each gate block read as
// its own unit-stride stream, so the compiler turns it into vector code. Rows are independent
// and split over threads: results never depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <vector>

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

// dst = src + bias (bias may be null): one unit-stride vector loop, the test outside it.
template <class T>
void plus_bias(int64_t n, const T* __restrict src, const T* __restrict bias, T* __restrict dst) {
  if (bias) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i] + bias[i];
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// pre = ((xg + b_ih) + hg) + b_hh over n values: CUDA's order of additions.
template <class T>
void add_rows(int64_t n, const T* xg, const T* b_ih, const T* __restrict hg, const T* b_hh, T* __restrict pre) {
  plus_bias(n, xg, b_ih, pre);
  for (int64_t i = 0; i < n; ++i) pre[i] += hg[i];
  if (b_hh)
    for (int64_t i = 0; i < n; ++i) pre[i] += b_hh[i];
}

// In-place activations of n values, one function per loop (its constants stay in registers).
template <class T>
void sigmoid_inplace(int64_t n, T* __restrict v) {
  for (int64_t i = 0; i < n; ++i) v[i] = FastAct::sigmoid(v[i]);
}
template <class T>
void tanh_inplace(int64_t n, T* __restrict v) {
  for (int64_t i = 0; i < n; ++i) v[i] = FastAct::tanh(v[i]);
}

// A row is done in passes over its gates row (which is also what backward reads): the
// pre-activations written straight into it, each gate block activated in place, then the cell
// update. Plain RNN: its pre-activations go through a row buffer into h.
template <class T, Mode M>
void step_forward(const RnnStepForwardArgs& a) {
  const int64_t H = a.H, GH = rnn::gate_count(M) * H, SH = rnn::saved_gate_count(M) * H;
  const T* b_ih = static_cast<const T*>(a.b_ih);
  const T* b_hh = static_cast<const T*>(a.b_hh);
  parallel_for(a.rows, GH * 8, [&](int64_t r0, int64_t r1) {
    std::vector<T> buffer(M == Mode::Tanh || M == Mode::Relu ? H : 0);
    for (int64_t r = r0; r < r1; ++r) {
      const T* xg = static_cast<const T*>(a.xg) + r * GH;
      const T* hg = static_cast<const T*>(a.hg) + r * GH;
      T* __restrict h = static_cast<T*>(a.h) + r * H;
      if constexpr (M == Mode::Tanh || M == Mode::Relu) {
        T* __restrict pre = buffer.data();
        add_rows<T>(H, xg, b_ih, hg, b_hh, pre);
        for (int64_t j = 0; j < H; ++j) h[j] = rnn::rnn_forward<T, FastAct>(M, pre[j]);
      } else if constexpr (M == Mode::Lstm) {
        T* __restrict g = static_cast<T*>(a.gates) + r * SH;  // i, f, g, o
        add_rows<T>(GH, xg, b_ih, hg, b_hh, g);
        sigmoid_inplace(2 * H, g);
        tanh_inplace(H, g + 2 * H);
        sigmoid_inplace(H, g + 3 * H);
        const T* __restrict c_prev = prev_row<T>(a.c_prev, a.c_init, r, a.rows_prev, H);
        T* __restrict c = static_cast<T*>(a.c) + r * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j)
          rnn::lstm_cell<T, FastAct>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], c_prev[j], c[j], h[j]);
      } else {
        T* __restrict g = static_cast<T*>(a.gates) + r * SH;  // r, z, n, hn
        add_rows<T>(2 * H, xg, b_ih, hg, b_hh, g);
        sigmoid_inplace(2 * H, g);
        plus_bias<T>(H, hg + 2 * H, b_hh ? b_hh + 2 * H : nullptr, g + 3 * H);  // hn
        plus_bias<T>(H, xg + 2 * H, b_ih ? b_ih + 2 * H : nullptr, g + 2 * H);  // xn, then n in place
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) g[2 * H + j] = rnn::gru_candidate<T, FastAct>(g[2 * H + j], g[j], g[3 * H + j]);
        const T* __restrict h_prev = prev_row<T>(a.h_prev, a.h_init, r, a.rows_prev, H);
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) h[j] = rnn::gru_state(g[H + j], g[2 * H + j], h_prev[j]);
      }
    }
  });
}

template <class T, Mode M>
void step_backward(const RnnStepBackwardArgs& a) {
  const int64_t H = a.H, GH = rnn::gate_count(M) * H, SH = rnn::saved_gate_count(M) * H;
  parallel_for(a.rows, GH * 8, [&](int64_t r0, int64_t r1) {
    std::vector<T> buffer(H);
    T* __restrict dh = buffer.data();
    for (int64_t r = r0; r < r1; ++r) {
      const T* dh_in = static_cast<const T*>(a.dh) + r * H;
      if (a.dh_extra) {
        const T* dh_extra = static_cast<const T*>(a.dh_extra) + r * H;
        for (int64_t j = 0; j < H; ++j) dh[j] = dh_in[j] + dh_extra[j];
      } else {
        for (int64_t j = 0; j < H; ++j) dh[j] = dh_in[j];
      }
      T* __restrict dgi = static_cast<T*>(a.dgi) + r * GH;
      T* __restrict dgh = static_cast<T*>(a.dgh) + r * GH;
      if constexpr (M == Mode::Tanh || M == Mode::Relu) {
        const T* __restrict h = static_cast<const T*>(a.h) + r * H;
        for (int64_t j = 0; j < H; ++j) dgi[j] = rnn::rnn_backward<T>(M, dh[j], h[j]);
      } else if constexpr (M == Mode::Lstm) {
        const T* __restrict gates = static_cast<const T*>(a.gates) + r * SH;
        const T* __restrict c = static_cast<const T*>(a.c) + r * H;
        const T* __restrict c_prev = prev_row<T>(a.c_prev, a.c_init, r, a.rows_prev, H);
        T* __restrict dc = static_cast<T*>(a.dc) + r * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j)
          dc[j] = rnn::lstm_backward<T, FastAct>(dh[j], dc[j], gates + j, c[j], c_prev[j], dgi + j, H);
      } else {
        const T* __restrict gates = static_cast<const T*>(a.gates) + r * SH;
        const T* __restrict h_prev = prev_row<T>(a.h_prev, a.h_init, r, a.rows_prev, H);
        T* __restrict dh_prev = static_cast<T*>(a.dh_prev) + r * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j)
          dh_prev[j] = rnn::gru_backward<T>(dh[j], gates + j, h_prev[j], dgi + j, dgh + j, H);
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

void side_by_side(int64_t n, const std::function<void(int64_t)>& task) {
  const int threads = static_cast<int>(std::min<int64_t>(n, get_num_threads()));
  if (threads <= 1 || omp_in_parallel()) {
    for (int64_t i = 0; i < n; ++i) task(i);
    return;
  }
  std::vector<std::exception_ptr> errors(n);  // an exception must not leave a parallel region
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int64_t i = 0; i < n; ++i) {
    try {
      task(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void rnn_step_forward(const RnnStepForwardArgs& a) { by_mode_and_dtype<RnnStepForwardArgs, Forward>(a); }
void rnn_step_backward(const RnnStepBackwardArgs& a) { by_mode_and_dtype<RnnStepBackwardArgs, Backward>(a); }

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::rnn_step_forward_kernel, rnn_step_forward);
PE_REGISTER_CPU_KERNEL(ops::rnn_step_backward_kernel, rnn_step_backward);
PE_REGISTER_CPU_KERNEL(ops::side_by_side_kernel, side_by_side);

}  // namespace pe::cpu::PE_ISA_NS
