"""Issue 15's everyday elementwise math with PyTorch's names and semantics: float predicates
(isnan, isinf, ...), nan_to_num, log2/log10/exp2, tan and the inverse and hyperbolic trig
functions, trunc/frac, copysign, fmod, atan2, hypot, logaddexp, xlogy, lerp, div with a
rounding mode, isclose/allclose/equal, std_mean/var_mean and the top-level softmax/log_softmax.

The kernels are the shared functors of csrc/math/elementwise_math.h (CPU and CUDA); the
Function classes here reuse ops/elementwise.py's unary/binary machinery, so each op gets
broadcasting, promotion, backward and forward-mode jvp from one place.
"""
import math

from .. import _C
from ..tensor import Tensor, _wrap
from . import elementwise as E
from . import reduce as R
from ._util import Op, as_operand, as_tensor_arg, elementwise_jvp

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_FLOATS = ("float32", "float64")


# ---------------------------------------------------------------- predicates (no gradient)
def _predicate(name, doc):
    op = getattr(_C, name)

    def fn(input):
        return _wrap(op(as_tensor_arg(input)._impl))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


isnan = _predicate("isnan", "A bool tensor: True where input is NaN (never for integer and bool tensors).")
isinf = _predicate("isinf", "A bool tensor: True where input is +inf or -inf.")
isposinf = _predicate("isposinf", "A bool tensor: True where input is +inf.")
isneginf = _predicate("isneginf", "A bool tensor: True where input is -inf.")
isfinite = _predicate("isfinite", "A bool tensor: True where input is neither NaN nor infinite (always for "
                                  "integer and bool tensors).")


def isreal(input):
    """A bool tensor: True everywhere (pyengine's tensors are real; PyTorch's isreal of a real tensor)."""
    x = as_tensor_arg(input)
    return _wrap(_C.full(list(x._impl.shape), True, "bool", x._impl.device))


# ---------------------------------------------------------------- unary math with gradients
def _check_floating(name, *operands):
    """PyTorch has no integer kernel for frac, hypot and logaddexp: NotImplementedError when the
    promoted dtype is not floating (the float32 kernel would otherwise run silently)."""
    ops = [as_operand(v) for v in operands]
    dtype = _C.result_type(*ops) if len(ops) == 2 else as_tensor_arg(operands[0])._impl.dtype
    if dtype not in _FLOATS:
        raise NotImplementedError(f"{name}: not implemented for pyengine.{dtype} operands (float32 or float64 only)")


Log2Backward, log2 = E._unary("log2", lambda x, g: g / (x * _LN2))
Log10Backward, log10 = E._unary("log10", lambda x, g: g / (x * _LN10))
Exp2Backward, exp2 = E._unary("exp2", lambda y, g: g * (y * _LN2), saves="y")
TanBackward, tan = E._unary("tan", lambda y, g: g * (y * y + 1.0), saves="y")
AsinBackward, asin = E._unary("asin", lambda x, g: g * (1.0 - x * x).rsqrt())
AcosBackward, acos = E._unary("acos", lambda x, g: -(g * (1.0 - x * x).rsqrt()))
AtanBackward, atan = E._unary("atan", lambda x, g: g / (x * x + 1.0))
SinhBackward, sinh = E._unary("sinh", lambda x, g: g * cosh(x))
CoshBackward, cosh = E._unary("cosh", lambda x, g: g * sinh(x))
AsinhBackward, asinh = E._unary("asinh", lambda x, g: g * (x * x + 1.0).rsqrt())
AcoshBackward, acosh = E._unary("acosh", lambda x, g: g * (x * x - 1.0).rsqrt())
AtanhBackward, atanh = E._unary("atanh", lambda x, g: g / (1.0 - x * x))
TruncBackward, trunc = E._unary("trunc", E._zero_grad, saves="")
FracBackward, _frac = E._unary("frac", lambda v, g: g, saves="")


