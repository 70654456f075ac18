"""Upsampling for decoders: F.interpolate (nearest on 3-D/4-D inputs, linear on 3-D, bilinear on
4-D, with PyTorch's argument rules and index arithmetic) and pixel_shuffle / pixel_unshuffle.

Interpolation is a linear map of its input once the sizes are fixed, so two Functions cover it:
the forward y = A x (the _C upsample kernel) and its adjoint dL/dx = A^T dL/dy (the _C backward
kernel, a deterministic gather). Each one's backward is the other, so gradients stay
differentiable under create_graph. Pixel (un)shuffle is a reshape / permute / reshape.
"""
import math
import numbers

from .. import _C
from .._ints import int64
from ..ops._util import Op, linear_jvp
from ..tensor import Tensor
from ._half import computes_in_float32

_TORCH_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area", "nearest-exact")


class UpsampleFn(Op):
    """y = upsample(x). `spec` = (mode, output_size, scales, align_corners) as _C takes them."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x, spec):
        y = _C.upsample(x._impl, *spec)
        if ctx is not None:
            mode, _, scales, align = spec
            ctx.args = (tuple(x._impl.shape), mode, list(y.shape[2:]), scales, align)
        return y

    @staticmethod
    def backward(ctx, g):
        return UpsampleAdjointFn.apply(g, ctx.args), None


class UpsampleAdjointFn(Op):
    """dL/dx = upsample^T(dL/dy). `args` = (input_shape, mode, output_size, scales, align_corners)."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, g, args):
        if ctx is not None:
            ctx.args = args
        return _C.upsample_backward(g._impl, *args)

    @staticmethod
    def backward(ctx, gg):
        _, mode, size, scales, align = ctx.args
        # The forward again, with the same arithmetic: scales when it had them, else the size.
        return UpsampleFn.apply(gg, (mode, [] if scales else size, scales, align)), None


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


@computes_in_float32
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """PyTorch's F.interpolate for mode 'nearest' (3-D, 4-D), 'linear' (3-D), 'bilinear' (4-D)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got input with spatial "
                    f"dimensions of {spatial} and output size of {size}. Please provide input tensor in "
                    "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
            if not all(_is_int(s) for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                                f"Tuple[int, int, int], but got size with types {[type(s) for s in size]}")
            output_size = [int64(s, "interpolate", "size") for s in size]
        elif _is_int(size):
            output_size = [int64(size, "interpolate", "size")] * max(dim, 0)
        else:
            raise TypeError(f"interpolate(): size must be an int or a tuple of ints, got {type(size).__name__}")
    elif scale_factor is not None:
        output_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {spatial} and scale_factor of shape {scale_factor}. Please provide "
                    "input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        elif isinstance(scale_factor, numbers.Real) and not isinstance(scale_factor, bool):
            scales = [float(scale_factor)] * max(dim, 0)
        else:
            raise TypeError("interpolate(): scale_factor must be a float or a tuple of floats, "
                            f"got {type(scale_factor).__name__}")
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor:
        # The size from the factor, then the index arithmetic from the integer sizes (PyTorch).
        output_size = [_recomputed_size(n, s) for n, s in zip(spatial, scales)]
        scales = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires "
                         "a 4-D tensor as input")
    ours = {(3, "nearest"): "nearest", (4, "nearest"): "nearest", (3, "linear"): "linear", (4, "bilinear"): "linear"}
    kernel_mode = ours.get((input.ndim, mode))
    if kernel_mode is None:
        _unsupported(input.ndim, mode)
    if antialias:
        raise NotImplementedError("interpolate(): antialias=True is not supported by pyengine")
    spec = (kernel_mode, output_size or [], scales or [], bool(align_corners))
    return UpsampleFn.apply(input, spec)


def _recomputed_size(n, s):
    v = n * s
    if not math.isfinite(v):
        raise RuntimeError(f"interpolate(): the output size {n} * scale_factor {s} is not finite")
    return int64(math.floor(v), "interpolate", "the output size from scale_factor")


def _unsupported(ndim, mode):
    needs = {"linear": 3, "bilinear": 4, "trilinear": 5}
    if mode in needs and ndim in (3, 4, 5) and ndim != needs[mode]:
        raise NotImplementedError(f"Got {ndim}D input, but {mode} mode needs {needs[mode]}D input")
    if mode in _TORCH_MODES and ndim in (3, 4, 5):
        raise NotImplementedError(f"interpolate(): mode '{mode}' on a {ndim}-D input is not supported by pyengine "
                                  "(supported: nearest on 3-D and 4-D inputs, linear on 3-D, bilinear on 4-D)")
    raise NotImplementedError(
        f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) for the modes: nearest | linear | "
        f"bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got {mode})")


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------- pixel shuffle
def _shuffle_input(input, factor, name, what):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if not _is_int(factor):
        raise TypeError(f"{name}(): argument '{what}' must be int, not {type(factor).__name__}")
    if input.ndim < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{name} expects {what} to be greater than 0, but got: {factor}")
    return tuple(input.shape[:-3]), input.shape[-3:]


def pixel_shuffle(input, upscale_factor):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r)."""
    lead, (c, h, w) = _shuffle_input(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    r = upscale_factor
    if c % (r * r) != 0:
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    oc, n = c // (r * r), len(lead)
    x = input.reshape(*lead, oc, r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, oc, h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W)."""
    lead, (c, h, w) = _shuffle_input(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    r = downscale_factor
    if h % r != 0:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)={h}"
                           f" is not divisible by {r}")
    if w % r != 0:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)={w}"
                           f" is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
