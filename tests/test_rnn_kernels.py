"""The fused recurrent layer op (`pyengine.nn._rnn_fns.rnn_layer`, csrc/ops/rnn.cpp, the step
kernels of csrc/cpu/rnn_kernels.cpp and cuda/rnn.cu) against PyTorch, gradcheck, packed batches,
thread-count independence and argument errors. The modules built on it are tested in
test_nn_rnn*.py."""
import numpy as np
import pytest

import pyengine as pe
from pyengine.nn._rnn_fns import rnn_bidirectional_layer, rnn_layer
from device_gradcheck import gradcheck_on

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def make_args(mode, T=5, B=3, I=4, H=6, proj=0, seed=0, scale=1.0):
    """NumPy arrays (x, h0, c0 or None, w_ih, w_hh, b_ih, b_hh, w_hr or None)."""
    rng = np.random.default_rng(seed)
    G, P = GATES[mode], proj or H
    r = lambda *s: rng.standard_normal(s) * scale  # noqa: E731
    return [r(T, B, I), r(B, P), r(B, H) if mode == "lstm" else None, r(G * H, I), r(G * H, P), r(G * H), r(G * H),
            r(P, H) if proj else None]


def to_pe(arrays, device, dtype="float64"):
    return [None if a is None else pe.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]


