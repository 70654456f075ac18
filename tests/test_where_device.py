"""where (its own CUDA kernel), clamp and masked_fill (built on where and maximum/minimum) on
every device against the CPU: broadcasting, numbers as operands, every dtype, strided views,
NaN, autograd and a float64 gradcheck on the device."""
import numpy as np
import pytest

import pyengine as pe
from device_gradcheck import gradcheck_on

RNG = np.random.default_rng(11)


def on(a, device, requires_grad=False):
    return pe.tensor(a, device=device, requires_grad=requires_grad)


def host(t):
    return t.detach().cpu().numpy()


def same(got, want):
    got, want = host(got), host(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def values(shape, dtype):
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if dtype == "int64":
        return RNG.integers(-9, 9, size=shape)
    return RNG.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_where_broadcast(device, dtype):
    cond = RNG.random((3, 1, 5)) > 0.4
    a, b = values((4, 5), dtype), values((3, 4, 1), dtype)
    same(pe.where(on(cond, device), on(a, device), on(b, device)), pe.where(on(cond, "cpu"), on(a, "cpu"), on(b, "cpu")))
    want = np.where(cond, a, b)
    np.testing.assert_array_equal(host(pe.where(on(cond, device), on(a, device), on(b, device))), want)


def test_where_numbers_and_strided(device):
    cond = RNG.random((6, 4)) > 0.5
    a = RNG.standard_normal((4, 6))
    got = pe.where(on(cond, device), on(a, device).t(), 2.5)
    same(got, pe.where(on(cond, "cpu"), on(a, "cpu").t(), 2.5))
    got = pe.where(on(cond, device)[::2], -1, on(a, device).t()[::2])
    same(got, pe.where(on(cond, "cpu")[::2], -1, on(a, "cpu").t()[::2]))
    same(pe.where(on(cond, device), 1, 0), pe.where(on(cond, "cpu"), 1, 0))  # int64 from numbers


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_clamp(device, dtype):
    a = values((3, 7), dtype)
    if dtype != "int64":
        a[1, 2] = np.nan
    for lo, hi in ((-0.5, 0.5), (None, 1), (0, None), (2, -2)):
        same(on(a, device).clamp(lo, hi), on(a, "cpu").clamp(lo, hi))
    lo_t, hi_t = values((7,), dtype), values((3, 1), dtype)
    same(pe.clamp(on(a, device), on(lo_t, device), on(hi_t, device)),
         pe.clamp(on(a, "cpu"), on(lo_t, "cpu"), on(hi_t, "cpu")))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_masked_fill(device, dtype):
    a = values((4, 6), dtype)
    mask = RNG.random((1, 6)) > 0.5
    value = True if dtype == "bool" else 3
    same(on(a, device).masked_fill(on(mask, device), value), on(a, "cpu").masked_fill(on(mask, "cpu"), value))
    t, r = on(a, device), on(a, "cpu")
    t.masked_fill_(on(mask, device), value)
    r.masked_fill_(on(mask, "cpu"), value)
    same(t, r)


def test_backward_matches_cpu(device):
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4,))
    cond = a > 0
    grads = {}
    for dev in ("cpu", device):
        x, y = on(a, dev, True), on(b, dev, True)
        out = pe.where(on(cond, dev), x, y) * 2 + x.clamp(-0.5, 0.5) + x.masked_fill(on(cond, dev), 0.0) ** 2
        out.sum().backward()
        grads[dev] = (x.grad, y.grad)
    for g, r in zip(grads[device], grads["cpu"]):
        same(g, r)


def test_gradcheck_on_device(device):
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3,))
    cond = on(a > 0, device)
    gradcheck_on(device, lambda x, y: pe.where(cond, x, y), a, b)
    gradcheck_on(device, lambda x: x.clamp(-0.5, 0.5) * x, a)
    gradcheck_on(device, lambda x: x.masked_fill(cond, 1.0) * x, a)
