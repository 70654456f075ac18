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
    _dims = 1
    _fn = staticmethod(U.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    pass


class MaxUnpool3d(_MaxUnpoolNd):
    _dims = 3
    _fn = staticmethod(U.max_unpool3d)
