"""Orders in which a DataLoader visits a dataset: samplers of indices and the batch sampler that
groups them, with PyTorch's names, arguments and errors.

Randomness: `generator` may be None (each pass draws a fresh seed from pyengine's global RNG, so
pe.manual_seed makes it reproducible, as torch.manual_seed does), a torch-like generator object
such as pyengine.Generator (each pass draws its seed from it), a NumPy Generator (used as it is)
or an int (a seed for the sampler's own stream). The streams are NumPy's, so random orders
differ from PyTorch's for the same seed; their distributions are the same.
"""
import itertools

import numpy as np

from .dataset import _generator


def _draw_seed(generator):
    """A 62-bit seed drawn from a torch-like generator object (or pyengine's global RNG for None)."""
    import pyengine
    try:
        if generator is None:
            return int(pyengine.randint(0, 2 ** 62, (1,)).item())
        return int(pyengine.randint(0, 2 ** 62, (1,), generator=generator).item())
    except TypeError as e:
        raise TypeError(f"generator must be None, a pyengine.Generator, a numpy.random.Generator or an int seed, "
                        f"got {type(generator).__name__} ({e})") from None


class _RandomSource:
    """The NumPy generator a sampler draws one pass from, following `generator` as described in
    the module docstring."""

    def __init__(self, generator):
        self.generator = generator
        self._stream = None

    def for_pass(self):
        g = self.generator
        if isinstance(g, np.random.Generator):
            return g
        if isinstance(g, (int, np.integer)) and not isinstance(g, bool):
            if self._stream is None:
                self._stream = _generator(int(g))
            return self._stream
        return np.random.default_rng(_draw_seed(g))


class Sampler:
    """Base class: an iterable of dataset indices (or of lists of indices, for batch samplers)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random order: a fresh permutation per pass, or with replacement=True num_samples
    independent draws. num_samples (default len(data_source)) may exceed the dataset's size
    without replacement: then whole permutations follow one another, as in PyTorch."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        self._source = _RandomSource(generator)
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        # the dataset's size may change between passes
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = self._source.for_pass()
        if self.replacement:
            yield from rng.integers(0, n, self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[:self.num_samples % n].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a fresh permutation per pass)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator
        self._source = _RandomSource(generator)

    def __iter__(self):
        for i in self._source.for_pass().permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices in [0, len(weights)) drawn with probability proportional to weights
    (with replacement by default; without it each index comes at most once)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights.detach().cpu().numpy() if hasattr(weights, "detach") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        import pyengine
        self.weights = pyengine.tensor(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator
        self._source = _RandomSource(generator)

    def __iter__(self):
        w = self.weights.numpy()
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError("WeightedRandomSampler: weights contain inf, nan or an element < 0")
        if w.size == 0 or w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution (sum of weights <= 0)")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise RuntimeError(f"WeightedRandomSampler: cannot sample num_samples={self.num_samples} indices without "
                               f"replacement from {np.count_nonzero(w)} nonzero weights")
        draws = self._source.for_pass().choice(w.size, self.num_samples, replace=self.replacement, p=w / w.sum())
        yield from draws.tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of batch_size consecutive indices from `sampler` (the last one shorter unless drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
