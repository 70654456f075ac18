"""Differentiable activations: one Function per op, forward and backward side by side.

Forwards run _C kernels directly; backwards are written as Tensor ops so that they stay
differentiable under create_graph (double backward), with a fused _C kernel when no graph is built.
"""
import math

from .. import _C
from ..ops import elementwise as E
from ..ops._util import Op, elementwise_jvp
from ..tensor import Tensor
from ..errors import ArgumentError

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _check_float(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}(): expected a floating input (float32 or float64), got {x.dtype}")


# ---------------------------------------------------------------- piecewise activations
class LeakyReluFn(Op):
    jvp = staticmethod(elementwise_jvp)  # a diagonal Jacobian: backward's formula

    @staticmethod
    def forward(ctx, x, slope):
        if ctx is not None:
            ctx.save_for_backward(x)
            ctx.slope = slope
        return _C.where(_C.gt(x._impl, 0), x._impl, _C.mul(x._impl, slope))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return E.where(x > 0, g, g * ctx.slope), None


class EluFn(Op):
    """alpha * (exp(x) - 1) for x <= 0; the gradient there is alpha exp(x). PyTorch's backward
    tests x <= 0, so at NaN the gradient passes (x > 0 would give NaN)."""

    jvp = staticmethod(elementwise_jvp)  # a diagonal Jacobian: backward's formula

    @staticmethod
    def forward(ctx, x, alpha):
        if ctx is not None:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return _C.where(_C.gt(x._impl, 0), x._impl, _C.mul(_C.expm1(x._impl), alpha))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return E.where(x <= 0, g * (x.exp() * ctx.alpha), g), None


class ThresholdFn(Op):
    """y = value if x <= threshold else x (PyTorch's Threshold; a step when value is constant).
    Written as PyTorch tests it, `x <= threshold`, so NaN passes through with its gradient."""

    jvp = staticmethod(elementwise_jvp)  # a diagonal Jacobian: backward's formula

    @staticmethod
    def forward(ctx, x, threshold, value):
        if ctx is not None:
            ctx.save_for_backward(x)
            ctx.threshold = threshold
        out = _C.where(_C.le(x._impl, threshold), value, x._impl)
        return out if out.dtype == x._impl.dtype else _C.to_dtype(out, x._impl.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return E.where(x <= ctx.threshold, 0.0, g), None, None


class GeluFn(Op):
    jvp = staticmethod(elementwise_jvp)  # a diagonal Jacobian: backward's formula

    @staticmethod
    def forward(ctx, x, approximate):
        if ctx is not None:
            ctx.save_for_backward(x)
            ctx.approximate = approximate
        xi = x._impl
        if approximate == "tanh":
            inner = _C.mul(_C.add(xi, _C.mul(_C.mul(_C.mul(xi, xi), xi), _GELU_C)), _SQRT_2_OVER_PI)
            return _C.mul(_C.mul(xi, 0.5), _C.add(_C.tanh(inner), 1.0))
        return _C.mul(_C.mul(xi, 0.5), _C.add(_C.erf(_C.mul(xi, _INV_SQRT2)), 1.0))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            x2 = x * x
            t = ((x + x2 * x * _GELU_C) * _SQRT_2_OVER_PI).tanh()
            dinner = (1.0 + x2 * (3.0 * _GELU_C)) * _SQRT_2_OVER_PI
            return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner), None
        cdf = 0.5 * (1.0 + (x * _INV_SQRT2).erf())
        pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
        return g * (cdf + x * pdf), None


class SoftplusFn(Op):
    """log(1 + exp(beta x)) / beta, computed as (max(z, 0) + log1p(exp(-|z|))) / beta so it never
    overflows; linear (y = x) where beta x > threshold, as in PyTorch."""

    jvp = staticmethod(elementwise_jvp)  # a diagonal Jacobian: backward's formula

    @staticmethod
    def forward(ctx, x, beta, threshold):
        if ctx is not None:
            ctx.save_for_backward(x)
            ctx.beta, ctx.threshold = beta, threshold
        z = _C.mul(x._impl, beta) if beta != 1 else x._impl
        soft = _C.add(_C.relu(z), _C.log1p(_C.exp(_C.neg(_C.abs(z)))))
        if beta != 1:
            soft = _C.div(soft, beta)
        if threshold == math.inf:
            return soft
        return _C.where(_C.gt(z, threshold), x._impl, soft)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        z = x * ctx.beta if ctx.beta != 1 else x
        d = g * z.sigmoid()
        if ctx.threshold == math.inf:
            return d, None, None
        return E.where(z > ctx.threshold, g, d), None, None


class SiluFn(Op):
    jvp = staticmethod(elementwise_jvp)  # a diagonal Jacobian: backward's formula

    @staticmethod
    def forward(ctx, x):
        if ctx is not None:
            ctx.save_for_backward(x)
        return _C.mul(x._impl, _C.sigmoid(x._impl))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return g * (s * (1.0 + x * (1.0 - s)))


def relu(input, inplace=False):
    if inplace:
        return input.relu_()
    return E.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _check_float(input, "leaky_relu")
    out = LeakyReluFn.apply(input, float(negative_slope))
    return input.copy_(out) if inplace else out


def elu(input, alpha=1.0, inplace=False):
    _check_float(input, "elu")
    out = EluFn.apply(input, float(alpha))
    return input.copy_(out) if inplace else out


def threshold(input, threshold, value, inplace=False):
    out = ThresholdFn.apply(input, threshold, value)
    return input.copy_(out) if inplace else out


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"approximate argument must be either none or tanh, got {approximate!r}")
    _check_float(input, "gelu")
    return GeluFn.apply(input, approximate)


def softplus(input, beta=1.0, threshold=20.0):
    _check_float(input, "softplus")
    if beta == 0:
        raise ArgumentError("softplus: beta must be non-zero")
    return SoftplusFn.apply(input, float(beta), float(threshold))


def silu(input, inplace=False):
    _check_float(input, "silu")
    out = SiluFn.apply(input)
    return input.copy_(out) if inplace else out


def sigmoid(input):
    return E.sigmoid(input)


def tanh(input):
    return E.tanh(input)
