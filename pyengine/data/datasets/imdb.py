"""IMDB movie reviews (25,000 training and 25,000 test reviews, half of each positive) for sentiment
classification, read from a copy the user downloaded, in either of its two usual forms:

- Keras's `imdb.npz`: arrays x_train, x_test (object arrays of lists of word ranks, 1 = the most
  frequent word) and y_train, y_test (0 = negative, 1 = positive); `imdb_word_index.json` beside it
  (optional) maps each word to its rank.
- the original release's `aclImdb/` folder: {train,test}/{pos,neg}/<id>_<stars>.txt, one review per
  file, and imdb.vocab. Reviews are tokenised by `tokenize` and words ranked by their frequency in
  the training reviews (ties alphabetically), or by their line in imdb.vocab (vocabulary="imdb.vocab").

Both give what keras.datasets.imdb.load_data gives: reviews as lists of word indices with Keras's
conventions (0 = padding, start_char = 1 opens each review, oov_char = 2 stands for a word cut by
num_words/skip_top or unknown, a word of rank r has index r + index_from), shuffled with
np.random.RandomState(seed). pad_sequences and bag_of_words (datasets.sequence) make model inputs.
"""
import collections
import json
import os
import re
import zipfile

import numpy as np

from .npz import load_npz

IMDB_ENV = "PYENGINE_IMDB"
KERAS_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
KERAS_WORD_INDEX_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
ACLIMDB_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
HOW_TO_GET = (
    f"IMDB is not shipped with pyengine: download one of its two forms and pass its path (or set {IMDB_ENV}):\n"
    f"  - Keras's word-index form, one file: {KERAS_NPZ_URL}\n"
    f"    (pass the file or its folder; optional, to decode reviews: {KERAS_WORD_INDEX_URL} beside it)\n"
    f"  - the original release: {ACLIMDB_URL}\n"
    "    extracted with `tar xzf aclImdb_v1.tar.gz` (pass the aclImdb folder or the one holding it:\n"
    "    aclImdb/train/{pos,neg}/*.txt, aclImdb/test/{pos,neg}/*.txt, aclImdb/imdb.vocab)")

# A token is a run of letters, possibly joined by single apostrophes ("don't", "o'brien"); digits,
# punctuation and apostrophes at a word's edges ('quoted', students') separate tokens.
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)   # the release keeps the site's line breaks as HTML


def tokenize(text):
    """The words of a review: lowercased, `<br />` line breaks removed, split as _TOKEN says."""
    return _TOKEN.findall(_BREAK.sub(" ", text).lower())


