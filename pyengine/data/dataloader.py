"""DataLoader: batches of samples in sequential, shuffled or sampler-given order."""
import math

import numpy as np

from .sampler import RandomSampler, SequentialSampler


def default_collate(samples):
    """Stack a list of samples into a batch: tensors are stacked, numbers become a tensor, and
    tuples/lists/dicts are collated field by field."""
    import pyengine
    first = samples[0]
    if isinstance(first, pyengine.Tensor):
        return pyengine.stack(samples)
    if isinstance(first, np.ndarray):
        return pyengine.tensor(np.stack(samples))
    if isinstance(first, (bool, int, float, np.number)):
        return pyengine.tensor(samples)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(field)) for field in zip(*samples))
    raise TypeError(f"default_collate: don't know how to batch samples of type {type(first).__name__}")


class DataLoader:
    """Iterate over `dataset` in batches.

    With the default collate and a dataset that can fetch a whole batch at once
    (`__getitems__`, e.g. TensorDataset), a batch costs one gather per tensor.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 collate_fn=None, generator=None):
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive")
        if batch_size is None or int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        if sampler is None:
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _fetch(self, indices):
        if self.collate_fn is None and hasattr(self.dataset, "__getitems__"):
            batch = self.dataset.__getitems__(indices)
            if isinstance(batch, tuple):
                return batch
            return default_collate(batch)
        samples = [self.dataset[i] for i in indices]
        return (self.collate_fn or default_collate)(samples)

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield self._fetch(batch)
                batch = []
        if batch and not self.drop_last:
            yield self._fetch(batch)
