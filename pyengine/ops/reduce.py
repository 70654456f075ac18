"""Reductions: sum, mean, prod, max/min (values and with dim), var/std, logsumexp, norm, all/any."""
import math
from collections import namedtuple

from .. import _C
from ..autograd.grad_mode import state as _grad_state
from ..dtypes import FLOATING_NAMES, to_dtype
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

    @classmethod
    def jvp(cls, ctx, t, *_):
        # Each output element depends on its own slice only, so its tangent is the slice's
        # gradient (backward's formula for a gradient of ones) dotted with the tangent.
        out = ctx.fw_outputs._impl
        ones = _wrap(_C.full(_keepdim_shape(ctx.in_shape, ctx.dims), 1.0, out.dtype, out.device))
        d = cls.grad(ctx, ones)
        if d is None:
            return None
        dims = list(range(len(ctx.in_shape))) if ctx.dims is None else list(ctx.dims)
        return (d * t).sum(dim=dims, keepdim=ctx.keepdim) if dims else d * t


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
        out = _C.prod(x._impl, dims, keepdim, dtype)
        if ctx is not None:
            _setup(ctx, x, dims, keepdim, 4, dtype)
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def grad(ctx, g):
        # PyTorch's prod_backward: d prod / d x_i is the product of the others. Without a zero in
        # the input that is prod / x_i (NaN next to an inf, as there); with one, it is the
        # product of the others itself (prod_safe_zeros_backward), so a lone zero gets the
        # product of the rest and everything else 0 (NaN where the rest holds an inf or NaN).
        # prod() of everything with two or more zeros is 0 everywhere (PyTorch's shortcut when no
        # graph is built; under create_graph it takes the general path, as here).
        x, out = ctx.saved_tensors
        if len(ctx.in_shape) == 0:
            return g
        zeros = int((x == 0).sum().item())  # a host sync, as in PyTorch
        if zeros == 0:
            return g * (_as_keepdim(ctx, out) / x)
        if zeros > 1 and ctx.dims is None and not _grad_state.enabled:
            return _wrap(_C.full(ctx.in_shape, 0.0, g._impl.dtype, g._impl.device))
        return g * _product_of_others(x, ctx.dims)


def _product_of_others(x, dims):
    """For each element, the product of the other elements of its slice over `dims` (None =
    all), as the exclusive prefix product times the exclusive suffix product: no division, so
    zeros are exact. Each scan is log2(n) shifted multiplies (Hillis-Steele)."""
    shape, nd = tuple(x.shape), x.ndim
    red = list(range(nd)) if dims is None else list(dims)
    keep = [d for d in range(nd) if d not in red]
    perm = keep + red
    moved = x.permute(perm) if perm != list(range(nd)) else x
    n = _count(shape, red)
    rows = moved.reshape(tuple(shape[d] for d in keep) + (n,))
    ones = _wrap(_C.full(tuple(rows.shape[:-1]) + (1,), 1.0, x._impl.dtype, x._impl.device))
    prefix, suffix = _inclusive_products(rows, n, forward=True), _inclusive_products(rows, n, forward=False)
    if n > 1:  # inclusive -> exclusive: shift by one, 1 at the open end
        prefix = _cat([ones, prefix.narrow(-1, 0, n - 1)], -1)
        suffix = _cat([suffix.narrow(-1, 1, n - 1), ones], -1)
    else:
        prefix = suffix = ones
    others = (prefix * suffix).reshape(tuple(moved.shape))
    if perm == list(range(nd)):
        return others
    inverse = [perm.index(d) for d in range(nd)]
    return others.permute(inverse)


def _inclusive_products(rows, n, forward):
    """Running products along the last dim, from the start (forward) or from the end."""
    y, k = rows, 1
    while k < n:
        pad = _wrap(_C.full(tuple(rows.shape[:-1]) + (k,), 1.0, rows._impl.dtype, rows._impl.device))
        if forward:
            y = y * _cat([pad, y.narrow(-1, 0, n - k)], -1)
        else:
            y = y * _cat([y.narrow(-1, k, n - k), pad], -1)
        k *= 2
    return y


