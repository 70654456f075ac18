"""nn.RNN / nn.LSTM / nn.GRU and the three cells against torch 2.13 (float64, weights moved by
state_dict both ways): outputs, final states, every parameter gradient and the input / h0 / c0
gradients over the options (modes, layers, bidirectional, batch_first, bias, proj_size, h0 given
or not, unbatched input); float64 gradcheck of each module and cell on every code path; dropout
between layers; truncated BPTT; PyTorch's parameter names, init, repr and error messages; LSTM and
GRU on "cuda" equal to the CPU. Shapes stay tiny (the reference rnn_layer body loops in Python)."""
import math

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
from pyengine.autograd import gradcheck

torch = pytest.importorskip("torch")

# (pyengine/torch class name, constructor kwargs) for every mode rnn_layer runs
MODES = {
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "lstm_proj": ("LSTM", {"proj_size": 2}),
    "gru": ("GRU", {}),
}
I, H, T, B = 3, 4, 4, 3


def npy(t):
    return t.detach().cpu().numpy()


def make_pair(mode, src="torch", **kw):
    """The same float64 module in torch and pyengine; weights copied from `src` to the other."""
    name, base = MODES[mode]
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(I, H, **base, **kw).double()
    pe.manual_seed(1)
    pm = getattr(nn, name)(I, H, **base, **kw).double()
    if src == "torch":
        pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    else:
        tm.load_state_dict({k: torch.tensor(npy(v)) for k, v in pm.state_dict().items()})
    return tm, pm


def state_shapes(mode, tm, batch):
    D = 2 if tm.bidirectional else 1
    P = tm.proj_size or tm.hidden_size
    lead = (tm.num_layers * D,) + ((batch,) if batch is not None else ())
    return [lead + (P,)] + ([lead + (tm.hidden_size,)] if mode.startswith("lstm") else [])


def run_both(mode, tm, pm, x, states, packed=None):
    """Forward both modules on x (NumPy) and states (list of NumPy arrays or None), backward a fixed
    weighted sum of every output; returns {name: (torch value, pyengine value)} for outputs,
    final states and every gradient. `packed(module_lib, tensor)` turns x into a PackedSequence."""
    res = {}
    outs = {}
    for lib, m in (("torch", tm), ("pe", pm)):
        mk = (lambda a: torch.tensor(a, requires_grad=True)) if lib == "torch" else \
            (lambda a: pe.tensor(a, requires_grad=True))
        xt = mk(x)
        inp = xt if packed is None else packed(lib, xt)
        hs = None if states is None else [mk(s) for s in states]
        hx = None if hs is None else (tuple(hs) if mode.startswith("lstm") else hs[0])
        out, hn = m(inp, hx)
        out = out if packed is None else out.data
        finals = list(hn) if mode.startswith("lstm") else [hn]
        loss = 0
        for k, o in enumerate([out] + finals):
            w = np.random.default_rng(k).standard_normal(tuple(o.shape))
            loss = loss + (o * (torch.tensor(w) if lib == "torch" else pe.tensor(w))).sum()
        loss.backward()
        outs[lib] = dict(out=out, **{f"state{k}": f for k, f in enumerate(finals)}, x_grad=xt.grad,
                         **({f"h{k}_grad": h.grad for k, h in enumerate(hs)} if hs else {}),
                         **{"grad_" + n: p.grad for n, p in m.named_parameters()})
    assert set(outs["torch"]) == set(outs["pe"])
    for k in outs["torch"]:
        res[k] = (outs["torch"][k], outs["pe"][k])
    return res


def assert_match(res, atol=1e-10):
    for k, (t, p) in res.items():
        assert p is not None, f"{k}: pyengine has no value (torch: {t is not None})"
        np.testing.assert_allclose(npy(p), t.detach().numpy(), rtol=1e-9, atol=atol, err_msg=k)


CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False, "batch_first": True},
]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("with_hx", [False, True], ids=["h0none", "h0"])
def test_module_vs_torch(mode, cfg, with_hx):
    tm, pm = make_pair(mode, **cfg)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, I) if cfg.get("batch_first") else (T, B, I))
    states = [rng.standard_normal(s) for s in state_shapes(mode, tm, B)] if with_hx else None
    res = run_both(mode, tm, pm, x, states)
    assert any(k.startswith("grad_weight_hh") for k in res)
    assert_match(res)


