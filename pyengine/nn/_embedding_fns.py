"""Embedding lookups: embedding (one weight row per index) and embedding_bag (the rows of each bag
reduced by sum, mean or max), forward and backward side by side.

embedding uses the index family's native ops: a lookup is one index_select over the flattened
indices (which checks every index before anything is written); its weight gradient is one
index_put_ with accumulate into a zero table (duplicates add up in order, so results do not depend
on threads). Its backward is written with differentiable pieces (EmbeddingFn <->
EmbeddingDenseBackward are each other's adjoints), so create_graph=True works.

embedding_bag has its own fused kernels (csrc/ops/embedding.h): one _C call forward (each bag's
rows summed / averaged / maxed straight from the table; every index and offset checked on the
device first) and one _C call backward; with create_graph the backward is composed of the
differentiable pieces above instead.
"""
import numpy as np

from .. import _C
from ..autograd.grad_mode import state as _grad_state
from ..ops._util import Op, linear_jvp
from ..ops.index import index_select, scatter_add
from ..ops.shape import cat as _cat
from ..tensor import Tensor, _wrap
from ..errors import ArgumentError


# ---------------------------------------------------------------- argument checks
def _check_indices(indices, op, arg="indices"):
    if not isinstance(indices, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(indices).__name__}")
    dt = indices._impl.dtype
    if dt != "int64":  # PyTorch's message; pyengine has no int32, so Long is the one we take
        raise TypeError(f"Expected tensor for argument #1 '{arg}' to have one of the following scalar types: "
                        f"Long, Int; but got pyengine.{dt} tensor instead (while checking arguments for {op})")


def _check_same_device(indices, other, op, name="weight"):
    a, b = indices._impl.device, other._impl.device
    if a != b:
        raise RuntimeError(f"{op}(): expected indices and {name} on the same device, got indices on {a} and "
                           f"{name} on {b}")


def _out_of_range(flat, rows):
    """The IndexError for the first index outside [0, rows) (only built once the native check failed)."""
    a = _wrap(flat)._host_array()
    bad = a[(a < 0) | (a >= rows)]
    return IndexError(f"index {int(bad[0])} is out of range for an embedding table of {rows} rows")


def _take_rows(w, flat):
    """weight rows at the 1-D int64 `flat` (TensorImpls): one index_select, which checks every index
    on its device before the result is written."""
    try:
        return _C.index_select(w, 0, flat)
    except IndexError:
        raise _out_of_range(flat, w.shape[0]) from None


def _wrap_padding_idx(padding_idx, num_weights, bag):
    """PyTorch's rule: padding_idx in [-num_weights, num_weights), negative counts from the end."""
    if padding_idx is None:
        return None
    if padding_idx == 0 and not bag:  # PyTorch checks only nonzero ones (0 passes an empty weight too)
        return 0
    if not -num_weights <= padding_idx < num_weights:
        if bag:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{num_weights} through "
                               f"{num_weights - 1}, but got {padding_idx}")
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_weights


def _embedding_renorm_(w, flat, max_norm, norm_type):
    """PyTorch's embedding_renorm_: every looked-up row whose norm exceeds max_norm is scaled in
    place by max_norm / (norm + 1e-7) (the factor in float64, then in the weight's dtype, as
    torch's scalar multiply does). Rows looked up twice get the same value written twice."""
    rows = _take_rows(w, flat)  # checks the indices before anything is written
    if rows.shape[0] == 0:
        return
    norms = _C.to_dtype(_C.norm(rows, float(norm_type), [1], True), "float64")
    scale = _C.where(_C.gt(norms, max_norm), _C.div(max_norm, _C.add(norms, 1e-7)), 1.0)
    _C.index_put_(w, [flat], _C.mul(rows, _C.to_dtype(scale, w.dtype)), False)


def _inverse_freq(flat, num_weights, dtype):
    """Per index position, 1 / (how often its index occurs in `flat`): scale_grad_by_freq."""
    counts = _C.full([num_weights], 0.0, dtype, flat.device)
    _C.index_put_(counts, [flat], 1.0, True)
    return _C.reciprocal(_C.index_select(counts, 0, flat))


