"""topk and kthvalue. The engine ranks (_C.topk_indices, the sort kernel family: NaN above every
number, equal values by ascending index); the values are a gather of the input at those
indices, so their gradient (and its gradient) is gather's."""
from .. import _C
from .._ints import int64
from ..tensor import Tensor, _wrap, _wrap_dim
from .index import gather
from .reduce import values_indices


def _check_input(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")


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
