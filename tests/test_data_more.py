"""pyengine.utils.data (= pyengine.data) against torch.utils.data (2.13): DataLoader worker
processes (the same batches as num_workers=0, PyTorch's order for IterableDatasets, prefetching,
worker_init_fn and get_worker_info, persistent workers, in_order, spawn), errors that surface
in the main process instead of hangs (a raising worker, a dying worker, timeouts, unpicklable
batches), argument errors, the samplers (sequences vs torch where deterministic, distributions
where random) and the dataset combinators."""
import collections
import os
import pickle
import signal
import threading

import numpy as np
import pytest

import pyengine as pe
import pyengine.utils.data as data
from pyengine.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

torch = pytest.importorskip("torch")
tdata = torch.utils.data

# torch's advice when a loader has more workers than this machine's cores: not what is tested here
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")

DEADLINE = 60  # seconds: a loader that takes longer is hanging


def within_deadline(fn, seconds=DEADLINE):
    """fn() run in a thread; a hang fails the test instead of stalling the suite."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"DataLoader did not finish within {seconds} s (hang)")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def to_np(batch):
    """A batch as nested lists/arrays, for comparisons."""
    if isinstance(batch, (pe.Tensor, torch.Tensor)):
        return batch.numpy()
    if isinstance(batch, dict):
        return {k: to_np(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [to_np(b) for b in batch]
    return batch


def assert_same_batches(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_equal(to_np(g), to_np(w))


# ----- module-level datasets (picklable, so spawn workers can import them) ---------------------


class Squares(Dataset):
    """Samples with several kinds of fields: a float64 row, an int, a string, a dict."""

    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        row = pe.tensor(np.arange(3, dtype=np.float64) + i * i)
        return row, i, f"s{i}", {"half": pe.tensor([i / 2.0]), "arr": np.full(2, i, dtype=np.int64)}


class WhoLoads(Dataset):
    """(index, worker id, worker seed, value set by worker_init_fn)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        if info is None:
            return i, -1, -1, -1
        return i, info.id, info.seed % 1000003, _INIT_MARK.get("mark", -2)


_INIT_MARK = {}


def mark_worker(worker_id):
    _INIT_MARK["mark"] = 100 + worker_id


class Range(IterableDataset):
    """0..n-1, sharded across workers when `shard` (the get_worker_info recipe)."""

    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


class TorchRange(tdata.IterableDataset):
    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = tdata.get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class Failing(Dataset):
    def __init__(self, how, at=5):
        self.how, self.at = how, at

    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == self.at:
            if self.how == "raise":
                raise ValueError(f"bad sample {i}")
            if self.how == "keyerror":
                raise KeyError(i)
            if self.how == "exit":
                os._exit(7)
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "sleep":
                import time
                time.sleep(30)
            if self.how == "unpicklable":
                return lambda: i
        return i


