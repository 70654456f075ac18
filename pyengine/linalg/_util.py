"""Shared pieces of pyengine.linalg: the LinAlgError type, argument checks with PyTorch's
messages, and the small matrix helpers the backward formulas are written with (all made of
differentiable pyengine ops, so gradients of gradients work)."""
from .. import _C
from ..creation import eye
from ..tensor import Tensor, _wrap


class LinAlgError(RuntimeError):
    """A matrix the computation cannot handle (singular in solve/inv, not positive-definite in
    cholesky): PyTorch's torch.linalg.LinAlgError, also a RuntimeError."""


def wrap(impl):
    return _wrap(impl)


def check_tensor(fn, x, name="A"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def check_float(fn, x, name="A"):
    check_tensor(fn, x, name)
    if x._impl.dtype not in ("float32", "float64"):
        raise RuntimeError(f"{fn}: Expected a floating point tensor as input {name} (float32 or float64), "
                           f"but got {x._impl.dtype}")
    return x


def check_matrix(fn, x, name="A"):
    check_float(fn, x, name)
    if x._impl.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions, but got a tensor of "
                           f"shape {tuple(x._impl.shape)}")
    return x


def check_square(fn, x, name="A"):
    check_matrix(fn, x, name)
    shape = tuple(x._impl.shape)
    if shape[-1] != shape[-2]:
        raise RuntimeError(f"{fn}: {name} must be batches of square matrices, but they are {shape[-2]} by "
                           f"{shape[-1]} matrices")
    return x


def raise_from_info(info, message):
    """Raise LinAlgError for the first failed batch element: info (a _C int64 tensor of the batch
    shape) holds 0 for success, else the 1-based step that failed; message(step) says what it means."""
    flat = _wrap(info).reshape(-1).tolist()
    for i, step in enumerate(flat):
        if step:
            where = f"(Batch element {i}): " if info.ndim > 0 else ""
            raise LinAlgError(message(where, step))


def eye_like(x, n=None):
    """The n x n identity in x's dtype and device (n: x's last dim)."""
    impl = x._impl
    n = impl.shape[-1] if n is None else n
    return eye(n, dtype=impl.dtype, device=impl.device)


def diagonal(x):
    """The main diagonal of each (square) matrix of x: (..., n, n) -> (..., n)."""
    return (x * eye_like(x)).sum(-1)


def diag_embed(v):
    """Each vector of v as a diagonal matrix: (..., n) -> (..., n, n)."""
    return v.unsqueeze(-1) * eye_like(v)


def zeros(shape, like):
    """A zero tensor of `shape` in the dtype and device of `like`."""
    return _wrap(_C.full(tuple(shape), 0.0, like._impl.dtype, like._impl.device))


def mT(x):
    return x.transpose(-2, -1)


def matrix_batch_broadcast(a, b):
    """a (..., m, n) and b (..., p, q) expanded to one broadcast batch shape."""
    from ..ops.shape import broadcast_shapes
    sa, sb = tuple(a._impl.shape), tuple(b._impl.shape)
    batch = tuple(broadcast_shapes(sa[:-2], sb[:-2]))
    if sa[:-2] != batch:
        a = a.expand(batch + sa[-2:])
    if sb[:-2] != batch:
        b = b.expand(batch + sb[-2:])
    return a, b
