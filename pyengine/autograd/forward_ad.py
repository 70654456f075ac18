"""Forward-mode AD (PyTorch's torch.autograd.forward_ad): dual tensors carry a tangent that every
op pushes forward with its Function's `jvp` rule.

    with forward_ad.dual_level():
        x = forward_ad.make_dual(primal, tangent)
        y = f(x)
        jvp = forward_ad.unpack_dual(y).tangent

One level at a time, as in PyTorch. Tensors without a tangent are constants; an op's result is
dual when any of its inputs is. The state and the dual path of Function.apply live in
_dual_state.
"""
import functools
from typing import NamedTuple

from . import _dual_state as _dual
from .grad_mode import state

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]


def enter_dual_level():
    """Start a forward AD level and make it the default of make_dual/unpack_dual; returns it."""
    if _dual.level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _dual.tangents = {}
    _dual.level = 0
    return _dual.level


def exit_dual_level(*, level=None):
    """End the forward AD level `level` (default: the active one); every tangent made at it is gone."""
    if _dual.level is None:
        raise RuntimeError("Trying to exit a forward AD level but no level is active; make sure to "
                           "enter_dual_level() first.")
    if level is not None and level != _dual.level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    _dual.tangents = None
    _dual.level = None


def _check_level(level, fn):
    if level is not None and level != _dual.level:
        raise RuntimeError(f"Invalid level given to {fn}: expected {_dual.level}, got {level}")


def make_dual(tensor, tangent, *, level=None):
    """A view of `tensor` whose tangent (forward gradient) is `tangent`, at `level`."""
    from ..tensor import Tensor
    if _dual.level is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    _check_level(level, "make_dual")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual expected tensor to be a Tensor, got {type(tensor).__name__}")
    if not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual expected tangent to be a Tensor, got {type(tangent).__name__}")
    if tensor._impl.dtype not in _dual._FLOAT:
        raise ValueError(f"Expected primal to be floating point or complex, but got: pyengine.{tensor._impl.dtype}")
    if tangent._impl.dtype not in _dual._FLOAT:
        raise ValueError(f"Expected tangent to be floating point or complex, but got: pyengine.{tangent._impl.dtype}")
    shape, tshape = list(tensor._impl.shape), list(tangent._impl.shape)
    if shape != tshape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {shape} while the given forward "
                           f"gradient is of size {tshape}.")
    if tensor._impl.device != tangent._impl.device:
        raise RuntimeError(f"make_dual expected tangent on the primal's device {tensor._impl.device}, but it is on "
                           f"{tangent._impl.device}")
    if _dual.tangent_of(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {_dual.level} is not supported.")
    prev = state.fw_paused
    state.fw_paused = True
    try:
        dual = tensor.view(shape)  # a view: reverse mode flows through it to `tensor`
        if tangent._impl.dtype != tensor._impl.dtype:
            tangent = tangent.to(tensor._impl.dtype)
    finally:
        state.fw_paused = prev
    _dual.set_tangent(dual, tangent)
    return dual


class UnpackedDualTensor(NamedTuple):
    """What unpack_dual returns: the primal (a view of the dual tensor) and its tangent (or None)."""

    primal: object
    tangent: object


def unpack_dual(tensor, *, level=None):
    """(primal, tangent) of `tensor` at `level`; tangent is None when it has none there."""
    if _dual.level is None:
        return UnpackedDualTensor(tensor, None)
    _check_level(level, "unpack_dual")
    tangent = _dual.tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    prev = state.fw_paused
    state.fw_paused = True
    try:
        primal = tensor.view(list(tensor._impl.shape))  # same data, no tangent
    finally:
        state.fw_paused = prev
    return UnpackedDualTensor(primal, tangent)


class dual_level:
    """Context manager (and decorator) for one forward AD level; `with dual_level() as level:`."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)
        return wrapper