# ---------------------------------------------------------------- embedding
class EmbeddingFn(Op):
    """weight[indices]: one index_select over the flattened indices."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        w = weight._impl
        flat = _C.reshape(indices._impl, [-1])
        rows = _take_rows(w, flat)
        if ctx is not None:
            ctx.flat, ctx.num_weights = flat, w.shape[0]
            ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return _C.reshape(rows, list(indices._impl.shape) + [w.shape[1]])

    @staticmethod
    def backward(ctx, g):
        gw = EmbeddingDenseBackward.apply(g, ctx.flat, ctx.num_weights, ctx.padding_idx, ctx.scale_grad_by_freq)
        return gw, None, None, None


class EmbeddingDenseBackward(Op):
    """The weight's gradient: a zero (num_weights, D) table with each position's gradient row added
    at its index (one index_put_ with accumulate); the padding row gets nothing; with
    scale_grad_by_freq each row is divided by how often its index occurs."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, g, flat, num_weights, padding_idx, scale_grad_by_freq):
        gi = g._impl
        d = gi.shape[-1]
        g2 = _C.reshape(gi, [-1, d])
        if scale_grad_by_freq:
            g2 = _C.mul(g2, _C.unsqueeze(_inverse_freq(flat, num_weights, gi.dtype), 1))
        gw = _C.full([num_weights, d], 0.0, gi.dtype, gi.device)
        if g2.shape[0] and d:
            _C.index_put_(gw, [flat], g2, True)
        if padding_idx is not None:  # only the padding positions added there: zero the row
            _C.fill_(_C.select(gw, 0, padding_idx), 0.0)
        if ctx is not None:
            ctx.flat, ctx.g_shape, ctx.padding_idx, ctx.scale = flat, gi.shape, padding_idx, scale_grad_by_freq
        return gw

    @staticmethod
    def backward(ctx, gg):
        # The adjoint of "add rows at indices" is "look rows up at indices", with the same factors.
        flat = ctx.flat
        rows = EmbeddingFn.apply(gg, _wrap(flat), None, False)
        factor = None
        if ctx.padding_idx is not None:
            factor = _C.to_dtype(_C.ne(flat, ctx.padding_idx), gg._impl.dtype)
        if ctx.scale:
            inv = _inverse_freq(flat, gg._impl.shape[0], gg._impl.dtype)
            factor = inv if factor is None else _C.mul(factor, inv)
        if factor is not None:
            rows = rows * _wrap(_C.unsqueeze(factor, 1))
        return rows.reshape(ctx.g_shape), None, None, None, None


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """weight rows at the int64 indices `input` (any shape) -> input.shape + (embedding_dim,)."""
    _check_indices(input, "embedding")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = f"shape {tuple(weight.shape)}" if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"embedding(): 'weight' must be 2-D (num_embeddings, embedding_dim), got {got}")
    _check_sparse(sparse)
    _check_same_device(input, weight, "embedding")
    padding_idx = _wrap_padding_idx(padding_idx, weight.shape[0], bag=False)
    if max_norm is not None:
        _embedding_renorm_(weight._impl, _C.reshape(input._impl, [-1]), max_norm, norm_type)
    return EmbeddingFn.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


def _check_sparse(sparse):
    if sparse:
        raise NotImplementedError("sparse=True: pyengine has no sparse tensors, so embedding gradients are "
                                  "dense; use sparse=False (optimizers then update the whole table)")


# ---------------------------------------------------------------- embedding_bag
def _bag_of(flat, offsets, include_last_offset):
    """Per entry that lies in some bag, its bag (int64 TensorImpl on the entries' device), and how
    many leading entries that is. Only the create_graph backward needs it (a host trip)."""
    off = _wrap(offsets)._host_array().astype(np.int64)
    n = flat.shape[0]
    ends = off[1:] if include_last_offset else np.append(off[1:], n)[:off.size]
    lengths = ends - off[:ends.size]
    bag_of = np.repeat(np.arange(ends.size, dtype=np.int64), lengths)
    impl = _C.from_numpy(bag_of)
    return (impl if flat.device == "cpu" else _C.to_device(impl, flat.device)), int(bag_of.size)


class EmbeddingBagFn(Op):
    """Each bag's rows reduced by sum, mean or max: one fused native forward (rows read straight
    from the table, no gathered copy) and one fused native backward. With create_graph the
    backward is composed of differentiable pieces instead (EmbeddingFn / EmbeddingDenseBackward /
    scatter_add), so higher derivatives work."""

    @staticmethod
    def forward(ctx, weight, per_sample_weights, flat, offsets, include_last_offset, mode, padding_idx,
                scale_grad_by_freq):
        psw = None if per_sample_weights is None else per_sample_weights._impl
        pad = -1 if padding_idx is None else padding_idx
        out, arg = _C.embedding_bag_forward(weight._impl, flat, offsets, include_last_offset, psw, mode, pad)
        if ctx is not None:
            ctx.flat, ctx.offsets, ctx.last, ctx.mode, ctx.pad = flat, offsets, include_last_offset, mode, pad
            ctx.arg, ctx.num_weights, ctx.scale = arg, weight._impl.shape[0], scale_grad_by_freq
            # The weight only for per_sample_weights' gradient: a later max_norm lookup may renormalise
            # it in place (a second call of the same layer), which must not break this backward.
            ctx.save_for_backward(weight if ctx.needs_input_grad[1] else None, per_sample_weights)
        return out

    @staticmethod
    def backward(ctx, g):
        weight, psw = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:
            gw, gpsw = _composed_backward(ctx, g, weight, psw)
        else:
            gw, gpsw = _C.embedding_bag_backward(
                g._impl, ctx.flat, ctx.offsets, ctx.last, None if psw is None else psw._impl, ctx.mode, ctx.pad,
                ctx.arg, ctx.num_weights, ctx.scale, weight._impl if need[1] else None)
            gw, gpsw = _wrap(gw), (None if gpsw is None else _wrap(gpsw))
        return (gw if need[0] else None), (gpsw if need[1] else None), None, None, None, None, None, None


