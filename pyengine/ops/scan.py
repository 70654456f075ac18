"""The scan family: cumsum, cumprod, logcumsumexp (running values, _C.scan), cummax and cummin
(the engine gives the indices of the running extremum; the values are a gather at them, so their
gradient is gather's scatter-add to those indices, as PyTorch's), and diff (narrow and sub).

Every backward is written with these same differentiable ops, so gradients of gradients work:
cumsum's is the reverse cumsum; cumprod's is PyTorch's formula that stays exact with zeros in
the input; logcumsumexp's is PyTorch's sign-split log-space formula."""
from .. import _C
from .._ints import int64
from ..dtypes import to_dtype
from ..tensor import Tensor, _wrap, _wrap_dim, dtype_name
from ._util import Op, linear_jvp
from .elementwise import logical_xor, where
from .index import gather
from .reduce import values_indices

_KERNEL_DTYPES = ("float32", "float64", "int64")
_LOWEST = {"float32": -3.4028234663852886e38, "float64": -1.7976931348623157e308}


def _check_input(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def _dim(fn, dim, input):
    return _wrap_dim(int64(dim, fn, "dim"), input._impl.ndim)


def _is_floating(name):
    return name.startswith("float") or name == "bfloat16"


def _accumulating(input, dtype):
    """(the tensor the kernel scans, the dtype of the result): integers and bool accumulate in
    int64 (PyTorch's cumsum/cumprod promotion), `dtype=` casts first, and a float type the
    kernels do not have (float16, bfloat16) runs in float32 and is cast back."""
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    name = dtype_name(input)
    if name in _KERNEL_DTYPES:
        return input, None
    if _is_floating(name):
        return input.to("float32"), name
    return input.to("int64"), None


def _cast_result(out, name):
    return out if name is None else out.to(name)


# ----- cumsum -----

class CumsumBackward(Op):
    """Running sum along dim (reverse: from the end). Linear: its gradient is the running sum the
    other way, and its tangent is the op applied to the tangent."""

    jvp = staticmethod(linear_jvp)

    @staticmethod
    def forward(ctx, x, dim, reverse):
        if ctx is not None:
            ctx.dim, ctx.reverse = dim, reverse
        return _C.scan(x._impl, dim, "sum", reverse)

    @staticmethod
    def backward(ctx, g):
        return CumsumBackward.apply(g, ctx.dim, not ctx.reverse), None, None


def _cumsum(x, dim, reverse=False):
    return CumsumBackward.apply(x, dim, reverse)


def cumsum(input, dim, *, dtype=None):
    """Running sum along dim: out[i] = input[0] + ... + input[i]. Integer and bool inputs give
    int64 (PyTorch's promotion); dtype= casts the input first."""
    _check_input("cumsum", input)
    dim = _dim("cumsum", dim, input)
    x, back = _accumulating(input, dtype)
    return _cast_result(_cumsum(x, dim), back)


# ----- cumprod -----

def _first_zero_masks(x, dim):
    """(before, first): positions before the first zero of their row, and that first zero."""
    seen = _cumsum((x == 0).to("int64"), dim)
    return seen == 0, (x == 0) & (seen == 1)


class CumprodBackward(Op):
    @staticmethod
    def forward(ctx, x, dim):
        out = _C.scan(x._impl, dim, "prod", False)
        if ctx is not None:
            ctx.dim = dim
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # d out_j / d x_i = prod_{m <= j, m != i} x_m for i <= j. Without zeros that is
        # out_j / x_i, so the gradient is revcumsum(g * out) / x. With zeros (PyTorch's
        # cumprod_backward): before a row's first zero k the same formula over j < k; at k,
        # revcumsum(g * out') where out' is the running product with x_k taken as 1; after k, 0.
        x, out = ctx.saved_tensors
        d = ctx.dim
        if x.ndim == 0:
            return g, None
        if not bool((x == 0).any().item()):  # a host sync, as in PyTorch
            return _cumsum(g * out, d, reverse=True) / x, None
        before, first = _first_zero_masks(x, d)
        safe_x = where(before, x, 1.0)
        head = _cumsum(where(before, g * out, 0.0), d, reverse=True) / safe_x
        out_skip = cumprod(where(first, 1.0, x), d)
        at_zero = _cumsum(g * out_skip, d, reverse=True)
        return where(before, head, where(first, at_zero, 0.0)), None

    @staticmethod
    def jvp(ctx, t, _):
        # d out_j = sum_{i <= j} t_i prod_{m <= j, m != i} x_m: out * cumsum(t / x) before a
        # row's first zero k; from k on only i = k survives: t_k times out' (x_k taken as 1).
        x = ctx.fw_inputs[0]
        out = ctx.fw_outputs
        d = ctx.dim
        if x.ndim == 0:
            return t
        before, first = _first_zero_masks(x, d)
        safe_x = where(before, x, 1.0)
        head = out * _cumsum(where(before, t / safe_x, 0.0), d)
        t_zero = where(first, t, 0.0).sum(dim=d, keepdim=True)
        tail = t_zero * cumprod(where(first, 1.0, x), d)
        return where(before, head, tail)


def cumprod(input, dim, *, dtype=None):
    """Running product along dim: out[i] = input[0] * ... * input[i]. Integer and bool inputs
    give int64; dtype= casts the input first. The gradient is exact with zeros in the input."""
    _check_input("cumprod", input)
    dim = _dim("cumprod", dim, input)
    x, back = _accumulating(input, dtype)
    return _cast_result(CumprodBackward.apply(x, dim), back)


# ----- logcumsumexp -----

class LogcumsumexpBackward(Op):
    @staticmethod
    def forward(ctx, x, dim, reverse):
        out = _C.scan(x._impl, dim, "logsumexp", reverse)
        if ctx is not None:
            ctx.dim, ctx.reverse = dim, reverse
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # grad_i = sum_{j >= i} g_j exp(x_i - out_j), in log space with g split by sign
        # (PyTorch's logcumsumexp_backward; the lowest finite float stands for log 0, so an
        # -inf output gives no NaN).
        x, out = ctx.saved_tensors
        lowest = _LOWEST[dtype_name(g)]
        log_abs = g.abs().log()
        back = not ctx.reverse

        def part(mask):
            log_g = where(mask, log_abs, lowest)
            return (LogcumsumexpBackward.apply(log_g - out, ctx.dim, back) + x).exp()

        return part(g > 0) - part(g < 0), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        # d out_j = sum_{i <= j} t_i exp(x_i) / sum_{i <= j} exp(x_i), shifted by the row max.
        x = ctx.fw_inputs[0]
        if x.numel() == 0:
            return t
        e = (x - x.amax(dim=ctx.dim, keepdim=True)).exp()
        return _cumsum(t * e, ctx.dim, ctx.reverse) / _cumsum(e, ctx.dim, ctx.reverse)


def logcumsumexp(input, dim):
    """log(cumsum(exp(input), dim)), computed without overflow. Floating inputs only."""
    _check_input("logcumsumexp", input)
    dim = _dim("logcumsumexp", dim, input)
    name = dtype_name(input)
    if not _is_floating(name):
        raise NotImplementedError(f"logcumsumexp(): expected a floating point input, got {name}")
    x, back = _accumulating(input, None)
    return _cast_result(LogcumsumexpBackward.apply(x, dim, False), back)


# ----- cummax / cummin -----

def _scannable(input):
    """input as a dtype the kernels take, with the same order (only the indices are used)."""
    name = dtype_name(input)
    if name in _KERNEL_DTYPES:
        return input
    return input.detach().to("float32" if _is_floating(name) else "int64")


def _cum_extremum(fn, op, input, dim):
    _check_input(fn, input)
    dim = _dim(fn, dim, input)
    indices = _wrap(_C.scan_indices(_scannable(input)._impl, dim, op))
    if input.ndim == 0:
        return values_indices(input.clone(), indices)
    return values_indices(gather(input, dim, indices), indices)


def cummax(input, dim):
    """(values, indices) of the running maximum along dim (ties: the last index; a NaN wins
    and stays, as PyTorch)."""
    return _cum_extremum("cummax", "max", input, dim)


def cummin(input, dim):
    """(values, indices) of the running minimum along dim (ties: the last index; a NaN wins
    and stays, as PyTorch)."""
    return _cum_extremum("cummin", "min", input, dim)


# ----- diff -----

def _check_piece(name, piece, input, dim):
    if not isinstance(piece, Tensor):
        raise TypeError(f"diff(): argument '{name}' must be Tensor, not {type(piece).__name__}")
    if piece.ndim != input.ndim or any(a != b for i, (a, b) in enumerate(zip(piece.shape, input.shape)) if i != dim):
        raise RuntimeError(f"diff(): expected {name} to have the shape of input except along dim {dim}, "
                           f"got {name} of shape {tuple(piece.shape)} and input of shape {tuple(input.shape)}")


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim: out[i] = input[i + 1] - input[i], applied n
    times (logical xor for bool), after concatenating prepend and append along dim."""
    from .shape import cat
    _check_input("diff", input)
    n = int64(n, "diff", "n")
    if input.ndim == 0:
        raise RuntimeError("diff(): expected input to be at least one-dimensional, got a 0-d tensor")
    if n < 0:
        raise RuntimeError(f"diff(): order must be non-negative but got {n}")
    dim = _dim("diff", dim, input)
    pieces = []
    for name, piece in (("prepend", prepend), ("append", append)):
        if piece is not None:
            _check_piece(name, piece, input, dim)
    if prepend is not None or append is not None:
        pieces = [p for p in (prepend, input, append) if p is not None]
        input = cat(pieces, dim)
    is_bool = dtype_name(input) == "bool"
    for _ in range(n):
        length = input.shape[dim]
        if length == 0:
            break
        hi, lo = input.narrow(dim, 1, length - 1), input.narrow(dim, 0, length - 1)
        input = logical_xor(hi, lo) if is_bool else hi - lo
    return input
