"""Automatic mixed precision: `pe.autocast("cpu", dtype=pe.bfloat16)` runs the matrix products
(linear, matmul, mm, bmm, the convolutions) in the lower-precision dtype, with float32
accumulation inside the kernels (bfloat16 products on the CPU's dot-product instruction where
it has one), and the losses in float32 whatever their inputs' dtype (PyTorch's "float32" list:
cross entropy, NLL, MSE, L1, ...), while everything else keeps its inputs' dtype - so softmax and
norms see float32 wherever the model's parameters are float32, as in PyTorch's autocast."""
import functools
import threading

from .dtypes import to_dtype

_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}
_state = threading.local()  # per thread, as in PyTorch: one thread's autocast leaves others alone


def _settings():
    if not hasattr(_state, "by_device"):
        _state.by_device = {"cpu": (False, "bfloat16"), "cuda": (False, "float16")}
    return _state.by_device


def is_autocast_enabled(device_type="cuda"):
    return _settings()[_device_type(device_type)][0]


def get_autocast_dtype(device_type):
    from .dtypes import _BY_NAME
    return _BY_NAME[_settings()[_device_type(device_type)][1]]


def _device_type(device_type):
    if device_type not in _DEFAULT_DTYPE:
        raise ValueError(f"autocast: device_type must be 'cpu' or 'cuda', got {device_type!r}")
    return device_type


class autocast:
    """Context manager (and decorator) enabling autocast for `device_type` ('cpu' or 'cuda').

    dtype: the lower precision (default bfloat16 on the CPU, float16 on CUDA); enabled=False
    turns autocast off inside the block; cache_enabled is accepted for PyTorch compatibility."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        self.device_type = _device_type(device_type)
        self.dtype = to_dtype(dtype if dtype is not None else _DEFAULT_DTYPE[device_type])
        if self.dtype.name not in ("float16", "bfloat16", "float32"):
            raise ValueError(f"autocast: dtype must be float16, bfloat16 (or float32), got {self.dtype}")
        self.enabled = bool(enabled)
        self._saved = []

    def __enter__(self):
        settings = _settings()
        self._saved.append(settings[self.device_type])
        settings[self.device_type] = (self.enabled, self.dtype.name)
        return self

    def __exit__(self, *exc):
        _settings()[self.device_type] = self._saved.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with autocast(self.device_type, self.dtype, self.enabled):
                return fn(*args, **kwargs)
        return wrapped


def cast_for_product(*tensors):
    """The operands of a matrix product under autocast: floating tensors on an autocast-enabled
    device converted to its dtype (None stays None); unchanged when autocast is off."""
    settings = getattr(_state, "by_device", None)
    if settings is None:
        return tensors
    from .tensor import Tensor
    out = []
    for t in tensors:
        if isinstance(t, Tensor) and t.is_floating_point():  # anything else is the op's to refuse
            enabled, dtype = settings[t.device.type]
            if enabled and t.dtype.name != dtype:
                t = t.to(dtype)
        out.append(t)
    return tuple(out)


def losses_in_float32(fn):
    """Decorate a loss: under autocast on its input's device, float16/bfloat16 tensor arguments
    are converted to float32 first, so the loss (and its gradient's first step) is float32, as
    in PyTorch's autocast."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        settings = getattr(_state, "by_device", None)
        if settings is None:
            return fn(*args, **kwargs)
        from .tensor import Tensor

        def up(t):
            if isinstance(t, Tensor) and t.dtype.name in ("float16", "bfloat16") and settings[t.device.type][0]:
                return t.float()
            return t
        return fn(*(up(a) for a in args), **{k: up(v) for k, v in kwargs.items()})
    return wrapped