def _composed_backward(ctx, g, weight, psw):
    """The backward of EmbeddingBagFn with differentiable ops (create_graph=True)."""
    gi = g._impl
    if ctx.mode == "max":
        # Each maximum's gradient goes to its row; empty bags (max index -1) give nothing.
        has = _C.ge(ctx.arg, 0)
        word = _C.where(has, ctx.arg, 0)
        gw = _wrap(_C.full([ctx.num_weights, gi.shape[1]], 0.0, gi.dtype, gi.device))
        return scatter_add(gw, 0, _wrap(word), g * _wrap(_C.to_dtype(has, gi.dtype))), None
    bag_of, used = _bag_of(ctx.flat, ctx.offsets, ctx.last)
    flat = _C.slice(ctx.flat, 0, 0, used, 1)
    mask = None if ctx.pad < 0 else _C.to_dtype(_C.ne(flat, ctx.pad), gi.dtype)
    if ctx.mode == "mean":
        sizes = _C.full([gi.shape[0]], 0.0, gi.dtype, gi.device)
        if used:
            _C.index_put_(sizes, [bag_of], 1.0 if mask is None else mask, True)
        g = g / _wrap(_C.unsqueeze(_C.clamp(sizes, 1.0), 1))
    g_rows = index_select(g, 0, _wrap(bag_of))  # each entry's share of its bag's gradient
    factor = None if psw is None else psw[:used]
    if mask is not None:
        factor = _wrap(mask) if factor is None else factor * _wrap(mask)
    ge = g_rows if factor is None else g_rows * factor.unsqueeze(1)
    gw = EmbeddingDenseBackward.apply(ge, flat, ctx.num_weights, None, ctx.scale)
    gpsw = None
    if weight is not None:
        rows = EmbeddingFn.apply(weight, _wrap(flat), None, False)  # differentiable in weight
        part = (g_rows * rows).sum(1)
        if mask is not None:
            part = part * _wrap(mask)
        n = ctx.flat.shape[0]
        gpsw = part if used == n else _cat([part, _wrap(_C.full([n - used], 0.0, gi.dtype, gi.device))])
    return gw, gpsw


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Each bag's rows reduced by `mode`: a 2-D input (bags of equal length) or a 1-D input cut into
    bags at `offsets` -> (bags, embedding_dim)."""
    _check_indices(input, "embedding_bag")
    if not isinstance(weight, Tensor):
        raise TypeError(f"embedding_bag(): argument 'weight' must be a Tensor, not {type(weight).__name__}")
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ArgumentError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, "
                            f"then it must have the same shape as the input ({tuple(input.shape)})")
    if weight.ndim != 2:
        raise ArgumentError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    _check_same_device(input, weight, "embedding_bag")
    if input.ndim == 2:
        if offsets is not None:
            raise ArgumentError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                                f"fixed length sequences. However, found offsets of type {type(offsets)}")
        include_last_offset = False
    elif input.ndim == 1:
        if offsets is None:
            raise ArgumentError("offsets has to be a 1D Tensor but got None")
        if not isinstance(offsets, Tensor) or offsets.ndim != 1:
            raise ArgumentError("offsets has to be a 1D Tensor")
    else:
        raise ArgumentError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode == "max":
        if scale_grad_by_freq:
            raise ArgumentError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ArgumentError("max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ArgumentError("mode has to be one of sum, mean or max")
    _check_sparse(sparse)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                  "on GitHub.")
    if per_sample_weights is not None:
        if per_sample_weights._impl.dtype != weight._impl.dtype:
            raise TypeError(f"embedding_bag: expected per_sample_weights of the weight's dtype "
                            f"(pyengine.{weight._impl.dtype}), got pyengine.{per_sample_weights._impl.dtype}")
        _check_same_device(input, per_sample_weights, "embedding_bag", "per_sample_weights")
    padding_idx = _wrap_padding_idx(padding_idx, weight.shape[0], bag=True)
    flat = _C.reshape(input._impl, [-1])
    device = input._impl.device
    if input.ndim == 2:  # bags of equal length: offsets 0, w, 2w, ...
        count, width = input.shape
        offsets = (_C.arange(0, count * width, width, "int64", device) if width
                   else _C.full([count], 0.0, "int64", device))
    else:
        _check_indices(offsets, "embedding_bag", arg="offsets")
        _check_same_device(input, offsets, "embedding_bag", "offsets")
        offsets = offsets._impl
    if per_sample_weights is not None and per_sample_weights.ndim == 2:
        per_sample_weights = per_sample_weights.reshape(-1)
    if max_norm is not None:  # after every check, so a bad call leaves the weight as it was
        _C.embedding_bag_check(weight._impl, flat, offsets, include_last_offset,
                               None if per_sample_weights is None else per_sample_weights._impl)
        _embedding_renorm_(weight._impl, flat, max_norm, norm_type)
    return EmbeddingBagFn.apply(weight, per_sample_weights, flat, offsets, bool(include_last_offset), mode,
                                padding_idx, bool(scale_grad_by_freq))
