"""Variable-length batches: nn.utils.rnn (pack_padded_sequence, pad_packed_sequence, pad_sequence,
pack_sequence and the inverses) against torch 2.13 and its error messages; gradients through the
packed <-> padded gathers (gradcheck, on every device); PackedSequence input to RNN / LSTM / GRU
against torch (outputs, h_n in the original batch order, every gradient) with enforce_sorted both
ways; packed vs padded equivalence with a per-sequence run. Shapes stay tiny."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
from pyengine.autograd import gradcheck
from pyengine.nn.utils.rnn import (PackedSequence, invert_permutation, pack_padded_sequence, pack_sequence,
                                   pad_packed_sequence, pad_sequence, unpack_sequence, unpad_sequence)

from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
tr = torch.nn.utils.rnn

I, H = 3, 4
LENGTHS = {True: [4, 3, 3, 1], False: [2, 4, 1, 3]}  # enforce_sorted -> lengths (sorted / not)


def npy(t):
    return t.detach().cpu().numpy()


def _same(p, t, **kw):
    np.testing.assert_allclose(npy(p), t.detach().numpy(), **(kw or dict(rtol=0, atol=0)))


# ---------------------------------------------------------------- the utilities vs torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [([4, 3, 3, 1], True), ([2, 4, 1, 3], False),
                                                    ([1, 3, 3, 2, 3, 1], False), ([5, 5], True)])
def test_pack_pad_vs_torch(batch_first, lengths, enforce_sorted):
    rng = np.random.default_rng(0)
    Tmax, Bn = max(lengths) + 1, len(lengths)  # one step of padding beyond the longest
    a = rng.standard_normal((Bn, Tmax, 2) if batch_first else (Tmax, Bn, 2))
    p = pack_padded_sequence(pe.tensor(a), lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    t = tr.pack_padded_sequence(torch.tensor(a), torch.tensor(lengths), batch_first=batch_first,
                                enforce_sorted=enforce_sorted)
    assert isinstance(p, PackedSequence) and isinstance(p, tuple)
    _same(p.data, t.data)
    assert p.batch_sizes.tolist() == t.batch_sizes.tolist() and p.batch_sizes.dtype == pe.int64
    assert p.batch_sizes.device.type == "cpu"
    for mine, theirs in ((p.sorted_indices, t.sorted_indices), (p.unsorted_indices, t.unsorted_indices)):
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine.tolist() == theirs.tolist()
    for kw in (dict(), dict(padding_value=-2.5, total_length=Tmax + 2)):
        pp, pl = pad_packed_sequence(p, batch_first=batch_first, **kw)
        tp, tl = tr.pad_packed_sequence(t, batch_first=batch_first, **kw)
        _same(pp, tp)
        assert pl.tolist() == tl.tolist() == list(lengths) and pl.dtype == pe.int64
    # unpack_sequence / pack_sequence round trip in the original order
    seqs = [a[:n, b] if not batch_first else a[b, :n] for b, n in enumerate(lengths)]
    back = unpack_sequence(pack_sequence([pe.tensor(s) for s in seqs], enforce_sorted=enforce_sorted))
    assert [npy(s).tolist() for s in back] == [s.tolist() for s in seqs]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_vs_torch(batch_first, padding_side):
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((n, 2, 1)) for n in (2, 5, 1, 5)]
    p = pad_sequence([pe.tensor(s) for s in seqs], batch_first=batch_first, padding_value=7.0,
                     padding_side=padding_side)
    t = tr.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first, padding_value=7.0,
                        padding_side=padding_side)
    _same(p, t)
    if padding_side == "right":
        lengths = pe.tensor([2, 5, 1, 5], dtype=pe.int64)
        back = unpad_sequence(p, lengths, batch_first=batch_first)
        assert [npy(s).tolist() for s in back] == [s.tolist() for s in seqs]


def test_utilities_are_differentiable_on_device(device):
    """pack and pad are index_select gathers: gradcheck them, on CPU and on "cuda"."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3, 2))

    def pack_then_pad(x):
        packed = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        assert packed.data.device.type == x.device.type and packed.batch_sizes.device.type == "cpu"
        return packed.data, pad_packed_sequence(packed, batch_first=True, padding_value=1.5)[0]
    assert gradcheck_on(device, pack_then_pad, a)
    assert gradcheck_on(device, lambda s0, s1: pad_sequence([s0, s1], padding_side="left"), a[:3, 0], a[:1, 1])
    # and the values on the device equal the CPU's
    p_cpu = pack_then_pad(pe.tensor(a))
    p_dev = pack_then_pad(pe.tensor(a, device=device))
    for c, d in zip(p_cpu, p_dev):
        np.testing.assert_array_equal(npy(d), npy(c))
    moved = pack_padded_sequence(pe.tensor(a), [2, 4, 1], enforce_sorted=False).to(device)
    assert moved.data.device.type == moved.sorted_indices.device.type == pe.device(device).type
    assert moved.batch_sizes.device.type == "cpu"


