"""Embedding lookups: embedding (one weight row per index) and embedding_bag (the rows of each bag
reduced by sum, mean or max), forward and backward side by side.

No kernels of their own: the index family's native ops do the work on every device. A lookup is
one index_select over the flattened indices (which checks every index before anything is
written); a weight gradient is one index_put_ with accumulate into a zero table (duplicates add
up in order, so results do not depend on threads) or, for max bags, one scatter_add_. Backwards
are written with differentiable pieces (EmbeddingFn <-> EmbeddingDenseBackward are each other's
adjoints), so create_graph=True works.

A fused native embedding_bag (segment sum/mean/max over offsets) would save the padded layout
the max mode builds here and the host trip for the bag layout; see _bag_layout.
"""
import numpy as np

from .. import _C
from ..autograd.grad_mode import state as _grad_state
from ..ops._util import Op
from ..ops.index import index_select, scatter_add
from ..tensor import Tensor, _wrap


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
class _Bags:
    """The bag layout, computed on the host from offsets (or a 2-D input's shape).

    count: number of bags; used: how many leading input entries belong to some bag (entries past
    the last offset with include_last_offset belong to none); lengths: entries per bag (NumPy);
    bag_of: per used entry, its bag (int64 TensorImpl on the input's device)."""

    __slots__ = ("count", "used", "lengths", "bag_of", "fixed")

    def positions(self, width):
        """Per slot of the padded (count, width) layout, the input position it reads: a bag's
        entries, then its first entry again in the empty slots (position 0 for empty bags)."""
        lengths = self.lengths
        starts = np.cumsum(lengths) - lengths
        slot = np.arange(width, dtype=np.int64)[None, :]
        first = np.where(lengths > 0, starts, 0)[:, None]
        return np.where(slot < lengths[:, None], starts[:, None] + slot, first).reshape(-1)


def _host(impl):
    return _wrap(impl)._host_array()


def _to_device(array, device):
    impl = _C.from_numpy(np.ascontiguousarray(array))
    return impl if device == "cpu" else _C.to_device(impl, device)


def _bag_layout(input, offsets, include_last_offset):
    b = _Bags()
    n = input._impl.numel
    device = input._impl.device
    if input.ndim == 2:
        count, width = input.shape
        b.count, b.used, b.fixed = count, n, width
        b.lengths = np.full(count, width, dtype=np.int64)
    else:
        _check_indices(offsets, "embedding_bag", arg="offsets")
        _check_same_device(input, offsets, "embedding_bag", "offsets")
        off = _host(offsets._impl).astype(np.int64)  # one small device-to-host copy (a sync on a GPU)
        if off.size and off[0] != 0:
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {off[0]}")
        if off.size and off[-1] > n:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                               f"{off[-1]}")
        if off.size > 1 and (np.diff(off) < 0).any():
            i = int(np.argmax(np.diff(off) < 0))
            raise ValueError(f"offsets must be non-decreasing, got offsets[{i}] = {off[i]} > offsets[{i + 1}] = "
                             f"{off[i + 1]}")
        if include_last_offset:  # offsets[-1] closes the last bag
            starts, ends = off[:-1], off[1:]
        else:  # the last bag runs to the end
            starts, ends = off, np.append(off[1:], n)[:off.size]
        b.count, b.fixed = int(ends.size), None
        b.lengths = ends - starts
        b.used = int(ends[-1]) if ends.size else 0
    b.bag_of = _to_device(np.repeat(np.arange(b.count, dtype=np.int64), b.lengths), device)
    return b


class EmbeddingBagFn(Op):
    """Sum or mean of each bag's rows (times per_sample_weights): one index_select for the rows and
    one index_put_ with accumulate into the (bags, D) output; the mean divides by the bag sizes
    (padding entries excluded; empty bags give zeros)."""

    @staticmethod
    def forward(ctx, weight, per_sample_weights, flat, bags, mode, padding_idx, scale_grad_by_freq):
        w = weight._impl
        rows = _take_rows(w, flat)
        # Per-entry factor: the sample weight, times 0 on padding entries (excluded from the bag).
        factor = None if per_sample_weights is None else per_sample_weights._impl
        mask = None
        if padding_idx is not None:
            mask = _C.to_dtype(_C.ne(flat, padding_idx), w.dtype)
            factor = mask if factor is None else _C.mul(factor, mask)
        out = _C.full([bags.count, w.shape[1]], 0.0, w.dtype, w.device)
        if rows.shape[0] and w.shape[1]:
            _C.index_put_(out, [bags.bag_of], rows if factor is None else _C.mul(rows, _C.unsqueeze(factor, 1)), True)
        sizes = None
        if mode == "mean":
            if mask is None:
                sizes = _to_device(np.maximum(bags.lengths, 1).astype(w.dtype)[:, None], w.device)
            else:
                sizes = _C.full([bags.count], 0.0, w.dtype, w.device)
                if rows.shape[0]:
                    _C.index_put_(sizes, [bags.bag_of], mask, True)
                sizes = _C.unsqueeze(_C.clamp(sizes, 1.0), 1)
            _C.div(out, sizes, out=out)
        if ctx is not None:
            ctx.flat, ctx.bag_of, ctx.num_weights = flat, bags.bag_of, w.shape[0]
            ctx.mask, ctx.sizes, ctx.scale = mask, sizes, scale_grad_by_freq
            # The weight only for per_sample_weights' gradient: a later max_norm lookup may renormalise
            # it in place (a second call of the same layer), which must not break this backward.
            ctx.save_for_backward(weight if ctx.needs_input_grad[1] else None, per_sample_weights)
        return out

    @staticmethod
    def backward(ctx, g):
        weight, psw = ctx.saved_tensors
        need = ctx.needs_input_grad
        if ctx.sizes is not None:
            g = g / _wrap(ctx.sizes)
        g_rows = index_select(g, 0, _wrap(ctx.bag_of))  # each entry's share of its bag's gradient
        gw = gpsw = None
        if need[0]:
            factor = None if psw is None else psw
            if ctx.mask is not None:
                factor = _wrap(ctx.mask) if factor is None else factor * _wrap(ctx.mask)
            ge = g_rows if factor is None else g_rows * factor.unsqueeze(1)
            gw = EmbeddingDenseBackward.apply(ge, ctx.flat, ctx.num_weights, None, ctx.scale)
        if need[1]:
            rows = EmbeddingFn.apply(weight, _wrap(ctx.flat), None, False)  # differentiable in weight
            gpsw = (g_rows * rows).sum(1)
            if ctx.mask is not None:
                gpsw = gpsw * _wrap(ctx.mask)
        return gw, gpsw, None, None, None, None, None


