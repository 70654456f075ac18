"""Functional forms of the parameterised layers: linear (one fused GEMM) and dropout (element-wise
and channel-wise)."""
import warnings

from .. import _C
from ..amp import cast_for_product
from ..autograd.grad_mode import state as _grad_state
from ..ops._util import Op, elementwise_jvp, sum_tangents
from ..tensor import Tensor, _wrap, dtype_name, shape_of


class LinearFn(Op):
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
        if ctx is not None:
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

    @staticmethod
    def jvp(ctx, tx, tw, tb):
        x, w, _ = ctx.fw_inputs
        return sum_tangents(None if tx is None else LinearFn.apply(tx, w, None),
                            None if tw is None else LinearFn.apply(x, tw, None), tb)


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
    # PyTorch's rule: a layer computes in its own dtype and refuses another (a float64 batch
    # into a float32 layer is a mistake to report, not a silent float64 computation).
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise RuntimeError(f"linear(): mat1 and mat2 must have the same dtype, but got input {x.dtype} and "
                               f"{name} {t.dtype}")


def linear(input, weight, bias=None):
    """input (*, in_features) @ weight.T (out_features, in_features) + bias -> (*, out_features)."""
    input, weight, bias = cast_for_product(input, weight, bias)
    _check_linear(input, weight, bias)
    lead = tuple(input.shape[:-1])
    x2 = input.reshape(-1, input.shape[-1]) if input.ndim != 2 else input
    out = LinearFn.apply(x2, weight, bias)
    return out if input.ndim == 2 else out.reshape(*lead, weight.shape[0])


class DropoutFn(Op):
    """y = x * mask, mask = bernoulli(1 - p) / (1 - p): the kept units are scaled up in training
    so the expected activation is unchanged and eval mode is the identity. `mask_shape` (default
    x's shape) may have 1s where the mask broadcasts: channel dropout draws one value per (N, C)."""

    jvp = staticmethod(elementwise_jvp)  # a diagonal Jacobian: backward's formula

    @staticmethod
    def forward(ctx, x, p, mask_shape=None):
        shape = list(x._impl.shape) if mask_shape is None else mask_shape
        keep = _C.empty(shape, x._impl.dtype, x._impl.device)
        _C.bernoulli_(keep, 1.0 - p)
        mask = _C.mul(keep, 1.0 / (1.0 - p))
        if ctx is not None:
            ctx.mask = _wrap(mask)
        return _C.mul(x._impl, mask)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None, None


def dropout(input, p=0.5, training=True, inplace=False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        out = DropoutFn.apply(input, float(p))
    return input.copy_(out) if inplace else out


def _feature_dropout(input, p, training, inplace):
    """Dropout of whole channels: one draw per (dim 0, dim 1) index, shared by every element of
    the feature map behind it (PyTorch's feature_dropout)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.ndim < 2:
        raise RuntimeError(f"Feature dropout requires at least 2 dimensions in the input, got shape "
                           f"{tuple(input.shape)}")
    mask_shape = list(input.shape[:2]) + [1] * (input.ndim - 2)
    if p == 1.0:
        out = input * 0.0
    else:
        out = DropoutFn.apply(input, float(p), mask_shape)
    return input.copy_(out) if inplace else out


def _unbatched_feature_dropout(input, p, training, inplace, batched):
    if batched:
        return _feature_dropout(input, p, training, inplace)
    out = _feature_dropout(input.unsqueeze(0), p, training, False).squeeze(0)
    return input.copy_(out) if inplace and out is not input else out


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or unbatched (C, L) input with probability p."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, "
                           "a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _unbatched_feature_dropout(input, p, training, inplace, input.ndim == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input with probability p. A 3-D input is treated as
    (N, C, L), as PyTorch 2.13 does (with the same warning)."""
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead.", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                      "dim. This behavior will change in a future release to interpret the input as one without "
                      "a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) input with probability p."""
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead.", stacklevel=2)
    return _unbatched_feature_dropout(input, p, training, inplace, input.ndim == 5)


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o], with
    input1 (*, in1), input2 (*, in2), weight (out, in1, in2): one GEMM of input1 against weight
    laid out as (in1, out * in2), then a product with input2 summed over in2 (all Tensor ops, so
    it differentiates, twice too)."""
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear(): argument '{name}' must be a Tensor, not {type(t).__name__}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    if input1.ndim == 0 or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out_features, in1_features, in2_features), got shape "
                           f"{tuple(weight.shape)}")
    out, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {in2}")
    if bias is not None and tuple(bias.shape) != (out,):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {tuple(bias.shape)} but "
                           f"expected ({out},)")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, 1, in2)
    t = (x1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)).reshape(-1, out, in2)
    y = (t * x2).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out)
