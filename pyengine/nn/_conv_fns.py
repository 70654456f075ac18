"""Functional convolutions: conv2d, conv_transpose2d and their 1-D forms.

All of them run the three C++ kernels behind `_C.conv2d` / `_C.conv2d_backward` /
`_C.conv_transpose2d(_backward)`. A 1-D convolution is the 2-D one on an H=1 view: the input
(N, C, L) becomes (N, C, 1, L) and the kernel (K, C/g, k) becomes (K, C/g, 1, k); `one_d`, the
last entry of every geometry tuple, tells the C++ checks so that their errors name conv1d /
conv_transpose1d and show the shapes the user passed.
Arguments follow PyTorch: ints or tuples, padding also 'same' / 'valid' for conv1d/conv2d.
"""
import functools

from .. import _C
from ..amp import cast_for_product
from .._ints import int64
from ..autograd.grad_mode import state as _grad_state
from ..ops._util import Op, sum_tangents
from ..tensor import Tensor, _wrap
from ._half import computes_in_float32
from ..errors import ArgumentError


# ---------------------------------------------------------------- argument normalisation
def _tuple(value, n, name, fn):
    """An int or a sequence of n ints -> a list of n ints (PyTorch's _pair/_single)."""
    if isinstance(value, bool):
        raise TypeError(f"{fn}(): {name} must be an int or a tuple of {n} ints, got {value!r}")
    if isinstance(value, int):
        return [int64(value, fn, name)] * n
    try:
        values = [int64(v, fn, name) for v in value]
    except TypeError:
        raise TypeError(f"{fn}(): {name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(values) != n:
        raise ArgumentError(f"{fn}(): expected {name} to be a single int or a tuple of {n} ints, got {tuple(value)}")
    return values


def _resolve_padding(padding, kernel, stride, dilation, fn):
    """'valid' -> no padding; 'same' -> total dilation*(k-1) per dim, the odd extra one on the
    bottom/right (PyTorch's rule), as (top, bottom, left, right); else per-dim symmetric ints."""
    if isinstance(padding, str):
        if padding == "valid":
            return [0] * len(kernel)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ArgumentError(f"{fn}(): padding='same' is not supported for strided convolutions "
                                    f"(stride {tuple(stride)})")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return pads
        raise ArgumentError(f"{fn}(): invalid padding string {padding!r}, should be one of 'valid', 'same'")
    return _tuple(padding, len(kernel), "padding", fn)


def _check_input(x, w, fn, dims):
    """x must be a Tensor with `dims` (batched) or dims-1 (unbatched) dims; returns is_batched."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    if not isinstance(w, Tensor):
        raise TypeError(f"{fn}(): argument 'weight' must be a Tensor, not {type(w).__name__}")
    if x.ndim not in (dims - 1, dims):
        raise ArgumentError(f"{fn}(): expected a {dims - 1}-D (unbatched) or {dims}-D (batched) input, got shape "
                            f"{tuple(x.shape)}")
    if w.ndim != dims:
        raise ArgumentError(f"{fn}(): expected a {dims}-D weight, got shape {tuple(w.shape)}")
    return x.ndim == dims


def _impl(t):
    return None if t is None else t._impl


def _opt_wrap(impl):
    return None if impl is None else _wrap(impl)


# ---------------------------------------------------------------- autograd Functions
def _conv2d_backward(g, x, w, geometry, mask):
    """_C.conv2d_backward for a geometry tuple (stride, padding, dilation, groups, one_d)."""
    *conv, one_d = geometry
    return _C.conv2d_backward(g._impl, x._impl, w._impl, *conv, mask, one_d)


class Conv2dFn(Op):
    """y = conv2d(x, w) + b; backward is one fused C++ call that returns the requested grads."""

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        # bilinear in (x, w), plus the bias broadcast over (N, ., H, W) (or (N, ., L) for 1-D);
        # the same for conv_transpose2d, whose arguments come in the same order
        x, w, _b, *geometry = ctx.fw_inputs
        op = type(ctx)._node_of.apply
        tbias = None if tb is None else tb.reshape([1, -1] + [1] * (ctx.fw_outputs.ndim - 2))
        return sum_tangents(None if tx is None else op(tx, w, None, *geometry),
                            None if tw is None else op(x, tw, None, *geometry), tbias)

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups, one_d=False):
        if ctx is not None:
            ctx.save_for_backward(x, w)
            ctx.geometry = (stride, padding, dilation, groups, one_d)
            ctx.has_bias = b is not None
        return _C.conv2d(x._impl, w._impl, _impl(b), stride, padding, dilation, groups, one_d)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # backward(create_graph=True): gradients that are graphs themselves
            gx = Conv2dInputGradFn.apply(g, w, x, ctx.geometry) if need[0] else None
            gw = Conv2dWeightGradFn.apply(g, x, w, ctx.geometry) if need[1] else None
            gb = g.sum((0, 2, 3)) if ctx.has_bias and need[2] else None
            return gx, gw, gb, None, None, None, None, None
        mask = [need[0], need[1], ctx.has_bias and need[2]]
        gx, gw, gb = _conv2d_backward(g, x, w, ctx.geometry, mask)
        return _opt_wrap(gx), _opt_wrap(gw), _opt_wrap(gb), None, None, None, None, None


# conv2d's two gradients are bilinear: gx = A_w^T g and gw = the weight gradient of (g, x), where
# A_w is the convolution with weight w. Their own gradients are convolutions again, so each is a
# Function whose backward calls the others: double (and higher) backward to any order.
class Conv2dInputGradFn(Op):
    """gx = conv2d's input gradient for output gradient g and weight w; x only gives the shape."""

    @staticmethod
    def forward(ctx, g, w, x, geometry):
        if ctx is not None:
            ctx.save_for_backward(g, w, x)
            ctx.geometry = geometry
        return _conv2d_backward(g, x, w, geometry, [True, False, False])[0]

    @staticmethod
    def backward(ctx, ggx):
        g, w, x = ctx.saved_tensors
        need = ctx.needs_input_grad
        dg = Conv2dFn.apply(ggx, w, None, *ctx.geometry) if need[0] else None  # A_w ggx
        dw = Conv2dWeightGradFn.apply(g, ggx, w, ctx.geometry) if need[1] else None
        return dg, dw, None, None


class Conv2dWeightGradFn(Op):
    """gw = conv2d's weight gradient for output gradient g and input x; w only gives the shape."""

    @staticmethod
    def forward(ctx, g, x, w, geometry):
        if ctx is not None:
            ctx.save_for_backward(g, x, w)
            ctx.geometry = geometry
        return _conv2d_backward(g, x, w, geometry, [False, True, False])[1]

    @staticmethod
    def backward(ctx, ggw):
        g, x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        dg = Conv2dFn.apply(x, ggw, None, *ctx.geometry) if need[0] else None  # A_ggw x
        dx = Conv2dInputGradFn.apply(g, ggw, x, ctx.geometry) if need[1] else None
        return dg, dx, None, None


class ConvTranspose2dFn(Op):
    """The adjoint of conv2d: forward runs conv2d's input-gradient kernel, backward conv2d's
    forward (for the input) and weight-gradient kernels."""

    jvp = Conv2dFn.jvp  # bilinear in (x, w) plus the bias, like conv2d

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, groups, dilation, one_d=False):
        if ctx is not None:
            ctx.save_for_backward(x, w)
            ctx.geometry = (stride, padding, output_padding, groups, dilation, one_d)
            ctx.has_bias = b is not None
        return _C.conv_transpose2d(x._impl, w._impl, _impl(b), stride, padding, output_padding, groups, dilation,
                                   one_d)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # create_graph: conv_transpose2d(x, w) = A_w^T x, so
            stride, padding, _, groups, dilation, one_d = ctx.geometry
            conv = (stride, padding, dilation, groups, one_d)
            gx = Conv2dFn.apply(g, w, None, *conv) if need[0] else None           # A_w g
            gw = Conv2dWeightGradFn.apply(x, g, w, conv) if need[1] else None   # conv of g, output grad x
            gb = g.sum((0, 2, 3)) if ctx.has_bias and need[2] else None
            return gx, gw, gb, None, None, None, None, None, None
        mask = [need[0], need[1], ctx.has_bias and need[2]]
        *geometry, one_d = ctx.geometry
        gx, gw, gb = _C.conv_transpose2d_backward(g._impl, x._impl, w._impl, *geometry, mask, one_d)
        return _opt_wrap(gx), _opt_wrap(gw), _opt_wrap(gb), None, None, None, None, None, None


