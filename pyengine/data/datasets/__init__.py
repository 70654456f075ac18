"""Real data sets: Fashion-MNIST, MNIST (IDX at a path), the ISLP book's Hitters and NYSE, and IMDB
reviews (Keras's imdb.npz or the aclImdb release, at a path)."""
from .idx import read_idx
from .imdb import decode_review, find_imdb, get_word_index, load_imdb, tokenize
from .islp import load_hitters, load_nyse
from .mnist import FASHION_MNIST_ROOT, MNIST, FashionMNIST
from .npz import load_npz
from .sequence import bag_of_words, pad_sequences

__all__ = ["read_idx", "MNIST", "FashionMNIST", "FASHION_MNIST_ROOT", "load_hitters", "load_nyse",
           "load_imdb", "find_imdb", "get_word_index", "decode_review", "tokenize", "load_npz",
           "pad_sequences", "bag_of_words"]
