"""dtype and device objects: the Python names for what _C calls "float32", "cpu", ..."""
import numpy as np


class dtype:
    """A tensor element type (`pyengine.float32`, ...). `_C` names it by `name`."""

    __slots__ = ("name", "itemsize", "is_floating_point", "is_signed")

    def __init__(self, name, itemsize, is_floating_point, is_signed=True):
        self.name = name
        self.itemsize = itemsize
        self.is_floating_point = is_floating_point
        self.is_signed = is_signed

    @property
    def is_complex(self):
        return False

    def to_real(self):
        return self

    def to_complex(self):
        raise RuntimeError(f"pyengine has no complex dtypes (asked for the complex counterpart of {self})")

    def __repr__(self):
        return "pyengine." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", 1, False, is_signed=False)
uint8 = dtype("uint8", 1, False, is_signed=False)
int8 = dtype("int8", 1, False)
int16 = dtype("int16", 2, False)
int32 = dtype("int32", 4, False)
int64 = dtype("int64", 8, False)
float16 = dtype("float16", 2, True)
bfloat16 = dtype("bfloat16", 2, True)
float32 = dtype("float32", 4, True)
float64 = dtype("float64", 8, True)

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NAME = {d.name: d for d in ALL_DTYPES}
# PyTorch's other names for them (torch.half, torch.int, ...).
_ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32, "short": int16,
            "bool_": bool_}
# The names of the floating dtypes (the only ones that can require gradients).
FLOATING_NAMES = frozenset(d.name for d in ALL_DTYPES if d.is_floating_point)
# NumPy (kind, itemsize) -> dtype name; bfloat16 has no NumPy type.
_FROM_NUMPY = {"b1": "bool", "u1": "uint8", "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
               "f2": "float16", "f4": "float32", "f8": "float64"}
_EXPECTED = "bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32 or float64"

_default_dtype = [float32]


def _by_name(name):
    return _BY_NAME[name]


def get_default_dtype():
    return _default_dtype[0]


def set_default_dtype(d):
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_dtype[0] = d


def to_dtype(d):
    """Accept a pyengine dtype, a name, a Python type or a NumPy dtype; return a pyengine dtype."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, str):
        found = _BY_NAME.get(d) or _ALIASES.get(d)
        if found is None:
            raise TypeError(f"unknown dtype '{d}': expected one of {_EXPECTED}")
        return found
    if d is float:
        return float64  # PyTorch maps the Python type float to float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    try:
        npd = np.dtype(d)
    except TypeError:
        raise TypeError(f"expected a dtype such as pyengine.float32, got {d!r}") from None
    name = _FROM_NUMPY.get(npd.kind + str(npd.itemsize))
    if name is None:
        raise TypeError(f"unsupported dtype {npd}: expected {_EXPECTED}")
    return _BY_NAME[name]


class device:
    """Where a tensor lives: device('cpu'), device('cuda'), device('cuda', 1), device('cuda:1')."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, str) and ":" in type:
            type, _, idx = type.partition(":")
            try:
                index = int(idx)
            except ValueError:
                raise ValueError(f"invalid device string 'cuda:{idx}': expected 'cuda:N'") from None
        if type not in ("cpu", "cuda"):
            raise ValueError(f"unknown device type '{type}': expected 'cpu' or 'cuda'")
        if type == "cuda" and index is None:
            index = 0
        self.type = type
        self.index = index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))


_CPU = device("cpu")
_devices = {"cpu": _CPU}


def to_device(d):
    """The device object for `d` (str, int or device); cached so tensor.device is cheap."""
    if d is None:
        return _CPU
    if isinstance(d, device):
        return d
    if isinstance(d, int):
        d = f"cuda:{d}"
    found = _devices.get(d)
    if found is None:
        found = _devices[d] = device(d)
    return found


def device_name(d):
    """The string _C wants ('cpu' or 'cuda:N')."""
    return str(to_device(d))
