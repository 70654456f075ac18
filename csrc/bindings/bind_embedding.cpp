// embedding_bag: one fused forward and one fused backward (ops/embedding.h).
#include "bindings/bind.h"
#include "ops/embedding.h"

namespace pe::bind {
namespace {

using OptTensor = std::optional<Tensor>;

// (a, b) with an undefined b as None.
py::tuple pair_or_none(const std::pair<Tensor, Tensor>& r) {
  return py::make_tuple(r.first, r.second.defined() ? py::cast(r.second) : py::none());
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding_bag_check", &ops::embedding_bag_check, py::arg("weight"), py::arg("indices"), py::arg("offsets"),
        py::arg("include_last_offset"), py::arg("per_sample_weights") = py::none(), release_gil(),
        "every check embedding_bag_forward makes (index and offset values included), nothing else");
  m.def(
      "embedding_bag_forward",
      [](const Tensor& weight, const Tensor& indices, const Tensor& offsets, bool include_last_offset,
         const OptTensor& psw, const std::string& mode, int64_t padding_idx) {
        std::pair<Tensor, Tensor> r;
        {
          ReleaseGil nogil;
          r = ops::embedding_bag_forward(weight, indices, offsets, include_last_offset, psw, mode, padding_idx);
        }
        return pair_or_none(r);
      },
      py::arg("weight"), py::arg("indices"), py::arg("offsets"), py::arg("include_last_offset"),
      py::arg("per_sample_weights"), py::arg("mode"), py::arg("padding_idx") = -1,
      "-> (out (bags, D), max_indices (bags, D) int64 in max mode else None)");
  m.def(
      "embedding_bag_backward",
      [](const Tensor& grad, const Tensor& indices, const Tensor& offsets, bool include_last_offset,
         const OptTensor& psw, const std::string& mode, int64_t padding_idx, const OptTensor& max_indices,
         int64_t num_weights, bool scale_grad_by_freq, const OptTensor& weight) {
        std::pair<Tensor, Tensor> r;
        {
          ReleaseGil nogil;
          r = ops::embedding_bag_backward(grad, indices, offsets, include_last_offset, psw, mode, padding_idx,
                                          max_indices, num_weights, scale_grad_by_freq, weight);
        }
        return pair_or_none(r);
      },
      py::arg("grad"), py::arg("indices"), py::arg("offsets"), py::arg("include_last_offset"),
      py::arg("per_sample_weights"), py::arg("mode"), py::arg("padding_idx"), py::arg("max_indices"),
      py::arg("num_weights"), py::arg("scale_grad_by_freq"), py::arg("weight") = py::none(),
      "-> (grad_weight (num_weights, D), grad_per_sample_weights (n,) when weight is given else None)");
}

}  // namespace pe::bind
