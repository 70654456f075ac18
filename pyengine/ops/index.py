"""Indexing: x[key] and x[key] = v (basic views, NumPy/PyTorch advanced indexing, bool masks),
narrow/select, gather, scatter_add, index_select, one_hot, nonzero.

Advanced indexing is built from three pieces: a basic view (slices, ints, None), a permute that
brings the indexed dims to the front, and `_C.index_take` over those leading dims; a final
permute restores PyTorch's placement (adjacent advanced indices keep their place, separated
ones go first). Gradients flow back through each piece.
"""
import operator

import numpy as np

from .. import _C
from ..tensor import Tensor, _wrap, _wrap_dim
from .._ints import int64
from ._util import Op, linear_jvp, shape_of
from ..errors import ArgumentError, IndexRangeError

_SLICE, _SELECT, _UNSQUEEZE = 0, 1, 2


def _apply_steps(impl, steps):
    """The basic-indexing view of `impl`: steps are (kind, dim, args...) applied in order."""
    for step in steps:
        kind = step[0]
        if kind == _SLICE:
            impl = _C.slice(impl, step[1], step[2], step[3], step[4])
        elif kind == _SELECT:
            impl = _C.select(impl, step[1], step[2])
        else:
            impl = _C.unsqueeze(impl, step[1])
    return impl


def _zeros(shape, like):
    return _C.full(list(shape), 0.0, like.dtype, like.device)


def _bump_if_unchanged(impl, version):
    """In-place writes must bump the version (autograd's check); some _C calls leave it to us."""
    if impl.version == version:
        impl.bump_version()


class BasicIndexBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    is_view = True

    @staticmethod
    def forward(ctx, x, steps):
        if ctx is not None:
            ctx.in_shape, ctx.steps = x._impl.shape, steps
        return _apply_steps(x._impl, steps)

    @staticmethod
    def backward(ctx, g):
        return BasicIndexGradBackward.apply(g, ctx.in_shape, ctx.steps), None


class BasicIndexGradBackward(Op):
    """Gradient of a basic view: zeros of the input's shape with `g` written into the view."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, g, shape, steps):
        if ctx is not None:
            ctx.steps = steps
        z = _zeros(shape, g._impl)
        _C.copy_(_apply_steps(z, steps), g._impl)
        return z

    @staticmethod
    def backward(ctx, gg):
        return basic_index(gg, ctx.steps), None, None


def basic_index(x, steps):
    out = BasicIndexBackward.apply(x, steps)
    # Remember what this is a view of, so an in-place write into it can be recorded on the base
    # (ops/inplace.py). Views of views point at the root base with the steps composed.
    base = x._view_of
    out._view_of = (x, steps) if base is None else (base[0], base[1] + steps)
    return out


class IndexTakeBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, indices):
        if ctx is not None:
            ctx.in_shape, ctx.indices = x._impl.shape, indices
        return _C.index_take(x._impl, indices)

    @staticmethod
    def backward(ctx, g):
        return IndexTakeGradBackward.apply(g, ctx.in_shape, ctx.indices), None


class IndexTakeGradBackward(Op):
    """Gradient of index_take: zeros with `g` accumulated at the indices (duplicates add up)."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, g, shape, indices):
        if ctx is not None:
            ctx.indices = indices
        z = _zeros(shape, g._impl)
        _C.index_put_(z, indices, g._impl, True)
        return z

    @staticmethod
    def backward(ctx, gg):
        return index_take(gg, ctx.indices), None, None


def index_take(x, indices):
    return IndexTakeBackward.apply(x, indices)


# ---------------------------------------------------------------- key parsing
class _Key:
    """A parsed index: basic view steps, then advanced (dim, int64 index impl) pairs."""

    __slots__ = ("steps", "adv")

    def __init__(self, steps, adv):
        self.steps = steps
        self.adv = adv


