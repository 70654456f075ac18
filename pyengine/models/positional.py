"""Position information for attention models, which otherwise see a set, not a sequence.

SinusoidalPositionalEncoding: the fixed sin/cos table of "Attention Is All You Need" (and the
seeds' PositionalEncoding), P[i, 2j] = sin(i / 10000^(2j/d)), P[i, 2j+1] = cos(i / 10000^(2j/d)),
added to the input, then dropout. LearnedPositionalEmbedding: one learned vector per position
(as BERT and ViT), added to the input, then dropout.

Both take batch-first input (N, S, d_model) by default, (S, N, d_model) with batch_first=False,
or unbatched (S, d_model); S may not exceed max_len.
"""
import numpy as np

from .. import dtypes as _dtypes
from ..creation import empty, tensor
from ..nn import Dropout, Module, Parameter, init


def _check_input(x, d_model, max_len, batch_first, who):
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise ValueError(f"{who}: expected input of shape (N, S, {d_model}), (S, N, {d_model}) or (S, {d_model}), "
                         f"got {tuple(x.shape)}")
    seq_len = x.shape[1 if (x.ndim == 3 and batch_first) else 0]
    if seq_len > max_len:
        raise ValueError(f"{who}: the sequence length {seq_len} exceeds max_len={max_len} "
                         f"(input shape {tuple(x.shape)})")
    return seq_len


def _per_position(table, x, batch_first):
    """table (S, d) shaped to broadcast against x."""
    return table.unsqueeze(1) if (x.ndim == 3 and not batch_first) else table


def sinusoidal_table(max_len, d_model):
    """(max_len, d_model) float64 NumPy array of the sin/cos encodings (odd d_model: one more sin column)."""
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    angles = pos / np.power(10000.0, np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return table


class SinusoidalPositionalEncoding(Module):
    """x + P[:S] then dropout; P is a fixed (max_len, d_model) buffer (not in the state_dict)."""

    def __init__(self, d_model, dropout=0.1, max_len=5000, batch_first=True, device=None, dtype=None):
        super().__init__()
        if d_model <= 0 or max_len <= 0:
            raise ValueError(f"d_model and max_len must be positive, got d_model={d_model}, max_len={max_len}")
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout)
        dtype = _dtypes.get_default_dtype() if dtype is None else dtype
        self.register_buffer("table", tensor(sinusoidal_table(max_len, d_model), dtype=dtype, device=device),
                             persistent=False)

    def forward(self, x):
        S = _check_input(x, self.d_model, self.max_len, self.batch_first, "SinusoidalPositionalEncoding")
        table = self.table[:S]
        if table.dtype != x.dtype:
            table = table.to(x.dtype)
        return self.dropout(x + _per_position(table, x, self.batch_first))

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class LearnedPositionalEmbedding(Module):
    """x + weight[:S] then dropout; weight (max_len, d_model) is learned, drawn from N(0, std^2)
    (std=0.02, as BERT and ViT)."""

    def __init__(self, max_len, d_model, dropout=0.0, batch_first=True, std=0.02, device=None, dtype=None):
        super().__init__()
        if d_model <= 0 or max_len <= 0:
            raise ValueError(f"d_model and max_len must be positive, got d_model={d_model}, max_len={max_len}")
        self.d_model, self.max_len, self.batch_first, self.std = d_model, max_len, batch_first, std
        self.weight = Parameter(empty(max_len, d_model, dtype=dtype, device=device))
        self.dropout = Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight, 0.0, self.std)

    def forward(self, x):
        S = _check_input(x, self.d_model, self.max_len, self.batch_first, "LearnedPositionalEmbedding")
        return self.dropout(x + _per_position(self.weight[:S], x, self.batch_first))

    def extra_repr(self):
        return f"max_len={self.max_len}, d_model={self.d_model}, batch_first={self.batch_first}"
