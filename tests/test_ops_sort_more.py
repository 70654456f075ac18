"""The sort family beyond topk/kthvalue (pyengine/ops/sort.py, csrc/ops/sort.*,
csrc/cpu/sort_kernels.cpp, cuda/sort.cu): sort, argsort, msort, median, nanmedian, mode,
unique, unique_consecutive, searchsorted and bucketize against torch 2.13 and NumPy on edge
sizes (empty, 1, primes, rows longer than the CUDA kernel's shared-memory tile), ties, NaN/inf,
int64 and bool inputs, strided views and every dim; float64 gradcheck, forward-mode tangents;
the emulated GPU against the CPU; errors."""
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


def _same(a, b):
    b = b.numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    a = _np(a) if isinstance(a, pe.Tensor) else np.asarray(a)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_array_equal(a, b)


def _ties_and_nans(shape, seed):
    a = _rng(seed).integers(0, 5, shape).astype(np.float64)
    flat = a.reshape(-1)
    flat[::7] = NAN
    flat[3::11] = INF
    flat[5::13] = -INF
    return a


# ----- sort, argsort, msort -----

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_torch_stable_on_every_dim(shape, descending):
    a = _ties_and_nans(shape, len(shape))
    for dim in range(-len(shape), len(shape)):
        v, i = pe.sort(pe.tensor(a), dim=dim, descending=descending)
        tv, ti = torch.sort(torch.tensor(a), dim=dim, descending=descending, stable=True)
        _same(v, tv)
        _same(i, ti)
        _same(pe.argsort(pe.tensor(a), dim=dim, descending=descending), ti)
        assert i.dtype == pe.int64


def test_sort_ascending_matches_numpy_stable():
    a = _rng(1).integers(0, 20, (5, 37)).astype(np.float64)
    a[2, ::5] = NAN  # NumPy also puts NaN last
    i = pe.argsort(pe.tensor(a), dim=1, stable=True)
    _same(i, np.argsort(a, axis=1, kind="stable"))


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_sort_other_dtypes(dtype):
    a = _rng(2).integers(-3, 3, (4, 9)).astype(dtype)
    for dim in (0, 1):
        v, i = pe.sort(pe.tensor(a), dim)
        tv, ti = torch.sort(torch.tensor(a), dim=dim, stable=True)
        _same(v, tv)
        _same(i, ti)
        assert str(v.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1]


def test_sort_zero_dim_and_msort():
    v, i = pe.sort(pe.tensor(3.0))
    assert v.item() == 3.0 and i.item() == 0 and i.ndim == 0
    a = _rng(3).standard_normal((6, 4))
    _same(pe.msort(pe.tensor(a)), torch.msort(torch.tensor(a)))
    _same(pe.tensor(a).msort(), np.sort(a, axis=0))


def test_sort_strided_views():
    base = _rng(4).integers(0, 6, (8, 12)).astype(np.float64)
    for make in (lambda m: m.t(), lambda m: m[1::2, ::3], lambda m: m.expand(2, 8, 12)[1]):
        x, t = make(pe.tensor(base)), make(torch.tensor(base))
        for dim in range(x.ndim):
            for desc in (False, True):
                v, i = x.sort(dim, descending=desc)
                tv, ti = t.sort(dim=dim, descending=desc, stable=True)
                _same(v, tv)
                _same(i, ti)


