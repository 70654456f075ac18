"""Helpers shared by every op family."""
from .. import _C
from ..dtypes import FLOATING_NAMES
from ..autograd.function import Function
from ..tensor import Tensor, _wrap, dtype_name as _cached_dtype, shape_of as _cached_shape

_SCALARS = (bool, int, float)
_FLOAT = FLOATING_NAMES


class Op(Function):
    """Base of pyengine's own Functions: forward calls _C directly (no Tensor ops), outputs are
    floating point when a differentiable input is, and backward returns gradients in each
    input's dtype (see cast_back). forward accepts ctx=None (no graph: keep nothing for
    backward), so `apply` is the whole op: it skips making a node when none is needed."""

    float_outputs = True
    forward_calls_tensor_ops = False
    ctx_optional = True


def cast_back(g, dtype):
    """A gradient in the dtype of the input it belongs to (mixed-precision ops compute in the
    promoted dtype)."""
    return g if g is None or dtype is None or g._impl.dtype == dtype else g.to(dtype)


def device_back(g, device):
    """A gradient on the device of the input it belongs to: a 0-d CPU tensor may be an operand of
    an op on CUDA tensors (as in PyTorch), and its gradient goes back to the CPU."""
    return g if g is None or device is None or g._impl.device == device else g.to(device=device)


def devices_if_mixed(*xs):
    """Per-operand device names when tensor operands differ in device (a 0-d CPU tensor with CUDA
    tensors; backward moves gradients back), else None."""
    names = [x._impl.device if isinstance(x, Tensor) else None for x in xs]
    present = {n for n in names if n is not None}
    return names if len(present) > 1 else None


def dtypes_if_mixed(*xs):
    """Per-operand dtype names when tensor operands differ in dtype (backward casts back), else None."""
    names = [_cached_dtype(x) if isinstance(x, Tensor) else None for x in xs]
    present = {n for n in names if n is not None}
    return names if len(present) > 1 else None


def as_operand(x):
    """What _C accepts for an operand: a TensorImpl or a Python scalar."""
    if isinstance(x, Tensor):
        return x._impl
    if isinstance(x, _SCALARS):
        return x
    if hasattr(x, "item") and getattr(x, "ndim", None) == 0:  # NumPy scalar
        return x.item()
    from ..creation import tensor
    return tensor(x)._impl


def as_tensor_arg(x):
    """A Tensor for `x` (Tensors pass through; scalars/lists/arrays are converted)."""
    if isinstance(x, Tensor):
        return x
    from ..creation import tensor
    return tensor(x)


def shape_of(x):
    """Shape of a tensor operand; () for a Python scalar."""
    return _cached_shape(x) if isinstance(x, Tensor) else ()


def reduce_grad(g, shape):
    """Sum a broadcast gradient back to `shape` (the one helper every broadcasting op uses)."""
    gshape = _cached_shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    dims = list(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and gshape[lead + i] != 1:
            dims.append(lead + i)
    if dims:
        g = g.sum(dim=dims, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g


def normalize_dims(dim, ndim):
    """dim (None, int, or sequence) -> sorted list of non-negative dims, or None for all."""
    if dim is None:
        return None
    if isinstance(dim, int):
        dims = [dim]
    else:
        dims = list(dim)
        if not dims:
            return None
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not isinstance(d, int):
            raise TypeError(f"dim must be an int or a sequence of ints, got {type(d).__name__}")
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        d %= n
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return sorted(out)


def wrap(impl):
    return _wrap(impl)


# ----- forward-mode AD (jvp rules) -----
# jvp(ctx, *tangents) runs with forward AD paused on the primals, which are in ctx.fw_inputs /
# ctx.fw_outputs; ctx.saved_tensors gives what forward saved, and ctx.needs_input_grad says
# which inputs have a tangent (see autograd._dual_state).

def zeros_of(t):
    """A zero tensor shaped like Tensor t (a constant argument's tangent)."""
    impl = t._impl
    return _wrap(_C.full(impl.shape, 0.0, impl.dtype, impl.device))


def linear_jvp(ctx, *tangents):
    """jvp of an op that is linear in its floating-point tensor arguments (views, copies, sums,
    indexing, cat): the op itself applied to the tangents, zeros for arguments that have none."""
    args = []
    for a, t in zip(ctx.fw_inputs, tangents):
        if t is not None:
            args.append(t)
        elif isinstance(a, Tensor) and _cached_dtype(a) in _FLOAT:
            args.append(zeros_of(a))
        else:
            args.append(a)
    return type(ctx)._node_of.apply(*args)


def elementwise_jvp(ctx, t, *rest):
    """jvp of an op elementwise in its first argument (a diagonal Jacobian): the same as its
    backward applied to the tangent, so the derivative is written once, in backward."""
    if t is None:
        return None
    g = type(ctx)._node_of.backward(ctx, t)
    return g[0] if isinstance(g, tuple) else g


def sum_tangents(*terms):
    """The sum of the non-None tangent terms (None when all are None)."""
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def bilinear_jvp(ctx, ta, tb, *rest):
    """jvp of an op bilinear in its first two arguments (matmul): f(ta, b) + f(a, tb)."""
    a, b = ctx.fw_inputs[:2]
    others = ctx.fw_inputs[2:]
    op = type(ctx)._node_of.apply
    return sum_tangents(None if ta is None else op(ta, b, *others), None if tb is None else op(a, tb, *others))