class HeavyOps(Dataset):
    """Samples that run multi-threaded kernels (matmul, reductions) inside the worker."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        a = pe.tensor(np.random.default_rng(i).standard_normal((160, 160)))
        return (a @ a).sum()


def raising_init(worker_id):
    raise RuntimeError(f"init failed in {worker_id}")


# ----- the alias ------------------------------------------------------------------------------


def test_utils_data_is_the_data_package():
    import pyengine.utils.data.dataloader as dl
    import pyengine.utils.data.sampler as sm
    from pyengine.utils.data.dataset import ConcatDataset
    assert pe.utils.data is pe.data and data is pe.data
    assert dl.DataLoader is pe.data.DataLoader and sm.BatchSampler is pe.data.BatchSampler
    assert ConcatDataset is pe.data.ConcatDataset
    for name in ("BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
                 "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler",
                 "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert", "get_worker_info",
                 "random_split"):
        assert hasattr(data, name) and hasattr(tdata, name), name
    assert get_worker_info() is None  # in the main process


def test_tensor_pickle_round_trip():
    base = pe.tensor(np.arange(24, dtype=np.float64).reshape(4, 6))
    for t in (base, base.t(), base[1:, ::2], pe.tensor([1, 2, 3]), pe.tensor(3.5), pe.zeros(0, 3),
              pe.tensor([True, False])):
        u = pickle.loads(pickle.dumps(t))
        assert u.dtype == t.dtype and tuple(u.shape) == tuple(t.shape)
        np.testing.assert_array_equal(u.numpy(), t.numpy())
    p = pe.nn.Parameter(pe.ones(2))
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, pe.nn.Parameter) and q.requires_grad


# ----- workers give the same batches as the main process --------------------------------------


LOADER_CONFIGS = [  # factories: a sampler with a seeded stream must be fresh for each loader
    lambda: dict(batch_size=1),
    lambda: dict(batch_size=4),
    lambda: dict(batch_size=5, drop_last=True),
    lambda: dict(batch_size=3, shuffle=True, generator=7),
    lambda: dict(batch_size=None),
    lambda: dict(batch_size=2, sampler=data.SubsetRandomSampler([3, 1, 4, 15, 9, 2, 6], generator=1)),
    lambda: dict(batch_sampler=data.BatchSampler(data.SequentialSampler(range(23)), 6, False)),
    lambda: dict(batch_size=4, collate_fn=lambda samples: [s[1] * 10 for s in samples]),
]


@pytest.mark.parametrize("workers,prefetch", [(1, 1), (2, None), (3, 4)])
@pytest.mark.parametrize("config", range(len(LOADER_CONFIGS)))
def test_workers_match_main_process(config, workers, prefetch):
    kwargs = LOADER_CONFIGS[config]()
    want = list(DataLoader(Squares(), **LOADER_CONFIGS[config]()))
    got = within_deadline(lambda: list(DataLoader(Squares(), num_workers=workers, prefetch_factor=prefetch,
                                                  **kwargs)))
    assert_same_batches(got, want)
    if kwargs.get("batch_size") == 4 and "collate_fn" not in kwargs:
        row = got[0][0]
        assert isinstance(row, pe.Tensor) and row.dtype == pe.float64 and tuple(row.shape) == (4, 3)
        assert got[0][2] == ["s0", "s1", "s2", "s3"] and got[0][3]["arr"].dtype == pe.int64


def test_tensor_dataset_batches_arrive_intact():
    x = pe.tensor(np.random.default_rng(0).standard_normal((37, 3, 2)))
    y = pe.arange(37)
    ds = TensorDataset(x, y)
    want = list(DataLoader(ds, batch_size=8))
    got = within_deadline(lambda: list(DataLoader(ds, batch_size=8, num_workers=2, pin_memory=True)))
    assert_same_batches(got, want)
    assert got[0][0].dtype == pe.float64 and got[0][1].dtype == pe.int64


def test_in_order_false_gives_every_batch():
    got = within_deadline(lambda: list(DataLoader(Squares(), batch_size=3, num_workers=3, in_order=False)))
    assert sorted(int(b[1][0]) for b in got) == list(range(0, 23, 3))


def test_worker_ids_seeds_and_init_fn():
    loader = DataLoader(WhoLoads(), batch_size=2, num_workers=3, worker_init_fn=mark_worker, generator=5)
    batches = within_deadline(lambda: list(loader))
    assert [int(b[0][0]) for b in batches] == list(range(0, 12, 2))
    for k, (idx, wid, seed, mark) in enumerate(batches):
        assert wid.tolist() == [k % 3] * 2  # batches go to the workers in turn, as in PyTorch
        assert mark.tolist() == [100 + k % 3] * 2  # worker_init_fn ran in that worker first
    seeds = {int(b[1][0]): int(b[2][0]) for b in batches}
    assert len(set(seeds.values())) == 3  # every worker has its own seed
    assert DataLoader(WhoLoads(), batch_size=12).__iter__().__next__()[1].tolist() == [-1] * 12


def test_kernels_in_forked_workers_after_threaded_kernels_in_parent():
    """The parent has run OpenMP-parallel kernels before forking; workers run kernels too."""
    big = pe.tensor(np.random.default_rng(0).standard_normal((400, 400)))
    (big @ big).sum()
    want = [b.numpy() for b in DataLoader(HeavyOps(), batch_size=2)]
    got = within_deadline(lambda: [b.numpy() for b in DataLoader(HeavyOps(), batch_size=2, num_workers=2)])
    np.testing.assert_allclose(np.concatenate(got), np.concatenate(want), rtol=1e-12)


def test_spawn_context():
    loader = DataLoader(Squares(9), batch_size=4, num_workers=1, multiprocessing_context="spawn")
    got = within_deadline(lambda: list(loader), seconds=120)
    assert_same_batches(got, list(DataLoader(Squares(9), batch_size=4)))


# ----- IterableDataset: PyTorch's order ---------------------------------------------------------


@pytest.mark.parametrize("n,batch_size,workers,drop_last,shard", [
    (10, 3, 2, False, True), (10, 3, 2, True, True), (17, 4, 3, False, True), (5, 2, 3, False, True),
    (7, None, 2, False, True), (6, 4, 2, False, False), (0, 2, 2, False, True), (9, 2, 1, False, True)])
def test_iterable_dataset_order_matches_torch(n, batch_size, workers, drop_last, shard):
    want = list(tdata.DataLoader(TorchRange(n, shard), batch_size=batch_size, num_workers=workers,
                                 drop_last=drop_last))
    got = within_deadline(lambda: list(DataLoader(Range(n, shard), batch_size=batch_size, num_workers=workers,
                                                  drop_last=drop_last)))
    as_list = lambda b: b.tolist() if hasattr(b, "tolist") else b  # noqa: E731 (batch_size=None: ints)
    assert [as_list(b) for b in got] == [as_list(b) for b in want]
    single = list(DataLoader(Range(n, shard), batch_size=batch_size, drop_last=drop_last))
    if workers == 1:
        assert [as_list(b) for b in got] == [as_list(b) for b in single]


def test_iterable_dataset_len_and_combinators():
    loader = DataLoader(Range(10), batch_size=3)
    assert len(loader) == 4 and len(DataLoader(Range(10), batch_size=3, drop_last=True)) == 3
    chained = Range(3) + Range(2)
    assert isinstance(chained, data.ChainDataset) and list(chained) == [0, 1, 2, 0, 1] and len(chained) == 5
    with pytest.raises(TypeError, match="ChainDataset only supports IterableDataset"):
        list(data.ChainDataset([Range(2), Squares(2)]))


# ----- persistent workers -----------------------------------------------------------------------


def test_persistent_workers_keep_processes_and_restart_passes():
    loader = DataLoader(Squares(), batch_size=4, num_workers=2, persistent_workers=True, shuffle=True, generator=3)
    want_orders = [[int(i) for b in DataLoader(Squares(), batch_size=4, shuffle=True, generator=3) for i in b[1]]]
    pids = None
    orders = []
    for epoch in range(3):
        it = iter(loader)
        order = within_deadline(lambda: [int(i) for b in it for i in b[1]])
        orders.append(order)
        assert sorted(order) == list(range(23))
        now = [w.pid for w in loader._iterator._workers]
        assert pids is None or now == pids
        pids = now
        assert all(w.is_alive() for w in loader._iterator._workers)
    assert orders[0] == want_orders[0] and orders[1] != orders[0]

    # an epoch abandoned half-way leaves batches in flight; the next epoch must not see them
    it = iter(loader)
    next(it)
    order = within_deadline(lambda: [int(i) for b in iter(loader) for i in b[1]])
    assert sorted(order) == list(range(23))


def test_persistent_workers_iterable_dataset():
    loader = DataLoader(Range(9), batch_size=2, num_workers=2, persistent_workers=True)
    want = [b.tolist() for b in tdata.DataLoader(TorchRange(9), batch_size=2, num_workers=2)]
    for _ in range(2):
        assert within_deadline(lambda: [b.tolist() for b in loader]) == want


def test_non_persistent_workers_exit_after_the_pass():
    it = iter(DataLoader(Squares(), batch_size=4, num_workers=2))
    workers = it._workers
    within_deadline(lambda: list(it))
    for w in workers:
        w.join(10)
        assert not w.is_alive()


# ----- errors surface in the main process, never as a hang --------------------------------------


def test_worker_exception_is_reraised_with_its_type_and_traceback():
    loader = DataLoader(Failing("raise"), batch_size=2, num_workers=2)
    with pytest.raises(ValueError, match=r"(?s)Caught ValueError in DataLoader worker process 0.*bad sample 5"):
        within_deadline(lambda: list(loader))
    with pytest.raises(KeyError, match="Caught KeyError"):
        within_deadline(lambda: list(DataLoader(Failing("keyerror"), batch_size=2, num_workers=2)))


def test_worker_init_fn_exception():
    loader = DataLoader(Squares(), batch_size=4, num_workers=2, worker_init_fn=raising_init)
    with pytest.raises(RuntimeError, match="init failed in 0"):
        within_deadline(lambda: list(loader))


@pytest.mark.parametrize("how,match", [("exit", r"exited unexpectedly \(pid \d+: exit code 7\)"),
                                       ("kill", "killed by signal SIGKILL")])
def test_dead_worker_is_an_error(how, match):
    loader = DataLoader(Failing(how), batch_size=2, num_workers=2)
    with pytest.raises(RuntimeError, match=match):
        within_deadline(lambda: list(loader))


def test_timeout():
    loader = DataLoader(Failing("sleep", at=0), batch_size=2, num_workers=1, timeout=1.0)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 1.0 seconds"):
        within_deadline(lambda: list(loader))


def test_unpicklable_batch_is_an_error():
    loader = DataLoader(Failing("unpicklable"), batch_size=None, num_workers=1)
    with pytest.raises(Exception, match="pickling the batch"):
        within_deadline(lambda: list(loader))


def test_loader_argument_errors_match_torch():
    ds = Squares()
    cases = [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2), dict(persistent_workers=True),
             dict(batch_sampler=data.BatchSampler(range(4), 2, False), batch_size=3),
             dict(batch_sampler=data.BatchSampler(range(4), 2, False), drop_last=True),
             dict(sampler=data.SequentialSampler(ds), shuffle=True), dict(batch_size=None, drop_last=True),
             dict(batch_size=0), dict(num_workers=1, multiprocessing_context="teleport"),
             dict(multiprocessing_context="fork")]
    for kwargs in cases:
        tkwargs = {k: (tdata.BatchSampler(range(4), 2, False) if k == "batch_sampler" else
                       tdata.SequentialSampler(ds) if k == "sampler" else v) for k, v in kwargs.items()}
        with pytest.raises(ValueError) as theirs:
            tdata.DataLoader(ds, **tkwargs)
        with pytest.raises(ValueError) as ours:
            DataLoader(ds, **kwargs)
        assert str(ours.value).split(" (got")[0] == str(theirs.value), kwargs
    for kwargs in (dict(shuffle=True), dict(sampler=[0, 1]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
            DataLoader(Range(3), **kwargs)
    with pytest.raises(TypeError, match="multiprocessing_context option should be a valid context"):
        DataLoader(ds, num_workers=1, multiprocessing_context=3)


# ----- samplers -----------------------------------------------------------------------------------


def test_deterministic_samplers_match_torch():
    src = list(range(11))
    assert list(data.SequentialSampler(src)) == list(tdata.SequentialSampler(src))
    for size in (1, 3, 4, 11, 12):
        for drop_last in (False, True):
            ours = data.BatchSampler(data.SequentialSampler(src), size, drop_last)
            theirs = tdata.BatchSampler(tdata.SequentialSampler(src), size, drop_last)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
    ours = [b.tolist() for b in DataLoader(src, batch_sampler=data.BatchSampler(range(11), 4, True))]
    assert ours == [b.tolist() for b in tdata.DataLoader(src, batch_sampler=tdata.BatchSampler(range(11), 4, True))]


def test_sampler_argument_errors_match_torch():
    pairs = [
        (lambda m: m.RandomSampler(range(3), replacement=1), TypeError),
        (lambda m: m.RandomSampler(range(3), num_samples=0), ValueError),
        (lambda m: m.RandomSampler([], num_samples=None), ValueError),
        (lambda m: m.WeightedRandomSampler([1.0, 2.0], 0), ValueError),
        (lambda m: m.WeightedRandomSampler([1.0, 2.0], 3, replacement=1), ValueError),
        (lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 3), ValueError),
        (lambda m: m.BatchSampler(range(3), 0, False), ValueError),
        (lambda m: m.BatchSampler(range(3), True, False), ValueError),
        (lambda m: m.BatchSampler(range(3), 2, 1), ValueError),
    ]
    for make, kind in pairs:
        with pytest.raises(kind) as theirs:
            make(tdata)
        with pytest.raises(kind) as ours:
            make(data)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="without replacement"):
        list(data.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False))
    with pytest.raises(RuntimeError, match="< 0"):
        list(data.WeightedRandomSampler([1.0, -1.0], 1))
    with pytest.raises(TypeError, match="generator must be"):
        list(data.RandomSampler(range(3), generator="seed"))


def test_random_sampler_shapes_match_torch():
    src = list(range(7))
    for kwargs in (dict(), dict(num_samples=17), dict(num_samples=3), dict(replacement=True),
                   dict(replacement=True, num_samples=40)):
        ours, theirs = list(data.RandomSampler(src, **kwargs)), list(tdata.RandomSampler(src, **kwargs))
        assert len(ours) == len(theirs) == len(data.RandomSampler(src, **kwargs))
        assert all(0 <= i < 7 for i in ours)
        if not kwargs.get("replacement"):
            # whole permutations one after another, then a part of one
            for start in range(0, len(ours) - len(ours) % 7, 7):
                assert sorted(ours[start:start + 7]) == src
            assert len(set(ours[len(ours) - len(ours) % 7:])) == len(ours) % 7


def test_random_sampler_reproducibility():
    pe.manual_seed(0)
    a = list(data.RandomSampler(range(50)))
    pe.manual_seed(0)
    b = list(data.RandomSampler(range(50)))
    assert a == b and sorted(a) == list(range(50))
    s = data.RandomSampler(range(50), generator=3)
    first, second = list(s), list(s)
    assert first != second and first == list(data.RandomSampler(range(50), generator=3))
    g = np.random.default_rng(1)
    assert list(data.RandomSampler(range(20), generator=g)) == np.random.default_rng(1).permutation(20).tolist()


def chi_square_ok(counts, expected):
    """Pearson's statistic below the 0.999 quantile (Wilson-Hilferty) for len(counts) - 1 dof."""
    counts, expected = np.asarray(counts, float), np.asarray(expected, float)
    stat = ((counts - expected) ** 2 / expected).sum()
    k = len(counts) - 1
    bound = k * (1 - 2 / (9 * k) + 3.09 * np.sqrt(2 / (9 * k))) ** 3
    return stat < bound