# ---------------------------------------------------------------- public functions
def _half_on_cpu(conv):
    """float16/bfloat16 convolutions (and autocast's): the CPU kernels take the 16-bit tensors as
    they are - 16-bit operands, float32 sums, each result rounded once, like PyTorch's CPU - and
    so do their gradients. The CUDA kernels are float32/float64 only: there the convolution
    computes in float32 (see _half.py). An input and a weight of different dtypes reach the
    kernel's dtype check as they came."""
    in_float32 = computes_in_float32(conv)

    @functools.wraps(conv)
    def wrapped(input, weight, bias=None, *args, **kwargs):
        input, weight, bias = cast_for_product(input, weight, bias)
        if isinstance(input, Tensor) and isinstance(weight, Tensor) and input.dtype != weight.dtype:
            return conv(input, weight, bias, *args, **kwargs)  # the kernel's own dtype error, unconverted
        if isinstance(input, Tensor) and input.device.type == "cpu":
            return conv(input, weight, bias, *args, **kwargs)
        return in_float32(input, weight, bias, *args, **kwargs)
    return wrapped


@_half_on_cpu
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation. input (N, C, H, W) or (C, H, W); weight (K, C/groups, kH, kW)."""
    batched = _check_input(input, weight, "conv2d", 4)
    groups = int64(groups, "conv2d", "groups")
    stride = _tuple(stride, 2, "stride", "conv2d")
    dilation = _tuple(dilation, 2, "dilation", "conv2d")
    padding = _resolve_padding(padding, tuple(weight.shape[2:]), stride, dilation, "conv2d")
    x = input if batched else input.unsqueeze(0)
    out = Conv2dFn.apply(x, weight, bias, stride, padding, dilation, groups)
    return out if batched else out.squeeze(0)


@_half_on_cpu
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation. input (N, C, L) or (C, L); weight (K, C/groups, k)."""
    batched = _check_input(input, weight, "conv1d", 3)
    groups = int64(groups, "conv1d", "groups")
    stride = _tuple(stride, 1, "stride", "conv1d")
    dilation = _tuple(dilation, 1, "dilation", "conv1d")
    padding = _resolve_padding(padding, tuple(weight.shape[2:]), stride, dilation, "conv1d")
    padding = [0, 0] + padding if len(padding) == 2 else [0] + padding  # no padding along H=1
    x = input.unsqueeze(-2) if batched else input.unsqueeze(0).unsqueeze(-2)
    out = Conv2dFn.apply(x, weight.unsqueeze(2), bias, [1] + stride, padding, [1] + dilation, groups, True)
    return out.squeeze(2) if batched else out.squeeze(2).squeeze(0)