def _index_tensor(k):
    """Lists, arrays and tensors used as indices -> an int64 or bool Tensor."""
    if isinstance(k, Tensor):
        t = k
    else:
        from ..creation import tensor
        a = np.asarray(k)
        if a.size == 0 and a.dtype.kind == "f":
            a = a.astype(np.int64)  # x[[]] selects nothing
        if a.dtype.kind in "iu":
            a = a.astype(np.int64)
        t = tensor(a)
    if t._impl.dtype not in ("int64", "bool"):
        raise IndexRangeError(f"tensors used as indices must be long or bool tensors, got pyengine.{t._impl.dtype}")
    return t


def _as_int(k):
    try:
        return operator.index(k)
    except TypeError:
        return None


def _parse_key(key, shape):
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, slice):
            items.append(k)
        elif isinstance(k, bool):
            items.append(_index_tensor(k))
        elif _as_int(k) is not None and not isinstance(k, (Tensor, np.ndarray)):
            items.append(_as_int(k))
        elif isinstance(k, (Tensor, list, tuple, np.ndarray)):
            t = _index_tensor(k)
            if t._impl.ndim == 0 and t._impl.dtype == "int64":
                items.append(int(t.item()))  # a 0-d integer tensor indexes like an int
            else:
                items.append(t)
        else:
            raise TypeError(f"only integers, slices (`:`), ellipsis (`...`), None and long or bool tensors are "
                            f"valid indices, got {type(k).__name__}")
    used = 0
    for k in items:
        if isinstance(k, Tensor):
            used += k._impl.ndim if k._impl.dtype == "bool" else 1
        elif k is not None and k is not Ellipsis:
            used += 1
    ellipses = [i for i, k in enumerate(items) if k is Ellipsis]  # `is`: Tensor == compares elementwise
    if len(ellipses) > 1:
        raise IndexRangeError("an index can only have a single ellipsis ('...')")
    if used > len(shape):
        raise IndexRangeError(f"too many indices for tensor of dimension {len(shape)}")
    if ellipses:
        at = ellipses[0]
        items[at:at + 1] = [slice(None)] * (len(shape) - used)

    steps, adv = [], []
    d = src = 0  # d: dim in the view being built; src: dim of the input
    for k in items:
        if k is None:
            steps.append((_UNSQUEEZE, d))
            d += 1
        elif isinstance(k, int):
            n = shape[src]
            if not -n <= k < n:
                raise IndexRangeError(f"index {k} is out of bounds for dimension {src} with size {n}")
            steps.append((_SELECT, d, k))
            src += 1
        elif isinstance(k, slice):
            step = 1 if k.step is None else operator.index(k.step)
            if step <= 0:
                raise ArgumentError(f"step must be greater than zero, got {step}")
            start = None if k.start is None else operator.index(k.start)
            stop = None if k.stop is None else operator.index(k.stop)
            # Bounds past the dim clamp (Python's and NumPy's rule) and a step past it takes one
            # element: clamp them here, so any Python int reaches _C as an int64 (x[2**63:]).
            n = shape[src]
            start = None if start is None else max(-n, min(start, n))
            stop = None if stop is None else max(-n, min(stop, n))
            step = min(step, max(n, 1))
            if not (start is None and stop is None and step == 1):
                steps.append((_SLICE, d, start, stop, step))
            d += 1
            src += 1
        elif k._impl.dtype == "bool":
            m = k._impl
            if m.ndim == 0:  # x[True] adds a dim of size 1; x[False] one of size 0
                steps.append((_UNSQUEEZE, d))
                adv.append((d, _C.full([1 if k.item() else 0], 0, "int64", m.device)))
                d += 1
                continue
            if tuple(m.shape) != tuple(shape[src:src + m.ndim]):
                raise IndexRangeError(f"The shape of the mask {tuple(m.shape)} at index {src} does not match the shape "
                                      f"of the indexed tensor {tuple(shape)}")
            nz = _C.nonzero(m)
            for j in range(m.ndim):
                adv.append((d, _C.contiguous(_C.select(nz, 1, j))))
                d += 1
            src += m.ndim
        else:
            adv.append((d, k._impl))
            d += 1
            src += 1
    return _Key(steps, adv)


