"""Norms (vector_norm, matrix_norm, norm) and cross: compositions of existing pyengine ops (the
reduce family's p-norm kernel, abs/sum/amax, svdvals), so their gradients come with them."""
import math

from ..ops.reduce import norm as _pnorm
from ..ops.shape import broadcast_tensors, cat
from ._decompositions import svdvals
from ._util import check_float, check_tensor


def _dims(fn, dim, ndim):
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not isinstance(d, int) or isinstance(d, bool):
            raise TypeError(f"{fn}(): argument 'dim' must be an int or a tuple of ints, got {type(d).__name__}")
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{fn}: dim {dim} appears multiple times in the list of dims")
    return tuple(out)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """sum(|x|^ord)^(1/ord) over dim (all elements when None); ord inf / -inf: max / min |x|;
    ord 0: the count of non-zeros. PyTorch's semantics and gradient (the reduce family's norm)."""
    check_float("linalg.vector_norm", x, "x")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number (int, float, inf or -inf), got {ord!r}")
    if dtype is not None:
        x = x.to(dtype)
    dims = _dims("linalg.vector_norm", dim, x._impl.ndim)
    if ord < 0 and x.numel() == 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
                           f"operation does not have an identity")
    if ord == -math.inf:
        a = x.abs()
        return a.amin(dim=dims if dims is not None else tuple(range(x._impl.ndim)), keepdim=keepdim)
    return _pnorm(x, float(ord), dim=list(dims) if dims is not None else None, keepdim=keepdim)


def _to_end(x, d0, d1):
    """x with dims d0, d1 moved last (in that order)."""
    order = [d for d in range(x._impl.ndim) if d not in (d0, d1)] + [d0, d1]
    return x.permute(*order)


def _restore(y, d0, d1, keepdim):
    if keepdim:
        for d in sorted((d0, d1)):
            y = y.unsqueeze(d)
    return y


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norm over the two dims in dim: 'fro' (Frobenius), 'nuc' (sum of singular values),
    2 / -2 (largest / smallest singular value), 1 / -1 (max / min column abs-sum), inf / -inf
    (max / min row abs-sum). PyTorch's semantics; gradients through svdvals for nuc and 2/-2."""
    check_float("linalg.matrix_norm", A)
    if A._impl.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, but got a "
                           f"tensor of shape {tuple(A.shape)}")
    if dtype is not None:
        A = A.to(dtype)
    dims = _dims("linalg.matrix_norm", dim, A._impl.ndim)
    if dims is None or len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = dims
    if ord == "fro":
        return _pnorm(A, 2.0, dim=[d0, d1], keepdim=keepdim)
    if ord == "nuc":
        return _restore(svdvals(_to_end(A, d0, d1)).sum(-1), d0, d1, keepdim)
    if isinstance(ord, str) or ord not in (1, -1, 2, -2, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if abs(ord) == 2:
        s = svdvals(_to_end(A, d0, d1))
        k = s.shape[-1]
        return _restore(s.narrow(-1, 0 if ord > 0 else k - 1, 1).squeeze(-1), d0, d1, keepdim)
    # 1: max over columns (d1) of sums over rows (d0); inf: max over rows of sums over columns.
    sum_dim, pick_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = A.abs().sum(dim=sum_dim, keepdim=True)
    picked = sums.amax(dim=pick_dim, keepdim=True) if ord > 0 else sums.amin(dim=pick_dim, keepdim=True)
    return picked if keepdim else picked.squeeze(max(d0, d1)).squeeze(min(d0, d1))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """A vector or matrix norm, chosen as torch.linalg.norm does: a string ord or a 2-tuple dim
    (or a 2-D input with ord given and dim None) is a matrix norm, else a vector norm; ord=None
    is the 2-norm of the flattened input (dim None) or Frobenius (2-tuple dim)."""
    check_float("linalg.norm", A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {dim}")
    else:
        dims = None
    if ord is None:
        if dims is not None and len(dims) == 2:
            return matrix_norm(A, "fro", dims, keepdim, dtype=dtype)
        return vector_norm(A, 2, dims, keepdim, dtype=dtype)
    if dims is None:
        if A._impl.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {A._impl.ndim}D.")
        dims = tuple(range(A._impl.ndim))
    if isinstance(ord, str) or len(dims) == 2:
        if len(dims) != 2:
            raise RuntimeError(f"linalg.norm: If ord is a string ({ord!r}), the norm is a matrix norm: dim must "
                               f"have length 2, got {dims}")
        return matrix_norm(A, ord, dims, keepdim, dtype=dtype)
    return vector_norm(A, ord, dims, keepdim, dtype=dtype)


def cross(input, other, *, dim=-1, out=None):
    """The cross product of 3-vectors along dim (inputs of equal ndim, broadcast)."""
    check_tensor("linalg.cross", input, "input")
    check_tensor("linalg.cross", other, "other")
    if input._impl.ndim != other._impl.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions, got shapes "
                           f"{tuple(input.shape)} and {tuple(other.shape)}")
    a, b = broadcast_tensors(input, other)
    n = a._impl.ndim
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    if a.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
                           f"{other.shape[dim]}")
    a0, a1, a2 = (a.narrow(dim, i, 1) for i in range(3))
    b0, b1, b2 = (b.narrow(dim, i, 1) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)


__all__ = ["vector_norm", "matrix_norm", "norm", "cross"]
