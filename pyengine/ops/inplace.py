"""In-place writes: x[key] = v and the op_() methods, recorded correctly by autograd.

Without a graph to record, the kernel writes straight into x (out=x). With one, the op is
computed out of place from a copy of x (recorded as usual), its values are copied into x, and x
takes over the result's place in the graph ("rebase"). If x is a view made by indexing, the write goes through
its base instead (base[steps] = result, recorded), so the base's gradient sees it too — PyTorch's
CopySlices. Saved tensors that the write clobbers are caught by the version counter.
"""
from .. import _C
from ..autograd import _dual_state as _dual
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor
from ._util import Op, as_operand, reduce_grad, shape_of, zeros_of as _zeros_like
from .index import _Key, _assign, _parse_key, basic_index, getitem_parsed


def _requires_grad(x):
    return isinstance(x, Tensor) and x._requires_grad


def recording(x, *operands):
    """Whether an in-place op on x with these operands must be recorded (or, for forward AD,
    computed out of place so that x takes over the result's tangent)."""
    if x._inference and not _grad_state.inference:
        raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not allowed; clone() it "
                           "to get a normal tensor before updating it in place")
    if _dual.tangents and not _grad_state.fw_paused and (
            _dual.tangent_of(x) is not None or any(_dual.tangent_of(o) is not None for o in operands)):
        return True
    if not _grad_state.enabled:
        return False
    if x._requires_grad:
        return True
    for o in operands:
        if _requires_grad(o):
            return True
    view = x._view_of
    return view is not None and view[0]._requires_grad


def _check_target(x):
    """In-place writes that autograd cannot record correctly raise instead of giving wrong grads."""
    view = x._view_of
    if view is not None:
        base = view[0]
        if base.grad_fn is None and base._requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        return
    fn = x.grad_fn
    if fn is None:
        if x._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    elif fn.is_view:
        raise RuntimeError(f"an in-place operation on a view ({fn.name()}) of a tensor that requires grad is not "
                           "supported: the base tensor's gradient would be wrong. Write into the base tensor "
                           "(e.g. base[index] = value) or clone() the view first.")


def bump_after(impl, write):
    """Run write(); make sure impl's version moved (some _C writes leave that to the caller)."""
    version = impl.version
    write()
    if impl.version == version:
        impl.bump_version()


def _rebase(x, result):
    """x becomes `result` in place: copy the values, take over its autograd history."""
    if result.is_floating_point() and not x.is_floating_point():
        raise RuntimeError(f"result type {result.dtype} can't be cast to the desired output type {x.dtype}")
    if tuple(shape_of(result)) != tuple(shape_of(x)):
        raise RuntimeError(f"output with shape {tuple(shape_of(x))} doesn't match the broadcast shape "
                           f"{tuple(shape_of(result))}")
    bump_after(x._impl, lambda: _C.copy_(x._impl, result._impl))
    x.grad_fn, x._output_nr, x._requires_grad = result.grad_fn, result._output_nr, result._requires_grad
    _take_tangent(x, result)


def _take_tangent(x, result):
    """Forward AD: x, rewritten in place with `result`'s values, takes over its tangent too."""
    if _dual.tangents is None:
        return
    tangent = _dual.tangent_of(result)
    if tangent is not None:
        _dual.set_tangent(x, tangent)
    else:
        _dual.tangents.pop(id(x), None)


def record_inplace(x, compute):
    """x <- compute(x), where compute is an out-of-place, recorded op; returns x."""
    _check_target(x)
    # Compute from a copy: the op may save its input for backward, and x's storage is about to
    # be overwritten (which the version counter would rightly reject).
    result = compute(x.clone())
    view = x._view_of
    if view is None:
        _rebase(x, result)
        return x
    base, steps = view
    if tuple(shape_of(result)) != tuple(shape_of(x)):
        raise RuntimeError(f"output with shape {tuple(shape_of(x))} doesn't match the broadcast shape "
                           f"{tuple(shape_of(result))}")
    setitem_parsed(base, _Key(steps, []), result)
    fresh = basic_index(base, steps)  # x is again "a view of the (new) base"
    x.grad_fn, x._output_nr, x._requires_grad = fresh.grad_fn, 0, fresh._requires_grad
    _take_tangent(x, fresh)
    return x


# ---------------------------------------------------------------- x[key] = value
class IndexPutBackward(Op):
    """x[key] = value, recorded: x's gradient is zero where it was overwritten; value's gradient
    is the output gradient at key (summed back over broadcasting)."""

    @staticmethod
    def forward(ctx, x, value, key):
        if ctx is not None:
            ctx.key, ctx.value_shape = key, shape_of(value) if isinstance(value, Tensor) else ()
            ctx.value_dtype = value._impl.dtype if isinstance(value, Tensor) else None
        bump_after(x._impl, lambda: _assign(x._impl, key, as_operand(value)))
        return x._impl

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = g.clone()
            setitem_parsed(gx, ctx.key, 0.0)
        if ctx.needs_input_grad[1]:
            gv = reduce_grad(getitem_parsed(g, ctx.key), ctx.value_shape)
            if gv._impl.dtype != ctx.value_dtype:
                gv = gv.to(ctx.value_dtype)
        return gx, gv, None

    @staticmethod
    def jvp(ctx, tx, tv, _):
        # x's tangent with value's written at key (0 where a constant value was written)
        x, _value, key = ctx.fw_inputs
        out = _zeros_like(x) if tx is None else tx.clone()
        setitem_parsed(out, key, 0.0 if tv is None else tv)
        return out


def setitem(x, key, value):
    setitem_parsed(x, _parse_key(key, shape_of(x)), value)


def setitem_parsed(x, key, value):
    if not recording(x, value):
        bump_after(x._impl, lambda: _assign(x._impl, key, as_operand(value)))
        return
    if x._view_of is not None:  # write through the base, as a recorded write into a copy of x
        record_inplace(x, lambda t: IndexPutBackward.apply(t, value, key))
        return
    _check_target(x)
    out = IndexPutBackward.apply(x, value, key)
    x.grad_fn, x._output_nr, x._requires_grad = out.grad_fn, 0, out._requires_grad
    _take_tangent(x, out)


def write_without_graph(x, what):
    """For in-place ops autograd does not record (random fills): refuse on graph tensors."""
    if recording(x):
        raise RuntimeError(f"{what} on a tensor that requires grad or is part of a graph; do it under "
                           "pyengine.no_grad()")
