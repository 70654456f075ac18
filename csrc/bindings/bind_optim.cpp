// Fused optimizer steps: one kernel per parameter and step (csrc/ops/optimizer.h). Arguments
// are positional-or-keyword with PyTorch's hyperparameter names; optional state buffers take
// None when their option is off. Each returns None and runs without the GIL.
#include "bindings/bind.h"
#include "ops/optimizer.h"

namespace pe::bind {

using ops::OptionalTensor;

void bind_optim(py::module_& m) {
  m.def(
      "sgd_step_",
      [](const Tensor& param, const Tensor& grad, const OptionalTensor& momentum_buf, double lr, double momentum,
         double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step) {
        ops::sgd_step_(param, grad, momentum_buf,
                       optim::SgdOptions{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step});
      },
      py::arg("param"), py::arg("grad"), py::arg("momentum_buf"), py::arg("lr"), py::arg("momentum") = 0.0,
      py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0, py::arg("nesterov") = false,
      py::arg("maximize") = false, py::arg("first_step") = false, release_gil(),
      "SGD update of param in place; momentum_buf (None when momentum == 0) is overwritten with the "
      "gradient when first_step.");

  m.def(
      "adam_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
         const OptionalTensor& max_exp_avg_sq, double step, double lr, double beta1, double beta2, double eps,
         double weight_decay, bool decoupled, bool amsgrad, bool maximize) {
        ops::adam_step_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,
                        optim::AdamOptions{lr, beta1, beta2, eps, weight_decay, step, decoupled, amsgrad, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("max_exp_avg_sq"),
      py::arg("step"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
      py::arg("weight_decay") = 0.0, py::arg("decoupled") = false, py::arg("amsgrad") = false,
      py::arg("maximize") = false, release_gil(),
      "Adam (decoupled=False) or AdamW (decoupled=True) update; step counts this update (1 first).");

  m.def(
      "rmsprop_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& square_avg, const OptionalTensor& grad_avg,
         const OptionalTensor& momentum_buf, double lr, double alpha, double eps, double weight_decay,
         double momentum, bool centered, bool maximize) {
        ops::rmsprop_step_(param, grad, square_avg, grad_avg, momentum_buf,
                           optim::RmspropOptions{lr, alpha, eps, weight_decay, momentum, centered, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("grad_avg"), py::arg("momentum_buf"),
      py::arg("lr"), py::arg("alpha") = 0.99, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0,
      py::arg("momentum") = 0.0, py::arg("centered") = false, py::arg("maximize") = false, release_gil(),
      "RMSprop update; grad_avg is needed when centered, momentum_buf when momentum > 0.");

  m.def(
      "adagrad_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& sum, double step, double lr, double lr_decay,
         double weight_decay, double eps, bool maximize) {
        ops::adagrad_step_(param, grad, sum, optim::AdagradOptions{lr, lr_decay, weight_decay, eps, step, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("sum"), py::arg("step"), py::arg("lr"), py::arg("lr_decay") = 0.0,
      py::arg("weight_decay") = 0.0, py::arg("eps") = 1e-10, py::arg("maximize") = false, release_gil(),
      "Adagrad update; step counts this update (1 first).");

  m.def(
      "adadelta_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& acc_delta, double lr,
         double rho, double eps, double weight_decay, bool maximize) {
        ops::adadelta_step_(param, grad, square_avg, acc_delta,
                            optim::AdadeltaOptions{lr, rho, eps, weight_decay, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("acc_delta"), py::arg("lr") = 1.0,
      py::arg("rho") = 0.9, py::arg("eps") = 1e-6, py::arg("weight_decay") = 0.0, py::arg("maximize") = false,
      release_gil(), "Adadelta update.");
  m.def(
      "nadam_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq, double step,
         double mu, double mu_next, double mu_product, double lr, double beta1, double beta2, double eps,
         double weight_decay, bool decoupled, bool maximize) {
        ops::nadam_step_(param, grad, exp_avg, exp_avg_sq,
                         optim::NadamOptions{lr, beta1, beta2, eps, weight_decay, step, mu, mu_next, mu_product,
                                             decoupled, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("step"), py::arg("mu"),
      py::arg("mu_next"), py::arg("mu_product"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
      py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("decoupled") = false,
      py::arg("maximize") = false, release_gil(),
      "NAdam update; step counts this update (1 first); mu, mu_next are the momentum cache at step and "
      "step + 1, mu_product the product of every mu up to and including this step's.");

  m.def(
      "radam_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq, double step,
         double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
        ops::radam_step_(param, grad, exp_avg, exp_avg_sq,
                         optim::RadamOptions{lr, beta1, beta2, eps, weight_decay, step, decoupled, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("step"), py::arg("lr"),
      py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0,
      py::arg("decoupled") = false, py::arg("maximize") = false, release_gil(),
      "RAdam update; step counts this update (1 first).");

  m.def(
      "adamax_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_inf, double step,
         double lr, double beta1, double beta2, double eps, double weight_decay, bool maximize) {
        ops::adamax_step_(param, grad, exp_avg, exp_inf,
                          optim::AdamaxOptions{lr, beta1, beta2, eps, weight_decay, step, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_inf"), py::arg("step"), py::arg("lr"),
      py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0,
      py::arg("maximize") = false, release_gil(), "Adamax update; step counts this update (1 first).");

  m.def(
      "sparse_adam_step_",
      [](const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq, double step,
         double lr, double beta1, double beta2, double eps, bool maximize) {
        ops::sparse_adam_step_(param, grad, exp_avg, exp_avg_sq,
                               optim::SparseAdamOptions{lr, beta1, beta2, eps, step, maximize});
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("step"), py::arg("lr"),
      py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8, py::arg("maximize") = false,
      release_gil(),
      "SparseAdam update of the rows (slices along dim 0) whose gradient has a nonzero element; the others "
      "are left as they are. step counts this update (1 first).");
}

}  // namespace pe::bind