def _advanced_layout(view_shape, adv):
    """perm (advanced dims first), the index impls (index_take/index_put_ wrap negative values
    and check bounds), and the dim where the broadcast index dims land in the result (0 unless
    the advanced dims are adjacent)."""
    dims = [d for d, _ in adv]
    perm = dims + [d for d in range(len(view_shape)) if d not in dims]
    indices = [idx for _, idx in adv]
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    return perm, indices, (dims[0] if adjacent else 0)


def _index_shape(indices):
    shape = []
    for i in indices:
        shape = _C.broadcast_shapes(list(shape), list(i.shape))
    return list(shape)


def getitem(x, key):
    return getitem_parsed(x, _parse_key(key, shape_of(x)))


def getitem_parsed(x, k):
    v = basic_index(x, k.steps)
    if not k.adv:
        return v
    perm, indices, place = _advanced_layout(v._impl.shape, k.adv)
    if perm != sorted(perm):
        v = v.permute(perm)
    r = index_take(v, indices)
    if place:
        nb = r._impl.ndim - (v._impl.ndim - len(indices))
        r = r.permute(list(range(nb, nb + place)) + list(range(nb)) + list(range(nb + place, r._impl.ndim)))
    return r


def _assign(impl, k, value):
    """Write `value` (TensorImpl or scalar) into impl[k] in place."""
    version = impl.version
    v = _apply_steps(impl, k.steps)
    if not k.adv:
        if isinstance(value, _C.TensorImpl):
            _C.copy_(v, value)
        else:
            _C.fill_(v, value)
        _bump_if_unchanged(impl, version)
        return
    perm, indices, place = _advanced_layout(v.shape, k.adv)
    vp = _C.permute(v, perm) if perm != sorted(perm) else v
    rest = list(vp.shape[len(indices):])
    bshape = _index_shape(indices)
    final = rest[:place] + bshape + rest[place:]
    if not isinstance(value, _C.TensorImpl):
        value = _C.full([], value, vp.dtype, vp.device)
    elif value.dtype != vp.dtype:
        value = _C.to_dtype(value, vp.dtype)
    try:
        value = _C.expand(value, final)
    except (ValueError, RuntimeError):
        raise RuntimeError(f"shape mismatch: value tensor of shape {tuple(value.shape)} cannot be broadcast to "
                           f"indexing result of shape {tuple(final)}") from None
    if place:
        nb = len(bshape)
        value = _C.permute(value, list(range(place, place + nb)) + list(range(place)) +
                           list(range(place + nb, len(final))))
    _C.index_put_(vp, indices, value, False)
    _bump_if_unchanged(impl, version)


# ---------------------------------------------------------------- narrow / select
def narrow(input, dim, start, length):
    dim = _wrap_dim(dim, input._impl.ndim)
    n = input._impl.shape[dim]
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length <= n - start):
        raise IndexRangeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) of dim {dim}")
    return basic_index(input, [(_SLICE, dim, start, start + length, 1)])


def select(input, dim, index):
    dim = _wrap_dim(dim, input._impl.ndim)
    index = operator.index(index)
    n = input._impl.shape[dim]
    if not -n <= index < n:  # here, so an index beyond int64 is an IndexError too
        raise IndexRangeError(f"select(): index {index} out of range for tensor of size {tuple(input.shape)} at "
                              f"dimension {dim}")
    return basic_index(input, [(_SELECT, dim, index)])


# ---------------------------------------------------------------- gather / scatter / index_select
def _check_index(name, index):
    if not isinstance(index, Tensor) or index._impl.dtype != "int64":
        got = f"pyengine.{index._impl.dtype}" if isinstance(index, Tensor) else type(index).__name__
        raise TypeError(f"{name}(): Expected dtype int64 for index, got {got}")


class GatherBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, dim, index):
        if ctx is not None:
            ctx.in_shape, ctx.dim, ctx.index = x._impl.shape, dim, index
        return _C.gather(x._impl, dim, index._impl)

    @staticmethod
    def backward(ctx, g):
        zeros = _wrap(_zeros(ctx.in_shape, g._impl))
        return scatter_add(zeros, ctx.dim, ctx.index, g), None, None


