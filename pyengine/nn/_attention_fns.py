"""Scaled dot-product attention: F.scaled_dot_product_attention and the plain path behind it.

    out = softmax(scale * q k^T + mask) v       q: (..., L, E), k: (..., S, E), v: (..., S, Ev)

Same family name in every layer: csrc/ops/attention.*, cpu/attention_kernels.cpp,
cuda/attention.cu, bindings/bind_attention.cpp, and this file.

The plain path composes Tensor ops (the (L, S) weights are materialised); it is the path for
dropout, for callers that want the weights (nn.MultiheadAttention with need_weights=True) and
for a mask that itself requires grad.
"""
import math

from .. import creation as _creation
from .. import dtypes as _dtypes
from ..ops import elementwise as _E
from ..tensor import Tensor
from ._layer_fns import dropout as _dropout
from ._softmax_fns import softmax as _softmax

_NEG_INF = float("-inf")


def _default_scale(q, scale):
    return 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)


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


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be a Tensor, "
                            f"not {type(t).__name__}")
    out, _ = plain_attention(query, key, value, attn_mask, dropout_p, is_causal, scale)
    return out
