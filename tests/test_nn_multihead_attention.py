"""nn.MultiheadAttention and F.multi_head_attention_forward against torch 2.13 (float64, weights
moved by state_dict both ways): outputs, attention weights and every parameter / input / float
mask gradient over the options (batch_first, bias, kdim/vdim, add_bias_kv, add_zero_attn,
unbatched, self- and cross-attention) and masks (key_padding_mask bool/float, attn_mask 2-D/3-D
bool/float, both, causal with is_causal), need_weights True/False, average_attn_weights False,
eval and train mode (dropout 0); float64 gradcheck; PyTorch's init, names and errors; nn.GELU's
tanh form; a few module runs on "cuda" equal to the CPU.

torch's inference fast path (torch._native_multi_head_attention) is switched off so torch runs
its reference path; the fast path only reorders the same arithmetic."""
import warnings

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from pyengine.autograd import gradcheck

torch = pytest.importorskip("torch")

E, H, L, S, N = 8, 2, 5, 4, 3


@pytest.fixture(autouse=True)
def _torch_reference_path():
    was = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    yield
    torch.backends.mha.set_fastpath_enabled(was)


def npy(t):
    return t.detach().cpu().numpy()


def make_pair(src="torch", **kw):
    """The same float64 MultiheadAttention(E, H, **kw) in torch and pyengine; weights copied from
    `src` to the other. Biases are randomised (PyTorch's init zeroes them) so they are tested."""
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, **kw).double()
    with torch.no_grad():
        for name, p in tm.named_parameters():
            if "bias" in name:
                p.normal_()
    pe.manual_seed(1)
    pm = nn.MultiheadAttention(E, H, **kw).double()
    if src == "torch":
        pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    else:
        tm.load_state_dict({k: torch.tensor(npy(v)) for k, v in pm.state_dict().items()})
    return tm, pm


def inputs(kw, batched=True, self_attn=False, seed=0):
    """query, key, value as NumPy arrays in the module's layout."""
    rng = np.random.default_rng(seed)
    kd, vd = kw.get("kdim") or E, kw.get("vdim") or E
    if self_attn:
        x = rng.standard_normal((L, N, E))
        q = k = v = x
    else:
        q, k, v = rng.standard_normal((L, N, E)), rng.standard_normal((S, N, kd)), rng.standard_normal((S, N, vd))
    if not batched:
        return tuple(a[:, 0] for a in (q, k, v))
    if kw.get("batch_first"):
        return tuple(a.transpose(1, 0, 2).copy() for a in (q, k, v))
    return q, k, v


def masks(kind, n_src=S, n_tgt=L, seed=1):
    """(key_padding_mask, attn_mask, is_causal) as NumPy arrays; no query row fully masked."""
    rng = np.random.default_rng(seed)
    kpm_bool = np.zeros((N, n_src), bool)
    kpm_bool[1, -2:] = True
    kpm_bool[2, -1] = True
    attn_bool = np.triu(np.ones((n_tgt, n_src), bool), 1)
    attn3_bool = rng.random((N * H, n_tgt, n_src)) < 0.3
    attn3_bool[..., 0] = False  # every row keeps key 0 (then key 0 is never padded where it matters)
    attn3_bool[2 * H:, :, 0] = True
    attn3_bool[2 * H:, :, 1] = False
    float_of = lambda b: np.where(b, -np.inf, 0.0)  # noqa: E731
    table = {
        "none": (None, None, False),
        "kpm_bool": (kpm_bool, None, False),
        "kpm_float": (np.where(kpm_bool, -np.inf, rng.standard_normal((N, n_src))), None, False),
        "attn2_bool": (None, attn_bool, False),
        "attn2_float": (None, rng.standard_normal((n_tgt, n_src)), False),
        "attn3_bool": (None, attn3_bool, False),
        "attn3_float": (None, float_of(attn3_bool) + rng.standard_normal(attn3_bool.shape), False),
        "kpm_attn_bool": (kpm_bool, attn_bool, False),
        "kpm_attn_float": (float_of(kpm_bool), float_of(attn_bool) + rng.standard_normal((n_tgt, n_src)), False),
        "causal": (None, np.triu(np.ones((n_tgt, n_src), bool), 1), True),
        "causal_float": (None, float_of(np.triu(np.ones((n_tgt, n_src), bool), 1)), True),
        "causal_kpm": (kpm_bool, np.triu(np.ones((n_tgt, n_src), bool), 1), True),
    }
    return table[kind]


