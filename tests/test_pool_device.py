"""Pooling on device="cuda" (cuda/pool.cu) against the CPU kernels: every window option of max,
average and adaptive pooling, 1-D and 2-D, float32/float64 (max also int64), indices, strided
inputs, NaN, forward and autograd backward through the functional API and the modules, the
IndexError of out-of-range indices, and float64 gradcheck on the device. Shapes stay tiny: on the
emulated GPU every launch runs on CPU threads."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from pyengine import _C
from pyengine.tensor import _wrap

from device_gradcheck import gradcheck_on

pytestmark = pytest.mark.skipif(not pe.cuda.is_available(), reason="needs a CUDA device (or the emulated one)")

rng = np.random.default_rng(3)


def distinct(shape, dtype):
    """No ties, so max pooling's argmax (and gradient) is the same on both devices."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / max(n, 1) - 0.5).astype(dtype)


def npy(t):
    return t.detach().cpu().numpy()


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)


def run_both(fn, data, grad=True):
    """fn on a cuda and a cpu copy of `data`; returns [(outputs, input grad)] for cuda, cpu.
    The backward weights each output element differently, so a misplaced gradient shows."""
    results = []
    for device in ("cuda", "cpu"):
        x = pe.tensor(data, device=device, requires_grad=grad and data.dtype.kind == "f")
        out = fn(x)
        outs = out if isinstance(out, tuple) else (out,)
        g = None
        if x.requires_grad:
            w = pe.tensor(np.arange(outs[0].numel(), dtype=data.dtype).reshape(outs[0].shape) % 7 - 3.0,
                          device=device)
            (outs[0] * w).sum().backward()
            g = npy(x.grad)
        assert all(o.device.type == device for o in outs)
        results.append(([npy(o) for o in outs], g))
    return results


def check(fn, data, dtype, grad=True):
    (cu, gcu), (cp, gcp) = run_both(fn, data, grad)
    for a, b in zip(cu, cp):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, **tol(dtype))
    if gcp is not None:
        np.testing.assert_allclose(gcu, gcp, **tol(dtype))


# (kernel, stride, padding, dilation, ceil_mode)
MAX_CONFIGS = [(2, None, 0, 1, False), (3, 2, 1, 1, True), ((2, 3), (1, 2), (1, 0), (2, 1), False),
               (3, 3, 1, 2, True), (1, 1, 0, 1, False)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", MAX_CONFIGS)
def test_max_pool2d(cfg, dtype):
    k, s, p, d, ceil = cfg
    fn = lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
    check(fn, distinct((2, 3, 7, 6), dtype), dtype)
    check(fn, distinct((3, 5, 5), dtype), dtype)  # unbatched


def test_max_pool_int64_and_nan():
    x = rng.integers(-50, 50, (2, 2, 5, 5))
    check(lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True), x, "float64", grad=False)
    x = distinct((1, 2, 4, 4), "float64")
    x[0, 0, 1, 1] = x[0, 1, 3, 2] = np.nan
    x[0, 1, 0, :2] = -np.inf  # an all -inf window keeps its first tap's index
    x[0, 1, 1, :2] = -np.inf
    check(lambda t: F.max_pool2d(t, 2, return_indices=True), x, "float64", grad=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool1d_and_adaptive_max(dtype):
    check(lambda t: F.max_pool1d(t, 3, 2, 1, 2, ceil_mode=True, return_indices=True), distinct((2, 3, 11), dtype),
          dtype)
    check(lambda t: F.adaptive_max_pool2d(t, (3, 2), return_indices=True), distinct((2, 2, 7, 5), dtype), dtype)
    check(lambda t: F.adaptive_max_pool1d(t, 4, return_indices=True), distinct((3, 9), dtype), dtype)


# (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CONFIGS = [(2, None, 0, False, True, None), (3, 2, 1, True, True, None), (3, 2, 1, True, False, None),
               ((3, 2), (2, 1), (1, 1), False, False, None), (2, 1, 1, False, True, 3)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", AVG_CONFIGS)
def test_avg_pool2d(cfg, dtype):
    k, s, p, ceil, cip, div = cfg
    fn = lambda t: F.avg_pool2d(t, k, s, p, ceil_mode=ceil, count_include_pad=cip, divisor_override=div)
    check(fn, rng.standard_normal((2, 3, 7, 6)).astype(dtype), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avg_pool1d_and_adaptive_avg(dtype):
    x = rng.standard_normal((2, 3, 10)).astype(dtype)
    check(lambda t: F.avg_pool1d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x, dtype)
    check(lambda t: F.adaptive_avg_pool1d(t, 4), x, dtype)  # overlapping windows (10 -> 4)
    y = rng.standard_normal((2, 2, 7, 5)).astype(dtype)
    check(lambda t: F.adaptive_avg_pool2d(t, (3, 2)), y, dtype)
    check(lambda t: F.adaptive_avg_pool2d(t, 1), y, dtype)  # global
    check(lambda t: F.adaptive_avg_pool2d(t, (6, 7)), y, dtype)  # more outputs than inputs along w


def test_strided_and_transposed_inputs_are_read_in_place():
    base = rng.standard_normal((3, 2, 8, 9))
    for view in (lambda t: t.transpose(2, 3), lambda t: t[:, :, 1::2, ::2], lambda t: t.permute(1, 0, 2, 3)):
        check(lambda t: F.max_pool2d(view(t), 2, 1, return_indices=True), base, "float64")
        check(lambda t: F.avg_pool2d(view(t), 3, 2, 1), base, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_modules_forward_and_backward(dtype):
    x = distinct((2, 3, 8, 8), dtype)
    for module in (nn.MaxPool2d(3, 2, 1), nn.MaxPool2d(2, ceil_mode=True), nn.AvgPool2d(3, 2, 1),
                   nn.AvgPool2d(2, count_include_pad=False, padding=1), nn.AdaptiveAvgPool2d((3, 5)),
                   nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(3)):
        check(module, x, dtype)


def test_max_pool_backward_index_out_of_range_raises_index_error():
    g = pe.tensor(np.ones((1, 1, 2, 2)), device="cuda")
    for bad in (16, -2):
        idx = pe.tensor(np.full((1, 1, 2, 2), bad), device="cuda")
        with pytest.raises(IndexError, match="index is out of range for input planes of 16 elements"):
            _C.max_pool2d_backward(g._impl, idx._impl, [1, 1, 4, 4])
    idx = pe.tensor(np.array([[[[0, -1], [15, 15]]]]), device="cuda")  # -1: a window with no input
    out = _wrap(_C.max_pool2d_backward(g._impl, idx._impl, [1, 1, 4, 4]))
    assert out.device.type == "cuda"
    expect = np.zeros((1, 1, 4, 4))
    expect[0, 0, 0, 0], expect[0, 0, 3, 3] = 1, 2  # repeated indices accumulate
    np.testing.assert_array_equal(npy(out), expect)


def test_cuda_gradcheck_float64():
    x = distinct((1, 2, 3, 4), "float64")
    assert gradcheck_on("cuda", lambda t: F.max_pool2d(t, 2, 1, 1), x)
    assert gradcheck_on("cuda", lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    assert gradcheck_on("cuda", lambda t: F.adaptive_avg_pool2d(t, (2, 3)), x)
