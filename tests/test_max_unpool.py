"""F.max_unpool1d/2d/3d and nn.MaxUnpool*: values and gradients against torch 2.13, float64
gradcheck, device parity (the scatter/gather kernels on both devices), and PyTorch's errors."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pool_then_unpool(shape, k, s, p, dtype, device, output_size=None, n=2):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    tpool, tunpool = (TF.max_pool1d, TF.max_unpool1d) if n == 1 else (TF.max_pool2d, TF.max_unpool2d)
    ppool, punpool = (F.max_pool1d, F.max_unpool1d) if n == 1 else (F.max_pool2d, F.max_unpool2d)
    tx = torch.tensor(x)
    ty, ti = tpool(tx, k, s, p, return_indices=True)
    ty = ty.detach().requires_grad_()
    tu = tunpool(ty, ti, k, s, p, output_size=output_size)
    px = pe.tensor(x, device=device)
    py, pi = ppool(px, k, s, p, return_indices=True)
    py = py.detach().requires_grad_()
    pu = punpool(py, pi, k, s, p, output_size=output_size)
    g = np.random.default_rng(1).standard_normal(tuple(tu.shape)).astype(dtype)
    tu.backward(torch.tensor(g))
    pu.backward(pe.tensor(g, device=device))
    return tu, pu, ty, py


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k,s,p,output_size", [
    ((2, 3, 6, 6), 2, None, 0, None),
    ((1, 2, 7, 5), 3, 2, 1, None),
    ((2, 1, 7, 6), 2, 2, 0, (7, 6)),        # the odd size max_pool2d dropped, restored by output_size
    ((3, 5, 5), 2, 1, 0, [1, 3, 5, 5]),      # unbatched; overlapping windows; N, C given in output_size
    ((1, 1, 1, 1), 1, 1, 0, None),
])
def test_max_unpool2d_matches_torch(device, dtype, shape, k, s, p, output_size):
    tu, pu, ty, py = _pool_then_unpool(shape, k, s, p, dtype, device, output_size)
    assert pu.device.type == pe.device(device).type and pu.dtype.name == np.dtype(dtype).name
    assert tuple(pu.shape) == tuple(tu.shape)
    np.testing.assert_array_equal(pu.detach().cpu().numpy(), tu.detach().numpy())
    np.testing.assert_allclose(py.grad.cpu().numpy(), ty.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,k,s,p,output_size", [((2, 3, 9), 2, None, 0, None), ((3, 8), 3, 2, 1, [8])])
def test_max_unpool1d_matches_torch(device, shape, k, s, p, output_size):
    tu, pu, ty, py = _pool_then_unpool(shape, k, s, p, np.float64, device, output_size, n=1)
    np.testing.assert_array_equal(pu.detach().cpu().numpy(), tu.detach().numpy())
    np.testing.assert_allclose(py.grad.cpu().numpy(), ty.grad.numpy())


def test_max_unpool3d_matches_torch():
    x = torch.randn(1, 2, 4, 4, 4, dtype=torch.float64)
    y, i = TF.max_pool3d(x, 2, return_indices=True)
    want = TF.max_unpool3d(y, i, 2)
    got = F.max_unpool3d(pe.tensor(y.numpy()), pe.tensor(i.numpy()), 2)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_gradcheck_and_double_backward(device):
    x = pe.tensor(np.random.default_rng(2).standard_normal((1, 2, 4, 5)), device=device)
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    vals = np.random.default_rng(3).standard_normal(tuple(idx.shape))
    assert gradcheck_on(device, lambda v: F.max_unpool2d(v, idx, 2, output_size=(4, 5)), vals)
    # create_graph: the gradient (a gather) is itself differentiable
    v = pe.tensor(vals, device=device, requires_grad=True)
    out = F.max_unpool2d(v, idx, 2, output_size=(4, 5))
    (g,) = pe.autograd.grad((out * out).sum(), v, create_graph=True)
    (gg,) = pe.autograd.grad(g.sum(), v)
    np.testing.assert_allclose(gg.cpu().numpy(), np.full(vals.shape, 2.0))


def test_module_matches_torch_and_roundtrips_pool():
    pool, unpool = nn.MaxPool2d(2, stride=2, return_indices=True), nn.MaxUnpool2d(2, stride=2)
    assert repr(unpool) == repr(torch.nn.MaxUnpool2d(2, stride=2))
    assert repr(nn.MaxUnpool1d(3)) == repr(torch.nn.MaxUnpool1d(3))
    assert repr(nn.MaxUnpool3d(2, 1, 1)) == repr(torch.nn.MaxUnpool3d(2, 1, 1))
    x = np.arange(1, 33, dtype=np.float32).reshape(1, 2, 4, 4)
    y, i = pool(pe.tensor(x))
    out = unpool(y, i, output_size=(1, 2, 4, 4))
    ty, ti = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(out.numpy(), torch.nn.MaxUnpool2d(2)(ty, ti, output_size=(1, 2, 4, 4)).numpy())


def test_errors_name_what_came():
    y, i = F.max_pool2d(pe.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"invalid output_size.*dim 0 must be between 2 and 6"):
        F.max_unpool2d(y, i, 2, output_size=(9, 4))
    with pytest.raises(ValueError, match="2 or 4 elements"):
        F.max_unpool2d(y, i, 2, output_size=(4, 4, 4))
    with pytest.raises(RuntimeError, match=r"'indices'.*\(1, 1, 2, 2\).*\(1, 1, 4\)"):
        F.max_unpool2d(y, i.reshape(1, 1, 4), 2)
    with pytest.raises(RuntimeError, match="invalid max index 16"):
        F.max_unpool2d(y, pe.full((1, 1, 2, 2), 16, dtype=pe.int64), 2)
    with pytest.raises(RuntimeError, match="int64.*float32"):
        F.max_unpool2d(y, y, 2)
    with pytest.raises(RuntimeError, match=r"3-D.*4-D.*\(4,\)"):
        F.max_unpool2d(pe.randn(4), pe.zeros(4, dtype=pe.int64), 2)
    with pytest.raises(TypeError, match="'input' must be a Tensor, not list"):
        F.max_unpool2d([1.0], i, 2)
