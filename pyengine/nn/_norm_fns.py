"""Functional normalization: batch_norm, group_norm, layer_norm, rms_norm.

Each op is one Function whose forward is one `_C` kernel call that also returns the
statistics (mean, 1/std) the backward needs, and whose backward is one fused `_C` kernel
giving the input, weight and bias gradients together. Batch norm's running-statistics update
happens inside the forward kernel, so it is never part of the graph. Without grad (no_grad or
nothing requiring grad) the forward runs directly and saves nothing. Under create_graph (double
backward) the backward is instead written with differentiable Tensor ops (`_graph_backward`),
recomputing the statistics from x so that their dependence on x is part of the new graph.
"""
from .. import _C
from ..autograd.grad_mode import state as _grad_state
from ..ops._util import Op, sum_tangents
from ..tensor import Tensor, _wrap
from ._half import computes_in_float32

# torch.finfo(dtype).eps: RMSNorm's default eps.
_FINFO_EPS = {"float32": 1.1920928955078125e-07, "float64": 2.220446049250313e-16}


def _impl(t):
    return None if t is None else t._impl


def _grads(*impls):
    """Wrap the _C backward's gradients (None where not requested)."""
    return tuple(None if g is None else _wrap(g) for g in impls)


def _check_tensor(op, name, t, optional=True):
    if t is None and optional:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not {type(t).__name__}")


# ---------------------------------------------------------------- double backward
def _normalized_grad(xs, dxhat, axes, center, eps):
    """(xhat, dL/dx) with Tensor ops for xhat = (xs - mean) * rstd over `axes` (no mean when
    not center), given dL/dxhat: rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))."""
    xc = xs - xs.mean(axes, keepdim=True) if center else xs
    rstd = ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = xc * rstd
    inner = dxhat - xhat * (dxhat * xhat).mean(axes, keepdim=True)
    if center:
        inner = inner - dxhat.mean(axes, keepdim=True)
    return xhat, rstd * inner


def _graph_backward(x, g, weight, has_bias, need, stats_view, axes, param_view, param_axes, center, eps):
    """Differentiable gradients (input, weight, bias) of y = xhat * w + b. stats_view(t) reshapes
    a tensor of x's shape so that its statistics run over `axes`; param_view(w) broadcasts the
    weight against x; weight/bias gradients sum over `param_axes` of x's shape."""
    dxhat = g if weight is None else g * param_view(weight)
    xhat, gx = _normalized_grad(stats_view(x), stats_view(dxhat), axes, center, eps)
    xhat, gx = xhat.reshape(*x.shape), gx.reshape(*x.shape)

    def reduce(t):
        return t.sum(param_axes) if param_axes else t

    gw = reduce(g * xhat) if weight is not None and need[1] else None
    gb = reduce(g) if has_bias and need[2] else None
    return gx if need[0] else None, gw, gb


# ---------------------------------------------------------------- batch norm
def _normalize_jvp(x, tx, axes, eps, mean=None, rstd=None):
    """(xhat, its tangent) for xhat = (x - mean) rstd over `axes`, with the batch's statistics, or
    the fixed mean/rstd given (batch norm in eval mode: then the tangent is tx rstd).
    With batch statistics, d xhat = rstd (c - xhat mean(xhat c)), c = tx - mean(tx)."""
    fixed = mean is not None
    if not fixed:
        mean = x.mean(dim=axes, keepdim=True)
        rstd = (x.var(dim=axes, correction=0, keepdim=True) + eps).rsqrt()
    xhat = (x - mean) * rstd
    if tx is None:
        return xhat, None
    if fixed:
        return xhat, tx * rstd
    c = tx - tx.mean(dim=axes, keepdim=True)
    return xhat, rstd * (c - xhat * (xhat * c).mean(dim=axes, keepdim=True))


def _affine_jvp(xhat, dxhat, weight, tw, tb, param_view):
    """The tangent of xhat * weight + bias (param_view broadcasts a parameter against xhat)."""
    return sum_tangents(None if dxhat is None else (dxhat if weight is None else dxhat * param_view(weight)),
                        None if tw is None else xhat * param_view(tw), None if tb is None else param_view(tb))


