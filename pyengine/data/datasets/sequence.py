"""Turning lists of word indices into arrays a model takes: padded (batch, time) int64 arrays,
as Keras's pad_sequences makes them, and bag-of-words rows."""
import numpy as np


def _as_index_arrays(sequences, name):
    if isinstance(sequences, np.ndarray) and sequences.dtype != object:
        if sequences.ndim != 2:
            raise ValueError(f"{name}: expected a list of sequences or a 2-D array, got an array of shape "
                             f"{sequences.shape}")
        sequences = list(sequences)
    out = []
    for i, s in enumerate(sequences):
        a = np.asarray(s)
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise ValueError(f"{name}: sequence {i} must be a 1-D sequence of integers, got "
                             f"{'shape ' + str(a.shape) if a.ndim != 1 else 'dtype ' + str(a.dtype)}")
        out.append(a.astype(np.int64, copy=False))
    return out


def pad_sequences(sequences, maxlen=None, dtype="int64", padding="pre", truncating="pre", value=0):
    """A (len(sequences), maxlen) array, as keras.utils.pad_sequences makes it (but int64 by default,
    the dtype embedding indices take; Keras defaults to int32).

    maxlen: the number of columns (default: the longest sequence's length). Longer sequences lose
    entries at the start (truncating="pre", default: the last maxlen words are kept, as the ISLP lab
    keeps the last 500) or at the end ("post"). Shorter ones are filled with `value` before
    (padding="pre", default: the last word lands in the last column, which an RNN reads last) or
    after ("post").
    """
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {arg} must be 'pre' or 'post', got {v!r}")
    if maxlen is not None and (int(maxlen) != maxlen or maxlen < 0):
        raise ValueError(f"pad_sequences: maxlen must be a non-negative integer or None, got {maxlen!r}")
    seqs = _as_index_arrays(sequences, "pad_sequences")
    width = int(maxlen) if maxlen is not None else max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), width), value, dtype=dtype)
    if width == 0:
        return out
    for row, s in zip(out, seqs):
        s = s[-width:] if truncating == "pre" else s[:width]
        if len(s):
            if padding == "pre":
                row[width - len(s):] = s
            else:
                row[:len(s)] = s
    return out


def bag_of_words(sequences, num_words, binary=True, dtype="float32"):
    """A (len(sequences), num_words) array: column j is 1 where word index j occurs (binary=True, the
    ISLP lab's features) or its count (binary=False). Index 0 is the padding value, so padded
    sequences may be passed: zeros are not counted. An index outside [0, num_words) is an error."""
    if int(num_words) != num_words or num_words < 1:
        raise ValueError(f"bag_of_words: num_words must be a positive integer, got {num_words!r}")
    num_words = int(num_words)
    seqs = _as_index_arrays(sequences, "bag_of_words")
    out = np.zeros((len(seqs), num_words), dtype=dtype)
    for i, s in enumerate(seqs):
        if s.size and (s.min() < 0 or s.max() >= num_words):
            bad = s[(s < 0) | (s >= num_words)][0]
            raise ValueError(f"bag_of_words: sequence {i} holds word index {bad}, outside [0, {num_words}) "
                             f"(load the data with num_words={num_words} to map rarer words to the "
                             "out-of-vocabulary index)")
        s = s[s != 0]
        if binary:
            out[i, s] = 1
        else:
            np.add.at(out[i], s, 1)
    return out
