"""Padding layers (PyTorch's ZeroPad2d, ConstantPadNd, ReflectionPadNd, ReplicationPadNd,
CircularPadNd): a padding amount per side of the last N dims, applied with F.pad."""
from ._pad_fns import pad
from .module import Module


class _PadNd(Module):
    _dims = 2
    _mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        n = 2 * self._dims
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = (padding,) * n
        padding = tuple(padding)
        if len(padding) != n:
            raise ValueError(f"{type(self).__name__}: expected padding to be an int or a tuple of {n} ints, "
                             f"got {padding}")
        self.padding = padding
        self.value = value

    def forward(self, input):
        if self._mode == "constant":
            return pad(input, self.padding, "constant", self.value)
        return pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}" if self._mode == "constant" else f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pads the last dim with a constant value."""

    _dims = 1
    _mode = "constant"


class ConstantPad2d(_PadNd):
    """Pads the last 2 dims with a constant value."""

    _dims = 2
    _mode = "constant"


class ConstantPad3d(_PadNd):
    """Pads the last 3 dims with a constant value."""

    _dims = 3
    _mode = "constant"


class ReflectionPad1d(_PadNd):
    """Pads the last dim with its reflection (edge not repeated)."""

    _dims = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pads the last 2 dims with their reflection (edges not repeated)."""

    _dims = 2
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pads the last dim by repeating its edge values."""

    _dims = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pads the last 2 dims by repeating their edge values."""

    _dims = 2
    _mode = "replicate"


class CircularPad1d(_PadNd):
    """Pads the last dim by wrapping it around."""

    _dims = 1
    _mode = "circular"


class CircularPad2d(_PadNd):
    """Pads the last 2 dims by wrapping them around."""

    _dims = 2
    _mode = "circular"


class ZeroPad2d(ConstantPad2d):
    """Pads the last 2 dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"
