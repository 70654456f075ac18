"""Elementwise ops: unary math, binary arithmetic with broadcasting, comparisons, where, clamp."""
import math

from .. import _C
from ..autograd.grad_mode import state as _grad_state
from ..dtypes import FLOATING_NAMES
from ..tensor import Tensor, _wrap, dtype_name
from ._util import (Op, as_operand, as_tensor_arg, cast_back, device_back, devices_if_mixed, dtypes_if_mixed,
                    elementwise_jvp, reduce_grad, shape_of, sum_tangents)


# ---------------------------------------------------------------- unary
class _Unary(Op):
    """forward: y = _C.<op>(x); subclasses give the derivative as `grad(saved x or y, g)`."""

    op = None
    saves = "x"  # "x": save the input, "y": save the output, "": nothing

    @classmethod
    def forward(cls, ctx, x):
        y = cls.op(x._impl)
        if ctx is None:
            return y
        if cls.saves == "x":
            ctx.save_for_backward(x)
        elif cls.saves == "y":
            ctx.save_for_backward(y)
        return y

    @classmethod
    def backward(cls, ctx, g):
        saved = ctx.saved_tensors
        return cls.grad(saved[0] if saved else None, g)

    jvp = staticmethod(elementwise_jvp)


def _unary(name, grad, saves="x", fused=None):
    """Make the Function class and the functional for unary op `name`.

    grad(v, g): the gradient as Tensor ops (v is the saved x or y), so it is differentiable under
    create_graph. fused(g_impl, v_impl): a _C backward helper used when no graph is being built.
    """
    op = getattr(_C, name)

    if fused is None:
        grad_fn = staticmethod(grad)
    else:
        fused_c = getattr(_C, fused)

        def grad_fn(v, g):
            if _grad_state.enabled:  # create_graph: stay differentiable
                return grad(v, g)
            return _wrap(fused_c(g._impl, v._impl))
        grad_fn = staticmethod(grad_fn)

    cls = type(name.capitalize() + "Backward", (_Unary,),
               {"op": staticmethod(op), "saves": saves, "grad": grad_fn, "__module__": __name__})

    def fn(input, *, out=None):
        x = input if isinstance(input, Tensor) else as_tensor_arg(input)
        if out is not None:
            op(x._impl, out=out._impl)
            return out
        return cls.apply(x)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} (PyTorch semantics)."
    return cls, fn


def _zero_grad(v, g):
    return g * 0.0


_SQRT_2_OVER_PI = 2.0 / math.sqrt(math.pi)

NegBackward, neg = _unary("neg", lambda v, g: -g, saves="")
AbsBackward, abs = _unary("abs", lambda x, g: g * x.sign())
ExpBackward, exp = _unary("exp", lambda y, g: g * y, saves="y")
LogBackward, log = _unary("log", lambda x, g: g / x)
Log1pBackward, log1p = _unary("log1p", lambda x, g: g / (x + 1.0))
Expm1Backward, expm1 = _unary("expm1", lambda y, g: g * (y + 1.0), saves="y")
SqrtBackward, sqrt = _unary("sqrt", lambda y, g: g / (y * 2.0), saves="y")
RsqrtBackward, rsqrt = _unary("rsqrt", lambda y, g: g * (y * y * y) * -0.5, saves="y")
SinBackward, sin = _unary("sin", lambda x, g: g * x.cos())
CosBackward, cos = _unary("cos", lambda x, g: -(g * x.sin()))
TanhBackward, tanh = _unary("tanh", lambda y, g: g * (1.0 - y * y), saves="y", fused="tanh_backward")
SigmoidBackward, sigmoid = _unary("sigmoid", lambda y, g: g * (y * (1.0 - y)), saves="y",
                                  fused="sigmoid_backward")
# PyTorch's threshold_backward: no gradient where x <= 0, so NaN passes it (x > 0 would not)
ReluBackward, relu = _unary("relu", lambda x, g: where(x <= 0, 0.0, g), fused="relu_backward")
ErfBackward, erf = _unary("erf", lambda x, g: g * ((-(x * x)).exp() * _SQRT_2_OVER_PI), fused="erf_backward")
SignBackward, sign = _unary("sign", _zero_grad, saves="")
FloorBackward, floor = _unary("floor", _zero_grad, saves="")
CeilBackward, ceil = _unary("ceil", _zero_grad, saves="")
RoundBackward, round = _unary("round", _zero_grad, saves="")
ReciprocalBackward, reciprocal = _unary("reciprocal", lambda y, g: -(g * (y * y)), saves="y")
SquareBackward, square = _unary("square", lambda x, g: g * (x * 2.0))


