"""Ops that move elements without arithmetic: flip/fliplr/flipud, roll, rot90, repeat_interleave,
tile, meshgrid and the diagonal family (diagonal, diag_embed, diag).

Each is a copy kernel that already exists (index_select along a dim, slices + cat, strided
views); flip, diagonal and diag_embed are their own Functions so the gradient is the cheap inverse
move (a flip, a diagonal view, a diagonal scatter) rather than a generic scatter.
"""
import numpy as np

from .. import _C
from .._ints import INT64_MAX as _INT64_MAX, int64 as _int64, size_list as _size_list
from ..tensor import Tensor, _wrap_dim
from ._util import Op, as_tensor_arg, linear_jvp, normalize_dims
from .index import index_select, narrow
from .shape import cat, expand, flatten, repeat, reshape, transpose
from ..errors import IndexRangeError


def _dims_arg(args, dims, fn):
    """flip(x, (0, 1)), flip(x, dims=[0, 1]) and x.flip(0, 1): a tuple, a list or ints."""
    if dims is not None:
        if args:
            raise TypeError(f"{fn}() got dims both positionally and as a keyword")
        args = (dims,)
    return _size_list(args, fn, "dims")


def _reversed_index(n, device):
    return _C.arange(n - 1, -1, -1, "int64", device) if n > 1 else None


