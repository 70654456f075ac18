"""Reductions: sum, mean, prod, max/min (values and with dim), var/std, logsumexp, norm, all/any."""
import math
from collections import namedtuple

from .. import _C
from ..dtypes import to_dtype
from ..tensor import Tensor, _wrap
from ._util import Op, as_tensor_arg, cast_back, normalize_dims
from .elementwise import where

values_indices = namedtuple("values_indices", ["values", "indices"])


def _keepdim_shape(shape, dims):
    """`shape` with the reduced dims set to 1 (dims None = all)."""
    if dims is None:
        return tuple(1 for _ in shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _as_keepdim(ctx, t):
    """t (an output or its gradient) with the reduced dims restored as size 1, so it broadcasts
    against the input in a backward formula."""
    return t if ctx.keepdim else t.reshape(_keepdim_shape(ctx.in_shape, ctx.dims))


def _expand_back(g, shape, dims, keepdim):
    """A reduced gradient broadcast back to the input's shape."""
    if not keepdim:
        g = g.reshape(_keepdim_shape(shape, dims))
    return g.expand(shape)


def _count(shape, dims):
    n = 1
    for i, s in enumerate(shape):
        if dims is None or i in dims:
            n *= s
    return n


class _Reduction(Op):
    """Reduction over `dims` (None = all); `grad(ctx, g_keepdim)` gets the keepdim-shaped gradient."""

    @classmethod
    def backward(cls, ctx, g):
        g = _as_keepdim(ctx, g)
        return (cast_back(cls.grad(ctx, g), ctx.in_dtype),) + (None,) * (ctx.n_args - 1)


def _setup(ctx, x, dims, keepdim, n_args, dtype=None):
    ctx.in_shape = x._impl.shape
    ctx.dims = dims
    ctx.keepdim = keepdim
    ctx.n_args = n_args
    ctx.in_dtype = None if dtype is None else x._impl.dtype  # reduce(..., dtype=) computes in another dtype


class _DtypeReduction(_Reduction):
    # sum/mean/prod(..., dtype=) may give an integer result: apply checks the output's dtype
    # (an integer output gets no gradient).
    float_outputs = False


class SumBackward(_DtypeReduction):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 4, dtype)
        return _C.sum(x._impl, dims, keepdim, dtype)

    @staticmethod
    def grad(ctx, g):
        return g.expand(ctx.in_shape)


class MeanBackward(_DtypeReduction):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 4, dtype)
        return _C.mean(x._impl, dims, keepdim, dtype)

    @staticmethod
    def grad(ctx, g):
        n = _count(ctx.in_shape, ctx.dims)
        return (g / float(n) if n else g).expand(ctx.in_shape)


class ProdBackward(_DtypeReduction):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 4, dtype)
            ctx.save_for_backward(x)
        return _C.prod(x._impl, dims, keepdim, dtype)

    @staticmethod
    def grad(ctx, g):
        # d prod / d x_i = product of the others. With zeros in the slice: only a lone zero gets a
        # gradient (the product of the nonzeros); without zeros it is prod / x_i.
        (x,) = ctx.saved_tensors
        dims = ctx.dims
        is_zero = x == 0
        nonzero_x = where(is_zero, 1.0, x)
        nonzero_prod = nonzero_x.prod(dim=dims, keepdim=True) if dims else nonzero_x.prod().reshape(
            _keepdim_shape(ctx.in_shape, None))
        zeros = is_zero.sum(dim=dims, keepdim=True) if dims else is_zero.sum().reshape(
            _keepdim_shape(ctx.in_shape, None))
        others = where(is_zero, where(zeros == 1, nonzero_prod, 0.0), where(zeros == 0, nonzero_prod / nonzero_x, 0.0))
        return g * others


class _ExtremumBackward(_Reduction):
    """amax/amin (and max()/min() without dim): ties share the gradient evenly, like PyTorch."""

    op = None

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        out = cls.op(x._impl, dims, keepdim)
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 3)
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def grad(ctx, g):
        x, out = ctx.saved_tensors
        out = _as_keepdim(ctx, out)
        hit = (x == out).to(g.dtype)
        return g * hit / hit.sum(dim=ctx.dims, keepdim=True)


