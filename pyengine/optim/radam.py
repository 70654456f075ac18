"""RAdam (rectified Adam), with L2 or decoupled weight decay and maximize: PyTorch's rule, one
fused kernel per parameter and step."""
from .. import _C
from .optimizer import Optimizer, _as_float, _check_adam_args, _state_buffer


class RAdam(Optimizer):
    """Implements RAdam (Liu et al., 2019) as torch.optim.RAdam does: while the variance of the
    adaptive learning rate is intractable (rho_t <= 5, the first few steps) the update is plain
    bias-corrected momentum; afterwards it is the rectified Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = _state_buffer(p)
            state["exp_avg_sq"] = _state_buffer(p)
        step = state["step"] + 1
        beta1, beta2 = group["betas"]
        _C.radam_step_(p._impl, p.grad._impl, state["exp_avg"]._impl, state["exp_avg_sq"]._impl, step,
                       _as_float(group["lr"]), _as_float(beta1), _as_float(beta2), _as_float(group["eps"]),
                       _as_float(group["weight_decay"]), bool(group["decoupled_weight_decay"]), bool(group["maximize"]))
        state["step"] = step