def torch_layer(torch, mode, arrays, lengths=None, reverse=False):
    """The same layer as one torch module run per sequence (so packed batches and the reverse
    direction need no packing on the torch side). Returns (y (T, B, P), h_n, c_n, leaves)."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = [None if a is None else torch.tensor(a, requires_grad=True)
                                               for a in arrays]
    T, B, I = x.shape
    H = w_ih.shape[0] // GATES[mode]
    kind = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}[mode]
    kw = {"nonlinearity": "relu"} if mode == "rnn_relu" else {}
    if w_hr is not None:
        kw["proj_size"] = w_hr.shape[0]
    m = getattr(torch.nn, kind)(I, H, **kw).double()
    params = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b_ih, "bias_hh_l0": b_hh, "weight_hr_l0": w_hr}
    for name in list(m._parameters):
        del m._parameters[name]
        setattr(m, name, params[name])
    ys, hs, cs = [], [], []
    for b in range(B):
        L = T if lengths is None else lengths[b]
        xb = x[:L, b:b + 1]
        xb = xb.flip(0) if reverse else xb
        hx = (h0[b:b + 1][None], c0[b:b + 1][None]) if mode == "lstm" else h0[b:b + 1][None]
        yb, st = m(xb, hx)
        yb = yb.flip(0) if reverse else yb
        ys.append(torch.cat([yb[:, 0], yb.new_zeros(T - L, yb.shape[2])]))
        hs.append((st[0] if mode == "lstm" else st)[0, 0])
        if mode == "lstm":
            cs.append(st[1][0, 0])
    y = torch.stack(ys, 1)
    return y, torch.stack(hs), torch.stack(cs) if cs else None, [x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr]


def compare_with_torch(device, mode, lengths=None, reverse=False, proj=0, dtype="float64", atol=1e-10):
    torch = pytest.importorskip("torch")
    T = 6
    arrays = make_args(mode, T=T, B=4, proj=proj, seed=hash((mode, reverse, proj)) % 1000)
    batch_sizes = None
    if lengths is not None:
        batch_sizes = [sum(n > t for n in lengths) for t in range(T)]
        for t in range(T):
            arrays[0][t, batch_sizes[t]:] = 0.0
    ins = to_pe(arrays, device, dtype)
    y, h_n, c_n = rnn_layer(mode, *ins, batch_sizes=batch_sizes, reverse=reverse)
    assert y.device.type == pe.device(device).type
    rng = np.random.default_rng(7)
    gy, gh = rng.standard_normal(tuple(y.shape)), rng.standard_normal(tuple(h_n.shape))
    if batch_sizes is not None:
        for t in range(T):
            gy[t, batch_sizes[t]:] = 0.0
    loss = (y * pe.tensor(gy, dtype=dtype, device=device)).sum() + (h_n * pe.tensor(gh, dtype=dtype, device=device)).sum()
    if c_n is not None:
        loss = loss + (c_n * c_n).sum()
    loss.backward()

    ty, th, tc, leaves = torch_layer(torch, mode, arrays, lengths, reverse)
    tloss = (ty * torch.tensor(gy)).sum() + (th * torch.tensor(gh)).sum() + ((tc * tc).sum() if tc is not None else 0)
    tloss.backward()
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), atol=atol, rtol=atol)
    np.testing.assert_allclose(h_n.detach().cpu().numpy(), th.detach().numpy(), atol=atol, rtol=atol)
    if c_n is not None:
        np.testing.assert_allclose(c_n.detach().cpu().numpy(), tc.detach().numpy(), atol=atol, rtol=atol)
    names = ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr"]
    for name, ours, theirs in zip(names, ins, leaves):
        if ours is None:
            continue
        np.testing.assert_allclose(ours.grad.cpu().numpy(), theirs.grad.numpy(), atol=atol * 10, rtol=atol * 10,
                                   err_msg=f"grad of {name}")


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mode", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_layer_matches_torch(device, mode, reverse):
    compare_with_torch(device, mode, reverse=reverse)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru"])
def test_packed_batch_matches_one_run_per_sequence(device, mode, reverse):
    compare_with_torch(device, mode, lengths=[6, 4, 4, 2], reverse=reverse)


@pytest.mark.parametrize("lengths", [None, [6, 5, 3, 1]])
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_projection_matches_torch(device, reverse, lengths):
    compare_with_torch(device, "lstm", lengths=lengths, reverse=reverse, proj=2)


def test_float32_matches_torch(device):
    compare_with_torch(device, "lstm", dtype="float32", atol=2e-5)
    compare_with_torch(device, "gru", lengths=[6, 3, 2, 2], dtype="float32", atol=2e-5)


@pytest.mark.parametrize("case", ["rnn_tanh", "rnn_relu", "lstm", "gru", "lstm-proj", "gru-packed-reverse",
                                  "lstm-proj-packed-reverse", "gru-nobias"])
def test_gradcheck(device, case):
    mode = case.split("-")[0]
    proj = 2 if "proj" in case else 0
    arrays = make_args(mode, T=3, B=3, I=2, H=3, proj=proj, seed=3, scale=0.7)
    sizes = [3, 2, 1] if "packed" in case else None
    reverse = "reverse" in case
    if mode == "rnn_relu":  # keep pre-activations away from the kink at 0
        arrays[5] = arrays[5] + 2.0
    if "nobias" in case:
        arrays[5] = arrays[6] = None
    present = [i for i, a in enumerate(arrays) if a is not None]

    def fn(*ts):
        full = [None] * 8
        for i, t in zip(present, ts):
            full[i] = t
        y, h, c = rnn_layer(mode, *full, batch_sizes=sizes, reverse=reverse)
        return (y, h) if c is None else (y, h, c)

    assert gradcheck_on(device, fn, *[arrays[i] for i in present])


def test_inactive_rows_keep_their_state_and_output_zeros():
    arrays = make_args("gru", T=4, B=3)
    ins = to_pe(arrays, "cpu")
    y, h_n, _ = rnn_layer("gru", *ins, batch_sizes=[3, 2, 2, 1])
    y = y.detach().numpy()
    assert np.all(y[1:, 2] == 0) and np.all(y[3, 1] == 0)
    np.testing.assert_array_equal(h_n.detach().numpy()[2], y[0, 2])
    np.testing.assert_array_equal(h_n.detach().numpy()[1], y[2, 1])
    np.testing.assert_array_equal(h_n.detach().numpy()[0], y[3, 0])


def test_results_do_not_depend_on_the_thread_count():
    arrays = make_args("lstm", T=8, B=64, I=16, H=64, seed=5, scale=0.3)
    out = []
    old = pe.get_num_threads()
    try:
        for n in (1, 2):
            pe.set_num_threads(n)
            ins = to_pe(arrays, "cpu", "float32")
            y, h, c = rnn_layer("lstm", *ins, batch_sizes=[64] * 4 + [40] * 4, reverse=True)
            (y.sum() + h.sum() + c.sum()).backward()
            out.append([y.detach().numpy()] + [t.grad.numpy() for t in ins if t is not None])
    finally:
        pe.set_num_threads(old)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode, proj, sizes, reverse", [("lstm", 0, None, False), ("lstm", 2, [3, 3, 2, 1, 1], True),
                                                       ("lstm", 0, [3, 2, 2, 2, 1], False), ("gru", 0, [3, 1, 1, 1, 1], True)])
def test_no_grad_forward_keeps_only_rolling_buffers_and_gives_the_same_values(device, mode, proj, sizes, reverse):
    """Without a graph the forward reuses one step's buffers (two cell states): same results."""
    ins = to_pe(make_args(mode, proj=proj), device)
    with_graph = rnn_layer(mode, *ins, batch_sizes=sizes, reverse=reverse)
    with pe.no_grad():
        without = rnn_layer(mode, *ins, batch_sizes=sizes, reverse=reverse)
    assert without[0].grad_fn is None and not without[0].requires_grad
    for a, b in zip(with_graph, without):
        if a is not None:
            np.testing.assert_array_equal(a.detach().cpu().numpy(), b.cpu().numpy())


