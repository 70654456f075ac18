"""F.scaled_dot_product_attention on the CPU: the fused path (csrc/cpu/attention_kernels.cpp
through FusedAttentionFn) and the plain path it falls back to, against torch 2.13.

Outputs and q/k/v gradients for every option (2-, 3- and 4-D inputs, E != Ev, L != S, broadcast
batch dims, bool and additive masks broadcasting over batch and heads, -inf masks, fully masked
rows, causal with L < S and L > S, custom scale, sizes 1 / primes / across several tiles,
strided, transposed and broadcast views, float32 and float64); gradcheck and gradgradcheck in
float64; empty shapes; results independent of the thread count; dropout statistics; errors; and
a long-sequence run whose peak memory stays far below the (L, S) score matrix. Device parity
lives in tests/test_attention_device.py."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from pyengine.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def npy(t):
    return t.detach().numpy()


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def bool_mask(rng, shape, p=0.3):
    return rng.random(shape) > p


def compare(qs, ks, vs, mask=None, is_causal=False, scale=None, dtype=np.float64, seed=0, views=None):
    """Run both libraries on the same data; compare the output and every input gradient.
    `views`: optional function (library, tensor name, base tensor) -> the view passed in."""
    rng = np.random.default_rng(seed)
    arrays = [rand(rng, s, dtype) for s in (qs, ks, vs)]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    p_in = [pe.tensor(a, requires_grad=True) for a in arrays]
    t_args, p_args = list(t_in), list(p_in)
    if views is not None:
        t_args = [views(torch, n, t) for n, t in zip("qkv", t_args)]
        p_args = [views(pe, n, t) for n, t in zip("qkv", p_args)]
    t_mask = p_mask = None
    if mask is not None:
        t_mask, p_mask = torch.tensor(mask), pe.tensor(mask)
    to = TF.scaled_dot_product_attention(*t_args, attn_mask=t_mask, is_causal=is_causal, scale=scale)
    po = F.scaled_dot_product_attention(*p_args, attn_mask=p_mask, is_causal=is_causal, scale=scale)
    assert tuple(po.shape) == tuple(to.shape)
    np.testing.assert_allclose(npy(po), npy(to), **TOL[dtype])
    g = rand(rng, tuple(to.shape), dtype)
    to.backward(torch.tensor(g))
    po.backward(pe.tensor(g))
    for name, t, p in zip("qkv", t_in, p_in):
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), err_msg=f"d{name}", **TOL[dtype])
    return po


# (q shape, k shape, v shape, mask builder or None, is_causal, scale)
def _additive(shape, inf_fraction=0.0):
    def build(rng, dtype):
        m = rng.standard_normal(shape).astype(dtype)
        if inf_fraction:
            m[rng.random(shape) < inf_fraction] = -np.inf
        return m
    return build


def _boolean(shape, p=0.3):
    return lambda rng, dtype: bool_mask(rng, shape, p)


def _blind_rows(shape, rows):
    """Bool mask with whole query rows masked out (those rows see no key)."""
    def build(rng, dtype):
        m = bool_mask(rng, shape)
        m[..., rows, :] = False
        return m
    return build


def _blind_additive(shape, rows):
    def build(rng, dtype):
        m = rng.standard_normal(shape).astype(dtype)
        m[..., rows, :] = -np.inf
        return m
    return build


CASES = {
    "2d": ((5, 4), (7, 4), (7, 3), None, False, None),
    "3d": ((2, 5, 4), (2, 7, 4), (2, 7, 6), None, False, None),
    "4d_E_ne_Ev": ((2, 3, 6, 5), (2, 3, 9, 5), (2, 3, 9, 2), None, False, None),
    "one_query_one_key": ((1, 1, 1, 3), (1, 1, 1, 3), (1, 1, 1, 1), None, False, None),
    "primes_several_tiles": ((1, 2, 67, 7), (1, 2, 523, 7), (1, 2, 523, 3), None, False, None),
    "long_queries": ((1, 1, 263, 4), (1, 1, 61, 4), (1, 1, 61, 5), None, False, None),
    "broadcast_batch": ((2, 1, 5, 4), (3, 7, 4), (1, 3, 7, 6), None, False, None),
    "broadcast_batch_2d_kv": ((2, 3, 5, 4), (7, 4), (7, 6), None, False, None),
    "scale": ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), None, False, 0.7),
    "bool_mask_LS": ((2, 3, 70, 4), (2, 3, 300, 4), (2, 3, 300, 5), _boolean((70, 300)), False, None),
    "bool_mask_over_heads": ((2, 3, 6, 4), (2, 3, 9, 4), (2, 3, 9, 4), _boolean((2, 1, 6, 9)), False, None),
    "bool_mask_over_batch": ((2, 3, 6, 4), (2, 3, 9, 4), (2, 3, 9, 4), _boolean((3, 1, 9)), False, None),
    "bool_mask_key_padding": ((2, 3, 6, 4), (2, 3, 9, 4), (2, 3, 9, 4), _boolean((2, 1, 1, 9)), False, None),
    "bool_mask_1d": ((2, 6, 4), (2, 9, 4), (2, 9, 4), _boolean((9,)), False, None),
    "additive_mask": ((2, 3, 6, 4), (2, 3, 9, 4), (2, 3, 9, 3), _additive((1, 3, 6, 9)), False, None),
    "additive_mask_inf": ((2, 3, 70, 4), (2, 3, 290, 4), (2, 3, 290, 3), _additive((70, 290), 0.4), False, 0.3),
    "blind_rows_bool": ((2, 3, 6, 4), (2, 3, 9, 4), (2, 3, 9, 4), _blind_rows((2, 3, 6, 9), [0, 4]), False, None),
    "blind_rows_additive": ((2, 70, 4), (2, 300, 4), (2, 300, 4), _blind_additive((70, 300), [3, 65]), False, None),
    "causal_square": ((2, 3, 9, 4), (2, 3, 9, 4), (2, 3, 9, 5), None, True, None),
    "causal_L_lt_S": ((2, 2, 70, 4), (2, 2, 301, 4), (2, 2, 301, 5), None, True, None),
    "causal_L_gt_S": ((2, 2, 301, 4), (2, 2, 70, 4), (2, 2, 70, 5), None, True, None),
    "causal_long_scale": ((1, 1, 600, 8), (1, 1, 600, 8), (1, 1, 600, 8), None, True, 0.2),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch(case, dtype):
    qs, ks, vs, mask, causal, scale = CASES[case]
    m = None if mask is None else mask(np.random.default_rng(7), dtype)
    compare(qs, ks, vs, m, causal, scale, dtype)


def _strided_views(lib, name, t):
    """q: a (B, L, H, E) tensor seen as (B, H, L, E); k: every other key of a longer sequence,
    transposed twice; v: one value matrix expanded over the batch (stride 0)."""
    if name == "q":
        return t.transpose(1, 2)
    if name == "k":
        return t[:, :, ::2, :].transpose(-1, -2).transpose(-1, -2)
    return t.expand(2, 3, 9, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("causal", [False, True])
def test_strided_transposed_and_broadcast_views(dtype, causal):
    compare((2, 8, 3, 4), (2, 3, 18, 4), (1, 1, 9, 5), None, causal, None, dtype, views=_strided_views)


def test_strided_mask():
    rng = np.random.default_rng(3)
    q, k, v = (rand(rng, s, np.float64) for s in ((2, 5, 4), (2, 7, 4), (2, 7, 3)))
    base = rng.standard_normal((7, 5))
    t = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                        attn_mask=torch.tensor(base).T)
    p = F.scaled_dot_product_attention(pe.tensor(q), pe.tensor(k), pe.tensor(v), attn_mask=pe.tensor(base).T)
    np.testing.assert_allclose(p.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)


def test_nan_query_row_is_nan():
    rng = np.random.default_rng(0)
    q, k, v = (rand(rng, s, np.float64) for s in ((1, 70, 4), (1, 300, 4), (1, 300, 3)))
    q[0, 5, 1] = np.nan
    out = F.scaled_dot_product_attention(pe.tensor(q), pe.tensor(k), pe.tensor(v)).numpy()
    assert np.isnan(out[0, 5]).all()
    assert np.isfinite(np.delete(out[0], 5, axis=0)).all()


@pytest.mark.parametrize("shapes", [
    ((2, 4, 3), (2, 0, 3), (2, 0, 2)),   # S == 0: zero rows
    ((2, 0, 3), (2, 5, 3), (2, 5, 2)),   # L == 0
    ((0, 4, 3), (0, 5, 3), (0, 5, 2)),   # empty batch
    ((2, 4, 0), (2, 5, 0), (2, 5, 3)),   # E == 0: uniform weights
    ((2, 4, 3), (2, 5, 3), (2, 5, 0)),   # Ev == 0
], ids=["S0", "L0", "batch0", "E0", "Ev0"])
@pytest.mark.parametrize("causal", [False, True])
def test_empty_shapes(shapes, causal):
    compare(*shapes, is_causal=causal)


def _run_both_thread_counts(fn):
    old = pe.get_num_threads()
    try:
        pe.set_num_threads(1)
        one = fn()
        pe.set_num_threads(2)
        two = fn()
    finally:
        pe.set_num_threads(old)
    return one, two


@pytest.mark.parametrize("batch", [(1, 1), (1, 3), (2, 4)], ids=["b1", "b3", "b8"])
@pytest.mark.parametrize("causal", [False, True])
def test_independent_of_thread_count(batch, causal):
    """Bitwise the same with 1 and 2 threads: this also covers the backward's one-pass and
    two-pass schemes (few batch matrices for the threads take the two-pass one)."""
    rng = np.random.default_rng(5)
    q, k, v, g = (rand(rng, batch + s, np.float32) for s in ((200, 16), (300, 16), (300, 8), (200, 8)))

    def run():
        ts = [pe.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = F.scaled_dot_product_attention(*ts, is_causal=causal)
        out.backward(pe.tensor(g))
        return [out.detach().numpy()] + [t.grad.numpy() for t in ts]

    one, two = _run_both_thread_counts(run)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- gradcheck (float64)
def _g(shape, seed):
    return pe.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


GRADCHECK = {
    "plain": (None, False, None),
    "causal": (None, True, None),
    "scale": (None, False, 0.45),
    "bool_mask": (np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 0, 1], [0, 1, 0, 0, 1]], bool), False, None),
    "additive_mask": (np.random.default_rng(9).standard_normal((2, 1, 4, 5)), False, None),
    "additive_inf_mask": (np.where(np.random.default_rng(8).random((4, 5)) < 0.4, -np.inf, 0.5), False, 0.8),
}


@pytest.mark.parametrize("case", sorted(GRADCHECK))
def test_gradcheck(case):
    mask, causal, scale = GRADCHECK[case]
    m = None if mask is None else pe.tensor(mask)
    q, k, v = _g((2, 3, 4, 3), 0), _g((2, 1, 5, 3), 1), _g((3, 5, 2), 2)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal,
                                                                     scale=scale), (q, k, v))


@pytest.mark.parametrize("case", ["plain", "causal", "bool_mask", "additive_mask"])
def test_gradgradcheck(case):
    mask, causal, scale = GRADCHECK[case]
    m = None if mask is None else pe.tensor(mask)
    q, k, v = _g((2, 1, 4, 3), 3), _g((2, 1, 5, 3), 4), _g((2, 1, 5, 2), 5)
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal,
                                                                         scale=scale), (q, k, v))


def test_mask_requiring_grad_takes_the_plain_path():
    rng = np.random.default_rng(2)
    q, k, v = (rand(rng, s, np.float64) for s in ((2, 4, 3), (2, 5, 3), (2, 5, 2)))
    mask = rng.standard_normal((4, 5))
    tm = torch.tensor(mask, requires_grad=True)
    pm = pe.tensor(mask, requires_grad=True)
    TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), attn_mask=tm).sum().backward()
    F.scaled_dot_product_attention(pe.tensor(q), pe.tensor(k), pe.tensor(v), attn_mask=pm).sum().backward()
    np.testing.assert_allclose(pm.grad.numpy(), tm.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda m: F.scaled_dot_product_attention(pe.tensor(q), pe.tensor(k), pe.tensor(v),
                                                              attn_mask=m), (pe.tensor(mask, requires_grad=True),))


# ---------------------------------------------------------------- grouped-query attention
@pytest.mark.parametrize("kv_heads", [(2, 2), (1, 4), (4, 2)])
def test_enable_gqa(kv_heads):
    hk, hv = kv_heads
    compare_gqa = dict(q=(2, 4, 5, 3), k=(2, hk, 6, 3), v=(2, hv, 6, 2))
    rng = np.random.default_rng(4)
    arrays = {n: rand(rng, s, np.float64) for n, s in compare_gqa.items()}
    t = {n: torch.tensor(a, requires_grad=True) for n, a in arrays.items()}
    p = {n: pe.tensor(a, requires_grad=True) for n, a in arrays.items()}
    to = TF.scaled_dot_product_attention(t["q"], t["k"], t["v"], enable_gqa=True)
    po = F.scaled_dot_product_attention(p["q"], p["k"], p["v"], enable_gqa=True)
    np.testing.assert_allclose(po.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    to.sum().backward()
    po.sum().backward()
    for n in "qkv":
        np.testing.assert_allclose(p[n].grad.numpy(), t[n].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_heads_mismatch_without_gqa_is_a_broadcast_error():
    q, k = pe.randn(2, 4, 5, 3), pe.randn(2, 2, 6, 3)
    with pytest.raises(RuntimeError, match=r"\(2, 4, 5, 3\).*\(2, 2, 6, 3\)"):
        F.scaled_dot_product_attention(q, k, k)
    with pytest.raises(RuntimeError, match="must divide the number of heads"):
        F.scaled_dot_product_attention(q, pe.randn(2, 3, 6, 3), pe.randn(2, 3, 6, 3), enable_gqa=True)


# ---------------------------------------------------------------- dropout (the plain path)
def test_dropout_one_gives_zeros():
    q, k, v = pe.randn(2, 4, 3), pe.randn(2, 5, 3), pe.randn(2, 5, 2)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    t = TF.scaled_dot_product_attention(*(torch.tensor(x.numpy()) for x in (q, k, v)), dropout_p=1.0)
    np.testing.assert_array_equal(out.numpy(), t.numpy())
    assert not out.numpy().any()


def test_dropout_preserves_the_mean_and_has_gradients():
    """Dropout on the weights, scaled by 1/(1-p) (as torch): averaged over many draws the output
    is the output without dropout; single draws differ from it."""
    pe.manual_seed(0)
    rng = np.random.default_rng(0)
    q, k, v = (rand(rng, s, np.float64) for s in ((1, 4, 3), (1, 6, 3), (1, 6, 2)))
    n = 20000
    qt = pe.tensor(np.broadcast_to(q, (n, 4, 3)).copy(), requires_grad=True)
    out = F.scaled_dot_product_attention(qt, pe.tensor(k), pe.tensor(v), dropout_p=0.4)
    exact = F.scaled_dot_product_attention(pe.tensor(q), pe.tensor(k), pe.tensor(v)).numpy()[0]
    draws = out.detach().numpy()
    assert np.abs(draws - exact).max() > 0.1
    np.testing.assert_allclose(draws.mean(0), exact, atol=0.05)
    out.sum().backward()
    assert qt.grad is not None and np.isfinite(qt.grad.numpy()).all()


def test_dropout_probability_is_checked():
    q = pe.randn(2, 4, 3)
    for p in (-0.1, 1.5):
        with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1"):
            F.scaled_dot_product_attention(q, q, q, dropout_p=p)


# ---------------------------------------------------------------- errors
def _err(match, q, k, v, **kw):
    with pytest.raises(RuntimeError, match=match):
        F.scaled_dot_product_attention(q, k, v, **kw)


def test_errors_name_shapes_and_dtypes():
    r = pe.randn
    _err(r"at least 2-dimensional.*query \(3,\)", r(3), r(3), r(3))
    _err(r"embedding size.*query \(2, 4, 3\) and key \(2, 5, 4\)", r(2, 4, 3), r(2, 5, 4), r(2, 5, 3))
    _err(r"sequence length.*key \(2, 5, 3\) and value \(2, 6, 3\)", r(2, 4, 3), r(2, 5, 3), r(2, 6, 3))
    _err(r"batch dims.*must broadcast.*\(2, 4, 3\).*\(3, 5, 3\)", r(2, 4, 3), r(3, 5, 3), r(3, 5, 3))
    _err(r"attn_mask of shape \(3, 5\) does not broadcast.*\(2, 4, 5\)", r(2, 4, 3), r(2, 5, 3), r(2, 5, 3),
         attn_mask=r(3, 5))
    _err(r"attn_mask of shape \(1, 2, 4, 5\)", r(2, 4, 3), r(2, 5, 3), r(2, 5, 3), attn_mask=r(1, 2, 4, 5))
    _err(r"attn_mask dtype.*int64.*float32", r(2, 4, 3), r(2, 5, 3), r(2, 5, 3),
         attn_mask=pe.ones(4, 5, dtype=pe.int64))
    _err(r"attn_mask dtype.*float64.*float32", r(2, 4, 3), r(2, 5, 3), r(2, 5, 3),
         attn_mask=pe.ones(4, 5, dtype=pe.float64))
    _err(r"same dtype.*query float32, key float64", r(2, 4, 3), r(2, 5, 3, dtype=pe.float64), r(2, 5, 3))
    i = pe.ones(2, 4, 3, dtype=pe.int64)
    _err(r"float32 or float64.*int64", i, i, i)
    _err("Explicit attn_mask should not be set when is_causal=True", r(2, 4, 3), r(2, 5, 3), r(2, 5, 3),
         attn_mask=pe.ones(4, 5, dtype=pe.bool), is_causal=True)
    with pytest.raises(TypeError, match="'key' must be a Tensor"):
        F.scaled_dot_product_attention(r(2, 4, 3), np.zeros((2, 5, 3)), r(2, 5, 3))


@pytest.mark.skipif(not pe.cuda.is_available(), reason="needs a (possibly emulated) CUDA device")
def test_devices_must_match():
    q = pe.randn(2, 4, 3)
    with pytest.raises(RuntimeError, match="same device"):
        F.scaled_dot_product_attention(q, q.to(device="cuda"), q)


# ---------------------------------------------------------------- memory
# Peak RSS of this process: VmHWM (Linux), else ru_maxrss. ru_maxrss alone is no good in a
# child: Linux carries the parent's high-water mark (pytest with torch loaded) across fork+exec.
_MEMORY_CHILD = """
import resource, sys
def peak():
    try:
        with open("/proc/self/status") as f:
            return int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import numpy as np