def test_invert_permutation():
    p = pe.tensor([2, 0, 3, 1], dtype=pe.int64)
    assert invert_permutation(p).tolist() == tr.invert_permutation(torch.tensor([2, 0, 3, 1])).tolist()
    assert invert_permutation(None) is None


def test_utility_errors_like_torch():
    x = pe.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order when "
                                           "`enforce_sorted` is True. You can pass `enforce_sorted=False`"):
        pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0, but found an element "
                                           "in 'lengths' that is <= 0"):
        pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        pack_padded_sequence(x, [3, 0, 1], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="a length of 5 exceeds the padded sequence length 4"):
        pack_padded_sequence(x, [5, 3, 1])
    with pytest.raises(RuntimeError, match="a length of 4 exceeds the padded sequence length 3"):
        pack_padded_sequence(pe.randn(3, 3, 2), [1, 4, 2], batch_first=True, enforce_sorted=False)
    with pytest.raises(RuntimeError, match=r"Expected `len\(lengths\)` to be equal to batch_size, but got 2 "
                                           r"\(batch_size=3\)"):
        pack_padded_sequence(x, [3, 2])
    packed = pack_padded_sequence(x, [4, 3, 1])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest sequence "
                                         "in input, but got total_length=3 and max sequence length being 4"):
        pad_packed_sequence(packed, total_length=3)
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got middle"):
        pad_sequence([pe.randn(2, 3)], padding_side="middle")
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        pad_sequence([])
    with pytest.raises(RuntimeError, match=r"trailing shape \(3,\) of sequence 0, but sequence 1 has shape \(2, 4\)"):
        pad_sequence([pe.randn(2, 3), pe.randn(2, 4)])
    if pe.cuda.is_available():
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            PackedSequence(packed.data, packed.batch_sizes.to("cuda"))


# ---------------------------------------------------------------- modules on packed input
MODES = {"rnn_tanh": ("RNN", {}), "rnn_relu": ("RNN", {"nonlinearity": "relu"}), "lstm": ("LSTM", {}),
         "lstm_proj": ("LSTM", {"proj_size": 2}), "gru": ("GRU", {})}


def _pair(mode, **kw):
    name, base = MODES[mode]
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(I, H, **base, **kw).double()
    pm = getattr(nn, name)(I, H, **base, **kw).double()
    pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return tm, pm


