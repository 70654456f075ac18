"""Adagrad with learning-rate decay, L2 weight decay and maximize (PyTorch's rule)."""
from .. import _C
from .optimizer import Optimizer, _as_float, _state_buffer


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        if not state:
            state["step"] = 0.0
            # PyTorch starts every sum from the optimizer-wide default, not the group's value.
            state["sum"] = _state_buffer(p, self.defaults["initial_accumulator_value"])
        step = state["step"] + 1
        _C.adagrad_step_(p._impl, p.grad._impl, state["sum"]._impl, step, _as_float(group["lr"]),
                         _as_float(group["lr_decay"]), _as_float(group["weight_decay"]), _as_float(group["eps"]),
                         bool(group["maximize"]))
        state["step"] = step