@_half_on_cpu
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-D convolution. input (N, C_in, H, W) or (C_in, H, W); weight (C_in, C_out/groups, kH, kW)."""
    fn = "conv_transpose2d"
    batched = _check_input(input, weight, fn, 4)
    groups = int64(groups, fn, "groups")
    if isinstance(padding, str):
        raise ArgumentError(f"{fn}(): padding must be an int or a tuple of 2 ints, got {padding!r}")
    args = [_tuple(stride, 2, "stride", fn), _tuple(padding, 2, "padding", fn),
            _tuple(output_padding, 2, "output_padding", fn), groups, _tuple(dilation, 2, "dilation", fn)]
    x = input if batched else input.unsqueeze(0)
    out = ConvTranspose2dFn.apply(x, weight, bias, *args)
    return out if batched else out.squeeze(0)


@_half_on_cpu
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-D convolution. input (N, C_in, L) or (C_in, L); weight (C_in, C_out/groups, k)."""
    fn = "conv_transpose1d"
    batched = _check_input(input, weight, fn, 3)
    groups = int64(groups, fn, "groups")
    if isinstance(padding, str):
        raise ArgumentError(f"{fn}(): padding must be an int or a tuple of 1 int, got {padding!r}")
    args = [[1] + _tuple(stride, 1, "stride", fn), [0] + _tuple(padding, 1, "padding", fn),
            [0] + _tuple(output_padding, 1, "output_padding", fn), groups, [1] + _tuple(dilation, 1, "dilation", fn)]
    x = input.unsqueeze(-2) if batched else input.unsqueeze(0).unsqueeze(-2)
    out = ConvTranspose2dFn.apply(x, weight.unsqueeze(2), bias, *args, True)
    return out.squeeze(2) if batched else out.squeeze(2).squeeze(0)
