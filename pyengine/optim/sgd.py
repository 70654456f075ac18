"""SGD with momentum, dampening, Nesterov momentum, L2 weight decay and maximize (PyTorch's rule)."""
from .. import _C
from .optimizer import Optimizer, _as_float, _state_buffer


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        # foreach/fused are accepted for PyTorch compatibility: every step here is one fused kernel.
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        momentum = _as_float(group["momentum"])
        buf = state.get("momentum_buffer") if momentum != 0 else None
        first = momentum != 0 and buf is None
        if first:
            buf = _state_buffer(p)  # the kernel fills it with the gradient, as PyTorch's clone does
        _C.sgd_step_(p._impl, p.grad._impl, None if buf is None else buf._impl, _as_float(group["lr"]), momentum,
                     _as_float(group["dampening"]), _as_float(group["weight_decay"]), bool(group["nesterov"]),
                     bool(group["maximize"]), first)
        if first:
            state["momentum_buffer"] = buf
