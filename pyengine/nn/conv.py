"""Convolution layers with PyTorch's constructor arguments, weight layouts, init and repr.

Conv weights are (out_channels, in_channels/groups, *kernel); transposed-conv weights are
(in_channels, out_channels/groups, *kernel), so state dicts carry over from PyTorch.
"""
import math

from ..creation import empty
from . import init
from ._conv3d_fns import conv3d
from ._conv_fns import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ._pad_fns import pad
from .module import Module
from .lazy import LazyModuleMixin
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n, name):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f"expected {name} to be an int or a tuple of {n} ints, got {value}")
    return value


class _ConvNd(Module):
    """What Conv1d/Conv2d/ConvTranspose*d share: argument checks, parameters, init, repr."""

    _dims = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding, groups,
                 bias, padding_mode, device, dtype):
        super().__init__()
        n = self._dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode='{padding_mode}'")
        if padding_mode != "zeros" and self._transposed:
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of ('valid', 'same')")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        self.padding_mode = padding_mode
        # F.pad's amounts for the non-zeros modes, last dim first (PyTorch's attribute name).
        if self.padding == "same":
            pads = []
            for k, d in zip(reversed(self.kernel_size), reversed(self.dilation)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            self._reversed_padding_repeated_twice = pads
        elif self.padding == "valid":
            self._reversed_padding_repeated_twice = [0, 0] * n
        else:
            self._reversed_padding_repeated_twice = [p for p in reversed(self.padding) for _ in range(2)]
        if not isinstance(self, LazyModuleMixin):  # lazy layers create theirs at the first call
            self.weight = Parameter(empty(*self._weight_shape(), dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

    def _weight_shape(self):
        if self._transposed:
            return (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def reset_parameters(self):
        # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias uses the same bound.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        n = len(self.kernel_size)
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _convolve(self, conv, input):
        """conv(input, ...) with this layer's arguments; a non-zero padding_mode pads first."""
        if self.padding_mode != "zeros":
            input = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) inputs; weight (out_channels, in_channels/groups, k)."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input):
        return self._convolve(conv1d, input)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) inputs; weight (out_channels, in_channels/groups, kH, kW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input):
        return self._convolve(conv2d, input)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                 dilation, padding_mode, device, dtype):
        if isinstance(padding, str):
            raise ValueError(f"padding must be an int or a tuple for {type(self).__name__}, got '{padding}'")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding, groups,
                         bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """PyTorch's rule: output_size (the last dims, optionally with N and C) picks the
        output_padding that makes the output that size."""
        if output_size is None:
            return self.output_padding
        n = len(self.kernel_size)
        size = list(output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"output_size must have {n} or {n + 2} elements (got {len(output_size)})")
        pads = []
        for d in range(n):
            dim = input.shape[input.ndim - n + d]
            smallest = ((dim - 1) * self.stride[d] - 2 * self.padding[d] + self.dilation[d] * (self.kernel_size[d] - 1)
                        + 1)
            largest = smallest + max(self.stride[d], self.dilation[d]) - 1
            if not smallest <= size[d] <= largest:
                raise ValueError(f"requested an output size of {tuple(size)}, but valid sizes along dim {d} range "
                                 f"from {smallest} to {largest} (for an input of {tuple(input.shape[-n:])})")
            pads.append(size[d] - smallest)
        return tuple(pads)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution; weight (in_channels, out_channels/groups, k)."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        return conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution; weight (in_channels, out_channels/groups, kH, kW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation)


class LazyConv2d(LazyModuleMixin, Conv2d):
    """A Conv2d whose in_channels is read from the first input (dim -3); it then becomes a
    Conv2d, like LazyLinear becomes a Linear."""

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device,
                         dtype)
        self._init_lazy(bias, dtype, device)

    def initialize_parameters(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"LazyConv2d: expected a 3-D (unbatched) or 4-D (batched) input, got shape "
                             f"{tuple(input.shape)}")
        self.in_channels = input.shape[-3]
        if self.in_channels % self.groups != 0:
            raise ValueError(f"in_channels ({self.in_channels}) must be divisible by groups ({self.groups})")
        self._materialize(input, self._weight_shape(), (self.out_channels,))


class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W) inputs; weight (out_channels, in_channels/groups, kD, kH, kW).
    It runs the 2-D kernels, one call per depth tap (see _conv3d_fns.py)."""

    _dims = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input):
        return self._convolve(conv3d, input)
