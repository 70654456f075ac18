"""Image data for the convolutional examples: (N, 1, 28, 28) batches of Fashion-MNIST (or digit
MNIST from IDX files), a held-out validation split, and on-the-fly augmentation of the training
part only."""
import numpy as np

from pyengine.data import DataLoader, Subset
from pyengine.data import transforms as T
from pyengine.data.datasets import MNIST, FashionMNIST

# Per-pixel statistics of the Fashion-MNIST training set (inputs scaled to [0, 1]).
MEAN, STD = 0.2860, 0.3530


def augmentation(shift, flip, seed):
    """Random shifts of up to `shift` pixels (pad + random crop) and horizontal flips, then the
    same normalisation as evaluation."""
    steps = [T.RandomCrop(28, padding=shift, generator=seed)] if shift else []
    steps += [T.RandomHorizontalFlip(generator=seed + 1)] if flip else []
    return T.Compose(steps + [T.Normalize([MEAN], [STD])])


def image_loaders(mnist_root, val_size, batch_size, seed, shift=2, flip=True, train_size=None):
    """(train, validation, test) DataLoaders and the data set's name. `train_size` keeps only the
    first that many training images (after the validation split) for quick runs."""
    ds = MNIST if mnist_root else FashionMNIST
    kwargs = {"root": mnist_root} if mnist_root else {}
    plain = T.Normalize([MEAN], [STD])
    augmented = ds(train=True, transform=augmentation(shift, flip, seed), **kwargs)
    evaluated = ds(train=True, transform=plain, **kwargs)
    test = ds(train=False, transform=plain, **kwargs)
    order = np.random.default_rng(seed).permutation(len(augmented))
    val_idx, train_idx = order[:val_size], order[val_size:]
    if train_size is not None:
        train_idx = train_idx[:train_size]
    train_loader = DataLoader(Subset(augmented, train_idx.tolist()), batch_size=batch_size, shuffle=True,
                              generator=seed)
    val_loader = DataLoader(Subset(evaluated, val_idx.tolist()), batch_size=1000)
    test_loader = DataLoader(test, batch_size=1000)
    return train_loader, val_loader, test_loader, ("MNIST" if mnist_root else "Fashion-MNIST")
