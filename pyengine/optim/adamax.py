"""Adamax (Adam with the infinity norm), with L2 weight decay and maximize: PyTorch's rule, one
fused kernel per parameter and step."""
from .. import _C
from .optimizer import Optimizer, _as_float, _check_adam_args, _state_buffer


class Adamax(Optimizer):
    """Implements Adamax (Kingma & Ba, 2014, section 7) as torch.optim.Adamax does."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = _state_buffer(p)
            state["exp_inf"] = _state_buffer(p)
        step = state["step"] + 1
        beta1, beta2 = group["betas"]
        _C.adamax_step_(p._impl, p.grad._impl, state["exp_avg"]._impl, state["exp_inf"]._impl, step,
                        _as_float(group["lr"]), _as_float(beta1), _as_float(beta2), _as_float(group["eps"]),
                        _as_float(group["weight_decay"]), bool(group["maximize"]))
        state["step"] = step
