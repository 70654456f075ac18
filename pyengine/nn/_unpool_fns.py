"""max_unpool1d/2d/3d: the partial inverse of max pooling, with PyTorch's API.

Each (N, C) plane of the output is zeros with the pooled values written at the flat positions
max_pool*(return_indices=True) gave. That is exactly scatter along the flattened spatial dims, so
the op reuses pe.scatter (its backward w.r.t. the values is a gather at the same indices, and the
gather's backward is this scatter again), no new kernel.
"""
from ..creation import zeros
from ..errors import ArgumentError
from ..ops.index import scatter
from ..tensor import Tensor
from ._conv_fns import _tuple


def _output_size(x, kernel, stride, padding, output_size, fn):
    """PyTorch's _unpool_output_size: (in - 1) * stride + kernel - 2 * padding per spatial dim,
    or output_size (n or n + 2 entries) if it lies strictly within one stride of that."""
    n = len(kernel)
    default = [(x.shape[x.ndim - n + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(n)]
    if output_size is None:
        size = default
    else:
        size = [int(s) for s in output_size]
        if len(size) == n + 2:
            size = size[2:]
        if len(size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has "
                             f"a length of '{len(size)}'")
        for d in range(n):
            lo, hi = default[d] - stride[d], default[d] + stride[d]
            if not lo < size[d] < hi:
                raise ValueError(f'invalid output_size "{size}" (dim {d} must be between {lo} and {hi})')
    for d in range(n):
        if size[d] < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={size[d]}")
    return size


def _max_unpool(x, indices, kernel_size, stride, padding, output_size, n, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    if not isinstance(indices, Tensor):
        raise TypeError(f"{fn}(): argument 'indices' must be a Tensor, not {type(indices).__name__}")
    if indices.dtype.name != "int64":
        raise RuntimeError(f"{fn}(): expected 'indices' to be an int64 tensor, got {indices.dtype}")
    if x.ndim not in (n + 1, n + 2):
        raise ArgumentError(f"{fn}(): expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got shape "
                            f"{tuple(x.shape)}")
    if tuple(indices.shape) != tuple(x.shape):
        raise ArgumentError(f"{fn}(): expected 'indices' to have the input's shape {tuple(x.shape)}, got "
                            f"{tuple(indices.shape)}")
    kernel = _tuple(kernel_size, n, "kernel_size", fn)
    stride = kernel if stride is None else _tuple(stride, n, "stride", fn)
    padding = _tuple(padding, n, "padding", fn)
    size = _output_size(x, kernel, stride, padding, output_size, fn)
    plane = 1
    for s in size:
        plane *= s
    lead = tuple(x.shape[:x.ndim - n])
    flat_idx = indices.reshape(*lead, -1)
    if flat_idx.numel() and (int(flat_idx.min()) < 0 or int(flat_idx.max()) >= plane):
        bad = int(flat_idx.min()) if int(flat_idx.min()) < 0 else int(flat_idx.max())
        raise ArgumentError(f"{fn}(): found an invalid max index {bad} (output volumes are of size "
                            f"{'x'.join(map(str, size))})")
    out = zeros(*lead, plane, dtype=x.dtype, device=x.device)
    return scatter(out, -1, flat_idx, x.reshape(*lead, -1)).reshape(*lead, *size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d: (N, C, H, W) or (C, H, W) values placed at `indices`
    (h * W_out + w in each output plane), zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d over (N, C, L) or (C, L)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool3d over (N, C, D, H, W) or (C, D, H, W)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")
