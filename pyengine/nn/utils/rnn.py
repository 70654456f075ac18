"""Variable-length batches with PyTorch's API: PackedSequence, pack_padded_sequence,
pad_packed_sequence, pad_sequence, pack_sequence and their inverses.

A packed batch holds, for t = 0, 1, ..., the rows of the sequences still running at step t
(longest first): data is (sum(lengths), *), batch_sizes[t] = how many rows step t has.
Moving between packed and padded layouts is one index_select over the flattened (T*B, *) padded
tensor, so it is differentiable and runs on any device; the index arithmetic is NumPy on the
CPU, where lengths and batch_sizes live.
"""
from collections import namedtuple

import numpy as np

from ...creation import full, tensor
from ...dtypes import int64
from ...ops.shape import cat, stack
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _index(values, device):
    return tensor(np.asarray(values, dtype=np.int64), dtype=int64, device=device)


def _ints(t):
    """A CPU int list of a tensor (any device) or of a Python sequence."""
    return [int(v) for v in (t.tolist() if isinstance(t, Tensor) else t)]


def invert_permutation(permutation):
    """The permutation q with q[p[i]] = i (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(_ints(permutation), dtype=np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=np.int64)
    return _index(inv, permutation.device)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """data (sum(lengths), *), batch_sizes (int64, CPU), sorted_indices / unsorted_indices
    (int64, data's device, or None when the batch was already sorted by decreasing length).
    Made by pack_padded_sequence / pack_sequence, accepted by nn.RNN, nn.LSTM and nn.GRU."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                             "created manually. They should be instantiated by functions like pack_sequence and "
                             "pack_padded_sequences in nn.utils.rnn.")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """dtype and/or device conversion of data; the indices follow data's device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t):
            return None if t is None else t.to(data.device)
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cuda(self, *args, **kwargs):
        return self.to("cuda", *args, **kwargs)

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    @property
    def is_cuda(self):
        return self.data.is_cuda


# ---------------------------------------------------------------- packed <-> padded (time-major)
def _packed_rows(batch_sizes, B):
    """For each packed row (in packed order), its position t*B + b in a flattened (T, B) padded batch."""
    return np.concatenate([t * B + np.arange(n, dtype=np.int64) for t, n in enumerate(batch_sizes)]) \
        if len(batch_sizes) else np.zeros(0, np.int64)


def _pack_time_major(padded, batch_sizes):
    """padded (T', B, *) with T' >= len(batch_sizes), rows sorted by decreasing length ->
    packed data (sum(batch_sizes), *)."""
    T, B = padded.shape[0], padded.shape[1]
    flat = padded.reshape(T * B, *padded.shape[2:])
    return flat.index_select(0, _index(_packed_rows(batch_sizes, B), padded.device))


def _pad_time_major(data, batch_sizes, total_length, padding_value=0.0):
    """packed data (N, *) -> padded (total_length, B, *) in sorted order, padding_value elsewhere."""
    B = batch_sizes[0] if batch_sizes else 0
    N = data.shape[0]
    src = np.full(total_length * B, N, dtype=np.int64)  # row N = the padding row appended below
    src[_packed_rows(batch_sizes, B)] = np.arange(N, dtype=np.int64)
    rest = tuple(data.shape[1:])
    pad_row = full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    flat = cat([data, pad_row], 0).index_select(0, _index(src, data.device))
    return flat.reshape(total_length, B, *rest)


def _batch_sizes_of(lengths):
    """Sorted (decreasing) lengths -> batch_sizes: how many sequences are longer than t."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return [int(v) for v in (lengths[None, :] > np.arange(int(lengths[0]))[:, None]).sum(1)]


# ---------------------------------------------------------------- public API
def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) of sequences of the given lengths.

    With enforce_sorted=True the lengths must decrease; otherwise the batch is sorted here and
    the permutation is kept in sorted_indices so the RNN modules and pad_packed_sequence
    restore the original order."""
    lengths = _ints(lengths)
    batch_dim = 0 if batch_first else 1
    B, T = input.shape[batch_dim], input.shape[1 - batch_dim]
    if len(lengths) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                           f"(batch_size={B})")
    sorted_indices = None
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")  # torch's CPU sort is stable
        lengths = [lengths[i] for i in order]
        sorted_indices = _index(order, input.device)
        input = input.index_select(batch_dim, sorted_indices)
    if B == 0 or min(lengths) <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if max(lengths) > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {max(lengths)} exceeds the padded sequence "
                           f"length {T} (input of shape {tuple(input.shape)}, batch_first={batch_first})")
    batch_sizes = _batch_sizes_of(lengths)
    padded = input.transpose(0, 1) if batch_first else input
    data = _pack_time_major(padded, batch_sizes)
    return PackedSequence(data, tensor(batch_sizes, dtype=int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths (int64, CPU)),
    in the batch's original order."""
    batch_sizes = _ints(sequence.batch_sizes)
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    padded = _pad_time_major(sequence.data, batch_sizes, max_seq_length, padding_value)
    B = batch_sizes[0] if batch_sizes else 0
    lengths = np.array([sum(1 for n in batch_sizes if n > b) for b in range(B)], dtype=np.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        padded = padded.index_select(0 if batch_first else 1, unsorted)
        lengths = lengths[np.asarray(_ints(unsorted), dtype=np.int64)]
    return padded, tensor(lengths, dtype=int64)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences (L_i, *) into (max L, B, *) ((B, max L, *) with batch_first), filling the
    rest with padding_value on the right (or the left)."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    try:
        sequences = tuple(sequences)
    except TypeError:
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}") from None
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    rest = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: every sequence must have the trailing shape {rest} of sequence 0, "
                               f"but sequence {i} has shape {tuple(s.shape)}")
    first = sequences[0]
    L = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        n = L - s.shape[0]
        if n == 0:
            rows.append(s)
            continue
        pad = full((n,) + rest, padding_value, dtype=first.dtype, device=first.device)
        rows.append(cat([s, pad] if padding_side == "right" else [pad, s], 0))
    return stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Inverse of pad_sequence (right padding): the list of (L_i, *) sequences."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :n] for b, n in enumerate(_ints(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), lengths)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Inverse of pack_sequence: the list of sequences in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

