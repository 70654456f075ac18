"""Random numbers made on the device (cuda/random.cu) are the CPU's numbers: the same seed and
offset give identical draws for every distribution and dtype, the generator advances the same
way, strided in-place fills go through a device buffer, and dropout (whose mask is bernoulli_ on
the input's device) trains on the device exactly as on the CPU."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import _C, nn
import pyengine.nn.functional as F

N = 1003  # not a multiple of any elements-per-block count; several GPU threads


def host(t):
    t = t._impl if hasattr(t, "_impl") else t
    return (t if str(t.device) == "cpu" else _C.to_device(t, "cpu")).numpy()


def draws(device, dtype):
    """Every distribution, one after another from seed 1234, as NumPy arrays, and the final state."""
    _C.manual_seed(1234)
    out = [_C.rand([N], dtype, device), _C.randn([N], dtype, device), _C.randn([3, 5], dtype, device)]
    t = _C.empty([7, 11], dtype, device)
    out.append(_C.uniform_(t, -3.0, 0.5))
    t = _C.empty([7, 11], dtype, device)
    out.append(_C.normal_(t, 2.0, 0.25))
    t = _C.empty([N], dtype, device)
    out.append(_C.bernoulli_(t, 0.3))
    out.append(_C.randint(-5, 17, [N], dtype, device))
    return [host(o).copy() for o in out], _C.seed_state()


def check_equal(got, want, normal_float64=False):
    assert got.dtype == want.dtype and got.shape == want.shape
    if normal_float64 and not pe.cuda.is_emulated():
        # A GPU's double log/sin/cos may differ from libm's in the last ulp or two.
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_distribution_matches_cpu(device, dtype):
    got, got_state = draws(device, dtype)
    want, want_state = draws("cpu", dtype)
    assert got_state == want_state
    for k, (g, w) in enumerate(zip(got, want)):
        check_equal(g, w, normal_float64=dtype == "float64" and k in (1, 2, 4))
    assert 0.2 < want[5].mean() < 0.4 and set(np.unique(want[5])) == {0.0, 1.0}
    assert want[6].min() >= -5 and want[6].max() < 17


@pytest.mark.parametrize("dtype", ["int64", "bool", "float32"])
def test_randint_and_bernoulli_any_dtype(device, dtype):
    res = {}
    for dev in ("cpu", device):
        _C.manual_seed(99)
        a = _C.randint(0, 2, [50], dtype, dev)
        b = _C.bernoulli_(_C.empty([50], dtype, dev), 0.6)
        res[dev] = (host(a).copy(), host(b).copy())
    for g, w in zip(res[device], res["cpu"]):
        check_equal(g, w)


@pytest.mark.parametrize("fill", ["uniform_", "normal_", "bernoulli_"])
def test_in_place_on_strided_view(device, fill):
    res = {}
    for dev in ("cpu", device):
        _C.manual_seed(5)
        base = _C.full([6, 8], 7.0, "float32", dev)
        view = _C.transpose(base, 0, 1)
        view = _C.slice(view, 0, 1, 8, 2)  # (4, 6) with strides (2, 8): a device buffer, then a copy
        getattr(_C, fill)(view)
        res[dev] = host(base).copy()
    check_equal(res[device], res["cpu"])
    assert (res["cpu"] != 7.0).any()


def test_python_creation_functions(device):
    res = {}
    for dev in ("cpu", device):
        pe.manual_seed(8)
        ts = [pe.rand(3, 4, device=dev), pe.randn(5, dtype=pe.float64, device=dev),
              pe.randint(2, 9, (6,), device=dev), pe.randint(4, (3,), dtype=pe.float32, device=dev),
              pe.rand_like(pe.zeros(2, 2, device=dev)), pe.empty(4, device=dev).uniform_(-1, 1),
              pe.empty(4, device=dev).normal_(0.0, 3.0), pe.empty(6, device=dev).bernoulli_(0.5)]
        assert all(str(t.device).startswith(dev) for t in ts)
        res[dev] = [host(t).copy() for t in ts]
    for k, (g, w) in enumerate(zip(res[device], res["cpu"])):
        check_equal(g, w, normal_float64=k == 1)


def test_device_kernel_is_registered():
    slots = dict(_C.kernel_slots())
    assert slots.get("random fill") == pe.cuda.is_built()  # registered in any CUDA build, GPU or not


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_forward_backward_matches_cpu(device, dtype):
    x = np.random.default_rng(0).standard_normal((6, 40))
    res = {}
    for dev in ("cpu", device):
        pe.manual_seed(21)
        t = pe.tensor(x, dtype=dtype, device=dev, requires_grad=True)
        y = F.dropout(t, p=0.3, training=True)
        (y * y).sum().backward()
        t2 = pe.tensor(x, dtype=dtype, device=dev)
        z = nn.Dropout2d(p=0.5)(t2.reshape(2, 3, 4, 10))  # one draw per (N, C), broadcast
        res[dev] = [host(y.detach()).copy(), host(t.grad).copy(), host(z).copy()]
        assert str(y.device).startswith(dev)
    for g, w in zip(res[device], res["cpu"]):
        np.testing.assert_array_equal(g, w)
    y = res["cpu"][0]
    kept = y != 0
    assert 0.5 < kept.mean() < 0.9
    np.testing.assert_allclose(y[kept], (x / 0.7).astype(dtype)[kept], rtol=1e-6)


def test_dropout_model_trains_like_cpu(device):
    rng = np.random.default_rng(1)
    x, target = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))
    weights = {}
    for dev in ("cpu", device):
        pe.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 1)).to(
            dtype=pe.float64, device=dev)
        opt = pe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        xs, ys = pe.tensor(x, device=dev), pe.tensor(target, device=dev)
        for _ in range(3):
            opt.zero_grad()
            loss = ((model(xs) - ys) ** 2).mean()
            loss.backward()
            opt.step()
        weights[dev] = [host(p.detach()).copy() for p in model.parameters()]
    for g, w in zip(weights[device], weights["cpu"]):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
