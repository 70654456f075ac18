"""InstanceNorm1d/2d and LocalResponseNorm (and F.instance_norm, F.local_response_norm) against torch
2.13: outputs, input/weight/bias gradients and running statistics for every option, float32 and
float64, unbatched inputs, gradcheck in float64, device parity, state_dict keys and errors."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional

OPTIONS = [{}, {"affine": True}, {"affine": True, "bias": False}, {"track_running_stats": True}, {"affine": True, "track_running_stats": True},
           {"track_running_stats": True, "momentum": None}, {"affine": True, "eps": 0.1, "momentum": 0.5,
                                                             "track_running_stats": True}]
SHAPES = {"InstanceNorm1d": [(3, 4, 7), (4, 5), (1, 4, 2)], "InstanceNorm2d": [(2, 4, 3, 5), (4, 3, 3), (3, 4, 1, 2)]}


def _pair(cls, kw, dtype):
    ours = getattr(nn, cls)(4, **kw)
    theirs = getattr(torch.nn, cls)(4, **kw)
    if dtype == "float64":
        ours.double()
        theirs.double()
    if kw.get("affine"):  # non-trivial affine parameters, the same on both sides
        rng = np.random.default_rng(9)
        w, b = rng.uniform(0.5, 2.0, 4), rng.normal(size=4)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w))
            if theirs.bias is not None:
                theirs.bias.copy_(torch.tensor(b))
        ours.load_state_dict({k: pe.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", OPTIONS, ids=[str(o) for o in OPTIONS])
@pytest.mark.parametrize("cls", ["InstanceNorm1d", "InstanceNorm2d"])
def test_instance_norm_matches_torch(cls, kw, dtype):
    ours, theirs = _pair(cls, kw, dtype)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    assert ours.extra_repr() == theirs.extra_repr()
    tol = 2e-5 if dtype == "float32" else 1e-11
    for shape in SHAPES[cls]:
        x = np.random.default_rng(len(shape)).normal(size=shape) * 3 + 1
        for training in (True, False):
            ours.train(training)
            theirs.train(training)
            a = pe.tensor(x, dtype=dtype, requires_grad=True)
            b = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
            ya, yb = ours(a), theirs(b)
            np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=tol, atol=tol)
            g = np.cos(np.arange(ya.numel())).reshape(shape)
            ya.backward(pe.tensor(g, dtype=dtype))
            yb.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)
            if kw.get("affine"):
                for p, q in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
                    if q is None:
                        assert p is None
                        continue
                    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)
                    p.grad = None
                    q.grad = None
            for name, buf in theirs.state_dict().items():
                np.testing.assert_allclose(ours.state_dict()[name].numpy(), buf.numpy(), rtol=tol, atol=tol,
                                           err_msg=name)


def test_instance_norm_is_group_norm_per_channel_and_gradchecks():
    x = np.random.default_rng(0).normal(size=(2, 3, 5))
    w, b = np.array([0.5, 1.5, 2.0]), np.array([0.1, -0.2, 0.3])
    args = [pe.tensor(v, requires_grad=True) for v in (x, w, b)]
    assert pe.autograd.gradcheck(lambda t, ww, bb: F.instance_norm(t, weight=ww, bias=bb), args)
    assert pe.autograd.gradgradcheck(lambda t: F.instance_norm(t), [pe.tensor(x, requires_grad=True)])
    rm, rv = pe.tensor([0.1, 0.2, 0.3], dtype=pe.float64), pe.tensor([1.0, 2.0, 0.5], dtype=pe.float64)
    # eval with running statistics: differentiable in input, weight and bias too
    assert pe.autograd.gradcheck(lambda t, ww, bb: F.instance_norm(t, rm, rv, ww, bb, use_input_stats=False), args)
    ours = F.instance_norm(pe.tensor(x), rm, rv, pe.tensor(w), pe.tensor(b), use_input_stats=False)
    theirs = TF.instance_norm(torch.tensor(x), torch.tensor(rm.numpy()), torch.tensor(rv.numpy()), torch.tensor(w),
                              torch.tensor(b), use_input_stats=False)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_instance_norm_functional_updates_running_stats_like_torch():
    x = np.random.default_rng(1).normal(size=(4, 3, 6)) * 2
    rm, rv = pe.zeros(3, dtype=pe.float64), pe.ones(3, dtype=pe.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(3):
        F.instance_norm(pe.tensor(x), rm, rv, momentum=0.2)
        TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.2)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls", ["InstanceNorm1d", "InstanceNorm2d"])
def test_instance_norm_device_parity(device, cls):
    shape = SHAPES[cls][0]
    x = np.random.default_rng(2).normal(size=shape)
    cpu = getattr(nn, cls)(4, affine=True, track_running_stats=True).double()
    dev = getattr(nn, cls)(4, affine=True, track_running_stats=True).double().to(device)
    ya, yb = cpu(pe.tensor(x)), dev(pe.tensor(x, device=device))
    assert yb.device.type == device
    np.testing.assert_allclose(yb.detach().cpu().numpy(), ya.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dev.running_var.cpu().numpy(), cpu.running_var.numpy(), rtol=1e-10)
    gradcheck_on(device, lambda t: F.instance_norm(t), x)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(pe.ones(1, 3, 2, 2))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.InstanceNorm2d(3)(pe.ones(3, 2))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(3\), but got: 5"):
        nn.InstanceNorm1d(3, affine=True)(pe.ones(2, 5, 4))
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        nn.InstanceNorm1d(3)(pe.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"Expected more than 1 spatial element when training, got input size "
                                         r"\(2, 3, 1\)"):
        F.instance_norm(pe.ones(2, 3, 1))
    with pytest.raises(RuntimeError, match="Expected running_mean and running_var to be defined"):
        F.instance_norm(pe.ones(2, 3, 4), use_input_stats=False)
    with pytest.raises(TypeError, match="argument 'weight' must be Tensor, not list"):
        F.instance_norm(pe.ones(2, 3, 4), weight=[1.0, 2.0, 3.0])


# ---------------------------------------------------------------- LocalResponseNorm
LRN_SHAPES = [(2, 7, 5), (2, 7, 3, 4), (1, 3, 2, 2, 2), (1, 1, 3), (3, 2, 1, 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("shape", LRN_SHAPES)
def test_local_response_norm_matches_torch(shape, size, dtype):
    x = np.random.default_rng(3).normal(size=shape) * 2
    alpha, beta, k = (1e-4, 0.75, 1.0) if size % 2 else (0.3, 0.6, 2.0)
    a = pe.tensor(x, dtype=dtype, requires_grad=True)
    b = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    ours, theirs = nn.LocalResponseNorm(size, alpha, beta, k), torch.nn.LocalResponseNorm(size, alpha, beta, k)
    assert ours.extra_repr() == theirs.extra_repr() and list(ours.state_dict()) == []
    ya, yb = ours(a), theirs(b)
    tol = 2e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=tol, atol=tol)
    g = np.sin(np.arange(ya.numel())).reshape(shape)
    ya.backward(pe.tensor(g, dtype=dtype))
    yb.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


def test_local_response_norm_gradcheck_device_and_empty(device):
    x = np.random.default_rng(4).normal(size=(2, 5, 3))
    assert pe.autograd.gradcheck(lambda t: F.local_response_norm(t, 3, 0.5, 0.75, 1.0),
                                 [pe.tensor(x, requires_grad=True)])
    gradcheck_on(device, lambda t: F.local_response_norm(t, 2, 0.5, 0.75, 1.0), x)
    ya = F.local_response_norm(pe.tensor(x, device=device), 4, 0.2)
    np.testing.assert_allclose(ya.cpu().numpy(), TF.local_response_norm(torch.tensor(x), 4, 0.2).numpy(), rtol=1e-10)
    assert tuple(F.local_response_norm(pe.zeros(0, 3, 2), 2).shape) == (0, 3, 2)


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match=r"Expected 3D or higher dimensionality input \(got 2 dimensions\)"):
        nn.LocalResponseNorm(2)(pe.ones(3, 4))
    with pytest.raises(ValueError, match="size must be a positive int, got 0"):
        F.local_response_norm(pe.ones(1, 3, 4), 0)