def test_one_graph_node_per_layer():
    ins = to_pe(make_args("gru", T=7), "cpu")
    y, h, _ = rnn_layer("gru", *ins)
    assert y.grad_fn is h.grad_fn
    assert type(y.grad_fn).__name__ == "RnnLayerBackward"


@pytest.mark.parametrize("change, message", [
    (lambda a: a.__setitem__(0, a[0][:, :, :3]), "weight_ih: expected shape (6, 3), got (6, 4)"),
    (lambda a: a.__setitem__(1, a[1][:2]), "hx: expected shape (3, 6), got (2, 6)"),
    (lambda a: a.__setitem__(4, a[4][:, :5]), "weight_hh: expected shape (6, 6), got (6, 5)"),
    (lambda a: a.__setitem__(5, a[5][:4]), "bias_ih: expected shape (6,), got (4,)"),
    (lambda a: a.__setitem__(0, a[0][0]), "expected input of shape (T, B, input_size), got (3, 4)"),
])
def test_shape_errors_name_the_shapes(change, message):
    arrays = make_args("rnn_tanh")
    change(arrays)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rnn_layer("rnn_tanh", *to_pe(arrays, "cpu"))


def test_batch_size_and_mode_errors():
    ins = to_pe(make_args("gru", T=3), "cpu")
    with pytest.raises(ValueError, match="expected 3 batch sizes"):
        rnn_layer("gru", *ins, batch_sizes=[3, 2])
    with pytest.raises(ValueError, match="non-increasing"):
        rnn_layer("gru", *ins, batch_sizes=[3, 1, 2])
    with pytest.raises(ValueError, match="first batch size must be the batch size 3"):
        rnn_layer("gru", *ins, batch_sizes=[2, 2, 1])
    with pytest.raises(ValueError, match="mode must be"):
        rnn_layer("lstn", *ins)
    with pytest.raises(ValueError, match="expected a cell state"):
        rnn_layer("lstm", *to_pe(make_args("lstm", T=3)[:2] + [None] + make_args("lstm", T=3)[3:], "cpu"))
    x32 = pe.zeros(3, 3, 4)
    with pytest.raises(TypeError, match="expected dtype float32"):
        rnn_layer("gru", x32, *ins[1:])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("mode, proj, packed", [("lstm", 0, False), ("gru", 0, True), ("lstm", 2, True)])
