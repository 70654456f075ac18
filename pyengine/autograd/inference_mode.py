"""inference_mode: no_grad for code that will never meet autograd again (PyTorch's semantics).

Inside it gradients are off, and every tensor made is an inference tensor (`is_inference()`).
Outside, such a tensor cannot join autograd: saving it for backward, setting requires_grad on it,
or updating it in place raises PyTorch's RuntimeError; `clone()` gives a normal tensor. A
context manager and a decorator (`@inference_mode`, `@inference_mode()`, `inference_mode(False)`)."""
import functools

from .grad_mode import state


class inference_mode:
    """inference_mode(mode=True): with mode False it is a grad-enabled, non-inference region
    (as PyTorch's: it switches an enclosing inference_mode off)."""

    def __new__(cls, mode=True):
        if callable(mode):  # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        state.enabled = not self.mode
        state.inference = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled():
    """Whether the calling thread is inside inference_mode()."""
    return state.inference