def frac(input, *, out=None):
    """input - trunc(input), with input's sign (float tensors only, as in PyTorch)."""
    _check_floating("frac", input)
    return _frac(input, out=out)


fix = trunc
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def sgn(input, *, out=None):
    """sign(input) for real tensors (PyTorch's sgn is the complex generalisation of sign)."""
    return E.sign(input, out=out)


# ---------------------------------------------------------------- binary math with gradients
def _t(v, g):
    """A Python-number operand as a 0-d tensor of the gradient's dtype and device."""
    return v if isinstance(v, Tensor) else _wrap(_C.full([], v, g._impl.dtype, g._impl.device))


def _both(ctx, g):
    a, b = E._operands(ctx)
    return _t(a, g), _t(b, g)


class CopysignBackward(E._Binary):
    """|a| with b's sign. d/da = copysign(a, b) / a (0 where a == 0, PyTorch's choice); no
    gradient reaches b (zeros, as in PyTorch)."""

    op = staticmethod(_C.copysign)
    save = staticmethod(E._save_both)

    @staticmethod
    def grads(ctx, g):
        a, b = _both(ctx, g)
        need = ctx.needs_input_grad
        ga = E.where(a == 0, 0.0, g * (copysign(a, b) / a)) if need[0] else None
        return ga, (g * 0.0 if need[1] else None)


class FmodBackward(E._Binary):
    """C's remainder, the dividend's sign: a - b * trunc(a / b)."""

    op = staticmethod(_C.fmod)
    save = staticmethod(E._save_both)

    @staticmethod
    def grads(ctx, g):
        need = ctx.needs_input_grad
        gb = None
        if need[1]:
            a, b = _both(ctx, g)
            gb = -(g * _wrap(_C.div_trunc(a._impl, b._impl)))
        return (g if need[0] else None), gb


class Atan2Backward(E._Binary):
    op = staticmethod(_C.atan2)
    save = staticmethod(E._save_both)

    @staticmethod
    def grads(ctx, g):
        a, b = _both(ctx, g)
        scale = g / (a * a + b * b)
        need = ctx.needs_input_grad
        return (scale * b if need[0] else None), (-(scale * a) if need[1] else None)


class HypotBackward(E._Binary):
    op = staticmethod(_C.hypot)
    save = staticmethod(E._save_both)

    @staticmethod
    def grads(ctx, g):
        a, b = _both(ctx, g)
        scale = g / hypot(a, b)
        need = ctx.needs_input_grad
        return (scale * a if need[0] else None), (scale * b if need[1] else None)


class LogaddexpBackward(E._Binary):
    op = staticmethod(_C.logaddexp)
    save = staticmethod(E._save_both)

    @staticmethod
    def grads(ctx, g):
        a, b = _both(ctx, g)
        need = ctx.needs_input_grad
        ga = g / ((b - a).exp() + 1.0) if need[0] else None
        gb = g / ((a - b).exp() + 1.0) if need[1] else None
        return ga, gb


class XlogyBackward(E._Binary):
    """a * log(b), 0 where a == 0. PyTorch's gradients: d/da = xlogy(g, b), taken as 0 where
    a == 0 and b <= 0; d/db = a / b."""

    op = staticmethod(_C.xlogy)
    save = staticmethod(E._save_both)

    @staticmethod
    def grads(ctx, g):
        a, b = _both(ctx, g)
        need = ctx.needs_input_grad
        ga = E.where((a == 0) & (b <= 0), 0.0, xlogy(g, b)) if need[0] else None
        gb = g * a / b if need[1] else None
        return ga, gb


class _RoundedDivBackward(E._Binary):
    """div with a rounding mode: piecewise constant, so PyTorch's gradient is zero."""

    @staticmethod
    def grads(ctx, g):
        need = ctx.needs_input_grad
        return (g * 0.0 if need[0] else None), (g * 0.0 if need[1] else None)


class DivTruncBackward(_RoundedDivBackward):
    op = staticmethod(_C.div_trunc)