def run_both(tm, pm, q, k, v, kpm=None, attn_mask=None, mask_grad=False, **call):
    """Forward both modules, backward a fixed weighted sum of the output (and the weights);
    returns {name: (torch value, pyengine value)} for outputs, weights and every gradient."""
    res = {}
    for lib, m in (("torch", tm), ("pe", pm)):
        mk = (lambda a, g=True: torch.tensor(a, requires_grad=g)) if lib == "torch" else \
            (lambda a, g=True: pe.tensor(a, requires_grad=g))
        self_attn = q is k and k is v
        qt = mk(q)
        kt, vt = (qt, qt) if self_attn else (mk(k), mk(v))
        kp = None if kpm is None else mk(kpm, g=False)
        am = None if attn_mask is None else mk(attn_mask, g=mask_grad and attn_mask.dtype != bool)
        out, w = m(qt, kt, vt, key_padding_mask=kp, attn_mask=am, **call)
        loss = 0
        for j, o in enumerate([out] + ([w] if w is not None else [])):
            wt = np.random.default_rng(10 + j).standard_normal(tuple(o.shape))
            loss = loss + (o * (torch.tensor(wt) if lib == "torch" else pe.tensor(wt))).sum()
        loss.backward()
        got = {"out": out, "weights": w, "q_grad": qt.grad}
        if not self_attn:
            got.update(k_grad=kt.grad, v_grad=vt.grad)
        if am is not None and am.requires_grad:
            got["mask_grad"] = am.grad
        got.update({"grad_" + n: p.grad for n, p in m.named_parameters()})
        res[lib] = got
    assert set(res["torch"]) == set(res["pe"])
    return {name: (res["torch"][name], res["pe"][name]) for name in res["torch"]}


def assert_close(pairs, atol=1e-10):
    for name, (t, p) in pairs.items():
        if t is None:
            assert p is None, name
            continue
        assert p is not None, name
        assert tuple(t.shape) == tuple(p.shape), (name, tuple(t.shape), tuple(p.shape))
        np.testing.assert_allclose(npy(p), npy(t), rtol=1e-9, atol=atol, err_msg=name)


NEED_WEIGHTS = {
    "weights": dict(need_weights=True),
    "weights_per_head": dict(need_weights=True, average_attn_weights=False),
    "no_weights": dict(need_weights=False),
}
OPTIONS = {
    "default": {},
    "batch_first": dict(batch_first=True),
    "no_bias": dict(bias=False),
    "kdim_vdim": dict(kdim=3, vdim=5),
    "kdim_vdim_batch_first": dict(kdim=3, vdim=5, batch_first=True),
    "bias_kv": dict(add_bias_kv=True),
    "zero_attn": dict(add_zero_attn=True),
    "bias_kv_zero_attn_batch_first": dict(add_bias_kv=True, add_zero_attn=True, batch_first=True),
}


# ---------------------------------------------------------------- differential tests vs torch
@pytest.mark.parametrize("opt", list(OPTIONS))
@pytest.mark.parametrize("nw", list(NEED_WEIGHTS))
@pytest.mark.parametrize("mask", ["none", "kpm_attn_bool", "kpm_attn_float"])
def test_options_vs_torch(opt, nw, mask):
    kw = OPTIONS[opt]
    tm, pm = make_pair(**kw)
    kpm, am, causal = masks(mask)
    assert_close(run_both(tm, pm, *inputs(kw), kpm, am, is_causal=causal, **NEED_WEIGHTS[nw]))


@pytest.mark.parametrize("mask", ["none", "kpm_bool", "kpm_float", "attn2_bool", "attn2_float", "attn3_bool",
                                  "attn3_float", "kpm_attn_bool", "kpm_attn_float", "causal", "causal_float",
                                  "causal_kpm"])
@pytest.mark.parametrize("nw", list(NEED_WEIGHTS))
@pytest.mark.parametrize("batch_first", [False, True])
def test_masks_vs_torch(mask, nw, batch_first):
    kw = dict(batch_first=batch_first)
    tm, pm = make_pair(**kw)
    kpm, am, causal = masks(mask, n_src=L)
    assert_close(run_both(tm, pm, *inputs(kw, self_attn=True), kpm, am, is_causal=causal, **NEED_WEIGHTS[nw]))


