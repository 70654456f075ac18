"""DistributedSampler: each of num_replicas processes reads its own 1/num_replicas of a dataset
per epoch, as torch.utils.data.distributed.DistributedSampler does (same arguments, padding,
drop_last and set_epoch rules).

Every rank computes the same order - a permutation drawn from seed + epoch when shuffling - and
takes every num_replicas-th index from position rank, so the ranks' shares never overlap and
together cover the dataset. The permutation comes from NumPy's generator, so the order differs
from PyTorch's for the same seed; which indices a rank gets without shuffling is PyTorch's exactly.
"""
import math

import numpy as np

from .sampler import Sampler


def _from_process_group(what):
    """num_replicas or rank from the initialized process group, or a clear error."""
    try:
        from .. import distributed as dist
    except ImportError:
        dist = None
    if dist is None or not dist.is_initialized():
        raise RuntimeError(f"DistributedSampler: {what} was not given and no process group is initialized "
                           f"(pass num_replicas= and rank=, or call pyengine.distributed.init_process_group first)")
    return dist.get_world_size() if what == "num_replicas" else dist.get_rank()


def _check_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"DistributedSampler: {name} must be an int, got {type(value).__name__}")
    return int(value)


class DistributedSampler(Sampler):
    """Indices of this rank's share of `dataset` for the current epoch.

    num_replicas / rank: the number of processes and this one's index (default: from the
    initialized process group). shuffle: a fresh permutation per epoch (seed + epoch, the same on
    every rank; call set_epoch(e) at the start of each epoch). drop_last=False pads the order with
    its own first indices so every rank gets ceil(len / num_replicas); drop_last=True drops the
    tail instead so every rank gets floor(len / num_replicas)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        num_replicas = _from_process_group("num_replicas") if num_replicas is None else num_replicas
        rank = _from_process_group("rank") if rank is None else rank
        num_replicas, rank = _check_int(num_replicas, "num_replicas"), _check_int(rank, "rank")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be positive, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = _check_int(seed, "seed")
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)  # = n // num_replicas
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding > 0 and indices:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch the next pass shuffles for: every rank must call it with the same value."""
        self.epoch = _check_int(epoch, "epoch")
