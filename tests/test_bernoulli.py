"""pe.bernoulli / Tensor.bernoulli / Tensor.bernoulli_ with tensor probabilities (RBM sampling):
per-element statistics (p = 0 and p = 1 exact), shapes and layouts, dtypes, seeding, device
parity, the shared Philox stream with the scalar bernoulli_, and torch's errors."""
import numpy as np
import pytest

import pyengine as pe


def _probs(device, dtype=pe.float64, n=20000):
    p = np.array([0.0, 0.01, 0.1, 0.25, 0.5, 0.7, 0.9, 0.999, 1.0])
    return p, pe.tensor(np.repeat(p[:, None], n, axis=1), dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", [pe.float32, pe.float64])
def test_each_element_uses_its_own_p(device, dtype):
    pe.manual_seed(0)
    p, probs = _probs(device, dtype)
    y = pe.bernoulli(probs)
    assert y.dtype == dtype and tuple(y.shape) == tuple(probs.shape) and y.device.type == pe.device(device).type
    s = y.cpu().numpy()
    assert set(np.unique(s)) <= {0.0, 1.0}
    assert np.all(s[0] == 0) and np.all(s[-1] == 1)  # p = 0 and p = 1 exactly
    means, n = s.mean(axis=1), s.shape[1]
    bound = 5 * np.sqrt(p * (1 - p) / n) + 1e-12
    assert np.all(np.abs(means - p) <= bound), (means, p)


def test_interleaved_probabilities_are_not_mixed_up(device):
    # Neighbouring elements with very different p (inside one Philox block of 4): each keeps its own.
    pe.manual_seed(1)
    pattern = np.array([0.05, 0.95, 0.5, 0.0, 1.0, 0.3, 0.8])
    p = np.tile(pattern, 3000)
    s = pe.bernoulli(pe.tensor(p, device=device)).cpu().numpy().reshape(3000, len(pattern))
    assert np.all(np.abs(s.mean(0) - pattern) < 5 * np.sqrt(pattern * (1 - pattern) / 3000) + 1e-12)
    # independent across elements: columns with p = 0.5 and 0.3 are uncorrelated
    assert abs(np.corrcoef(s[:, 2], s[:, 5])[0, 1]) < 0.08


def test_shapes_and_layouts(device):
    pe.manual_seed(2)
    for shape in [(), (1,), (0,), (3, 0, 2), (2, 3, 4)]:
        y = pe.bernoulli(pe.full(shape, 1.0, device=device))
        assert tuple(y.shape) == shape and np.all(y.cpu().numpy() == 1)
    base = np.random.default_rng(0).random((6, 8))
    base[base < 0.5] = 0.0
    base[base >= 0.5] = 1.0
    views = {
        "transposed": lambda t: t.t(),
        "strided": lambda t: t[::2, 1::3],
        "expanded": lambda t: t[0:1].expand(5, 8),
    }
    for name, view in views.items():
        got = pe.bernoulli(view(pe.tensor(base, device=device))).cpu().numpy()
        want = view(pe.tensor(base)).numpy()  # p in {0, 1}: the draw is p itself, element by element
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_seeding_reproducibility(device):
    _, probs = _probs(device, n=500)
    pe.manual_seed(123)
    a = pe.bernoulli(probs).cpu().numpy()
    b = pe.bernoulli(probs).cpu().numpy()
    pe.manual_seed(123)
    c = pe.bernoulli(probs).cpu().numpy()
    pe.manual_seed(124)
    d = pe.bernoulli(probs).cpu().numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b) and not np.array_equal(a, d)


def test_same_stream_as_scalar_bernoulli_(device):
    for p in (0.0, 0.3, 1.0):
        pe.manual_seed(9)
        a = pe.bernoulli(pe.full((1001,), p, device=device)).cpu().numpy()
        pe.manual_seed(9)
        b = pe.empty(1001, device=device).bernoulli_(p).cpu().numpy()
        np.testing.assert_array_equal(a, b)


def test_device_parity():
    if not pe.cuda.is_available():
        pytest.skip("no CUDA device (real or emulated)")
    p = np.random.default_rng(3).random((37, 11))
    draws = []
    for dev in ("cpu", "cuda"):
        for dtype in (pe.float32, pe.float64):
            pe.manual_seed(77)
            draws.append(pe.bernoulli(pe.tensor(p, dtype=dtype, device=dev)).cpu().numpy().astype(np.float64))
    np.testing.assert_array_equal(draws[0], draws[2])  # float32: cpu == cuda
    np.testing.assert_array_equal(draws[1], draws[3])  # float64: cpu == cuda


def test_tensor_methods(device):
    pe.manual_seed(4)
    x = pe.zeros(300, 40, device=device)
    y = x.bernoulli(0.25)  # probability p everywhere, self's shape and dtype
    assert tuple(y.shape) == (300, 40) and y.dtype == pe.float32
    assert abs(y.cpu().numpy().mean() - 0.25) < 0.02
    assert pe.zeros(5, dtype=pe.int64, device=device).bernoulli(1.0).dtype == pe.int64
    probs = pe.tensor(np.linspace(0, 1, 40), device=device)
    z = probs.bernoulli()  # self as probabilities
    assert z.dtype == probs.dtype and z.cpu().numpy()[0] == 0 and z.cpu().numpy()[-1] == 1
    # in place with a tensor p broadcast over self
    out = pe.zeros(1000, 3, device=device)
    assert out.bernoulli_(pe.tensor([0.0, 1.0, 0.5], device=device)) is out
    o = out.cpu().numpy()
    assert np.all(o[:, 0] == 0) and np.all(o[:, 1] == 1) and abs(o[:, 2].mean() - 0.5) < 0.08
    assert pe.ones(3, device=device).bernoulli_(pe.tensor(0.0)).cpu().numpy().sum() == 0


def test_rbm_gibbs_step(device):
    # One Gibbs step of a tiny RBM: h ~ Bernoulli(sigmoid(v W + c)), v' ~ Bernoulli(sigmoid(h W^T + b)).
    pe.manual_seed(5)
    v = pe.bernoulli(pe.full((16, 12), 0.5, device=device))
    W = pe.randn(12, 6, device=device) * 0.1
    h = pe.bernoulli(pe.sigmoid(v @ W))
    v2 = pe.bernoulli(pe.sigmoid(h @ W.t()))
    assert tuple(h.shape) == (16, 6) and tuple(v2.shape) == (16, 12)
    assert set(np.unique(v2.cpu().numpy())) <= {0.0, 1.0}


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), float("inf")])
def test_invalid_probabilities(device, bad):
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        pe.bernoulli(pe.tensor([0.5, bad, 0.2], device=device))
    with pytest.raises(RuntimeError):
        pe.zeros(3, device=device).bernoulli_(pe.tensor([0.5, bad, 0.2], device=device))
    with pytest.raises(RuntimeError, match="p"):
        pe.zeros(3, device=device).bernoulli(bad)


def test_errors_like_torch():
    torch = pytest.importorskip("torch")
    cases = [
        lambda m: m.bernoulli(m.tensor([0.5, 1.5])),
        lambda m: m.bernoulli(m.tensor([0.5, float("nan")])),
        lambda m: m.bernoulli(m.tensor([1, 0])),          # integer probabilities
        lambda m: m.zeros(3).bernoulli_(m.tensor([0.2, 0.3])),  # p does not broadcast to self
        lambda m: m.zeros(2).bernoulli(1.5),
    ]
    for call in cases:
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(type(theirs.value)):
            call(pe)
    with pytest.raises(TypeError, match="Tensor"):
        pe.bernoulli([0.5, 0.5])
