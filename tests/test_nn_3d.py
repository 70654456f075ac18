"""3-D layers: F.conv3d / nn.Conv3d (composed from the 2-D conv kernels over depth taps) and
F.max_pool3d / F.avg_pool3d / nn.MaxPool3d / nn.AvgPool3d, against torch 2.13 (values and gradients,
float32/float64), float64 gradcheck, device parity, and PyTorch's errors."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _arrays(seed, *shapes, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _compare(pe_fn, torch_fn, arrays, device, dtype, grad=True):
    """Runs both on the same inputs; checks the output and every input's gradient."""
    tin = [torch.tensor(a, requires_grad=grad) for a in arrays]
    pin = [pe.tensor(a, device=device, requires_grad=grad) for a in arrays]
    tout, pout = torch_fn(*tin), pe_fn(*pin)
    assert pout.device.type == pe.device(device).type
    assert tuple(pout.shape) == tuple(tout.shape) and pout.dtype.name == np.dtype(dtype).name
    np.testing.assert_allclose(pout.detach().cpu().numpy(), tout.detach().numpy(), **TOL[dtype])
    if grad:
        g = np.random.default_rng(9).standard_normal(tuple(tout.shape)).astype(dtype)
        tout.backward(torch.tensor(g))
        pout.backward(pe.tensor(g, device=device))
        for p, t in zip(pin, tin):
            np.testing.assert_allclose(p.grad.cpu().numpy(), t.grad.numpy(), **TOL[dtype])


# ---------------------------------------------------------------- conv3d
CONV_CASES = [
    ((1, 2, 3, 4, 5), (3, 2, 2, 2, 2), dict()),
    ((2, 4, 5, 4, 3), (6, 2, 3, 2, 1), dict(stride=(2, 1, 2), padding=1, dilation=(1, 2, 1), groups=2)),
    ((3, 3, 4, 5), (2, 3, 2, 3, 2), dict(padding="same")),          # unbatched, even kernel: asymmetric 'same'
    ((1, 1, 5, 3, 3), (2, 1, 3, 1, 1), dict(padding="same", dilation=2)),
    ((1, 2, 4, 4, 4), (3, 2, 2, 2, 2), dict(padding="valid", stride=2)),
    ((1, 1, 1, 1, 1), (1, 1, 1, 1, 1), dict()),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xshape,wshape,kw", CONV_CASES)
def test_conv3d_matches_torch(device, dtype, bias, xshape, wshape, kw):
    arrays = _arrays(0, xshape, wshape, (wshape[0],), dtype=dtype)
    if not bias:
        arrays = arrays[:2]
    _compare(lambda *a: F.conv3d(*a, **kw), lambda *a: TF.conv3d(*a, **kw), arrays, device, dtype)


def test_conv3d_gradcheck(device):
    kw = dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2)
    x, w, b = _arrays(1, (1, 2, 4, 3, 3), (2, 1, 2, 2, 2), (2,))
    assert gradcheck_on(device, lambda x, w, b: F.conv3d(x, w, b, **kw), x, w, b)