# ---------------------------------------------------------------- flip
class FlipBackward(Op):
    """Reverse the order of elements along `dims`: one index_select copy per flipped dim."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor input

    @staticmethod
    def forward(ctx, x, dims):
        if ctx is not None:
            ctx.dims = dims
        impl = x._impl
        copied = False
        for d in dims:
            index = _reversed_index(impl.shape[d], impl.device)
            if index is not None:
                impl = _C.index_select(impl, d, index)
                copied = True
        return impl if copied else _C.clone(impl)  # flip always returns new memory

    @staticmethod
    def backward(ctx, g):
        return flip(g, ctx.dims), None


def flip(input, *args, dims=None):
    """Reverse the order of elements along the given dims (a copy, as PyTorch's)."""
    dims = normalize_dims(_dims_arg(args, dims, "flip"), input.ndim) or []
    return FlipBackward.apply(input, dims)


def fliplr(input):
    """Flip the columns (dim 1) of a tensor with at least 2 dims."""
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d, got a {input.ndim}-d tensor of shape {tuple(input.shape)}")
    return flip(input, [1])


def flipud(input):
    """Flip the rows (dim 0) of a tensor with at least 1 dim."""
    if input.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d, got a 0-d tensor")
    return flip(input, [0])


# ---------------------------------------------------------------- roll
def _roll_dim(x, shift, dim):
    n = x.shape[dim]
    s = shift % n if n else 0
    if s == 0:
        return x
    return cat([narrow(x, dim, n - s, s), narrow(x, dim, 0, n - s)], dim)


def roll(input, shifts, dims=None):
    """Shift elements along dims, wrapping around; with dims=None the tensor is rolled as if
    flattened and then given its shape back."""
    shifts = [shifts] if isinstance(shifts, int) or isinstance(shifts, Tensor) else list(shifts)
    shifts = [_int64(s, "roll", "shifts") for s in shifts]
    dims = [] if dims is None else [dims] if isinstance(dims, int) else list(dims)
    if not shifts:
        raise RuntimeError("roll: `shifts` required")
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return reshape(_roll_dim(flatten(input), shifts[0], 0), list(input.shape))
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if input.ndim == 0:
        raise IndexRangeError(f"roll: Dimension specified as {dims[0]} but tensor has no dimensions")
    out = input
    for s, d in zip(shifts, dims):
        out = _roll_dim(out, s, _wrap_dim(d, input.ndim))
    return out.clone() if out is input else out  # roll returns new memory


# ---------------------------------------------------------------- rot90
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees k times in the plane of `dims`, from dims[0] towards dims[1]."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _wrap_dim(dims[0], input.ndim), _wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {dims[0]} and "
                           f"dim1 = {dims[1]}")
    k = _int64(k, "rot90", "k") % 4
    if k == 1:
        return transpose(flip(input, [d1]), d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return transpose(flip(input, [d0]), d0, d1)
    return input.clone()


# ---------------------------------------------------------------- repeat_interleave / tile
def _counts(repeats, fn):
    """A 0-d or 1-d integer tensor of repeats as a host int64 array, checked."""
    if repeats._impl.dtype not in ("int64", "int32", "int16", "int8", "uint8"):
        raise NotImplementedError(f"{fn}: repeats must be an integer tensor, got pyengine.{repeats._impl.dtype}")
    if repeats.ndim > 1:
        raise RuntimeError(f"{fn}: repeats must be 0-dim or 1-dim tensor, got shape {tuple(repeats.shape)}")
    counts = np.asarray(repeats.detach()._host_array(), dtype=np.int64).reshape(-1)
    if (counts < 0).any():
        raise RuntimeError(f"{fn}: repeats can not be negative, got {counts.tolist()}")
    return counts


def _repeated_positions(counts, output_size, device):
    """The index [0]*counts[0] + [1]*counts[1] + ... as an int64 tensor on `device`."""
    total = sum(counts.tolist())  # Python ints: a sum beyond int64 is an error, not a wrapped count
    if total > _INT64_MAX:
        raise RuntimeError(f"repeat_interleave: the repeats sum to {total}, more elements than int64 can count")
    if output_size is not None and output_size != total:
        raise RuntimeError(f"repeat_interleave: allocated size does not match required size: output_size="
                           f"{output_size} but the repeats sum to {total}")
    index = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    return Tensor(_C.to_device(_C.from_numpy(index), device) if device != "cpu" else _C.from_numpy(index))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element `repeats` times along `dim` (flattened when dim is None). repeats is an
    int or a tensor of per-element counts; repeat_interleave(counts) alone gives the index
    [0]*counts[0] + [1]*counts[1] + ... ."""
    if repeats is None:  # the index form: the input holds the counts
        if input.ndim != 1:
            raise RuntimeError(f"repeat_interleave only accept 1D vector as repeat, got shape {tuple(input.shape)}")
        return _repeated_positions(_counts(input, "repeat_interleave"), output_size, input._impl.device)
    x = input
    if dim is None:
        x, dim = flatten(x), 0
    dim = _wrap_dim(dim, x.ndim)
    n = x.shape[dim] if x.ndim else 1
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1:
        _counts(repeats, "repeat_interleave")  # dtype and sign checks
        repeats = int(repeats.item())
    if isinstance(repeats, Tensor):
        counts = _counts(repeats, "repeat_interleave")
        if counts.size != n:
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.size} and input.size({dim}) = {n}")
        return index_select(x, dim, _repeated_positions(counts, output_size, x._impl.device))
    r = _int64(repeats, "repeat_interleave", "repeats")
    if r < 0:
        raise RuntimeError(f"repeat_interleave: Repeats must be non-negative, got {r}")
    if output_size is not None and output_size != n * r:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {n * r} but got {output_size}")
    if x.ndim == 0:
        x = reshape(x, [1])
    shape = list(x.shape)
    tiled = shape[:dim + 1] + [r] + shape[dim + 1:]
    out = expand(x.unsqueeze(dim + 1), tiled).clone()  # new memory even for r == 1
    return reshape(out, shape[:dim] + [n * r] + shape[dim + 1:])


def tile(input, *args, dims=None):
    """Repeat the whole tensor dims[i] times along dim i; missing leading dims count as 1."""
    dims = _dims_arg(args, dims, "tile")
    if len(dims) < input.ndim:
        dims = [1] * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


# ---------------------------------------------------------------- meshgrid
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 0-d/1-d tensors: with indexing='ij' output i varies along dim i;
    'xy' swaps the first two dims (Cartesian, as NumPy's default). The grids are expanded views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        import warnings
        warnings.warn("pyengine.meshgrid: in an upcoming release, it will be required to pass the indexing "
                      "argument (PyTorch's default is indexing='ij').", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    tensors = [as_tensor_arg(t) for t in tensors]
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: Expected 0D or 1D tensor in the tensor list but got a {t.ndim}-D tensor "
                               f"of shape {tuple(t.shape)} at position {i}")
        if t.dtype != tensors[0].dtype or t.device != tensors[0].device:
            raise RuntimeError(f"meshgrid expects all tensors to have the same dtype and device, got "
                               f"{tensors[0].dtype} on {tensors[0].device} and {t.dtype} on {t.device} at position {i}")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors[0], tensors[1] = tensors[1], tensors[0]
    sizes = [t.numel() for t in tensors]
    grids = []
    for i, t in enumerate(tensors):
        shape = [1] * len(tensors)
        shape[i] = sizes[i]
        grids.append(expand(reshape(t, shape), sizes))
    if swap:  # grids in the order of the inputs, with dims 0 and 1 in Cartesian order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


# ---------------------------------------------------------------- diagonal family
def _check_diag_dims(dim1, dim2, ndim):
    d1, d2 = _wrap_dim(dim1, ndim), _wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


class DiagonalBackward(Op):
    """The strided view of a diagonal; its gradient writes g onto the diagonal of zeros."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor input
    is_view = True

    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        if ctx is not None:
            ctx.args = (x._impl.shape, offset, d1, d2)
        return _C.diagonal(x._impl, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        shape, offset, d1, d2 = ctx.args
        return DiagonalScatterBackward.apply(g, shape, offset, d1, d2), None, None, None


class DiagonalScatterBackward(Op):
    """A zero tensor of `shape` whose diagonal (offset, d1, d2) holds src: diag_embed, and the
    gradient of diagonal. Its own gradient is the diagonal of g."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor input

    @staticmethod
    def forward(ctx, src, shape, offset, d1, d2):
        if ctx is not None:
            ctx.args = (offset, d1, d2)
        out = _C.full(list(shape), 0, src._impl.dtype, src._impl.device)
        _C.copy_(_C.diagonal(out, offset, d1, d2), src._impl)
        return out

    @staticmethod
    def backward(ctx, g):
        offset, d1, d2 = ctx.args
        return DiagonalBackward.apply(g, offset, d1, d2), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    """A view of the diagonal at `offset` of the (dim1, dim2) planes, appended as the last dim."""
    d1, d2 = _check_diag_dims(dim1, dim2, input.ndim)
    return DiagonalBackward.apply(input, _int64(offset, "diagonal", "offset"), d1, d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Zero tensors whose (dim1, dim2) diagonals at `offset` hold the last dim of input."""
    ndim = input.ndim + 1
    d1, d2 = _check_diag_dims(dim1, dim2, ndim)
    offset = _int64(offset, "diag_embed", "offset")
    shape = list(input.shape)
    n = (shape.pop() if shape else 1) + abs(offset)
    lo, hi = min(d1, d2), max(d1, d2)
    shape.insert(lo, n)
    shape.insert(hi, n)
    src = input if input.ndim else reshape(input, [1])
    return DiagonalScatterBackward.apply(src, shape, offset, d1, d2)


def diag(input, diagonal=0):
    """1-D input: the square matrix with input on its `diagonal`; 2-D input: that diagonal (a copy)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal, 0, 1).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def trace(input):
    """The sum of the main diagonal of a matrix."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input._impl.dtype == "bool":
        raise NotImplementedError('"trace" not implemented for \'Bool\'')
    return diagonal(input).sum()