def gather(input, dim, index):
    _check_index("gather", index)
    dim = _wrap_dim(dim, input._impl.ndim)
    return GatherBackward.apply(input, dim, index)


class ScatterAddBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, dim, index, src):
        if ctx is not None:
            ctx.dim, ctx.index = dim, index
        return _C.scatter_add(x._impl, dim, index._impl, src._impl)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return (g if need[0] else None, None, None,
                gather(g, ctx.dim, ctx.index) if need[3] else None)


def scatter_add(input, dim, index, src):
    _check_index("scatter_add", index)
    dim = _wrap_dim(dim, input._impl.ndim)
    return ScatterAddBackward.apply(input, dim, index, src)


class IndexSelectBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, dim, index):
        if ctx is not None:
            ctx.in_shape, ctx.dim, ctx.index = x._impl.shape, dim, index
        return _C.index_select(x._impl, dim, index._impl)

    @staticmethod
    def backward(ctx, g):
        # index_select(x, d, i) == x.transpose(0, d)[i].transpose(0, d): reuse index_take's gradient
        d = ctx.dim
        shape_t = list(ctx.in_shape)
        shape_t[0], shape_t[d] = shape_t[d], shape_t[0]
        gt = IndexTakeGradBackward.apply(g.transpose(0, d), shape_t, [ctx.index._impl])
        return gt.transpose(0, d), None, None


def index_select(input, dim, index):
    _check_index("index_select", index)
    if index._impl.ndim > 1:
        raise IndexRangeError(f"index_select(): Index is supposed to be a vector, got shape {tuple(index.shape)}")
    dim = _wrap_dim(dim, input._impl.ndim)
    return IndexSelectBackward.apply(input, dim, index)


def one_hot(tensor, num_classes=-1):
    if not isinstance(tensor, Tensor) or tensor._impl.dtype != "int64":
        raise TypeError("one_hot is only applicable to index tensor of dtype int64")
    if num_classes == -1:
        if not tensor._impl.numel:
            raise RuntimeError("one_hot: can not infer the total number of classes from an empty tensor; "
                               "pass num_classes")
        num_classes = int(tensor.max().item()) + 1
    return _wrap(_C.one_hot(tensor._impl, int64(num_classes, "one_hot", "num_classes")))


def nonzero(input, *, as_tuple=False):
    nz = _C.nonzero(input._impl)
    if not as_tuple:
        return _wrap(nz)
    if input._impl.ndim == 0:
        return (_wrap(_C.reshape(nz, [-1])),)
    return tuple(_wrap(_C.contiguous(_C.select(nz, 1, j))) for j in range(input._impl.ndim))


# ---------------------------------------------------------------- scatter / scatter_reduce / index_add / index_put
# The message-passing primitives. Backward formulas are PyTorch's (FunctionsManual.cpp), written
# with Tensor ops so the gradient of a gradient flows through `g`.
_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _src_grad(gs, src_shape):
    """gather(g, dim, index) has index's shape; src may be larger (its extra elements were never
    read): embed the gradient in zeros of src's shape."""
    if tuple(shape_of(gs)) == tuple(src_shape):
        return gs
    steps = [(_SLICE, d, 0, n, 1) for d, n in enumerate(shape_of(gs))]
    return BasicIndexGradBackward.apply(gs, list(src_shape), steps)


def _leading(t, shape):
    """t's leading block of `shape` (src seen with index's shape)."""
    if tuple(shape_of(t)) == tuple(shape):
        return t
    return basic_index(t, [(_SLICE, d, 0, n, 1) for d, n in enumerate(shape)])