def test_random_sampler_with_replacement_is_uniform():
    draws = list(data.RandomSampler(range(10), replacement=True, num_samples=20000, generator=2))
    counts = np.bincount(draws, minlength=10)
    assert chi_square_ok(counts, np.full(10, 2000))


def test_weighted_random_sampler_distribution():
    weights = [0.1, 0.0, 2.0, 1.0, 0.5, 3.4]
    sampler = data.WeightedRandomSampler(pe.tensor(weights), 30000, generator=4)
    draws = list(sampler)
    assert len(draws) == len(sampler) == 30000
    counts = np.bincount(draws, minlength=6)
    assert counts[1] == 0
    p = np.array(weights) / sum(weights)
    keep = p > 0
    assert chi_square_ok(counts[keep], 30000 * p[keep])
    no_repeat = list(data.WeightedRandomSampler(weights, 5, replacement=False, generator=5))
    assert sorted(no_repeat) == [0, 2, 3, 4, 5]
    assert torch.utils.data.WeightedRandomSampler(weights, 5).weights.dtype == torch.float64
    assert sampler.weights.dtype == pe.float64


def test_subset_random_sampler_and_loader_over_it():
    idx = [10, 3, 7, 22, 5]
    s = data.SubsetRandomSampler(idx, generator=0)
    assert sorted(s) == sorted(idx) and len(s) == 5
    batches = list(DataLoader(Squares(), batch_size=2, sampler=s))
    assert sorted(int(i) for b in batches for i in b[1]) == sorted(idx)


