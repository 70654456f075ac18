"""Datasets: anything with __getitem__ and __len__, as in PyTorch."""
import numpy as np


class Dataset:
    """An indexable collection of samples. Subclasses define __getitem__ and __len__."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows of the given tensors (all with the same first dimension)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = tensors[0].shape[0]
        for i, t in enumerate(tensors):
            if t.shape[0] != n:
                raise ValueError(f"TensorDataset: tensor 0 has {n} rows but tensor {i} has {t.shape[0]} "
                                 f"(shape {tuple(t.shape)}); all tensors need the same first dimension")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        """A whole batch in one gather per tensor (what DataLoader calls), not one row at a time."""
        import pyengine
        idx = pyengine.tensor(np.asarray(indices, dtype=np.int64))
        return tuple(t[idx] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        mapped = [self.indices[i] for i in indices]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(mapped)
        return [self.dataset[i] for i in mapped]

    def __len__(self):
        return len(self.indices)


def _generator(generator):
    """A NumPy Generator: the given one, one seeded by an int, or one seeded by a draw from a
    pyengine.Generator (the default one for None), so seeding that generator reproduces it."""
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None or not isinstance(generator, (int, np.integer)):  # a pyengine.Generator, or the default one
        import pyengine
        generator = int(pyengine.randint(0, 2 ** 62, (1,), generator=generator).item())
    return np.random.default_rng(generator)


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping Subsets of the given lengths (ints, or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin, as PyTorch does
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, but the dataset has {n} samples")
    perm = _generator(generator).permutation(n)
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + length]))
        start += length
    return out
