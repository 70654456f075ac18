"""The softmax family: softmax, log_softmax (and softmin), one Function each, forward and
backward side by side. Same family name in every layer: csrc/ops/softmax.*, cpu/softmax_kernels.cpp,
cuda/softmax.cu, bindings/bind_softmax.cpp, and this file.

Forwards run _C kernels directly; backwards are fused _C kernels, or the same formula as Tensor
ops under create_graph (double backward).
"""
from .. import _C
from ..autograd.grad_mode import state as _grad_state
from .._ints import int64
from ..ops._util import Op
from ..tensor import Tensor, _wrap
from ._half import computes_in_float32


class SoftmaxFn(Op):
    @staticmethod
    def forward(ctx, x, dim):
        y = _C.softmax(x._impl, dim)
        if ctx is not None:
            ctx.dim = dim
            ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: the same formula as differentiable Tensor ops
            return y * (g - (g * y).sum(ctx.dim, keepdim=True)), None
        return _wrap(_C.softmax_backward(g._impl, y._impl, ctx.dim)), None

    @staticmethod
    def jvp(ctx, t, _):
        y = ctx.fw_outputs
        return y * (t - (t * y).sum(ctx.dim, keepdim=True))


class LogSoftmaxFn(Op):
    @staticmethod
    def forward(ctx, x, dim):
        y = _C.log_softmax(x._impl, dim)
        if ctx is not None:
            ctx.dim = dim
            ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if _grad_state.enabled:
            return g - y.exp() * g.sum(ctx.dim, keepdim=True), None
        return _wrap(_C.log_softmax_backward(g._impl, y._impl, ctx.dim)), None

    @staticmethod
    def jvp(ctx, t, _):
        y = ctx.fw_outputs
        return t - (t * y.exp()).sum(ctx.dim, keepdim=True)


def _softmax_dim(x, dim, name):
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return int64(dim, name, "dim")


def _softmax_input(input, dtype, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    return input


@computes_in_float32
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    x = _softmax_input(input, dtype, "softmax")
    return SoftmaxFn.apply(x, _softmax_dim(x, dim, "softmax"))


@computes_in_float32
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    x = _softmax_input(input, dtype, "log_softmax")
    return LogSoftmaxFn.apply(x, _softmax_dim(x, dim, "softmax"))


@computes_in_float32
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-_softmax_input(input, dtype, "softmin"), dim)
