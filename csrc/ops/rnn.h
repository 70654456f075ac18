// Recurrent layers: one layer in one direction over a whole sequence (RNN tanh/relu, LSTM with
// optional projection, GRU), forward and backward through time in C++.
//
// Device-neutral: the sequence loop here runs on either backend through three kinds of calls:
// the GEMM slot (ops/linalg.h) for the input projection of all steps at once, each step's
// recurrent product and the weight gradients of all steps at once; the two fused step kernels
// below (gate nonlinearities, cell update and the values backward needs, in one pass); and
// copies. Packed (variable-length) batches follow PackedSequence's order: row b takes part in
// step t iff b < batch_sizes[t] (non-increasing), so each step works on a prefix of the rows.
#pragma once
#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/rnn_math.h"

namespace pe::ops {

using OptTensor = std::optional<Tensor>;

struct RnnWeights {
  Tensor w_ih;       // (G*H, I)
  Tensor w_hh;       // (G*H, P)
  OptTensor b_ih;    // (G*H,)
  OptTensor b_hh;    // (G*H,)
  OptTensor w_hr;    // (P, H): LSTM projection; P = H without one
};

// What the forward returns: the results, and what backward reads (`gates`: per-step saved
// gate values, (T, B, S*H) with S = rnn::saved_gate_count; `c`: LSTM cell states (T, B, H);
// `h_pre`: LSTM hidden states before the projection (T, B, H)).
struct RnnForward {
  Tensor y;       // (T, B, P)
  Tensor h_n;     // (B, P)
  OptTensor c_n;  // (B, H)
  Tensor gates;
  OptTensor c;
  OptTensor h_pre;
};

struct RnnGrads {
  OptTensor x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr;
};

// x (T, B, I), h0 (B, P), c0 (B, H) for LSTM. batch_sizes empty = every row takes part in every
// step; otherwise T non-increasing sizes, the first == B (rows outside a step keep their state
// and get zeros in y). reverse runs t = T-1 .. 0. save = false (no backward will follow) keeps
// only the last step's gates / h_pre and two cell states, so gates, c and h_pre are not for
// rnn_layer_backward then.
RnnForward rnn_layer_forward(rnn::Mode mode, const Tensor& x, const Tensor& h0, const OptTensor& c0,
                             const RnnWeights& w, const std::vector<int64_t>& batch_sizes, bool reverse,
                             bool save = true);

// The gradients of every input; dy, dh_n, dc_n may be absent (zero). need_x = false skips dx.
RnnGrads rnn_layer_backward(rnn::Mode mode, const Tensor& x, const Tensor& h0, const OptTensor& c0,
                            const RnnWeights& w, const std::vector<int64_t>& batch_sizes, bool reverse,
                            const RnnForward& saved, const OptTensor& dy, const OptTensor& dh_n,
                            const OptTensor& dc_n, bool need_x);

// The two directions of a bidirectional layer (0: forward, 1: reverse) over the same input, side
// by side where the device allows it (side_by_side_kernel): on the CPU each direction gets a
// thread of its own (its GEMMs and step kernels then run on that thread), so no step waits for
// the other direction or for a fork/join. Backward returns dx summed over both directions in
// grads[0].x (grads[1].x is empty).
struct RnnDirection {
  Tensor h0;
  OptTensor c0;
  RnnWeights w;
};
std::array<RnnForward, 2> rnn_bidirectional_forward(rnn::Mode mode, const Tensor& x,
                                                   const std::array<RnnDirection, 2>& dirs,
                                                   const std::vector<int64_t>& batch_sizes, bool save = true);
struct RnnDirectionGrads {  // what backward gets per direction
  const RnnForward* saved;
  OptTensor dy, dh_n, dc_n;
};
std::array<RnnGrads, 2> rnn_bidirectional_backward(rnn::Mode mode, const Tensor& x,
                                                  const std::array<RnnDirection, 2>& dirs,
                                                  const std::vector<int64_t>& batch_sizes,
                                                  const std::array<RnnDirectionGrads, 2>& grads, bool need_x);

// ---------------------------------------------------------------- kernels
// Runs task(0) .. task(n-1), independent pieces of host-side work, side by side where the device
// gains from it (CPU: one thread each, nested parallel regions and GEMMs inside a task run on
// that thread) or one after another (CUDA: the device is the parallel part). An exception in a
// task is rethrown after all tasks ended.
inline KernelSlot<void (*)(int64_t n, const std::function<void(int64_t)>& task)> side_by_side_kernel{
    "side_by_side"};

// One step of one layer on rows [0, rows) of the batch. Every operand is contiguous with the row
// strides written beside it, in `dtype` (float32/float64), on the slot's device. The state a row
// continues from is row r of `*_prev` (the neighbouring step's saved state) for r < rows_prev,
// and row r of `*_init` (h0/c0) otherwise. Units j of a row are independent (math/rnn_math.h).
struct RnnStepForwardArgs {
  rnn::Mode mode = rnn::Mode::Tanh;
  DType dtype = DType::Float32;
  int64_t rows = 0, rows_prev = 0, H = 0;
  const void* xg = nullptr;      // (rows, G*H): x_t W_ih^T
  const void* hg = nullptr;      // (rows, G*H): h_{t-1} W_hh^T
  const void* b_ih = nullptr;    // (G*H,) or null
  const void* b_hh = nullptr;    // (G*H,) or null
  const void* h_prev = nullptr;  // GRU: (rows, H)
  const void* h_init = nullptr;  // GRU: (rows, H)
  const void* c_prev = nullptr;  // LSTM: (rows, H)
  const void* c_init = nullptr;  // LSTM: (rows, H)
  void* h = nullptr;             // (rows, H): the new hidden state (LSTM: before any projection)
  void* c = nullptr;             // LSTM: (rows, H) the new cell state
  void* gates = nullptr;         // (rows, S*H): the saved values (LSTM, GRU)
};
inline KernelSlot<void (*)(const RnnStepForwardArgs&)> rnn_step_forward_kernel{"rnn_step_forward"};

// The same step backwards. dh (+ dh_extra when given) is the gradient reaching h_t.
struct RnnStepBackwardArgs {
  rnn::Mode mode = rnn::Mode::Tanh;
  DType dtype = DType::Float32;
  int64_t rows = 0, rows_prev = 0, H = 0;
  const void* dh = nullptr;        // (rows, H)
  const void* dh_extra = nullptr;  // (rows, H) or null; may be the same memory as dh_prev
  const void* h = nullptr;         // plain RNN: (rows, H) this step's output
  const void* gates = nullptr;     // (rows, S*H) as saved by the forward
  const void* c = nullptr;         // LSTM: (rows, H) this step's cell state
  const void* c_prev = nullptr;    // LSTM: (rows, H)
  const void* c_init = nullptr;    // LSTM: (rows, H)
  const void* h_prev = nullptr;    // GRU: (rows, H)
  const void* h_init = nullptr;    // GRU: (rows, H)
  void* dc = nullptr;              // LSTM: (rows, H) in: gradient reaching c_t from later; out: for c_{t-1}
  void* dgi = nullptr;             // (rows, G*H): gradient of x_t W_ih^T (and of b_ih)
  void* dgh = nullptr;             // (rows, G*H): gradient of h_{t-1} W_hh^T; == dgi except for GRU
  void* dh_prev = nullptr;         // GRU: (rows, H) the direct part z*dh of the gradient of h_{t-1}
};
inline KernelSlot<void (*)(const RnnStepBackwardArgs&)> rnn_step_backward_kernel{"rnn_step_backward"};

}  // namespace pe::ops
