"""Global grad mode: no_grad / enable_grad / set_grad_enabled (context managers and decorators)."""
import functools
import threading


class _State(threading.local):
    """Grad mode is per thread, as in PyTorch (a loader thread's no_grad must not leak)."""

    def __init__(self):
        self.enabled = True
        self.fw_paused = False  # forward AD off while an op computes its forward or its jvp
        self.inference = False  # inside inference_mode(): new tensors are inference tensors


# One object, read on every op: `state.enabled` is about the cheapest check Python offers.
state = _State()


def is_grad_enabled():
    return state.enabled


class _GradModeContext:
    """Base: a context manager that is also a decorator."""

    _mode = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class _NoParamContext(_GradModeContext):
    """Also usable as a bare decorator: @no_grad as well as @no_grad()."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        return self(orig_func) if callable(orig_func) else self

    def __init__(self, orig_func=None):
        pass


class no_grad(_NoParamContext):
    _mode = False


class enable_grad(_NoParamContext):
    _mode = True


class set_grad_enabled(_GradModeContext):
    """set_grad_enabled(mode): takes effect at once (like PyTorch), and restores on exit."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = state.enabled
        state.enabled = self._mode

    def __enter__(self):
        pass

    def __call__(self, fn):
        state.enabled = self._prev  # used as a decorator: undo the immediate switch
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