def test_conv3d_double_backward():
    x, w = [pe.tensor(a, requires_grad=True) for a in _arrays(2, (1, 1, 3, 3, 3), (1, 1, 2, 2, 2))]
    tx, tw = [torch.tensor(a.detach().numpy(), requires_grad=True) for a in (x, w)]
    (gx,) = pe.autograd.grad(F.conv3d(x, w).pow(2).sum(), x, create_graph=True)
    (tgx,) = torch.autograd.grad(TF.conv3d(tx, tw).pow(2).sum(), tx, create_graph=True)
    (gw,) = pe.autograd.grad(gx.sum(), w)
    (tgw,) = torch.autograd.grad(tgx.sum(), tw)
    np.testing.assert_allclose(gw.numpy(), tgw.numpy(), rtol=1e-10)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_matches_torch(padding_mode):
    kw = dict(stride=(1, 2, 1), padding=1, groups=2, padding_mode=padding_mode)
    m, t = nn.Conv3d(4, 2, (3, 2, 3), **kw), torch.nn.Conv3d(4, 2, (3, 2, 3), **kw).double()
    assert repr(m) == repr(t)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}
    m.double()
    m.load_state_dict({k: pe.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    (x,) = _arrays(3, (2, 4, 4, 5, 4))
    np.testing.assert_allclose(m(pe.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_conv3d_float16_computes_in_float32():
    x, w = _arrays(4, (1, 2, 3, 3, 3), (1, 2, 2, 2, 2), dtype=np.float32)
    got = F.conv3d(pe.tensor(x).half(), pe.tensor(w).half())
    want = TF.conv3d(torch.tensor(x).half().float(), torch.tensor(w).half().float()).half()
    assert got.dtype == pe.float16
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=1e-3, atol=1e-3)


def test_conv3d_under_autocast_runs_in_bfloat16():
    x, w = _arrays(4, (1, 2, 3, 3, 3), (1, 2, 2, 2, 2), dtype=np.float32)
    with pe.autocast("cpu", dtype=pe.bfloat16):
        got = F.conv3d(pe.tensor(x), pe.tensor(w))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = TF.conv3d(torch.tensor(x), torch.tensor(w))
    assert got.dtype == pe.bfloat16 and want.dtype == torch.bfloat16
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=2e-2, atol=2e-2)


def test_conv3d_errors_name_what_came():
    x, w = pe.randn(1, 2, 3, 3, 3), pe.randn(1, 2, 2, 2, 2)
    with pytest.raises(RuntimeError, match=r"4-D \(unbatched\) or 5-D.*\(3, 3, 3\)"):
        F.conv3d(pe.randn(3, 3, 3), w)
    with pytest.raises(RuntimeError, match=r"5-D weight.*\(1, 2, 2, 2\)"):
        F.conv3d(x, pe.randn(1, 2, 2, 2))
    with pytest.raises(RuntimeError, match=r"expected input\[1, 3, 3, 3, 3\] to have 2 channels, but got 3"):
        F.conv3d(pe.randn(1, 3, 3, 3, 3), w)
    with pytest.raises(RuntimeError, match=r"Kernel size can't be greater.*\(1, 2, 1, 3, 3\)"):
        F.conv3d(pe.randn(1, 2, 1, 3, 3), w)
    with pytest.raises(TypeError, match="conv3d: input dtype float64 and weight dtype float32 differ"):
        F.conv3d(x.double(), w)
    with pytest.raises(TypeError, match="conv3d: input dtype float16 and weight dtype float32 differ"):
        F.conv3d(x.half(), w)
    with pytest.raises(RuntimeError, match="strided"):
        F.conv3d(x, w, padding="same", stride=2)
    with pytest.raises(RuntimeError, match=r"bias of shape \(1,\).*\(2,\)"):
        F.conv3d(x, w, pe.randn(2))
    with pytest.raises(ValueError, match="in_channels"):
        nn.Conv3d(3, 2, 2, groups=2)


# ---------------------------------------------------------------- max_pool3d / avg_pool3d
POOL_CASES = [
    ((2, 3, 5, 6, 7), dict(kernel_size=2)),
    ((1, 2, 7, 5, 6), dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=1, ceil_mode=True)),
    ((2, 3, 5, 4), dict(kernel_size=3, stride=2, padding=1)),                   # unbatched
    ((1, 1, 6, 6, 6), dict(kernel_size=3, stride=2, ceil_mode=True)),          # ceil: windows past the end
    ((1, 2, 1, 1, 1), dict(kernel_size=1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kw", POOL_CASES + [((1, 2, 7, 5, 6),
                                                      dict(kernel_size=3, padding=1, dilation=(2, 1, 2)))])
def test_max_pool3d_matches_torch(device, dtype, shape, kw):
    _compare(lambda x: F.max_pool3d(x, **kw), lambda x: TF.max_pool3d(x, **kw), _arrays(5, shape, dtype=dtype),
             device, dtype)
    (x,) = _arrays(5, shape, dtype=dtype)
    _, want = TF.max_pool3d(torch.tensor(x), return_indices=True, **kw)
    _, got = F.max_pool3d(pe.tensor(x, device=device), return_indices=True, **kw)
    assert got.dtype == pe.int64
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_max_pool3d_ties_pick_torchs_first_index():
    x = np.zeros((1, 1, 4, 4, 4))
    x[0, 0, 1:3, 1:3, 1:3] = 1.0
    _, want = TF.max_pool3d(torch.tensor(x), 3, stride=1, return_indices=True)
    _, got = F.max_pool3d(pe.tensor(x), 3, stride=1, return_indices=True)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 5])
