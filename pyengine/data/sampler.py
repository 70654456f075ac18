"""Orders in which a DataLoader visits a dataset."""
from .dataset import _generator


class Sampler:
    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.n = len(data_source)

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class RandomSampler(Sampler):
    """A fresh permutation each epoch, drawn from `generator` (seeded => reproducible)."""

    def __init__(self, data_source, generator=None):
        self.n = len(data_source)
        self.rng = _generator(generator)

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())

    def __len__(self):
        return self.n


class SubsetRandomSampler(Sampler):
    def __init__(self, indices, generator=None):
        self.indices = list(indices)
        self.rng = _generator(generator)

    def __iter__(self):
        return iter([self.indices[i] for i in self.rng.permutation(len(self.indices))])

    def __len__(self):
        return len(self.indices)
