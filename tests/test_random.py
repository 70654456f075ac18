"""Philox random numbers: the generator against the published known-answer vector, the
counter layout (element i depends only on seed, offset and i), reproducibility, thread-count
independence, distribution moments on 1e6 draws, strided in-place fills, errors."""
import math

import numpy as np
import pytest

from pyengine import _C

N = 1_000_000


def draw_words(seed, offset, blocks):
    """Raw Philox words of blocks offset.. through randint over the full int64 range: a
    64-bit word w maps to low + floor(w * (2^64 - 1) / 2^64) = -2^63 + w - 1 (for w > 0)."""
    _C.set_seed_state(seed, offset)
    vals = _C.randint(-(2**63), 2**63 - 1, [2 * blocks]).numpy()
    words = []
    for v in vals:
        w = int(v) + 2**63 + 1
        words += [w >> 32, w & 0xFFFFFFFF]
    return words


def test_philox_known_answer():
    # Random123's kat_vectors: philox4x32_10, counter 0, key 0.
    assert draw_words(0, 0, 1) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


def test_seed_state_and_offsets():
    _C.manual_seed(123)
    assert _C.seed_state() == (123, 0)
    _C.rand([10])                       # float32: 4 per block -> 3 blocks
    assert _C.seed_state() == (123, 3)
    _C.rand([5], "float64")             # float64: 2 per block -> 3 blocks
    assert _C.seed_state() == (123, 6)
    _C.randn([9])                       # Box-Muller, float32: 4 per block -> 3
    assert _C.seed_state() == (123, 9)
    _C.randint(0, 10, [3])              # 64-bit words: 2 per block -> 2
    assert _C.seed_state() == (123, 11)
    _C.rand([0])                        # empty draws consume nothing
    assert _C.seed_state() == (123, 11)
    _C.manual_seed(-1)                  # negative seeds wrap modulo 2^64, as in PyTorch
    assert _C.seed_state() == (2**64 - 1, 0)


@pytest.mark.parametrize("make", [
    lambda n: _C.rand([n]), lambda n: _C.rand([n], "float64"), lambda n: _C.randn([n]),
    lambda n: _C.randn([n], "float64"), lambda n: _C.randint(-5, 1000, [n]),
])
def test_reproducible_and_prefix_stable(make):
    _C.manual_seed(7)
    a = make(1001).numpy()
    _C.manual_seed(7)
    b = make(1001).numpy()
    np.testing.assert_array_equal(a, b)
    c = make(1001).numpy()              # the next draw differs
    assert not np.array_equal(a, c)
    _C.manual_seed(7)
    np.testing.assert_array_equal(make(37).numpy(), a[:37])   # element i depends only on i
    _C.manual_seed(8)
    assert not np.array_equal(make(1001).numpy(), a)


def test_set_seed_state_replays_a_draw():
    _C.manual_seed(99)
    _C.rand([12345])
    state = _C.seed_state()
    a = _C.randn([333], "float64").numpy()
    _C.set_seed_state(*state)
    np.testing.assert_array_equal(_C.randn([333], "float64").numpy(), a)


