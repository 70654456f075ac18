"""Adam and AdamW (decoupled weight decay), with amsgrad and maximize (PyTorch's rule)."""
from .. import _C
from .optimizer import Optimizer, _as_float, _check_adam_args, _state_buffer


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, foreach=None, fused=None, decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        amsgrad = bool(group["amsgrad"])
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = _state_buffer(p)
            state["exp_avg_sq"] = _state_buffer(p)
            if amsgrad:
                state["max_exp_avg_sq"] = _state_buffer(p)
        if amsgrad and "max_exp_avg_sq" not in state:  # amsgrad switched on after the first step
            state["max_exp_avg_sq"] = _state_buffer(p)
        step = state["step"] + 1
        beta1, beta2 = group["betas"]
        _C.adam_step_(p._impl, p.grad._impl, state["exp_avg"]._impl, state["exp_avg_sq"]._impl,
                      state["max_exp_avg_sq"]._impl if amsgrad else None, step, _as_float(group["lr"]),
                      _as_float(beta1), _as_float(beta2), _as_float(group["eps"]), _as_float(group["weight_decay"]),
                      bool(group["decoupled_weight_decay"]), amsgrad, bool(group["maximize"]))
        state["step"] = step


class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p * (1 - lr * weight_decay) before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
