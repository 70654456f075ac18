"""Multi-head attention as a function: F.multi_head_attention_forward (PyTorch 2.13's signature,
sequence-first) and the layout-aware body nn.MultiheadAttention calls directly.

    q, k, v = in-projections of query, key, value, split into num_heads heads of E / num_heads
    out     = out_proj(concat_heads(attention(q, k, v, mask)))

Masks follow PyTorch's F.multi_head_attention_forward: a bool mask marks the positions NOT to
attend (True = masked) and becomes an additive 0 / -inf mask of the query's dtype; a float mask
is added to the scores; key_padding_mask (N, S) is added to attn_mask ((L, S) or (N*H, L, S)).
Without weights the heads go to F.scaled_dot_product_attention (the fused kernel); with weights
they take the plain path (_attention_fns.attention_weights), as PyTorch does.

One difference: a query row that sees no key (every key masked) gets zero weights and a zero
output on both paths, as PyTorch's scaled_dot_product_attention gives; PyTorch's need_weights
path gives NaN there.
"""
import warnings

from .. import creation as _creation
from .. import dtypes as _dtypes
from ..ops.shape import cat as _cat
from ..tensor import Tensor
from ._attention_fns import attention_weights, scaled_dot_product_attention
from ._layer_fns import dropout as _dropout
from ._layer_fns import linear as _linear
from ._pad_fns import pad as _pad

_NEG_INF = float("-inf")


def _shape(t):
    return tuple(t.shape)


def canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """None, or `mask` as an additive float mask of `target_type`: bool True -> -inf, False -> 0;
    a float mask is returned as it is (PyTorch's F._canonical_mask)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{mask_name} must be a Tensor or None, not {type(mask).__name__}")
    if mask.dtype != _dtypes.bool_ and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {mask_name} are supported, got {mask.dtype}")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=4)
    if mask.dtype == _dtypes.bool_:
        return _creation.zeros(*mask.shape, dtype=target_type, device=mask.device).masked_fill(mask, _NEG_INF)
    if mask.dtype != target_type:
        raise RuntimeError(f"{mask_name} of dtype {mask.dtype} does not match the query's dtype {target_type}: "
                           "expected a bool mask or a float mask of the query's dtype")
    return mask


def _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """-> whether the input is batched; PyTorch's _mha_shape_check, with the shapes named."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"multi_head_attention_forward(): argument '{name}' must be a Tensor, "
                            f"not {type(t).__name__}")
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively (shapes {_shape(key)} "
                                 f"and {_shape(value)})")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {key_padding_mask.ndim}-D tensor instead (shape {_shape(key_padding_mask)})")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.ndim}-D tensor instead (shape {_shape(attn_mask)})")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively (shapes {_shape(key)} "
                                 f"and {_shape(value)})")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                                 f"but found {key_padding_mask.ndim}-D tensor instead "
                                 f"(shape {_shape(key_padding_mask)})")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                     f"but found {attn_mask.ndim}-D tensor instead (shape {_shape(attn_mask)})")
            if attn_mask.ndim == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if _shape(attn_mask) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {_shape(attn_mask)}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor (shape {_shape(query)})")


def _check_dtypes(query, key, value, weights):
    if not query.is_floating_point():
        raise RuntimeError(f"multi_head_attention_forward(): expected a floating query (float32 or float64), "
                           f"got {query.dtype}")
    for name, t in (("key", key), ("value", value)):
        if t.dtype != query.dtype:
            raise RuntimeError(f"multi_head_attention_forward(): expected {name} of the query's dtype "
                               f"{query.dtype}, got {t.dtype}")
    for name, w in weights:
        if w is not None and w.dtype != query.dtype:
            raise RuntimeError(f"multi_head_attention_forward(): {name} is {w.dtype} but the query is "
                               f"{query.dtype}; convert the module (.double() / .float()) or the inputs")


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate):
    """q, k, v projections, each (..., E). One GEMM for self-attention (query is key is value) and
    one for key and value when key is value, as PyTorch's _in_projection_packed."""
    if separate is None:
        E = query.shape[-1]
        b = in_proj_bias
        if key is value:
            if query is key:
                return _linear(query, in_proj_weight, b).chunk(3, -1)
            w_q, w_kv = in_proj_weight.split([E, 2 * E])
            b_q, b_kv = (None, None) if b is None else b.split([E, 2 * E])
            k, v = _linear(key, w_kv, b_kv).chunk(2, -1)
            return _linear(query, w_q, b_q), k, v
        w_q, w_k, w_v = in_proj_weight.chunk(3)
        b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    else:
        w_q, w_k, w_v = separate
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    return _linear(query, w_q, b_q), _linear(key, w_k, b_k), _linear(value, w_v, b_v)


