"""Adadelta with L2 weight decay and maximize (PyTorch's rule)."""
from .. import _C
from .optimizer import Optimizer, _as_float, _state_buffer


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        if not state:
            state["step"] = 0.0
            state["square_avg"] = _state_buffer(p)
            state["acc_delta"] = _state_buffer(p)
        _C.adadelta_step_(p._impl, p.grad._impl, state["square_avg"]._impl, state["acc_delta"]._impl,
                          _as_float(group["lr"]), _as_float(group["rho"]), _as_float(group["eps"]),
                          _as_float(group["weight_decay"]), bool(group["maximize"]))
        state["step"] += 1
