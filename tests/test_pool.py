"""Pooling (csrc/cpu/pool_kernels.cpp, csrc/ops/pool.cpp, pyengine/nn/_pool_fns.py, nn/pooling.py)
against a direct NumPy reference: every window option, edge sizes (1x1 planes, kernel = padded
input, primes, ceil_mode's last-window rule, batch 0/1, unbatched), strided / transposed / sliced /
broadcast inputs, float32/float64; indices, gradcheck of every code path, PyTorch differential
tests, thread-count independence and the error messages."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from pyengine import _C
from pyengine.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


# ---------------------------------------------------------------- NumPy reference
def out_len(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def taps(n, k, s, p, d, o):
    start = o * s - p
    return [start + t * d for t in range(k) if 0 <= start + t * d < n]


def adaptive_taps(n, out, o):
    return list(range(o * n // out, -(-(o + 1) * n // out)))


def ref_windows(shape, k, s, p, d, ceil):
    """Per output (oh, ow): (rows, cols, padded window extents for count_include_pad)."""
    H, W = shape[-2:]
    OH, OW = out_len(H, k[0], s[0], p[0], d[0], ceil), out_len(W, k[1], s[1], p[1], d[1], ceil)
    win = {}
    for oh, ow in itertools.product(range(OH), range(OW)):
        eh = min(oh * s[0] - p[0] + k[0], H + p[0]) - (oh * s[0] - p[0])
        ew = min(ow * s[1] - p[1] + k[1], W + p[1]) - (ow * s[1] - p[1])
        win[oh, ow] = (taps(H, k[0], s[0], p[0], d[0], oh), taps(W, k[1], s[1], p[1], d[1], ow), eh * ew)
    return (OH, OW), win


def adaptive_windows(shape, size):
    H, W = shape[-2:]
    win = {}
    for oh, ow in itertools.product(range(size[0]), range(size[1])):
        r, c = adaptive_taps(H, size[0], oh), adaptive_taps(W, size[1], ow)
        win[oh, ow] = (r, c, len(r) * len(c))
    return size, win


def ref_max(x, out_hw, win):
    """PyTorch's rule: a tap wins when larger or NaN; the first tap is the index of an all -inf window."""
    W = x.shape[-1]
    y = np.full(x.shape[:-2] + out_hw, -np.inf, x.dtype)
    idx = np.full(x.shape[:-2] + out_hw, -1, np.int64)
    for (oh, ow), (rows, cols, _) in win.items():
        best = np.full(x.shape[:-2], -np.inf, x.dtype)
        bi = np.full(x.shape[:-2], rows[0] * W + cols[0] if rows and cols else -1, np.int64)
        for r in rows:
            for c in cols:
                v = x[..., r, c]
                take = (v > best) | np.isnan(v)
                best, bi = np.where(take, v, best), np.where(take, r * W + c, bi)
        y[..., oh, ow], idx[..., oh, ow] = best, bi
    return y, idx


def ref_avg(x, out_hw, win, count_include_pad=True, divisor=None):
    y = np.zeros(x.shape[:-2] + out_hw, np.float64)
    for (oh, ow), (rows, cols, padded) in win.items():
        if not rows or not cols:
            continue
        total = x[..., rows, :][..., cols].astype(np.float64).sum((-1, -2))
        div = divisor or (padded if count_include_pad else len(rows) * len(cols))
        y[..., oh, ow] = total / div
    return y


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def impl(a):
    return _C.from_numpy(np.ascontiguousarray(a))


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)