class AmaxBackward(_ExtremumBackward):
    op = staticmethod(_C.amax)


class AminBackward(_ExtremumBackward):
    op = staticmethod(_C.amin)


class _ExtremumDimBackward(Op):
    """max/min along one dim -> (values, indices); the gradient goes to the chosen index."""

    op = None

    @classmethod
    def forward(cls, ctx, x, dim, keepdim):
        values, indices = cls.op(x._impl, dim, keepdim)
        if ctx is not None:
            ctx.in_shape, ctx.dim, ctx.keepdim = x._impl.shape, dim, keepdim
            ctx.indices = indices
        return values, indices

    @staticmethod
    def backward(ctx, g, _g_indices):
        idx = _wrap(ctx.indices)
        if not ctx.keepdim and len(ctx.in_shape) > 0:
            g = g.unsqueeze(ctx.dim)
            idx = idx.unsqueeze(ctx.dim)
        if len(ctx.in_shape) == 0:
            return g, None, None
        from .index import scatter_add
        zeros = _wrap(_C.full(ctx.in_shape, 0.0, g._impl.dtype, g._impl.device))
        return scatter_add(zeros, ctx.dim, idx, g), None, None


class MaxDimBackward(_ExtremumDimBackward):
    op = staticmethod(_C.max_dim)


class MinDimBackward(_ExtremumDimBackward):
    op = staticmethod(_C.min_dim)


class VarBackward(_Reduction):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 4)
            ctx.correction = correction
            ctx.save_for_backward(x)
        return _C.var(x._impl, dims, correction, keepdim)

    @staticmethod
    def grad(ctx, g):
        (x,) = ctx.saved_tensors
        n = _count(ctx.in_shape, ctx.dims) - ctx.correction
        centered = x - x.mean(dim=ctx.dims, keepdim=True)
        return g * centered * (2.0 / n if n > 0 else math.nan)


class StdBackward(_Reduction):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        out = _C.std(x._impl, dims, correction, keepdim)
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 4)
            ctx.correction = correction
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def grad(ctx, g):
        x, out = ctx.saved_tensors
        out = _as_keepdim(ctx, out)
        n = _count(ctx.in_shape, ctx.dims) - ctx.correction
        centered = x - x.mean(dim=ctx.dims, keepdim=True)
        return g * centered / (out * float(n) if n > 0 else out * math.nan)


class LogsumexpBackward(_Reduction):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = _C.logsumexp(x._impl, dims, keepdim)
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 3)
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def grad(ctx, g):
        x, out = ctx.saved_tensors
        out = _as_keepdim(ctx, out)
        return g * (x - out).exp()


class NormBackward(_Reduction):
    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        out = _C.norm(x._impl, p, dims, keepdim)
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 4)
            ctx.p = p
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def grad(ctx, g):
        x, out = ctx.saved_tensors
        out = _as_keepdim(ctx, out)
        p = ctx.p
        if p == 0:
            return g * 0.0 * x
        if p == 1:
            return g * x.sign()
        if math.isinf(p):
            hit = (x.abs() == out).to(g.dtype)
            return g * x.sign() * hit / hit.sum(dim=ctx.dims, keepdim=True)
        safe = where(out == 0, 1.0, out)  # a zero norm means x == 0 there: gradient 0, not NaN
        if p == 2:
            return g * x / safe
        return g * x * x.abs() ** (p - 2.0) / safe ** (p - 1.0)


# ---------------------------------------------------------------- functional API
def _reduce(cls, x, *args):
    return cls.apply(x, *args)


def _dtype_name(dtype):
    return None if dtype is None else to_dtype(dtype).name


def sum(input, dim=None, keepdim=False, *, dtype=None):
    x = as_tensor_arg(input)
    return _reduce(SumBackward, x, normalize_dims(dim, x._impl.ndim), keepdim, _dtype_name(dtype))


