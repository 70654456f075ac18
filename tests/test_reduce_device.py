"""Reductions with more state than one value (argmax/argmin and max/min along a dim, var/std,
norm) on every device against the CPU: ties and NaN (first index wins, NaN counts as the
extreme), corrections, every norm order, rows short enough for one thread per output and long
enough for a block per output (the CUDA kernels switch at 64 elements), strided views, autograd
and a float64 gradcheck on the device."""
import numpy as np
import pytest

import pyengine as pe
from device_gradcheck import gradcheck_on

RNG = np.random.default_rng(7)
FLOATS = ["float32", "float64"]


def on(a, device, requires_grad=False):
    return pe.tensor(a, device=device, requires_grad=requires_grad)


def host(t):
    return t.detach().cpu().numpy()


def same(got, want, dtype="float64"):
    got, want = host(got), host(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind == "f":
        tol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def tied(shape, dtype):
    """Few distinct values (many ties), NaNs in some rows, one row all equal."""
    a = RNG.integers(0, 4, size=shape).astype(dtype)
    if dtype != "int64":
        a[1, shape[1] // 3] = np.nan
        a[1, shape[1] // 2] = np.nan
        a[2, -1] = np.nan
    a[0, :] = 3
    return a


@pytest.mark.parametrize("n", [5, 150])  # one thread per output / one block per output
@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_argmax_argmin_ties_and_nan(device, dtype, n):
    a = tied((4, n), dtype)
    for dim in (1, 0, None):
        for fn in ("argmax", "argmin"):
            same(getattr(on(a, device), fn)(dim=dim), getattr(on(a, "cpu"), fn)(dim=dim))
    # the reference itself: first index of the extreme, NaN first
    idx = host(on(a, device).argmax(dim=1))
    if dtype != "int64":
        assert idx[1] == n // 3 and idx[2] == n - 1
    assert idx[0] == 0


@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_max_min_dim_values_and_indices(device, dtype):
    a = tied((3, 70), dtype)
    for dim in (0, 1):
        for fn in ("max", "min"):
            v, i = getattr(on(a, device), fn)(dim=dim, keepdim=True)
            rv, ri = getattr(on(a, "cpu"), fn)(dim=dim, keepdim=True)
            same(v, rv, dtype)
            same(i, ri)


def test_argmax_strided_and_bool(device):
    a = RNG.standard_normal((6, 80))
    t = on(a, device).transpose(0, 1)[::2]  # (40, 6), non-contiguous
    same(t.argmax(dim=0), on(a, "cpu").transpose(0, 1)[::2].argmax(dim=0))
    same(t.argmin(dim=1), on(a, "cpu").transpose(0, 1)[::2].argmin(dim=1))
    b = RNG.random((3, 9)) > 0.6
    v, i = on(b, device).max(dim=1)
    rv, ri = on(b, "cpu").max(dim=1)
    same(v, rv)
    same(i, ri)


@pytest.mark.parametrize("n", [7, 130])
@pytest.mark.parametrize("dtype", FLOATS)
def test_var_std(device, dtype, n):
    # A large offset: a naive sum of squares would lose the small spread.
    a = (1e4 + RNG.standard_normal((3, n))).astype(dtype)
    for correction in (0, 1, 2):
        for fn in ("var", "std"):
            for dims in (1, 0, (0, 1)):
                got = getattr(on(a, device), fn)(dim=dims, correction=correction)
                same(got, getattr(on(a, "cpu"), fn)(dim=dims, correction=correction), dtype)
    want = np.var(a.astype(np.float64), axis=1, ddof=1)
    np.testing.assert_allclose(host(on(a, device).var(dim=1)), want, rtol=1e-5 if dtype == "float32" else 1e-10)


def test_var_degenerate(device):
    a = np.array([[1.0], [2.0]])
    same(on(a, device).var(dim=1), on(a, "cpu").var(dim=1))  # n - correction = 0: NaN (0/0)
    same(on(a, device).std(dim=1, correction=2), on(a, "cpu").std(dim=1, correction=2))
    e = np.zeros((2, 0))
    same(on(e, device).var(dim=1), on(e, "cpu").var(dim=1))


@pytest.mark.parametrize("n", [6, 100])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", [0, 1, 2, 3, 0.5, float("inf"), float("-inf")])
def test_norm_orders(device, dtype, p, n):
    a = RNG.standard_normal((3, n)).astype(dtype)
    a[0, 1] = 0
    a[1, :3] = 0
    for dims in (1, 0, None):
        same(on(a, device).norm(p=p, dim=dims), on(a, "cpu").norm(p=p, dim=dims), dtype)
    a[2, 4] = np.nan
    same(on(a, device).norm(p=p, dim=1), on(a, "cpu").norm(p=p, dim=1), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_backward_matches_cpu(device, dtype):
    a = RNG.standard_normal((3, 70)).astype(dtype)
    grads = {}
    for dev in ("cpu", device):
        x = on(a, dev, requires_grad=True)
        # (max(dim)'s backward scatters through the index family: not part of these kernels)
        (x.std(dim=1).sum() + x.var(dim=0, correction=0).sum() + x.norm(p=3) + x.norm(dim=1).sum()).backward()
        grads[dev] = x.grad
    same(grads[device], grads["cpu"], dtype)


def test_gradcheck_on_device(device):
    a = RNG.standard_normal((2, 3))
    gradcheck_on(device, lambda x: x.std(dim=1), a)
    gradcheck_on(device, lambda x: x.norm(p=3, dim=0), a)