def logical_not(input):
    return _wrap(_C.logical_not(as_operand(input)))


# ---------------------------------------------------------------- binary
def _no_save(ctx, a, b):
    """_Binary's default `save`: add and sub need no operand in backward."""


class _Binary(Op):
    """Broadcasting binary op; `grads(ctx, g, a, b)` returns unreduced gradients."""

    op = None

    @classmethod
    def forward(cls, ctx, a, b):
        if ctx is None:
            if isinstance(a, Tensor) and isinstance(b, Tensor):
                return cls.op(a._impl, b._impl)
            return cls.op(as_operand(a), as_operand(b))
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            # the hottest path in training code: cached shape/dtype, no helper calls
            ctx.shapes = sa, sb = (a._shape or shape_of(a), b._shape or shape_of(b))
            da, db = a._dt or dtype_name(a), b._dt or dtype_name(b)
            ctx.dtypes = None if da == db else (da, db)
            if not (sa and sb):  # a 0-d operand: it may be a CPU scalar next to a CUDA tensor
                ctx.devices = devices_if_mixed(a, b)
            if cls.save is not _no_save:
                cls.save(ctx, a, b)
            return cls.op(a._impl, b._impl)
        ctx.shapes = ctx.dtypes = None  # tensor OP scalar: output has the tensor's shape and dtype
        cls.save(ctx, a, b)
        return cls.op(as_operand(a), as_operand(b))

    save = staticmethod(_no_save)
    devices = None  # (device of a, device of b) when they differ; see forward

    @classmethod
    def backward(cls, ctx, g):
        ga, gb = cls.grads(ctx, g)
        need = ctx.needs_input_grad
        ga = ga if need[0] else None
        gb = gb if need[1] else None
        if ctx.shapes is not None:
            sa, sb = ctx.shapes
            ga = None if ga is None else reduce_grad(ga, sa)
            gb = None if gb is None else reduce_grad(gb, sb)
        if ctx.dtypes is not None:
            ga, gb = cast_back(ga, ctx.dtypes[0]), cast_back(gb, ctx.dtypes[1])
        if ctx.devices is not None:
            ga, gb = device_back(ga, ctx.devices[0]), device_back(gb, ctx.devices[1])
        return ga, gb

    @classmethod
    def jvp(cls, ctx, ta, tb):
        # Elementwise, so each side's term is its unreduced backward term with the tangent in
        # place of the gradient (grads reads the operands saved for backward: save them all).
        a, b = ctx.fw_inputs
        ctx.scalars = (None if isinstance(a, Tensor) else a, None if isinstance(b, Tensor) else b)
        ctx._fw_saved = (a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        terms = []
        for side, t in enumerate((ta, tb)):
            if t is not None:
                ctx.needs_input_grad = (side == 0, side == 1)
                terms.append(cls.grads(ctx, t)[side])
        return sum_tangents(*terms)


class AddBackward(_Binary):
    op = staticmethod(_C.add)

    @staticmethod
    def grads(ctx, g):
        return g, g


class SubBackward(_Binary):
    op = staticmethod(_C.sub)

    @staticmethod
    def grads(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


def _save_operands(ctx, a, b, save_a, save_b):
    """Save the tensor operands backward reads; Python scalars are kept on ctx as they are."""
    ctx.scalars = (None if isinstance(a, Tensor) else a, None if isinstance(b, Tensor) else b)
    ctx.save_for_backward(a if save_a and isinstance(a, Tensor) else None,
                          b if save_b and isinstance(b, Tensor) else None)


def _operands(ctx):
    a, b = ctx.saved_tensors
    sa, sb = ctx.scalars
    return (a if a is not None else sa), (b if b is not None else sb)


class MulBackward(_Binary):
    op = staticmethod(_C.mul)

    @staticmethod
    def save(ctx, a, b):
        need = ctx.needs_input_grad  # d/da = g*b, d/db = g*a
        _save_operands(ctx, a, b, save_a=need[1], save_b=need[0])

    @staticmethod
    def grads(ctx, g):
        a, b = _operands(ctx)
        need = ctx.needs_input_grad
        return (g * b if need[0] else None), (g * a if need[1] else None)


class DivBackward(_Binary):
    op = staticmethod(_C.div)

    @staticmethod
    def save(ctx, a, b):
        need = ctx.needs_input_grad  # d/da = g/b, d/db = -g*a/b^2
        _save_operands(ctx, a, b, save_a=need[1], save_b=need[0] or need[1])

    @staticmethod
    def grads(ctx, g):
        a, b = _operands(ctx)
        ga = g / b
        gb = -ga * a / b if ctx.needs_input_grad[1] else None
        return ga, gb


def _save_both(ctx, a, b):
    _save_operands(ctx, a, b, save_a=True, save_b=True)


def _log_of_number(a):
    """log of a Python number as IEEE gives it (math.log raises at 0 and below)."""
    if a == 0:
        return -math.inf
    return math.log(a) if a > 0 else math.nan  # negative or NaN base: NaN


def _zeros_as(g):
    return _wrap(_C.full(g._impl.shape, 0.0, g._impl.dtype, g._impl.device))


class PowBackward(_Binary):
    op = staticmethod(_C.pow)
    save = staticmethod(_save_both)

    @staticmethod
    def grads(ctx, g):
        # PyTorch's pow_backward_self/_exponent, edges included: d/da = b a^(b-1), taken as 0
        # where b == 0 (not 0 * 0^-1 = NaN); d/db = a^b log a, taken as 0 where a == 0 and b >= 0
        # (0 * -inf), so 0 ** negative gives -inf and a negative base NaN.
        a, b = _operands(ctx)
        need = ctx.needs_input_grad
        ga = gb = None
        if need[0]:
            if isinstance(b, Tensor):
                ga = where(b == 0, 0.0, g * b * a ** (b - 1.0))
            else:
                ga = _zeros_as(g) if b == 0 else g * (b * a ** (b - 1.0))
        if need[1]:
            out = a ** b
            if isinstance(a, Tensor):
                gb = where((a == 0) & (b >= 0), 0.0, g * out * a.log())
            elif a == 0:
                gb = where(b >= 0, 0.0, g * out * -math.inf)
            else:
                gb = g * out * _log_of_number(a)
        return ga, gb


class _MaxMin(_Binary):
    save = staticmethod(_save_both)
    loser = None  # (a loses, b loses): ("lt", "gt") for maximum, ("gt", "lt") for minimum

    @classmethod
    def grads(cls, ctx, g):
        # PyTorch's rule: ties split the gradient in half; a side gets none only where it
        # compares strictly worse, so a NaN on either side passes the whole gradient to both.
        a, b = (as_operand(v) for v in _operands(ctx))
        half = where(_wrap(_C.eq(a, b)), g * 0.5, g)
        a_loses, b_loses = (_wrap(getattr(_C, op)(a, b)) for op in cls.loser)
        need = ctx.needs_input_grad
        return (where(a_loses, 0.0, half) if need[0] else None), (where(b_loses, 0.0, half) if need[1] else None)


class MaximumBackward(_MaxMin):
    op = staticmethod(_C.maximum)
    loser = ("lt", "gt")


class MinimumBackward(_MaxMin):
    op = staticmethod(_C.minimum)
    loser = ("gt", "lt")


def _binary(name, cls):
    op = getattr(_C, name)

    def fn(input, other, *, out=None):
        if out is not None:
            op(as_operand(input), as_operand(other), out=out._impl)
            return out
        return cls.apply(input, other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting and PyTorch type promotion."
    return fn


_add = _binary("add", AddBackward)
_sub = _binary("sub", SubBackward)
mul = _binary("mul", MulBackward)
div = _binary("div", DivBackward)
_pow = _binary("pow", PowBackward)


def pow(input, exponent, *, out=None):
    """Elementwise power with broadcasting and PyTorch type promotion."""
    # A Python int exponent reaches a float32 kernel as a float32, which holds integers exactly
    # only up to 2**24: beyond, an odd exponent can round to an even one and a negative base
    # loses its sign ((-1) ** (2**24 + 1) gave 1). PyTorch keeps the exponent in double: so do
    # we, by computing such a power in float64 and rounding the result back.
    if (out is None and type(exponent) is int and abs(exponent) > 2 ** 24 and isinstance(input, Tensor)
            and input.dtype.name == "float32"):
        return _pow(input.double(), exponent).to(input.dtype)
    return _pow(input, exponent, out=out)
maximum = _binary("maximum", MaximumBackward)
minimum = _binary("minimum", MinimumBackward)


def add(input, other, *, alpha=1, out=None):
    return _add(input, other if alpha == 1 else mul(other, alpha), out=out)


def sub(input, other, *, alpha=1, out=None):
    return _sub(input, other if alpha == 1 else mul(other, alpha), out=out)


multiply, divide, subtract, true_divide = mul, div, sub, div


def _no_grad_binary(name, doc):
    """The functional for a binary _C op with no gradient (comparisons, logical and bitwise ops)."""
    op = getattr(_C, name)

    def fn(input, other, *, out=None):
        if out is not None:
            op(as_operand(input), as_operand(other), out=out._impl)
            return out
        return _wrap(op(as_operand(input), as_operand(other)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} (no gradient); {doc}"
    return fn


def _compare(name):
    return _no_grad_binary(name, "returns a bool tensor.")


eq, ne, lt, le, gt, ge = (_compare(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))
logical_and, logical_or, logical_xor = (_compare(n) for n in ("logical_and", "logical_or", "logical_xor"))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

# Bitwise ops (PyTorch's dtype rules): integer and bool operands only; bool with bool stays a
# logical bool result; a float operand is a NotImplementedError. Shifts take integers only,
# and a count outside [0, 64) gives 0 (<<) or the sign fill (>>), as in PyTorch.
bitwise_and, bitwise_or, bitwise_xor = (
    _no_grad_binary(n, "integer or bool tensors.") for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))
bitwise_left_shift, bitwise_right_shift = (
    _no_grad_binary(n, "integer tensors.") for n in ("bitwise_left_shift", "bitwise_right_shift"))


def bitwise_not(input, *, out=None):
    """~x for integer (complement) and bool (logical not) tensors; no gradient."""
    x = as_operand(input)
    if out is not None:
        _C.bitwise_not(x, out=out._impl)
        return out
    return _wrap(_C.bitwise_not(x))


# ---------------------------------------------------------------- floor division, remainder
class FloorDivideBackward(_Binary):
    """a // b rounding toward -inf (integers: Python's //, and integer division by zero is
    PyTorch's ZeroDivisionError RuntimeError). Like PyTorch, it has no derivative."""

    op = staticmethod(_C.floor_divide)

    @staticmethod
    def grads(ctx, g):
        raise RuntimeError("derivative for floor_divide is not implemented")


class RemainderBackward(_Binary):
    """a % b with the sign of b (Python's %, not C's fmod): a - b * floor_divide(a, b)."""

    op = staticmethod(_C.remainder)

    @staticmethod
    def save(ctx, a, b):
        need_b = ctx.needs_input_grad[1]  # d/da = 1, d/db = -floor_divide(a, b)
        _save_operands(ctx, a, b, save_a=need_b, save_b=need_b)

    @staticmethod
    def grads(ctx, g):
        ga = g if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = _operands(ctx)
            gb = -(g * _wrap(_C.floor_divide(as_operand(a), as_operand(b))))
        return ga, gb


floor_divide = _binary("floor_divide", FloorDivideBackward)
remainder = _binary("remainder", RemainderBackward)


# ---------------------------------------------------------------- where, clamp, masked_fill
class WhereBackward(Op):
    @staticmethod
    def forward(ctx, cond, a, b):
        if ctx is None:
            return _C.where(cond._impl, as_operand(a), as_operand(b))
        ctx.cond = cond
        ctx.shapes = (shape_of(a), shape_of(b))
        ctx.dtypes = dtypes_if_mixed(a, b) or (None, None)
        ctx.devices = devices_if_mixed(a, b) or (None, None)
        return _C.where(cond._impl, as_operand(a), as_operand(b))

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        sa, sb = ctx.shapes
        da, db = ctx.dtypes
        va, vb = ctx.devices
        ga = device_back(cast_back(reduce_grad(where(ctx.cond, g, 0.0), sa), da), va) if need[1] else None
        gb = device_back(cast_back(reduce_grad(where(ctx.cond, 0.0, g), sb), db), vb) if need[2] else None
        return None, ga, gb

    @staticmethod
    def jvp(ctx, _tc, ta, tb):
        cond = ctx.fw_inputs[0]
        return where(cond, 0.0 if ta is None else ta, 0.0 if tb is None else tb)


def where(condition, input=None, other=None):
    """where(cond, x, y): x where cond else y (broadcast); where(cond) = cond.nonzero(as_tuple=True)."""
    cond = as_tensor_arg(condition)
    if input is None and other is None:
        return cond.nonzero(as_tuple=True)
    if cond._impl.dtype != "bool":
        raise TypeError(f"where expected condition to be a bool tensor, got pyengine.{cond._impl.dtype}")
    return WhereBackward.apply(cond, input, other)


class ClampBackward(Op):
    @staticmethod
    def forward(ctx, x, lo, hi):
        if ctx is not None:
            ctx.save_for_backward(x, *(v if isinstance(v, Tensor) else None for v in (lo, hi)))
            ctx.bounds = (lo, hi)
            ctx.shapes = (shape_of(x), shape_of(lo), shape_of(hi))
            ctx.dtypes = dtypes_if_mixed(x, lo, hi) or (None, None, None)
            ctx.devices = devices_if_mixed(x, lo, hi) or (None, None, None)
        return _C.clamp(x._impl, as_operand(lo) if lo is not None else None,
                        as_operand(hi) if hi is not None else None)

    @staticmethod
    def backward(ctx, g):
        # PyTorch's clamp_backward and clamp_backward_min_max: x gets the gradient where
        # lo <= x <= hi (at the bounds too; never at NaN); a tensor bound gets it where it is
        # the result: lo where x < lo (and lo < hi), hi where x > hi or hi < lo (hi wins).
        x, tlo, thi = ctx.saved_tensors
        lo, hi = (t if t is not None else v for t, v in zip((tlo, thi), ctx.bounds))
        need = ctx.needs_input_grad

        def back(grad, i):
            return device_back(cast_back(reduce_grad(grad, ctx.shapes[i]), ctx.dtypes[i]), ctx.devices[i])

        keep = None
        if lo is not None:
            keep = x >= lo
        if hi is not None:
            keep = (x <= hi) if keep is None else keep & (x <= hi)
        gx = back(g if keep is None else where(keep, g, 0.0), 0) if need[0] else None
        glo = ghi = None
        if need[1]:
            takes_lo = x < lo if hi is None else (x < lo) & (lo < hi)
            glo = back(where(takes_lo, g, 0.0), 1)
        if need[2]:
            takes_hi = x > hi if lo is None else (x > hi) | (hi < lo)
            ghi = back(where(takes_hi, g, 0.0), 2)
        return gx, glo, ghi

    @staticmethod
    def jvp(ctx, tx, tlo, thi):
        # The result is x, lo or hi elementwise; the tangent is that one's (backward's masks).
        x, lo, hi = ctx.fw_inputs
        takes_lo = None if lo is None else (x < lo if hi is None else (x < lo) & (lo < hi))
        takes_hi = None if hi is None else (x > hi if lo is None else (x > hi) | (hi < lo))
        takes_x = None
        for m in (takes_lo, takes_hi):
            if m is not None:
                takes_x = ~m if takes_x is None else takes_x & ~m
        return sum_tangents(
            None if tx is None else (tx if takes_x is None else where(takes_x, tx, 0.0)),
            None if tlo is None else where(takes_lo, tlo, 0.0),
            None if thi is None else where(takes_hi, thi, 0.0))


def clamp(input, min=None, max=None, *, out=None):
    if out is not None:
        _C.clamp(input._impl, as_operand(min) if min is not None else None,
                 as_operand(max) if max is not None else None, out=out._impl)
        return out
    return ClampBackward.apply(input, min, max)


clip = clamp


class MaskedFillBackward(Op):
    @staticmethod
    def forward(ctx, x, mask, value):
        if ctx is not None:
            ctx.mask = mask
        out = _C.where(mask._impl, value, x._impl)
        return out if out.dtype == x._impl.dtype else _C.to_dtype(out, x._impl.dtype)

    @staticmethod
    def backward(ctx, g):
        return where(ctx.mask, 0.0, g), None, None

    jvp = staticmethod(elementwise_jvp)  # the filled value is a constant


def masked_fill(input, mask, value):
    mask = as_tensor_arg(mask)
    if mask._impl.dtype != "bool":
        raise TypeError(f"masked_fill only supports boolean masks, but got mask with dtype "
                        f"pyengine.{mask._impl.dtype}")
    if isinstance(value, Tensor):
        if value._impl.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._impl.ndim} dimension(s)")
        value = value.item()
    if input._impl.dtype not in FLOATING_NAMES and isinstance(value, (bool, int, float)):
        # Into an integer or bool tensor through full's checked conversion (PyTorch's rule): inf,
        # NaN or a float beyond int64 is an error, not whatever the float-to-int cast gives.
        value = _C.full([], value, input._impl.dtype, input._impl.device)
    out_shape = _C.broadcast_shapes(list(input._impl.shape), list(mask._impl.shape))
    if tuple(out_shape) != tuple(input._impl.shape):
        raise RuntimeError(f"masked_fill: mask of shape {tuple(mask._impl.shape)} cannot be broadcast to the "
                           f"input's shape {tuple(input._impl.shape)}")
    return MaskedFillBackward.apply(input, mask, value)

