"""MaxUnpool1d/2d/3d layers with PyTorch's constructor arguments, attributes and reprs."""
from . import _unpool_fns as U
from .module import Module


def _ntuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _MaxUnpoolNd(Module):
    _dims = 2
    _fn = staticmethod(U.max_unpool2d)

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        n = self._dims
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride if stride is not None else kernel_size, n)
        self.padding = _ntuple(padding, n)

    def forward(self, input, indices, output_size=None):
        return self._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d: each value goes back to the position its index names, zeros
    elsewhere (kernel_size, stride, padding; forward(input, indices, output_size=None))."""
    _dims = 1
    _fn = staticmethod(U.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d: each value goes back to the position its index (from
    return_indices=True) names, zeros elsewhere; forward(input, indices, output_size=None)."""


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of MaxPool3d: each value goes back to the position its index names, zeros
    elsewhere (kernel_size, stride, padding; forward(input, indices, output_size=None))."""
    _dims = 3
    _fn = staticmethod(U.max_unpool3d)
