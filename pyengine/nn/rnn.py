"""Recurrent layers with PyTorch's API: RNN (tanh/relu), LSTM (with proj_size), GRU and the three
cells, with PyTorch's parameter names, shapes, order and init, so state_dicts carry over.

Every layer and direction is one call of `_rnn_fns.rnn_layer` (one graph node over the whole
sequence once the fused kernel lands); this file only stacks layers and directions, applies
inter-layer dropout and handles layouts: batch_first, unbatched input, PackedSequence (padded
time-major in sorted order inside, with rnn_layer's batch_sizes) and the initial states.
A cell is rnn_layer over one time step.
"""
import math
import numbers
import warnings

from ..creation import empty, zeros
from ..ops.shape import cat, stack
from . import init
from ._layer_fns import dropout as _dropout
from ._rnn_fns import rnn_layer
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, _pack_time_major, _pad_time_major

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _permute(hx, permutation):
    """hx (or an (h, c) pair) with its batch dim (1) reordered; None permutation = unchanged."""
    if permutation is None:
        return hx
    if isinstance(hx, tuple):
        return tuple(h.index_select(1, permutation) for h in hx)
    return hx.index_select(1, permutation)


def _check_dtype(input, weight):
    if input.dtype != weight.dtype:
        raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                         f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")


