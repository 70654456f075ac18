"""Fashion-MNIST (from Debian's dataset-fashion-mnist package) and digit MNIST (IDX files at a
path the user gives). Both are 28x28 grey images with 10 classes, in the same IDX format."""
import os

import numpy as np

from ..dataset import Dataset
from .idx import find_idx_file, read_idx

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]
_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class MNIST(Dataset):
    """Images as float32 tensors of shape (1, 28, 28) scaled to [0, 1], labels as ints.

    `transform` (optional) is applied to a NumPy float32 array of shape (N, 1, 28, 28) - a whole
    batch when a DataLoader asks for one - and must return an array of the same kind.
    """

    classes = [str(i) for i in range(10)]
    _missing_hint = ("MNIST is not shipped by any package registry: download the four IDX files "
                     "(train-images-idx3-ubyte[.gz], ...) and pass their folder as root")
    _expected_sizes = {True: 60000, False: 10000}

    def __init__(self, root, train=True, transform=None):
        if root is None:
            raise ValueError(f"{type(self).__name__}: root is required. {self._missing_hint}")
        images_name, labels_name = _FILES[bool(train)]
        images_path, labels_path = find_idx_file(root, images_name), find_idx_file(root, labels_name)
        if images_path is None or labels_path is None:
            missing = images_name if images_path is None else labels_name
            raise FileNotFoundError(f"{type(self).__name__}: {os.path.join(root, missing)}[.gz] not found. "
                                    f"{self._missing_hint}")
        images = read_idx(images_path, expected_ndim=3)
        labels = read_idx(labels_path, expected_ndim=1)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
                             f"{labels.shape[0]} labels")
        if images.shape[1:] != (28, 28):
            raise ValueError(f"{images_path}: expected 28x28 images, got {images.shape[1]}x{images.shape[2]}")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{labels_path}: labels must be 0..9, found {int(labels.max())}")
        self.train = bool(train)
        self.data = images            # uint8 (N, 28, 28)
        self.targets = labels.astype(np.int64)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def _images(self, index):
        x = self.data[index].astype(np.float32)[..., None, :, :] / 255.0
        return self.transform(x) if self.transform is not None else x

    def __getitem__(self, index):
        import pyengine
        return pyengine.tensor(np.ascontiguousarray(self._images(index))), int(self.targets[index])

    def __getitems__(self, indices):
        import pyengine
        idx = np.asarray(indices, dtype=np.int64)
        return (pyengine.tensor(np.ascontiguousarray(self._images(idx))), pyengine.tensor(self.targets[idx]))


class FashionMNIST(MNIST):
    """Fashion-MNIST: 60,000 training and 10,000 test images of clothing in 10 classes."""

    classes = FASHION_MNIST_CLASSES
    _missing_hint = ("install it with: sudo apt-get install -y dataset-fashion-mnist "
                     f"(puts the IDX files in {FASHION_MNIST_ROOT})")

    def __init__(self, root=FASHION_MNIST_ROOT, train=True, transform=None):
        super().__init__(root, train, transform)
