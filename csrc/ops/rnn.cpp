// The sequence loop of a recurrent layer, forward and backward through time (see ops/rnn.h).
//
// Forward: xg = x W_ih^T for all T*B rows in one GEMM; then per step the recurrent product
// hg = h_{t-1} W_hh^T (a GEMM on the active rows, reading h_{t-1} straight from the previous
// step's output rows or from h0) and the fused step kernel; an LSTM projection is one more GEMM
// per step. Backward walks the steps the other way with the fused backward kernel and one GEMM
// per step for the gradient carried to h_{t-1}; the weight gradients of all steps are then one
// GEMM each: dW_ih = dgi^T x, dW_hh = dgh^T [h_{t-1} of every step], dW_hr = dh^T h_pre.
//
// The h_{t-1} of every step is y shifted by one step, except for a row's first step, which
// continues from h0: rows outside a step have zeros in y and in the gate gradients, so the
// shifted product picks up exactly the pairs that exist, and the first steps' gate gradients,
// collected in `dg_init`, meet h0 in one more GEMM.
#include "ops/rnn.h"

#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace pe::ops {
namespace {

const char* mode_name(rnn::Mode m) {
  switch (m) {
    case rnn::Mode::Tanh: return "RNN_TANH";
    case rnn::Mode::Relu: return "RNN_RELU";
    case rnn::Mode::Lstm: return "LSTM";
    case rnn::Mode::Gru: return "GRU";
  }
  return "RNN";
}

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

// The sizes of one layer, checked once.
struct LayerDims {
  int64_t T, B, I, G, H, P;
};

void check_operand(const char* what, const Tensor& t, const Shape& expected, const Tensor& x) {
  PE_CHECK(t.shape() == expected, ValueError, what,
           ": expected shape ", shape_str(expected), ", got ", shape_str(t.shape()));
  PE_CHECK(t.dtype() == x.dtype(), TypeError, what, ": expected dtype ", dtype_name(x.dtype()), " (the input's), got ",
           dtype_name(t.dtype()));
  check_same_device("rnn", x, "input", t, what);
}

LayerDims check_layer(rnn::Mode mode, const Tensor& x, const Tensor& h0, const OptTensor& c0, const RnnWeights& w,
                 const std::vector<int64_t>& batch_sizes) {
  const char* name = mode_name(mode);
  PE_CHECK(x.ndim() == 3, ValueError, name, ": expected input of shape (T, B, input_size), got ", shape_str(x.shape()));
  PE_CHECK(is_floating(x.dtype()), TypeError, name, ": expected a float32 or float64 input, got ",
           dtype_name(x.dtype()));
  LayerDims d{x.size(0), x.size(1), x.size(2), rnn::gate_count(mode), 0, 0};
  PE_CHECK(d.T > 0, ValueError, name, ": expected a sequence length larger than 0, got input of shape ",
           shape_str(x.shape()));
  PE_CHECK(w.w_ih.ndim() == 2 && w.w_ih.size(0) % d.G == 0 && w.w_ih.size(0) > 0, ValueError, name,
           ": weight_ih must be (", d.G, "*hidden_size, input_size), got ", shape_str(w.w_ih.shape()));
  d.H = w.w_ih.size(0) / d.G;
  d.P = w.w_hr ? w.w_hr->size(0) : d.H;
  PE_CHECK(!w.w_hr || mode == rnn::Mode::Lstm, ValueError, name, ": a projection (weight_hr) is only for LSTM");
  check_operand("weight_ih", w.w_ih, {d.G * d.H, d.I}, x);
  check_operand("weight_hh", w.w_hh, {d.G * d.H, d.P}, x);
  if (w.b_ih) check_operand("bias_ih", *w.b_ih, {d.G * d.H}, x);
  if (w.b_hh) check_operand("bias_hh", *w.b_hh, {d.G * d.H}, x);
  if (w.w_hr) check_operand("weight_hr", *w.w_hr, {d.P, d.H}, x);
  check_operand("hx", h0, {d.B, d.P}, x);
  PE_CHECK(c0.has_value() == (mode == rnn::Mode::Lstm), ValueError, name,
           mode == rnn::Mode::Lstm ? ": expected a cell state c0" : ": takes no cell state");
  if (c0) check_operand("cx", *c0, {d.B, d.H}, x);
  if (!batch_sizes.empty()) {
    PE_CHECK(int64_t(batch_sizes.size()) == d.T, ValueError, name, ": expected ", d.T,
             " batch sizes (one per step), got ", batch_sizes.size());
    PE_CHECK(batch_sizes[0] == d.B, ValueError, name, ": the first batch size must be the batch size ", d.B, ", got ",
             batch_sizes[0]);
    for (int64_t t = 1; t < d.T; ++t)
      PE_CHECK(batch_sizes[t] >= 1 && batch_sizes[t] <= batch_sizes[t - 1], ValueError, name,
               ": batch sizes must be positive and non-increasing, got ", batch_sizes[t], " after ", batch_sizes[t - 1]);
  }
  return d;
}

// The schedule of a layer: which rows take part in step t, and which rows continue from the
// neighbouring step (the one processed just before t in the forward direction).
struct Schedule {
  LayerDims d;
  const std::vector<int64_t>& sizes;
  bool reverse;
  int64_t rows(int64_t t) const { return sizes.empty() ? d.B : sizes[t]; }
  int64_t prev_step(int64_t t) const { return reverse ? t + 1 : t - 1; }
  bool has_prev(int64_t t) const { return reverse ? t + 1 < d.T : t > 0; }
  // Rows [0, rows_prev) continue from step prev_step(t), rows [rows_prev, rows) from h0/c0.
  int64_t rows_prev(int64_t t) const { return has_prev(t) ? std::min(rows(t), rows(prev_step(t))) : 0; }
  // The forward's s-th step.
  int64_t step(int64_t s) const { return reverse ? d.T - 1 - s : s; }
  // Rows whose last forward step is t: their state is final there.
  std::pair<int64_t, int64_t> finishing(int64_t t) const {
    if (reverse) return {t == 0 ? 0 : rows(t), rows(t)};
    return {t + 1 < d.T ? rows(t + 1) : 0, rows(t)};
  }
};

// Rows [r0, r1) of a 2-D tensor, or of step t of a 3-D one.
Tensor rows_of(const Tensor& m, int64_t r0, int64_t r1) { return slice(m, 0, r0, r1, 1); }
Tensor rows_of(const Tensor& seq, int64_t t, int64_t r0, int64_t r1) { return slice(select(seq, 0, t), 0, r0, r1, 1); }
// (T, B, F) -> (T*B, F) of steps [t0, t1).
Tensor steps_flat(const Tensor& seq, int64_t t0, int64_t t1) {
  Tensor s = slice(seq, 0, t0, t1, 1);
  return view(s, {s.size(0) * s.size(1), s.size(2)});
}

// c = alpha a @ b + beta c through the device's GEMM; skipped when there is nothing to compute.
void mm(const Tensor& c, const Tensor& a, const Tensor& b, double beta = 0.0) {
  if (c.numel() == 0) return;
  gemm_kernel(c.device(), c, a, b, 1.0, beta);
}

// What every step kernel call starts with: the cell, the dtype, and which rows take part.
template <class Args>
Args step_args(rnn::Mode mode, DType dtype, int64_t rows, int64_t rows_prev, int64_t H) {
  Args a;
  a.mode = mode;
  a.dtype = dtype;
  a.rows = rows;
  a.rows_prev = rows_prev;
  a.H = H;
  return a;
}

const void* ptr(const OptTensor& t) { return t ? t->raw_data() : nullptr; }

Tensor zeros(const Shape& s, const Tensor& like) { return full(s, 0.0, like.dtype(), like.device()); }
Tensor empty_seq(const Shape& s, const Tensor& like, bool zeroed) {
  return zeroed ? zeros(s, like) : Tensor::empty(s, like.dtype(), like.device());
}

// w^T for the per-step GEMMs: the GEMM packs a row-major right operand with straight copies and
// a transposed view with transposes, and a step loop packs it T times, so a sequence pays once
// for a contiguous copy; a single step (a cell) takes the view.
Tensor transposed(const Tensor& w, int64_t steps) {
  Tensor t = transpose(w, 0, 1);
  return steps > 2 ? contiguous(t) : t;
}

RnnWeights contiguous_weights(const RnnWeights& w) {
  auto c = [](const OptTensor& t) -> OptTensor { return t ? OptTensor(contiguous(*t)) : std::nullopt; };
  return {contiguous(w.w_ih), contiguous(w.w_hh), c(w.b_ih), c(w.b_hh), c(w.w_hr)};
}

}  // namespace

