"""Pooling: max, average and adaptive pooling over 1-D and 2-D inputs, with PyTorch's API.

Every pooling is a linear map of its input once the windows are fixed (for max pooling: once
the argmax is known), so two Functions cover all of them: the forward y = A x (a _C pooling
kernel) and its adjoint dL/dx = A^T dL/dy (the matching _C backward kernel). Each one's backward
is the other, so gradients stay differentiable under create_graph. Without a graph, max pooling
skips computing the indices unless they are asked for.
"""
from functools import partial

from .. import _C
from .._ints import int64
from ..ops._util import Op, linear_jvp
from ..tensor import Tensor, _wrap
from ._half import computes_in_float32


def _check(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(x).__name__}")


# ---------------------------------------------------------------- average pooling (fixed windows)
class AvgPoolFn(Op):
    """y = pool(x); `pool(impl)` and `unpool(grad_impl, input_shape)` are the _C pair with the
    window arguments bound."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, pool, unpool):
        if ctx is not None:
            ctx.pool, ctx.unpool, ctx.in_shape = pool, unpool, x._impl.shape
        return pool(x._impl)

    @staticmethod
    def backward(ctx, g):
        return AvgUnpoolFn.apply(g, ctx.pool, ctx.unpool, ctx.in_shape), None, None


class AvgUnpoolFn(Op):
    """dL/dx = pool^T(dL/dy): each output's gradient spread over its window / divisor."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, g, pool, unpool, in_shape):
        if ctx is not None:
            ctx.pool, ctx.unpool = pool, unpool
        return unpool(g._impl, in_shape)

    @staticmethod
    def backward(ctx, gg):
        return AvgPoolFn.apply(gg, ctx.pool, ctx.unpool), None, None, None


# ---------------------------------------------------------------- max pooling
class MaxPoolFn(Op):
    """y = x at the argmax of each window. `pool(impl, return_indices)` -> (out, indices);
    `unpool(grad, indices, input_shape)` scatters back. The indices go to `box` (the caller
    returns them when asked; None when not) and are saved, so an in-place change to them is caught."""

    @staticmethod
    def forward(ctx, x, pool, unpool, spatial, box):
        if ctx is None and box is None:  # no graph and no indices asked for: skip computing them
            return pool(x._impl, return_indices=False)[0]
        out, idx = pool(x._impl, return_indices=True)
        if box is not None:
            box.append(idx)
        if ctx is not None:
            ctx.save_for_backward(idx)
            ctx.unpool, ctx.spatial, ctx.in_shape = unpool, spatial, x._impl.shape
        return out

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return MaxUnpoolFn.apply(g, idx, ctx.unpool, ctx.spatial, ctx.in_shape), None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        (idx,) = ctx.saved_tensors  # the tangent at each window's argmax
        return _gather_at(t, idx, ctx.spatial)


class MaxUnpoolFn(Op):
    """dL/dx: dL/dy added at the argmax. Its adjoint (for double backward) gathers at the argmax."""

    @staticmethod
    def forward(ctx, g, idx, unpool, spatial, in_shape):
        if ctx is not None:
            ctx.idx, ctx.spatial = idx, spatial
        return unpool(g._impl, idx._impl, in_shape)

    @staticmethod
    def backward(ctx, gg):
        return _gather_at(gg, ctx.idx, ctx.spatial), None, None, None, None

    jvp = staticmethod(linear_jvp)  # linear in g


def _gather_at(t, idx, spatial):
    """t's values at the argmax positions idx (per (N, C) plane, flat over the `spatial` dims)."""
    return t.flatten(-spatial).gather(-1, idx.flatten(-spatial)).reshape(*idx.shape)


def _max_pool(x, name, pool, unpool, spatial, return_indices):
    _check(x, name)
    box = [] if return_indices else None
    out = MaxPoolFn.apply(x, pool, unpool, spatial, box)
    return (out, _wrap(box[0])) if return_indices else out


def _avg_pool(x, name, pool, unpool):
    _check(x, name)
    return AvgPoolFn.apply(x, pool, unpool)


# ---------------------------------------------------------------- the functional API
@computes_in_float32
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kernel_size windows of (N, C, H, W) or (C, H, W). stride defaults to kernel_size;
    indices (return_indices=True) are h * W + w within each plane, as PyTorch's."""
    pool = partial(_C.max_pool2d, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                   ceil_mode=ceil_mode)
    return _max_pool(input, "max_pool2d", pool, _C.max_pool2d_backward, 2, return_indices)


@computes_in_float32
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows along the last dim of (N, C, L) or (C, L)."""
    pool = partial(_C.max_pool1d, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                   ceil_mode=ceil_mode)
    return _max_pool(input, "max_pool1d", pool, _C.max_pool1d_backward, 1, return_indices)


@computes_in_float32
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows [floor(i*in/out), ceil((i+1)*in/out)); output_size is
    an int or an (oh, ow) pair whose None entries keep the input's size."""
    pool = partial(_C.adaptive_max_pool2d, output_size=output_size)
    return _max_pool(input, "adaptive_max_pool2d", pool, _C.max_pool2d_backward, 2, return_indices)


@computes_in_float32
def adaptive_max_pool1d(input, output_size, return_indices=False):
    pool = partial(_C.adaptive_max_pool1d, output_size=output_size)
    return _max_pool(input, "adaptive_max_pool1d", pool, _C.max_pool1d_backward, 1, return_indices)


@computes_in_float32
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kernel_size windows; the divisor counts padding when count_include_pad (PyTorch's
    rule), or is divisor_override when given."""
    if divisor_override is not None:
        if isinstance(divisor_override, bool):  # a flag by mistake, not a divisor of 1 (PyTorch refuses it)
            raise TypeError(f"avg_pool2d(): argument 'divisor_override' must be int, not bool")
        divisor_override = int64(divisor_override, "avg_pool2d", "divisor_override")
    kw = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
              count_include_pad=count_include_pad, divisor_override=divisor_override)
    return _avg_pool(input, "avg_pool2d", partial(_C.avg_pool2d, **kw), partial(_C.avg_pool2d_backward, **kw))


@computes_in_float32
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    kw = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
              count_include_pad=count_include_pad)
    return _avg_pool(input, "avg_pool1d", partial(_C.avg_pool1d, **kw), partial(_C.avg_pool1d_backward, **kw))


@computes_in_float32
def adaptive_avg_pool2d(input, output_size):
    """Mean over PyTorch's adaptive windows; adaptive_avg_pool2d(x, 1) is global average pooling
    (one lane-parallel sum per plane)."""
    return _avg_pool(input, "adaptive_avg_pool2d", partial(_C.adaptive_avg_pool2d, output_size=output_size),
                     _C.adaptive_avg_pool2d_backward)


@computes_in_float32
def adaptive_avg_pool1d(input, output_size):
    return _avg_pool(input, "adaptive_avg_pool1d", partial(_C.adaptive_avg_pool1d, output_size=output_size),
                     _C.adaptive_avg_pool1d_backward)