# ----- dataset combinators ----------------------------------------------------------------------


def test_concat_dataset_matches_torch():
    parts = [list(range(3)), list(range(10, 15)), [], list(range(20, 22))]
    ours, theirs = data.ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-len(ours), len(ours))] == [theirs[i] for i in range(-len(theirs), len(theirs))]
    with pytest.raises(ValueError, match="absolute value of index"):
        ours[-11]
    with pytest.raises(IndexError):
        ours[10]
    with pytest.raises(ValueError, match="empty iterable"):
        data.ConcatDataset([])
    with pytest.raises(ValueError, match="does not support IterableDataset"):
        data.ConcatDataset([Range(2)])
    both = Squares(3) + Squares(2)
    assert isinstance(both, data.ConcatDataset) and len(both) == 5 and both[4][1] == 1
    got = within_deadline(lambda: list(DataLoader(both, batch_size=2, num_workers=2)))
    assert [b[1].tolist() for b in got] == [[0, 1], [2, 0], [1]]


def test_stack_dataset_matches_torch():
    a, b = list(range(4)), list("abcd")
    assert [data.StackDataset(a, b)[i] for i in range(4)] == [tdata.StackDataset(a, b)[i] for i in range(4)]
    assert data.StackDataset(x=a, y=b)[2] == tdata.StackDataset(x=a, y=b)[2] == {"x": 2, "y": "c"}
    with pytest.raises(ValueError, match="Size mismatch"):
        data.StackDataset(a, b[:2])


