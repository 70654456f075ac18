"""Shape and movement ops: reshape/view, permute/transpose, expand, (un)squeeze, flatten, cat,
stack, split, chunk, tril/triu. Views share storage; their gradients are views/reshapes back."""
import math

from .. import _C
from .._ints import INT64_MAX as _INT64_MAX, int64 as _int64, size_list as _size_list
from ..size import as_size as _as_size
from ..tensor import Tensor, _wrap_dim
from ._util import Op, as_tensor_arg, cast_back, dtypes_if_mixed, linear_jvp, reduce_grad
from ..errors import ArgumentError, IndexRangeError


def _size_arg(size, fn):
    """reshape(2, 3) and reshape((2, 3)) both mean (2, 3); entries must fit int64."""
    return _size_list(size, fn)


class _ReshapeLike(Op):
    """Ops that only regroup elements: the gradient is the output gradient reshaped back."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @classmethod
    def forward(cls, ctx, x, arg):
        if ctx is not None:
            ctx.in_shape = x._impl.shape
        return cls.op(x._impl, arg)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class ViewBackward(_ReshapeLike):
    op = staticmethod(_C.view)
    is_view = True


class ReshapeBackward(_ReshapeLike):
    op = staticmethod(_C.reshape)

    @staticmethod
    def forward(ctx, x, shape):
        out = _C.reshape(x._impl, shape)
        if ctx is not None:
            ctx.in_shape = x._impl.shape
            ctx.is_view = out.storage_ptr == x._impl.storage_ptr  # reshape copies when it must
        return out


class UnsqueezeBackward(_ReshapeLike):
    op = staticmethod(_C.unsqueeze)
    is_view = True


class SqueezeBackward(_ReshapeLike):
    op = staticmethod(_C.squeeze)
    is_view = True


def view(input, *shape):
    return ViewBackward.apply(input, _size_arg(shape, "view"))


def reshape(input, *shape):
    return ReshapeBackward.apply(input, _size_arg(shape, "reshape"))


# Dims are wrapped here, so a dim beyond int64 is an IndexError like any other out-of-range dim.
def unsqueeze(input, dim):
    return UnsqueezeBackward.apply(input, _wrap_dim(dim, input.ndim + 1))


def squeeze(input, dim=None):
    if isinstance(dim, (tuple, list)):
        x = input
        for d in sorted((_wrap_dim(d, input.ndim) for d in dim), reverse=True):
            x = squeeze(x, d)
        return x
    return SqueezeBackward.apply(input, None if dim is None else _wrap_dim(dim, input.ndim))


def flatten(input, start_dim=0, end_dim=-1):
    x = input
    nd = x._impl.ndim
    s, e = _wrap_dim(start_dim, nd), _wrap_dim(end_dim, nd)  # a 0-d tensor takes only 0 and -1
    if nd == 0:
        return reshape(x, 1)
    if s > e:
        raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim})")
    shape = x._impl.shape
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(x, list(shape[:s]) + [n] + list(shape[e + 1:]))


def unflatten(input, dim, sizes):
    shape = list(input.shape)
    if not shape:
        raise IndexRangeError(f"unflatten: dimension specified as {dim} but the tensor has no dimensions")
    d = _wrap_dim(dim, len(shape))
    sizes = [int(s) for s in sizes]
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    # The sizes must split dim d itself (reshape alone would let them borrow from other dims).
    if -1 not in sizes and math.prod(sizes) != shape[d]:
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} "
                           f"({shape[d]}) in the input tensor")
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


class PermuteBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        if ctx is not None:
            ctx.dims = dims
        return _C.permute(x._impl, dims)

    @staticmethod
    def backward(ctx, g):
        nd = len(ctx.dims)
        inverse = [0] * nd
        for i, d in enumerate(ctx.dims):
            inverse[d % nd] = i
        return g.permute(inverse), None


def permute(input, *dims):
    dims = _size_arg(dims, "permute")
    return PermuteBackward.apply(input, dims)


class TransposeBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    is_view = True

    @staticmethod
    def forward(ctx, x, d0, d1):
        if ctx is not None:
            ctx.pair = (d0, d1)
        return _C.transpose(x._impl, d0, d1)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(*ctx.pair), None, None


def transpose(input, dim0, dim1):
    # A 0-d tensor takes dims as if it had one (-1 or 0) and transposes to itself; any other
    # dim, one beyond int64 included, is an IndexError naming it (_wrap_dim).
    nd = input.ndim
    dim0, dim1 = _wrap_dim(dim0, max(nd, 1)), _wrap_dim(dim1, max(nd, 1))
    return TransposeBackward.apply(input, dim0, dim1)


swapaxes = swapdims = transpose


def movedim(input, source, destination):
    nd = input.ndim
    src = [_wrap_dim(d, nd) for d in ([source] if isinstance(source, int) else source)]
    dst = [_wrap_dim(d, nd) for d in ([destination] if isinstance(destination, int) else destination)]
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(nd) if d not in src)
    return permute(input, [o if o is not None else next(rest) for o in order])


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return input if input.ndim < 2 else transpose(input, 0, 1)


class ExpandBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        if ctx is not None:
            ctx.in_shape = x._impl.shape
        return _C.expand(x._impl, shape)

    @staticmethod
    def backward(ctx, g):
        return reduce_grad(g, ctx.in_shape), None


def expand(input, *sizes):
    sizes = _size_arg(sizes, "expand")
    return ExpandBackward.apply(input, sizes)


def expand_as(input, other):
    return expand(input, list(other.shape))


def broadcast_to(input, size):
    return expand(input, list(size))


def repeat(input, *repeats):
    """Tile the tensor: each dim i is repeated repeats[i] times (extra leading repeats add dims).
    Built from reshape + expand + reshape, so it is differentiable for free."""
    reps = _size_arg(repeats, "repeat")
    shape = list(input.shape)
    if len(reps) < len(shape):
        raise RuntimeError(f"Number of dimensions of repeat dims ({len(reps)}) can not be smaller than number of "
                           f"dimensions of tensor ({len(shape)})")
    shape = [1] * (len(reps) - len(shape)) + shape
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat(): repeats must be non-negative, got {tuple(reps)}")
    interleaved, tiled, final = [], [], []
    for r, n in zip(reps, shape):
        interleaved += [1, n]
        tiled += [r, n]
        final.append(r * n)
    numel = 0 if 0 in final else 1
    for s in final if numel else ():
        numel *= s
    if numel > _INT64_MAX:
        raise RuntimeError(f"repeat(): repeats {tuple(reps)} of a tensor of shape {tuple(input.shape)} give shape "
                           f"{tuple(final)}, whose number of elements overflows int64")
    # clone(): repeat returns new memory, as PyTorch's; reshape alone would keep the expanded
    # view (stride 0) when every repeated dim has size 1, and contiguous() would return the input
    # itself when every repeat is 1: a write would then alias
    return reshape(expand(reshape(input, interleaved), tiled).clone(), final)


def broadcast_shapes(*shapes):
    out = []
    for s in shapes:
        out = _C.broadcast_shapes(list(out), [s] if isinstance(s, int) else list(s))
    return _as_size(out)


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


# ---------------------------------------------------------------- cat / stack / split
class CatBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, dim, *tensors):
        if ctx is not None:
            ctx.dim = dim
            ctx.sizes = [t._impl.shape[dim] if t._impl.ndim else 0 for t in tensors]
            ctx.dtypes = dtypes_if_mixed(*tensors) or [None] * len(tensors)
        return _C.cat([t._impl for t in tensors], dim)

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        for n, need, dtype in zip(ctx.sizes, ctx.needs_input_grad[1:], ctx.dtypes):
            grads.append(cast_back(g.narrow(ctx.dim, start, n), dtype) if need else None)
            start += n
        return (None,) + tuple(grads)


def cat(tensors, dim=0):
    tensors = [as_tensor_arg(t) for t in tensors]
    if not tensors:
        raise ArgumentError("cat expected a non-empty list of Tensors")
    # PyTorch skips legacy empty 1-D tensors (shape (0,)) when the others have more dims, but
    # they still take part in type promotion: each becomes an empty block of the others' rank.
    if builtins_any(t._impl.ndim > 1 for t in tensors):
        legacy = [t._impl.ndim == 1 and t._impl.shape[0] == 0 for t in tensors]
        kept = [t for t, skip in zip(tensors, legacy) if not skip]
        if kept and len(kept) < len(tensors):
            block = list(kept[0]._impl.shape)
            block[_wrap_dim(dim, len(block))] = 0
            tensors = [t.reshape(block) if skip else t for t, skip in zip(tensors, legacy)]
    ref = tensors[0]._impl.ndim
    if ref == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    dim = _wrap_dim(dim, ref)
    return CatBackward.apply(dim, *tensors)


concat = concatenate = cat


def builtins_any(it):
    for v in it:
        if v:
            return True
    return False


def stack(tensors, dim=0):
    tensors = [as_tensor_arg(t) for t in tensors]
    if not tensors:
        raise ArgumentError("stack expects a non-empty list of Tensors")
    shape = tensors[0]._impl.shape
    for i, t in enumerate(tensors):
        if t._impl.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {tuple(shape)} at entry 0 "
                               f"and {tuple(t._impl.shape)} at entry {i}")
    dim = _wrap_dim(dim, len(shape) + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(tensor, split_size_or_sections, dim=0):
    x = tensor
    dim = _wrap_dim(dim, x.ndim)
    n = x._impl.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = _int64(split_size_or_sections, "split", "split_size")
        if step <= 0 and not (step == 0 and n == 0):
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        # An empty dim splits into one empty piece (PyTorch), whatever the step.
        sizes = [min(step, n - s) for s in range(0, n, step)] if step and n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                               f"size at dimension {dim}), but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(x.narrow(dim, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = _wrap_dim(dim, input.ndim)
    n = input._impl.shape[dim]
    step = -(-n // chunks) if n else 1
    return split(input, step, dim) if n else (input,)


def unbind(input, dim=0):
    dim = _wrap_dim(dim, input.ndim)
    return tuple(input.select(dim, i) for i in range(input._impl.shape[dim]))


# ---------------------------------------------------------------- tril / triu
class _TriBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @classmethod
    def forward(cls, ctx, x, diagonal):
        if ctx is not None:
            ctx.diagonal = diagonal
        return cls.op(x._impl, diagonal)

    @classmethod
    def backward(cls, ctx, g):
        return (tril if cls.op is _C.tril else triu)(g, ctx.diagonal), None


class TrilBackward(_TriBackward):
    op = staticmethod(_C.tril)


class TriuBackward(_TriBackward):
    op = staticmethod(_C.triu)


def _tri(cls, input, diagonal):
    if input.ndim < 2:
        raise RuntimeError(f"tril/triu: input tensor must have at least 2 dimensions, got {input.ndim}")
    return cls.apply(input, _int64(diagonal, "tril" if cls is TrilBackward else "triu", "diagonal"))


def tril(input, diagonal=0):
    return _tri(TrilBackward, input, diagonal)


def triu(input, diagonal=0):
    return _tri(TriuBackward, input, diagonal)