class BatchNormFn(Op):
    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        x, weight, _b, running_mean, running_var, _n, training, _m, eps = ctx.fw_inputs
        shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
        axes = [0] + list(range(2, x.ndim))
        if training or running_mean is None:
            xhat, dxhat = _normalize_jvp(x, tx, axes, eps)
        else:
            xhat, dxhat = _normalize_jvp(x, tx, axes, eps, running_mean.reshape(shape),
                                         (running_var.reshape(shape) + eps).rsqrt())
        return _affine_jvp(xhat, dxhat, weight, tw, tb, lambda p: p.reshape(shape))

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, num_batches_tracked, training, momentum, eps):
        out, mean, invstd = _C.batch_norm_forward(x._impl, _impl(weight), _impl(bias), _impl(running_mean),
                                                  _impl(running_var), _impl(num_batches_tracked), training,
                                                  momentum, eps)
        if ctx is not None:
            ctx.save_for_backward(x, weight)
            ctx.stats = (mean, invstd)
            ctx.training, ctx.eps, ctx.has_bias = training, eps, bias is not None
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # create_graph
            return _batch_norm_graph_backward(ctx, x, g, weight, need) + (None,) * 6
        grads = _C.batch_norm_backward(g._impl, x._impl, _impl(weight), *ctx.stats, ctx.training, need[0],
                                       need[1], need[2])
        return _grads(*grads) + (None,) * 6


def _batch_norm_graph_backward(ctx, x, g, weight, need):
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)

    def per_channel(t):
        return t.reshape(*bshape)

    if ctx.training:
        return _graph_backward(x, g, weight, ctx.has_bias, need, lambda t: t, axes, per_channel, axes, True,
                               ctx.eps)
    # eval: the running statistics are constants
    mean, invstd = (per_channel(_wrap(t)) for t in ctx.stats)
    scale = invstd if weight is None else invstd * per_channel(weight)
    gx = g * scale if need[0] else None
    gw = (g * ((x - mean) * invstd)).sum(axes) if weight is not None and need[1] else None
    gb = g.sum(axes) if ctx.has_bias and need[2] else None
    return gx, gw, gb


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, num_batches_tracked=None):
    """batch_norm that may also count batches (num_batches_tracked, used by momentum=None)."""
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_tensor("batch_norm", name, t)
    _check_tensor("batch_norm", "input", input, optional=False)
    if input.dtype.name in ("float16", "bfloat16"):
        # In float32 (see _half.py), on float32 copies of 16-bit running statistics that are
        # written back after the update, so the module's own buffers see it.
        stats = [None if s is None else s.float() for s in (running_mean, running_var)]
        out = _batch_norm(input.float(), *stats, None if weight is None else weight.float(),
                          None if bias is None else bias.float(), training, momentum, eps, num_batches_tracked)
        for own, updated in zip((running_mean, running_var), stats):
            if own is not None and own is not updated:
                own.copy_(updated)
        return out.to(input.dtype)
    args = (input, weight, bias, running_mean, running_var, num_batches_tracked, bool(training),
            None if momentum is None else float(momentum), float(eps))
    return BatchNormFn.apply(*args)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) of input (N, C, *): with batch statistics in training
    (updating running_mean/running_var in place when given: running = (1 - momentum) *
    running + momentum * batch, with the unbiased variance), else with the running statistics."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


# ---------------------------------------------------------------- group / layer / RMS norm

class GroupNormFn(Op):
    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        x, weight, _b, num_groups, eps = ctx.fw_inputs
        grouped = [x.shape[0], num_groups, -1]
        xhat, dxhat = _normalize_jvp(x.reshape(grouped), None if tx is None else tx.reshape(grouped), [2], eps)
        xhat, dxhat = xhat.reshape(x.shape), None if dxhat is None else dxhat.reshape(x.shape)
        shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
        return _affine_jvp(xhat, dxhat, weight, tw, tb, lambda p: p.reshape(shape))

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        out, mean, rstd = _C.group_norm_forward(x._impl, num_groups, _impl(weight), _impl(bias), eps)
        if ctx is not None:
            ctx.save_for_backward(x, weight)
            ctx.stats, ctx.num_groups, ctx.has_bias, ctx.eps = (mean, rstd), num_groups, bias is not None, eps
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # create_graph
            N, C = x.shape[0], x.shape[1]
            bshape = (1, C) + (1,) * (x.ndim - 2)
            return _graph_backward(x, g, weight, ctx.has_bias, need, lambda t: t.reshape(N, ctx.num_groups, -1),
                                   (2,), lambda w: w.reshape(*bshape), (0,) + tuple(range(2, x.ndim)), True,
                                   ctx.eps) + (None, None)
        grads = _C.group_norm_backward(g._impl, x._impl, *ctx.stats, ctx.num_groups, _impl(weight), need[0],
                                       need[1], need[2])
        return _grads(*grads) + (None, None)