def distinct(shape, dtype="float64"):
    """Values without ties (max pooling's gradient is only defined without them)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / max(n, 1) - 0.5).astype(dtype)


# (kernel, stride, padding, dilation, ceil_mode): each changes a code path of the kernels.
MAX_CONFIGS = [
    (2, None, 0, 1, False),      # 2x2 stride 2: the specialised interior loop
    (3, 2, 1, 1, False),         # 3x3 stride 2 with padding: borders by table
    (3, 1, 1, 1, False),         # 3x3 stride 1
    (3, 2, 1, 1, True),          # ceil_mode: a partial last window
    (2, 2, 1, 1, True),
    ((2, 3), (1, 2), (1, 0), (2, 1), False),  # rectangular, dilated rows: the generic path
    (3, 3, 1, 2, True),
    (4, 3, 2, 1, False),
    (1, 1, 0, 1, False),
    (5, 1, 0, 1, False),
    (2, 1, 0, 1, False),         # 2x2 stride 1 and 4x4 stride 2: the other specialised loops
    (4, 2, 1, 1, True),
]
SHAPES = [(2, 3, 7, 7), (1, 1, 1, 1), (1, 2, 5, 13), (2, 1, 11, 6), (0, 2, 6, 6), (3, 6, 6)]


def expect_error(fn):
    try:
        fn()
        return False
    except RuntimeError:
        return True


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", MAX_CONFIGS)
def test_max_pool2d_matches_reference(cfg, dtype):
    k, s, p, d, ceil = cfg
    for shape in SHAPES:
        x = rng.standard_normal(shape).astype(dtype)
        kk, pp, dd = pair(k), pair(p), pair(d)
        ss = pair(s) if s is not None else kk
        if any(out_len(n, *a, ceil) < 1 for n, a in zip(shape[-2:], zip(kk, ss, pp, dd))):
            assert expect_error(lambda: _C.max_pool2d(impl(x), k, s, p, d, ceil))
            continue
        y, idx = _C.max_pool2d(impl(x), k, s, p, d, ceil, True)
        ry, ridx = ref_max(x, *ref_windows(shape, kk, ss, pp, dd, ceil))
        np.testing.assert_array_equal(y.numpy(), ry)
        np.testing.assert_array_equal(idx.numpy(), ridx)
        y_only, none = _C.max_pool2d(impl(x), k, s, p, d, ceil, False)
        assert none is None
        np.testing.assert_array_equal(y_only.numpy(), ry)


AVG_CONFIGS = [  # (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    (2, None, 0, False, True, None),
    (3, 2, 1, False, True, None),
    (3, 2, 1, False, False, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    (3, 1, 1, False, True, 5),
    ((2, 4), (3, 1), (1, 2), True, False, None),
    (4, 3, 2, False, True, None),
    (2, 1, 0, False, True, None),
    (4, 2, 1, True, False, None),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", AVG_CONFIGS)
def test_avg_pool2d_matches_reference(cfg, dtype):
    k, s, p, ceil, cip, div = cfg
    for shape in SHAPES:
        x = rng.standard_normal(shape).astype(dtype)
        kk, pp = pair(k), pair(p)
        ss = pair(s) if s is not None else kk
        if any(out_len(n, *a, 1, ceil) < 1 for n, a in zip(shape[-2:], zip(kk, ss, pp))):
            assert expect_error(lambda: _C.avg_pool2d(impl(x), k, s, p, ceil, cip, div))
            continue
        y = _C.avg_pool2d(impl(x), k, s, p, ceil, cip, div)
        ry = ref_avg(x, *ref_windows(shape, kk, ss, pp, (1, 1), ceil), cip, div)
        np.testing.assert_allclose(y.numpy(), ry, **tol(dtype))
        assert y.dtype == dtype


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adaptive_pools_match_reference(dtype):
    for shape, size in [((2, 3, 7, 7), (3, 3)), ((2, 3, 7, 7), (1, 1)), ((1, 2, 5, 13), (2, 4)),
                        ((2, 2, 8, 6), (4, 3)), ((1, 1, 3, 2), (5, 7)), ((3, 5, 9), (2, 9)),
                        ((1, 1, 1, 1), (1, 1)), ((0, 3, 4, 4), (2, 2)), ((2, 3, 17, 17), (1, 1))]:
        x = rng.standard_normal(shape).astype(dtype)
        hw, win = adaptive_windows(shape, size)
        np.testing.assert_allclose(_C.adaptive_avg_pool2d(impl(x), list(size)).numpy(), ref_avg(x, hw, win),
                                   **tol(dtype))
        y, idx = _C.adaptive_max_pool2d(impl(x), list(size), True)
        ry, ridx = ref_max(x, hw, win)
        np.testing.assert_array_equal(y.numpy(), ry)
        np.testing.assert_array_equal(idx.numpy(), ridx)


def test_adaptive_output_size_forms():
    x = rng.standard_normal((2, 3, 6, 9))
    a = impl(x)
    assert _C.adaptive_avg_pool2d(a, 2).shape == (2, 3, 2, 2)
    assert _C.adaptive_avg_pool2d(a, (None, 4)).shape == (2, 3, 6, 4)
    assert _C.adaptive_max_pool2d(a, [3, None])[0].shape == (2, 3, 3, 9)
    assert _C.adaptive_avg_pool2d(a, 0).shape == (2, 3, 0, 0)
    np.testing.assert_allclose(_C.adaptive_avg_pool2d(a, (None, None)).numpy(), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pool1d_match_reference(dtype):
    x = rng.standard_normal((2, 3, 13)).astype(dtype)
    x4 = x[:, :, None, :]
    for k, s, p, d, ceil in [(2, None, 0, 1, False), (3, 2, 1, 1, True), (4, 3, 2, 2, False), (13, 1, 0, 1, False)]:
        ss = s if s is not None else k
        hw, win = ref_windows(x4.shape, (1, k), (1, ss), (0, p), (1, d), ceil)
        y, idx = _C.max_pool1d(impl(x), k, s, p, d, ceil, True)
        ry, ridx = ref_max(x4, hw, win)
        np.testing.assert_array_equal(y.numpy(), ry[:, :, 0])
        np.testing.assert_array_equal(idx.numpy(), ridx[:, :, 0])
        if d == 1:
            for cip in (True, False):
                ya = _C.avg_pool1d(impl(x), [k], [ss], (p,), ceil, cip)
                np.testing.assert_allclose(ya.numpy(), ref_avg(x4, hw, win, cip)[:, :, 0], **tol(dtype))
    for size in (1, 4, 5, 13, 20):
        hw, win = adaptive_windows(x4.shape, (1, size))
        np.testing.assert_allclose(_C.adaptive_avg_pool1d(impl(x), size).numpy(), ref_avg(x4, hw, win)[:, :, 0],
                                   **tol(dtype))
        np.testing.assert_array_equal(_C.adaptive_max_pool1d(impl(x), size)[0].numpy(), ref_max(x4, hw, win)[0][:, :, 0])
    # unbatched (C, L)
    np.testing.assert_array_equal(_C.max_pool1d(impl(x[0]), 2)[0].numpy(), _C.max_pool1d(impl(x), 2)[0].numpy()[0])


def test_kernel_equal_to_padded_input_and_ceil_mode_edges():
    x = rng.standard_normal((1, 2, 5, 4))
    # kernel = the whole padded input: one window
    y, idx = _C.max_pool2d(impl(x), (7, 6), None, (1, 1), 1, False, True)
    assert y.shape == (1, 2, 1, 1)
    np.testing.assert_array_equal(y.numpy()[..., 0, 0], x.max((-1, -2)))
    np.testing.assert_allclose(_C.avg_pool2d(impl(x), (7, 6), None, (1, 1)).numpy()[..., 0, 0],
                               x.sum((-1, -2)) / 42)
    # ceil_mode: (5 - 2 + 1) / 2 -> 3 windows on H (the last one partial); on W the window that
    # would start in the right padding is dropped (PyTorch's rule).
    assert _C.max_pool2d(impl(x), 2, 2, 0, 1, True)[0].shape == (1, 2, 3, 2)
    assert _C.max_pool2d(impl(x), 2, 2, 1, 1, True)[0].shape == (1, 2, 3, 3)
    # H: (5 + 2 - 3 + 2) // 3 + 1 = 3, but window 2 would start at 6 - 1 = 5, in the right padding
    assert _C.max_pool2d(impl(x), 3, 3, 1, 1, True)[0].shape == (1, 2, 2, 2)
    # PyTorch's ceil_mode also admits a window that reaches past the padded input
    x2 = np.arange(10.0).reshape(1, 1, 5, 2)
    y, idx = _C.max_pool2d(impl(x2), (4, 3), 2, 1, 2, True, True)
    assert y.numpy().ravel().tolist() == [7.0] and idx.numpy().ravel().tolist() == [7]


def test_nan_propagates_and_ties_keep_the_first_index():
    x = np.array([[[[np.nan, 1.0, 2.0, 2.0], [0.0, np.nan, 2.0, 2.0], [-np.inf, -np.inf, 5.0, 5.0],
                    [-np.inf, -np.inf, 5.0, 5.0]]]])
    y, idx = _C.max_pool2d(impl(x), 2, 2, 0, 1, False, True)
    assert np.isnan(y.numpy()[0, 0, 0, 0]) and idx.numpy()[0, 0, 0, 0] == 5  # the last NaN, as PyTorch
    assert idx.numpy()[0, 0, 0, 1] == 2 and idx.numpy()[0, 0, 1, 0] == 8 and idx.numpy()[0, 0, 1, 1] == 10
    assert y.numpy()[0, 0, 1, 0] == -np.inf


def test_window_with_no_input_element():
    # dilation 4 over a 3-wide input with padding 1: taps -1 and 3 both miss it
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y, idx = _C.max_pool2d(impl(x), 2, 1, 1, 4, False, True)
    assert y.numpy().ravel().tolist() == [-np.inf] and idx.numpy().ravel().tolist() == [-1]
    g = _C.max_pool2d_backward(impl(np.ones((1, 1, 1, 1))), idx, [1, 1, 3, 3])
    assert g.numpy().sum() == 0  # no input element, no gradient


def test_int64_max_pool():
    x = rng.integers(-100, 100, (2, 3, 6, 5))
    y, idx = _C.max_pool2d(impl(x), 2, 2, 0, 1, True, True)
    ry, ridx = ref_max(x.astype(np.float64), *ref_windows(x.shape, (2, 2), (2, 2), (0, 0), (1, 1), True))
    assert y.dtype == "int64"
    np.testing.assert_array_equal(y.numpy(), ry)
    np.testing.assert_array_equal(idx.numpy(), ridx)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strided_transposed_sliced_and_broadcast_inputs(dtype):
    base = rng.standard_normal((3, 4, 9, 10)).astype(dtype)
    t = impl(base)
    views = {
        "transposed": (_C.transpose(t, 2, 3), base.transpose(0, 1, 3, 2)),
        "channels_last": (_C.permute(_C.contiguous(_C.permute(t, [0, 2, 3, 1])), [0, 3, 1, 2]), base),
        "sliced": (_C.slice(_C.slice(t, 3, 1, 10, 2), 1, 0, 4, 3), base[:, 0:4:3, :, 1:10:2]),
        "batch_transposed": (_C.transpose(t, 0, 1), base.transpose(1, 0, 2, 3)),
        "broadcast": (_C.expand(_C.slice(t, 1, 0, 1, 1), [3, 5, 9, 10]), np.broadcast_to(base[:, :1], (3, 5, 9, 10))),
    }
    for name, (v, ref) in views.items():
        for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1)]:
            y, idx = _C.max_pool2d(v, k, s, p, 1, False, True)
            ry, ridx = ref_max(ref, *ref_windows(ref.shape, (k, k), (s, s), (p, p), (1, 1), False))
            np.testing.assert_array_equal(y.numpy(), ry, err_msg=name)
            np.testing.assert_array_equal(idx.numpy(), ridx, err_msg=name)
            ya = _C.avg_pool2d(v, k, s, p)
            ra = ref_avg(ref, *ref_windows(ref.shape, (k, k), (s, s), (p, p), (1, 1), False))
            np.testing.assert_allclose(ya.numpy(), ra, **tol(dtype), err_msg=name)
        np.testing.assert_allclose(_C.adaptive_avg_pool2d(v, 1).numpy()[..., 0, 0], ref.mean((-1, -2)), **tol(dtype))


def test_global_average_pool_large_plane_accuracy():
    x = (rng.standard_normal((2, 3, 64, 61)) + 100).astype(np.float32)
    y = _C.adaptive_avg_pool2d(impl(x), 1).numpy()
    np.testing.assert_allclose(y[..., 0, 0], x.astype(np.float64).mean((-1, -2)), rtol=1e-6)


# ---------------------------------------------------------------- backward kernels
def ref_max_backward(g, idx, in_shape):
    gx = np.zeros(in_shape[:-2] + (in_shape[-2] * in_shape[-1],))
    lead = np.ndindex(*in_shape[:-2])
    for i in lead:
        keep = idx[i].ravel() >= 0  # -1: a window with no input element
        np.add.at(gx[i], idx[i].ravel()[keep], g[i].ravel()[keep])
    return gx.reshape(in_shape)


def ref_avg_backward(g, in_shape, win, count_include_pad=True, divisor=None):
    gx = np.zeros(in_shape)
    for (oh, ow), (rows, cols, padded) in win.items():
        div = divisor or (padded if count_include_pad else len(rows) * len(cols))
        for r in rows:
            for c in cols:
                gx[..., r, c] += g[..., oh, ow] / div
    return gx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backward_kernels_match_reference(dtype):
    for shape in [(2, 3, 7, 7), (1, 1, 1, 1), (2, 2, 5, 13), (3, 6, 6)]:
        x = rng.standard_normal(shape).astype(dtype)
        for k, s, p, d, ceil in MAX_CONFIGS:
            try:
                y, idx = _C.max_pool2d(impl(x), k, s, p, d, ceil, True)
            except RuntimeError:
                continue
            g = rng.standard_normal(tuple(y.shape)).astype(dtype)
            gx = _C.max_pool2d_backward(impl(g), idx, list(shape))
            np.testing.assert_allclose(gx.numpy(), ref_max_backward(g, idx.numpy(), shape), **tol(dtype))
        for k, s, p, ceil, cip, div in AVG_CONFIGS:
            try:
                y = _C.avg_pool2d(impl(x), k, s, p, ceil, cip, div)
            except RuntimeError:
                continue
            kk, pp = pair(k), pair(p)
            ss = pair(s) if s is not None else kk
            g = rng.standard_normal(tuple(y.shape)).astype(dtype)
            gx = _C.avg_pool2d_backward(impl(g), list(shape), k, s, p, ceil, cip, div)
            _, win = ref_windows(shape, kk, ss, pp, (1, 1), ceil)
            np.testing.assert_allclose(gx.numpy(), ref_avg_backward(g, shape, win, cip, div), **tol(dtype))
        for size in [(1, 1), (3, 2), (4, 5)]:
            g = rng.standard_normal(shape[:-2] + size).astype(dtype)
            gx = _C.adaptive_avg_pool2d_backward(impl(g), list(shape))
            np.testing.assert_allclose(gx.numpy(), ref_avg_backward(g, shape, adaptive_windows(shape, size)[1]),
                                       **tol(dtype))


# ---------------------------------------------------------------- autograd
GRAD_CASES = [
    ("max 2x2", lambda t: F.max_pool2d(t, 2)),
    ("max stride/pad", lambda t: F.max_pool2d(t, 3, 2, 1)),
    ("max dilation", lambda t: F.max_pool2d(t, (2, 3), (1, 2), (1, 1), (2, 1))),
    ("max ceil", lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
    ("max overlapping", lambda t: F.max_pool2d(t, 3, 1, 1)),
    ("avg 2x2", lambda t: F.avg_pool2d(t, 2)),
    ("avg pad", lambda t: F.avg_pool2d(t, 3, 2, 1)),
    ("avg pad no count", lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False)),
    ("avg ceil", lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ("avg divisor", lambda t: F.avg_pool2d(t, (2, 3), 1, (1, 1), divisor_override=4)),
    ("adaptive avg", lambda t: F.adaptive_avg_pool2d(t, (3, 4))),
    ("adaptive avg global", lambda t: F.adaptive_avg_pool2d(t, 1)),
    ("adaptive avg divisible", lambda t: F.adaptive_avg_pool2d(t, (7, 1))),
    ("adaptive max", lambda t: F.adaptive_max_pool2d(t, (3, 4))),
    ("max 1d", lambda t: F.max_pool1d(t.flatten(2), 4, 3, 2, 2)),
    ("avg 1d", lambda t: F.avg_pool1d(t.flatten(2), 4, 3, 2, True, False)),
    ("adaptive avg 1d", lambda t: F.adaptive_avg_pool1d(t.flatten(2), 5)),
    ("adaptive max 1d", lambda t: F.adaptive_max_pool1d(t.flatten(2), 6)),
    ("unbatched", lambda t: F.max_pool2d(t[0], 3, 2, 1) + F.avg_pool2d(t[0], 3, 2, 1)),
]


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn):
    x = pe.tensor(distinct((2, 2, 7, 7)), requires_grad=True)
    assert gradcheck(fn, (x,))


def test_gradgradcheck():
    x = pe.tensor(distinct((1, 2, 5, 5)), requires_grad=True)
    assert gradgradcheck(lambda t: F.max_pool2d(t, 3, 2, 1), (x,))
    assert gradgradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False), (x,))
    assert gradgradcheck(lambda t: F.adaptive_avg_pool2d(t, 2), (x,))


def test_return_indices_and_no_grad_path():
    x = pe.tensor(distinct((2, 3, 6, 6)), requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    with pe.no_grad():
        y2, idx2 = F.max_pool2d(x, 2, return_indices=True)
        assert not y2.requires_grad
    assert y.requires_grad and not idx.requires_grad and idx.dtype == pe.int64
    np.testing.assert_array_equal(idx.numpy(), idx2.numpy())
    np.testing.assert_array_equal(y.detach().numpy(), y2.numpy())
    y.sum().backward()
    assert x.grad.numpy().sum() == 2 * 3 * 3 * 3  # one 1 per output


def test_modifying_saved_indices_in_place_is_detected():
    x = pe.tensor(distinct((1, 1, 4, 4)), requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    idx.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---------------------------------------------------------------- modules
def test_modules_repr_and_forward():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.MaxPool2d((3, 2), 1, 1, ceil_mode=True)) == \
        "MaxPool2d(kernel_size=(3, 2), stride=1, padding=1, dilation=1, ceil_mode=True)"
    assert repr(nn.AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.MaxPool1d(3)) == "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
    assert repr(nn.AdaptiveMaxPool2d((None, 2))) == "AdaptiveMaxPool2d(output_size=(None, 2))"
    assert repr(nn.AdaptiveAvgPool1d(4)) == "AdaptiveAvgPool1d(output_size=4)"
    x = pe.tensor(rng.standard_normal((2, 3, 8, 8)))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).numpy(), F.max_pool2d(x, 2).numpy())
    y, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert idx.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(nn.AvgPool2d(3, 2, 1, count_include_pad=False)(x).numpy(),
                               F.avg_pool2d(x, 3, 2, 1, count_include_pad=False).numpy())
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy()[..., 0, 0], x.numpy().mean((-1, -2)))
    assert nn.AdaptiveMaxPool2d(2, True)(x)[1].shape == (2, 3, 2, 2)
    x1 = pe.tensor(rng.standard_normal((2, 3, 9)))
    assert nn.MaxPool1d(2)(x1).shape == (2, 3, 4)
    assert nn.AvgPool1d(3, 2)(x1).shape == (2, 3, 4)
    assert nn.AdaptiveAvgPool1d(3)(x1).shape == (2, 3, 3)
    assert nn.AdaptiveMaxPool1d(3)(x1).shape == (2, 3, 3)
    net = nn.Sequential(nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert net(x).shape == (2, 3)


# ---------------------------------------------------------------- threads
def test_results_do_not_depend_on_thread_count():
    x = rng.standard_normal((8, 16, 33, 31)).astype(np.float32)  # big enough to be split
    g = rng.standard_normal((8, 16, 16, 15)).astype(np.float32)
    before = pe.get_num_threads()

    def run():
        y, idx = _C.max_pool2d(impl(x), 2, 2, 0, 1, False, True)
        ya = _C.avg_pool2d(impl(x), 3, 2, 1)
        yg = _C.adaptive_avg_pool2d(impl(x), 1)
        gm = _C.max_pool2d_backward(impl(g), idx, list(x.shape))
        return [t.numpy() for t in (y, idx, ya, yg, gm)]

    try:
        pe.set_num_threads(1)
        one = run()
        pe.set_num_threads(2)
        two = run()
    finally:
        pe.set_num_threads(before)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- errors
ERRORS = [
    (lambda: F.max_pool2d(pe.zeros(1, 1, 2, 2), 5, padding=1), RuntimeError,
     "max_pool2d: kernel size (5, 5) is larger than the padded input (4, 4) of input shape (1, 1, 2, 2)"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 3, 3), 3, dilation=2), RuntimeError,
     "effective kernel size (5, 5) (kernel size (3, 3), dilation (2, 2)) is larger than the padded input (3, 3)"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 9, 9), 2, padding=2), RuntimeError,
     "pad should be at most half of kernel size, got padding (2, 2) for kernel size (2, 2)"),
    (lambda: F.avg_pool2d(pe.zeros(1, 1, 9, 9), 3, padding=(0, 2)), RuntimeError, "pad should be at most half"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 4, 4), 0), RuntimeError, "kernel_size must be greater than zero"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 4, 4), 2, 0), RuntimeError, "stride must be greater than zero"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 4, 4), 2, dilation=0), RuntimeError, "dilation must be greater than zero"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 4, 4), 2, padding=-1), RuntimeError, "padding must be non-negative"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 4, 4), (2, 2, 2)), RuntimeError,
     "kernel_size must either be a single int, or a tuple of two ints, got (2, 2, 2)"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 4, 4), 2.5), TypeError, "kernel_size must be an int or a tuple of ints"),
    (lambda: F.max_pool2d(pe.zeros(4, 4), 2), RuntimeError,
     "max_pool2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape (4, 4)"),
    (lambda: F.max_pool1d(pe.zeros(1, 1, 4, 4), 2), RuntimeError, "expected a 2-D (C, L) or 3-D (N, C, L) input"),
    (lambda: F.max_pool1d(pe.zeros(1, 1, 4), (2, 2)), RuntimeError, "kernel_size must be a single int"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 0, 4), 1), RuntimeError, "with optional 0 dim batch size"),
    (lambda: F.avg_pool2d(pe.zeros(1, 1, 4, 4, dtype=pe.int64), 2), TypeError, "expected a floating input"),
    (lambda: F.max_pool2d(pe.zeros(1, 1, 4, 4, dtype=pe.bool), 2), TypeError, "got bool"),
    (lambda: F.avg_pool2d(pe.zeros(1, 1, 4, 4), 2, divisor_override=0), RuntimeError,
     "divisor_override must not be zero"),
    (lambda: F.adaptive_avg_pool2d(pe.zeros(1, 1, 4, 4), (1, 2, 3)), RuntimeError,
     "output_size must be a single int or a tuple of two ints"),
    (lambda: F.adaptive_avg_pool2d(pe.zeros(1, 1, 4, 4), -1), RuntimeError, "output_size must be non-negative"),
    (lambda: F.adaptive_avg_pool2d(pe.zeros(1, 1, 4, 4), "a"), TypeError, "output_size must be an int"),
    (lambda: F.adaptive_max_pool2d(pe.zeros(4), 2), RuntimeError, "got shape (4,)"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2), TypeError, "argument 'input' must be a Tensor"),
    (lambda: _C.max_pool2d_backward(impl(np.ones((1, 1, 2, 2))), impl(np.full((1, 1, 2, 2), 16)), [1, 1, 4, 4]),
     IndexError, "index is out of range for input planes of 16 elements"),
    (lambda: _C.max_pool2d_backward(impl(np.ones((1, 1, 2, 2))), impl(np.zeros((1, 1, 2, 3), np.int64)), [1, 1, 4, 4]),
     ValueError, "gradient shape (1, 1, 2, 2) does not match indices shape (1, 1, 2, 3)"),
    (lambda: _C.max_pool2d_backward(impl(np.ones((1, 2, 2, 2))), impl(np.zeros((1, 2, 2, 2), np.int64)), [1, 1, 4, 4]),
     ValueError, "does not match input shape (1, 1, 4, 4) outside the pooled dims"),
    (lambda: _C.max_pool2d_backward(impl(np.ones((1, 1, 2, 2))), impl(np.ones((1, 1, 2, 2))), [1, 1, 4, 4]),
     TypeError, "expected int64 indices"),
    (lambda: _C.avg_pool2d_backward(impl(np.ones((1, 1, 3, 2))), [1, 1, 4, 4], 2), ValueError,
     "gradient shape (1, 1, 3, 2) does not match the output shape (1, 1, 2, 2) of input shape (1, 1, 4, 4)"),
    (lambda: _C.avg_pool2d_backward(impl(np.ones((1, 1, 2, 2))), [1, -1, 4, 4], 2), RuntimeError,
     "negative dimension"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn()
    assert msg in str(info.value)


# ---------------------------------------------------------------- property test
@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2),
       p=st.integers(0, 2), ceil=st.booleans())
def test_max_pool_property_vs_reference(h, w, k, s, d, p, ceil):
    p = min(p, k // 2)
    x = rng.standard_normal((1, 2, h, w))
    if out_len(h, k, s, p, d, ceil) < 1 or out_len(w, k, s, p, d, ceil) < 1:
        with pytest.raises(RuntimeError, match="is larger than the padded input"):
            _C.max_pool2d(impl(x), k, s, p, d, ceil)
        return
    y, idx = _C.max_pool2d(impl(x), k, s, p, d, ceil, True)
    ry, ridx = ref_max(x, *ref_windows(x.shape, (k, k), (s, s), (p, p), (d, d), ceil))
    np.testing.assert_array_equal(y.numpy(), ry)
    np.testing.assert_array_equal(idx.numpy(), ridx)


# ---------------------------------------------------------------- PyTorch differential tests
def test_matches_torch_forward_indices_and_grads():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    cases = [
        (lambda f, t: f.max_pool2d(t, 2)), (lambda f, t: f.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
        (lambda f, t: f.max_pool2d(t, (2, 3), (1, 2), (1, 1), (2, 1))),
        (lambda f, t: f.avg_pool2d(t, 3, 2, 1)), (lambda f, t: f.avg_pool2d(t, 3, 2, 1, True, False)),
        (lambda f, t: f.avg_pool2d(t, 2, 1, 1, divisor_override=3)),
        (lambda f, t: f.adaptive_avg_pool2d(t, (3, 5))), (lambda f, t: f.adaptive_avg_pool2d(t, 1)),
        (lambda f, t: f.adaptive_max_pool2d(t, (4, 3))),
        (lambda f, t: f.max_pool1d(t.flatten(2), 3, 2, 1)), (lambda f, t: f.avg_pool1d(t.flatten(2), 3, 2, 1)),
        (lambda f, t: f.adaptive_avg_pool1d(t.flatten(2), 7)),
    ]
    for dtype in ("float32", "float64"):
        xn = distinct((2, 3, 9, 8), dtype)
        for case in cases:
            x = pe.tensor(xn, requires_grad=True)
            tx = torch.tensor(xn, requires_grad=True)
            y, ty = case(F, x), case(tF, tx)
            np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol(dtype))
            gn = rng.standard_normal(tuple(ty.shape)).astype(dtype)
            y.backward(pe.tensor(gn))
            ty.backward(torch.tensor(gn))
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol(dtype))
    xn = rng.standard_normal((2, 3, 9, 8))
    for args in [(2,), (3, 2, 1, 1, True), ((2, 3), (1, 2), (1, 1), (2, 1))]:
        _, idx = F.max_pool2d(pe.tensor(xn), *args, return_indices=True)
        _, tidx = tF.max_pool2d(torch.tensor(xn), *args, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    _, idx = F.adaptive_max_pool2d(pe.tensor(xn), (4, 3), return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tF.adaptive_max_pool2d(torch.tensor(xn), (4, 3), True)[1].numpy())
    _, idx = F.max_pool1d(pe.tensor(xn[0]), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tF.max_pool1d(torch.tensor(xn[0]), 3, 2, 1, return_indices=True)[1])


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_global_average_pool_on_every_isa(isa):
    # Short contiguous planes are summed a vector at a time (one ISA build each): plane sizes
    # below, at and between the vector widths of float32 and float64, and the long-plane path.
    isas = ["generic", "avx2", "avx512"]
    if isas.index(isa) > isas.index(_C.best_isa()):
        pytest.skip(f"CPU cannot run {isa}")
    before = _C.active_isa()
    _C.set_isa(isa)
    try:
        for dtype in ("float32", "float64"):
            for h, w in [(1, 1), (1, 3), (2, 4), (3, 3), (4, 4), (4, 5), (7, 7), (8, 8), (5, 13), (9, 9)]:
                x = rng.standard_normal((3, 5, h, w)).astype(dtype)
                y = _C.adaptive_avg_pool2d(impl(x), 1).numpy()
                np.testing.assert_allclose(y[..., 0, 0], x.astype(np.float64).mean((-1, -2)), **tol(dtype),
                                           err_msg=f"{h}x{w}")
    finally:
        _C.set_isa(before)