def _cat(tensors, dim):
    from .shape import cat
    return cat(tensors, dim)


class _ExtremumBackward(_Reduction):
    """amax/amin: ties share the gradient evenly, like PyTorch (NaN everywhere in a slice whose
    result is NaN: no element equals it, so PyTorch's 0/0 is kept)."""

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


class _ExtremumAllBackward(_ExtremumBackward):
    """max()/min() of everything: PyTorch's evenly_distribute_backward, where a NaN result is
    shared among the NaN elements (amax/amin give NaN everywhere instead)."""

    @staticmethod
    def grad(ctx, g):
        x, out = ctx.saved_tensors
        out = _as_keepdim(ctx, out)
        hit = where(out != out, x != x, x == out).to(g.dtype)
        return g * hit / hit.sum()


class MaxAllBackward(_ExtremumAllBackward):
    op = staticmethod(_C.amax)


class MinAllBackward(_ExtremumAllBackward):
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

    @staticmethod
    def jvp(ctx, t, *_):
        if len(ctx.in_shape) == 0:
            return t, None
        idx = _wrap(ctx.indices)
        if not ctx.keepdim:
            idx = idx.unsqueeze(ctx.dim)
        picked = t.gather(ctx.dim, idx)
        return (picked if ctx.keepdim else picked.squeeze(ctx.dim)), None


class MaxDimBackward(_ExtremumDimBackward):
    op = staticmethod(_C.max_dim)


class MinDimBackward(_ExtremumDimBackward):
    op = staticmethod(_C.min_dim)


def _var_grad(ctx, x, g):
    """PyTorch's var_backward, (2 / (n - correction)) g (x - mean), at the edges too: reducing
    everything with n <= correction gives g * (NaN where x == mean, else inf); over dims, 2 / 0
    is inf and a negative n - correction a negative factor."""
    dof = _count(ctx.in_shape, ctx.dims) - ctx.correction
    if ctx.dims is None and dof <= 0:
        return g * where(x == x.mean(), math.nan, math.inf)
    factor = 2.0 / dof if dof != 0 else math.inf
    return g * (x - x.mean(dim=ctx.dims, keepdim=True)) * factor


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
        return _var_grad(ctx, x, g)


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
        # PyTorch's std_backward: var's gradient of g / (2 std), taken as 0 where std == 0 (a
        # constant slice has no derivative there; PyTorch picks the 0 subgradient, not NaN).
        x, out = ctx.saved_tensors
        out = _as_keepdim(ctx, out)
        return _var_grad(ctx, x, where(out == 0, 0.0, g / (out * 2.0)))


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
        # PyTorch's norm_backward, case by case: a zero norm gives the 0 subgradient, p < 1 gives
        # 0 at x == 0 (not 0 ** negative = inf), the inf-norm shares among ties and NaNs.
        x, out = ctx.saved_tensors
        out = _as_keepdim(ctx, out)
        p = ctx.p
        if p == 0:
            return None  # piecewise constant: no gradient, as PyTorch
        if p == 1:
            return g * x.sign()
        if p == 2:
            return g * where(out == 0, 0.0, x / out)
        if math.isinf(p):
            ax = x.abs()
            hit = ((ax == out) | (ax != ax)).to(g.dtype)
            return x.sign() * (g / hit.sum(dim=ctx.dims, keepdim=True) * hit)
        if p < 1:
            scaled = x.sign() * where(x == 0, 0.0, x.abs() ** (p - 1.0))
            return scaled * g * out ** (1.0 - p)
        scaled = x.sign() * x.abs() ** (p - 1.0) if p < 2 else x * x.abs() ** (p - 2.0)
        return scaled * where(out == 0, 0.0, g / out ** (p - 1.0))


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
    if dtype is None and x._impl.dtype not in FLOATING_NAMES:
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
        return (maximum if cls_all is MaxAllBackward else minimum)(x, other)
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
    return _extremum(MaxAllBackward, MaxDimBackward, input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    return _extremum(MinAllBackward, MinDimBackward, input, dim, keepdim, other)


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