class ScatterBackward(Op):
    @staticmethod
    def forward(ctx, x, dim, index, src, reduce):
        if ctx is not None:
            ctx.dim, ctx.index, ctx.reduce = dim, index, reduce
            ctx.src_shape = src._impl.shape if isinstance(src, Tensor) else None
        return _C.scatter(x._impl, dim, index._impl, src._impl if isinstance(src, Tensor) else src, reduce)

    @staticmethod
    def backward(ctx, g):
        if ctx.reduce is not None:
            raise NotImplementedError("the derivative for 'scatter with reduce argument' is not implemented")
        need = ctx.needs_input_grad
        gx = scatter(g, ctx.dim, ctx.index, 0.0) if need[0] else None
        gsrc = _src_grad(gather(g, ctx.dim, ctx.index), ctx.src_shape) if need[3] else None
        return gx, None, None, gsrc, None

    @staticmethod
    def jvp(ctx, tx, _d, _i, tsrc, _r):
        x, dim, index, src, reduce = ctx.fw_inputs
        if reduce is not None:
            raise NotImplementedError("the derivative for 'scatter with reduce argument' is not implemented")
        tx = _wrap(_zeros(x._impl.shape, x._impl)) if tx is None else tx
        return ScatterBackward.apply(tx, dim, index, 0.0 if tsrc is None else tsrc, None)


def _warn_scatter_reduce(src, reduce):
    """PyTorch's deprecation of scatter's reduce with a tensor src (the value form keeps it)."""
    if reduce is not None and isinstance(src, Tensor):
        import warnings
        warnings.warn("The reduce argument of scatter with Tensor src is deprecated and will be removed in a "
                      "future release. Use scatter_reduce instead for more reduction options.", UserWarning,
                      stacklevel=3)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """torch.scatter: input with src's values (or the number `value`) written at index along dim;
    reduce "add" / "multiply" combines instead (not differentiable, as in PyTorch)."""
    _check_index("scatter", index)
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): expected a src tensor or a value")
    _warn_scatter_reduce(src, reduce)
    dim = _wrap_dim(dim, input._impl.ndim)
    return ScatterBackward.apply(input, dim, index, src, reduce)


class ScatterReduceBackward(Op):
    @staticmethod
    def forward(ctx, x, dim, index, src, reduce, include_self):
        out = _C.scatter_reduce(x._impl, dim, index._impl, src._impl, reduce, include_self)
        if ctx is not None:
            ctx.dim, ctx.index, ctx.reduce, ctx.include_self = dim, index, reduce, include_self
            if reduce in ("prod", "amax", "amin"):
                ctx.save_for_backward(x, src, out)  # version-checked; carry their graph under create_graph
            ctx.x_shape, ctx.src_shape = x._impl.shape, src._impl.shape
        return out

    @staticmethod
    def backward(ctx, g):
        from . import elementwise as E
        dim, index, reduce, include_self = ctx.dim, ctx.index, ctx.reduce, ctx.include_self
        ishape = list(index._impl.shape)
        if reduce == "sum":
            gx, gsrc = g, gather(g, dim, index)
        elif reduce == "mean":
            # counts of the values averaged (x's own when included), at least 1, in g's dtype
            count = _C.full(list(ctx.x_shape), 1.0 if include_self else 0.0, g._impl.dtype, g._impl.device)
            ones = _C.full(list(ctx.src_shape), 1.0, g._impl.dtype, g._impl.device)
            count = _wrap(_C.maximum(_C.scatter_add(count, dim, index._impl, ones), 1.0))
            gx = g / count
            gsrc = gather(gx, dim, index)
        elif reduce == "prod":
            x, src, out = ctx.saved_tensors
            src = _leading(src, ishape)
            # Products without the element's own factor, exact where that factor is 0.
            masked_x = E.masked_fill(x, x == 0, 1)
            masked_x_out = scatter_reduce(masked_x, dim, index, src, "prod", include_self=include_self)
            gx = g * masked_x_out / masked_x
            src_zero = src == 0
            zeros_in = gather(scatter_add(_wrap(_zeros(x._impl.shape, x._impl)), dim, index, src_zero.to(x.dtype)),
                              dim, index)
            single_zero = E.logical_and(src_zero, zeros_in == 1)
            masked_src_out = scatter_reduce(x, dim, index, E.masked_fill(src, single_zero, 1), "prod",
                                            include_self=include_self)
            gsrc = E.where(single_zero, gather(g * masked_src_out, dim, index),
                           gather(g * out, dim, index) / E.masked_fill(src, src_zero, 1))
        else:  # amax / amin: split evenly among the elements equal to the result (x's own too)
            x, src, out = ctx.saved_tensors
            src = _leading(src, ishape)
            value = gather(out, dim, index)
            x_is = (x == out).to(x.dtype)
            src_is = (src == value).to(x.dtype)
            share = g / scatter_add(x_is, dim, index, src_is)
            gx = share * x_is
            gsrc = gather(share, dim, index) * src_is
        if not include_self:
            gx = scatter(gx, dim, index, value=0.0)
        need = ctx.needs_input_grad
        return (gx if need[0] else None, None, None, _src_grad(gsrc, ctx.src_shape) if need[3] else None,
                None, None)

    @staticmethod
    def jvp(ctx, *tangents):
        reduce = ctx.fw_inputs[4]
        if reduce not in ("sum", "mean"):  # the linear ones: the same reduction of the tangents
            raise NotImplementedError(f"Trying to use forward AD with scatter_reduce(reduce={reduce!r}) that does "
                                      "not support it because it has not been implemented yet.")
        return linear_jvp(ctx, *tangents)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """torch.scatter_reduce: reduce ("sum", "prod", "mean", "amax", "amin") src's values into
    input at index along dim; include_self=False leaves input's own values out where scattered."""
    _check_index("scatter_reduce", index)
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    dim = _wrap_dim(dim, input._impl.ndim)
    return ScatterReduceBackward.apply(input, dim, index, src, reduce, bool(include_self))


class IndexAddBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, dim, index, source, alpha):
        if ctx is not None:
            ctx.dim, ctx.index, ctx.alpha = dim, index, alpha
        return _C.index_add(x._impl, dim, index._impl, source._impl, alpha)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gsrc = None
        if need[3]:
            gsrc = index_select(g, ctx.dim, ctx.index) if g._impl.ndim else g
            if ctx.alpha != 1:
                gsrc = gsrc * ctx.alpha
        return g if need[0] else None, None, None, gsrc, None


def index_add(input, dim, index, source, *, alpha=1):
    """torch.index_add: input with alpha * source's slices added at the slices index[j] along dim."""
    _check_index("index_add", index)
    dim = _wrap_dim(dim, input._impl.ndim)
    return IndexAddBackward.apply(input, dim, index, source, alpha)


def _int_indices(indices):
    """index_put's tuple of index tensors as int64 impls (a bool mask becomes its nonzero columns)."""
    out = []
    for i in indices:
        t = _index_tensor(i)._impl
        if t.dtype == "bool":
            nz = _C.nonzero(t)
            out += [_C.contiguous(_C.select(nz, 1, j)) for j in range(t.ndim)]
        else:
            out.append(t)
    return out


class IndexPutBackward(Op):
    """Out-of-place index_put with accumulate=True: x + values summed at the indices."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, indices, values):
        if ctx is not None:
            ctx.indices, ctx.values_shape = indices, values._impl.shape
        out = _C.clone(x._impl)
        _C.index_put_(out, indices, values._impl, True)
        return out

    @staticmethod
    def backward(ctx, g):
        from ._util import reduce_grad
        need = ctx.needs_input_grad
        gv = reduce_grad(index_take(g, ctx.indices), tuple(ctx.values_shape)) if need[2] else None
        return g if need[0] else None, None, gv


def index_put(input, indices, values, accumulate=False):
    """torch.index_put: a copy of input with values written (or, accumulate=True, added) at the
    positions the tuple of index tensors names."""
    if not accumulate:
        out = input.clone()
        out[tuple(indices)] = values
        return out
    idx = _int_indices(indices)
    if not isinstance(values, Tensor):
        values = _wrap(_C.full([], values, input._impl.dtype, input._impl.device))
    elif values._impl.dtype != input._impl.dtype:
        values = values.to(input._impl.dtype)
    return IndexPutBackward.apply(input, idx, values)
