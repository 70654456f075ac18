"""dtype and device objects: the Python names for what _C calls "float32", "cpu", ..."""
import numpy as np
from .errors import ArgumentError


class dtype:
    """A tensor element type (`pyengine.float32`, ...). `_C` names it by `name`."""

    __slots__ = ("name", "itemsize", "is_floating_point", "is_signed", "_category")

    def __init__(self, name, itemsize, is_floating_point, category):
        self.name = name
        self.itemsize = itemsize
        self.is_floating_point = is_floating_point
        self.is_signed = name != "bool"
        self._category = category  # bool < integer < floating, for type promotion

    def __repr__(self):
        return "pyengine." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))


float32 = dtype("float32", 4, True, 2)
float64 = dtype("float64", 8, True, 2)
int64 = dtype("int64", 8, False, 1)
bool_ = dtype("bool", 1, False, 0)

_BY_NAME = {d.name: d for d in (float32, float64, int64, bool_)}
_ALIASES = {"float": float32, "double": float64, "long": int64, "bool_": bool_}

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
            raise TypeError(f"unknown dtype '{d}': expected one of float32, float64, int64, bool")
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
    name = {"f4": "float32", "f8": "float64", "i8": "int64", "b1": "bool"}.get(npd.kind + str(npd.itemsize))
    if name is None:
        raise TypeError(f"unsupported dtype {npd}: expected float32, float64, int64 or bool")
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
                raise ArgumentError(f"invalid device string 'cuda:{idx}': expected 'cuda:N'") from None
        if type not in ("cpu", "cuda"):
            raise ArgumentError(f"unknown device type '{type}': expected 'cpu' or 'cuda'")
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
