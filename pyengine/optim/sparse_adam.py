"""SparseAdam: Adam restricted to the rows a gradient touches (embedding tables)."""
from .. import _C
from .optimizer import Optimizer, _as_float, _state_buffer


class SparseAdam(Optimizer):
    """A masked Adam for embedding-like parameters, as torch.optim.SparseAdam.

    Deliberate difference: PyTorch requires sparse-layout gradients (nn.Embedding(sparse=True))
    and updates the moments and parameters only at the indices the sparse gradient holds.
    pyengine has dense gradients only, so a row of the parameter (its slice along dim 0, an
    embedding row) counts as held when any of its gradient elements is nonzero. Held rows get
    PyTorch's update exactly; the others (their moments too) stay as they are - unlike Adam,
    which would keep decaying the moments of rows that were not looked up. The result equals
    PyTorch's whenever every looked-up row has a nonzero gradient somewhere.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, maximize=maximize))

    def _update(self, p, group, state):
        if not state:
            state["step"] = 0  # an int, as in PyTorch's SparseAdam
            state["exp_avg"] = _state_buffer(p)
            state["exp_avg_sq"] = _state_buffer(p)
        step = int(state["step"]) + 1
        beta1, beta2 = group["betas"]
        _C.sparse_adam_step_(p._impl, p.grad._impl, state["exp_avg"]._impl, state["exp_avg_sq"]._impl, step,
                             _as_float(group["lr"]), _as_float(beta1), _as_float(beta2), _as_float(group["eps"]),
                             bool(group["maximize"]))
        state["step"] = step