def find_imdb(path=None):
    """("npz", file) or ("aclImdb", folder) for the copy at `path` (default: $PYENGINE_IMDB).

    `path` may be imdb.npz itself, a folder holding it, an aclImdb folder or a folder holding one.
    Raises FileNotFoundError, saying where to get the data, when there is none.
    """
    if path is None:
        path = os.environ.get(IMDB_ENV) or None
        if path is None:
            raise FileNotFoundError(f"no IMDB path given (and {IMDB_ENV} is not set). {HOW_TO_GET}")
    path = os.path.expanduser(os.fspath(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist. {HOW_TO_GET}")
    if os.path.isfile(path):
        if zipfile.is_zipfile(path):
            return "npz", path
        if path.endswith((".tar.gz", ".tgz")):
            raise FileNotFoundError(f"{path} is the release archive: extract it first (tar xzf {path}) and "
                                    "pass the aclImdb folder it makes")
        raise ValueError(f"{path} is not an .npz archive (expected Keras's imdb.npz, or an aclImdb folder)")
    if os.path.isfile(os.path.join(path, "imdb.npz")):
        return "npz", os.path.join(path, "imdb.npz")
    for root in (path, os.path.join(path, "aclImdb")):
        if os.path.isdir(os.path.join(root, "train")) or os.path.isdir(os.path.join(root, "test")):
            return "aclImdb", root
    raise FileNotFoundError(f"{path} holds neither imdb.npz nor an aclImdb folder (train/, test/). {HOW_TO_GET}")


def _check_count(value, name, allow_zero=False):
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or value < (0 if allow_zero else 1):
        raise ValueError(f"load_imdb: {name} must be a {'non-negative' if allow_zero else 'positive'} integer "
                         f"or None, got {value!r}")
    return int(value)


def load_imdb(path=None, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, vocabulary="train"):
    """((x_train, y_train), (x_test, y_test)) as keras.datasets.imdb.load_data returns them: x an
    object array of lists of word indices, y an int64 array of 0 (negative) / 1 (positive) labels.

    path: imdb.npz or an aclImdb folder (see find_imdb); default $PYENGINE_IMDB.
    num_words: keep the words of index < num_words (the num_words - index_from most frequent), the
      others become oov_char; None keeps all (Keras then drops its single rarest word: we do not).
    skip_top: words of index < skip_top also become oov_char (as in Keras, compared with the index,
      not the rank; unlike Keras the start marker is never replaced).
    maxlen: drop the reviews whose sequence (start marker included) has maxlen or more entries, as
      Keras does; to cut reviews to a length instead, use pad_sequences(maxlen=...).
    start_char / oov_char: None leaves out the start marker / drops cut words instead of marking them.
    vocabulary: for an aclImdb folder, how words are ranked: "train" (by frequency in the training
      reviews) or "imdb.vocab" (the release's word list, in its order; other words are out of vocabulary).
    """
    num_words = _check_count(num_words, "num_words")
    maxlen = _check_count(maxlen, "maxlen")
    skip_top = _check_count(skip_top, "skip_top", allow_zero=True)
    index_from = _check_count(index_from, "index_from", allow_zero=True)
    kind, where = find_imdb(path)
    if kind == "npz":
        if vocabulary != "train":
            raise ValueError(f"load_imdb: vocabulary={vocabulary!r} is only for an aclImdb folder; imdb.npz "
                             "comes with its ranks")
        splits = _read_npz(where)
    else:
        splits = _read_aclimdb(where, vocabulary)[0]
    rng = np.random.RandomState(seed)   # one generator for both splits, in Keras's order
    out = []
    for name, (ranks, labels) in zip(("training", "test"), splits):
        order = np.arange(len(ranks))
        rng.shuffle(order)
        x, y = _to_indices([ranks[i] for i in order], labels[order], num_words, skip_top, maxlen, start_char,
                           oov_char, index_from)
        if maxlen is not None and not len(x):
            raise ValueError(f"load_imdb: no {name} review is shorter than maxlen={maxlen}; increase maxlen")
        out.append((x, y))
    return tuple(out)


def _to_indices(ranks, labels, num_words, skip_top, maxlen, start_char, oov_char, index_from):
    """Keras's word indices from ranks (arrays; rank 0 = a word outside the vocabulary)."""
    head = [] if start_char is None else [start_char]
    xs, keep_rows = [], []
    for row, r in enumerate(ranks):
        if maxlen is not None and len(r) + len(head) >= maxlen:
            continue
        words = r + index_from
        known = (r > 0) & (words >= skip_top)
        if num_words is not None:
            known &= words < num_words
        words = np.where(known, words, oov_char) if oov_char is not None else words[known]
        xs.append(head + words.tolist())
        keep_rows.append(row)
    x = np.empty(len(xs), dtype=object)   # element by element: np.array would make equal-length rows 2-D
    x[:] = xs
    return x, labels[np.asarray(keep_rows, dtype=np.int64)]


def _check_labels(y, where):
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and (y.dtype.kind not in "iub" or not np.isin(y, (0, 1)).all())):
        raise ValueError(f"{where}: labels must be a 1-D array of 0/1, got dtype {y.dtype} shape {y.shape}"
                         + (f" with values {np.unique(y)[:5].tolist()}" if y.ndim == 1 and y.size else ""))
    return y.astype(np.int64)


def _read_npz(path):
    arrays = load_npz(path, ["x_train", "y_train", "x_test", "y_test"])
    splits = []
    for split in ("train", "test"):
        x, y = arrays["x_" + split], _check_labels(arrays["y_" + split], f"{path}[y_{split}]")
        if x.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{path}: x_{split} has shape {x.shape} but y_{split} has {len(y)} labels "
                             "(expected one word list per label)")
        ranks = [np.asarray(s, dtype=np.int64) for s in x]
        for i, r in enumerate(ranks):
            if r.ndim != 1 or (r.size and r.min() < 0):
                raise ValueError(f"{path}: review {i} of x_{split} is not a list of non-negative word ranks")
        splits.append((ranks, y))
    return splits