@pytest.mark.parametrize("mode", list(MODES))
def test_state_dict_pyengine_to_torch(mode):
    """Weights drawn by pyengine, loaded into torch: same outputs and gradients."""
    tm, pm = make_pair(mode, src="pyengine", num_layers=2, bidirectional=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, B, I))
    states = [rng.standard_normal(s) for s in state_shapes(mode, tm, B)]
    assert_match(run_both(mode, tm, pm, x, states))


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("with_hx", [False, True], ids=["h0none", "h0"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_vs_torch(mode, with_hx, batch_first):
    tm, pm = make_pair(mode, bidirectional=True, batch_first=batch_first)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, I))
    states = [rng.standard_normal(s) for s in state_shapes(mode, tm, None)] if with_hx else None
    res = run_both(mode, tm, pm, x, states)
    assert res["out"][1].shape == (T, 2 * (tm.proj_size or H))
    assert_match(res)


@pytest.mark.filterwarnings("ignore:dropout option adds dropout")
def test_parameters_names_shapes_order_init_repr():
    for mode in MODES:
        tm, pm = make_pair(mode, num_layers=2, bidirectional=True)
        assert [(k, tuple(v.shape)) for k, v in pm.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
        assert repr(pm) == repr(tm)
        assert [[n for n in w] for w in pm._all_weights] == [[n for n in w] for w in tm._all_weights]
        assert [[tuple(p.shape) for p in ws] for ws in pm.all_weights] == \
               [[tuple(p.shape) for p in ws] for ws in tm.all_weights]
        pm.flatten_parameters()  # a no-op, but callable like torch's
    big = nn.LSTM(8, 16, num_layers=2, bias=True, proj_size=4)
    bound = 1 / math.sqrt(16)
    for name, p in big.named_parameters():
        a = npy(p)
        assert np.abs(a).max() <= bound, name
        assert np.abs(a).max() > 0.8 * bound and a.std() > 0.4 * bound, name  # spread over U(-b, b)
    for args, kw in [((3, 4), dict(dropout=0.25, batch_first=True)), ((3, 4, 3), dict(bias=False))]:
        assert repr(nn.GRU(*args, **kw)) == repr(torch.nn.GRU(*args, **kw))
    assert repr(nn.RNN(3, 4, 2, "relu")) == repr(torch.nn.RNN(3, 4, 2, "relu"))
    assert nn.RNN(3, 4, 2, "relu").nonlinearity == "relu"
    for cell, kw in [("RNNCell", dict(nonlinearity="relu", bias=False)), ("LSTMCell", {}), ("GRUCell", {})]:
        pc, tc = getattr(nn, cell)(3, 4, **kw), getattr(torch.nn, cell)(3, 4, **kw)
        assert repr(pc) == repr(tc)
        assert [(k, tuple(v.shape)) for k, v in pc.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in tc.state_dict().items()]


# ---------------------------------------------------------------- cells
CELLS = {"rnn_tanh": ("RNNCell", {}), "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
         "lstm": ("LSTMCell", {}), "gru": ("GRUCell", {})}


@pytest.mark.parametrize("mode", list(CELLS))
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [False, True], ids=["h0none", "h0"])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_vs_torch(mode, batched, with_hx, bias):
    name, kw = CELLS[mode]
    torch.manual_seed(0)
    tc = getattr(torch.nn, name)(I, H, bias=bias, **kw).double()
    pc = getattr(nn, name)(I, H, bias=bias, **kw).double()
    pc.load_state_dict({k: v.numpy() for k, v in tc.state_dict().items()})
    rng = np.random.default_rng(3)
    lead = (B,) if batched else ()
    x = rng.standard_normal(lead + (I,))
    n_states = 2 if mode == "lstm" else 1
    hs = [rng.standard_normal(lead + (H,)) for _ in range(n_states)] if with_hx else None
    got = {}
    for lib, m, mk in (("torch", tc, lambda a: torch.tensor(a, requires_grad=True)),
                       ("pe", pc, lambda a: pe.tensor(a, requires_grad=True))):
        xt = mk(x)
        ht = None if hs is None else [mk(h) for h in hs]
        hx = None if ht is None else (tuple(ht) if n_states == 2 else ht[0])
        # two steps, so the second one runs from a computed state
        out = m(xt, hx)
        out = m(xt * 0.5, out)
        outs = list(out) if n_states == 2 else [out]
        loss = sum((o * (k + 1.0)).sum() * o.sum() for k, o in enumerate(outs))
        loss.backward()
        got[lib] = [*outs, xt.grad] + ([h.grad for h in ht] if ht else []) + [p.grad for p in m.parameters()]
    assert len(got["torch"]) == len(got["pe"])
    assert got["pe"][0].shape == tuple(got["torch"][0].shape)
    for t, p in zip(got["torch"], got["pe"]):
        np.testing.assert_allclose(npy(p), t.detach().numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_gradcheck(mode):
    name, kw = CELLS[mode]
    pe.manual_seed(0)
    cell = getattr(nn, name)(2, 2, **kw).double()
    rng = np.random.default_rng(4)
    x = pe.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    hs = [pe.tensor(rng.standard_normal((2, 2)), requires_grad=True) for _ in range(2 if mode == "lstm" else 1)]
    params = list(cell.parameters())

    def fn(x, *rest):
        hx = tuple(rest[:2]) if mode == "lstm" else rest[0]
        return cell(x, hx)
    assert gradcheck(fn, [x, *hs, *params], eps=1e-6, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- gradcheck of the modules
GRADCHECK_CASES = [
    ("rnn_tanh", {}, True), ("rnn_relu", {"bidirectional": True}, True), ("lstm", {}, False),
    ("lstm", {"num_layers": 2, "bidirectional": True, "batch_first": True}, True),
    ("lstm_proj", {"bidirectional": True}, True), ("gru", {"num_layers": 2}, False),
    ("gru", {"bias": False, "batch_first": True}, True),
]


def m_proj(mode):
    return "proj_size" in MODES[mode][1]


@pytest.mark.parametrize("mode,cfg,with_hx", GRADCHECK_CASES)
def test_module_gradcheck(mode, cfg, with_hx):
    name, base = MODES[mode]
    pe.manual_seed(0)
    Hg = 3 if m_proj(mode) else 2  # proj_size=2 needs hidden_size > 2
    m = getattr(nn, name)(2, Hg, **base, **cfg).double()
    if mode == "rnn_relu":  # keep pre-activations away from relu's kink for finite differences
        with pe.no_grad():
            for n, p in m.named_parameters():
                if n.startswith("bias"):
                    p.fill_(0.5)
    rng = np.random.default_rng(6)
    Tg, Bg = 3, 2
    x = pe.tensor(rng.standard_normal((Bg, Tg, 2) if cfg.get("batch_first") else (Tg, Bg, 2)), requires_grad=True)
    D = 2 if m.bidirectional else 1
    P = m.proj_size or Hg
    hs = []
    if with_hx:
        hs = [pe.tensor(rng.standard_normal((m.num_layers * D, Bg, P)), requires_grad=True)]
        if name == "LSTM":
            hs.append(pe.tensor(rng.standard_normal((m.num_layers * D, Bg, Hg)), requires_grad=True))
    params = list(m.parameters())

    def fn(x, *rest):
        hx = None
        if with_hx:
            hx = tuple(rest[:2]) if name == "LSTM" else rest[0]
        out, hn = m(x, hx)
        return (out, *hn) if name == "LSTM" else (out, hn)
    assert gradcheck(fn, [x, *hs, *params], eps=1e-6, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- dropout, truncated BPTT
def test_dropout_between_layers():
    tm, pm = make_pair("lstm", num_layers=3, dropout=0.5)
    x = np.random.default_rng(7).standard_normal((T, B, I))
    pm.train()
    pe.manual_seed(3)
    y1 = npy(pm(pe.tensor(x))[0])
    y2 = npy(pm(pe.tensor(x))[0])
    pm.eval()
    tm.eval()
    ye = npy(pm(pe.tensor(x))[0])
    np.testing.assert_allclose(ye, tm(torch.tensor(x))[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    assert not np.allclose(y1, ye) and not np.allclose(y1, y2)  # training draws fresh masks
    # dropout only between layers: with one layer training equals eval (and torch warns)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        one = nn.GRU(I, H, dropout=0.5).double()
    one.train()
    a = npy(one(pe.tensor(x))[0])
    one.eval()
    np.testing.assert_array_equal(a, npy(one(pe.tensor(x))[0]))
    # and its gradient flows through the mask: grads in training differ from eval's
    pm.train()
    g = {}
    for train in (True, False):
        pm.train(train)
        pm.zero_grad()
        pm(pe.tensor(x))[0].sum().backward()
        g[train] = npy(pm.weight_ih_l0.grad)
    assert np.all(np.isfinite(g[True])) and not np.allclose(g[True], g[False])


def test_truncated_bptt_matches_torch():
    """Carrying (h.detach(), c.detach()) across chunks: each backward sees only its chunk."""
    tm, pm = make_pair("lstm", num_layers=2)
    rng = np.random.default_rng(8)
    chunks = [rng.standard_normal((3, 2, I)) for _ in range(3)]
    got = {}
    for lib, m in (("torch", tm), ("pe", pm)):
        tensor = (lambda a: torch.tensor(a, requires_grad=True)) if lib == "torch" else \
            (lambda a: pe.tensor(a, requires_grad=True))
        state, rec = None, []
        xs = [tensor(c) for c in chunks]
        for xc in xs:
            m.zero_grad()
            out, (h, c) = m(xc, state)
            (out ** 2).sum().backward()
            state = (h.detach(), c.detach())
            rec += [out, m.weight_hh_l1.grad.clone(), m.weight_ih_l0.grad.clone(), xc.grad]
        # the first chunk's input gradient is untouched by later chunks' backward passes
        rec.append(xs[0].grad)
        got[lib] = rec
    for t, p in zip(got["torch"], got["pe"]):
        np.testing.assert_allclose(npy(p), t.detach().numpy(), rtol=1e-9, atol=1e-11)
    # the later chunks' gradients differ from an untruncated run through all chunks
    pm.zero_grad()
    pm(pe.tensor(np.concatenate(chunks)))[0][6:].pow(2).sum().backward()
    assert not np.allclose(npy(pm.weight_hh_l1.grad), npy(got["pe"][-4]))


# ---------------------------------------------------------------- errors
def test_errors_like_torch():
    rnn = nn.RNN(10, 20, 2)
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size. Expected 10, got 7"):
        rnn(pe.randn(5, 3, 7))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 3, 20\), got \[1, 3, 20\]"):
        rnn(pe.randn(5, 3, 10), pe.randn(1, 3, 20))
    with pytest.raises(RuntimeError, match="For batched 3-D input, hx should also be 3-D but got 2-D tensor"):
        rnn(pe.randn(5, 3, 10), pe.randn(3, 20))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"):
        rnn(pe.randn(5, 10), pe.randn(2, 1, 20))
    with pytest.raises(ValueError, match="RNN: Expected input to be 2D or 3D, got 4D tensor instead"):
        rnn(pe.randn(5, 3, 10, 1))
    with pytest.raises(ValueError, match="GRU: Expected input to be 2D or 3D, got 1D instead"):
        nn.GRU(10, 20)(pe.randn(10))
    with pytest.raises(ValueError, match=r"RNN input dtype \(pyengine.float64\) does not match weight dtype"):
        rnn(pe.randn(5, 3, 10, dtype=pe.float64))
    lstm = nn.LSTM(10, 20, proj_size=5)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 3, 5\), got \[1, 3, 20\]"):
        lstm(pe.randn(5, 3, 10), (pe.randn(1, 3, 20), pe.randn(1, 3, 20)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 3, 20\), got \[1, 2, 20\]"):
        lstm(pe.randn(5, 3, 10), (pe.randn(1, 3, 5), pe.randn(1, 2, 20)))
    with pytest.raises(RuntimeError, match=r"hx and cx should also be 3-D but got \(3-D, 2-D\) tensors"):
        lstm(pe.randn(5, 3, 10), (pe.randn(1, 3, 5), pe.randn(3, 20)))
    for bad in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
            nn.LSTM(10, 20, 2, dropout=bad)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN or GRU"):
        nn.GRU(10, 20, proj_size=2)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.RNN(10, 20, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(10, 20, proj_size=20)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        nn.LSTM(10, 20, proj_size=-1)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNN(10, 20, nonlinearity="gelu")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(10, 0)
    with pytest.raises(TypeError, match="batch_first should be of type bool"):
        nn.GRU(10, 20, batch_first=1)


def test_cell_errors_like_torch():
    cell = nn.RNNCell(10, 20)
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 7 expected 10"):
        cell(pe.randn(3, 7))
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 5, expected 20"):
        cell(pe.randn(3, 10), pe.randn(3, 5))
    with pytest.raises(RuntimeError, match="Input batch size 3 doesn't match hidden0 batch size 2"):
        cell(pe.randn(3, 10), pe.randn(2, 20))
    with pytest.raises(ValueError, match="RNNCell: Expected input to be 1D or 2D, got 3D instead"):
        cell(pe.randn(1, 3, 10))
    with pytest.raises(RuntimeError, match="hidden1 has inconsistent hidden_size: got 5, expected 20"):
        nn.LSTMCell(10, 20)(pe.randn(3, 10), (pe.randn(3, 20), pe.randn(3, 5)))
    with pytest.raises(ValueError, match=r"LSTMCell: Expected hx\[1\] to be 1D or 2D, got 3D instead"):
        nn.LSTMCell(10, 20)(pe.randn(3, 10), (pe.randn(3, 20), pe.randn(1, 3, 20)))
    with pytest.raises(ValueError, match="GRUCell: Expected hidden to be 1D or 2D, got 3D instead"):
        nn.GRUCell(10, 20)(pe.randn(3, 10), pe.randn(1, 3, 20))


# ---------------------------------------------------------------- device parity
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_device_matches_cpu(device, name):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 2, 3))
    got = {}
    for dev in ("cpu", device):
        pe.manual_seed(0)
        m = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True).double().to(dev)
        xt = pe.tensor(x, device=dev, requires_grad=True)
        out, hn = m(xt)
        finals = list(hn) if name == "LSTM" else [hn]
        assert out.device.type == pe.device(dev).type
        (out.pow(2).sum() + sum(f.sum() for f in finals)).backward()
        got[dev] = [npy(out), *map(npy, finals), npy(xt.grad)] + [npy(p.grad) for p in m.parameters()]
    for a, b in zip(got["cpu"], got[device]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