@pytest.mark.parametrize("nw", list(NEED_WEIGHTS))
@pytest.mark.parametrize("mask", ["none", "kpm_attn_bool", "attn3_float", "causal"])
@pytest.mark.parametrize("opt", ["default", "batch_first", "bias_kv_zero_attn_batch_first", "kdim_vdim"])
def test_unbatched_vs_torch(nw, mask, opt):
    kw = OPTIONS[opt]
    tm, pm = make_pair(**kw)
    kpm, am, causal = masks(mask)
    kpm = None if kpm is None else kpm[1]
    am = None if am is None else (am[H:2 * H] if am.ndim == 3 else am)  # the 3-D mask of batch 1
    assert_close(run_both(tm, pm, *inputs(kw, batched=False), kpm, am, is_causal=causal, **NEED_WEIGHTS[nw]))


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("self_attn", [False, True])
def test_train_and_eval_mode_vs_torch(mode, self_attn):
    """dropout=0.5 module in eval mode: no dropout; dropout=0 in train mode: same as eval."""
    kw = dict(dropout=0.0 if mode == "train" else 0.5, batch_first=True)
    tm, pm = make_pair(**kw)
    tm.train(mode == "train")
    pm.train(mode == "train")
    kpm, am, _ = masks("kpm_attn_bool", n_src=L if self_attn else S)
    for nw in NEED_WEIGHTS.values():
        assert_close(run_both(tm, pm, *inputs(kw, self_attn=self_attn), kpm, am, **nw))


@pytest.mark.parametrize("nw", [True, False])
@pytest.mark.parametrize("dims", [2, 3])
def test_float_mask_gradient_vs_torch(nw, dims):
    """A float attn_mask that requires grad gets torch's gradient (the plain path carries it)."""
    tm, pm = make_pair()
    _, am, _ = masks("attn2_float" if dims == 2 else "attn3_float")
    am = np.where(np.isinf(am), -30.0, am)
    assert_close(run_both(tm, pm, *inputs({}), None, am, mask_grad=True, need_weights=nw))


def test_state_dict_from_pyengine_to_torch():
    for kw in ({}, dict(kdim=3, vdim=5, add_bias_kv=True), dict(bias=False)):
        tm, pm = make_pair(src="pe", **kw)
        kpm, am, _ = masks("kpm_attn_bool")
        assert_close(run_both(tm, pm, *inputs(kw), kpm, am))


def test_key_is_value_cross_attention_vs_torch():
    """key is value (but not query): the packed projection shares one GEMM for k and v."""
    tm, pm = make_pair()
    q, k, _ = inputs({})
    assert_close(run_both(tm, pm, q, k, k))


def test_functional_vs_torch():
    """F.multi_head_attention_forward with separate projection weights and static_k / static_v."""
    rng = np.random.default_rng(3)
    hd = E // H
    arrays = dict(q=rng.standard_normal((L, N, E)), k=rng.standard_normal((S, N, E)),
                  v=rng.standard_normal((S, N, E)), wq=rng.standard_normal((E, E)), wk=rng.standard_normal((E, E)),
                  wv=rng.standard_normal((E, E)), b=rng.standard_normal(3 * E), wo=rng.standard_normal((E, E)),
                  bo=rng.standard_normal(E), sk=rng.standard_normal((N * H, S + 1, hd)),
                  sv=rng.standard_normal((N * H, S + 1, hd)))
    outs = {}
    for lib, mod, Fm in (("torch", torch, torch.nn.functional), ("pe", pe, F)):
        t = {n: mod.tensor(a, requires_grad=True) for n, a in arrays.items()}
        out, w = Fm.multi_head_attention_forward(
            t["q"], t["k"], t["v"], E, H, None, t["b"], None, None, True, 0.0, t["wo"], t["bo"], training=True,
            use_separate_proj_weight=True, q_proj_weight=t["wq"], k_proj_weight=t["wk"], v_proj_weight=t["wv"],
            static_k=t["sk"], static_v=t["sv"], average_attn_weights=False)
        (out.sum() + (w * mod.tensor(np.arange(w.numel()).reshape(tuple(w.shape)) / 7.0)).sum()).backward()
        outs[lib] = dict(out=out, w=w, **{n + "_grad": x.grad for n, x in t.items() if x.grad is not None})
    assert set(outs["torch"]) == set(outs["pe"])
    assert_close({n: (outs["torch"][n], outs["pe"][n]) for n in outs["torch"]})


