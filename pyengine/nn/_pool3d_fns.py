"""max_pool3d / avg_pool3d composed from the 2-D pooling kernels (no 3-D kernel of their own).

A 3-D window is kD depth taps of a 2-D window. For each tap kd the input depths it reads,
x[:, :, kd*dD :: sD] (Dout of them, after padding the depth), are folded into the channels and
pooled by max_pool2d / avg_pool2d; the kD results are then reduced over the taps:
  max: max over taps (pe.max(dim) keeps the first maximum, so ties resolve in PyTorch's d, h, w
       scan order); the 3-D index is d_in * H * W + the 2-D index of the winning tap;
  avg: the 2-D window sums (divisor_override=1) summed over taps, divided by PyTorch's divisor,
       which is a product of per-dim counts (padding counted or not), computed here on the host.
Gradients (and double backward) come from the 2-D pool Functions, pad, slicing, stack and max.
"""
import math

import numpy as np

from .._ints import int64
from ..creation import arange, tensor
from ..errors import ArgumentError
from ..ops.index import gather
from ..ops.shape import stack
from ..tensor import Tensor
from ._conv_fns import _tuple
from ._half import computes_in_float32
from ._pad_fns import pad
from ._pool_fns import avg_pool2d, max_pool2d


def _out_size(size, k, s, p, dil, ceil_mode):
    """PyTorch's pooling_output_shape: a last window that would start in the right padding is dropped."""
    out = (size + 2 * p - dil * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, fn):
    """Checked (kernel, stride, padding, dilation, output spatial size), PyTorch's rules and errors."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    if x.ndim not in (4, 5):
        raise ArgumentError(f"{fn}(): expected a 4-D (unbatched) or 5-D (batched) input, got shape {tuple(x.shape)}")
    kernel = _tuple(kernel_size, 3, "kernel_size", fn)
    stride = kernel if stride is None else _tuple(stride, 3, "stride", fn)
    padding = _tuple(padding, 3, "padding", fn)
    dilation = _tuple(dilation, 3, "dilation", fn)
    if min(kernel) <= 0 or min(stride) <= 0 or min(dilation) <= 0:
        raise ArgumentError(f"{fn}(): kernel_size, stride and dilation must be greater than zero, got kernel_size="
                            f"{tuple(kernel)}, stride={tuple(stride)}, dilation={tuple(dilation)}")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise ArgumentError(f"{fn}(): pad should be at most half of effective kernel size, but got "
                                f"padding={tuple(padding)}, kernel_size={tuple(kernel)} and dilation={tuple(dilation)}")
    spatial = tuple(x.shape[-3:])
    out = [_out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)]
    if min(out) <= 0:
        raise ArgumentError(f"{fn}(): given input shape {tuple(x.shape)}, the calculated output size "
                            f"{tuple(out)} is too small (kernel_size={tuple(kernel)}, padding={tuple(padding)})")
    return kernel, stride, padding, dilation, out


def _depth_taps(x, k, s, p, dil, d_out, fill):
    """For each depth tap kd, the (N, C*Dout, H, W) planes it reads; the depth padded with `fill`
    (also at the end, for the ceil_mode windows that run past the input)."""
    d_in = x.shape[2]
    tail = max(0, (d_out - 1) * s + dil * (k - 1) + 1 - (d_in + 2 * p))
    if p or tail:
        x = pad(x, [0, 0, 0, 0, p, p + tail], value=fill)
    n, c, h, w = x.shape[0], x.shape[1], x.shape[3], x.shape[4]
    for kd in range(k):
        start = kd * dil
        yield kd, x[:, :, start:start + (d_out - 1) * s + 1:s].reshape(n, c * d_out, h, w)


@computes_in_float32
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kernel_size windows of (N, C, D, H, W) or (C, D, H, W). stride defaults to
    kernel_size; indices (return_indices=True) are d * H * W + h * W + w within each volume."""
    fn = "max_pool3d"
    kernel, stride, padding, dilation, out = _geometry(input, kernel_size, stride, padding, dilation, ceil_mode, fn)
    batched = input.ndim == 5
    x = input if batched else input.unsqueeze(0)
    n, c, d, h, w = x.shape
    values, indices = [], []
    for _, planes in _depth_taps(x, kernel[0], stride[0], padding[0], dilation[0], out[0], -math.inf):
        r = max_pool2d(planes, kernel[1:], stride[1:], padding[1:], dilation[1:], ceil_mode, return_indices)
        v, i = r if return_indices else (r, None)
        values.append(v.reshape(n, c, *out))
        indices.append(None if i is None else i.reshape(n, c, *out))
    result, tap = stack(values).max(0)
    if not return_indices:
        return result if batched else result.squeeze(0)
    depth = (arange(out[0], device=result.device) * stride[0] - padding[0]).reshape(out[0], 1, 1) + tap * dilation[0]
    idx = depth * (h * w) + gather(stack(indices), 0, tap.unsqueeze(0)).squeeze(0)
    return (result, idx) if batched else (result.squeeze(0), idx.squeeze(0))


def _divisors(size, k, s, p, out, count_include_pad):
    """PyTorch's avg-pool divisor along one dim: the window clipped to the padded input (padding
    counted) or to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


@computes_in_float32
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kernel_size windows of (N, C, D, H, W) or (C, D, H, W); the divisor counts padding
    when count_include_pad (PyTorch's rule), or is divisor_override when given."""
    fn = "avg_pool3d"
    if divisor_override is not None:
        if isinstance(divisor_override, bool):
            raise TypeError(f"{fn}(): argument 'divisor_override' must be int, not bool")
        divisor_override = int64(divisor_override, fn, "divisor_override")
        if divisor_override == 0:
            raise ArgumentError(f"{fn}(): divisor must be not zero, got divisor_override=0")
    kernel, stride, padding, _, out = _geometry(input, kernel_size, stride, padding, 1, ceil_mode, fn)
    batched = input.ndim == 5
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[0], x.shape[1]
    total = None
    for _, planes in _depth_taps(x, kernel[0], stride[0], padding[0], 1, out[0], 0.0):
        s = avg_pool2d(planes, kernel[1:], stride[1:], padding[1:], ceil_mode, True, 1).reshape(n, c, *out)
        total = s if total is None else total + s
    if divisor_override is not None:
        result = total / divisor_override
    else:
        dims = [_divisors(size, k, st, p, o, count_include_pad)
                for size, k, st, p, o in zip(x.shape[2:], kernel, stride, padding, out)]
        div = dims[0][:, None, None] * dims[1][None, :, None] * dims[2][None, None, :]
        result = total / tensor(div, dtype=total.dtype, device=total.device)
    return result if batched else result.squeeze(0)
