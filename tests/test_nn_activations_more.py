"""The parametrised activations (Hardswish, Hardsigmoid, Mish, Softsign, Tanhshrink, CELU, SELU,
LogSigmoid, Hardtanh/ReLU6, Softshrink, Hardshrink, GLU, PReLU, RReLU) against torch 2.13: values and
gradients on edge values (the kinks, 0, +-inf, NaN, large magnitudes) in float32 and float64,
strided views, gradcheck/gradgradcheck in float64, forward-mode AD, device parity, modules and errors."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from pyengine.autograd import forward_ad as fwAD
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# name -> (kwargs); each is called as F.name(x, **kwargs) in both libraries.
CASES = [
    ("hardswish", {}), ("hardsigmoid", {}), ("mish", {}), ("softsign", {}), ("tanhshrink", {}),
    ("celu", {}), ("celu", {"alpha": 0.5}), ("celu", {"alpha": -2.0}), ("selu", {}), ("logsigmoid", {}),
    ("hardtanh", {}), ("hardtanh", {"min_val": -2.0, "max_val": 3.0}), ("hardtanh", {"min_val": 0.5, "max_val": 0.5}),
    ("relu6", {}), ("softshrink", {}), ("softshrink", {"lambd": 0.0}), ("softshrink", {"lambd": 2.0}),
    ("hardshrink", {}), ("hardshrink", {"lambd": 3.0}), ("hardshrink", {"lambd": -1.0}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CASES]

# every kink of every op, 0, signed zeros, large and tiny magnitudes
EDGES = np.array([-1e4, -50.0, -20.0, -6.0, -3.0, -2.999, -2.0, -1.0, -0.5, -0.25, -1e-8, -0.0, 0.0, 1e-8, 0.25,
                  0.5, 0.5001, 1.0, 2.0, 2.999, 3.0, 6.0, 7.0, 20.0, 50.0, 1e4])


def _torch_fn(name):
    return getattr(TF, name)


def _values_and_grads(name, kw, x, dtype, device="cpu"):
    a = pe.tensor(x, dtype=dtype, device=device, requires_grad=True)
    ya = getattr(F, name)(a, **kw)
    g = np.linspace(-1.0, 2.0, x.size).reshape(x.shape)
    ya.backward(pe.tensor(g, dtype=dtype, device=device))
    b = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    yb = _torch_fn(name)(b, **kw)
    yb.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    return (ya.detach().cpu().numpy(), a.grad.cpu().numpy()), (yb.detach().numpy(), b.grad.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_values_and_grads_match_torch_on_edges(name, kw, dtype):
    (ya, ga), (yb, gb) = _values_and_grads(name, kw, EDGES, dtype)
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ya, yb, rtol=tol, atol=tol)
    # PyTorch's hardsigmoid backward multiplies by the float32 constant 1/6 even in float64; ours is exact
    gtol = max(tol, 1e-7) if name == "hardsigmoid" else tol
    np.testing.assert_allclose(ga, gb, rtol=gtol, atol=gtol)
    assert ya.dtype == yb.dtype


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_nonfinite_inputs_match_torch(name, kw):
    x = np.array([np.nan, np.inf, -np.inf, 1.0])
    (ya, ga), (yb, gb) = _values_and_grads(name, kw, x, "float32")
    # NaN and infinities in the same places with the same signs; the finite entry within an ulp or two
    np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=0)
    np.testing.assert_allclose(ga, gb, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_strided_and_empty_inputs(name, kw):
    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=(7, 5))
    a = pe.tensor(x).t()[1::2]  # a transposed, sliced view
    b = torch.tensor(x).t()[1::2]
    np.testing.assert_allclose(getattr(F, name)(a, **kw).numpy(), _torch_fn(name)(b, **kw).numpy(), rtol=1e-12,
                               atol=1e-12)
    empty = getattr(F, name)(pe.zeros(0, 3), **kw)
    assert tuple(empty.shape) == (0, 3)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_gradcheck_and_gradgradcheck(name, kw):
    rng = np.random.default_rng(1)
    # away from the kinks, where the finite differences are not defined
    x = rng.uniform(-5, 5, size=(3, 4))
    kinks = np.array([-3.0, 3.0, 0.0, 6.0, -1.0, 1.0, 0.5, -0.5, 2.0, -2.0, 0.0, kw.get("alpha", 0.0)])
    for k in kinks:
        x = np.where(np.abs(x - k) < 1e-3, x + 0.01, x)
    a = pe.tensor(x, requires_grad=True)
    fn = lambda t: getattr(F, name)(t, **kw)  # noqa: E731
    assert pe.autograd.gradcheck(fn, [a])
    assert pe.autograd.gradgradcheck(fn, [a])


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_device_parity(device, name, kw):
    x = np.random.default_rng(2).uniform(-5, 5, size=(4, 6))
    (ya, ga), (yb, gb) = _values_and_grads(name, kw, x, "float32", device)
    np.testing.assert_allclose(ya, yb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ga, gb, rtol=1e-5, atol=1e-6)
    # a transposed, sliced view on the device against the CPU
    view = pe.tensor(x, device=device).t()[::2]
    np.testing.assert_allclose(getattr(F, name)(view, **kw).cpu().numpy(),
                               getattr(F, name)(pe.tensor(x).t()[::2], **kw).numpy(), rtol=1e-6, atol=1e-7)
    x = np.where(np.abs(np.abs(x) - 3.0) < 1e-2, x + 0.05, x)
    gradcheck_on(device, lambda t: getattr(F, name)(t, **kw), x[:2, :3] + 0.0123)


@pytest.mark.parametrize("name,kw", [c for c in CASES if c[0] in ("hardswish", "mish", "celu", "selu", "softshrink")])
def test_forward_mode_matches_torch_jvp(name, kw):
    x = np.random.default_rng(3).uniform(-5, 5, size=(5,))
    v = np.random.default_rng(4).normal(size=(5,))
    with fwAD.dual_level():
        out = getattr(F, name)(fwAD.make_dual(pe.tensor(x), pe.tensor(v)), **kw)
        tangent = fwAD.unpack_dual(out).tangent
    _, expected = torch.func.jvp(lambda t: _torch_fn(name)(t, **kw), (torch.tensor(x),), (torch.tensor(v),))
    np.testing.assert_allclose(tangent.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


def test_pe_selu_and_inplace_forms():
    x = np.linspace(-3, 3, 9)
    np.testing.assert_allclose(pe.selu(pe.tensor(x)).numpy(), torch.selu(torch.tensor(x)).numpy(), rtol=1e-12)
    t = pe.tensor(x)
    assert pe.selu_(t) is t
    np.testing.assert_allclose(t.numpy(), torch.selu(torch.tensor(x)).numpy(), rtol=1e-12)
    for name in ("celu_", "selu_", "hardtanh_"):
        t = pe.tensor(x)
        assert getattr(F, name)(t) is t
        np.testing.assert_allclose(t.numpy(), getattr(TF, name)(torch.tensor(x)).numpy(), rtol=1e-12)
    t = pe.tensor(x)
    assert F.rrelu_(t, 0.1, 0.3) is t
    np.testing.assert_allclose(t.numpy(), TF.rrelu(torch.tensor(x), 0.1, 0.3).numpy(), rtol=1e-12)
    for name in ("hardswish", "hardsigmoid", "mish", "celu", "selu", "hardtanh", "relu6"):
        t = pe.tensor(x)
        out = getattr(F, name)(t, inplace=True)
        assert out is t
        np.testing.assert_allclose(t.numpy(), _torch_fn(name)(torch.tensor(x)).numpy(), rtol=1e-12)


MODULES = [
    ("Hardswish", (), {}), ("Hardsigmoid", (), {}), ("Mish", (), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("CELU", (0.7,), {}), ("SELU", (), {}), ("LogSigmoid", (), {}), ("Hardtanh", (-0.5, 2.0), {}),
    ("Hardtanh", (), {"min_value": -2.0, "max_value": 1.0}), ("ReLU6", (), {}), ("Softshrink", (0.3,), {}),
    ("Hardshrink", (), {"lambd": 0.8}), ("GLU", (), {"dim": 0}), ("Hardswish", (), {"inplace": True}),
]


@pytest.mark.parametrize("cls,args,kw", MODULES, ids=[f"{m[0]}{i}" for i, m in enumerate(MODULES)])
@pytest.mark.filterwarnings("ignore:keyword argument")
def test_modules_match_torch(cls, args, kw):
    x = np.random.default_rng(5).uniform(-8, 8, size=(6, 3))
    ours, theirs = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    np.testing.assert_allclose(ours(pe.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12)
    assert ours.extra_repr() == theirs.extra_repr()
    assert ours.state_dict().keys() == theirs.state_dict().keys()


def test_glu_matches_torch_on_every_dim_with_grads():
    x = np.random.default_rng(6).normal(size=(4, 6, 2))
    for dim in (0, 1, 2, -1, -2):
        a = pe.tensor(x, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        F.glu(a, dim).sum().backward()
        TF.glu(b, dim).sum().backward()
        np.testing.assert_allclose(F.glu(a, dim).detach().numpy(), TF.glu(b, dim).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    assert pe.autograd.gradcheck(lambda t: F.glu(t, 1), [pe.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("num_parameters,shape", [(1, (5,)), (1, (2, 3, 4)), (3, (2, 3)), (3, (2, 3, 4, 5)),
                                                  (1, ())])
def test_prelu_matches_torch(num_parameters, shape):
    rng = np.random.default_rng(7)
    x = rng.normal(size=shape)
    w = rng.uniform(0.0, 0.5, size=(num_parameters,))
    ours, theirs = nn.PReLU(num_parameters), torch.nn.PReLU(num_parameters, dtype=torch.float64)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys()) == ["weight"]
    assert tuple(ours.weight.shape) == tuple(theirs.weight.shape)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().float().numpy())
    ours.double()
    ours.load_state_dict({"weight": pe.tensor(w)})
    theirs.weight.data = torch.tensor(w)
    a, b = pe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = ours(a), theirs(b)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12)
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    wt = pe.tensor(w, requires_grad=True)
    assert pe.autograd.gradcheck(lambda t, ww: F.prelu(t, ww), [pe.tensor(x, requires_grad=True), wt])


def test_prelu_init_and_repr():
    m = nn.PReLU(4, init=0.1)
    assert m.extra_repr() == torch.nn.PReLU(4, init=0.1).extra_repr()
    np.testing.assert_allclose(m.weight.detach().numpy(), np.full(4, 0.1, dtype=np.float32))
    assert m.weight.requires_grad


def test_rrelu_eval_is_leaky_relu_with_mean_slope():
    x = np.linspace(-4, 4, 17)
    for lower, upper in ((1 / 8, 1 / 3), (0.1, 0.1), (0.0, 0.9)):
        m = nn.RReLU(lower, upper).eval()
        t = torch.nn.RReLU(lower, upper).eval()
        np.testing.assert_allclose(m(pe.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-12)
        np.testing.assert_allclose(F.rrelu(pe.tensor(x), lower, upper).numpy(),
                                   TF.rrelu(torch.tensor(x), lower, upper).numpy(), rtol=1e-12)
    assert nn.RReLU().extra_repr() == torch.nn.RReLU().extra_repr()


def test_rrelu_training_slopes_are_uniform_in_bounds_and_carry_the_gradient(device):
    lower, upper = 0.1, 0.4
    x = pe.full((20000,), -2.0, dtype=pe.float64, device=device, requires_grad=True)
    pos = pe.full((100,), 3.0, dtype=pe.float64, device=device)
    m = nn.RReLU(lower, upper).train()
    y = m(x)
    slopes = (y / x).detach().cpu().numpy()
    assert slopes.min() >= lower and slopes.max() <= upper
    # uniform on [lower, upper]: mean (l+u)/2, variance (u-l)^2/12 (5-sigma bounds for n = 20000)
    n = slopes.size
    assert abs(slopes.mean() - (lower + upper) / 2) < 5 * (upper - lower) / np.sqrt(12 * n)
    assert abs(slopes.var() - (upper - lower) ** 2 / 12) < 0.05 * (upper - lower) ** 2 / 12
    hist, _ = np.histogram(slopes, bins=10, range=(lower, upper))
    assert hist.min() > 0.8 * n / 10
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), slopes)  # d(r x)/dx = r, the same draw
    np.testing.assert_array_equal(m(pos).cpu().numpy(), pos.cpu().numpy())  # positives pass unchanged
    assert not np.array_equal(m(x).detach().cpu().numpy(), y.detach().cpu().numpy())  # a fresh draw each call


def test_errors_name_what_came():
    with pytest.raises(RuntimeError, match="alpha cannot be 0"):
        F.celu(pe.ones(2), alpha=0.0)
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0, but found to be -1"):
        F.softshrink(pe.ones(2), -1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(pe.ones(2), 1.0, -1.0)
    with pytest.raises(ValueError, match=r"max_val \(-1.0\) must be greater than min_val \(1.0\)"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(pe.zeros(2, 3))
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(pe.zeros(()))
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        F.glu(pe.zeros(2, 2), 2)
    with pytest.raises(RuntimeError, match=r"parameter numbers = 2 .* channel size = 3"):
        F.prelu(pe.zeros(2, 3), pe.ones(2))
    with pytest.raises(RuntimeError, match="lower bound should be less than or equal to the upper bound"):
        F.rrelu(pe.ones(2), 0.5, 0.1, training=True)
    for name in ("hardswish", "hardsigmoid", "mish", "logsigmoid", "celu", "selu", "softshrink"):
        with pytest.raises(NotImplementedError, match="int64"):
            getattr(F, name)(pe.tensor([1, 2]))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        F.hardswish([1.0, 2.0])
    with pytest.raises(ValueError, match="unknown op 'nope'"):
        pe._C.activation("nope", pe.ones(1)._impl)
    with pytest.raises(ValueError, match=r"gradient shape \(3,\) does not match input shape \(2,\)"):
        pe._C.activation_backward("mish", pe.ones(3)._impl, pe.ones(2)._impl)


def test_integer_inputs_as_torch():
    x = [-3, 0, 2, 9]
    np.testing.assert_array_equal(F.hardtanh(pe.tensor(x)).numpy(), TF.hardtanh(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(F.hardtanh(pe.tensor(x), -1.5, 1.5).numpy(),
                                  TF.hardtanh(torch.tensor(x), -1.5, 1.5).numpy())
    assert F.relu6(pe.tensor(x)).dtype == pe.int64
    np.testing.assert_allclose(F.softsign(pe.tensor(x)).numpy(), TF.softsign(torch.tensor(x)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(F.tanhshrink(pe.tensor(x)).numpy(), TF.tanhshrink(torch.tensor(x)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", [c for c in CASES if c[0] in ("mish", "tanhshrink", "celu", "selu", "logsigmoid",
                                                                   "softsign")])
def test_dense_sweep_matches_torch(name, kw, dtype):
    """The CPU loops use series and a vectorised exp instead of libm: a dense sweep (with the
    series' switch points at |x| = 0.5, the tanh switch at 0.625 and mish's at 20) against torch."""
    switches = np.array([0.5, 0.625, 1.0, 20.0])
    near = np.concatenate([switches + d for d in (-1e-7, -1e-4, 0.0, 1e-4, 1e-7)])
    x = np.concatenate([np.linspace(-40, 40, 20001), near, -near, np.logspace(-12, 1, 300), -np.logspace(-12, 1, 300)])
    (ya, ga), (yb, gb) = _values_and_grads(name, kw, x, dtype)
    tol = 2e-6 if dtype == "float32" else 2e-14
    # values within tol of their scale |y| + |x| (x - tanh(x) cancels for small x, in torch too);
    # gradients within tol of the gradients' scale (mish' crosses 0 as a difference of O(1) terms)
    assert (np.abs(ya - yb) <= tol * (np.abs(yb) + np.abs(x))).all()
    np.testing.assert_allclose(ga, gb, rtol=tol, atol=tol * np.abs(gb).max())
