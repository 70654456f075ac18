"""F.pad: constant, reflect, replicate and circular padding of the last dims (PyTorch's pad).

Built from differentiable ops, so autograd (and double backward) come for free: constant
padding concatenates filled blocks (negative amounts crop), the other modes gather along each
padded dim with an index that reflects, clamps or wraps.
"""
from .._ints import INT64_MAX
from ..creation import arange, full, tensor
from ..dtypes import int64
from ..ops.index import index_select
from ..ops.shape import cat
from ..tensor import Tensor
from ..errors import ArgumentError

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(n, before, after, mode, device):
    """Which input position each output position along one dim reads (an int64 tensor).
    Negative amounts crop: reflect and replicate read positions -before .. n + after - 1 of the
    padded line; circular crops first and then wraps within what is left (PyTorch's semantics)."""
    if n + before + after <= 0 and mode != "circular":
        raise RuntimeError(f"pad(): input (size {n}) is too small for padding ({before}, {after}) in {mode} "
                           f"mode. Calculated output size: {n + before + after}")
    if mode == "replicate":
        if n == 0:
            raise ArgumentError("pad(): replicate mode needs a non-empty padded dimension")
        # Any amount of padding is allowed here, so the index is built by arange (its size is
        # checked: a huge padding is an error, not a Python list of 2**64 positions).
        if n + before + after > INT64_MAX:
            raise RuntimeError(f"pad(): padding ({before}, {after}) of a dimension of size {n} gives a size beyond "
                               "int64")
        return arange(-before, n + after, device=device).clamp(0, n - 1)
    return tensor(_bounded_source_index(n, before, after, mode), dtype=int64, device=device)


def _bounded_source_index(n, before, after, mode):
    """reflect / circular: the padding is at most about n on each side."""
    if mode == "reflect":
        if before >= n or after >= n:
            raise ArgumentError(f"pad(): padding ({before}, {after}) must be smaller than the size {n} of the padded "
                                "dimension in reflect mode")
        return [-i if i < 0 else 2 * (n - 1) - i if i >= n else i for i in range(-before, n + after)]
    lo, hi = max(-before, 0), n - max(-after, 0)  # what is left after cropping
    before, after = max(before, 0), max(after, 0)
    kept = hi - lo
    if kept + before + after < 0:
        raise RuntimeError(f"pad(): negative padding crops more than the size {n} of the padded dimension in "
                           f"circular mode")
    if kept + before + after == 0:
        return []
    if before > kept or after > kept:
        raise ArgumentError(f"pad(): padding ({before}, {after}) must be at most the size {kept} of the padded "
                            "dimension (after cropping) in circular mode")
    return [lo + i % kept for i in range(-before, kept + after)]


def _constant_pad_dim(x, dim, before, after, value):
    n = x.shape[dim]
    if before < 0 or after < 0:  # negative padding crops
        x = x.narrow(dim, max(-before, 0), n - max(-before, 0) - max(-after, 0))
        before, after = max(before, 0), max(after, 0)
    parts = []
    for amount in (before, None, after):
        if amount is None:
            parts.append(x)
        elif amount > 0:
            shape = list(x.shape)
            shape[dim] = amount
            parts.append(full(shape, value, dtype=x.dtype, device=x.device))
    return cat(parts, dim) if len(parts) > 1 else x


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad)//2 dims: pad = (last_before, last_after, second_last_before, ...)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' must be a Tensor, not {type(input).__name__}")
    pad = tuple(pad)
    if len(pad) % 2 != 0:
        raise ArgumentError(f"pad(): padding length must be divisible by 2, got {len(pad)} values {pad}")
    if len(pad) // 2 > input.ndim:
        raise ArgumentError(f"pad(): padding length {len(pad)} is too large for a {input.ndim}-D input")
    if mode not in _MODES:
        raise NotImplementedError(f"pad(): mode must be one of {_MODES}, got {mode!r}")
    if mode != "constant" and value not in (None, 0):
        raise ArgumentError(f"pad(): padding mode {mode!r} doesn't take in a value argument")
    k = len(pad) // 2
    if mode != "constant" and (input.ndim not in (k + 1, k + 2) or k > 3):
        # PyTorch's non-constant modes pad 1 to 3 spatial dims of a (N,) C, *spatial input only.
        raise NotImplementedError(f"pad(): padding size {len(pad)} is not supported for {input.ndim}D input tensor "
                                  f"in {mode} mode (it pads the last 1-3 dims of a batched or unbatched (C, ...) input)")
    if mode in ("reflect", "replicate"):
        # PyTorch's reflect/replicate kernels take an (N,) C, *spatial input with N possibly 0
        # and every other dim non-empty; it refuses the rest even where no padding is asked.
        first = input.ndim - k - 1
        if any(n == 0 for n in input.shape[first:]):
            raise RuntimeError(f"pad(): expected a {k + 1}-D or {k + 2}-D (batch mode) input with possibly 0 batch "
                               f"size and other non-zero dimensions in {mode} mode, got shape {tuple(input.shape)}")
    out = input
    for i in range(len(pad) // 2):
        dim = input.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        if before == 0 and after == 0:
            continue
        if mode == "constant":
            out = _constant_pad_dim(out, dim, before, after, 0 if value is None else value)
        else:
            out = index_select(out, dim, _source_index(out.shape[dim], before, after, mode, out.device))
    return out
