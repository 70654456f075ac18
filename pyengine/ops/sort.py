"""The sort family: topk, kthvalue, sort, argsort, msort, median, nanmedian, mode, unique,
unique_consecutive, searchsorted, bucketize. The engine ranks (_C.topk_indices, _C.sort_indices,
_C.mode_indices: NaN above every number, equal values by ascending index, so sort is stable);
the values are a gather of the input at those indices, so their gradient (and its gradient) is
gather's, the gradient PyTorch gives them (median() of everything: shared evenly among the
elements equal to it, as PyTorch)."""
from .. import _C
from .._ints import int64
from ..tensor import Tensor, _wrap, _wrap_dim, dtype_name
from .index import gather
from .reduce import _ExtremumAllBackward, values_indices

_KERNEL_DTYPES = ("float32", "float64", "int64")


def _check_input(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")


def _is_floating(name):
    return name.startswith("float") or name == "bfloat16"


def _sortable(input):
    """input in a dtype the kernels take, in the same order: bool and the narrower integers as
    int64, the half float types as float32 (exact). Only used to rank, never differentiated."""
    name = dtype_name(input)
    if name in _KERNEL_DTYPES:
        return input
    return input.detach().to("float32" if _is_floating(name) else "int64")


def _dim(fn, dim, input):
    return _wrap_dim(int64(dim, fn, "dim"), input._impl.ndim)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (largest=False: smallest) elements along dim, in rank
    order (always sorted, which sorted=False also allows)."""
    _check_input("topk", input)
    k = int64(k, "topk", "k")
    dim = _wrap_dim(int64(dim, "topk", "dim"), input._impl.ndim)
    indices = _wrap(_C.topk_indices(input._impl, k, dim, bool(largest)))
    return values_indices(gather(input, dim, indices), indices)


def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element (k counts from 1) along dim."""
    _check_input("kthvalue", input)
    k = int64(k, "kthvalue", "k")
    dim = _wrap_dim(int64(dim, "kthvalue", "dim"), input._impl.ndim)
    n = input.shape[dim] if input.dim() > 0 else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {dim} of size {n}")
    indices = _wrap(_C.topk_indices(input._impl, k, dim, False))
    if input.dim() > 0:
        indices = indices.narrow(dim, k - 1, 1).contiguous()  # keepdim shape, what gather takes
    values = gather(input, dim, indices)
    if input.dim() > 0 and not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return values_indices(values, indices)


def sort(input, dim=-1, descending=False, *, stable=False):
    """(values, indices) of input sorted along dim, ascending (descending=True: descending).
    Always stable (equal values keep their order, which stable=False also allows); NaN is
    greater than every number: last ascending, first descending (as PyTorch)."""
    _check_input("sort", input)
    dim = _dim("sort", dim, input)
    indices = _wrap(_C.sort_indices(_sortable(input)._impl, dim, bool(descending)))
    if input.ndim == 0:
        return values_indices(input.clone(), indices)
    return values_indices(gather(input, dim, indices), indices)


def argsort(input, dim=-1, descending=False, *, stable=False):
    """The indices that sort input along dim (sort(...).indices)."""
    _check_input("argsort", input)
    dim = _dim("argsort", dim, input)
    return _wrap(_C.sort_indices(_sortable(input)._impl, dim, bool(descending)))


def msort(input):
    """input sorted along its first dim (sort(input, 0).values)."""
    return sort(input, 0).values


# ----- median, nanmedian, mode -----

def _median_dim(fn, input, dim, keepdim, ignore_nan):
    _check_input(fn, input)
    dim = _dim(fn, dim, input)
    if input.numel() == 0:
        if input.ndim and input.shape[dim] == 0:
            raise IndexError(f"{fn}(): Expected reduction dim {dim} to have non-zero size "
                             f"(input shape {tuple(input.shape)})")
        # a zero-size kept dim: empty results of the reduced shape
        shape = [1 if i == dim else s for i, s in enumerate(input.shape) if keepdim or i != dim]
        empty = _wrap(_C.full(shape, 0, "int64", input._impl.device))
        return values_indices(empty.to(input.dtype), empty)
    indices = _wrap(_C.median_indices(_sortable(input)._impl, dim, ignore_nan))
    if input.ndim == 0:
        return values_indices(input.clone(), indices)
    values = gather(input, dim, indices)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return values_indices(values, indices)


def _median_all_impl(impl, ignore_nan):
    fn = "nanmedian" if ignore_nan else "median"
    x = _wrap(impl).reshape(-1)
    if x.numel() == 0:
        if not _is_floating(impl.dtype):
            raise RuntimeError(f"{fn}(): cannot take the median of an empty {impl.dtype} tensor")
        return _C.full([], float("nan"), impl.dtype, impl.device)
    return _median_dim(fn, x, 0, False, ignore_nan).values._impl


class MedianAllBackward(_ExtremumAllBackward):
    """median() of everything: the lower median (NaN if there is one); the gradient is shared
    evenly among the elements equal to it (PyTorch's evenly_distribute_backward)."""

    forward_calls_tensor_ops = True
    op = staticmethod(lambda impl, dims, keepdim: _median_all_impl(impl, False))


class NanmedianAllBackward(_ExtremumAllBackward):
    """nanmedian() of everything: the lower median of the numbers (NaN when all are NaN); the
    gradient as median()'s."""

    forward_calls_tensor_ops = True
    op = staticmethod(lambda impl, dims, keepdim: _median_all_impl(impl, True))


def median(input, dim=None, keepdim=False):
    """median(input): the lower median of all elements (NaN if any is NaN). median(input, dim,
    keepdim=False): (values, indices) of the lower median along dim."""
    _check_input("median", input)
    if dim is None:
        return MedianAllBackward.apply(input, None, False)
    return _median_dim("median", input, dim, keepdim, False)


def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaNs (NaN only where every element is NaN)."""
    _check_input("nanmedian", input)
    if dim is None:
        return NanmedianAllBackward.apply(input, None, False)
    return _median_dim("nanmedian", input, dim, keepdim, True)


def mode(input, dim=-1, keepdim=False):
    """(values, indices): each row's most frequent value along dim (ties: the smallest) and the
    index of its last occurrence (PyTorch's CPU kernel gives that index for rows of up to 16
    elements; beyond, its unstable sort makes its choice among the occurrences arbitrary).
    NaNs count as one value here (PyTorch counts each NaN apart)."""
    _check_input("mode", input)
    dim = _dim("mode", dim, input)
    indices = _wrap(_C.mode_indices(_sortable(input)._impl, dim))
    if input.ndim == 0:
        return values_indices(input.clone(), indices)
    values = gather(input, dim, indices)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return values_indices(values, indices)


# ----- unique, unique_consecutive -----

def _runs(rows, order):
    """rows (n, m) taken in `order`: (starts, the first row of each run of equal rows, run
    lengths, each row's run number in original positions). Rows are equal when every entry
    is (NaN never equals NaN here, so each NaN is its own value, as PyTorch's unique)."""
    from .scan import _cumsum, diff
    from .shape import cat
    n = rows.shape[0]
    s = rows.index_select(0, order)
    first = _wrap(_C.full([1], True, "bool", rows._impl.device))
    if rows.shape[1] == 0:
        changed = _wrap(_C.full([n - 1], False, "bool", rows._impl.device))
    else:
        changed = (s.narrow(0, 1, n - 1) != s.narrow(0, 0, n - 1)).any(dim=1)
    starts = cat([first, changed], 0)
    start_pos = starts.nonzero().reshape(-1)
    end = _wrap(_C.full([1], n, "int64", rows._impl.device))
    counts = diff(cat([start_pos, end], 0))
    run = _cumsum(starts.to("int64"), 0) - 1
    inverse = _wrap(_C.full([n], 0, "int64", rows._impl.device)).scatter(0, order, run)
    return start_pos, counts, inverse


def _unique_impl(fn, input, sort_rows, return_inverse, return_counts, dim):
    _check_input(fn, input)
    x = input.detach()
    if dim is None:
        x = x.reshape(-1)
        dim_ = 0
    else:
        dim_ = _dim(fn, dim, input)
        if x.ndim == 0:
            x = x.reshape(1)
        if x.shape[dim_] > 0 and x.numel() == 0:
            raise RuntimeError(f"{fn}(): There are 0 sized dimensions, and they aren't selected, so unique cannot "
                               f"be applied (input shape {tuple(input.shape)}, dim {dim})")
    moved = x.movedim(dim_, 0)
    n = moved.shape[0]
    rows = moved.reshape(n, -1) if n else moved.reshape(0, 1)
    device = input._impl.device
    if n == 0:
        empty_idx = _wrap(_C.full([0], 0, "int64", device))
        output, counts = moved, empty_idx
        inverse = _wrap(_C.full(list(input.shape) if dim is None else [0], 0, "int64", device))
    else:
        from ..creation import arange
        order = arange(n, device=device)
        if sort_rows:  # lexicographic: stable sorts by each column, last column first
            key_rows = _sortable(rows)
            for c in range(rows.shape[1] - 1, -1, -1):
                key = key_rows.select(1, c).index_select(0, order)
                order = order.index_select(0, _wrap(_C.sort_indices(key.contiguous()._impl, 0, False)))
        start_pos, counts, inverse = _runs(rows, order)
        output = moved.index_select(0, order.index_select(0, start_pos)).movedim(0, dim_)
        if dim is None:
            output = output.reshape(-1)
            inverse = inverse.reshape(tuple(input.shape))
    result = [output]
    if return_inverse:
        result.append(inverse)
    if return_counts:
        result.append(counts)
    return result[0] if len(result) == 1 else tuple(result)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of input (dim=None: of all elements, flattened; dim=d: the distinct
    slices along d), in ascending (lexicographic) order, with optionally each element's
    position in the output (return_inverse) and each value's count (return_counts). Always
    sorted (sorted=False allows any order). Each NaN is its own value, as PyTorch."""
    return _unique_impl("unique", input, True, return_inverse, return_counts, dim)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """unique over runs of consecutive equal values (or slices along dim) only: [1, 1, 2, 1]
    gives [1, 2, 1]."""
    return _unique_impl("unique_consecutive", input, False, return_inverse, return_counts, dim)


# ----- searchsorted, bucketize -----

def _as_values(fn, input, like):
    if isinstance(input, Tensor):
        return input
    if isinstance(input, (bool, int, float)):
        from ..creation import tensor
        return tensor(input, device=like._impl.device)
    raise TypeError(f"{fn}(): argument 'input' must be Tensor or Number, not {type(input).__name__}")


def _search(fn, boundaries, values, right, sorter, out_int32):
    common = _C.promote_types(dtype_name(boundaries), dtype_name(values))
    kernel = common if common in _KERNEL_DTYPES else ("float32" if _is_floating(common) else "int64")
    b, v = boundaries.detach().to(kernel), values.detach().to(kernel)
    if sorter is not None and not isinstance(sorter, Tensor):
        raise TypeError(f"{fn}(): argument 'sorter' must be Tensor, not {type(sorter).__name__}")
    out = _wrap(_C.searchsorted(b._impl, v._impl, bool(right), None if sorter is None else sorter._impl))
    if out_int32:
        from .. import dtypes
        if not hasattr(dtypes, "int32"):
            raise TypeError(f"{fn}(): out_int32=True needs the int32 dtype, which this build of pyengine lacks")
        out = out.to(dtypes.int32)
    return out


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """For each value of input, the index at which inserting it keeps sorted_sequence's last dim
    sorted: the first position p with sorted_sequence[..., p] >= value (right=True or
    side='right': > value). sorted_sequence is 1-D, or has input's leading dims; sorter (int64,
    sorted_sequence's shape) gives each row's ascending order when the row itself is not
    sorted. A scalar input gives a 0-d result."""
    _check_input("searchsorted", sorted_sequence)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right' but got {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side and right can't be set to opposites, got side of left while "
                               "right was True")
        right = side == "right"
    values = _as_values("searchsorted", input, sorted_sequence)
    return _search("searchsorted", sorted_sequence, values, right, sorter, out_int32)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value of input among the 1-D ascending boundaries: the first i with
    boundaries[i] >= value (right=True: > value), i.e. searchsorted(boundaries, input)."""
    if not isinstance(boundaries, Tensor):
        raise TypeError(f"bucketize(): argument 'boundaries' must be Tensor, not {type(boundaries).__name__}")
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got dim({boundaries.ndim}) "
                           f"(shape {tuple(boundaries.shape)})")
    values = _as_values("bucketize", input, boundaries)
    return _search("bucketize", boundaries, values, right, None, out_int32)