class DivFloorBackward(_RoundedDivBackward):
    op = staticmethod(_C.floor_divide)


copysign = E._binary("copysign", CopysignBackward)
fmod = E._binary("fmod", FmodBackward)
atan2 = E._binary("atan2", Atan2Backward)
arctan2 = atan2
_hypot = E._binary("hypot", HypotBackward)
_logaddexp = E._binary("logaddexp", LogaddexpBackward)
xlogy = E._binary("xlogy", XlogyBackward)
_div_trunc = E._binary("div_trunc", DivTruncBackward)
_div_floor = E._binary("floor_divide", DivFloorBackward)

_ROUNDED_DIV = {"trunc": _div_trunc, "floor": _div_floor}


def hypot(input, other, *, out=None):
    """sqrt(input**2 + other**2) without overflow (floating operands, as in PyTorch)."""
    _check_floating("hypot", input, other)
    return _hypot(input, other, out=out)


def logaddexp(input, other, *, out=None):
    """log(exp(input) + exp(other)) without overflow (floating operands, as in PyTorch)."""
    _check_floating("logaddexp", input, other)
    return _logaddexp(input, other, out=out)


def _check_rounding_mode(rounding_mode):
    if rounding_mode is not None and rounding_mode not in _ROUNDED_DIV:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"{rounding_mode!r}")


def div(input, other, *, rounding_mode=None, out=None):
    """input / other with broadcasting and PyTorch type promotion. rounding_mode None: true
    division (integers give float32); 'trunc': rounded toward zero; 'floor': toward -inf (both
    keep integer dtypes; integer division by zero raises ZeroDivisionError, a RuntimeError)."""
    _check_rounding_mode(rounding_mode)
    if rounding_mode is None:
        return E.div(input, other, out=out)
    return _ROUNDED_DIV[rounding_mode](input, other, out=out)


divide = div


# ---------------------------------------------------------------- nan_to_num, lerp
def _finfo(dtype_name):
    import numpy as np
    return np.finfo(np.float32 if dtype_name == "float32" else np.float64)


class NanToNumBackward(Op):
    """PyTorch's nan_to_num backward: the gradient passes where input was finite."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        impl = x._impl
        if ctx is not None:
            ctx.save_for_backward(x)
        out = _C.where(_C.isnan(impl), nan, impl)
        out = _C.where(_C.isposinf(impl), posinf, out)
        return _C.where(_C.isneginf(impl), neginf, out)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return E.where(isfinite(x), g, 0.0), None, None, None

    jvp = staticmethod(elementwise_jvp)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """NaN, +inf and -inf replaced by `nan`, `posinf` and `neginf`; the infinities default to
    the largest and lowest finite values of input's dtype. Integer and bool tensors come back
    as copies."""
    x = as_tensor_arg(input)
    dt = x._impl.dtype
    if dt not in _FLOATS:
        result = x.clone()
    else:
        info = _finfo(dt)
        posinf = float(info.max) if posinf is None else float(posinf)
        neginf = float(info.min) if neginf is None else float(neginf)
        result = NanToNumBackward.apply(x, float(nan), posinf, neginf)
    if out is not None:
        return out.copy_(result)
    return result


def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input), PyTorch's two-sided formula (from `end` when |weight| >=
    0.5, so lerp(a, b, 1) is exactly b). input and end (and a tensor weight) share one float
    dtype; they broadcast. Gradients: (1 - weight) to input, weight to end, end - input to weight."""
    x, y = as_tensor_arg(input), as_tensor_arg(end)
    for name, t in (("end", y), ("weight", weight)):
        if isinstance(t, Tensor) and t._impl.dtype != x._impl.dtype:
            raise RuntimeError(f"lerp: expected dtype {x._impl.dtype} for `{name}` but got dtype {t._impl.dtype}")
    if x._impl.dtype not in _FLOATS:
        raise NotImplementedError(f"lerp: not implemented for pyengine.{x._impl.dtype} tensors "
                                  f"(float32 or float64 only)")
    diff = y - x
    if isinstance(weight, Tensor):
        result = E.where(weight.abs() < 0.5, x + weight * diff, y - diff * (1.0 - weight))
    else:
        w = float(weight)
        result = x + diff * w if abs(w) < 0.5 else y - diff * (1.0 - w)
    if out is not None:
        return out.copy_(result)
    return result