@pytest.mark.parametrize("shape,kw", POOL_CASES)
def test_avg_pool3d_matches_torch(device, dtype, count_include_pad, divisor_override, shape, kw):
    kw = dict(kw, count_include_pad=count_include_pad, divisor_override=divisor_override)
    _compare(lambda x: F.avg_pool3d(x, **kw), lambda x: TF.avg_pool3d(x, **kw), _arrays(6, shape, dtype=dtype),
             device, dtype)


def test_pool3d_gradcheck(device):
    (x,) = _arrays(7, (1, 2, 4, 3, 4))
    assert gradcheck_on(device, lambda x: F.max_pool3d(x, 2, stride=(1, 2, 1), padding=1), x)
    assert gradcheck_on(device, lambda x: F.avg_pool3d(x, (2, 3, 2), stride=2, padding=1, ceil_mode=True,
                                                     count_include_pad=False), x)


def test_pool3d_modules_and_unpool_roundtrip():
    for ours, theirs in [(nn.MaxPool3d(2), torch.nn.MaxPool3d(2)),
                         (nn.MaxPool3d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool3d(3, 2, 1, ceil_mode=True)),
                         (nn.AvgPool3d(2), torch.nn.AvgPool3d(2)),
                         (nn.AvgPool3d((1, 2, 3), 1, 0), torch.nn.AvgPool3d((1, 2, 3), 1, 0))]:
        assert repr(ours) == repr(theirs)
        (x,) = _arrays(8, (2, 2, 4, 5, 6))
        np.testing.assert_allclose(ours(pe.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12)
    (x,) = _arrays(8, (1, 2, 4, 4, 4))
    y, i = nn.MaxPool3d(2, return_indices=True)(pe.tensor(x))
    ty, ti = torch.nn.MaxPool3d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(nn.MaxUnpool3d(2)(y, i).numpy(), torch.nn.MaxUnpool3d(2)(ty, ti).numpy())


def test_pool3d_float16_computes_in_float32():
    (x,) = _arrays(9, (1, 1, 4, 4, 4), dtype=np.float32)
    got = F.avg_pool3d(pe.tensor(x).to(pe.bfloat16), 2)
    want = TF.avg_pool3d(torch.tensor(x).to(torch.bfloat16).float(), 2).to(torch.bfloat16)
    assert got.dtype == pe.bfloat16
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=1e-2)


def test_pool3d_errors_name_what_came():
    x = pe.randn(1, 1, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"max_pool3d.*pad should be at most half.*padding=\(2, 2, 2\)"):
        F.max_pool3d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match=r"avg_pool3d.*\(1, 1, 3, 3, 3\).*\(0, 0, 0\) is too small"):
        F.avg_pool3d(x, 5)
    with pytest.raises(RuntimeError, match=r"4-D \(unbatched\) or 5-D.*\(3, 3\)"):
        F.max_pool3d(pe.randn(3, 3), 2)
    with pytest.raises(RuntimeError, match="kernel_size to be a single int or a tuple of 3"):
        F.max_pool3d(x, (2, 2))
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool3d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="'input' must be a Tensor, not list"):
        F.avg_pool3d([1.0], 2)