RnnForward rnn_layer_forward(rnn::Mode mode, const Tensor& x_in, const Tensor& h0_in, const OptTensor& c0_in,
                             const RnnWeights& w_in, const std::vector<int64_t>& batch_sizes, bool reverse,
                             bool save) {
  const LayerDims d = check_layer(mode, x_in, h0_in, c0_in, w_in, batch_sizes);
  const Schedule sched{d, batch_sizes, reverse};
  const Tensor x = contiguous(x_in), h0 = contiguous(h0_in);
  const OptTensor c0 = c0_in ? OptTensor(contiguous(*c0_in)) : std::nullopt;
  const RnnWeights w = contiguous_weights(w_in);
  const bool packed = !batch_sizes.empty(), lstm = mode == rnn::Mode::Lstm, proj = w.w_hr.has_value();
  const int64_t GH = d.G * d.H;

  // The input projection of every step at once.
  Tensor xg = Tensor::empty({d.T, d.B, GH}, x.dtype(), x.device());
  mm(steps_flat(xg, 0, d.T), steps_flat(x, 0, d.T), transpose(w.w_ih, 0, 1));

  RnnForward out;
  // Rows outside a step must read as zeros in y (and h_pre), see the top of this file.
  out.y = empty_seq({d.T, d.B, d.P}, x, packed);
  // Without backward (save = false) the per-step values live in buffers reused across steps,
  // which stay in cache: one step's gates and h_pre, two cell states (this step's and the last).
  const int64_t kept = save ? d.T : 1;
  auto slot = [&](int64_t t) { return save ? t : int64_t(0); };         // gates, h_pre
  auto c_slot = [&](int64_t t, int64_t s) { return save ? t : s % 2; };      // cell states
  out.gates = Tensor::empty({kept, d.B, rnn::saved_gate_count(mode) * d.H}, x.dtype(), x.device());
  out.h_n = Tensor::empty({d.B, d.P}, x.dtype(), x.device());
  if (lstm) {
    out.c = Tensor::empty({save ? d.T : 2, d.B, d.H}, x.dtype(), x.device());
    out.c_n = Tensor::empty({d.B, d.H}, x.dtype(), x.device());
  }
  if (proj) out.h_pre = empty_seq({kept, d.B, d.H}, x, packed);
  Tensor hg = Tensor::empty({d.B, GH}, x.dtype(), x.device());
  const Tensor w_hh_t = transposed(w.w_hh, d.T);
  const OptTensor w_hr_t = proj ? OptTensor(transposed(*w.w_hr, d.T)) : std::nullopt;

  for (int64_t s = 0; s < d.T; ++s) {
    const int64_t t = sched.step(s), n = sched.rows(t), np = sched.rows_prev(t), tp = sched.prev_step(t);
    if (np > 0) mm(rows_of(hg, 0, np), rows_of(out.y, tp, 0, np), w_hh_t);
    if (np < n) mm(rows_of(hg, np, n), rows_of(h0, np, n), w_hh_t);

    auto a = step_args<RnnStepForwardArgs>(mode, x.dtype(), n, np, d.H);
    a.xg = select(xg, 0, t).raw_data();
    a.hg = hg.raw_data();
    a.b_ih = ptr(w.b_ih);
    a.b_hh = ptr(w.b_hh);
    if (np > 0) a.h_prev = select(out.y, 0, tp).raw_data();
    a.h_init = h0.raw_data();
    if (lstm) {
      if (np > 0) a.c_prev = select(*out.c, 0, c_slot(tp, s - 1)).raw_data();
      a.c_init = c0->raw_data();
      a.c = select(*out.c, 0, c_slot(t, s)).raw_data();
    }
    a.h = proj ? select(*out.h_pre, 0, slot(t)).raw_data() : select(out.y, 0, t).raw_data();
    a.gates = select(out.gates, 0, slot(t)).raw_data();
    rnn_step_forward_kernel(x.device(), a);
    if (proj) mm(rows_of(out.y, t, 0, n), rows_of(*out.h_pre, slot(t), 0, n), *w_hr_t);

    const auto [f0, f1] = sched.finishing(t);
    if (f0 < f1) {
      copy_(rows_of(out.h_n, f0, f1), rows_of(out.y, t, f0, f1));
      if (lstm) copy_(rows_of(*out.c_n, f0, f1), rows_of(*out.c, c_slot(t, s), f0, f1));
    }
  }
  return out;
}

