// The recurrent family: one layer in one direction over a whole sequence, forward and backward
// through time (ops/rnn.h). The forward also returns what its backward reads.
#include "bindings/bind.h"
#include "ops/rnn.h"

namespace pe::bind {
namespace {

rnn::Mode parse_mode(const std::string& s) {
  if (s == "rnn_tanh") return rnn::Mode::Tanh;
  if (s == "rnn_relu") return rnn::Mode::Relu;
  if (s == "lstm") return rnn::Mode::Lstm;
  if (s == "gru") return rnn::Mode::Gru;
  throw ValueError("rnn: mode must be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru', got '" + s + "'");
}

// A direction as Python passes it: (h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr).
using DirectionTuple = std::tuple<Tensor, ops::OptTensor, Tensor, Tensor, ops::OptTensor, ops::OptTensor, ops::OptTensor>;
// What backward gets per direction: (y, gates, c, h_pre, dy, dh_n, dc_n).
using DirectionGradTuple = std::tuple<Tensor, Tensor, ops::OptTensor, ops::OptTensor, ops::OptTensor, ops::OptTensor,
                                      ops::OptTensor>;

ops::RnnDirection direction(const DirectionTuple& t) {
  const auto& [h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr] = t;
  return {h0, c0, {w_ih, w_hh, b_ih, b_hh, w_hr}};
}

}  // namespace

void bind_rnn(py::module_& m) {
  using ops::OptTensor;
  m.def(
      "rnn_layer_forward",
      [](const std::string& mode, const Tensor& x, const Tensor& h0, const OptTensor& c0, const Tensor& w_ih,
         const Tensor& w_hh, const OptTensor& b_ih, const OptTensor& b_hh, const OptTensor& w_hr,
         const std::vector<int64_t>& batch_sizes, bool reverse, bool save) {
        const rnn::Mode md = parse_mode(mode);
        ReleaseGil nogil;
        ops::RnnForward f =
            ops::rnn_layer_forward(md, x, h0, c0, {w_ih, w_hh, b_ih, b_hh, w_hr}, batch_sizes, reverse, save);
        return std::make_tuple(f.y, f.h_n, f.c_n, f.gates, f.c, f.h_pre);
      },
      py::arg("mode"), py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"),
      py::arg("b_hh"), py::arg("w_hr") = py::none(), py::arg("batch_sizes") = std::vector<int64_t>{},
      py::arg("reverse") = false, py::arg("save") = true,
      "-> (y (T, B, P), h_n (B, P), c_n (B, H) or None, gates, c, h_pre): one layer, one direction; "
      "mode 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru'; x (T, B, I); batch_sizes [] or T non-increasing sizes "
      "(PackedSequence order); the last three results are what rnn_layer_backward reads (save=False: "
      "no backward will follow, per-step values not kept)");
  m.def(
      "rnn_layer_backward",
      [](const std::string& mode, const Tensor& x, const Tensor& h0, const OptTensor& c0, const Tensor& w_ih,
         const Tensor& w_hh, const OptTensor& b_ih, const OptTensor& b_hh, const OptTensor& w_hr,
         const std::vector<int64_t>& batch_sizes, bool reverse, const Tensor& y, const Tensor& gates,
         const OptTensor& c, const OptTensor& h_pre, const OptTensor& dy, const OptTensor& dh_n,
         const OptTensor& dc_n, bool need_x) {
        const rnn::Mode md = parse_mode(mode);
        ReleaseGil nogil;
        ops::RnnForward saved{y, y, std::nullopt, gates, c, h_pre};
        ops::RnnGrads g = ops::rnn_layer_backward(md, x, h0, c0, {w_ih, w_hh, b_ih, b_hh, w_hr}, batch_sizes,
                                                  reverse, saved, dy, dh_n, dc_n, need_x);
        return std::make_tuple(g.x, g.h0, g.c0, g.w_ih, g.w_hh, g.b_ih, g.b_hh, g.w_hr);
      },
      py::arg("mode"), py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"),
      py::arg("b_hh"), py::arg("w_hr"), py::arg("batch_sizes"), py::arg("reverse"), py::arg("y"), py::arg("gates"),
      py::arg("c"), py::arg("h_pre"), py::arg("dy"), py::arg("dh_n"), py::arg("dc_n"), py::arg("need_x") = true,
      "-> (dx or None, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr): backward through time of "
      "rnn_layer_forward; dy, dh_n, dc_n None = zero");
  m.def(
      "rnn_bidirectional_forward",
      [](const std::string& mode, const Tensor& x, const DirectionTuple& fwd, const DirectionTuple& rev,
         const std::vector<int64_t>& batch_sizes, bool save) {
        const rnn::Mode md = parse_mode(mode);
        ReleaseGil nogil;
        auto f = ops::rnn_bidirectional_forward(md, x, {direction(fwd), direction(rev)}, batch_sizes, save);
        auto tuple = [](const ops::RnnForward& r) { return std::make_tuple(r.y, r.h_n, r.c_n, r.gates, r.c, r.h_pre); };
        return std::make_tuple(tuple(f[0]), tuple(f[1]));
      },
      py::arg("mode"), py::arg("x"), py::arg("forward"), py::arg("reverse"),
      py::arg("batch_sizes") = std::vector<int64_t>{}, py::arg("save") = true,
      "-> ((y, h_n, c_n, gates, c, h_pre) forward, (same) reverse): both directions of a layer, side by side "
      "on the CPU; each direction given as (h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)");
  m.def(
      "rnn_bidirectional_backward",
      [](const std::string& mode, const Tensor& x, const DirectionTuple& fwd, const DirectionTuple& rev,
         const std::vector<int64_t>& batch_sizes, const DirectionGradTuple& gf, const DirectionGradTuple& gr,
         bool need_x) {
        const rnn::Mode md = parse_mode(mode);
        ReleaseGil nogil;
        auto saved = [](const DirectionGradTuple& g) {
          return ops::RnnForward{std::get<0>(g), std::get<0>(g), std::nullopt, std::get<1>(g), std::get<2>(g),
                                 std::get<3>(g)};
        };
        const std::array<ops::RnnForward, 2> s{saved(gf), saved(gr)};
        auto grads = [&](const DirectionGradTuple& g, int i) {
          return ops::RnnDirectionGrads{&s[i], std::get<4>(g), std::get<5>(g), std::get<6>(g)};
        };
        auto r = ops::rnn_bidirectional_backward(md, x, {direction(fwd), direction(rev)}, batch_sizes,
                                                 {grads(gf, 0), grads(gr, 1)}, need_x);
        auto tuple = [](const ops::RnnGrads& g) {
          return std::make_tuple(g.h0, g.c0, g.w_ih, g.w_hh, g.b_ih, g.b_hh, g.w_hr);
        };
        return std::make_tuple(r[0].x, tuple(r[0]), tuple(r[1]));
      },
      py::arg("mode"), py::arg("x"), py::arg("forward"), py::arg("reverse"), py::arg("batch_sizes"),
      py::arg("grads_forward"), py::arg("grads_reverse"), py::arg("need_x") = true,
      "-> (dx or None, (dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr) forward, (same) reverse); grads_* = "
      "(y, gates, c, h_pre, dy, dh_n, dc_n) of each direction");
}

}  // namespace pe::bind
