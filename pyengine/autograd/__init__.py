"""Reverse-mode automatic differentiation: Function, backward, grad, grad modes, gradcheck."""
from .engine import run_backward
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .inference_mode import inference_mode, is_inference_mode_enabled


def _make_roots(tensors, grad_tensors):
    from .. import _C
    from ..tensor import Tensor, _wrap
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected a Tensor for output {i}, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t._impl.numel != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (output {i} has shape "
                                   f"{tuple(t.shape)})")
            impl = t._impl
            g = _wrap(_C.full(impl.shape, 1.0, impl.dtype, impl.device))  # ones_like(t), minus its checks
        elif not isinstance(g, Tensor):
            from ..creation import tensor
            g = tensor(g, dtype=t.dtype)
        if g._impl.dtype != t._impl.dtype:
            g = g.to(t.dtype)
        if tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and output[{i}] "
                               f"has a shape of {tuple(t.shape)}.")
        node, nr = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._accumulator(), 0)
        roots.append((node, nr, g))
    return roots


def _as_list(x):
    if x is None:
        return None
    from ..tensor import Tensor
    return [x] if isinstance(x, Tensor) else list(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's .grad."""
    tensors = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_roots(tensors, grads)
    if inputs is not None:
        inputs = _as_list(inputs)
        captured = run_backward(roots, retain_graph, create_graph, inputs=inputs, allow_unused=True)
        from .engine import _accumulate
        for t, g in zip(inputs, captured):
            if g is not None:
                _accumulate(t._accumulator() if t.grad_fn is None else _RetainSink(t), g, create_graph)
        return
    run_backward(roots, retain_graph, create_graph)


class _RetainSink:
    """backward(inputs=[non_leaf]) stores the gradient on that tensor, like PyTorch."""

    def __init__(self, t):
        self.variable = t


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of outputs with respect to inputs (a tuple), without touching any .grad."""
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    grads = _as_list(grad_outputs) or [None] * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_roots(outputs, grads)
    result = run_backward(roots, retain_graph, create_graph, inputs=inputs, allow_unused=allow_unused)
    return tuple(result)


from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
from . import forward_ad, functional  # noqa: E402,F401

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "gradcheck", "gradgradcheck", "forward_ad", "functional"]