@pytest.mark.parametrize("lsn", [(0, 3, 2), (3, 0, 2), (3, 3, 0), (1, 1, 1)])
@pytest.mark.parametrize("nw", [True, False])
def test_empty_and_single_sizes_vs_torch(lsn, nw):
    """No queries, no keys (outputs are the out_proj bias), an empty batch, one of each."""
    n_q, n_k, n_b = lsn
    tm, pm = make_pair()
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((n_q, n_b, E)), rng.standard_normal((n_k, n_b, E)), rng.standard_normal((n_k, n_b, E))
    assert_close(run_both(tm, pm, q, k, v, need_weights=nw))


def test_fully_masked_rows_give_zeros():
    """A query row that sees no key: zero output and weights, zero gradients (PyTorch's SDPA
    gives zeros there too; its need_weights path gives NaN)."""
    tm, pm = make_pair()
    q, k, v = inputs({})
    am = np.zeros((L, S), bool)
    am[2] = True
    res = run_both(tm, pm, q, k, v, None, am, need_weights=False)
    assert_close(res)
    out, w = pm(pe.tensor(q), pe.tensor(k), pe.tensor(v), attn_mask=pe.tensor(am), average_attn_weights=False)
    assert np.all(npy(w)[:, :, 2] == 0) and np.isfinite(npy(out)).all()


def test_dropout_in_training_only():
    pe.manual_seed(0)
    m = nn.MultiheadAttention(E, H, dropout=0.5).double()
    q, k, v = (pe.tensor(a) for a in inputs({}))
    _, w1 = m(q, k, v)
    _, w2 = m(q, k, v)
    assert not np.allclose(npy(w1), npy(w2)), "dropout in training mode should change the weights"
    wn = npy(m(q, k, v, average_attn_weights=False)[1])
    assert np.any(wn == 0) and np.any(wn > 1.0 / S * 1.5)  # dropped and rescaled
    m.eval()
    _, e1 = m(q, k, v)
    _, e2 = m(q, k, v)
    np.testing.assert_array_equal(npy(e1), npy(e2))
    np.testing.assert_allclose(npy(e1).sum(-1), 1.0, rtol=1e-12)


# ---------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("cfg", ["packed", "separate"])
def test_functional_gradcheck(need_weights, cfg):
    """Every input of F.multi_head_attention_forward: query, key, value, the projections and
    their biases, bias_k / bias_v, a float attn_mask and a float key_padding_mask."""
    rng = np.random.default_rng(4)
    e, h, l_, s, n = 4, 2, 3, 2, 2
    mk = lambda *shape: pe.tensor(rng.standard_normal(shape), requires_grad=True)  # noqa: E731
    q, k, v = mk(l_, n, e), mk(s, n, e), mk(s, n, e)
    w_in, b_in, bk, bv, wo, bo = mk(3 * e, e), mk(3 * e), mk(1, 1, e), mk(1, 1, e), mk(e, e), mk(e)
    wq, wk, wv = mk(e, e), mk(e, e), mk(e, e)
    am, kpm = mk(l_, s), mk(n, s)
    separate = cfg == "separate"

    def fn(q, k, v, w_in, b_in, bk, bv, wo, bo, wq, wk, wv, am, kpm):
        out, w = F.multi_head_attention_forward(
            q, k, v, e, h, None if separate else w_in, b_in, bk, bv, True, 0.0, wo, bo, key_padding_mask=kpm,
            need_weights=need_weights, attn_mask=am, use_separate_proj_weight=separate, q_proj_weight=wq,
            k_proj_weight=wk, v_proj_weight=wv, average_attn_weights=False)
        return (out, w) if need_weights else out

    args = [q, k, v, w_in, b_in, bk, bv, wo, bo, wq, wk, wv, am, kpm]
    assert gradcheck(fn, args, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("batch_first", [False, True])
def test_module_gradcheck_with_bool_masks(batch_first):
    pe.manual_seed(2)
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, batch_first=batch_first).double()
    rng = np.random.default_rng(5)
    shape = lambda a, b: (2, a, b) if batch_first else (a, 2, b)  # noqa: E731
    q = pe.tensor(rng.standard_normal(shape(3, 4)), requires_grad=True)
    k = pe.tensor(rng.standard_normal(shape(4, 3)), requires_grad=True)
    v = pe.tensor(rng.standard_normal(shape(4, 2)), requires_grad=True)
    kpm = pe.tensor(np.array([[False, False, False, True], [False, True, False, False]]))
    am = pe.tensor(np.triu(np.ones((3, 4), bool), 1))
    params = list(m.parameters())

    def fn(q, k, v, *ps):
        return m(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=False)[0]

    assert gradcheck(fn, [q, k, v, *params], eps=1e-6, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- names, init, errors
def test_parameter_names_shapes_and_repr_match_torch():
    for kw in ({}, dict(kdim=3, vdim=5), dict(bias=False, add_bias_kv=True), dict(kdim=E, vdim=E)):
        tm = torch.nn.MultiheadAttention(E, H, **kw)
        pm = nn.MultiheadAttention(E, H, **kw)
        assert [(n, tuple(p.shape)) for n, p in pm.state_dict().items()] == \
               [(n, tuple(p.shape)) for n, p in tm.state_dict().items()]
        assert repr(pm) == repr(tm)
        assert pm._qkv_same_embed_dim == tm._qkv_same_embed_dim and pm.head_dim == tm.head_dim
        for attr in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                     "bias_k", "bias_v"):
            assert (getattr(pm, attr) is None) == (getattr(tm, attr) is None), attr
    assert isinstance(pm.out_proj, nn.Linear)


