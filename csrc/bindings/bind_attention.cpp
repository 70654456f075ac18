// The attention family: fused scaled dot-product attention, forward and backward (ops/attention.h).
// The forward also returns lse, the per-row log of the softmax denominator that the backward reads.
#include "bindings/bind.h"
#include "ops/attention.h"

namespace pe::bind {

void bind_attention(py::module_& m) {
  using ops::OptTensor;
  m.def(
      "scaled_dot_product_attention",
      [](const Tensor& q, const Tensor& k, const Tensor& v, const OptTensor& mask, bool causal, double scale) {
        ReleaseGil nogil;
        ops::AttentionForward f = ops::attention_forward(q, k, v, mask, causal, scale);
        return std::make_tuple(f.out, f.lse);
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask") = py::none(), py::arg("causal") = false,
      py::arg("scale"),
      "-> (out (batch..., L, Ev), lse (batch..., L)): softmax(scale * q k^T + mask) v, fused (the (L, S) scores "
      "are never materialised); q (..., L, E), k (..., S, E), v (..., S, Ev) with broadcasting batch dims; mask "
      "bool (true = the key takes part) or q's dtype (added), broadcastable to (batch..., L, S); causal: query i "
      "sees keys j <= i; rows that see no key give zeros and lse = -inf");
  m.def(
      "scaled_dot_product_attention_backward",
      [](const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v, const OptTensor& mask,
         bool causal, double scale, const Tensor& out, const Tensor& lse) {
        ReleaseGil nogil;
        ops::AttentionGrads g = ops::attention_backward(grad_out, q, k, v, mask, causal, scale, {out, lse});
        return std::make_tuple(g.dq, g.dk, g.dv);
      },
      py::arg("grad_out"), py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask"), py::arg("causal"),
      py::arg("scale"), py::arg("out"), py::arg("lse"),
      "-> (dq, dk, dv) over the broadcast batch shape (contiguous): the fused backward, recomputing each tile of "
      "probabilities from the forward's out and lse for the same arguments");
}

}  // namespace pe::bind