@computes_in_float32
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of num_groups channel groups of every sample of input (N, C, *);
    weight/bias are per channel."""
    _check_tensor("group_norm", "input", input, optional=False)
    _check_tensor("group_norm", "weight", weight)
    _check_tensor("group_norm", "bias", bias)
    args = (input, weight, bias, int(num_groups), float(eps))
    return GroupNormFn.apply(*args)


def _trailing_graph_backward(ctx, x, g, weight, has_bias, need, center):
    """_graph_backward for layer / RMS norm: statistics over the trailing normalized dims."""
    k = len(ctx.normalized_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    return _graph_backward(x, g, weight, has_bias, need, lambda t: t, axes, lambda w: w,
                           tuple(range(x.ndim - k)), center, ctx.eps)


def _shape_list(normalized_shape):
    if isinstance(normalized_shape, int):
        return [normalized_shape]
    return [int(s) for s in normalized_shape]


class LayerNormFn(Op):
    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape, eps):
        out, mean, rstd = _C.layer_norm_forward(x._impl, normalized_shape, _impl(weight), _impl(bias), eps)
        if ctx is not None:
            ctx.save_for_backward(x, weight)
            ctx.stats, ctx.normalized_shape = (mean, rstd), normalized_shape
            ctx.has_bias, ctx.eps = bias is not None, eps
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # create_graph
            return _trailing_graph_backward(ctx, x, g, weight, ctx.has_bias, need, True) + (None, None)
        grads = _C.layer_norm_backward(g._impl, x._impl, ctx.normalized_shape, *ctx.stats, _impl(weight),
                                       need[0], need[1], need[2])
        return _grads(*grads) + (None, None)

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        x, weight, _bias, normalized_shape, eps = ctx.fw_inputs
        xhat, dxhat = _normalize_jvp(x, tx, list(range(x.ndim - len(normalized_shape), x.ndim)), eps)
        return _affine_jvp(xhat, dxhat, weight, tw, tb, lambda p: p)


@computes_in_float32
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims given by normalized_shape; weight/bias have that shape."""
    _check_tensor("layer_norm", "input", input, optional=False)
    _check_tensor("layer_norm", "weight", weight)
    _check_tensor("layer_norm", "bias", bias)
    args = (input, weight, bias, _shape_list(normalized_shape), float(eps))
    return LayerNormFn.apply(*args)


class RMSNormFn(Op):
    @staticmethod
    def forward(ctx, x, weight, normalized_shape, eps):
        out, rstd = _C.rms_norm_forward(x._impl, normalized_shape, _impl(weight), eps)
        if ctx is not None:
            ctx.save_for_backward(x, weight)
            ctx.rstd, ctx.normalized_shape, ctx.eps = rstd, normalized_shape, eps
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # create_graph
            return _trailing_graph_backward(ctx, x, g, weight, False, need + (False,), False)[:2] + (None, None)
        gx, gw = _C.rms_norm_backward(g._impl, x._impl, ctx.normalized_shape, ctx.rstd, _impl(weight), need[0],
                                      need[1])
        return _grads(gx, gw) + (None, None)


@computes_in_float32
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2 over the trailing normalized_shape dims) + eps) * weight; eps None
    means the machine epsilon of input's dtype (torch.finfo(dtype).eps)."""
    _check_tensor("rms_norm", "input", input, optional=False)
    _check_tensor("rms_norm", "weight", weight)
    if eps is None:
        eps = _FINFO_EPS.get(input._impl.dtype, 0.0)
    args = (input, weight, _shape_list(normalized_shape), float(eps))
    return RMSNormFn.apply(*args)
