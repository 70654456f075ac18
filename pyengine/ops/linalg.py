"""Matrix products: matmul (1-D, 2-D, batched with broadcasting), mm, bmm, dot."""
from .. import _C
from ..amp import cast_for_product
from ._util import Op, as_tensor_arg, bilinear_jvp, cast_back, dtypes_if_mixed, reduce_grad, shape_of


class MatmulBackward(Op):
    jvp = staticmethod(bilinear_jvp)

    @staticmethod
    def forward(ctx, a, b):
        if ctx is not None:
            ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
            ctx.shapes = (shape_of(a), shape_of(b))
            ctx.dtypes = dtypes_if_mixed(a, b) or (None, None)
        return _C.matmul(a._impl, b._impl)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        # Lift 1-D operands to matrices (a: 1 x k, b: k x 1) and the gradient to match, so one
        # batched formula covers every case; reduce_grad sums broadcast batch dims away.
        a1, b1 = len(sa) == 1, len(sb) == 1
        if b1:
            g = g.unsqueeze(-1)
        if a1:
            g = g.unsqueeze(-2)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            b2 = b.unsqueeze(-1) if b1 else b
            ga = reduce_grad(g.matmul(b2.mT), (1,) + sa if a1 else sa).reshape(sa)
        if ctx.needs_input_grad[1]:
            a2 = a.unsqueeze(0) if a1 else a
            gb = reduce_grad(a2.mT.matmul(g), sb + (1,) if b1 else sb).reshape(sb)
        return cast_back(ga, ctx.dtypes[0]), cast_back(gb, ctx.dtypes[1])


def matmul(input, other):
    a, b = cast_for_product(as_tensor_arg(input), as_tensor_arg(other))
    if a._impl.ndim == 0 or b._impl.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a._impl.ndim}D and {b._impl.ndim}D")
    return MatmulBackward.apply(a, b)


def _check_ndim(name, want, a, b):
    for which, t in (("self", a), ("mat2", b)):
        if t._impl.ndim != want:
            raise RuntimeError(f"{name}: {which} must be a {want}D tensor, got a {t._impl.ndim}D tensor of shape "
                               f"{tuple(t._impl.shape)}")


def mm(input, mat2):
    a, b = as_tensor_arg(input), as_tensor_arg(mat2)
    _check_ndim("mm", 2, a, b)
    return matmul(a, b)


def bmm(input, mat2):
    a, b = as_tensor_arg(input), as_tensor_arg(mat2)
    _check_ndim("bmm", 3, a, b)
    if a._impl.shape[0] != b._impl.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {tuple(a._impl.shape)} and {tuple(b._impl.shape)}")
    return matmul(a, b)


def dot(input, other):
    a, b = as_tensor_arg(input), as_tensor_arg(other)
    if a._impl.ndim != 1 or b._impl.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._impl.ndim}D and {b._impl.ndim}D tensors")
    if a._impl.shape != b._impl.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a._impl.shape[0]}] and src "
                           f"[{b._impl.shape[0]}] to have the same number of elements, but got "
                           f"{a._impl.shape[0]} and {b._impl.shape[0]} elements respectively")
    return matmul(a, b)
