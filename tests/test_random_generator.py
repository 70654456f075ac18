"""pyengine.Generator and the random draws that take generator= (rand, randn, randint, randperm,
bernoulli, normal, multinomial, uniform_/normal_/bernoulli_, nn.init, random_split, samplers):
determinism per generator, independence from the default stream, state save/restore, the same
numbers on both devices, and statistical tests whose tolerances come from the sample size (a
broken sampler fails them; a correct one passes except with probability < 1e-6 per check)."""
import math

import numpy as np
import pytest

import pyengine as pe
from pyengine.data import DataLoader, TensorDataset, random_split
from pyengine.nn import init

torch = pytest.importorskip("torch")

Z = 5.5  # two-sided normal quantile for p ~ 4e-8


def _np(t):
    return t.detach().cpu().numpy()


def _chi2_threshold(df, z=Z):
    """Upper quantile of chi-square(df) by Wilson-Hilferty, at the normal quantile z."""
    return df * (1.0 - 2.0 / (9 * df) + z * math.sqrt(2.0 / (9 * df))) ** 3


def _chi2(counts, probs):
    expected = np.asarray(probs, dtype=np.float64) * counts.sum()
    keep = expected > 0
    assert counts[~keep].sum() == 0, "a category with probability 0 was drawn"
    return float((((counts - expected) ** 2)[keep] / expected[keep]).sum()), int(keep.sum()) - 1


def _assert_fits(counts, probs):
    stat, df = _chi2(counts, probs)
    assert stat < _chi2_threshold(df), f"chi-square {stat:.1f} with {df} dof: counts {counts} vs probs {probs}"