def _review_files(folder):
    """The reviews' files in id order (<id>_<stars>.txt; other names after, by name)."""
    def key(name):
        stem = name[:-4].split("_")[0]
        return (0, int(stem), name) if stem.isdigit() else (1, 0, name)
    return [os.path.join(folder, n) for n in sorted((n for n in os.listdir(folder) if n.endswith(".txt")), key=key)]


def _read_aclimdb_split(root, split):
    """(token lists, labels): the negative reviews, then the positive ones."""
    tokens, labels = [], []
    for label, sentiment in ((0, "neg"), (1, "pos")):
        folder = os.path.join(root, split, sentiment)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder} not found: an aclImdb folder holds train/pos, train/neg, test/pos "
                                    f"and test/neg, one review per .txt file. {HOW_TO_GET}")
        for file in _review_files(folder):
            with open(file, encoding="utf-8", errors="replace") as f:
                tokens.append(tokenize(f.read()))
            labels.append(label)
    return tokens, np.asarray(labels, dtype=np.int64)


def _vocab_file_index(root):
    path = os.path.join(root, "imdb.vocab")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found (vocabulary='imdb.vocab' needs the release's word list). "
                                f"{HOW_TO_GET}")
    index = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for word in (line.strip() for line in f):
            if word:
                index.setdefault(word, len(index) + 1)
    return index


def _read_aclimdb(root, vocabulary):
    """([(ranks, labels) for train, test], word_index)."""
    if vocabulary not in ("train", "imdb.vocab"):
        raise ValueError(f"load_imdb: vocabulary must be 'train' or 'imdb.vocab', got {vocabulary!r}")
    train_tokens, train_labels = _read_aclimdb_split(root, "train")
    if vocabulary == "train":
        word_index = build_word_index(train_tokens)
    else:
        word_index = _vocab_file_index(root)
    splits = []
    for tokens, labels in ((train_tokens, train_labels), _read_aclimdb_split(root, "test")):
        ranks = [np.fromiter((word_index.get(w, 0) for w in t), dtype=np.int64, count=len(t)) for t in tokens]
        splits.append((ranks, labels))
    return splits, word_index


def build_word_index(token_lists):
    """{word: rank}: 1 for the most frequent word of the token lists, then down (ties alphabetically)."""
    counts = collections.Counter()
    for tokens in token_lists:
        counts.update(tokens)
    ordered = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
    return {w: rank for rank, (w, _) in enumerate(ordered, start=1)}


def get_word_index(path=None, vocabulary="train"):
    """{word: rank} of the copy at `path`: imdb_word_index.json beside imdb.npz, or for an aclImdb
    folder the ranking load_imdb uses with the same `vocabulary`. A word's index is rank + index_from."""
    kind, where = find_imdb(path)
    if kind == "aclImdb":
        if vocabulary == "imdb.vocab":
            return _vocab_file_index(where)
        return _read_aclimdb(where, vocabulary)[1]
    json_path = os.path.join(os.path.dirname(where), "imdb_word_index.json")
    if not os.path.isfile(json_path):
        raise FileNotFoundError(f"{json_path} not found: download it from {KERAS_WORD_INDEX_URL} and put it "
                                f"beside {where}")
    with open(json_path, encoding="utf-8") as f:
        return json.load(f)


def decode_review(sequence, word_index, start_char=1, oov_char=2, index_from=3):
    """The words of a sequence of indices, padding left out: '<START>' and '<UNK>' for the markers."""
    words = {rank + index_from: w for w, rank in word_index.items()}
    names = {start_char: "<START>", oov_char: "<UNK>"}
    return " ".join(names.get(i) or words.get(i, "<?>") for i in (int(i) for i in sequence) if i != 0)