def test_init_matches_torch_distribution():
    """xavier_uniform_ projections (bound sqrt(6 / (fan_in + fan_out))), zero in_proj / out_proj
    biases, Linear's default out_proj.weight, xavier_normal_ bias_k / bias_v."""
    pe.manual_seed(0)
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = npy(m.in_proj_weight)
    bound = np.sqrt(6.0 / (64 + 3 * 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert np.all(npy(m.in_proj_bias) == 0) and np.all(npy(m.out_proj.bias) == 0)
    assert np.abs(npy(m.out_proj.weight)).max() <= 1 / np.sqrt(64)
    sep = nn.MultiheadAttention(64, 4, kdim=16, vdim=32)
    assert np.abs(npy(sep.k_proj_weight)).max() <= np.sqrt(6.0 / (64 + 16))
    assert np.abs(npy(sep.v_proj_weight)).max() <= np.sqrt(6.0 / (64 + 32))
    bk = npy(m.bias_k)  # xavier_normal_ on (1, 1, 64): fan_in = fan_out = 64
    assert 0 < bk.std() < 3 * np.sqrt(2.0 / 128)


def _call(m, q, k, v, **kw):
    kw = {n: pe.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
    return m(pe.tensor(q), pe.tensor(k), pe.tensor(v), **kw)


def test_errors_name_the_shapes():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads.*embed_dim=10.*num_heads=3"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        nn.MultiheadAttention(0, 1)
    m = nn.MultiheadAttention(E, H).double()
    q, k, v = inputs({})
    with pytest.raises(AssertionError, match=r"embedding dimension of 8, but got 6"):
        _call(m, q[..., :6], k, v)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(5, 5\), but should be \(5, 4\)"):
        _call(m, q, k, v, attn_mask=np.zeros((L, L), bool))
    with pytest.raises(RuntimeError, match=r"3D attn_mask is \(3, 5, 4\), but should be \(6, 5, 4\)"):
        _call(m, q, k, v, attn_mask=np.zeros((N, L, S), bool))
    with pytest.raises(AssertionError, match=r"key_padding_mask of shape .* \(3, 4\), but got \(3, 5\)"):
        _call(m, q, k, v, key_padding_mask=np.zeros((N, S + 1), bool))
    with pytest.raises(AssertionError, match=r"`key_padding_mask` to be `None` or 2-D but found 1-D"):
        _call(m, q, k, v, key_padding_mask=np.zeros(S, bool))
    with pytest.raises(AssertionError, match=r"`attn_mask` to be `None`, 2-D or 3-D but found 4-D"):
        _call(m, q, k, v, attn_mask=np.zeros((1, 1, L, S), bool))
    with pytest.raises(AssertionError, match=r"key shape \(4, 3, 8\) does not match value shape \(5, 3, 8\)"):
        _call(m, q, k, np.zeros((S + 1, N, E)))
    with pytest.raises(AssertionError, match=r"key's batch size 2 does not match query's 3"):
        _call(m, q, k[:, :2], v[:, :2])
    with pytest.raises(AssertionError, match=r"expected `key` and `value` to be 3-D but found 2-D"):
        _call(m, q, k[:, 0], v[:, 0])
    with pytest.raises(AssertionError, match=r"unbatched 2D or batched 3D tensor but received 4-D"):
        _call(m, q[None], k[None], v[None])
    with pytest.raises(AssertionError, match=r"Expected `attn_mask` shape to be \(2, 5, 4\) but got \(3, 5, 4\)"):
        _call(m, q[:, 0], k[:, 0], v[:, 0], attn_mask=np.zeros((3, L, S), bool))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        _call(m, q, k, v, is_causal=True)


def test_errors_name_the_dtypes():
    m = nn.MultiheadAttention(E, H)  # float32
    q, k, v = inputs({})
    with pytest.raises(RuntimeError, match="in_proj_weight is pyengine.float32 but the query is pyengine.float64"):
        _call(m, q, k, v)
    q32, k32, v32 = (a.astype(np.float32) for a in (q, k, v))
    with pytest.raises(RuntimeError, match="expected key of the query's dtype pyengine.float32, got "
                                           "pyengine.float64"):
        _call(m, q32, k, v32)
    with pytest.raises(RuntimeError, match="expected a floating query.*int64"):
        _call(m, q.astype(np.int64), k.astype(np.int64), v.astype(np.int64))
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask are supported, "
                                             "got pyengine.int64"):
        _call(m, q32, k32, v32, key_padding_mask=np.zeros((N, S), np.int64))
    with pytest.raises(RuntimeError, match="attn_mask of dtype pyengine.float64 does not match the query's dtype "
                                           "pyengine.float32"):
        _call(m, q32, k32, v32, attn_mask=np.zeros((L, S)))
    with pytest.raises(TypeError, match="argument 'key' must be a Tensor, not ndarray"):
        m(pe.tensor(q32), k32, pe.tensor(v32))


def test_mismatched_mask_types_warn_as_torch():
    m = nn.MultiheadAttention(E, H).double()
    q, k, v = inputs({})
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        _call(m, q, k, v, key_padding_mask=np.zeros((N, S), bool), attn_mask=np.zeros((L, S)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _call(m, q, k, v, key_padding_mask=np.zeros((N, S), bool), attn_mask=np.zeros((L, S), bool))


# ---------------------------------------------------------------- GELU's tanh form
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_vs_torch_and_gradcheck(approximate):
    x = np.concatenate([np.linspace(-9, 9, 37), [0.0, -1e-3, 1e-3, 30.0, -30.0]])
    for dtype in (np.float32, np.float64):
        xt = torch.tensor(x.astype(dtype), requires_grad=True)
        xp = pe.tensor(x.astype(dtype), requires_grad=True)
        yt = torch.nn.GELU(approximate=approximate)(xt)
        yp = nn.GELU(approximate=approximate)(xp)
        g = np.cos(x).astype(dtype)
        yt.backward(torch.tensor(g))
        yp.backward(pe.tensor(g))
        tol = 1e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(npy(yp), npy(yt), rtol=tol, atol=tol)
        np.testing.assert_allclose(npy(xp.grad), npy(xt.grad), rtol=tol, atol=tol)
    np.testing.assert_allclose(npy(F.gelu(pe.tensor(x), approximate=approximate)),
                               npy(torch.nn.functional.gelu(torch.tensor(x), approximate=approximate)), rtol=1e-13,
                               atol=1e-13)
    xg = pe.tensor(np.random.default_rng(0).standard_normal(11) * 3, requires_grad=True)
    assert gradcheck(lambda t: F.gelu(t, approximate=approximate), [xg], eps=1e-6, atol=1e-7, rtol=1e-5)
    assert repr(nn.GELU(approximate=approximate)) == repr(torch.nn.GELU(approximate=approximate))


def test_gelu_bad_approximate():
    with pytest.raises(ValueError, match="approximate argument must be either none or tanh"):
        nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="approximate argument must be either none or tanh"):
        F.gelu(pe.zeros(2), approximate="erf")


# ---------------------------------------------------------------- devices
@pytest.mark.parametrize("need_weights", [True, False])
def test_module_on_device_equals_cpu(device, need_weights):
    pe.manual_seed(0)
    m = nn.MultiheadAttention(E, H, batch_first=True)
    q, k, v = inputs(dict(batch_first=True))
    kpm, am, _ = masks("kpm_attn_bool")
    results = {}
    for dev in ("cpu", device):
        md = m.to(dev)
        ts = [pe.tensor(a.astype(np.float32), device=dev, requires_grad=True) for a in (q, k, v)]
        out, w = md(*ts, key_padding_mask=pe.tensor(kpm, device=dev), attn_mask=pe.tensor(am, device=dev),
                    need_weights=need_weights)
        assert out.device.type == pe.device(dev).type
        out.sum().backward()
        results[dev] = [npy(out)] + ([npy(w)] if w is not None else []) + [npy(t.grad) for t in ts] + \
            [npy(p.grad) for p in md.parameters()]
        md.zero_grad()
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
