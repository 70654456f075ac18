"""K-fold cross-validation splits (the seeds' model-selection procedure)."""
import numpy as np

from .dataset import Subset, _generator


class KFold:
    """Split n samples into k folds; each fold is the validation set once.

    `split(n_or_dataset)` yields (train_indices, val_indices) as NumPy arrays. Fold sizes differ by
    at most one, the first n % k folds taking the extra sample, as in scikit-learn.
    """

    def __init__(self, n_splits=5, shuffle=False, random_state=None):
        if int(n_splits) < 2:
            raise ValueError(f"KFold: n_splits must be at least 2, got {n_splits}")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, data):
        n = data if isinstance(data, int) else len(data)
        if n < self.n_splits:
            raise ValueError(f"KFold: cannot split {n} samples into {self.n_splits} folds")
        order = _generator(self.random_state).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        start = 0
        for size in sizes:
            val = order[start:start + size]
            train = np.concatenate([order[:start], order[start + size:]])
            yield train, val
            start += size

    def datasets(self, dataset):
        """Yield (train Subset, validation Subset) pairs of `dataset`."""
        for train, val in self.split(len(dataset)):
            yield Subset(dataset, train), Subset(dataset, val)
