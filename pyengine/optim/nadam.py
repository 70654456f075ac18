"""NAdam (Adam with Nesterov momentum and momentum decay), with L2 or decoupled weight decay and
maximize: PyTorch's rule, one fused kernel per parameter and step."""
import numpy as np

from .. import _C
from .optimizer import Optimizer, _as_float, _check_adam_args, _state_buffer


class NAdam(Optimizer):
    """Implements NAdam (Dozat, 2016) as torch.optim.NAdam does.

    The momentum cache mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)) and its running
    product ("mu_product" in the state, kept in float32 as PyTorch keeps it) are computed here;
    the per-element update is one fused kernel (pyengine._C.nadam_step_).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        if not state:
            state["step"] = 0.0
            state["mu_product"] = 1.0
            state["exp_avg"] = _state_buffer(p)
            state["exp_avg_sq"] = _state_buffer(p)
        step = state["step"] + 1
        beta1, beta2 = (_as_float(b) for b in group["betas"])
        momentum_decay = _as_float(group["momentum_decay"])
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))  # a float32 product, as in PyTorch
        _C.nadam_step_(p._impl, p.grad._impl, state["exp_avg"]._impl, state["exp_avg_sq"]._impl, step, mu, mu_next,
                       mu_product, _as_float(group["lr"]), beta1, beta2, _as_float(group["eps"]),
                       _as_float(group["weight_decay"]), bool(group["decoupled_weight_decay"]),
                       bool(group["maximize"]))
        state["step"] = step
        state["mu_product"] = mu_product