def _assert_moments(x, mean, std, axis=None):
    """Sample mean and variance within Z standard errors of the normal's."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size if axis is None else x.shape[axis]
    m, v = x.mean(axis=axis), x.var(axis=axis, ddof=1)
    std = np.broadcast_to(np.asarray(std, dtype=np.float64), np.shape(m))
    np.testing.assert_array_less(np.abs(m - mean), Z * std / math.sqrt(n) + 1e-12)
    np.testing.assert_array_less(np.abs(v - std ** 2), Z * std ** 2 * math.sqrt(2.0 / (n - 1)) + 1e-12)


# ---------------------------------------------------------------- the Generator object
def test_generator_api_mirrors_torch():
    g = pe.Generator()
    assert g.device == pe.device("cpu") and g.device.type == "cpu"
    assert g.initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    assert g.manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 64 and g.initial_seed() == s
    assert pe.Generator().seed() != pe.Generator().seed()  # from the OS: a clash has probability 2**-64
    with pytest.raises(ValueError, match="2\\*\\*64"):
        g.manual_seed(2 ** 64)
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got str"):
        g.manual_seed("3")
    assert pe.manual_seed(3) is pe.default_generator and pe.initial_seed() == 3


def test_same_seed_same_numbers_for_every_draw():
    def draws(g):
        return [pe.rand(5, generator=g), pe.randn(2, 3, generator=g, dtype=pe.float64),
                pe.randint(10, (6,), generator=g), pe.randint(-5, 5, (2, 2), generator=g),
                pe.randperm(9, generator=g), pe.bernoulli(pe.full((7,), 0.3), generator=g),
                pe.bernoulli(pe.zeros(7), 0.6, generator=g), pe.normal(0.0, 2.0, (4,), generator=g),
                pe.normal(pe.zeros(3), pe.ones(3), generator=g), pe.multinomial(pe.ones(5), 3, generator=g),
                pe.multinomial(pe.ones(2, 5), 8, True, generator=g), pe.empty(4).uniform_(-1, 1, generator=g),
                pe.empty(4).normal_(2, 3, generator=g), pe.empty(4).bernoulli_(0.5, generator=g),
                init.kaiming_uniform_(pe.empty(3, 4), generator=g), init.xavier_normal_(pe.empty(3, 4), generator=g)]

    a = draws(pe.Generator().manual_seed(123))
    b = draws(pe.Generator().manual_seed(123))
    c = draws(pe.Generator().manual_seed(124))
    for x, y in zip(a, b):
        assert pe.equal(x, y)
    assert sum(pe.equal(x, y) for x, y in zip(a, c)) <= 3  # small draws (bernoulli, randint) may coincide


def test_a_generator_leaves_the_default_stream_alone():
    pe.manual_seed(0)
    expected = pe.rand(8)
    pe.manual_seed(0)
    g = pe.Generator().manual_seed(0)
    first = pe.rand(8, generator=g)
    pe.randn(100, generator=g)
    assert pe.equal(pe.rand(8), expected)
    assert pe.equal(first, expected)  # a generator seeded like the default one draws the same numbers


def test_get_state_set_state_replays_exactly():
    g = pe.Generator().manual_seed(42)
    pe.rand(3, generator=g)
    state = g.get_state()
    x = pe.randn(17, generator=g)
    y = pe.multinomial(pe.ones(4), 4, generator=g)
    other = pe.Generator()
    other.set_state(state)
    assert other.initial_seed() == 42
    assert pe.equal(pe.randn(17, generator=other), x) and pe.equal(pe.multinomial(pe.ones(4), 4, generator=other), y)
    g.set_state(state)
    assert pe.equal(pe.randn(17, generator=g), x)
    with pytest.raises(TypeError, match="get_state"):
        g.set_state(pe.zeros(3))
    with pytest.raises(TypeError, match="get_state"):
        g.set_state([1, 2, 3])
    s = pe.get_rng_state()
    a = pe.rand(5)
    pe.set_rng_state(s)
    assert pe.equal(pe.rand(5), a)


def test_generator_argument_errors():
    with pytest.raises(TypeError, match="generator.*pyengine.Generator, not str"):
        pe.rand(2, generator="x")
    with pytest.raises(TypeError, match="generator"):
        pe.multinomial(pe.ones(2), 1, generator=3)
    if pe.cuda.is_available():
        gc = pe.Generator(device="cuda")
        assert gc.device.type == "cuda"
        with pytest.raises(RuntimeError, match="expected a 'cpu' device type for generator but found 'cuda'"):
            pe.rand(2, generator=gc)
        with pytest.raises(RuntimeError, match="expected a 'cuda' device type for generator but found 'cpu'"):
            pe.randn(2, device="cuda", generator=pe.Generator())
    with pytest.raises(RuntimeError, match="'cpu' or 'cuda'"):
        pe.Generator(device="meta")


def test_same_generator_state_same_numbers_on_both_devices(device):
    def draws(dev):
        g = pe.Generator(device=dev).manual_seed(99)
        probs = pe.tensor([[0.1, 0.0, 0.5, 0.4], [1.0, 2.0, 3.0, 4.0]], device=dev)
        return [pe.rand(33, generator=g, device=dev), pe.randn(5, 7, generator=g, device=dev, dtype=pe.float64),
                pe.randint(3, 1000, (21,), generator=g, device=dev),
                pe.bernoulli(pe.full((13,), 0.4, device=dev), generator=g),
                pe.normal(pe.zeros(9, device=dev), 2.0, generator=g),
                pe.multinomial(probs, 30, True, generator=g), pe.multinomial(probs, 3, generator=g),
                pe.multinomial(probs.double(), 4, generator=g)]

    for cpu, dev in zip(draws("cpu"), draws(device)):
        assert dev.device.type == device
        np.testing.assert_array_equal(_np(cpu), _np(dev))


# ---------------------------------------------------------------- normal
def test_normal_overloads_shapes_dtypes_and_moments(device):
    g = pe.Generator(device=device).manual_seed(1)
    n = 20000
    mean = pe.tensor([[-3.0], [0.0], [5.0]], device=device)
    std = pe.tensor([0.5, 2.0], device=device)
    s = pe.normal(mean.expand(3, 2).unsqueeze(0).expand(n, 3, 2).contiguous(), std, generator=g)
    assert tuple(s.shape) == (n, 3, 2) and s.dtype == pe.float32 and s.device.type == device
    _assert_moments(_np(s), np.array([[-3.0], [0.0], [5.0]]), np.array([0.5, 2.0]), axis=0)
    t = pe.normal(pe.full((n,), 1.5, device=device, dtype=pe.float64), 3.0, generator=g)
    assert t.dtype == pe.float64
    _assert_moments(_np(t), 1.5, 3.0)
    u = pe.normal(-2.0, pe.full((n,), 0.25, device=device), generator=g)
    _assert_moments(_np(u), -2.0, 0.25)
    v = pe.normal(4.0, 0.5, (n,), generator=g, dtype=pe.float64, device=device)
    assert v.dtype == pe.float64 and v.device.type == device
    _assert_moments(_np(v), 4.0, 0.5)
    assert tuple(pe.normal(0.0, 1.0, size=(2, 3)).shape) == (2, 3)
    assert tuple(pe.normal(pe.zeros(2, 1), pe.ones(3)).shape) == tuple(torch.normal(torch.zeros(2, 1),
                                                                                    torch.ones(3)).shape)


def test_normal_gradient_and_errors():
    m = pe.zeros(3, requires_grad=True)
    r = pe.normal(m, 1.0)
    tr = torch.normal(torch.zeros(3, requires_grad=True), 1.0)
    assert r.requires_grad == tr.requires_grad
    r.sum().backward()
    assert _np(m.grad).tolist() == [0.0, 0.0, 0.0]  # torch's gradient of a non-reparametrised draw
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        pe.normal(pe.zeros(3), -1.0)
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        pe.normal(pe.zeros(2), pe.tensor([-1.0, 1.0]))
    with pytest.raises(TypeError, match="size"):
        pe.normal(0.0, 1.0)
    with pytest.raises(NotImplementedError, match="int64"):
        pe.normal(pe.zeros(3, dtype=pe.int64), 1.0)
    with pytest.raises((RuntimeError, ValueError)):
        pe.normal(pe.zeros(3), pe.ones(4))


# ---------------------------------------------------------------- multinomial
@pytest.mark.parametrize("dtype", [pe.float32, pe.float64])
def test_multinomial_with_replacement_chi_square(dtype, device):
    probs = np.array([0.05, 0.0, 0.25, 0.1, 0.6, 0.0, 1e-3])
    weights = pe.tensor(np.stack([probs * 3.0, probs[::-1]]), dtype=dtype, device=device)  # unnormalised rows
    g = pe.Generator(device=device).manual_seed(5)
    s = pe.multinomial(weights, 20000, replacement=True, generator=g)
    assert s.dtype == pe.int64 and tuple(s.shape) == (2, 20000)
    for row, p in zip(_np(s), (probs, probs[::-1])):
        counts = np.bincount(row, minlength=len(p))
        _assert_fits(counts, p / p.sum())
        # power: the same counts are far from a wrong (uniform over the support) distribution
        wrong = (p > 0) / (p > 0).sum()
        assert _chi2(counts, wrong)[0] > 10 * _chi2_threshold(len(p) - 1)


def test_multinomial_without_replacement_first_and_second_draws(device):
    p = np.array([0.5, 0.3, 0.15, 0.05])
    rows = 6000
    g = pe.Generator(device=device).manual_seed(8)
    s = _np(pe.multinomial(pe.tensor(np.tile(p, (rows, 1)), device=device), 2, generator=g))
    assert (s[:, 0] != s[:, 1]).all()
    _assert_fits(np.bincount(s[:, 0], minlength=4), p)
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)])
    _assert_fits(np.bincount(s[:, 1], minlength=4), second)


def test_multinomial_without_replacement_takes_every_category_once():
    g = pe.Generator().manual_seed(2)
    w = pe.tensor([[3.0, 1.0, 0.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    s = _np(pe.multinomial(w, 5, generator=g))
    for row in s:
        assert sorted(row.tolist()) == [0, 1, 2, 3, 4]
    assert set(s[0, 3:].tolist()) == {2, 4}  # zero weights only once the positive ones are used up
    one = pe.tensor([0.0, 0.0, 1.0]).multinomial(1, generator=g)
    assert one.tolist() == [2] and tuple(one.shape) == (1,)


def test_multinomial_errors_match_torch():
    cases = [(pe.tensor([0.2, 0.8]), 3, False), (pe.tensor([0.0, 0.0]), 1, False), (pe.tensor([-1.0, 2.0]), 1, False),
             (pe.tensor([1.0, math.nan]), 1, True), (pe.tensor([1.0, math.inf]), 1, True), (pe.ones(2, 2, 2), 1, False),
             (pe.ones(2, dtype=pe.int64), 1, False), (pe.tensor([0.5, 1.0]), 0, False)]
    for probs, k, repl in cases:
        tp = torch.tensor(_np(probs))
        with pytest.raises(RuntimeError) as theirs:
            torch.multinomial(tp, k, repl)
        message = str(theirs.value).split("\n")[0]
        with pytest.raises(RuntimeError, match=message[:30].replace("(", "\\(").replace("`", ".")):
            pe.multinomial(probs, k, repl)
    with pytest.raises(TypeError, match="num_samples"):
        pe.multinomial(pe.ones(3), 1.5)


# ---------------------------------------------------------------- randint, randperm, bernoulli
def test_randint_overloads_bounds_and_uniformity(device):
    g = pe.Generator(device=device).manual_seed(3)
    a = pe.randint(7, (14000,), generator=g, device=device)
    assert a.dtype == pe.int64 and tuple(a.shape) == (14000,) and a.device.type == device
    _assert_fits(np.bincount(_np(a), minlength=7), np.full(7, 1 / 7))
    b = _np(pe.randint(-3, 2, (10000,), generator=g, device=device))
    assert b.min() >= -3 and b.max() <= 1
    _assert_fits(np.bincount(b + 3, minlength=5), np.full(5, 0.2))
    assert pe.randint(5, (2, 3), dtype=pe.float32).dtype == pe.float32
    assert tuple(pe.randint(2, 9, size=(4,)).shape) == (4,)
    with pytest.raises(RuntimeError, match="from.*less than.*to"):
        pe.randint(5, 5, (2,))


def test_randperm_is_a_uniform_permutation():
    g = pe.Generator().manual_seed(4)
    first = []
    for _ in range(3000):
        p = _np(pe.randperm(6, generator=g))
        assert sorted(p.tolist()) == list(range(6))
        first.append(p[0])
    _assert_fits(np.bincount(first, minlength=6), np.full(6, 1 / 6))


def test_bernoulli_with_generator_frequencies(device):
    g = pe.Generator(device=device).manual_seed(6)
    p = pe.tensor([0.0, 0.1, 0.5, 0.9, 1.0], device=device).expand(20000, 5).contiguous()
    s = _np(pe.bernoulli(p, generator=g))
    freq = s.mean(axis=0)
    q = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    np.testing.assert_array_less(np.abs(freq - q), Z * np.sqrt(q * (1 - q) / 20000) + 1e-12)


# ---------------------------------------------------------------- data: random_split, DataLoader
def test_random_split_and_dataloader_follow_the_generator():
    ds = TensorDataset(pe.arange(40))

    def split(seed):
        return [sorted(int(i) for i in s.indices) for s in random_split(ds, [30, 10],
                                                                        generator=pe.Generator().manual_seed(seed))]

    a, b = split(0), split(0)
    assert a == b and sorted(a[0] + a[1]) == list(range(40))
    assert split(1) != a
    g = pe.Generator().manual_seed(0)
    first = [random_split(ds, [20, 20], generator=g)[0].indices for _ in range(2)]
    assert list(first[0]) != list(first[1])  # the generator advances between calls

    def order(seed):
        loader = DataLoader(ds, batch_size=8, shuffle=True, generator=pe.Generator().manual_seed(seed))
        return [int(v) for batch in loader for v in _np(batch[0])]

    assert order(5) == order(5) and sorted(order(5)) == list(range(40)) and order(5) != order(6)
    loader = DataLoader(ds, batch_size=40, shuffle=True, generator=pe.Generator().manual_seed(5))
    epochs = [_np(next(iter(loader))[0]).tolist() for _ in range(2)]
    assert epochs[0] != epochs[1]  # a fresh order each epoch
    pe.manual_seed(11)
    x = [s.indices for s in random_split(ds, [0.5, 0.5])]
    pe.manual_seed(11)
    y = [s.indices for s in random_split(ds, [0.5, 0.5])]
    assert [list(v) for v in x] == [list(v) for v in y]  # the default generator is seeded by pe.manual_seed


def test_cuda_seeding_names_seed_the_shared_default_stream():
    pe.cuda.manual_seed_all(21)
    a = pe.rand(4)
    pe.cuda.manual_seed(21)
    assert pe.equal(pe.rand(4), a) and pe.cuda.initial_seed() == 21 == pe.initial_seed()
    pe.cuda.seed_all()
    assert pe.initial_seed() != 21  # from the OS: equal with probability 2**-64


def test_multinomial_without_replacement_large_rows_are_permutations(device):
    g = pe.Generator(device=device).manual_seed(12)
    n = 3001  # not a power of two: the heap's uneven last level
    w = pe.rand(2, n, generator=g, device=device) + 0.01
    s = _np(pe.multinomial(w, n, generator=g))
    for row in s:
        assert sorted(row.tolist()) == list(range(n))
    # the heaviest categories tend to come first: mean weight of the first tenth above the last tenth's
    wn = _np(w)
    assert all(wn[r, s[r, :300]].mean() > wn[r, s[r, -300:]].mean() for r in range(2))


def test_threads_sharing_a_generator_never_overlap():
    import threading

    def sequential():
        g = pe.Generator().manual_seed(77)
        return np.sort(np.concatenate([_np(pe.rand(64, generator=g)) for _ in range(200)]))

    g = pe.Generator().manual_seed(77)
    parts = []
    lock = threading.Lock()

    def work():
        mine = [_np(pe.rand(64, generator=g)) for _ in range(50)]
        with lock:
            parts.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # each draw reserves its own Philox blocks: together the threads read exactly the blocks
    # one thread would have read, in some order
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), sequential())


def test_tensor_random_overloads_match_torch_ranges(device):
    g = pe.Generator(device=device).manual_seed(9)
    x = pe.empty(30000, device=device).random_(generator=g)
    v = _np(x)
    assert v.min() >= 0 and v.max() <= 2 ** 24 and v.max() > 2 ** 23 and (v == np.round(v)).all()
    b = _np(pe.empty(6000, dtype=pe.bool, device=device).random_(generator=g))
    _assert_fits(np.bincount(b.astype(np.int64), minlength=2), [0.5, 0.5])
    k = _np(pe.empty(6000, dtype=pe.int64, device=device).random_(5, generator=g))
    _assert_fits(np.bincount(k, minlength=5), np.full(5, 0.2))
    f = _np(pe.empty(6000, dtype=pe.float64, device=device).random_(2, 4, generator=g))
    assert set(np.unique(f).tolist()) == {2.0, 3.0}
    a = pe.empty(5, dtype=pe.int64).random_(**{"from": -3, "to": 3}, generator=pe.Generator().manual_seed(1))
    assert pe.equal(a, pe.empty(5, dtype=pe.int64).random_(-3, 3, generator=pe.Generator().manual_seed(1)))
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got from=5 >= to=2"):
        pe.empty(3).random_(5, 2)
