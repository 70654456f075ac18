"""gradcheck: compare autograd's Jacobian with central finite differences (float64).

Works on any device: CPU inputs are perturbed in place through a NumPy view; inputs on another
device through a host copy written back after each change.
"""
import numpy as np


def _host(t):
    """t's values as a float64 NumPy vector (copied from the device when needed)."""
    return t.detach().cpu().numpy().astype(np.float64).ravel().copy()


def _perturbable(x):
    """(host array, push): writing the array and calling push() changes x's values."""
    from .. import _C
    if x._impl.device == "cpu":
        return x._impl.numpy(), lambda: None  # zero-copy view of x's storage (any strides)
    host = x.detach().cpu().numpy().copy()
    return host, lambda: _C.copy_(x._impl, _C.from_numpy(host))


def _outputs(fn, inputs):
    from ..tensor import Tensor
    out = fn(*inputs)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    return [o for o in outs if isinstance(o, Tensor) and o.is_floating_point()]


def _numerical_jacobians(fn, inputs, x, eps):
    """d(out_k)/d(x) by central differences: one (out.numel, x.numel) matrix per output."""
    from .grad_mode import no_grad
    buf, push = _perturbable(x)
    cols = []
    with no_grad():
        for idx in np.ndindex(*buf.shape):
            orig = buf[idx]
            buf[idx] = orig + eps
            push()
            plus = [_host(o) for o in _outputs(fn, inputs)]
            buf[idx] = orig - eps
            push()
            minus = [_host(o) for o in _outputs(fn, inputs)]
            buf[idx] = orig
            push()
            cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    n_out = len(_outputs(fn, inputs))
    with no_grad():
        sizes = [o.numel() for o in _outputs(fn, inputs)]
    return [np.stack([c[k] for c in cols], axis=1) if cols else np.zeros((sizes[k], 0)) for k in range(n_out)]


def _analytical_jacobians(fn, inputs, diff_inputs):
    """Row j of output k's Jacobian is autograd.grad of out_k with a one-hot grad_output."""
    from . import grad as autograd_grad
    from ..creation import zeros_like
    outs = _outputs(fn, inputs)
    jac = [[np.zeros((o.numel(), x.numel())) for x in diff_inputs] for o in outs]
    for k, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for j in range(o.numel()):
            g = zeros_like(o, device="cpu")
            g._impl.numpy().reshape(-1)[j] = 1.0  # zeros_like is contiguous: a view
            grads = autograd_grad([o], diff_inputs, [g.to(o.device)], retain_graph=True, allow_unused=True)
            for i, gi in enumerate(grads):
                if gi is not None:
                    jac[k][i][j] = _host(gi)
    return jac


def gradcheck(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_ignored):
    """True when the analytical and numerical Jacobians agree for every input requiring grad."""
    from ..tensor import Tensor
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    for x in diff_inputs:
        if x.dtype.name != "float64":
            msg = f"gradcheck expects float64 inputs that require grad, got {x.dtype}"
            if raise_exception:
                raise ValueError(msg)
            return False
    analytical = _analytical_jacobians(func, inputs, diff_inputs)
    for i, x in enumerate(diff_inputs):
        numerical = _numerical_jacobians(func, inputs, x, eps)
        for k, num in enumerate(numerical):
            ana = analytical[k][i]
            if not np.allclose(ana, num, atol=atol, rtol=rtol, equal_nan=True):
                if raise_exception:
                    raise GradcheckError(f"Jacobian mismatch for output {k} with respect to input {i},\n"
                                         f"numerical:{num}\nanalytical:{ana}\n")
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  **_ignored):
    """gradcheck of the gradients themselves (create_graph=True backward is differentiated)."""
    from . import grad as autograd_grad
    from ..creation import randn_like
    from ..tensor import Tensor
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [randn_like(o, dtype="float64").requires_grad_() for o in outs]
    n_in = len(inputs)

    def first_grads(*args):
        from .grad_mode import enable_grad
        with enable_grad():  # also while gradcheck evaluates finite differences under no_grad
            ins, gos = args[:n_in], args[n_in:]
            os = _outputs(func, ins)
            d_ins = [x for x in ins if isinstance(x, Tensor) and x.requires_grad]
            gs = autograd_grad(os, d_ins, list(gos), create_graph=True, allow_unused=True)
            return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


class GradcheckError(RuntimeError):
    pass
