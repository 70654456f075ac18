"""DistributedSampler (issue 16): PyTorch's arguments, lengths, padding and drop_last rules, the
same indices per rank as torch.utils.data.distributed.DistributedSampler without shuffling, and
with shuffling an order that all ranks agree on, that changes with set_epoch and that the ranks
split without overlap; DataLoader integration; errors."""
import numpy as np
import pytest

import pyengine as pe
from pyengine.data import DataLoader, DistributedSampler, TensorDataset


def shares(n, replicas, **kw):
    data = list(range(n))
    return [list(DistributedSampler(data, num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


torch = pytest.importorskip("torch")
TDS = torch.utils.data.distributed.DistributedSampler


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10, 11, 12, 13, 100])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shares_match_torch(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = TDS(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert len(ours) == len(theirs) and ours.total_size == theirs.total_size
        assert list(ours) == list(theirs)


@pytest.mark.parametrize("n,replicas", [(10, 3), (12, 4), (7, 2), (100, 7), (3, 5)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_shares_partition_one_permutation(n, replicas, drop_last):
    parts = shares(n, replicas, shuffle=True, seed=3, drop_last=drop_last)
    assert all(len(p) == len(DistributedSampler(range(n), num_replicas=replicas, rank=0, drop_last=drop_last))
               for p in parts)
    flat = [i for p in parts for i in p]
    if drop_last:  # floor(n / replicas) each, no index twice
        assert len(flat) == n // replicas * replicas and len(set(flat)) == len(flat)
    else:  # every index at least once; the padding repeats the order's head only
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas
    # the same seed and epoch: the same shares (every rank computes the order on its own)
    assert parts == shares(n, replicas, shuffle=True, seed=3, drop_last=drop_last)


def test_set_epoch_reshuffles_and_seed_changes_the_order():
    s = DistributedSampler(range(50), num_replicas=2, rank=1, seed=7)
    first = list(s)
    assert list(s) == first  # one epoch: a fixed order
    s.set_epoch(1)
    second = list(s)
    assert second != first and sorted(second) != sorted(range(50))  # a new half, not the whole set
    assert list(DistributedSampler(range(50), num_replicas=2, rank=1, seed=8)) != first
    other = DistributedSampler(range(50), num_replicas=2, rank=0, seed=7)
    other.set_epoch(1)
    assert sorted(list(other) + second) == list(range(50))  # the two ranks of epoch 1 cover it


def test_dataloader_with_distributed_sampler():
    x = pe.arange(20).float().reshape(10, 2)
    ds = TensorDataset(x)
    seen = []
    for rank in range(3):
        loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=3, rank=rank, shuffle=False))
        rows = [b[0] for b in loader]
        assert [len(r) for r in rows] == [2, 2]  # ceil(10 / 3) = 4 per rank
        seen += [int(v) for r in rows for v in r[:, 0].numpy()]
    assert sorted(set(seen)) == list(range(0, 20, 2))  # each row at least once (two padded)
    from pyengine.utils.data.distributed import DistributedSampler as alias
    assert alias is DistributedSampler and pe.utils.data.DistributedSampler is DistributedSampler


def test_errors():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(ValueError, match="num_replicas must be positive"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(TypeError, match="rank must be an int"):
        DistributedSampler(range(4), num_replicas=2, rank=1.0)
    with pytest.raises(RuntimeError, match="no process group is initialized"):
        DistributedSampler(range(4))
    np.testing.assert_equal(len(DistributedSampler(range(4), num_replicas=2, rank=0)), 2)