# ---------------------------------------------------------------- comparisons
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise (PyTorch's isclose): equal values
    (infinities included) are close, NaN only with equal_nan. Both tensors share one dtype;
    integer and bool tensors are compared in the default float dtype."""
    a, b = as_tensor_arg(input), as_tensor_arg(other)
    if a._impl.dtype != b._impl.dtype:
        raise RuntimeError(f"isclose: expected both inputs to have the same dtype, but input is "
                           f"pyengine.{a._impl.dtype} and other is pyengine.{b._impl.dtype}")
    if rtol < 0:
        raise RuntimeError(f"isclose: rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"isclose: atol must be greater than or equal to zero, but got {atol}")
    a, b = a.detach(), b.detach()
    close = a == b
    if equal_nan and a._impl.dtype in _FLOATS:
        close = close | (isnan(a) & isnan(b))
    if rtol == 0 and atol == 0:
        return close
    if a._impl.dtype not in _FLOATS:
        a, b = a.float(), b.float()
    allowed = atol + (b * rtol).abs()
    actual = (a - b).abs()
    return close | (isfinite(actual) & (actual <= allowed))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether isclose holds everywhere (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def equal(input, other):
    """True when both tensors have the same shape and the same values (NaN is never equal);
    dtypes may differ, as in PyTorch."""
    a, b = as_tensor_arg(input), as_tensor_arg(other)
    if a._impl.device != b._impl.device:
        raise RuntimeError(f"equal: expected both tensors on the same device, but found {a._impl.device} and "
                           f"{b._impl.device}")
    if tuple(a._impl.shape) != tuple(b._impl.shape):
        return False
    return bool(_wrap(_C.eq(a._impl, b._impl)).all().item())


# ---------------------------------------------------------------- reductions, softmax
def _moments(name, reduction, input, dim, unbiased, keepdim, correction):
    x = as_tensor_arg(input)
    if x._impl.dtype not in _FLOATS:
        raise RuntimeError(f"{name} only support floating point and complex dtypes, got pyengine.{x._impl.dtype}")
    if isinstance(dim, bool):  # std_mean(x, False): the old positional `unbiased`
        dim, unbiased = None, dim
    spread = reduction(x, dim, unbiased, keepdim, correction=correction)
    return spread, R.mean(x, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over `dim` (all dims by default); correction (default 1) or the old
    `unbiased` flag, as torch.std."""
    return _moments("std_mean", R.std, input, dim, unbiased, keepdim, correction)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over `dim` (all dims by default); correction (default 1) or the old
    `unbiased` flag, as torch.var."""
    return _moments("var_mean", R.var, input, dim, unbiased, keepdim, correction)


def softmax(input, dim, dtype=None):
    """torch.softmax: nn.functional.softmax along `dim`, computed in `dtype` when given."""
    from ..nn import functional as F
    return F.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, dtype=None):
    """torch.log_softmax: nn.functional.log_softmax along `dim`, computed in `dtype` when given."""
    from ..nn import functional as F
    return F.log_softmax(input, dim, dtype=dtype)


__all__ = ["isnan", "isinf", "isposinf", "isneginf", "isfinite", "isreal", "nan_to_num", "copysign", "fmod",
           "div", "divide", "log2", "log10", "exp2", "atan2", "arctan2", "hypot", "tan", "asin", "acos", "atan",
           "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsinh", "arccosh",
           "arctanh", "trunc", "fix", "frac", "logaddexp", "xlogy", "lerp", "sgn", "isclose", "allclose", "equal",
           "std_mean", "var_mean", "softmax", "log_softmax"]

