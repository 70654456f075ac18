"""Real data sets: Fashion-MNIST, MNIST (IDX at a path), and the ISLP book's Hitters and NYSE."""
from .idx import read_idx
from .islp import load_hitters, load_nyse
from .mnist import FASHION_MNIST_ROOT, MNIST, FashionMNIST

__all__ = ["read_idx", "MNIST", "FashionMNIST", "FASHION_MNIST_ROOT", "load_hitters", "load_nyse"]