import pyengine as pe
import pyengine.nn.functional as F
from pyengine.nn._attention_fns import plain_attention
L = {L}
rng = np.random.default_rng(0)
q, k, v = (pe.tensor(rng.standard_normal((1, L, 8)).astype(np.float32), requires_grad=True) for _ in range(3))
g = pe.tensor(rng.standard_normal((1, L, 8)).astype(np.float32))
small = [pe.tensor(rng.standard_normal((1, 300, 8)).astype(np.float32), requires_grad=True) for _ in range(3)]
F.scaled_dot_product_attention(*small).sum().backward()  # warm up allocators and thread pools
before = peak()
if sys.argv[1] == "fused":
    F.scaled_dot_product_attention(q, k, v).backward(g)
else:
    plain_attention(q, k, v)[0].backward(g)
after = peak()
print((after - before) * 1024)
"""


def _peak_growth(path, L):
    child = textwrap.dedent(_MEMORY_CHILD.format(L=L))
    r = subprocess.run([sys.executable, "-c", child, path], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[-1])


def test_long_sequence_memory_does_not_grow_with_L_times_S():
    L = 4096
    scores_bytes = L * L * 4  # one float32 (L, S) matrix: 64 MiB
    fused = _peak_growth("fused", L)
    assert fused < scores_bytes / 4, f"fused attention grew peak RSS by {fused} bytes"
    plain = _peak_growth("plain", L)  # the composed path materialises it (the test can see that)
    assert plain > scores_bytes, f"plain attention grew peak RSS by only {plain} bytes"