def _split_heads(x, bd, num_heads):
    """(S, N, E) (bd=1) or (N, S, E) (bd=0) -> (N, H, S, E/H)."""
    n0, n1, E = x.shape
    x = x.reshape(n0, n1, num_heads, E // num_heads)
    return x.permute(1, 2, 0, 3) if bd == 1 else x.permute(0, 2, 1, 3)


def _merge_heads(x, bd):
    """(N, H, L, hd) -> (L, N, H*hd) (bd=1) or (N, L, H*hd) (bd=0)."""
    N, H, L, hd = x.shape
    if bd == 1:
        return x.permute(2, 0, 1, 3).reshape(L, N, H * hd)
    return x.permute(0, 2, 1, 3).reshape(N, L, H * hd)


def _static_kv(static, name, N, H, hd):
    """static_k / static_v (N*H, S, hd) -> (N, H, S, hd)."""
    if static.ndim != 3 or static.shape[0] != N * H or static.shape[2] != hd:
        raise AssertionError(f"expecting {name} of shape (N*num_heads, S, head_dim) = ({N * H}, S, {hd}), "
                             f"but got {_shape(static)}")
    return static.reshape(N, H, static.shape[1], hd)


def mha_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                dropout_p, out_proj_weight, out_proj_bias, training=True, key_padding_mask=None,
                need_weights=True, attn_mask=None, separate_proj=None, static_k=None, static_v=None,
                average_attn_weights=True, is_causal=False, batch_first=False, embed_dim_to_check=None):
    """The body of multi-head attention for either layout. separate_proj: None (in_proj_weight
    packs q, k, v) or (q_proj_weight, k_proj_weight, v_proj_weight). Returns (out, weights | None)."""
    is_batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    bd = 0 if batch_first else 1  # the batch dim of 3-D query/key/value
    if not is_batched:
        query, key, value = query.unsqueeze(bd), key.unsqueeze(bd), value.unsqueeze(bd)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape[1 - bd], query.shape[bd], query.shape[2]
    S = key.shape[1 - bd]

    proj_names = (("q_proj_weight", "k_proj_weight", "v_proj_weight") if separate_proj is not None
                  else ("in_proj_weight",))
    weights = list(zip(proj_names, separate_proj if separate_proj is not None else (in_proj_weight,)))
    _check_dtypes(query, key, value, weights + [("in_proj_bias", in_proj_bias), ("out_proj.weight", out_proj_weight)])

    attn_dtype = None if attn_mask is None else attn_mask.dtype
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", attn_dtype, "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint: the kernel applies the causal mask itself
    else:
        attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False

    if embed_dim_to_check is not None and E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {E} "
                             f"(query shape {_shape(query)})")
    head_dim = E // num_heads
    if head_dim * num_heads != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    if separate_proj is not None:
        if _shape(key)[:2] != _shape(value)[:2]:
            raise AssertionError(f"key's sequence and batch dims {_shape(key)[:2]} do not match value's "
                                 f"{_shape(value)[:2]}")
    elif _shape(key) != _shape(value):
        raise AssertionError(f"key shape {_shape(key)} does not match value shape {_shape(value)}")
    if key.shape[bd] != N:
        raise AssertionError(f"key's batch size {key.shape[bd]} does not match query's {N} "
                             f"(query shape {_shape(query)}, key shape {_shape(key)})")

    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate_proj)

    # Masks in 4-D, broadcasting over (N, H): attn_mask (1, 1, L, S) or (N, H, L, S).
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if _shape(attn_mask) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {_shape(attn_mask)}, but should be {(L, S)}.")
            attn_mask = attn_mask.reshape(1, 1, L, S)
        else:
            if _shape(attn_mask) != (N * num_heads, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {_shape(attn_mask)}, but should be "
                                   f"{(N * num_heads, L, S)}.")
            attn_mask = attn_mask.reshape(N, num_heads, L, S)
    if key_padding_mask is not None:
        S_keys = S if static_k is None else static_k.shape[1]
        if _shape(key_padding_mask) != (N, S_keys):
            raise AssertionError(f"Expected key_padding_mask of shape (batch, source length) = {(N, S_keys)}, "
                                 f"but got {_shape(key_padding_mask)}")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        expand = (1, N, E) if bd == 1 else (N, 1, E)
        k = _cat([k, bias_k.reshape(1, 1, E).expand(*expand)], 1 - bd)
        v = _cat([v, bias_v.reshape(1, 1, E).expand(*expand)], 1 - bd)
        attn_mask = None if attn_mask is None else _pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else _pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None
                             else "bias_v is set but bias_k is None")

    q = _split_heads(q, bd, num_heads)
    k = _split_heads(k, bd, num_heads) if static_k is None else _static_kv(static_k, "static_k", N, num_heads, head_dim)
    v = _split_heads(v, bd, num_heads) if static_v is None else _static_kv(static_v, "static_v", N, num_heads, head_dim)

    if add_zero_attn:
        zeros = _creation.zeros(N, num_heads, 1, head_dim, dtype=k.dtype, device=k.device)
        k, v = _cat([k, zeros], 2), _cat([v, zeros], 2)
        attn_mask = None if attn_mask is None else _pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else _pad(key_padding_mask, (0, 1))

    if key_padding_mask is not None:
        kpm = key_padding_mask.reshape(N, 1, 1, key_padding_mask.shape[1])
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        w = attention_weights(q, k, attn_mask)
        if dropout_p > 0.0:
            w = _dropout(w, dropout_p, training=True)
        out = _merge_heads(w @ v, bd)
        if average_attn_weights:
            w = w.mean(1)
    else:
        out = _merge_heads(scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal), bd)
        w = None
    out = _linear(out, out_proj_weight, out_proj_bias)
    if not is_batched:
        out = out.squeeze(bd)
        w = None if w is None else w.squeeze(0)
    return out, w


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """PyTorch's F.multi_head_attention_forward: query (L, N, E) or (L, E), key / value (S, N, *)
    or (S, *). Returns (attn_output, attn_output_weights or None)."""
    separate = None
    if use_separate_proj_weight:
        for name, w in (("q_proj_weight", q_proj_weight), ("k_proj_weight", k_proj_weight),
                        ("v_proj_weight", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name} is None")
        separate = (q_proj_weight, k_proj_weight, v_proj_weight)
    elif in_proj_weight is None:
        raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
    return mha_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                       dropout_p, out_proj_weight, out_proj_bias, training, key_padding_mask, need_weights,
                       attn_mask, separate, static_k, static_v, average_attn_weights, is_causal,
                       batch_first=False, embed_dim_to_check=embed_dim_to_check)