def test_bidirectional_node_equals_two_layer_calls(device, mode, proj, packed, threads):
    """Both directions side by side (one thread each on the CPU) give exactly the values and
    gradients of the two directions run one after the other."""
    sizes = [4, 3, 3, 1, 1] if packed else None
    fwd_arrays = make_args(mode, T=5, B=4, proj=proj, seed=11)
    rev_arrays = make_args(mode, T=5, B=4, proj=proj, seed=12)[1:]
    results = []
    old = pe.get_num_threads()
    pe.set_num_threads(threads)
    try:
        for together in (True, False):
            x = to_pe(fwd_arrays[:1], device)[0]
            fwd, rev = to_pe(fwd_arrays[1:], device), to_pe(rev_arrays, device)
            if together:
                (yf, hf, cf), (yr, hr, cr) = rnn_bidirectional_layer(mode, x, fwd, rev, batch_sizes=sizes)
            else:
                yf, hf, cf = rnn_layer(mode, x, *fwd, batch_sizes=sizes)
                yr, hr, cr = rnn_layer(mode, x, *rev, batch_sizes=sizes, reverse=True)
            loss = (yf * yf).sum() + (yr * yr * 0.5).sum() + hf.sum() + (hr * 3).sum()
            if cf is not None:
                loss = loss + (cf * cr).sum()
            loss.backward()
            results.append([t.detach().cpu().numpy() for t in (yf, hf, yr, hr)]
                           + [t.grad.cpu().numpy() for t in [x] + fwd + rev if t is not None])
    finally:
        pe.set_num_threads(old)
    assert len(results[0]) == len(results[1])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_bidirectional_errors_leave_nothing_half_done():
    arrays = make_args("gru", T=3)
    x = to_pe(arrays[:1], "cpu")[0]
    fwd = to_pe(arrays[1:], "cpu")
    bad = list(fwd)
    bad[0] = pe.zeros(2, 6, dtype="float64")
    with pytest.raises(ValueError, match=r"hx: expected shape \(3, 6\), got \(2, 6\)"):
        rnn_bidirectional_layer("gru", x, fwd, bad)


# The emulated GPU runs the two cheapest cases (gradgradcheck there is slow).
DOUBLE_BACKWARD_CASES = ([("cpu", c) for c in ("lstm-proj-packed", "gru-reverse", "rnn_tanh", "lstm-bidirectional")]
                         + ([("cuda", c) for c in ("gru-reverse", "rnn_tanh")] if pe.cuda.is_available() else []))


@pytest.mark.parametrize("device, case", DOUBLE_BACKWARD_CASES)
def test_double_backward(device, case):
    """create_graph=True through the fused node: its backward recomputes the layer with Tensor
    ops, so second derivatives (gradgradcheck) come out right."""
    mode = case.split("-")[0]
    proj = 1 if "proj" in case else 0
    arrays = make_args(mode, T=3, B=2, I=2, H=2, proj=proj, seed=21, scale=0.5)
    present = [i for i, a in enumerate(arrays) if a is not None]
    ins = [pe.tensor(arrays[i], device=device, requires_grad=True) for i in present]
    sizes = [2, 2, 1] if "packed" in case else None

    def fn(*ts):
        full = [None] * 8
        for i, t in zip(present, ts):
            full[i] = t
        if "bidirectional" in case:
            (y, h, c), (y2, h2, c2) = rnn_bidirectional_layer(mode, full[0], full[1:], full[1:])
            return y * y2, h + c2
        y, h, c = rnn_layer(mode, *full, batch_sizes=sizes, reverse="reverse" in case)
        return (y, h) if c is None else (y, h, c)

    assert pe.autograd.gradgradcheck(fn, ins)