def mean(input, dim=None, keepdim=False, *, dtype=None):
    x = as_tensor_arg(input)
    if dtype is None and x._impl.dtype not in ("float32", "float64"):
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: pyengine.{x._impl.dtype}")
    return _reduce(MeanBackward, x, normalize_dims(dim, x._impl.ndim), keepdim, _dtype_name(dtype))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    x = as_tensor_arg(input)
    return _reduce(ProdBackward, x, normalize_dims(dim, x._impl.ndim), keepdim, _dtype_name(dtype))


def amax(input, dim=(), keepdim=False):
    x = as_tensor_arg(input)
    return _reduce(AmaxBackward, x, normalize_dims(dim, x._impl.ndim), keepdim)


def amin(input, dim=(), keepdim=False):
    x = as_tensor_arg(input)
    return _reduce(AminBackward, x, normalize_dims(dim, x._impl.ndim), keepdim)


def _extremum(cls_all, cls_dim, input, dim, keepdim, other):
    x = as_tensor_arg(input)
    if isinstance(dim, Tensor) and other is None:  # max(a, b): elementwise
        other, dim = dim, None
    if other is not None:
        from .elementwise import maximum, minimum
        return (maximum if cls_all is AmaxBackward else minimum)(x, other)
    if dim is None:
        if x._impl.numel == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return _reduce(cls_all, x, None, False)
    (d,) = normalize_dims(dim, x._impl.ndim)
    values, indices = cls_dim.apply(x, d, keepdim)
    return values_indices(values, indices)


def max(input, dim=None, keepdim=False, *, other=None):
    """max(x) -> value; max(x, dim, keepdim=False) -> (values, indices); max(x, y) -> maximum."""
    return _extremum(AmaxBackward, MaxDimBackward, input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    return _extremum(AminBackward, MinDimBackward, input, dim, keepdim, other)


def argmax(input, dim=None, keepdim=False):
    x = as_tensor_arg(input)
    if dim is not None:
        (dim,) = normalize_dims(dim, x._impl.ndim)
    return _wrap(_C.argmax(x._impl, dim, keepdim))


def argmin(input, dim=None, keepdim=False):
    x = as_tensor_arg(input)
    if dim is not None:
        (dim,) = normalize_dims(dim, x._impl.ndim)
    return _wrap(_C.argmin(x._impl, dim, keepdim))


def _correction(correction, unbiased):
    if correction is not None and unbiased is not None:
        raise ValueError("pass either correction= or unbiased=, not both")
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    x = as_tensor_arg(input)
    if isinstance(dim, bool):  # var(x, False): the old positional `unbiased`
        dim, unbiased = None, dim
    return _reduce(VarBackward, x, normalize_dims(dim, x._impl.ndim), _correction(correction, unbiased), keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    x = as_tensor_arg(input)
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return _reduce(StdBackward, x, normalize_dims(dim, x._impl.ndim), _correction(correction, unbiased), keepdim)


def logsumexp(input, dim, keepdim=False):
    x = as_tensor_arg(input)
    return _reduce(LogsumexpBackward, x, normalize_dims(dim, x._impl.ndim), keepdim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    x = as_tensor_arg(input)
    if p == "fro" or p is None:
        p = 2.0
    elif isinstance(p, str):
        raise ValueError(f"norm: unsupported p={p!r}: expected a number, inf, -inf or 'fro'")
    if dtype is not None:
        x = x.to(dtype)
    return _reduce(NormBackward, x, float(p), normalize_dims(dim, x._impl.ndim), keepdim)


def all(input, dim=None, keepdim=False):
    x = as_tensor_arg(input)
    return _wrap(_C.all(x._impl, normalize_dims(dim, x._impl.ndim), keepdim))


def any(input, dim=None, keepdim=False):
    x = as_tensor_arg(input)
    return _wrap(_C.any(x._impl, normalize_dims(dim, x._impl.ndim), keepdim))
