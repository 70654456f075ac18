"""Functional normalization: batch_norm, group_norm, layer_norm, rms_norm.

Each op is one Function whose forward is one `_C` kernel call that also returns the
statistics (mean, 1/std) the backward needs, and whose backward is one fused `_C` kernel
giving the input, weight and bias gradients together. Batch norm's running-statistics update
happens inside the forward kernel, so it is never part of the graph. Without grad (no_grad or
nothing requiring grad) the forward runs directly and saves nothing.
"""
from .. import _C
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor, _wrap
from ._activation_fns import _NoCtx

# torch.finfo(dtype).eps: RMSNorm's default eps.
_FINFO_EPS = {"float32": 1.1920928955078125e-07, "float64": 2.220446049250313e-16}


def _impl(t):
    return None if t is None else t._impl


def _needs_graph(*tensors):
    return _grad_state.enabled and any(t is not None and t._requires_grad for t in tensors)


def _check_tensor(op, name, t, optional=True):
    if t is None and optional:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not {type(t).__name__}")


# ---------------------------------------------------------------- batch norm
class BatchNormFn(Function):
    float_outputs = True
    forward_calls_tensor_ops = False

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, num_batches_tracked, training, momentum, eps):
        out, mean, invstd = _C.batch_norm_forward(x._impl, _impl(weight), _impl(bias), _impl(running_mean),
                                                  _impl(running_var), _impl(num_batches_tracked), training,
                                                  momentum, eps)
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, invstd)
        ctx.training = training
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx, gw, gb = _C.batch_norm_backward(g._impl, x._impl, _impl(weight), *ctx.stats, ctx.training,
                                            need[0], need[1], need[2])
        return (_wrap(gx) if gx is not None else None, _wrap(gw) if gw is not None else None,
                _wrap(gb) if gb is not None else None, None, None, None, None, None, None)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, num_batches_tracked=None):
    """batch_norm that may also count batches (num_batches_tracked, used by momentum=None)."""
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_tensor("batch_norm", name, t)
    _check_tensor("batch_norm", "input", input, optional=False)
    args = (input, weight, bias, running_mean, running_var, num_batches_tracked, bool(training),
            None if momentum is None else float(momentum), float(eps))
    if _needs_graph(input, weight, bias):
        return BatchNormFn.apply(*args)
    return _wrap(BatchNormFn.forward(_NoCtx(), *args))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) of input (N, C, *): with batch statistics in training
    (updating running_mean/running_var in place when given: running = (1 - momentum) *
    running + momentum * batch, with the unbiased variance), else with the running statistics."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


# ---------------------------------------------------------------- group / layer / RMS norm
def _grads(gx, gw, gb):
    return tuple(None if g is None else _wrap(g) for g in (gx, gw, gb))


class GroupNormFn(Function):
    float_outputs = True
    forward_calls_tensor_ops = False

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        out, mean, rstd = _C.group_norm_forward(x._impl, num_groups, _impl(weight), _impl(bias), eps)
        ctx.save_for_backward(x, weight)
        ctx.stats, ctx.num_groups, ctx.has_bias = (mean, rstd), num_groups, bias is not None
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        grads = _C.group_norm_backward(g._impl, x._impl, *ctx.stats, ctx.num_groups, _impl(weight), need[0],
                                       need[1], need[2])
        return _grads(*grads) + (None, None)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of num_groups channel groups of every sample of input (N, C, *);
    weight/bias are per channel."""
    _check_tensor("group_norm", "input", input, optional=False)
    _check_tensor("group_norm", "weight", weight)
    _check_tensor("group_norm", "bias", bias)
    args = (input, weight, bias, int(num_groups), float(eps))
    if _needs_graph(input, weight, bias):
        return GroupNormFn.apply(*args)
    return _wrap(GroupNormFn.forward(_NoCtx(), *args))


def _shape_list(normalized_shape):
    if isinstance(normalized_shape, int):
        return [normalized_shape]
    return [int(s) for s in normalized_shape]


class LayerNormFn(Function):
    float_outputs = True
    forward_calls_tensor_ops = False

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape, eps):
        out, mean, rstd = _C.layer_norm_forward(x._impl, normalized_shape, _impl(weight), _impl(bias), eps)
        ctx.save_for_backward(x, weight)
        ctx.stats, ctx.normalized_shape = (mean, rstd), normalized_shape
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        grads = _C.layer_norm_backward(g._impl, x._impl, ctx.normalized_shape, *ctx.stats, _impl(weight),
                                       need[0], need[1], need[2])
        return _grads(*grads) + (None, None)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims given by normalized_shape; weight/bias have that shape."""
    _check_tensor("layer_norm", "input", input, optional=False)
    _check_tensor("layer_norm", "weight", weight)
    _check_tensor("layer_norm", "bias", bias)
    args = (input, weight, bias, _shape_list(normalized_shape), float(eps))
    if _needs_graph(input, weight, bias):
        return LayerNormFn.apply(*args)
    return _wrap(LayerNormFn.forward(_NoCtx(), *args))


class RMSNormFn(Function):
    float_outputs = True
    forward_calls_tensor_ops = False

    @staticmethod
    def forward(ctx, x, weight, normalized_shape, eps):
        out, rstd = _C.rms_norm_forward(x._impl, normalized_shape, _impl(weight), eps)
        ctx.save_for_backward(x, weight)
        ctx.rstd, ctx.normalized_shape = rstd, normalized_shape
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx, gw = _C.rms_norm_backward(g._impl, x._impl, ctx.normalized_shape, ctx.rstd, _impl(weight), need[0],
                                      need[1])
        return _grads(gx, gw, None)[:2] + (None, None)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2 over the trailing normalized_shape dims) + eps) * weight; eps None
    means the machine epsilon of input's dtype (torch.finfo(dtype).eps)."""
    _check_tensor("rms_norm", "input", input, optional=False)
    _check_tensor("rms_norm", "weight", weight)
    if eps is None:
        eps = _FINFO_EPS.get(input._impl.dtype, 0.0)
    args = (input, weight, _shape_list(normalized_shape), float(eps))
    if _needs_graph(input, weight):
        return RMSNormFn.apply(*args)
    return _wrap(RMSNormFn.forward(_NoCtx(), *args))
