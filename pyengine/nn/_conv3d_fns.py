"""F.conv3d composed from the 2-D convolution kernels (no 3-D kernel of its own).

A 3-D cross-correlation is a sum over the kernel's depth taps of 2-D ones:
    out[:, :, d] = sum_kd conv2d(x[:, :, d * sD + kd * dD], w[:, :, kd])
For each tap kd the input depths it reads, x[:, :, kd*dD :: sD] (Dout of them), are folded into the
batch, so a 3-D convolution is kD calls of Conv2dFn on (N * Dout, C, H, W): forward, backward and
double backward all run through the existing conv2d kernels. Depth padding is an explicit zero pad
(F.pad), height/width padding goes to conv2d (asymmetric for padding='same', PyTorch's rule).
"""
from ..amp import cast_for_product
from .._ints import int64
from ..errors import ArgumentError
from ..tensor import Tensor
from ._conv_fns import Conv2dFn, _check_input, _resolve_padding, _tuple
from ._half import computes_in_float32
from ._pad_fns import pad


def _conv3d(input, weight, bias, stride, padding, dilation, groups):
    fn = "conv3d"
    batched = _check_input(input, weight, fn, 5)
    groups = int64(groups, fn, "groups")
    if groups <= 0:
        raise ArgumentError(f"{fn}(): non-positive groups is not supported, got groups={groups}")
    stride = _tuple(stride, 3, "stride", fn)
    dilation = _tuple(dilation, 3, "dilation", fn)
    if any(s <= 0 for s in stride):
        raise ArgumentError(f"{fn}(): non-positive stride is not supported, got stride={tuple(stride)}")
    if any(d <= 0 for d in dilation):
        raise ArgumentError(f"{fn}(): dilation should be greater than zero, got dilation={tuple(dilation)}")
    kernel = tuple(weight.shape[2:])
    pads = _resolve_padding(padding, kernel, stride, dilation, fn)
    if len(pads) == 3:  # symmetric ints -> (lo, hi) per dim
        if any(p < 0 for p in pads):
            raise ArgumentError(f"{fn}(): negative padding is not supported, got padding={tuple(pads)}")
        pads = [p for p in pads for _ in range(2)]
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[0], x.shape[1]
    k_out, c_per_group = weight.shape[0], weight.shape[1]
    if c != c_per_group * groups:
        raise ArgumentError(f"{fn}(): given groups={groups}, weight of size {list(weight.shape)}, expected input"
                            f"{list(input.shape)} to have {c_per_group * groups} channels, but got {c} channels "
                            f"instead")
    if k_out % groups != 0:
        raise ArgumentError(f"{fn}(): expected weight's dim 0 ({k_out}) to be divisible by groups ({groups})")
    if bias is not None and tuple(bias.shape) != (k_out,):
        raise ArgumentError(f"{fn}(): expected bias of shape ({k_out},) (the weight's out_channels), got "
                            f"{tuple(bias.shape)}")
    padded = [x.shape[2 + i] + pads[2 * i] + pads[2 * i + 1] for i in range(3)]
    span = [dilation[i] * (kernel[i] - 1) + 1 for i in range(3)]
    if any(p < s for p, s in zip(padded, span)):
        raise ArgumentError(f"{fn}(): calculated padded input size per channel: {tuple(padded)}. Kernel size: "
                            f"{tuple(span)} (dilated). Kernel size can't be greater than actual input size "
                            f"(input {tuple(input.shape)}, weight {tuple(weight.shape)})")
    if pads[0] or pads[1]:
        x = pad(x, [0, 0, 0, 0, pads[0], pads[1]])
    d_out = (padded[0] - span[0]) // stride[0] + 1
    hw_pad = pads[2:]  # (top, bottom, left, right): conv2d's asymmetric form
    out = None
    for kd in range(kernel[0]):
        start = kd * dilation[0]
        taps = x[:, :, start:start + (d_out - 1) * stride[0] + 1:stride[0]]       # (N, C, Dout, H, W)
        planes = taps.transpose(1, 2).reshape(n * d_out, c, *taps.shape[3:])
        y = Conv2dFn.apply(planes, weight[:, :, kd], bias if kd == 0 else None, stride[1:], hw_pad,
                           dilation[1:], groups)
        out = y if out is None else out + y
    out = out.reshape(n, d_out, *out.shape[1:]).transpose(1, 2)
    return out if batched else out.squeeze(0)


_conv3d_float32 = computes_in_float32(_conv3d)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation. input (N, C, D, H, W) or (C, D, H, W); weight (K, C/groups, kD, kH, kW);
    padding an int, a 3-tuple, 'valid' or 'same'. float16/bfloat16 (and autocast) compute in float32."""
    input, weight, bias = cast_for_product(input, weight, bias)
    if isinstance(input, Tensor) and isinstance(weight, Tensor) and input.dtype != weight.dtype:
        # refused before any float32 conversion, in the words of the conv2d kernel's own check
        raise TypeError(f"conv3d: input dtype {input.dtype.name} and weight dtype {weight.dtype.name} differ")
    return _conv3d_float32(input, weight, bias, stride, padding, dilation, groups)