def test_default_collate_and_convert():
    Point = collections.namedtuple("Point", "x y")
    batch = data.default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(batch, Point) and batch.x.tolist() == [1, 3] and batch.y.dtype == pe.float32
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([[1, 2], [3]])
    converted = data.default_convert({"a": np.arange(3), "b": "text", "c": [np.float64(2.5)]})
    assert isinstance(converted["a"], pe.Tensor) and converted["b"] == "text"
    assert isinstance(converted["c"][0], pe.Tensor)


def test_samplers_and_loader_draw_from_a_pyengine_generator():
    """generator= takes a torch-like generator object: reseeding it reproduces the pass."""
    if not hasattr(pe, "Generator"):
        pytest.skip("pyengine.Generator is not in this build yet")
    g = pe.Generator()
    for make in (lambda: data.RandomSampler(range(30), generator=g),
                 lambda: data.RandomSampler(range(30), replacement=True, num_samples=50, generator=g),
                 lambda: data.SubsetRandomSampler(list(range(5, 40)), generator=g),
                 lambda: data.WeightedRandomSampler([1.0, 2.0, 3.0, 0.5], 40, generator=g)):
        g.manual_seed(0)
        first, second = list(make()), list(make())
        g.manual_seed(0)
        assert list(make()) == first and second != first

    def epoch():
        loader = DataLoader(WhoLoads(), batch_size=3, shuffle=True, generator=g, num_workers=2)
        return [(b[0].tolist(), b[2].tolist()) for b in loader]
    g.manual_seed(7)
    once = within_deadline(epoch)
    g.manual_seed(7)
    assert within_deadline(epoch) == once  # the same order and the same worker seeds
