"""Gradient clipping: clip_grad_norm_ and clip_grad_value_ (re-exported by pyengine.nn.utils).

Both work in place on each parameter's .grad, with PyTorch's arithmetic: the total norm is the
norm of the per-gradient norms, and the scale max_norm / (total + 1e-6), capped at 1, is
computed as a 0-d tensor in the norm's dtype and multiplied into every gradient.
"""
import math

from .. import _C
from ..tensor import Tensor, _wrap


def _grads_of(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so that their total `norm_type`-norm is at most `max_norm`; returns
    the total norm before clipping (a 0-d tensor)."""
    grads = _grads_of(parameters)
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not grads:
        return _wrap(_C.full([], 0.0, "float32", "cpu"))
    norms = [_C.reshape(_C.norm(g._impl, norm_type, None, False), [1]) for g in grads]
    total = _C.norm(_C.cat(norms, 0), norm_type, None, False)
    total_value = _wrap(total).item()  # (on the host; bfloat16 through float32)
    if error_if_nonfinite and not math.isfinite(total_value):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    coef = _C.clamp(_C.div(max_norm, _C.add(total, 1e-6)), None, 1.0)
    for g in grads:
        _C.mul(g._impl, coef, out=g._impl)
    return _wrap(total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads_of(parameters):
        _C.clamp(g._impl, -clip_value, clip_value, out=g._impl)
