// The fused step kernels of the recurrent layers on the GPU (contract: ops/rnn.h; math:
// math/rnn_math.h, shared with the CPU). The sequence loop and the GEMMs are ops/rnn.cpp's,
// which runs them on the device through the GEMM slot (cuda/gemm.cu), so a whole layer is
// device work driven by one host loop. A step is rows x H independent units: one thread per
// unit in a grid-stride loop, consecutive threads on consecutive units of a row, so every read
// of a gate block and every write is one coalesced run per warp.
#include "cuda/cuda_emu.h"
#include "cuda/launchers.h"
#include "cuda/strided.h"
#include "math/rnn_math.h"
#include "ops/rnn.h"

namespace pe::cuda {
namespace {

using ops::RnnStepBackwardArgs;
using ops::RnnStepForwardArgs;
using rnn::Mode;
using rnn::StdAct;

template <class T>
__device__ const T* prev_row(const void* prev, const void* init, int64_t r, int64_t rows_prev, int64_t H) {
  return static_cast<const T*>(r < rows_prev ? prev : init) + r * H;
}

template <class T, Mode M>
__global__ void step_forward_kernel(RnnStepForwardArgs a) {
  const int64_t H = a.H, GH = rnn::gate_count(M) * H, SH = rnn::saved_gate_count(M) * H;
  const T* b_ih = static_cast<const T*>(a.b_ih);
  const T* b_hh = static_cast<const T*>(a.b_hh);
  PE_GRID_STRIDE_LOOP(u, a.rows * H) {
    const int64_t r = u / H, j = u % H;
    const T* xg = static_cast<const T*>(a.xg) + r * GH;
    const T* hg = static_cast<const T*>(a.hg) + r * GH;
    T* h = static_cast<T*>(a.h) + r * H;
    auto pre = [&](int64_t i) { return xg[i] + rnn::bias_at(b_ih, i) + hg[i] + rnn::bias_at(b_hh, i); };
    if constexpr (M == Mode::Tanh || M == Mode::Relu) {
      h[j] = rnn::rnn_forward<T, StdAct>(M, pre(j));
    } else if constexpr (M == Mode::Lstm) {
      const T* c_prev = prev_row<T>(a.c_prev, a.c_init, r, a.rows_prev, H);
      T* c = static_cast<T*>(a.c) + r * H;
      rnn::lstm_forward<T, StdAct>(pre(j), pre(H + j), pre(2 * H + j), pre(3 * H + j), c_prev[j], c[j], h[j],
                                   static_cast<T*>(a.gates) + r * SH + j, H);
    } else {
      const T* h_prev = prev_row<T>(a.h_prev, a.h_init, r, a.rows_prev, H);
      const T xn = xg[2 * H + j] + rnn::bias_at(b_ih, 2 * H + j);
      const T hn = hg[2 * H + j] + rnn::bias_at(b_hh, 2 * H + j);
      h[j] = rnn::gru_forward<T, StdAct>(pre(j), pre(H + j), xn, hn, h_prev[j],
                                         static_cast<T*>(a.gates) + r * SH + j, H);
    }
  }
}

template <class T, Mode M>
__global__ void step_backward_kernel(RnnStepBackwardArgs a) {
  const int64_t H = a.H, GH = rnn::gate_count(M) * H, SH = rnn::saved_gate_count(M) * H;
  PE_GRID_STRIDE_LOOP(u, a.rows * H) {
    const int64_t r = u / H, j = u % H;
    T dh = static_cast<const T*>(a.dh)[u];
    if (a.dh_extra) dh += static_cast<const T*>(a.dh_extra)[u];
    T* dgi = static_cast<T*>(a.dgi) + r * GH + j;
    T* dgh = static_cast<T*>(a.dgh) + r * GH + j;
    if constexpr (M == Mode::Tanh || M == Mode::Relu) {
      dgi[0] = rnn::rnn_backward<T>(M, dh, static_cast<const T*>(a.h)[u]);
    } else if constexpr (M == Mode::Lstm) {
      const T* c_prev = prev_row<T>(a.c_prev, a.c_init, r, a.rows_prev, H);
      T* dc = static_cast<T*>(a.dc) + u;
      *dc = rnn::lstm_backward<T, StdAct>(dh, *dc, static_cast<const T*>(a.gates) + r * SH + j,
                                          static_cast<const T*>(a.c)[u], c_prev[j], dgi, H);
    } else {
      const T* h_prev = prev_row<T>(a.h_prev, a.h_init, r, a.rows_prev, H);
      static_cast<T*>(a.dh_prev)[u] =
          rnn::gru_backward<T>(dh, static_cast<const T*>(a.gates) + r * SH + j, h_prev[j], dgi, dgh, H);
    }
  }
}

template <class Args, class Launch>
void by_mode_and_dtype(const Args& a, const char* name, Launch launch) {
  PE_DISPATCH_FLOATING(a.dtype, name, [&] {
    switch (a.mode) {
      case Mode::Tanh: return launch(scalar_t{}, std::integral_constant<Mode, Mode::Tanh>{});
      case Mode::Relu: return launch(scalar_t{}, std::integral_constant<Mode, Mode::Relu>{});
      case Mode::Lstm: return launch(scalar_t{}, std::integral_constant<Mode, Mode::Lstm>{});
      case Mode::Gru: return launch(scalar_t{}, std::integral_constant<Mode, Mode::Gru>{});
    }
  });
}

void rnn_step_forward(const RnnStepForwardArgs& a) {
  if (a.rows * a.H == 0) return;
  by_mode_and_dtype(a, "rnn_step_forward", [&](auto t, auto m) {
    auto* k = &step_forward_kernel<decltype(t), decltype(m)::value>;
    PE_LAUNCH(k, blocks_for(a.rows * a.H), kThreads, 0, a);
  });
}

void rnn_step_backward(const RnnStepBackwardArgs& a) {
  if (a.rows * a.H == 0) return;
  by_mode_and_dtype(a, "rnn_step_backward", [&](auto t, auto m) {
    auto* k = &step_backward_kernel<decltype(t), decltype(m)::value>;
    PE_LAUNCH(k, blocks_for(a.rows * a.H), kThreads, 0, a);
  });
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::rnn_step_forward_kernel, rnn_step_forward);
PE_REGISTER_CUDA_KERNEL(ops::rnn_step_backward_kernel, rnn_step_backward);

}  // namespace pe::cuda
