"""RMSprop, optionally centered and with momentum (PyTorch's rule)."""
from .. import _C
from .optimizer import Optimizer, _as_float, _state_buffer


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        momentum = _as_float(group["momentum"])
        centered = bool(group["centered"])
        if not state:
            state["step"] = 0.0
            state["square_avg"] = _state_buffer(p)
        # Buffers for options switched on later start at zero, as PyTorch's do on the first step.
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = _state_buffer(p)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = _state_buffer(p)
        _C.rmsprop_step_(p._impl, p.grad._impl, state["square_avg"]._impl,
                         state["grad_avg"]._impl if centered else None,
                         state["momentum_buffer"]._impl if momentum > 0 else None, _as_float(group["lr"]),
                         _as_float(group["alpha"]), _as_float(group["eps"]), _as_float(group["weight_decay"]),
                         momentum, centered, bool(group["maximize"]))
        state["step"] += 1