RnnGrads rnn_layer_backward(rnn::Mode mode, const Tensor& x_in, const Tensor& h0_in, const OptTensor& c0_in,
                            const RnnWeights& w_in, const std::vector<int64_t>& batch_sizes, bool reverse,
                            const RnnForward& saved, const OptTensor& dy_in, const OptTensor& dh_n,
                            const OptTensor& dc_n, bool need_x) {
  const LayerDims d = check_layer(mode, x_in, h0_in, c0_in, w_in, batch_sizes);
  const Schedule sched{d, batch_sizes, reverse};
  const Tensor x = contiguous(x_in), h0 = contiguous(h0_in);
  const OptTensor c0 = c0_in ? OptTensor(contiguous(*c0_in)) : std::nullopt;
  const RnnWeights w = contiguous_weights(w_in);
  const bool packed = !batch_sizes.empty(), lstm = mode == rnn::Mode::Lstm, gru = mode == rnn::Mode::Gru;
  const bool proj = w.w_hr.has_value();
  const int64_t GH = d.G * d.H;
  PE_CHECK(saved.y.shape() == Shape({d.T, d.B, d.P}), ValueError, mode_name(mode),
           " backward: the saved output does not match the input");
  if (dy_in) check_operand("grad_output", *dy_in, {d.T, d.B, d.P}, x);
  if (dh_n) check_operand("grad_h_n", *dh_n, {d.B, d.P}, x);
  if (dc_n) check_operand("grad_c_n", *dc_n, {d.B, d.H}, x);
  const Tensor dy = dy_in ? contiguous(*dy_in) : zeros({d.T, d.B, d.P}, x);

  // Gate gradients: rows outside a step stay zero (they meet y's zeros in the weight GEMMs).
  Tensor dgi = empty_seq({d.T, d.B, GH}, x, packed);
  Tensor dgh = gru ? empty_seq({d.T, d.B, GH}, x, packed) : dgi;
  Tensor dg_init = Tensor::empty({d.B, GH}, x.dtype(), x.device());
  // The gradient carried to h_{t-1} (and c_{t-1}); after the loop, that of h0 (c0).
  Tensor dh = dh_n ? clone(*dh_n) : zeros({d.B, d.P}, x);
  OptTensor dc;
  if (lstm) dc = dc_n ? clone(*dc_n) : zeros({d.B, d.H}, x);
  OptTensor dh_total, dh_pre;  // projection: the gradient of y_t and of h_pre_t
  if (proj) {
    dh_total = empty_seq({d.T, d.B, d.P}, x, packed);
    dh_pre = Tensor::empty({d.B, d.H}, x.dtype(), x.device());
  }

  for (int64_t s = d.T - 1; s >= 0; --s) {
    const int64_t t = sched.step(s), n = sched.rows(t), np = sched.rows_prev(t), tp = sched.prev_step(t);
    auto a = step_args<RnnStepBackwardArgs>(mode, x.dtype(), n, np, d.H);
    if (proj) {
      binary(ew::BinaryOp::Add, rows_of(dy, t, 0, n), rows_of(dh, 0, n), rows_of(*dh_total, t, 0, n));
      mm(rows_of(*dh_pre, 0, n), rows_of(*dh_total, t, 0, n), *w.w_hr);
      a.dh = dh_pre->raw_data();
    } else {
      a.dh = select(dy, 0, t).raw_data();
      a.dh_extra = dh.raw_data();
    }
    a.h = select(saved.y, 0, t).raw_data();
    a.gates = select(saved.gates, 0, t).raw_data();
    if (lstm) {
      a.c = select(*saved.c, 0, t).raw_data();
      if (np > 0) a.c_prev = select(*saved.c, 0, tp).raw_data();
      a.c_init = c0->raw_data();
      a.dc = dc->raw_data();
    }
    if (gru) {
      if (np > 0) a.h_prev = select(saved.y, 0, tp).raw_data();
      a.h_init = h0.raw_data();
      a.dh_prev = dh.raw_data();
    }
    a.dgi = select(dgi, 0, t).raw_data();
    a.dgh = select(dgh, 0, t).raw_data();
    rnn_step_backward_kernel(x.device(), a);
    // The gradient reaching h_{t-1}: through W_hh (plus GRU's direct z*dh, already in dh).
    mm(rows_of(dh, 0, n), rows_of(dgh, t, 0, n), w.w_hh, gru ? 1.0 : 0.0);
    if (np < n) copy_(rows_of(dg_init, np, n), rows_of(dgh, t, np, n));
  }

  RnnGrads g;
  g.h0 = dh;
  g.c0 = dc;
  const Tensor dgi_flat = steps_flat(dgi, 0, d.T);
  if (need_x) {
    g.x = Tensor::empty({d.T, d.B, d.I}, x.dtype(), x.device());
    mm(steps_flat(*g.x, 0, d.T), dgi_flat, w.w_ih);
  }
  g.w_ih = Tensor::empty({GH, d.I}, x.dtype(), x.device());
  mm(*g.w_ih, transpose(dgi_flat, 0, 1), steps_flat(x, 0, d.T));
  // dW_hh = sum over steps of dgh_t^T h_{t-1}: y shifted by one step, then the first steps' h0.
  g.w_hh = zeros({GH, d.P}, x);
  const Tensor dgh_shift = reverse ? steps_flat(dgh, 0, d.T - 1) : steps_flat(dgh, 1, d.T);
  const Tensor y_shift = reverse ? steps_flat(saved.y, 1, d.T) : steps_flat(saved.y, 0, d.T - 1);
  if (d.T > 1) mm(*g.w_hh, transpose(dgh_shift, 0, 1), y_shift);
  mm(*g.w_hh, transpose(dg_init, 0, 1), h0, 1.0);
  if (w.b_ih) g.b_ih = sum(dgi, std::vector<int64_t>{0, 1}, false, std::nullopt);
  if (w.b_hh) g.b_hh = sum(dgh, std::vector<int64_t>{0, 1}, false, std::nullopt);
  if (proj) {
    g.w_hr = Tensor::empty({d.P, d.H}, x.dtype(), x.device());
    mm(*g.w_hr, transpose(steps_flat(*dh_total, 0, d.T), 0, 1), steps_flat(*saved.h_pre, 0, d.T));
  }
  return g;
}

