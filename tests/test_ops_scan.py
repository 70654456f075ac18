"""The scan family (pyengine/ops/scan.py, csrc/ops/scan.*, csrc/cpu/scan_kernels.cpp,
cuda/scan.cu): cumsum, cumprod, logcumsumexp, cummax, cummin and diff against torch 2.13 and
NumPy on edge sizes, every dim, strided views, NaN/inf, ties and integer/bool inputs; float64
gradcheck (cumprod with zeros too), forward-mode tangents against torch.func.jvp; the emulated
GPU against the CPU (rows longer than one block's tile); errors."""
import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import forward_ad as fwAD
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")
SHAPES = [(0,), (1,), (7,), (3, 5), (2, 0, 3), (4, 1, 13)]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _np(t):
    return t.detach().cpu().numpy()


def _close(a, b, **kw):
    np.testing.assert_allclose(_np(a) if isinstance(a, pe.Tensor) else a,
                               b.numpy() if isinstance(b, torch.Tensor) else b, equal_nan=True, **kw)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_value_scans_match_torch_on_every_dim(shape, dtype):
    a = _rng(len(shape)).standard_normal(shape).astype(dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for dim in range(-len(shape), len(shape)):
        for name in ("cumsum", "cumprod", "logcumsumexp"):
            got = getattr(pe, name)(pe.tensor(a), dim)
            want = getattr(torch, name)(torch.tensor(a), dim)
            assert got.dtype == getattr(pe, dtype) and tuple(got.shape) == shape
            _close(got, want, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(_np(pe.cumsum(pe.tensor(a), dim)), np.cumsum(a, axis=dim), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("shape", SHAPES)
def test_cummax_cummin_values_and_indices_match_torch(shape):
    a = _rng(3).integers(0, 4, shape).astype(np.float64)  # many ties
    for dim in range(-len(shape), len(shape)):
        for name in ("cummax", "cummin"):
            v, i = getattr(pe, name)(pe.tensor(a), dim)
            tv, ti = getattr(torch, name)(torch.tensor(a), dim)
            _close(v, tv)
            np.testing.assert_array_equal(_np(i), ti.numpy())
            assert i.dtype == pe.int64


def test_nan_and_inf_follow_torch():
    a = np.array([[1.0, NAN, 3.0, -INF, INF, 2.0, NAN, 0.0], [-INF, -INF, INF, INF, 5.0, NAN, 1.0, 1.0]])
    for name in ("cumsum", "cumprod", "logcumsumexp"):
        _close(getattr(pe, name)(pe.tensor(a), 1), getattr(torch, name)(torch.tensor(a), 1))
    for name in ("cummax", "cummin"):
        v, i = getattr(pe, name)(pe.tensor(a), 1)
        tv, ti = getattr(torch, name)(torch.tensor(a), 1)
        _close(v, tv)
        np.testing.assert_array_equal(_np(i), ti.numpy())


def test_integer_and_bool_inputs_promote_like_torch():
    ints = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int64)
    bools = np.array([True, False, True, True])
    for name in ("cumsum", "cumprod"):
        for a in (ints, bools):
            got, want = getattr(pe, name)(pe.tensor(a), -1), getattr(torch, name)(torch.tensor(a), -1)
            assert got.dtype == pe.int64 and want.dtype == torch.int64
            np.testing.assert_array_equal(_np(got), want.numpy())
    for name in ("cummax", "cummin"):
        for a in (ints, bools):
            v, i = getattr(pe, name)(pe.tensor(a), -1)
            tv, ti = getattr(torch, name)(torch.tensor(a), -1)
            assert str(v.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1]
            np.testing.assert_array_equal(_np(v), tv.numpy())
            np.testing.assert_array_equal(_np(i), ti.numpy())


def test_dtype_argument_casts_first():
    a = np.array([1.5, 2.5, -3.25])
    for name in ("cumsum", "cumprod"):
        got = getattr(pe, name)(pe.tensor(a), 0, dtype=pe.float32)
        want = getattr(torch, name)(torch.tensor(a), 0, dtype=torch.float32)
        assert got.dtype == pe.float32
        _close(got, want, rtol=1e-6)
        got = getattr(pe, name)(pe.tensor(a), 0, dtype=pe.int64)
        np.testing.assert_array_equal(_np(got), getattr(torch, name)(torch.tensor(a), 0, dtype=torch.int64).numpy())


def test_long_float32_cumsum_keeps_float_accuracy():
    a = _rng(1).random(100_003).astype(np.float32)
    got = _np(pe.cumsum(pe.tensor(a), 0))
    np.testing.assert_allclose(got, np.cumsum(a.astype(np.float64)), rtol=1e-6)


def test_strided_and_transposed_views():
    base = _rng(2).standard_normal((6, 10))
    views = [lambda m: m.t(), lambda m: m[::2, 1::3], lambda m: m.expand(3, 6, 10)[1]]
    for make in views:
        x, t = make(pe.tensor(base)), make(torch.tensor(base))
        for dim in range(x.ndim):
            for name in ("cumsum", "cumprod", "logcumsumexp"):
                _close(getattr(pe, name)(x, dim), getattr(torch, name)(t, dim), rtol=1e-12, atol=1e-12)
            v, i = pe.cummax(x, dim)
            np.testing.assert_array_equal(_np(i), torch.cummax(t, dim).indices.numpy())


def test_zero_dim_input():
    for name in ("cumsum", "cumprod", "logcumsumexp"):
        for dim in (0, -1):
            _close(getattr(pe, name)(pe.tensor(2.5), dim), getattr(torch, name)(torch.tensor(2.5), dim))
    v, i = pe.cummax(pe.tensor(2.5), 0)
    assert v.item() == 2.5 and i.item() == 0 and i.ndim == 0


def test_tensor_methods_and_in_place():
    a = _rng(4).standard_normal((3, 4))
    x = pe.tensor(a)
    _close(x.cumsum(1), torch.tensor(a).cumsum(1))
    _close(x.cumprod(dim=0), torch.tensor(a).cumprod(dim=0))
    _close(x.logcumsumexp(0), torch.tensor(a).logcumsumexp(0))
    _close(x.cummax(1).values, torch.tensor(a).cummax(1).values)
    _close(x.cummin(1)[1], torch.tensor(a).cummin(1)[1])
    _close(x.diff(dim=0), torch.tensor(a).diff(dim=0))
    y, ty = pe.tensor(a), torch.tensor(a)
    assert y.cumsum_(1) is y
    ty.cumsum_(1)
    _close(y, ty)
    y.cumprod_(0)
    ty.cumprod_(0)
    _close(y, ty)


# ----- diff -----

@pytest.mark.parametrize("n", [0, 1, 2, 5, 9])
def test_diff_matches_numpy_and_torch(n):
    a = _rng(n).standard_normal((4, 7))
    for dim in (0, 1, -1, -2):
        got = pe.diff(pe.tensor(a), n=n, dim=dim)
        _close(got, np.diff(a, n=n, axis=dim), rtol=1e-12, atol=1e-12)
        _close(got, torch.diff(torch.tensor(a), n=n, dim=dim), rtol=1e-12, atol=1e-12)


def test_diff_prepend_append_ints_and_bool():
    a = np.array([[1, 4, 9], [16, 25, 36]])
    pre, app = np.array([[0], [2]]), np.array([[7, 8], [9, 10]])
    got = pe.diff(pe.tensor(a), dim=1, prepend=pe.tensor(pre), append=pe.tensor(app))
    want = torch.diff(torch.tensor(a), dim=1, prepend=torch.tensor(pre), append=torch.tensor(app))
    np.testing.assert_array_equal(_np(got), want.numpy())
    b = np.array([True, False, False, True])
    np.testing.assert_array_equal(_np(pe.diff(pe.tensor(b))), torch.diff(torch.tensor(b)).numpy())
    assert pe.diff(pe.tensor(b)).dtype == pe.bool


# ----- gradients -----

@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"])
def test_gradcheck_every_dim(name):
    a = _rng(5).standard_normal((3, 4))
    for dim in (0, 1, -1):
        if name in ("cummax", "cummin"):
            f = lambda x, d=dim: getattr(pe, name)(x, d).values
        else:
            f = lambda x, d=dim: getattr(pe, name)(x, d)
        x = pe.tensor(a, requires_grad=True)
        assert pe.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("row", [[2.0, 0.0, 3.0, -1.5], [0.0, 2.0, 0.0, 3.0], [1.5, -2.0, 0.5, 0.0],
                                 [0.0, 0.0, 1.0, 2.0]])
def test_cumprod_gradient_with_zeros_matches_torch(row):
    a = np.array([row, [1.0, 2.0, 3.0, 4.0]])
    g = _rng(6).standard_normal(a.shape)
    x = pe.tensor(a, requires_grad=True)
    pe.cumprod(x, 1).backward(pe.tensor(g))
    tx = torch.tensor(a, requires_grad=True)
    torch.cumprod(tx, 1).backward(torch.tensor(g))
    _close(x.grad, tx.grad, rtol=1e-12, atol=1e-12)
    assert pe.autograd.gradcheck(lambda t: pe.cumprod(t, 1), (pe.tensor(a, requires_grad=True),), eps=1e-6,
                                 atol=1e-6, rtol=1e-4)


def test_second_order_gradients():
    a = _rng(7).standard_normal((2, 5))
    for f in (lambda x: pe.cumsum(x, 1), lambda x: pe.cumprod(x, 1), lambda x: pe.logcumsumexp(x, 1)):
        assert pe.autograd.gradgradcheck(f, (pe.tensor(a, requires_grad=True),), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_diff_gradcheck():
    a = _rng(8).standard_normal((3, 6))
    p = _rng(9).standard_normal((3, 2))
    f = lambda x, q: pe.diff(x, n=2, dim=1, prepend=q)
    assert pe.autograd.gradcheck(f, (pe.tensor(a, requires_grad=True), pe.tensor(p, requires_grad=True)))


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cumprod_zero", "logcumsumexp", "cummax", "cummin"])
def test_forward_mode_tangent_matches_torch(name):
    a = _rng(10).standard_normal((3, 5))
    if name == "cumprod_zero":
        a[0, 2] = a[1, 0] = a[1, 3] = 0.0
        name = "cumprod"
    v = _rng(11).standard_normal((3, 5))
    pick = (lambda r: r.values) if name in ("cummax", "cummin") else (lambda r: r)
    for dim in (0, 1):
        with fwAD.dual_level():
            out = pick(getattr(pe, name)(fwAD.make_dual(pe.tensor(a), pe.tensor(v)), dim))
            tangent = fwAD.unpack_dual(out).tangent
        _, t_tan = torch.func.jvp(lambda x: pick(getattr(torch, name)(x, dim)), (torch.tensor(a),),
                                  (torch.tensor(v),))
        _close(tangent, t_tan, rtol=1e-10, atol=1e-12)


# ----- the emulated GPU -----

@pytest.mark.parametrize("n", [1, 31, 257, 600])  # one warp, more than one 256-lane tile
def test_device_matches_cpu(device, n):
    a = _rng(n).standard_normal((3, n))
    a[1, n // 2] = NAN
    ints = _rng(n + 1).integers(-3, 4, (3, n))
    for x in (a, ints, a.astype(np.float32)):
        cpu, dev = pe.tensor(x), pe.tensor(x, device=device)
        for dim in (0, 1):
            for name in ("cumsum", "cumprod"):
                got = getattr(pe, name)(dev, dim)
                assert got.device.type == device
                _close(got, _np(getattr(pe, name)(cpu, dim)), rtol=1e-4 if x.dtype == np.float32 else 1e-10,
                       atol=1e-5 if x.dtype == np.float32 else 1e-10)
            if x.dtype != np.int64:
                _close(pe.logcumsumexp(dev, dim), _np(pe.logcumsumexp(cpu, dim)), rtol=1e-5, atol=1e-5)
            for name in ("cummax", "cummin"):
                v, i = getattr(pe, name)(dev, dim)
                cv, ci = getattr(pe, name)(cpu, dim)
                np.testing.assert_array_equal(_np(i), _np(ci))
                _close(v, _np(cv))


def test_device_strided_view_and_gradients(device):
    a = _rng(12).standard_normal((5, 8))
    x = pe.tensor(a, device=device).t()[::2]
    _close(pe.cumsum(x, 1), torch.cumsum(torch.tensor(a).t()[::2], 1), rtol=1e-12, atol=1e-12)
    b = _rng(13).standard_normal((3, 4))
    b[1, 1] = 0.0
    for f in (lambda t: pe.cumsum(t, 0), lambda t: pe.cumprod(t, 1), lambda t: pe.logcumsumexp(t, 1),
              lambda t: pe.cummax(t, 1).values, lambda t: pe.diff(t, dim=0)):
        assert gradcheck_on(device, f, b)


# ----- errors -----

def test_errors_name_what_came():
    x = pe.tensor([1.0, 2.0])
    with pytest.raises(IndexError, match=r"range of \[-1, 0\], but got 3"):
        pe.cumsum(x, 3)
    with pytest.raises(IndexError, match="but got -2"):
        pe.cummax(x, -2)
    with pytest.raises(TypeError, match="'dim' must be an int, not str"):
        pe.cumprod(x, "a")
    with pytest.raises(NotImplementedError, match="floating point input, got int64"):
        pe.logcumsumexp(pe.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError):
        torch.logcumsumexp(torch.tensor([1, 2]), 0)  # PyTorch refuses integers too
    with pytest.raises(TypeError, match="'input' .* must be Tensor, not list"):
        pe.cumsum([1.0], 0)
    with pytest.raises(RuntimeError, match="order must be non-negative but got -1"):
        pe.diff(x, n=-1)
    with pytest.raises(RuntimeError, match="at least one-dimensional"):
        pe.diff(pe.tensor(1.0))
    with pytest.raises(TypeError, match="'prepend' must be Tensor, not float"):
        pe.diff(x, prepend=1.0)
    with pytest.raises(RuntimeError, match=r"prepend of shape \(2, 2\) and input of shape \(2,\)"):
        pe.diff(x, prepend=pe.zeros(2, 2))
    with pytest.raises(ValueError, match="unknown op 'avg'"):
        pe._C.scan(x._impl, 0, "avg")
    with pytest.raises(ValueError, match="expected a max or min scan, got cumsum"):
        pe._C.scan_indices(x._impl, 0, "sum")
    with pytest.raises(TypeError, match="expected a float32, float64 or int64 input, got bool"):
        pe._C.scan(pe.tensor([True])._impl, 0, "sum")


# ----- the storage dtypes -----

STORAGE = ["uint8", "int8", "int16", "int32", "float16", "bfloat16"]


@pytest.mark.parametrize("dtype", STORAGE)
def test_storage_dtypes_match_torch(dtype):
    a = _rng(20).integers(0, 4, (3, 7)).astype(np.float64)
    t = torch.tensor(a).to(getattr(torch, dtype))
    x = pe.tensor(t.float().numpy()).to(getattr(pe, dtype))
    names = ["cumsum", "cumprod", "cummax", "cummin", "diff"] + (["logcumsumexp"] if t.is_floating_point() else [])
    for name in names:
        for dim in (0, 1):
            got, want = getattr(pe, name)(x, dim), getattr(torch, name)(t, dim)
            for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
                assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1], (name, g.dtype, w.dtype)
                np.testing.assert_allclose(_np(g.to(pe.float64)), w.double().numpy(), rtol=1e-2)