def _state_arrays(mode, m, Bn, rng):
    D = 2 if m.bidirectional else 1
    shapes = [(m.num_layers * D, Bn, m.proj_size or H)] + ([(m.num_layers * D, Bn, H)] if "lstm" in mode else [])
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("cfg", [{}, {"num_layers": 2, "bidirectional": True}], ids=["1layer", "2layer-bidir"])
@pytest.mark.parametrize("with_hx", [False, True], ids=["h0none", "h0"])
def test_packed_module_vs_torch(mode, enforce_sorted, cfg, with_hx):
    tm, pm = _pair(mode, **cfg)
    lengths = LENGTHS[enforce_sorted]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((max(lengths), len(lengths), I))
    states = _state_arrays(mode, tm, len(lengths), rng) if with_hx else None
    lstm = "lstm" in mode
    got = {}
    for lib, m, mk, pack in (("torch", tm, lambda a: torch.tensor(a, requires_grad=True), tr.pack_padded_sequence),
                             ("pe", pm, lambda a: pe.tensor(a, requires_grad=True), pack_padded_sequence)):
        xt = mk(x)
        packed = pack(xt, lengths, enforce_sorted=enforce_sorted)
        hs = None if states is None else [mk(s) for s in states]
        out, hn = m(packed, None if hs is None else (tuple(hs) if lstm else hs[0]))
        assert type(out).__name__ == "PackedSequence"
        finals = list(hn) if lstm else [hn]
        loss = 0
        for k, o in enumerate([out.data] + finals):
            w = np.random.default_rng(10 + k).standard_normal(tuple(o.shape))
            loss = loss + (o * (torch.tensor(w) if lib == "torch" else pe.tensor(w))).sum()
        loss.backward()
        got[lib] = dict(out=out.data, x_grad=xt.grad, **{f"state{k}": f for k, f in enumerate(finals)},
                        **({f"h{k}_grad": h.grad for k, h in enumerate(hs)} if hs else {}),
                        **{"grad_" + n: p.grad for n, p in m.named_parameters()})
        got[lib]["meta"] = (out.batch_sizes.tolist(), None if out.sorted_indices is None else
                            out.sorted_indices.tolist(), None if out.unsorted_indices is None else
                            out.unsorted_indices.tolist())
    assert got["pe"].pop("meta") == got["torch"].pop("meta")
    assert set(got["pe"]) == set(got["torch"])
    for k, t in got["torch"].items():
        np.testing.assert_allclose(npy(got["pe"][k]), t.detach().numpy(), rtol=1e-9, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("name,kw", [("LSTM", {"proj_size": 2}), ("GRU", {}), ("RNN", {})])
def test_packed_equals_per_sequence_runs(name, kw):
    """Each sequence of a packed batch gives what a batch of one of just that sequence gives."""
    pe.manual_seed(0)
    m = getattr(nn, name)(I, H, num_layers=2, bidirectional=True, batch_first=True, **kw).double()
    lengths = [2, 4, 1, 3]
    rng = np.random.default_rng(4)
    x = pe.tensor(rng.standard_normal((len(lengths), 4, I)))
    states = [pe.tensor(a) for a in _state_arrays("lstm" if name == "LSTM" else "x", m, len(lengths), rng)]
    hx = tuple(states) if name == "LSTM" else states[0]
    out, hn = m(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False), hx)
    padded, lens = pad_packed_sequence(out, batch_first=True)
    assert lens.tolist() == lengths
    finals = list(hn) if name == "LSTM" else [hn]
    for b, n in enumerate(lengths):
        hx_b = tuple(s[:, b:b + 1] for s in states) if name == "LSTM" else states[0][:, b:b + 1]
        out_b, hn_b = m(x[b:b + 1, :n], hx_b)
        np.testing.assert_allclose(npy(padded[b, :n]), npy(out_b[0]), rtol=1e-12, atol=1e-13)
        assert np.all(npy(padded[b, n:]) == 0)
        for f, fb in zip(finals, list(hn_b) if name == "LSTM" else [hn_b]):
            np.testing.assert_allclose(npy(f[:, b]), npy(fb[:, 0]), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_packed_module_gradcheck(name):
    pe.manual_seed(0)
    m = getattr(nn, name)(2, 2, bidirectional=True).double()
    rng = np.random.default_rng(5)
    x = pe.tensor(rng.standard_normal((3, 3, 2)), requires_grad=True)
    hs = [pe.tensor(rng.standard_normal((2, 3, 2)), requires_grad=True) for _ in range(2 if name == "LSTM" else 1)]

    def fn(x, *rest):
        hx = tuple(rest[:2]) if name == "LSTM" else rest[0]
        out, hn = m(pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False), hx)
        return (out.data, *hn) if name == "LSTM" else (out.data, hn)
    assert gradcheck(fn, [x, *hs, *m.parameters()], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_packed_errors():
    lstm = nn.LSTM(I, H)
    packed = pack_padded_sequence(pe.randn(4, 3, I), [4, 2, 1])
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 3, 4\), got \[1, 2, 4\]"):
        lstm(packed, (pe.randn(1, 2, H), pe.randn(1, 2, H)))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 5, got 3"):
        nn.GRU(5, H)(packed)


def test_packed_on_device_matches_cpu(device):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 3, I))
    got = {}
    for dev in ("cpu", device):
        pe.manual_seed(0)
        m = nn.LSTM(I, H, bidirectional=True).double().to(dev)
        xt = pe.tensor(x, device=dev, requires_grad=True)
        out, (h, c) = m(pack_padded_sequence(xt, [2, 3, 1], enforce_sorted=False))
        (out.data.pow(2).sum() + h.sum() + c.sum()).backward()
        got[dev] = [npy(out.data), npy(h), npy(c), npy(xt.grad)] + [npy(p.grad) for p in m.parameters()]
    for a, b in zip(got["cpu"], got[device]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
