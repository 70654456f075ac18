"""nn.PixelShuffle / nn.PixelUnshuffle (and their functionals) and nn.Bilinear / F.bilinear
against torch: values, gradients, reprs, parameter layout and init, gradcheck, torch's errors."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# ---------------------------------------------------------------- pixel shuffle
@pytest.mark.parametrize("shape,r", [((2, 8, 3, 5), 2), ((9, 1, 1), 3), ((2, 3, 4, 1, 2), 1), ((1, 2, 18, 2, 3), 3)])
def test_pixel_shuffle_vs_torch(device, shape, r):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    t = torch.tensor(a, requires_grad=True)
    x = pe.tensor(a, device=device, requires_grad=True)
    ty, y = TF.pixel_shuffle(t, r), F.pixel_shuffle(x, r)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), ty.detach().numpy())
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    y.backward(pe.tensor(g, device=device))
    np.testing.assert_array_equal(x.grad.cpu().numpy(), t.grad.numpy())
    # unshuffle inverts shuffle, as torch's does
    back = F.pixel_unshuffle(y.detach(), r)
    np.testing.assert_array_equal(back.cpu().numpy(), TF.pixel_unshuffle(ty.detach(), r).numpy())
    np.testing.assert_array_equal(back.cpu().numpy(), a)


def test_pixel_shuffle_empty_batch(device):
    # (torch 2.13's own backward refuses an empty batch, so only the forward is compared.)
    x = pe.zeros(0, 4, 2, 2, device=device, requires_grad=True)
    y = F.pixel_shuffle(x, 2)
    assert tuple(y.shape) == tuple(TF.pixel_shuffle(torch.zeros(0, 4, 2, 2), 2).shape) == (0, 1, 4, 4)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 4, 2, 2)


@pytest.mark.parametrize("shape,r", [((2, 3, 4, 6), 2), ((5, 9, 3), 3), ((1, 2, 1, 4, 4), 4)])
def test_pixel_unshuffle_vs_torch(device, shape, r):
    a = np.random.default_rng(1).standard_normal(shape)
    np.testing.assert_array_equal(F.pixel_unshuffle(pe.tensor(a, device=device), r).cpu().numpy(),
                                  TF.pixel_unshuffle(torch.tensor(a), r).numpy())


def test_pixel_shuffle_modules_and_gradcheck(device):
    assert repr(pe.nn.PixelShuffle(3)) == repr(torch.nn.PixelShuffle(3))
    assert repr(pe.nn.PixelUnshuffle(2)) == repr(torch.nn.PixelUnshuffle(2))
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1, 8, 2, 3))
    np.testing.assert_array_equal(pe.nn.PixelShuffle(2)(pe.tensor(a)).numpy(), torch.nn.PixelShuffle(2)(torch.tensor(a)).numpy())
    assert gradcheck_on(device, lambda x: F.pixel_shuffle(x, 2) ** 2, rng.standard_normal((1, 4, 2, 3)))
    assert gradcheck_on(device, lambda x: F.pixel_unshuffle(x, 2) ** 2, rng.standard_normal((1, 1, 4, 2)))


@pytest.mark.parametrize("call", [
    lambda m, f: f.pixel_shuffle(m.zeros(1, 3, 2, 2), 2),       # channels not divisible by r^2
    lambda m, f: f.pixel_shuffle(m.zeros(4, 2), 2),             # fewer than 3 dims
    lambda m, f: f.pixel_shuffle(m.zeros(1, 4, 2, 2), 0),       # factor 0
    lambda m, f: f.pixel_shuffle(m.zeros(1, 4, 2, 2), -2),
    lambda m, f: f.pixel_unshuffle(m.zeros(1, 1, 3, 4), 2),     # height not divisible
    lambda m, f: f.pixel_unshuffle(m.zeros(1, 1, 4, 3), 2),     # width not divisible
    lambda m, f: f.pixel_unshuffle(m.zeros(4, 4), 2),
    lambda m, f: f.pixel_shuffle(m.zeros(1, 4, 2, 2), 2.0),     # float factor
])
def test_pixel_shuffle_errors_like_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch, TF)
    with pytest.raises(type(theirs.value)):
        call(pe, F)


def test_pixel_shuffle_error_names_sizes():
    with pytest.raises(RuntimeError, match="3.*4"):
        F.pixel_shuffle(pe.zeros(1, 3, 2, 2), 2)


# ---------------------------------------------------------------- bilinear
def _copied(in1, in2, out, bias, dtype=pe.float64):
    ours = pe.nn.Bilinear(in1, in2, out, bias=bias, dtype=dtype)
    theirs = torch.nn.Bilinear(in1, in2, out, bias=bias).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
        if bias:
            theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    return ours, theirs


@pytest.mark.parametrize("lead", [(5,), (2, 3), (1,), (0,)])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_vs_torch(lead, bias):
    rng = np.random.default_rng(3)
    ours, theirs = _copied(3, 4, 5, bias)
    a, b = rng.standard_normal(lead + (3,)), rng.standard_normal(lead + (4,))
    x1, x2 = pe.tensor(a, requires_grad=True), pe.tensor(b, requires_grad=True)
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    y, ty = ours(x1, x2), theirs(t1, t2)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(tuple(ty.shape))
    y.backward(pe.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x1.grad.numpy(), t1.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_bilinear_formula():
    # y[n, o] = sum_ij x1[n, i] W[o, i, j] x2[n, j] + b[o], written out with einsum.
    rng = np.random.default_rng(4)
    a, b, w, c = (rng.standard_normal(s) for s in [(6, 2), (6, 3), (4, 2, 3), (4,)])
    y = F.bilinear(pe.tensor(a), pe.tensor(b), pe.tensor(w), pe.tensor(c)).numpy()
    np.testing.assert_allclose(y, np.einsum("ni,oij,nj->no", a, w, b) + c, rtol=1e-12, atol=1e-12)


def test_bilinear_layout_init_and_state_dict():
    pe.manual_seed(0)
    m = pe.nn.Bilinear(20, 30, 40)
    t = torch.nn.Bilinear(20, 30, 40)
    assert repr(m) == repr(t)
    assert list(m.state_dict().keys()) == list(t.state_dict().keys())
    assert tuple(m.weight.shape) == tuple(t.weight.shape) and tuple(m.bias.shape) == tuple(t.bias.shape)
    bound = 1 / np.sqrt(20)  # torch: U(-1/sqrt(in1), 1/sqrt(in1)) for weight and bias
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert pe.nn.Bilinear(2, 3, 4, bias=False).bias is None
    with pytest.raises(ValueError, match="in1_features"):
        pe.nn.Bilinear(0, 3, 4)


def test_bilinear_gradcheck(device):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in [(3, 2), (3, 4), (5, 2, 4), (5,)]]
    assert gradcheck_on(device, lambda a, b, w, c: F.bilinear(a, b, w, c), *arrays)
    xs = [pe.tensor(a, requires_grad=True) for a in arrays]
    assert pe.autograd.gradgradcheck(lambda a, b, w, c: F.bilinear(a, b, w, c), xs)


@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.bilinear(m.zeros(3, 2), m.zeros(4, 3), m.zeros(5, 2, 3)),       # batch mismatch
    lambda m: m.nn.functional.bilinear(m.zeros(3, 2), m.zeros(3, 4), m.zeros(5, 2, 3)),       # in2 mismatch
    lambda m: m.nn.functional.bilinear(m.zeros(3, 7), m.zeros(3, 3), m.zeros(5, 2, 3)),       # in1 mismatch
    lambda m: m.nn.functional.bilinear(m.zeros(3, 2), m.zeros(3, 3), m.zeros(5, 2, 3), m.zeros(4)),  # bias
    lambda m: m.nn.functional.bilinear(m.zeros(3, 2), m.zeros(3, 3), m.zeros(2, 3)),          # 2-D weight
])
def test_bilinear_errors_like_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)):
        call(pe)