@pytest.mark.parametrize("n", [1, 2, 31, 1023, 1024, 1025, 2049, 5003])  # tile edges of cuda/sort.cu
def test_device_sort_long_rows_match_cpu(device, n):
    a = _rng(n).integers(0, max(n // 4, 2), (2, n)).astype(np.float64)
    a[0, ::17] = NAN
    for x in (a, a.astype(np.int64) if n < 1000 else a.astype(np.float32)):
        for desc in (False, True):
            dev = pe.argsort(pe.tensor(x, device=device), 1, descending=desc)
            assert dev.device.type == device
            _same(dev, torch.argsort(torch.tensor(x), dim=1, descending=desc, stable=True))
    # a long dim that is not the innermost one
    dev = pe.sort(pe.tensor(a.T.copy(), device=device), 0)
    _same(dev.indices, torch.sort(torch.tensor(a.T.copy()), dim=0, stable=True).indices)


@pytest.mark.parametrize("n", [2048, 2049, 4099])  # past cuda/sort.cu's kRankMaxN: topk through the sort
def test_device_topk_long_rows_take_the_sort(device, n):
    a = _rng(n).integers(0, n // 3, (2, n)).astype(np.float64)
    a[1, ::9] = NAN
    cpu, dev = pe.tensor(a), pe.tensor(a, device=device)
    for k in (1, 7, n):
        for largest in (True, False):
            v, i = pe.topk(dev, k, 1, largest)
            cv, ci = pe.topk(cpu, k, 1, largest)
            _same(i, _np(ci))
            _same(v, torch.topk(torch.tensor(a), k, 1, largest).values)
    v, i = pe.topk(pe.tensor(a.T.copy(), device=device), 5, 0)
    _same(i, _np(pe.topk(pe.tensor(a.T.copy()), 5, 0).indices))


@pytest.mark.parametrize("n", [1, 2, 1024, 1025, 3001])
def test_device_median_long_rows(device, n):
    # distinct values (with ties PyTorch's index among them is arbitrary past 16 elements)
    a = _rng(n).standard_normal((3, n))
    a[0, ::5] = NAN
    a[2, :] = NAN
    for name in ("median", "nanmedian"):
        v, i = getattr(pe, name)(pe.tensor(a, device=device), 1)
        tv, ti = getattr(torch, name)(torch.tensor(a), 1)
        assert v.device.type == device
        _same(v, tv)
        _same(i[:2], ti[:2])
        # an all-NaN row: PyTorch's index among the NaNs is arbitrary past 16 elements; ours is
        # the first NaN (what PyTorch gives on short rows)
        assert i[2].item() == 0 and (n > 16 or ti[2].item() == 0)


def test_sort_gradients():
    a = _rng(5).standard_normal((3, 5))
    for dim in (0, 1, -1):
        for desc in (False, True):
            x = pe.tensor(a, requires_grad=True)
            assert pe.autograd.gradcheck(lambda t, d=dim, s=desc: pe.sort(t, d, s).values, (x,))


# ----- median, nanmedian, mode -----

@pytest.mark.parametrize("shape", [(1,), (7,), (4, 6), (3, 1, 5), (2, 3, 4)])
def test_median_family_matches_torch(shape):
    a = _ties_and_nans(shape, 10 + len(shape))
    clean = _rng(11).integers(0, 4, shape).astype(np.float64)
    for name in ("median", "nanmedian"):
        for arr in (a, clean):
            _same(getattr(pe, name)(pe.tensor(arr)), getattr(torch, name)(torch.tensor(arr)))
            for dim in range(-len(shape), len(shape)):
                for keepdim in (False, True):
                    v, i = getattr(pe, name)(pe.tensor(arr), dim, keepdim)
                    tv, ti = getattr(torch, name)(torch.tensor(arr), dim, keepdim)
                    _same(v, tv)
                    _same(i, ti)
    ints = _rng(12).integers(-5, 5, shape)
    for dim in range(len(shape)):
        v, i = pe.median(pe.tensor(ints), dim)
        tv, ti = torch.median(torch.tensor(ints), dim)
        _same(v, tv)
        _same(i, ti)
    assert np.median(clean.reshape(-1)) >= pe.median(pe.tensor(clean)).item()  # the lower median


def test_median_edges():
    assert np.isnan(pe.median(pe.tensor(np.zeros(0))).item())
    assert np.isnan(pe.nanmedian(pe.tensor([NAN, NAN])).item())
    v, i = pe.nanmedian(pe.tensor([NAN, NAN]), 0)
    tv, ti = torch.nanmedian(torch.tensor([NAN, NAN]), 0)
    assert np.isnan(v.item()) and i.item() == ti.item()
    v, i = pe.median(pe.zeros(3, 0), 0)
    tv, ti = torch.median(torch.zeros(3, 0), 0)
    assert tuple(v.shape) == tuple(tv.shape) and tuple(i.shape) == tuple(ti.shape)
    assert pe.median(pe.tensor(4.0), 0).values.item() == 4.0


@pytest.mark.parametrize("shape", [(1,), (9,), (4, 6), (3, 1, 5)])
def test_mode_matches_torch(shape):
    for seed in range(3):
        a = _rng(seed).integers(0, 3, shape)
        for arr in (a, a.astype(np.float64), a.astype(np.float32), (a % 2).astype(bool)):
            for dim in range(-len(shape), len(shape)):
                for keepdim in (False, True):
                    v, i = pe.mode(pe.tensor(arr), dim, keepdim)
                    tv, ti = torch.mode(torch.tensor(arr), dim, keepdim)
                    _same(v, tv)
                    _same(i, ti)


def _last_occurrence(a, values, dim):
    """For each row along dim, the last index holding its mode value."""
    hit = np.moveaxis(a, dim, -1) == np.expand_dims(values, -1)
    return hit.shape[-1] - 1 - np.argmax(hit[..., ::-1], axis=-1)


def test_mode_device_and_methods(device):
    # rows longer than 16: PyTorch's index among the occurrences is then arbitrary (unstable
    # sort); ours is the last occurrence, on both devices
    a = _rng(4).integers(0, 4, (5, 40)).astype(np.float64)
    for dim in (0, 1):
        v, i = pe.tensor(a, device=device).mode(dim)
        assert v.device.type == device
        _same(v, torch.tensor(a).mode(dim).values)
        _same(i, _last_occurrence(a, _np(v), dim))
        v, i = pe.tensor(a, device=device).median(dim)
        tv, ti = torch.tensor(a).median(dim)
        _same(v, tv)
        _same(i, ti)
    assert pe.tensor(a, device=device).nanmedian().item() == torch.tensor(a).nanmedian().item()


def test_median_and_mode_gradients():
    a = _rng(6).standard_normal((4, 5))
    x = lambda: pe.tensor(a, requires_grad=True)
    assert pe.autograd.gradcheck(lambda t: pe.median(t), (x(),))
    assert pe.autograd.gradcheck(lambda t: pe.nanmedian(t), (x(),))
    for dim in (0, 1):
        assert pe.autograd.gradcheck(lambda t, d=dim: pe.median(t, d).values, (x(),))
        assert pe.autograd.gradcheck(lambda t, d=dim: pe.nanmedian(t, d, True).values, (x(),))
        assert pe.autograd.gradcheck(lambda t, d=dim: pe.mode(t, d).values, (x(),))
    # median() with ties shares the gradient evenly among the tied elements, as PyTorch
    b = np.array([[1.0, 2.0, 2.0], [2.0, 3.0, 0.0]])
    xb, tb = pe.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    pe.median(xb).backward()
    torch.median(tb).backward()
    _same(xb.grad, tb.grad)


def test_forward_mode_tangents_match_torch():
    a = _rng(7).standard_normal((3, 6))
    v = _rng(8).standard_normal((3, 6))
    cases = [lambda m, x: m.sort(x, 1, True).values, lambda m, x: m.median(x, 0).values,
             lambda m, x: m.median(x), lambda m, x: m.mode(x, 1).values]
    for f in cases:
        with fwAD.dual_level():
            tangent = fwAD.unpack_dual(f(pe, fwAD.make_dual(pe.tensor(a), pe.tensor(v)))).tangent
        _, t_tan = torch.func.jvp(lambda x: f(torch, x), (torch.tensor(a),), (torch.tensor(v),))
        np.testing.assert_allclose(_np(tangent), t_tan.numpy(), rtol=1e-12)


# ----- unique, unique_consecutive -----

@pytest.mark.parametrize("shape", [(0,), (1,), (13,), (4, 6), (2, 3, 5)])
def test_unique_flat_matches_torch(shape):
    a = _rng(len(shape)).integers(0, 5, shape)
    for arr in (a, a.astype(np.float64), (a % 2).astype(bool)):
        for inv in (False, True):
            for cnt in (False, True):
                got = pe.unique(pe.tensor(arr), return_inverse=inv, return_counts=cnt)
                want = torch.unique(torch.tensor(arr), return_inverse=inv, return_counts=cnt)
                for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
                    _same(g, w)
        np.testing.assert_array_equal(_np(pe.unique(pe.tensor(arr))), np.unique(arr))
        got = pe.unique_consecutive(pe.tensor(arr), return_inverse=True, return_counts=True)
        want = torch.unique_consecutive(torch.tensor(arr), return_inverse=True, return_counts=True)
        for g, w in zip(got, want):
            _same(g, w)


def test_unique_nan_and_inf():
    a = np.array([NAN, 1.0, INF, NAN, -INF, 1.0, INF])
    got = pe.unique(pe.tensor(a), return_inverse=True, return_counts=True)
    want = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        _same(g, w)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_dim_matches_torch(dim):
    a = _rng(3).integers(0, 2, (6, 4, 3))
    a[3] = a[1]
    a[:, 2] = a[:, 0]
    for inv in (False, True):
        for cnt in (False, True):
            got = pe.unique(pe.tensor(a), return_inverse=inv, return_counts=cnt, dim=dim)
            want = torch.unique(torch.tensor(a), return_inverse=inv, return_counts=cnt, dim=dim)
            for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
                _same(g, w)
    got = pe.unique_consecutive(pe.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    want = torch.unique_consecutive(torch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    for g, w in zip(got, want):
        _same(g, w)


def test_unique_device_and_methods(device):
    a = _rng(9).integers(0, 7, (5, 8))
    x = pe.tensor(a, device=device)
    for g, w in zip(x.unique(return_inverse=True, return_counts=True),
                    torch.tensor(a).unique(return_inverse=True, return_counts=True)):
        assert g.device.type == device
        _same(g, w)
    _same(x.unique(dim=1), torch.tensor(a).unique(dim=1))
    _same(x.unique_consecutive(), torch.tensor(a).unique_consecutive())


# ----- searchsorted, bucketize -----

def test_searchsorted_1d_matches_numpy_and_torch():
    b = np.array([-INF, 1.0, 2.0, 2.0, 2.0, 5.0, 7.0, INF, NAN])
    v = np.array([[-5.0, 1.0, 2.0, 3.0], [7.0, INF, NAN, -INF]])
    for right in (False, True):
        got = pe.searchsorted(pe.tensor(b), pe.tensor(v), right=right)
        _same(got, torch.searchsorted(torch.tensor(b), torch.tensor(v), right=right))
        side = "right" if right else "left"
        _same(pe.searchsorted(pe.tensor(b), pe.tensor(v), side=side), torch.searchsorted(torch.tensor(b),
                                                                                           torch.tensor(v), side=side))
        finite = np.array([-5.0, 1.0, 2.0, 3.0, 7.0])
        _same(pe.searchsorted(pe.tensor(b[1:7]), pe.tensor(finite), right=right),
              np.searchsorted(b[1:7], finite, side=side))


def test_searchsorted_nd_sorter_scalar_and_dtypes():
    rng = _rng(10)
    b = np.sort(rng.integers(0, 10, (2, 3, 7)), axis=-1)
    v = rng.integers(-1, 11, (2, 3, 5))
    for right in (False, True):
        _same(pe.searchsorted(pe.tensor(b), pe.tensor(v), right=right),
              torch.searchsorted(torch.tensor(b), torch.tensor(v), right=right))
        # float values in int64 boundaries: both promote
        _same(pe.searchsorted(pe.tensor(b), pe.tensor(v + 0.5), right=right),
              torch.searchsorted(torch.tensor(b), torch.tensor(v + 0.5), right=right))
    unsorted = rng.permutation(np.arange(11.0))
    sorter = np.argsort(unsorted)
    vals = np.array([0.5, 3.0, 10.0, 11.5])
    _same(pe.searchsorted(pe.tensor(unsorted), pe.tensor(vals), sorter=pe.tensor(sorter)),
          torch.searchsorted(torch.tensor(unsorted), torch.tensor(vals), sorter=torch.tensor(sorter)))
    got = pe.searchsorted(pe.tensor([1.0, 2.0, 3.0]), 2.5)
    assert got.ndim == 0 and got.item() == 2 and got.dtype == pe.int64
    assert pe.searchsorted(pe.tensor(np.zeros(0)), pe.tensor([1.0, 2.0])).tolist() == [0, 0]
    assert tuple(pe.searchsorted(pe.tensor([1.0]), pe.tensor(np.zeros((2, 0)))).shape) == (2, 0)


def test_bucketize_matches_torch():
    bnd = np.array([1.0, 3.0, 3.0, 5.0, 9.0])
    v = _rng(11).integers(0, 11, (4, 5)).astype(np.float64)
    for right in (False, True):
        _same(pe.bucketize(pe.tensor(v), pe.tensor(bnd), right=right),
              torch.bucketize(torch.tensor(v), torch.tensor(bnd), right=right))
        _same(pe.bucketize(pe.tensor(v).t(), pe.tensor(bnd), right=right),
              torch.bucketize(torch.tensor(v).t(), torch.tensor(bnd), right=right))
    assert pe.bucketize(4, pe.tensor(bnd)).item() == torch.bucketize(4, torch.tensor(bnd)).item()


def test_search_device_matches_cpu(device):
    rng = _rng(12)
    b = np.sort(rng.standard_normal((3, 50)), axis=-1)
    v = rng.standard_normal((3, 20))
    for right in (False, True):
        got = pe.searchsorted(pe.tensor(b, device=device), pe.tensor(v, device=device), right=right)
        assert got.device.type == device
        _same(got, torch.searchsorted(torch.tensor(b), torch.tensor(v), right=right))
    sorter = np.argsort(b[0][::-1].copy())
    got = pe.searchsorted(pe.tensor(b[0][::-1].copy(), device=device), pe.tensor(v[0], device=device),
                          sorter=pe.tensor(sorter, device=device))
    _same(got, torch.searchsorted(torch.tensor(b[0][::-1].copy()), torch.tensor(v[0]), sorter=torch.tensor(sorter)))
    _same(pe.bucketize(pe.tensor(v, device=device), pe.tensor(b[0], device=device)),
          torch.bucketize(torch.tensor(v), torch.tensor(b[0])))


# ----- more device parity and gradients there -----

def test_device_gradients(device):
    a = _rng(13).standard_normal((3, 5))
    for f in (lambda t: pe.sort(t, 1).values, lambda t: pe.median(t, 0).values, lambda t: pe.median(t),
              lambda t: pe.mode(t, 1).values, lambda t: pe.sort(t, 0, descending=True)[0]):
        assert gradcheck_on(device, f, a)


# ----- errors -----

def test_errors_name_what_came():
    x = pe.tensor([[1.0, 2.0]])
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        pe.sort(x, 2)
    with pytest.raises(IndexError, match="but got -3"):
        pe.argsort(x, -3)
    with pytest.raises(TypeError, match="'dim' must be an int, not float"):
        pe.median(x, 1.5)
    with pytest.raises(IndexError, match=r"reduction dim 0 to have non-zero size \(input shape \(0, 3\)\)"):
        pe.median(pe.zeros(0, 3), 0)
    with pytest.raises(IndexError, match="non-zero size"):
        pe.mode(pe.zeros(0, 3), 0)
    with pytest.raises(TypeError, match="'input' must be Tensor, not list"):
        pe.sort([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"boundaries tensor \(1, 3\) and input value tensor \(1,\)"):
        pe.searchsorted(pe.tensor([[1.0, 2.0, 3.0]]), pe.tensor([2.0]))
    with pytest.raises(RuntimeError, match=r"sorter index out of range: got values in \[0, 5\]"):
        pe.searchsorted(pe.tensor([1.0, 2.0, 3.0]), pe.tensor([2.0]), sorter=pe.tensor([0, 1, 5]))
    with pytest.raises(RuntimeError, match="same size"):
        pe.searchsorted(pe.tensor([1.0, 2.0, 3.0]), pe.tensor([2.0]), sorter=pe.tensor([0, 1]))
    with pytest.raises(TypeError, match="sorter must be an int64 tensor, got float32"):
        pe.searchsorted(pe.tensor([1.0, 2.0]), pe.tensor([2.0]), sorter=pe.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="side can only be 'left' or 'right' but got 'up'"):
        pe.searchsorted(pe.tensor([1.0]), pe.tensor([1.0]), side="up")
    with pytest.raises(RuntimeError, match="can't be set to opposites"):
        pe.searchsorted(pe.tensor([1.0]), pe.tensor([1.0]), side="left", right=True)
    with pytest.raises(RuntimeError, match="0-d"):
        pe.searchsorted(pe.tensor(1.0), pe.tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"must be 1 dimension, but got dim\(2\)"):
        pe.bucketize(pe.tensor([1.0]), pe.tensor([[1.0]]))
    with pytest.raises(TypeError, match="'input' must be Tensor or Number, not str"):
        pe.bucketize("a", pe.tensor([1.0]))
    with pytest.raises(RuntimeError, match="0 sized dimensions"):
        pe.unique(pe.zeros(0, 3), dim=1)
    with pytest.raises(RuntimeError, match="got bool"):
        pe._C.sort_indices(pe.tensor([True])._impl, 0, False)
    if pe.cuda.is_available():
        with pytest.raises(RuntimeError, match="same device"):
            pe.searchsorted(pe.tensor([1.0]), pe.tensor([1.0], device="cuda"))


# ----- the storage dtypes (ranked through int64 / float32, values gathered in their own dtype) -----

STORAGE = ["uint8", "int8", "int16", "int32", "float16", "bfloat16"]


def _pair(a, dtype):
    """The same data as a pyengine and a torch tensor of `dtype`."""
    t = torch.tensor(a).to(getattr(torch, dtype))
    return pe.tensor(t.float().numpy()).to(getattr(pe, dtype)), t


def _same_t(got, want):
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (got.dtype, want.dtype)
    np.testing.assert_array_equal(_np(got.to(pe.float64)), want.double().numpy())


@pytest.mark.parametrize("dtype", STORAGE)
def test_storage_dtypes_match_torch(dtype):
    a = _rng(20).integers(0, 6, (4, 9)).astype(np.float64)
    x, t = _pair(a, dtype)
    for dim in (0, 1):
        v, i = pe.sort(x, dim, descending=True)
        tv, ti = torch.sort(t, dim=dim, descending=True, stable=True)
        _same_t(v, tv)
        _same(i, ti)
        v, i = pe.median(x, dim)
        tv, ti = torch.median(t, dim)
        _same_t(v, tv)
        _same(i, ti)
        v, i = pe.mode(x, dim)
        tv, ti = torch.mode(t, dim)
        _same_t(v, tv)
        _same(i, ti)
    _same_t(pe.median(x), torch.median(t))
    got = pe.unique(x, return_counts=True)
    want = torch.unique(t, return_counts=True)
    _same_t(got[0], want[0])
    _same(got[1], want[1])
    bnd, tb = _pair(np.array([1.0, 2.0, 4.0]), dtype)
    _same(pe.searchsorted(bnd, x), torch.searchsorted(tb, t))
    _same_t(pe.bucketize(x, bnd, out_int32=True), torch.bucketize(t, tb, out_int32=True))