std::array<RnnForward, 2> rnn_bidirectional_forward(rnn::Mode mode, const Tensor& x,
                                                   const std::array<RnnDirection, 2>& dirs,
                                                   const std::vector<int64_t>& batch_sizes, bool save) {
  for (const RnnDirection& d : dirs) check_layer(mode, x, d.h0, d.c0, d.w, batch_sizes);  // before any work
  const Tensor xc = contiguous(x);  // once, not per direction
  std::array<RnnForward, 2> out;
  side_by_side_kernel(x.device(), 2, [&](int64_t i) {
    out[i] = rnn_layer_forward(mode, xc, dirs[i].h0, dirs[i].c0, dirs[i].w, batch_sizes, i == 1, save);
  });
  return out;
}

std::array<RnnGrads, 2> rnn_bidirectional_backward(rnn::Mode mode, const Tensor& x,
                                                  const std::array<RnnDirection, 2>& dirs,
                                                  const std::vector<int64_t>& batch_sizes,
                                                  const std::array<RnnDirectionGrads, 2>& grads, bool need_x) {
  for (const RnnDirection& d : dirs) check_layer(mode, x, d.h0, d.c0, d.w, batch_sizes);
  const Tensor xc = contiguous(x);
  std::array<RnnGrads, 2> out;
  side_by_side_kernel(x.device(), 2, [&](int64_t i) {
    const RnnDirectionGrads& g = grads[i];
    out[i] = rnn_layer_backward(mode, xc, dirs[i].h0, dirs[i].c0, dirs[i].w, batch_sizes, i == 1, *g.saved, g.dy,
                                g.dh_n, g.dc_n, need_x);
  });
  if (need_x) {
    binary(ew::BinaryOp::Add, *out[0].x, *out[1].x, *out[0].x);
    out[1].x.reset();
  }
  return out;
}

}  // namespace pe::ops