class RNNBase(Module):
    """Shared construction, parameters and forward of RNN, LSTM and GRU. mode: 'RNN_TANH',
    'RNN_RELU', 'LSTM' or 'GRU'. Parameters per layer k and direction (suffix '' or '_reverse'):
    weight_ih_l{k} (G*H, in), weight_hh_l{k} (G*H, P), bias_ih_l{k}, bias_hh_l{k} (G*H,),
    weight_hr_l{k} (P, H) when proj_size > 0; gates in PyTorch's order (LSTM i, f, g, o; GRU r, z, n)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size

        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input_size)), ("weight_hh", (gate_size, real_hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for base, shape in shapes:
                    name = f"{base}_l{layer}{suffix}"
                    self.register_parameter(name, Parameter(empty(*shape, dtype=dtype, device=device)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """PyTorch packs the weights for cuDNN here; our kernels read them in place: a no-op."""

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ----- argument checks (PyTorch's messages) -----
    def check_input(self, input, batch_sizes):
        _check_dtype(input, getattr(self, self._flat_weights_names[0]))
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        P = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, P)

    def get_expected_cell_size(self, input, batch_sizes):
        L, B, _ = self.get_expected_hidden_size(input, batch_sizes)
        return (L, B, self.hidden_size)

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        if self.mode == "LSTM":
            self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                                   "Expected hidden[0] size {}, got {}")
            self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                                   "Expected hidden[1] size {}, got {}")
        else:
            self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        return _permute(hx, permutation)

    def _check_hx_dims(self, hx, ndim):
        """hx must be 3-D for batched input, 2-D for unbatched (PyTorch's messages)."""
        kind = "batched 3-D" if ndim == 3 else "unbatched 2-D"
        if self.mode == "LSTM":
            if hx[0].dim() != ndim or hx[1].dim() != ndim:
                raise RuntimeError(f"For {kind} input, hx and cx should also be {ndim}-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
        elif hx.dim() != ndim:
            raise RuntimeError(f"For {kind} input, hx should also be {ndim}-D but got {hx.dim()}-D tensor")

    # ----- forward -----
    def forward(self, input, hx=None):
        """input (T, B, I) / (B, T, I) with batch_first / (T, I) unbatched / PackedSequence;
        hx: h0 (or (h0, c0) for LSTM) of shape (num_layers * D, B, P) ((num_layers * D, P) unbatched),
        zeros when None. Returns (output, h_n) or (output, (h_n, c_n)); output (T, B, D * P)
        (same layout as input; a PackedSequence for packed input); h_n layer-major then direction."""
        lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = tuple(int(v) for v in batch_sizes_t.tolist())
            is_batched = True
            x_check = data
        else:
            batch_sizes = sorted_indices = unsorted_indices = None
            if input.dim() not in (2, 3):
                name = "RNN" if self.mode.startswith("RNN") else self.mode
                tail = " tensor instead" if name == "RNN" else " instead"
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tail}")
            is_batched = input.dim() == 3
            if not is_batched:
                input = input.unsqueeze(0 if self.batch_first else 1)
            if hx is not None:
                self._check_hx_dims(hx, 3 if is_batched else 2)
                if not is_batched:
                    hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
            x_check = input
        if hx is None:
            self.check_input(x_check, batch_sizes)
            shape = self.get_expected_hidden_size(x_check, batch_sizes)
            h0 = zeros(*shape, dtype=x_check.dtype, device=x_check.device)
            hx = (h0, zeros(*shape[:2], self.hidden_size, dtype=x_check.dtype, device=x_check.device)) if lstm else h0
        else:
            self.check_forward_args(x_check, hx, batch_sizes)
            hx = _permute(hx, sorted_indices)  # the user's hx is in the original batch order

        if packed:
            x = _pad_time_major(data, batch_sizes, len(batch_sizes))
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        h0, c0 = hx if lstm else (hx, None)
        y, h_n, c_n = self._run(x.contiguous(), h0, c0, batch_sizes)

        if packed:
            output = PackedSequence(_pack_time_major(y, batch_sizes), batch_sizes_t, sorted_indices, unsorted_indices)
        elif not is_batched:
            output, h_n = y.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        else:
            output = y.transpose(0, 1) if self.batch_first else y
        hidden = _permute((h_n, c_n) if lstm else h_n, unsorted_indices)
        return output, hidden

    def _run(self, x, h0, c0, batch_sizes):
        """The stack over time-major x (T, B, I): each layer's directions see the previous layer's
        output ([forward, reverse] features), dropout between layers in training."""
        mode = self.mode.lower()
        num_directions = 2 if self.bidirectional else 1
        layer_input = x
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                y, h, c = rnn_layer(mode, layer_input, h0[k], None if c0 is None else c0[k],
                                    *self._layer_weights(k), batch_sizes=batch_sizes, reverse=direction == 1)
                outs.append(y)
                hs.append(h)
                cs.append(c)
            layer_input = outs[0] if num_directions == 1 else cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, True)
        return layer_input, stack(hs, 0), (stack(cs, 0) if c0 is not None else None)

    def _layer_weights(self, k):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer-direction k, None where absent."""
        ws = [getattr(self, n) for n in self._all_weights[k]]
        w_ih, w_hh = ws[0], ws[1]
        b_ih, b_hh = (ws[2], ws[3]) if self.bias else (None, None)
        w_hr = ws[-1] if self.proj_size > 0 else None
        return w_ih, w_hh, b_ih, b_hh, w_hr


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).
    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, device=None, dtype=None)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM with PyTorch's gate order (i, f, g, o) and optional projection h_t = W_hr (o * tanh(c_t)).
    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, device=None, dtype=None)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU with PyTorch's gate order (r, z, n): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h. GRU(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------- cells
class RNNCellBase(Module):
    """weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H,), all U(-1/sqrt(H), 1/sqrt(H))."""

    _mode = None  # rnn_layer's mode

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, input, states):
        """One time step on batched (B, I) input and (B, H) states: rnn_layer with T = 1."""
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected {self.input_size}")
        _check_dtype(input, self.weight_ih)
        for i, s in enumerate(states):
            if s.size(0) != input.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{i} batch size "
                                   f"{s.size(0)}")
            if s.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {s.size(1)}, expected "
                                   f"{self.hidden_size}")
        c0 = states[1] if len(states) > 1 else None
        _, h, c = rnn_layer(self._mode, input.unsqueeze(0), states[0], c0, self.weight_ih, self.weight_hh,
                            self.bias_ih, self.bias_hh)
        return h, c

    def _prepare(self, input, hx, n_states):
        """Checks dims like PyTorch; returns (batched input, tuple of batched states, is_batched)."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = None if hx is None else ((hx,) if n_states == 1 else tuple(hx))
        if states is not None:
            for idx, value in enumerate(states):
                if value.dim() not in (1, 2):
                    what = "hidden" if n_states == 1 else f"hx[{idx}]"
                    raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {value.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if states is None:
            z = zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
            states = (z,) * n_states
        elif not is_batched:
            states = tuple(s.unsqueeze(0) for s in states)
        return input, states, is_batched


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu). forward(input (B, I) or (I,), hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    @property
    def _mode(self):
        return "rnn_" + self.nonlinearity

    def forward(self, input, hx=None):
        input, states, is_batched = self._prepare(input, hx, 1)
        h, _ = self._step(input, states)
        return h if is_batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o). forward(input, hx=(h, c) or None) -> (h', c')."""

    _mode = "lstm"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, states, is_batched = self._prepare(input, hx, 2)
        h, c = self._step(input, states)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n). forward(input, hx=None) -> h'."""

    _mode = "gru"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, states, is_batched = self._prepare(input, hx, 1)
        h, _ = self._step(input, states)
        return h if is_batched else h.squeeze(0)