class EmbeddingBagMaxFn(Op):
    """Elementwise max over each bag's rows. The bags are laid out padded to the longest (2-D
    input is that layout already), one max_dim reduces, and the row index of each maximum is kept
    for backward (the first maximum wins, as in torch). No (bags, width, D) masking: a short bag's
    empty slots and its padding entries repeat one of its own entries, which leaves the max and
    the first maximum's row unchanged. Empty bags (or bags of padding only) give zeros and no
    gradient."""

    @staticmethod
    def forward(ctx, weight, flat, bags, padding_idx):
        w = weight._impl
        count, d = bags.count, w.shape[1]
        width = bags.fixed if bags.fixed is not None else (int(bags.lengths.max()) if count else 0)
        if count == 0 or width == 0 or flat.shape[0] == 0:
            if ctx is not None:
                ctx.word, ctx.num_weights = None, w.shape[0]
            return _C.full([count, d], 0.0, w.dtype, w.device)
        device = flat.device
        if bags.fixed is not None:
            padded = _C.reshape(flat, [count, width])
        else:
            padded = _C.reshape(_C.index_select(flat, 0, _to_device(bags.positions(width), device)), [count, width])
        empty = bags.lengths == 0
        nonempty = _to_device(~empty[:, None], device) if empty.any() else None
        if padding_idx is not None:
            # Padding entries take the bag's first other entry (max_dim gives the first True slot).
            not_pad = _C.ne(padded, padding_idx)
            first = _C.max_dim(not_pad, 1, True)[1]
            padded = _C.where(not_pad, padded, _C.gather(padded, 1, first))
            has = _C.any(not_pad, [1], True)
            nonempty = has if nonempty is None else _C.logical_and(nonempty, has)
        rows = _C.reshape(_take_rows(w, _C.reshape(padded, [-1])), [count, width, d])
        out, arg = _C.max_dim(rows, 1, False)
        if nonempty is not None:
            out = _C.where(nonempty, out, 0.0)
        if ctx is not None:
            # The weight row of each maximum: the padded index at the winning slot.
            ctx.word = _C.reshape(_C.gather(_C.expand(_C.reshape(padded, [count, width, 1]), [count, width, d]), 1,
                                            _C.unsqueeze(arg, 1)), [count, d])
            ctx.nonempty, ctx.num_weights = nonempty, w.shape[0]
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.word is None:
            return _wrap(_C.full([ctx.num_weights, g.shape[1]], 0.0, g._impl.dtype, g._impl.device)), None, None, None
        if ctx.nonempty is not None:
            g = g * _wrap(_C.to_dtype(ctx.nonempty, g._impl.dtype))
        gw = _C.full([ctx.num_weights, g.shape[1]], 0.0, g._impl.dtype, g._impl.device)
        if _grad_state.enabled:  # create_graph: the differentiable scatter_add (its backward is a gather)
            return scatter_add(_wrap(gw), 0, _wrap(ctx.word), g), None, None, None
        _C.scatter_add_(gw, 0, ctx.word, g._impl)  # into the fresh zeros: no copy of the table
        return _wrap(gw), None, None, None


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Each bag's rows reduced by `mode`: a 2-D input (bags of equal length) or a 1-D input cut into
    bags at `offsets` -> (bags, embedding_dim)."""
    _check_indices(input, "embedding_bag")
    if not isinstance(weight, Tensor):
        raise TypeError(f"embedding_bag(): argument 'weight' must be a Tensor, not {type(weight).__name__}")
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, "
                         f"then it must have the same shape as the input ({tuple(input.shape)})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    _check_same_device(input, weight, "embedding_bag")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        include_last_offset = False
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if not isinstance(offsets, Tensor) or offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ValueError("mode has to be one of sum, mean or max")
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
    bags = _bag_layout(input, offsets, include_last_offset)
    flat = _C.reshape(input._impl, [-1])
    if max_norm is not None:  # after every check, so a bad call leaves the weight as it was
        _embedding_renorm_(weight._impl, flat, max_norm, norm_type)
    if bags.used < flat.shape[0]:  # entries past the last offset (include_last_offset) are in no bag
        flat = _C.slice(flat, 0, 0, bags.used, 1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights[:bags.used]
    if per_sample_weights is not None and per_sample_weights.ndim == 2:
        per_sample_weights = per_sample_weights.reshape(-1)
    if mode == "max":
        return EmbeddingBagMaxFn.apply(weight, flat, bags, padding_idx)
    return EmbeddingBagFn.apply(weight, per_sample_weights, flat, bags, mode, padding_idx, bool(scale_grad_by_freq))