def test_same_numbers_on_one_and_two_threads():
    before = _C.get_num_threads()
    draws = [lambda: _C.rand([N]), lambda: _C.randn([N], "float64"), lambda: _C.randint(0, 97, [N]),
             lambda: _C.bernoulli_(_C.empty([N], "float32"), 0.3)]
    try:
        results = []
        for threads in (1, 2):
            _C.set_num_threads(threads)
            _C.manual_seed(2024)
            results.append([d().numpy() for d in draws])
        for x, y in zip(*results):
            np.testing.assert_array_equal(x, y)
    finally:
        _C.set_num_threads(before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_moments(dtype):
    _C.manual_seed(1)
    x = _C.rand([N], dtype).numpy()
    assert x.dtype == np.dtype(dtype) and x.min() >= 0 and x.max() < 1
    assert abs(x.mean() - 0.5) < 0.002
    assert abs(x.var() - 1 / 12) < 0.001
    # uniform_ on a range
    t = _C.empty([N], dtype)
    y = _C.uniform_(t, -2.0, 5.0).numpy()
    assert y.min() >= -2 and y.max() <= 5
    assert abs(y.mean() - 1.5) < 0.02 and abs(y.var() - 49 / 12) < 0.05
    hist = np.histogram(x, bins=10, range=(0, 1))[0] / N
    np.testing.assert_allclose(hist, 0.1, atol=0.002)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_moments(dtype):
    _C.manual_seed(2)
    z = _C.randn([N], dtype).numpy().astype(np.float64)
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 0.005 and abs(z.var() - 1) < 0.01
    assert abs(np.mean(z**3)) < 0.02 and abs(np.mean(z**4) - 3) < 0.05   # skew 0, kurtosis 3
    assert abs(np.mean(np.abs(z) < 1) - 0.682689) < 0.002
    t = _C.normal_(_C.empty([N], dtype), 3.0, 2.0).numpy()
    assert abs(t.mean() - 3) < 0.01 and abs(t.std() - 2) < 0.01
    assert np.all(_C.normal_(_C.empty([10], dtype), -1.0, 0.0).numpy() == -1)


def test_randint_range_and_frequencies():
    _C.manual_seed(3)
    x = _C.randint(-3, 7, [N]).numpy()
    assert x.dtype == np.int64 and x.min() == -3 and x.max() == 6
    freq = np.bincount(x + 3) / N
    np.testing.assert_allclose(freq, 0.1, atol=0.002)
    big = _C.randint(0, 2**40, [N]).numpy()
    assert big.min() >= 0 and big.max() < 2**40 and abs(big.mean() / 2**40 - 0.5) < 0.003
    f = _C.randint(0, 5, [7, 3], "float64")
    assert f.dtype == "float64" and f.shape == (7, 3)
    assert set(np.unique(f.numpy())) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert set(np.unique(_C.randint(0, 2, [100], "bool").numpy())) == {False, True}
    assert _C.randint(5, 6, [4]).numpy().tolist() == [5, 5, 5, 5]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_bernoulli(dtype):
    _C.manual_seed(4)
    t = _C.empty([N], dtype)
    v0 = t.version
    out = _C.bernoulli_(t, 0.3)
    assert t.version > v0 and out.data_ptr == t.data_ptr
    x = t.numpy().astype(np.float64)
    assert set(np.unique(x)) == {0.0, 1.0}
    assert abs(x.mean() - 0.3) < 0.002
    assert np.all(_C.bernoulli_(_C.empty([1000], dtype), 0.0).numpy() == 0)
    assert np.all(_C.bernoulli_(_C.empty([1000], dtype), 1.0).numpy() == 1)


@pytest.mark.parametrize("fill", ["uniform", "normal", "bernoulli"])
def test_in_place_on_strided_views(fill):
    base = np.full((7, 10), -42.0, dtype=np.float32)
    view = base[1::2, ::3].T                         # sliced and transposed: shape (4, 3)
    t = _C.from_numpy(view)
    _C.manual_seed(5)
    if fill == "uniform":
        _C.uniform_(t, 0.0, 1.0)
        _C.manual_seed(5)
        want = _C.rand([4, 3]).numpy()
    elif fill == "normal":
        _C.normal_(t, 0.0, 1.0)
        _C.manual_seed(5)
        want = _C.randn([4, 3]).numpy()
    else:
        _C.bernoulli_(t, 0.5)
        _C.manual_seed(5)
        want = _C.bernoulli_(_C.empty([4, 3], "float32"), 0.5).numpy()
    # The view holds the same numbers as a contiguous draw (logical order), the rest is untouched.
    np.testing.assert_array_equal(view, want)
    mask = np.ones_like(base, dtype=bool)
    mask[1::2, ::3] = False
    assert np.all(base[mask] == -42.0)
    # A stride-0 (broadcast) view: every element aliases one, so the draw is refused (PyTorch).
    col = np.zeros((5, 1), dtype=np.float32)
    bt = _C.expand(_C.from_numpy(col), [5, 4])
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        _C.uniform_(bt, 2.0, 3.0)
    assert np.all(col == 0)


def test_errors():
    with pytest.raises(ValueError, match="low < high.*low=5, high=5"):
        _C.randint(5, 5, [3])
    with pytest.raises(ValueError, match="low=7, high=2"):
        _C.randint(7, 2, [3])
    with pytest.raises(TypeError, match="floating.*int64"):
        _C.rand([3], "int64")
    with pytest.raises(TypeError, match="floating.*bool"):
        _C.randn([3], "bool")
    with pytest.raises(TypeError, match="unknown dtype"):
        _C.rand([3], "float8")
    with pytest.raises(ValueError, match="low <= high.*low=2, high=1"):
        _C.uniform_(_C.empty([3]), 2.0, 1.0)
    with pytest.raises(ValueError, match="std >= 0.*std=-1"):
        _C.normal_(_C.empty([3]), 0.0, -1.0)
    with pytest.raises(ValueError, match="0 <= p <= 1.*p=1.5"):
        _C.bernoulli_(_C.empty([3]), 1.5)
    with pytest.raises(TypeError, match="uniform_.*int64"):
        _C.uniform_(_C.empty([3], "int64"), 0.0, 1.0)
    with pytest.raises(ValueError, match="negative dimension"):
        _C.rand([2, -1])
    with pytest.raises(ValueError, match="bool"):
        _C.randint(0, 3, [2], "bool")
    state = _C.seed_state()
    if not _C.cuda_is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            _C.rand([3], "float32", "cuda")
    assert _C.seed_state() == state     # a failed call draws nothing
