"""Functional forms of the parameterised layers: linear (one fused GEMM) and dropout."""
from .. import _C
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor, _wrap, dtype_name, shape_of
from ._activation_fns import _NoCtx


class LinearFn(Function):
    """y = x @ W.T + b for 2-D x. Forward is one GEMM that starts from the broadcast bias
    (beta=1), so no separate add; the backward's two products are GEMMs on transposed views."""

    @staticmethod
    def forward(ctx, x, w, b):
        xi, wi = x._impl, w._impl
        dx, dw = dtype_name(x), dtype_name(w)  # cached on the Tensors: no trips through pybind
        out_dtype = dx if dx == dw else _C.promote_types(dx, dw)
        out = _C.empty([shape_of(x)[0], shape_of(w)[0]], out_dtype, xi.device)
        if b is None:
            _C.gemm_(out, xi, _C.transpose(wi, 0, 1), 1.0, 0.0)
        else:
            _C.copy_(out, b._impl)  # broadcast the bias into a fresh buffer (never alias b)
            _C.gemm_(out, xi, _C.transpose(wi, 0, 1), 1.0, 1.0)
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # create_graph: Tensor ops, so the gradients are differentiable
            gx = g @ w if need[0] else None
            gw = g.mT @ x if need[1] else None
            gb = g.sum(0) if ctx.has_bias and need[2] else None
            return gx, gw, gb
        # Plain backward: each gradient is one fresh _C result (no Tensor wrappers in between),
        # which the engine then adopts as .grad without a copy.
        gi = g._impl
        gx = _C.matmul(gi, w._impl) if need[0] else None
        gw = _C.matmul(_C.transpose(gi, 0, 1), x._impl) if need[1] else None
        gb = _C.sum(gi, [0], False, None) if ctx.has_bias and need[2] else None
        return gx, gw, gb


def _check_linear(x, w, b):
    if not isinstance(x, Tensor):
        raise TypeError(f"linear(): argument 'input' must be a Tensor, not {type(x).__name__}")
    if x.ndim == 0:
        raise RuntimeError("linear(): input must have at least 1 dimension, got a 0-d tensor")
    if w.ndim != 2:
        raise RuntimeError(f"linear(): weight must be 2-D (out_features, in_features), got shape {tuple(w.shape)}")
    if x.shape[-1] != w.shape[1]:
        raise RuntimeError(f"linear(): mat1 and mat2 shapes cannot be multiplied: input has {x.shape[-1]} features "
                           f"(shape {tuple(x.shape)}) but weight expects {w.shape[1]} (weight shape "
                           f"{tuple(w.shape)})")
    if b is not None and tuple(b.shape) not in ((w.shape[0],), ()):
        raise RuntimeError(f"linear(): bias shape {tuple(b.shape)} does not match out_features {w.shape[0]}")


def linear(input, weight, bias=None):
    """input (*, in_features) @ weight.T (out_features, in_features) + bias -> (*, out_features)."""
    _check_linear(input, weight, bias)
    lead = tuple(input.shape[:-1])
    x2 = input.reshape(-1, input.shape[-1]) if input.ndim != 2 else input
    if _grad_state.enabled and (input._requires_grad or weight._requires_grad or
                                (bias is not None and bias._requires_grad)):
        out = LinearFn.apply(x2, weight, bias)
    else:
        out = _wrap(LinearFn.forward(_NoCtx(), x2, weight, bias))
    return out if input.ndim == 2 else out.reshape(*lead, weight.shape[0])


class DropoutFn(Function):
    """y = x * mask, mask = bernoulli(1 - p) / (1 - p): the kept units are scaled up in training
    so the expected activation is unchanged and eval mode is the identity."""

    @staticmethod
    def forward(ctx, x, p):
        keep = _C.empty(list(x._impl.shape), x._impl.dtype, x._impl.device)
        _C.bernoulli_(keep, 1.0 - p)
        mask = _C.mul(keep, 1.0 / (1.0 - p))
        ctx.mask = _wrap(mask)
        return _C.mul(x._impl, mask)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def dropout(input, p=0.5, training=True, inplace=False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    elif _grad_state.enabled and input._requires_grad:
        out = DropoutFn.apply(input, float(p))
    else:
        out = _wrap(DropoutFn.forward(_NoCtx(), input, float(p)))
    return input.copy_(out) if inplace else out
