"""topk / kthvalue (the sort kernel family): indices and values against torch 2.13 on edge sizes,
strided views and every numeric dtype, the NaN and tie order, gradcheck/gradgradcheck of the
values in float64, CPU/CUDA parity, and the errors."""
import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def _distinct(shape, dtype, seed=0):
    """Values without ties (torch's order among equal values is unspecified)."""
    n = int(np.prod(shape))
    a = np.random.default_rng(seed).permutation(n).reshape(shape) - n // 2
    return a.astype(dtype) * (0.37 if dtype != np.int64 else 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape,dim", [((1,), 0), ((7,), 0), ((13, 5), 0), ((13, 5), 1), ((3, 4, 5), 1),
                                       ((2, 3, 31), -1), ((4, 1, 3), 1)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch(device, dtype, shape, dim, largest):
    a = _distinct(shape, dtype)
    n = shape[dim]
    for k in sorted({0, 1, n // 2, n}):
        r = pe.topk(pe.tensor(a, device=device), k, dim=dim, largest=largest)
        t = torch.topk(torch.tensor(a), k, dim=dim, largest=largest)
        assert r.indices.dtype == pe.int64 and r.values.dtype == pe.tensor(a).dtype
        np.testing.assert_array_equal(r.indices.cpu().numpy(), t.indices.numpy())
        np.testing.assert_array_equal(r.values.cpu().numpy(), t.values.numpy())


def test_topk_strided_and_transposed_views(device):
    a = _distinct((6, 8, 5), np.float64, seed=3)
    x, xt = pe.tensor(a, device=device), torch.tensor(a)
    for view in (lambda v: v.transpose(0, 2), lambda v: v[::2, 1::3], lambda v: v.permute(2, 0, 1)[:, 1:]):
        for dim in range(3):
            k = min(3, view(xt).shape[dim])
            r = view(x).topk(k, dim=dim)
            t = view(xt).topk(k, dim=dim)
            np.testing.assert_array_equal(r.indices.cpu().numpy(), t.indices.numpy())
            np.testing.assert_array_equal(r.values.cpu().numpy(), t.values.numpy())


def test_topk_nan_counts_above_every_number_and_ties_go_by_index(device):
    x = pe.tensor([1.0, float("nan"), 1.0, 0.0, float("nan"), -2.0], device=device)
    r = pe.topk(x, 3)
    np.testing.assert_array_equal(r.indices.cpu().numpy(), [1, 4, 0])  # NaNs first, then the 1.0 at index 0
    r = pe.topk(x, 6, largest=False)
    np.testing.assert_array_equal(r.indices.cpu().numpy(), [5, 3, 0, 2, 1, 4])
    t = torch.topk(torch.tensor([1.0, float("nan"), 0.0]), 1)
    assert int(pe.topk(pe.tensor([1.0, float("nan"), 0.0], device=device), 1).indices.item()) == int(t.indices)


def test_topk_zero_d_and_empty(device):
    r = pe.topk(pe.tensor(2.5, device=device), 1)
    assert r.values.shape == () and float(r.values.item()) == 2.5 and int(r.indices.item()) == 0
    r = pe.topk(pe.zeros(0, 3, device=device), 0, dim=0)
    assert tuple(r.values.shape) == (0, 3) and tuple(r.indices.shape) == (0, 3)
    r = pe.topk(pe.zeros(0, 3, device=device), 2, dim=1)
    assert tuple(r.indices.shape) == (0, 2)


@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue_matches_torch(device, keepdim):
    a = _distinct((5, 7), np.float64, seed=1)
    for dim in (0, 1, -1):
        for k in (1, 3, a.shape[dim]):
            r = pe.kthvalue(pe.tensor(a, device=device), k, dim=dim, keepdim=keepdim)
            t = torch.kthvalue(torch.tensor(a), k, dim=dim, keepdim=keepdim)
            np.testing.assert_array_equal(r.indices.cpu().numpy(), t.indices.numpy())
            np.testing.assert_array_equal(r.values.cpu().numpy(), t.values.numpy())
    r = pe.tensor(3.0).kthvalue(1)
    assert float(r.values.item()) == 3.0 and int(r.indices.item()) == 0


def test_topk_and_kthvalue_gradients(device):
    a = _distinct((4, 6), np.float64, seed=2)
    x = pe.tensor(a, device=device, requires_grad=True)
    assert gradcheck(lambda v: pe.topk(v, 3, dim=1).values, [x])
    assert gradcheck(lambda v: pe.topk(v, 2, dim=0, largest=False).values, [x])
    assert gradcheck(lambda v: pe.kthvalue(v, 2, dim=1).values, [x])
    assert gradgradcheck(lambda v: pe.topk(v, 3, dim=1).values ** 2, [x])
    # the gradient flows to the chosen elements only, as torch's
    xt = torch.tensor(a, requires_grad=True)
    pe.topk(x, 2, dim=1).values.sum().backward()
    torch.topk(xt, 2, dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), xt.grad.numpy())


def test_topk_errors_match_torch_types():
    x = pe.zeros(3)
    for bad in (4, -1):
        with pytest.raises(RuntimeError, match="k"):
            pe.topk(x, bad)
        with pytest.raises(RuntimeError):
            torch.topk(torch.zeros(3), bad)
    with pytest.raises(IndexError, match="Dimension out of range"):
        pe.topk(x, 1, dim=2)
    with pytest.raises(TypeError, match="'k'"):
        pe.topk(x, 1.5)
    with pytest.raises(RuntimeError, match="bool"):
        pe.topk(pe.tensor([True, False]), 1)
    with pytest.raises(RuntimeError, match="k=0 out of range"):
        pe.kthvalue(x, 0)
    with pytest.raises(RuntimeError, match="k=4 out of range"):
        pe.kthvalue(x, 4)
    with pytest.raises(TypeError, match="Tensor"):
        pe.topk([1.0, 2.0], 1)
