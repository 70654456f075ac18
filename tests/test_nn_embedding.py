"""nn.Embedding / nn.EmbeddingBag and F.embedding / F.embedding_bag: outputs and weight (and
per_sample_weights) gradients against torch 2.13 for every mode and option, the in-place max_norm
renormalisation, gradcheck in float64, CPU/CUDA parity and the error messages."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from pyengine.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

V, D = 7, 3
rng = np.random.default_rng(0)
W = rng.standard_normal((V, D))
DTYPES = [("float32", 1e-6), ("float64", 1e-12)]


def _weights(dtype, device="cpu", w=W):
    a = w.astype(dtype)
    return (pe.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True))


def _idx(a, device="cpu"):
    a = np.asarray(a, dtype=np.int64)
    return pe.tensor(a, device=device), torch.tensor(a)


def _close(p, t, tol):
    np.testing.assert_allclose(np.asarray(p.detach()), t.detach().numpy(), rtol=tol, atol=tol)


def _backward_both(out_p, out_t, seed=1):
    g = np.random.default_rng(seed).standard_normal(tuple(out_t.shape))
    out_p.backward(pe.tensor(g.astype(np.asarray(out_p.detach()).dtype), device=out_p.device.type))
    out_t.backward(torch.tensor(g, dtype=out_t.dtype))


# ---------------------------------------------------------------- embedding vs torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("scale", [False, True])
def test_embedding_matches_torch(dtype, tol, padding_idx, scale):
    wp, wt = _weights(dtype)
    ip, it = _idx([[1, 2, 6, 1], [2, 2, 0, 1]])
    out_p = F.embedding(ip, wp, padding_idx=padding_idx, scale_grad_by_freq=scale)
    out_t = torch.nn.functional.embedding(it, wt, padding_idx=padding_idx, scale_grad_by_freq=scale)
    assert tuple(out_p.shape) == (2, 4, D) and out_p.dtype == getattr(pe, dtype)
    _close(out_p, out_t, tol)
    _backward_both(out_p, out_t)
    _close(wp.grad, wt.grad, tol)
    if padding_idx is not None:
        assert not np.asarray(wp.grad)[padding_idx % V].any()


def test_embedding_0d_and_empty_input():
    wp, wt = _weights("float64")
    for a in (3, np.zeros((2, 0), dtype=np.int64)):
        ip, it = _idx(a)
        out_p, out_t = F.embedding(ip, wp), torch.nn.functional.embedding(it, wt)
        assert tuple(out_p.shape) == tuple(out_t.shape)
        _close(out_p, out_t, 1e-12)
        out_p.sum().backward()
        out_t.sum().backward()
        _close(wp.grad, wt.grad, 1e-12)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_embedding_max_norm_renormalises_like_torch(dtype, tol, norm_type):
    w = W * 3  # most rows above max_norm
    wp, wt = _weights(dtype, w=w)
    ip, it = _idx([[0, 3, 3], [5, 0, 1]])
    out_p = F.embedding(ip, wp, max_norm=1.5, norm_type=norm_type)
    out_t = torch.nn.functional.embedding(it, wt, max_norm=1.5, norm_type=norm_type)
    _close(out_p, out_t, tol)
    _close(wp, wt, tol)  # the weight itself renormalised in place, identically
    untouched = [2, 4, 6]
    np.testing.assert_array_equal(np.asarray(wp.detach())[untouched], w.astype(dtype)[untouched])
    _backward_both(out_p, out_t)
    _close(wp.grad, wt.grad, tol)


def test_module_matches_torch_with_state_dict():
    torch.manual_seed(0)
    mt = torch.nn.Embedding(V, D, padding_idx=1, max_norm=2.0, scale_grad_by_freq=True).double()
    mp = pe.nn.Embedding(V, D, padding_idx=1, max_norm=2.0, scale_grad_by_freq=True, dtype=pe.float64)
    mp.load_state_dict({k: pe.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()})
    ip, it = _idx([[1, 4, 4], [6, 0, 1]])
    out_p, out_t = mp(ip), mt(it)
    _close(out_p, out_t, 1e-12)
    _close(mp.weight, mt.weight, 1e-12)
    _backward_both(out_p, out_t)
    _close(mp.weight.grad, mt.weight.grad, 1e-12)
    assert repr(mp) == repr(mt) == "Embedding(7, 3, padding_idx=1, max_norm=2.0, scale_grad_by_freq=True)"


def test_module_init_and_from_pretrained():
    pe.manual_seed(0)
    m = pe.nn.Embedding(2000, 8, padding_idx=-3)
    w = np.asarray(m.weight.detach())
    assert m.padding_idx == 1997 and m.weight.requires_grad
    assert not w[1997].any()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # N(0, 1)
    emb = pe.tensor(W)
    frozen = pe.nn.Embedding.from_pretrained(emb, padding_idx=0)
    assert not frozen.weight.requires_grad and frozen.padding_idx == 0
    np.testing.assert_array_equal(np.asarray(frozen.weight.detach()), W)  # the given rows, padding row kept
    trainable = pe.nn.Embedding.from_pretrained(emb, freeze=False)
    assert trainable.weight.requires_grad
    trainable(pe.tensor([1, 1])).sum().backward()
    np.testing.assert_array_equal(np.asarray(trainable.weight.grad)[1], [2.0] * D)
    bag = pe.nn.EmbeddingBag.from_pretrained(emb, mode="sum")
    assert not bag.weight.requires_grad and bag.mode == "sum"
    assert pe.nn.EmbeddingBag.from_pretrained(emb, freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="2-dimensional"):
        pe.nn.Embedding.from_pretrained(pe.tensor(W[0]))
    with pytest.raises(AssertionError, match="Shape of weight"):
        pe.nn.Embedding(3, 3, _weight=pe.tensor(W))
    m2 = pe.nn.EmbeddingBag(10, 4, padding_idx=-1)
    assert m2.padding_idx == 9 and not np.asarray(m2.weight.detach())[9].any()
    assert repr(m2) == "EmbeddingBag(10, 4, mode='mean', padding_idx=9)"


# ---------------------------------------------------------------- embedding_bag vs torch
IDX1 = [1, 2, 6, 1, 3, 2, 2, 0, 5]
OFFSETS = {  # 1-D input cut at offsets; include_last_offset; empty bags first, inside and last
    "plain": ([0, 2, 5, 8], False),  # the last bag has one entry
    "empty": ([0, 0, 4, 4, 9], False),
    "last": ([0, 3, 3, 9], True),
}


def _bag_inputs(layout, device="cpu"):
    if layout == "2d":
        ip, it = _idx(np.array(IDX1[:8]).reshape(2, 4), device)
        return ip, it, None, None, False
    off, last = OFFSETS[layout]
    ip, it = _idx(IDX1, device)
    op, ot = _idx(off, device)
    return ip, it, op, ot, last


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["2d", "plain", "empty", "last"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_matches_torch(dtype, tol, mode, layout, padding_idx):
    wp, wt = _weights(dtype)
    ip, it, op, ot, last = _bag_inputs(layout)
    out_p = F.embedding_bag(ip, wp, op, mode=mode, include_last_offset=last, padding_idx=padding_idx)
    out_t = torch.nn.functional.embedding_bag(it, wt, ot, mode=mode, include_last_offset=last,
                                              padding_idx=padding_idx)
    assert tuple(out_p.shape) == tuple(out_t.shape)
    _close(out_p, out_t, tol)
    _backward_both(out_p, out_t)
    _close(wp.grad, wt.grad, tol)


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_scale_grad_by_freq(mode, padding_idx):
    # Every index occurs twice: torch 2.13's CPU embedding_bag divides by the count of the wrong
    # index when counts differ (counts[sorted_indices[group]]), so compare where that cannot show.
    wp, wt = _weights("float64")
    ip, it = _idx([1, 2, 6, 1, 3, 2, 3, 0, 0, 6])
    op, ot = _idx([0, 0, 4, 7])
    out_p = F.embedding_bag(ip, wp, op, mode=mode, scale_grad_by_freq=True, padding_idx=padding_idx)
    out_t = torch.nn.functional.embedding_bag(it, wt, ot, mode=mode, scale_grad_by_freq=True,
                                              padding_idx=padding_idx)
    _close(out_p, out_t, 1e-12)
    _backward_both(out_p, out_t)
    _close(wp.grad, wt.grad, 1e-12)


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_scale_grad_by_freq_is_embeddings(padding_idx):
    """Unequal counts: a sum bag's gradient is F.embedding's (which matches torch) summed per bag."""
    idx, off = pe.tensor(IDX1), pe.tensor([0, 0, 4])
    w1, w2 = pe.tensor(W, requires_grad=True), pe.tensor(W, requires_grad=True)
    g = pe.tensor(np.random.default_rng(3).standard_normal((3, D)))
    (F.embedding_bag(idx, w1, off, mode="sum", scale_grad_by_freq=True, padding_idx=padding_idx) * g).sum().backward()
    rows = F.embedding(idx, w2, padding_idx=padding_idx, scale_grad_by_freq=True)
    bag_of = pe.tensor([1, 1, 1, 1, 2, 2, 2, 2, 2])
    (rows * g[bag_of]).sum().backward()
    np.testing.assert_allclose(np.asarray(w1.grad), np.asarray(w2.grad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("layout", ["2d", "empty", "last"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_per_sample_weights(dtype, tol, layout, padding_idx):
    wp, wt = _weights(dtype)
    ip, it, op, ot, last = _bag_inputs(layout)
    s = np.random.default_rng(2).standard_normal(tuple(it.shape)).astype(dtype)
    sp, st = pe.tensor(s, requires_grad=True), torch.tensor(s, requires_grad=True)
    out_p = F.embedding_bag(ip, wp, op, mode="sum", per_sample_weights=sp, include_last_offset=last,
                            padding_idx=padding_idx)
    out_t = torch.nn.functional.embedding_bag(it, wt, ot, mode="sum", per_sample_weights=st,
                                              include_last_offset=last, padding_idx=padding_idx)
    _close(out_p, out_t, tol)
    _backward_both(out_p, out_t)
    _close(wp.grad, wt.grad, tol)
    _close(sp.grad, st.grad, tol)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_max_norm_and_module(mode):
    torch.manual_seed(1)
    mt = torch.nn.EmbeddingBag(V, D, max_norm=1.0, mode=mode, padding_idx=0).double()
    mp = pe.nn.EmbeddingBag(V, D, max_norm=1.0, mode=mode, padding_idx=0, dtype=pe.float64)
    mp.load_state_dict({k: pe.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()})
    ip, it, op, ot, _ = _bag_inputs("plain")
    out_p, out_t = mp(ip, op), mt(it, ot)
    _close(out_p, out_t, 1e-12)
    _close(mp.weight, mt.weight, 1e-12)
    _backward_both(out_p, out_t)
    _close(mp.weight.grad, mt.weight.grad, 1e-12)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_include_last_offset_before_the_end(mode):
    """Entries past offsets[-1] belong to no bag (the CSR meaning; torch 2.13 is inconsistent there:
    its float32 sum stops at offsets[-1], its float64 path and mean's divisor run to the end)."""
    w = pe.tensor(W, requires_grad=True)
    off = pe.tensor([0, 3, 3, 7])
    got = F.embedding_bag(pe.tensor(IDX1), w, off, mode=mode, include_last_offset=True)
    want = F.embedding_bag(pe.tensor(IDX1[:7]), w, off, mode=mode, include_last_offset=True)
    np.testing.assert_array_equal(np.asarray(got.detach()), np.asarray(want.detach()))
    got.sum().backward()
    g1 = np.asarray(w.grad).copy()
    w.grad = None
    want.sum().backward()
    np.testing.assert_array_equal(g1, np.asarray(w.grad))


@pytest.mark.parametrize("mode", ["sum", "max"])
def test_max_norm_layer_called_twice_before_backward(mode):
    """The second call renormalises the weight in place; the first call's backward must not need it."""
    mp = pe.nn.EmbeddingBag(V, D, max_norm=0.5, mode=mode, dtype=pe.float64)
    mt = torch.nn.EmbeddingBag(V, D, max_norm=0.5, mode=mode).double()
    mt.load_state_dict({"weight": torch.tensor(np.asarray(mp.weight.detach()))})
    a, b = [1, 2, 3, 1], [3, 4, 5, 0]
    (mp(pe.tensor([a])) + mp(pe.tensor([b]))).sum().backward()
    (mt(torch.tensor([a])) + mt(torch.tensor([b]))).sum().backward()
    _close(mp.weight, mt.weight, 1e-12)
    _close(mp.weight.grad, mt.weight.grad, 1e-12)


def test_embedding_bag_all_empty_and_no_bags():
    wp, wt = _weights("float64")
    for mode in ("sum", "mean", "max"):
        for idx, off, last in (([], [0, 0], False), ([], [0], True), ([], [], False), ([1, 2], [0, 0], False)):
            ip, it = _idx(idx)
            op, ot = _idx(off)
            out_p = F.embedding_bag(ip, wp, op, mode=mode, include_last_offset=last)
            out_t = torch.nn.functional.embedding_bag(it, wt, ot, mode=mode, include_last_offset=last)
            assert tuple(out_p.shape) == tuple(out_t.shape)
            _close(out_p, out_t, 0)
        # One offset with include_last_offset: no bags (torch 2.13 crashes on this one).
        assert F.embedding_bag(pe.tensor([1, 2]), wp, pe.tensor([0]), mode=mode, include_last_offset=True).shape \
            == (0, D)
    out = F.embedding_bag(*_idx([3, 3])[:1], wp, pe.tensor([0, 2, 2]), mode="max")
    out.sum().backward()
    np.testing.assert_array_equal(np.asarray(wp.grad)[3], [1.0] * D)
    assert np.asarray(wp.grad).sum() == D


# ---------------------------------------------------------------- gradcheck (float64)
@pytest.mark.parametrize("padding_idx,scale", [(None, False), (1, True)])
def test_embedding_gradcheck_and_gradgradcheck(padding_idx, scale):
    idx = pe.tensor([[1, 3, 1], [0, 1, 6]])
    w = pe.tensor(W, requires_grad=True)
    fn = lambda w: F.embedding(idx, w, padding_idx=padding_idx, scale_grad_by_freq=scale)  # noqa: E731
    if padding_idx is None and not scale:  # padding and frequency scaling change the gradient by design
        assert gradcheck(fn, [w])
    assert gradgradcheck(fn, [w])  # the backward (a linear map of the output gradient) and its adjoint


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradcheck(mode):
    idx, off = pe.tensor(IDX1), pe.tensor([0, 0, 4, 4])
    w = pe.tensor(W, requires_grad=True)
    fn = lambda w: F.embedding_bag(idx, w, off, mode=mode, padding_idx=2)  # noqa: E731
    assert gradcheck(fn, [w])
    assert gradgradcheck(fn, [w])


def test_embedding_bag_per_sample_weights_gradcheck():
    idx, off = pe.tensor(IDX1), pe.tensor([0, 0, 4, 4])
    w = pe.tensor(W, requires_grad=True)
    s = pe.tensor(rng.standard_normal(len(IDX1)), requires_grad=True)
    fn = lambda w, s: F.embedding_bag(idx, w, off, mode="sum", per_sample_weights=s, padding_idx=2)  # noqa: E731
    assert gradcheck(fn, [w, s])
    assert gradgradcheck(fn, [w, s])


# ---------------------------------------------------------------- devices
def _run(device, fn):
    w = pe.tensor(W, device=device, requires_grad=True)
    s = pe.tensor(np.linspace(-1, 1, len(IDX1)), device=device, requires_grad=True)
    out = fn(w, s, device)
    assert out.device.type == device
    out.backward(pe.tensor(np.arange(np.prod(out.shape), dtype=np.float64).reshape(out.shape) % 5 - 2,
                           device=device))
    return np.asarray(out.detach()), np.asarray(w.grad), None if s.grad is None else np.asarray(s.grad)


CASES = {
    "embedding": lambda w, s, d: F.embedding(pe.tensor([[1, 2, 6], [2, 2, 0]], device=d), w, padding_idx=0,
                                             scale_grad_by_freq=True),
    "max_norm": lambda w, s, d: F.embedding(pe.tensor([4, 1, 4], device=d), w, max_norm=0.5),
    "bag_sum_psw": lambda w, s, d: F.embedding_bag(pe.tensor(IDX1, device=d), w, pe.tensor([0, 0, 4], device=d),
                                                   mode="sum", per_sample_weights=s, padding_idx=2),
    "bag_mean": lambda w, s, d: F.embedding_bag(pe.tensor(IDX1, device=d), w, pe.tensor([0, 3, 3], device=d),
                                                mode="mean", padding_idx=1, scale_grad_by_freq=True),
    "bag_max": lambda w, s, d: F.embedding_bag(pe.tensor(IDX1, device=d), w, pe.tensor([0, 0, 4, 8], device=d),
                                               mode="max", padding_idx=2, include_last_offset=True),
    "bag_max_2d": lambda w, s, d: F.embedding_bag(pe.tensor(np.reshape(IDX1[:8], (2, 4)), device=d), w,
                                                  mode="max"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_device_parity(device, case):
    got = _run(device, CASES[case])
    want = _run("cpu", CASES[case])
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_device_gradcheck(device):
    idx = pe.tensor(IDX1, device=device)
    off = pe.tensor([0, 2, 2], device=device)
    w = pe.tensor(W, device=device, requires_grad=True)
    assert gradcheck(lambda w: F.embedding(idx, w), [w])
    assert gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=2, scale_grad_by_freq=True), [w])
    assert gradcheck(lambda w: F.embedding_bag(idx, w, off, mode="max"), [w])
    assert gradcheck(lambda w: F.embedding_bag(idx, w, off, mode="mean", padding_idx=1), [w])


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", [12, -1])
def test_out_of_range_index_names_index_and_table_size(device, bad):
    w = pe.tensor(W, device=device)
    before = np.asarray(w).copy()
    msg = f"index {bad} is out of range for an embedding table of {V} rows"
    idx = pe.tensor([1, bad, 3], device=device)
    with pytest.raises(IndexError, match=msg):
        F.embedding(idx, w)
    with pytest.raises(IndexError, match=msg):
        F.embedding(idx, w, max_norm=0.1)  # checked before any row is renormalised
    for mode in ("sum", "mean", "max"):
        with pytest.raises(IndexError, match=msg):
            F.embedding_bag(idx, w, pe.tensor([0, 1], device=device), mode=mode, max_norm=0.1)
    np.testing.assert_array_equal(np.asarray(w), before)


def test_index_dtype_and_shape_errors():
    w = pe.tensor(W)
    msg = ("Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but "
           "got pyengine.float32 tensor instead")
    with pytest.raises(TypeError, match=msg):
        F.embedding(pe.tensor([1.0, 2.0]), w)
    with pytest.raises(TypeError, match=msg):
        F.embedding_bag(pe.tensor([1.0, 2.0]), w, pe.tensor([0]))
    with pytest.raises(TypeError, match="'offsets'"):
        F.embedding_bag(pe.tensor([1, 2]), w, pe.tensor([0.0]))
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        F.embedding(pe.tensor([1]), pe.tensor(W[0]))
    with pytest.raises(ValueError, match="weight has to be a 2D Tensor"):
        F.embedding_bag(pe.tensor([1]), pe.tensor(W[0]), pe.tensor([0]))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(pe.tensor([1]), w, padding_idx=V)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        pe.nn.Embedding(V, D, padding_idx=-V - 1)
    with pytest.raises(RuntimeError, match="padding_idx must be within the number of embeddings, -7 through 6"):
        F.embedding_bag(pe.tensor([1]), w, pe.tensor([0]), padding_idx=V)


def test_embedding_bag_argument_errors():
    w = pe.tensor(W)
    i1, i2 = pe.tensor([1, 2, 3]), pe.tensor([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(i2, w, pe.tensor([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(i1, w)
    with pytest.raises(ValueError, match="input has to be 1D or 2D Tensor, but got Tensor of dimension 3"):
        F.embedding_bag(pe.tensor([[[1]]]), w)
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(i2, w, mode="min")
    with pytest.raises(ValueError, match="max mode does not support scaling the gradient by the frequency"):
        F.embedding_bag(i2, w, mode="max", scale_grad_by_freq=True)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum' \\(got "
                                                  "mode='mean'\\)"):
        F.embedding_bag(i2, w, per_sample_weights=pe.ones(2, 2))
    with pytest.raises(TypeError, match="expected per_sample_weights of the weight's dtype \\(pyengine.float64\\), "
                                        "got pyengine.float32"):
        F.embedding_bag(i2, w, mode="sum", per_sample_weights=pe.ones(2, 2))
    with pytest.raises(ValueError, match="must have the same shape as the input"):
        F.embedding_bag(i2, w, mode="sum", per_sample_weights=pe.ones(4))
    before = np.asarray(w).copy()
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(i1, w, pe.tensor([1, 2]), max_norm=0.1)
    np.testing.assert_array_equal(np.asarray(w), before)  # nothing renormalised by a call that fails
    with pytest.raises(RuntimeError, match="offsets\\[-1\\] can not be greater than input's length 3 but got "
                                           "offsets\\[-1\\] of 4"):
        F.embedding_bag(i1, w, pe.tensor([0, 4]))
    with pytest.raises(ValueError, match="offsets must be non-decreasing, got offsets\\[1\\] = 2 > offsets\\[2\\] = 1"):
        F.embedding_bag(i1, w, pe.tensor([0, 2, 1]))


def test_device_mismatch_is_an_error(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    w = pe.tensor(W, device=device)
    with pytest.raises(RuntimeError, match="expected indices and weight on the same device, got indices on cpu"):
        F.embedding(pe.tensor([1]), w)
    with pytest.raises(RuntimeError, match="expected indices and offsets on the same device"):
        F.embedding_bag(pe.tensor([1], device=device), w, pe.tensor([0]))


def test_sparse_is_not_supported():
    with pytest.raises(NotImplementedError, match="no sparse tensors"):
        pe.nn.Embedding(V, D, sparse=True)
    with pytest.raises(NotImplementedError, match="no sparse tensors"):
        pe.nn.EmbeddingBag(V, D, sparse=True)
    with pytest.raises(NotImplementedError, match="no sparse tensors"):
        F.embedding(pe.tensor([1]), pe.tensor(W), sparse=True)
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        F.embedding_bag(pe.tensor([[1]]), pe.tensor(W), mode="max", sparse=True)
