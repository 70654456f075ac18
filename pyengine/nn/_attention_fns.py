"""Scaled dot-product attention: F.scaled_dot_product_attention and the plain path behind it.

    out = softmax(scale * q k^T + mask) v       q: (..., L, E), k: (..., S, E), v: (..., S, Ev)

Same family name in every layer: csrc/ops/attention.*, cpu/attention_kernels.cpp,
cuda/attention.cu, bindings/bind_attention.cpp, and this file.

The fused path (FusedAttentionFn) runs the fused kernels of csrc/ops/attention.h: the (L, S)
scores are never materialised, the backward recomputes them from the saved row statistics.
The plain path composes Tensor ops (the (L, S) weights are materialised); it is the path for
dropout, for callers that want the weights (nn.MultiheadAttention with need_weights=True), for
a mask that itself requires grad, and for gradients under create_graph (double backward).
"""
import math

from .. import _C
from .. import creation as _creation
from .. import dtypes as _dtypes
from ..autograd.grad_mode import state as _grad_state
from ..ops import elementwise as _E
from ..ops._util import Op, reduce_grad
from ..tensor import Tensor, _wrap
from ._half import computes_in_float32
from ._layer_fns import dropout as _dropout
from ._softmax_fns import softmax as _softmax

_NEG_INF = float("-inf")


def _default_scale(q, scale):
    if scale is not None:
        return float(scale)
    return 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0  # E == 0: every score is 0 anyway


def _causal_keep(L, S, device):
    """(L, S) bool: query i sees keys j <= i (top-left aligned, as PyTorch's is_causal)."""
    return _creation.ones(L, S, dtype=_dtypes.bool_, device=device).tril()


def attention_weights(q, k, attn_mask=None, is_causal=False, scale=None):
    """softmax(scale * q k^T + mask) over the keys, (..., L, S). A query row that sees no key gets
    zero weights (and zero gradients), as PyTorch 2.13's attention does, not NaN."""
    scores = (q @ k.transpose(-2, -1)) * _default_scale(q, scale)
    if is_causal:
        scores = _E.where(_causal_keep(q.shape[-2], k.shape[-2], q.device), scores, _NEG_INF)
    if attn_mask is not None:
        if attn_mask.dtype == _dtypes.bool_:
            scores = _E.where(attn_mask, scores, _NEG_INF)
        else:
            scores = scores + attn_mask
    # Rows with every score -inf: softmax there is 0/0. Give those rows finite scores before the
    # softmax (so neither its value nor its gradient is NaN) and zero weights after it.
    blind = (scores == _NEG_INF).all(-1, keepdim=True)
    weights = _softmax(_E.where(blind, 0.0, scores), -1)
    return _E.where(blind, 0.0, weights)


def plain_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """-> (out, weights): attention as composed Tensor ops; weights before dropout."""
    weights = attention_weights(q, k, attn_mask, is_causal, scale)
    dropped = _dropout(weights, dropout_p, training=True) if dropout_p > 0 else weights
    return dropped @ v, weights


def _impl(t):
    return None if t is None else t._impl


class FusedAttentionFn(Op):
    """out = softmax(scale q k^T + mask) v through the fused kernels. Arguments: q, k, v, mask
    (None, bool, or q's dtype; never differentiated here), causal, scale. Saves out and lse (the
    log of each row's softmax denominator) for the fused backward."""

    @staticmethod
    def forward(ctx, q, k, v, mask, causal, scale):
        out, lse = _C.scaled_dot_product_attention(q._impl, k._impl, v._impl, _impl(mask), causal, scale)
        if ctx is not None:
            ctx.save_for_backward(q, k, v, mask)
            ctx.causal, ctx.scale = causal, scale
            ctx.forward_values = (out, lse)
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v, mask = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: the same gradients as differentiable Tensor ops
            dq, dk, dv = _graph_gradients(g, q, k, v, mask, ctx.causal, ctx.scale)
        else:
            dq, dk, dv = (_wrap(t) for t in _C.scaled_dot_product_attention_backward(
                g._impl, q._impl, k._impl, v._impl, _impl(mask), ctx.causal, ctx.scale, *ctx.forward_values))
        need = ctx.needs_input_grad
        return (reduce_grad(dq, q.shape) if need[0] else None, reduce_grad(dk, k.shape) if need[1] else None,
                reduce_grad(dv, v.shape) if need[2] else None, None, None, None)


def _graph_gradients(g, q, k, v, mask, causal, scale):
    """The fused backward's formulas as Tensor ops (weights W materialised), so they can be
    differentiated again: dv = W^T g, dW = g v^T, dS = W (dW - rowsum(dW W)), dq = scale dS k,
    dk = scale dS^T q (over the broadcast batch shape)."""
    w = attention_weights(q, k, mask, causal, scale)
    dw = g @ v.transpose(-2, -1)
    ds = w * (dw - (dw * w).sum(-1, keepdim=True))
    return (ds @ k) * scale, (ds.transpose(-2, -1) @ q) * scale, w.transpose(-2, -1) @ g


def _repeat_heads(t, heads):
    """(..., h, S, E) -> (..., heads, S, E), each head repeated heads // h times in a row
    (torch.repeat_interleave along dim -3, as PyTorch's enable_gqa does)."""
    h = t.shape[-3]
    if h == heads:
        return t
    r = heads // h
    shape = tuple(t.shape)
    return t.unsqueeze(-3).expand(*shape[:-2], r, *shape[-2:]).reshape(*shape[:-3], heads, *shape[-2:])


def _check_arguments(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be a Tensor, "
                            f"not {type(t).__name__}")
    if attn_mask is not None and not isinstance(attn_mask, Tensor):
        raise TypeError("scaled_dot_product_attention(): argument 'attn_mask' must be a Tensor or None, "
                        f"not {type(attn_mask).__name__}")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and min(query.ndim, key.ndim, value.ndim) >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query, got "
                               f"query {tuple(query.shape)}, key {tuple(key.shape)} and value {tuple(value.shape)}")


@computes_in_float32
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    _check_arguments(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    if enable_gqa and min(query.ndim, key.ndim, value.ndim) >= 3:
        key, value = _repeat_heads(key, query.shape[-3]), _repeat_heads(value, query.shape[-3])
    mask_needs_grad = attn_mask is not None and attn_mask.requires_grad and _grad_state.enabled
    if dropout_p > 0 or mask_needs_grad:
        out, _ = plain_attention(query, key, value, attn_mask, dropout_p, is_causal, scale)
        return out
    return FusedAttentionFn.apply(query, key, value, attn_mask, bool(is_causal), _default_scale(query, scale))
