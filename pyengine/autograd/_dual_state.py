"""Forward-mode AD state and the dual path of Function.apply.

A dual tensor is an ordinary Tensor with a tangent recorded in `tangents` at the active level
(PyTorch allows one level at a time). `Function.apply` reads `tangents` on every call: it is
None outside a dual level and an empty dict until the first dual is made, so code that never
uses forward AD pays one falsy check. When some argument is dual, `apply_dual` runs the op's
forward (recording the reverse graph as usual) and then its `jvp(ctx, *tangents)` on the primals,
with forward AD paused so neither step sees tangents. Tangents are kept by tensor identity
(entries leave with their tensor, and all of them with the level), so Tensor needs no new slot.
"""
from weakref import ref as _weakref

from ..dtypes import FLOATING_NAMES
from .grad_mode import state

level = None      # the active dual level (0), or None
tangents = None   # {id(tensor): (weakref to tensor, tangent)} at the active level, or None

_FLOAT = FLOATING_NAMES


def tangent_of(t):
    """t's tangent at the active level, or None (not a dual tensor)."""
    table = tangents
    if not table:
        return None
    entry = table.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[1]


def set_tangent(t, tangent):
    table = tangents
    key = id(t)
    table[key] = (_weakref(t, lambda _r, table=table, key=key: table.pop(key, None)), tangent)


def op_name(cls):
    """What an error calls the op of Function class `cls` ("ExpBackward" -> "exp")."""
    name = cls._node_cls.__name__ if cls._node_cls is not None else cls.__name__
    if name.endswith("Backward") and len(name) > len("Backward"):
        name = name[: -len("Backward")]
    return name.lower() if name[:1].isupper() and name[1:].islower() else name


def apply_dual(cls, args, apply, apply_ctx):
    """Function.apply when some dual tensor exists: forward, then the op's jvp on the tangents."""
    from ..tensor import Tensor
    tans = tuple([tangent_of(a) if isinstance(a, Tensor) else None for a in args])
    prev = state.fw_paused
    state.fw_paused = True
    try:
        if all(t is None for t in tans):
            return apply(*args)  # no dual argument: the plain op, its result not dual
        jvp = cls.jvp
        if jvp is None:
            raise NotImplementedError(
                f"Trying to use forward AD with {op_name(cls)} that does not support it because it has not "
                f"been implemented yet (no jvp rule on {cls.__name__}).")
        grad_on = state.enabled
        needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args]) if grad_on else ()
        record = any(needs)
        ctx, out = apply_ctx(args, record, needs if record else None, grad_on, True)
        graph_needs = ctx.needs_input_grad
        ctx.fw_inputs, ctx.fw_outputs, ctx._in_jvp = args, out, True
        ctx.needs_input_grad = tuple([t is not None for t in tans])  # which inputs have a tangent
        try:
            out_tans = jvp(ctx, *tans)
        finally:
            ctx.needs_input_grad = graph_needs
            for key in ("fw_inputs", "fw_outputs", "_in_jvp", "_fw_saved", "_fw_keep"):
                ctx.__dict__.pop(key, None)  # the node may outlive this call: keep no primals
        if type(out) is tuple:
            if type(out_tans) not in (tuple, list) or len(out_tans) != len(out):
                raise RuntimeError(f"jvp of {op_name(cls)} returned {_count(out_tans)} tangent(s) for "
                                   f"{len(out)} outputs")
            for o, t in zip(out, out_tans):
                _attach(cls, ctx, o, t)
        else:
            if type(out_tans) in (tuple, list):
                if len(out_tans) != 1:
                    raise RuntimeError(f"jvp of {op_name(cls)} returned {len(out_tans)} tangents for 1 output")
                out_tans = out_tans[0]
            _attach(cls, ctx, out, out_tans)
        return out
    finally:
        state.fw_paused = prev


def _count(x):
    return len(x) if type(x) in (tuple, list) else 1


def _attach(cls, ctx, out, tangent):
    """Make `out` dual with `tangent` (None: a zero tangent, so `out` stays a plain tensor)."""
    if out is None or tangent is None:
        return
    impl = out._impl
    if impl.dtype not in _FLOAT:
        return  # integer/bool outputs (indices, masks) carry no tangent
    timpl = tangent._impl
    if tuple(timpl.shape) != tuple(impl.shape):
        if timpl.ndim > impl.ndim or any(
                a != b and a != 1 for a, b in zip(reversed(timpl.shape), reversed(impl.shape))):
            raise RuntimeError(f"jvp of {op_name(cls)} gave a tangent of shape {tuple(timpl.shape)} for an output "
                               f"of shape {tuple(impl.shape)}")
        tangent = tangent.expand(list(impl.shape))
    if timpl.dtype != impl.dtype:
        tangent = tangent.to(impl.dtype)
    set_tangent(out, tangent)
    saved = getattr(ctx, "_saved", None)
    for e in saved or ():
        if e is not None and e[0] == "out" and e[1] is impl:
            e[4] = tangent  # saved_tensors rebuilds this output dual (forward-over-reverse)
