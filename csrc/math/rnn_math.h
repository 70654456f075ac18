// The per-element math of the recurrent cells (RNN tanh/relu, LSTM, GRU), written once for the
// CPU loops (csrc/cpu/rnn_kernels.cpp) and the CUDA kernels (cuda/rnn.cu).
//
// A step of a layer computes, for each active batch row, the gate pre-activations
//     pre = xg + b_ih + hg + b_hh        xg = x_t W_ih^T (all steps in one GEMM), hg = h_{t-1} W_hh^T
// and then the functions below, one hidden unit j at a time: every value unit j needs sits at
// index j of its gate block (PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n), so a row is
// G independent blocks of H and a kernel may hand any j to any thread.
//
// `Act` supplies sigmoid and tanh: the CPU passes its vectorisable fast_math versions, CUDA the
// device's. Derivatives are written in terms of the activated values saved by the forward.
#pragma once
#include <cstdint>

#include "math/elementwise_math.h"
#include "math/host_device.h"

namespace pe::rnn {

enum class Mode : int { Tanh = 0, Relu = 1, Lstm = 2, Gru = 3 };

// Gate blocks per hidden unit (the G in the G*H rows of weight_ih / weight_hh).
PE_HOST_DEVICE inline int gate_count(Mode m) { return m == Mode::Lstm ? 4 : m == Mode::Gru ? 3 : 1; }
// Width of the per-step values the forward saves for backward (in units of H): LSTM its four
// activated gates, GRU r, z, n and the recurrent part of n's pre-activation (hn = hg_n + b_hn,
// which r scales); the plain RNN needs only its output.
PE_HOST_DEVICE inline int saved_gate_count(Mode m) { return m == Mode::Lstm ? 4 : m == Mode::Gru ? 4 : 0; }

// The activations as the elementwise ops compute them (libm / CUDA's math library); the CPU
// kernels pass their own vectorisable versions instead.
struct StdAct {
  template <class T>
  PE_HOST_DEVICE static T sigmoid(T x) {
    return ew::Sigmoid{}(x);
  }
  template <class T>
  PE_HOST_DEVICE static T tanh(T x) {
    return ew::Tanh{}(x);
  }
};

template <class T>
PE_HOST_DEVICE inline T bias_at(const T* b, int64_t i) {
  return b ? b[i] : T(0);
}

// ------------------------------------------------------------------ forward, unit j of one row
// Plain RNN: h = act(pre). relu as the elementwise one (ew::Relu): NaN propagates, as in PyTorch.
template <class T, class Act>
PE_HOST_DEVICE inline T rnn_forward(Mode m, T pre) {
  return m == Mode::Relu ? (pre < T(0) ? T(0) : pre) : Act::tanh(pre);
}

// The cell updates from activated gates. A kernel may apply the activations unit by unit
// (lstm_forward / gru_forward below, CUDA) or gate block by gate block in separate passes (the
// CPU, where a loop with one transcendental function keeps its constants in registers).
template <class T, class Act>
PE_HOST_DEVICE inline void lstm_cell(T i, T f, T g, T o, T c_prev, T& c, T& h) {
  c = f * c_prev + i * g;
  h = o * Act::tanh(c);
}
template <class T, class Act>
PE_HOST_DEVICE inline T gru_candidate(T xn, T r, T hn) {  // n = tanh(xn + r hn)
  return Act::tanh(xn + r * hn);
}
template <class T>
PE_HOST_DEVICE inline T gru_state(T z, T n, T h_prev) {  // h = (1 - z) n + z h_prev
  return (T(1) - z) * n + z * h_prev;
}

// LSTM: c = f c_prev + i g, h = o tanh(c). gates_out receives i, f, g, o (activated) at
// j, H + j, 2H + j, 3H + j.
template <class T, class Act>
PE_HOST_DEVICE inline void lstm_forward(T pre_i, T pre_f, T pre_g, T pre_o, T c_prev, T& c, T& h, T* gates_out,
                                        int64_t H) {
  const T i = Act::sigmoid(pre_i), f = Act::sigmoid(pre_f), g = Act::tanh(pre_g), o = Act::sigmoid(pre_o);
  lstm_cell<T, Act>(i, f, g, o, c_prev, c, h);
  gates_out[0] = i;
  gates_out[H] = f;
  gates_out[2 * H] = g;
  gates_out[3 * H] = o;
}

// GRU: r = σ(pre_r), z = σ(pre_z), n = tanh(xn + r hn), h = (1 - z) n + z h_prev, where
// xn = xg_n + b_in and hn = hg_n + b_hn stay apart (r multiplies only the recurrent part).
// gates_out receives r, z, n, hn.
template <class T, class Act>
PE_HOST_DEVICE inline T gru_forward(T pre_r, T pre_z, T xn, T hn, T h_prev, T* gates_out, int64_t H) {
  const T r = Act::sigmoid(pre_r), z = Act::sigmoid(pre_z), n = gru_candidate<T, Act>(xn, r, hn);
  gates_out[0] = r;
  gates_out[H] = z;
  gates_out[2 * H] = n;
  gates_out[3 * H] = hn;
  return gru_state(z, n, h_prev);
}

// ------------------------------------------------------------------ backward, unit j of one row
// dh is the total gradient reaching h_t. Outputs: dgi = dL/d(xg) (= dL/d b_ih), dgh = dL/d(hg)
// (= dL/d b_hh); they differ only in GRU's n block.
template <class T>
PE_HOST_DEVICE inline T rnn_backward(Mode m, T dh, T h) {
  // relu: PyTorch's threshold_backward on the output, `h <= 0`, so NaN passes the gradient
  return m == Mode::Relu ? (h <= T(0) ? T(0) : dh) : dh * (T(1) - h * h);
}

// LSTM: dc is the gradient reaching c_t from step t+1 (already the carried one); returns
// dc_prev; writes d(pre_i, pre_f, pre_g, pre_o) at j, H + j, 2H + j, 3H + j of dg.
template <class T, class Act>
PE_HOST_DEVICE inline T lstm_backward(T dh, T dc, const T* gates, T c, T c_prev, T* dg, int64_t H) {
  const T i = gates[0], f = gates[H], g = gates[2 * H], o = gates[3 * H];
  const T tc = Act::tanh(c);
  dc += dh * o * (T(1) - tc * tc);
  dg[0] = dc * g * i * (T(1) - i);
  dg[H] = dc * c_prev * f * (T(1) - f);
  dg[2 * H] = dc * i * (T(1) - g * g);
  dg[3 * H] = dh * tc * o * (T(1) - o);
  return dc * f;
}

// GRU: returns the direct part of dL/dh_prev (z dh; the recurrent part comes through dgh W_hh).
template <class T>
PE_HOST_DEVICE inline T gru_backward(T dh, const T* gates, T h_prev, T* dgi, T* dgh, int64_t H) {
  const T r = gates[0], z = gates[H], n = gates[2 * H], hn = gates[3 * H];
  const T dn = dh * (T(1) - z) * (T(1) - n * n);
  const T dr = dn * hn * r * (T(1) - r);
  const T dz = dh * (h_prev - n) * z * (T(1) - z);
  dgi[0] = dgh[0] = dr;
  dgi[H] = dgh[H] = dz;
  dgi[2 * H] = dn;
  dgh[2 * H] = dn * r;
  return dh * z;
}

}  // namespace pe::rnn
