// The norm family: batch / group / layer / RMS normalization, each a forward that returns the
// statistics its one fused backward kernel needs.
#include "bindings/bind.h"
#include "ops/norm.h"

namespace pe::bind {

void bind_norm(py::module_& m) {
  using ops::OptTensor;
  const auto mask = [](bool i, bool w, bool b) { return ops::GradMask{i, w, b}; };
  m.def("batch_norm_forward", &ops::batch_norm_forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("num_batches_tracked") = py::none(),
        py::arg("training") = true, py::arg("momentum") = 0.1, py::arg("eps") = 1e-5, release_gil(),
        "-> (out, save_mean, save_invstd). x (N, C, *); training: batch statistics (running stats updated "
        "in place when given; momentum None = cumulative average over num_batches_tracked, which is "
        "incremented); eval: running statistics");
  m.def(
      "batch_norm_backward",
      [=](const Tensor& grad, const Tensor& x, const OptTensor& weight, const Tensor& save_mean,
          const Tensor& save_invstd, bool training, bool need_input, bool need_weight, bool need_bias) {
        return ops::batch_norm_backward(grad, x, weight, save_mean, save_invstd, training,
                                        mask(need_input, need_weight, need_bias));
      },
      py::arg("grad"), py::arg("x"), py::arg("weight"), py::arg("save_mean"), py::arg("save_invstd"),
      py::arg("training") = true, py::arg("need_input") = true, py::arg("need_weight") = true,
      py::arg("need_bias") = true, release_gil(),
      "-> (grad_input, grad_weight, grad_bias), None where not needed; one fused kernel");
  m.def("group_norm_forward", &ops::group_norm_forward, py::arg("x"), py::arg("num_groups"), py::arg("weight"),
        py::arg("bias"), py::arg("eps") = 1e-5, release_gil(), "-> (out, mean (N, G), rstd (N, G))");
  m.def(
      "group_norm_backward",
      [=](const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd, int64_t num_groups,
          const OptTensor& weight, bool need_input, bool need_weight, bool need_bias) {
        return ops::group_norm_backward(grad, x, mean, rstd, num_groups, weight,
                                        mask(need_input, need_weight, need_bias));
      },
      py::arg("grad"), py::arg("x"), py::arg("mean"), py::arg("rstd"), py::arg("num_groups"), py::arg("weight"),
      py::arg("need_input") = true, py::arg("need_weight") = true, py::arg("need_bias") = true, release_gil(),
      "-> (grad_input, grad_weight, grad_bias)");
  m.def("layer_norm_forward", &ops::layer_norm_forward, py::arg("x"), py::arg("normalized_shape"),
        py::arg("weight"), py::arg("bias"), py::arg("eps") = 1e-5, release_gil(),
        "-> (out, mean (M,), rstd (M,)) over the trailing normalized_shape dims");
  m.def(
      "layer_norm_backward",
      [=](const Tensor& grad, const Tensor& x, const Shape& normalized_shape, const Tensor& mean,
          const Tensor& rstd, const OptTensor& weight, bool need_input, bool need_weight, bool need_bias) {
        return ops::layer_norm_backward(grad, x, normalized_shape, mean, rstd, weight,
                                        mask(need_input, need_weight, need_bias));
      },
      py::arg("grad"), py::arg("x"), py::arg("normalized_shape"), py::arg("mean"), py::arg("rstd"),
      py::arg("weight"), py::arg("need_input") = true, py::arg("need_weight") = true, py::arg("need_bias") = true,
      release_gil(), "-> (grad_input, grad_weight, grad_bias)");
  m.def("rms_norm_forward", &ops::rms_norm_forward, py::arg("x"), py::arg("normalized_shape"), py::arg("weight"),
        py::arg("eps"), release_gil(), "-> (out, rstd (M,)): x / sqrt(mean(x^2) + eps) * weight");
  m.def(
      "rms_norm_backward",
      [=](const Tensor& grad, const Tensor& x, const Shape& normalized_shape, const Tensor& rstd,
          const OptTensor& weight, bool need_input, bool need_weight) {
        auto [gx, gw, gb] = ops::rms_norm_backward(grad, x, normalized_shape, rstd, weight,
                                                   mask(need_input, need_weight, false));
        return std::make_tuple(gx, gw);
      },
      py::arg("grad"), py::arg("x"), py::arg("normalized_shape"), py::arg("rstd"), py::arg("weight"),
      py::arg("need_input") = true, py::arg("need_weight") = true, release_gil(), "-> (grad_input, grad_weight)");
}

}  // namespace pe::bind
