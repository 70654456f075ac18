"""The nn functions whose kernels exist for float32/float64 only take float16/bfloat16 tensors by
computing in float32 - the float32 accumulation PyTorch's CPU kernels use for the half types -
and rounding each floating result once to the input's dtype; autograd converts the gradients
back through the same conversions."""
import functools

from ..tensor import Tensor

_HALF = ("float16", "bfloat16")


def _is_half(x):
    return isinstance(x, Tensor) and x.dtype.name in _HALF


def _up(x):
    return x.float() if _is_half(x) else x


def computes_in_float32(fn):
    """Decorate an nn function: with a float16/bfloat16 first argument, every half tensor argument
    is converted to float32, and every floating result back to the first argument's dtype."""
    @functools.wraps(fn)
    def wrapped(input, *args, **kwargs):
        if not _is_half(input):
            return fn(input, *args, **kwargs)
        dtype = input.dtype
        out = fn(input.float(), *(_up(a) for a in args), **{k: _up(v) for k, v in kwargs.items()})
        down = (lambda t: t.to(dtype) if isinstance(t, Tensor) and t.is_floating_point() else t)
        return type(out)(down(t) for t in out) if isinstance(out, tuple) else down(out)
    return wrapped
