"""Normalization layers: batch/layer/group/RMS norm vs NumPy references, gradcheck for every
code path, differential tests vs PyTorch (outputs, gradients, running statistics), thread-count
independence and error messages."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from pyengine.autograd import gradcheck

rng = np.random.default_rng(0)
TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def arr(*shape, dtype="float64", scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(dtype)


def leaf(a):
    return pe.tensor(a, requires_grad=True)


# ---------------------------------------------------------------- NumPy references
def bn_ref(x, w, b, eps, mean=None, var=None):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    xd = x.astype(np.float64)
    if mean is None:
        mean, var = xd.mean(axes), xd.var(axes)
    y = (xd - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.reshape(shape) + b.reshape(shape)
    return y


def gn_ref(x, G, w, b, eps):
    N, C = x.shape[:2]
    g = x.astype(np.float64).reshape(N, G, -1)
    y = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)).reshape(x.shape)
    if w is not None:
        shape = (1, C) + (1,) * (x.ndim - 2)
        y = y * w.reshape(shape) + b.reshape(shape)
    return y


def ln_ref(x, k, w, b, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    xd = x.astype(np.float64)
    y = (xd - xd.mean(axes, keepdims=True)) / np.sqrt(xd.var(axes, keepdims=True) + eps)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def rms_ref(x, k, w, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    xd = x.astype(np.float64)
    y = xd / np.sqrt((xd * xd).mean(axes, keepdims=True) + eps)
    return y if w is None else y * w


# ---------------------------------------------------------------- batch norm vs NumPy
BN_SHAPES = [(2, 1, 1, 1), (2, 3), (5, 1), (7, 3, 5), (3, 5, 2, 3), (2, 13, 1, 1), (11, 2, 7), (4, 3, 6, 6)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_train_matches_numpy(shape, dtype):
    C = shape[1]
    x, w, b = arr(*shape, dtype=dtype, scale=2.0, shift=3.0), arr(C, dtype=dtype), arr(C, dtype=dtype)
    rm, rv = np.zeros(C, dtype), np.ones(C, dtype)
    rm_t, rv_t = pe.tensor(rm), pe.tensor(rv)
    y = F.batch_norm(pe.tensor(x), rm_t, rv_t, pe.tensor(w), pe.tensor(b), training=True, momentum=0.3, eps=1e-5)
    np.testing.assert_allclose(y.numpy(), bn_ref(x, w, b, 1e-5), **TOL[dtype])
    axes = (0,) + tuple(range(2, x.ndim))
    np.testing.assert_allclose(rm_t.numpy(), 0.3 * x.astype(np.float64).mean(axes), **TOL[dtype])
    np.testing.assert_allclose(rv_t.numpy(), 0.7 + 0.3 * x.astype(np.float64).var(axes, ddof=1), **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_eval_uses_running_stats(dtype):
    x, w, b = arr(6, 4, 3, dtype=dtype), arr(4, dtype=dtype), arr(4, dtype=dtype)
    rm, rv = arr(4, dtype=dtype), (np.abs(arr(4)) + 0.5).astype(dtype)
    y = F.batch_norm(pe.tensor(x), pe.tensor(rm), pe.tensor(rv), pe.tensor(w), pe.tensor(b), training=False)
    np.testing.assert_allclose(y.numpy(), bn_ref(x, w, b, 1e-5, rm.astype(np.float64), rv.astype(np.float64)),
                               **TOL[dtype])


def test_batch_norm_non_contiguous_and_large_mean():
    base = arr(6, 5, 8, 3, shift=1e4)  # a large mean: shifted sums keep the variance exact
    x = base.transpose(0, 1, 3, 2)[:, ::2]  # strided and transposed
    xt = pe.tensor(base).permute(0, 1, 3, 2)[:, ::2]
    assert not xt.is_contiguous()
    y = F.batch_norm(xt, None, None, training=True)
    np.testing.assert_allclose(y.numpy(), bn_ref(x, None, None, 1e-5), rtol=1e-8, atol=1e-8)


def test_batch_norm_updates_strided_running_stats_in_place():
    stats = pe.tensor(np.tile([0.0, 1.0], (3, 1)))  # column 0: running_mean, column 1: running_var
    rm, rv = stats[:, 0], stats[:, 1]               # stride-2 views into one buffer
    other = pe.zeros(3, 2, dtype="float64")
    rv_contig = pe.ones(3, dtype="float64")         # running stats with different strides
    x0 = arr(5, 3, 4)
    F.batch_norm(pe.tensor(x0), other[:, 1], rv_contig, training=True, momentum=1.0)
    np.testing.assert_allclose(other.numpy()[:, 1], x0.mean((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(rv_contig.numpy(), x0.var((0, 2), ddof=1), rtol=1e-12)
    x = arr(5, 3, 4)
    F.batch_norm(pe.tensor(x), rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(stats.numpy()[:, 0], 0.5 * x.mean((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(stats.numpy()[:, 1], 0.5 + 0.5 * x.var((0, 2), ddof=1), rtol=1e-12)


def test_batch_norm_empty_batch_in_eval():
    m = nn.BatchNorm2d(3).eval()
    assert m(pe.zeros(0, 3, 2, 2)).shape == (0, 3, 2, 2)


# ---------------------------------------------------------------- layer / group / RMS norm vs NumPy
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,k", [((3, 7), 1), ((2, 3, 5), 2), ((4, 1), 1), ((2, 2, 3, 4), 3), ((1, 130), 1)])
def test_layer_norm_matches_numpy(shape, k, dtype):
    x = arr(*shape, dtype=dtype, shift=5.0)
    w, b = arr(*shape[-k:], dtype=dtype), arr(*shape[-k:], dtype=dtype)
    y = F.layer_norm(pe.tensor(x), shape[-k:], pe.tensor(w), pe.tensor(b))
    np.testing.assert_allclose(y.numpy(), ln_ref(x, k, w, b, 1e-5), **TOL[dtype])
    y = F.layer_norm(pe.tensor(x), shape[-k:])
    np.testing.assert_allclose(y.numpy(), ln_ref(x, k, None, None, 1e-5), **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,G", [((2, 6, 5), 3), ((3, 4, 2, 2), 1), ((2, 5, 3, 1), 5), ((1, 4), 2), ((2, 7, 11), 7)])
def test_group_norm_matches_numpy(shape, G, dtype):
    x, w, b = arr(*shape, dtype=dtype, shift=-2.0), arr(shape[1], dtype=dtype), arr(shape[1], dtype=dtype)
    y = F.group_norm(pe.tensor(x), G, pe.tensor(w), pe.tensor(b), eps=1e-4)
    np.testing.assert_allclose(y.numpy(), gn_ref(x, G, w, b, 1e-4), **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,k", [((3, 7), 1), ((2, 3, 5), 2), ((5, 1), 1)])
def test_rms_norm_matches_numpy(shape, k, dtype):
    x, w = arr(*shape, dtype=dtype), arr(*shape[-k:], dtype=dtype)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(F.rms_norm(pe.tensor(x), shape[-k:], pe.tensor(w)).numpy(),
                               rms_ref(x, k, w, eps), **TOL[dtype])
    np.testing.assert_allclose(F.rms_norm(pe.tensor(x), shape[-k:], eps=0.1).numpy(), rms_ref(x, k, None, 0.1),
                               **TOL[dtype])


@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 5), Cg=st.integers(1, 4), G=st.integers(1, 3), S=st.integers(1, 40),
       dtype=st.sampled_from(["float32", "float64"]))
def test_group_norm_property_any_sizes(N, Cg, G, S, dtype):
    x = arr(N, Cg * G, S, dtype=dtype, scale=3.0, shift=-1.0)
    w, b = arr(Cg * G, dtype=dtype), arr(Cg * G, dtype=dtype)
    np.testing.assert_allclose(F.group_norm(pe.tensor(x), G, pe.tensor(w), pe.tensor(b)).numpy(),
                               gn_ref(x, G, w, b, 1e-5), rtol=1e-3 if dtype == "float32" else 1e-9,
                               atol=1e-4 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("fn,shape", [
    (lambda t, w: F.layer_norm(t, (5,), w, w), (0, 5)),
    (lambda t, w: F.group_norm(t, 5, w, w), (0, 5, 3)),
    (lambda t, w: F.rms_norm(t, (5,), w), (3, 0, 5)),
    (lambda t, w: F.batch_norm(t, None, None, w, w, training=True), (2, 5, 0)),
])
def test_empty_inputs_forward_and_backward(fn, shape):
    x, w = leaf(np.zeros(shape)), leaf(np.ones(5))
    y = fn(x, w)
    assert y.shape == shape
    y.sum().backward()
    assert x.grad.shape == shape and np.all(w.grad.numpy() == 0)


def test_per_sample_norms_on_strided_input():
    base = arr(5, 6, 4)
    x = base.transpose(0, 2, 1)  # (5, 4, 6), not contiguous
    xt = pe.tensor(base).permute(0, 2, 1)
    np.testing.assert_allclose(F.layer_norm(xt, (6,)).numpy(), ln_ref(x, 1, None, None, 1e-5), rtol=1e-10)
    np.testing.assert_allclose(F.group_norm(xt, 2).numpy(), gn_ref(x, 2, None, None, 1e-5), rtol=1e-10)
    np.testing.assert_allclose(F.rms_norm(xt, (6,), eps=1e-6).numpy(), rms_ref(x, 1, None, 1e-6), rtol=1e-10)


# ---------------------------------------------------------------- gradcheck (float64)
def _check_module(m, x):
    params = [p for p in m.parameters()]

    def fn(inp, *ps):
        return m(inp)

    assert gradcheck(fn, (x, *params), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"track_running_stats": False}, {"momentum": None}])
@pytest.mark.parametrize("train", [True, False])
def test_batch_norm2d_gradcheck(kwargs, train):
    m = nn.BatchNorm2d(3, **kwargs).double()
    if m.affine:
        m.weight.data = pe.tensor(arr(3) + 1.5)
        m.bias.data = pe.tensor(arr(3))
    if m.track_running_stats:
        m.running_mean.copy_(pe.tensor(arr(3)))
        m.running_var.copy_(pe.tensor(np.abs(arr(3)) + 0.5))
    m.train(train)
    _check_module(m, leaf(arr(3, 3, 2, 3)))


@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 5)])
def test_batch_norm1d_gradcheck(shape):
    m = nn.BatchNorm1d(shape[1]).double()
    m.weight.data = pe.tensor(arr(shape[1]) + 1.0)
    _check_module(m, leaf(arr(*shape)))


def test_batch_norm_gradcheck_input_only_and_weight_only():
    x, w, b = arr(4, 3, 2), arr(3), arr(3)
    assert gradcheck(lambda t: F.batch_norm(t, None, None, pe.tensor(w), pe.tensor(b), training=True), (leaf(x),))
    assert gradcheck(lambda ww: F.batch_norm(pe.tensor(x), None, None, ww, pe.tensor(b), training=True),
                     (leaf(w),))


@pytest.mark.parametrize("shape,ns,kwargs", [((3, 5), (5,), {}), ((2, 3, 4), (3, 4), {}),
                                               ((2, 2, 3), (3,), {"bias": False}),
                                               ((4, 3), (3,), {"elementwise_affine": False})])
def test_layer_norm_gradcheck(shape, ns, kwargs):
    m = nn.LayerNorm(ns, **kwargs).double()
    if m.weight is not None:
        m.weight.data = pe.tensor(arr(*ns) + 1.0)
    _check_module(m, leaf(arr(*shape)))


@pytest.mark.parametrize("G,C,affine", [(1, 4, True), (4, 4, True), (2, 6, True), (3, 6, False)])
def test_group_norm_gradcheck(G, C, affine):
    m = nn.GroupNorm(G, C, affine=affine).double()
    if affine:
        m.weight.data = pe.tensor(arr(C) + 1.0)
        m.bias.data = pe.tensor(arr(C))
    _check_module(m, leaf(arr(2, C, 3)))


@pytest.mark.parametrize("shape,ns,kwargs", [((3, 5), (5,), {}), ((2, 3, 4), (3, 4), {"eps": 1e-3}),
                                               ((4, 3), (3,), {"elementwise_affine": False})])
def test_rms_norm_gradcheck(shape, ns, kwargs):
    m = nn.RMSNorm(ns, **kwargs).double()
    if m.weight is not None:
        m.weight.data = pe.tensor(arr(*ns) + 1.0)
    _check_module(m, leaf(arr(*shape)))


# ---------------------------------------------------------------- modules: state, repr, no graph
def test_running_stats_not_in_graph_and_buffers_keep_identity():
    m = nn.BatchNorm1d(3)
    rm = m.running_mean
    y = m(pe.randn(4, 3, requires_grad=True))
    assert not m.running_mean.requires_grad and m.running_mean.grad_fn is None and m.running_mean is rm
    assert y.requires_grad
    m.reset_running_stats()
    assert m.num_batches_tracked.item() == 0 and np.all(m.running_var.numpy() == 1)


def test_momentum_none_is_cumulative_average():
    m = nn.BatchNorm1d(2, momentum=None)
    xs = [arr(5, 2, dtype="float32") for _ in range(3)]
    for x in xs:
        m(pe.tensor(x))
    np.testing.assert_allclose(m.running_mean.numpy(), np.mean([x.mean(0) for x in xs], 0), rtol=1e-5, atol=1e-6)
    assert m.num_batches_tracked.item() == 3


def test_track_running_stats_false_uses_batch_stats_in_eval():
    m = nn.BatchNorm2d(2, track_running_stats=False).eval()
    x = arr(3, 2, 2, 2, dtype="float32")
    np.testing.assert_allclose(m(pe.tensor(x)).detach().numpy(), bn_ref(x, None, None, 1e-5), rtol=1e-4, atol=1e-5)
    assert m.running_mean is None and list(m.state_dict()) == ["weight", "bias"]


# ---------------------------------------------------------------- thread-count independence
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_results_do_not_depend_on_thread_count(dtype):
    x, g = arr(16, 8, 16, 16, dtype=dtype), arr(16, 8, 16, 16, dtype=dtype)
    w = arr(8, dtype=dtype)

    def run():
        outs = []
        for fn in (lambda t, ww: F.batch_norm(t, None, None, ww, None, training=True),
                   # one channel: with 2 threads the planes are split (the other schedule)
                   lambda t, ww: F.batch_norm(t.reshape(-1, 1, 16, 16), None, None, ww[:1], None, training=True),
                   lambda t, ww: F.group_norm(t, 4, ww),
                   lambda t, ww: F.layer_norm(t.reshape(-1, 8), (8,), ww)):
            t, ww = leaf(x), leaf(w)
            y = fn(t, ww)
            y.backward(pe.tensor(g).reshape(*y.shape))
            outs += [y.detach().numpy(), t.grad.numpy(), ww.grad.numpy()]
        return outs

    old = pe.get_num_threads()
    try:
        pe.set_num_threads(1)
        one = run()
        pe.set_num_threads(2)
        two = run()
    finally:
        pe.set_num_threads(old)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(ValueError, match=r"expected 64 channels \(running_mean shape \(64,\)\), got input of shape "
                                         r"\(8, 32, 4, 4\)"):
        F.batch_norm(pe.zeros(8, 32, 4, 4), pe.zeros(64), pe.ones(64), training=True)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"\(1, 64\)"):
        nn.BatchNorm1d(64)(pe.zeros(1, 64))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(pe.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) does not match the input's 3 channels"):
        F.batch_norm(pe.zeros(2, 3), None, None, pe.ones(4), None, training=True)
    with pytest.raises(TypeError, match="running_mean dtype float64 does not match input dtype float32"):
        F.batch_norm(pe.zeros(2, 3), pe.zeros(3, dtype="float64"), pe.ones(3, dtype="float64"))
    with pytest.raises(ValueError, match=r"must not be broadcast \(stride-0\) views"):
        F.batch_norm(pe.zeros(2, 3), pe.zeros(1).expand(3), pe.ones(1).expand(3), training=True)
    with pytest.raises(ValueError, match="required in eval mode"):
        F.batch_norm(pe.zeros(2, 3), None, None, training=False)
    with pytest.raises(TypeError, match="expected a floating input"):
        F.batch_norm(pe.zeros(2, 3, dtype="int64"), None, None, training=True)
    with pytest.raises(ValueError, match=r"num_channels 10 is not divisible by num_groups 3"):
        F.group_norm(pe.zeros(2, 10, 3), 3)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(3, 10)
    with pytest.raises(ValueError, match=r"normalized_shape=\(5,\), expected input with shape \(\*, 5\), but got "
                                         r"input of shape \(2, 3\)"):
        F.layer_norm(pe.zeros(2, 3), (5,))
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) does not match normalized_shape \(3,\)"):
        F.rms_norm(pe.zeros(2, 3), (3,), pe.ones(4))
    with pytest.raises(TypeError, match="must be a Tensor"):
        F.layer_norm(np.zeros((2, 3)), (3,))


# ---------------------------------------------------------------- differential tests vs PyTorch
def _pair(pe_mod, torch_mod):
    """Give both modules the same random parameters."""
    import torch
    with torch.no_grad():
        for (name, p), (_, tp) in zip(pe_mod.named_parameters(), torch_mod.named_parameters()):
            v = arr(*p.shape, dtype=p.dtype.name) + (1.0 if name == "weight" else 0.0)
            p.data = pe.tensor(v)
            tp.copy_(torch.tensor(v))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,shape,kwargs", [
    ("BatchNorm2d", (4, 5, 3, 3), {}),
    ("BatchNorm2d", (4, 5, 3, 3), {"momentum": None}),
    ("BatchNorm2d", (3, 2, 4, 4), {"affine": False}),
    ("BatchNorm2d", (3, 2, 4, 4), {"bias": False}),
    ("BatchNorm1d", (6, 4), {"momentum": 0.5}),
    ("BatchNorm1d", (3, 4, 7), {"track_running_stats": False}),
    ("BatchNorm3d", (2, 3, 2, 3, 2), {}),
])
def test_batch_norm_vs_torch(name, shape, kwargs, dtype):
    torch = pytest.importorskip("torch")
    tdt = getattr(torch, dtype)
    m = getattr(nn, name)(shape[1], **kwargs).to(dtype=getattr(pe, dtype))
    t = getattr(torch.nn, name)(shape[1], **kwargs).to(tdt)
    _pair(m, t)
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
    for step in range(3):
        x, g = arr(*shape, dtype=dtype, scale=step + 1.0, shift=step), arr(*shape, dtype=dtype)
        xp, xt = leaf(x), torch.tensor(x, requires_grad=True)
        y, yt = m(xp), t(xt)
        y.backward(pe.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
        np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), **tol)
        for p, tp in zip(m.parameters(), t.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), **tol)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), **tol)
    m.eval(), t.eval()
    x = arr(*shape, dtype=dtype)
    np.testing.assert_allclose(m(pe.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("LayerNorm", ((6,),), {}, (3, 4, 6)),
    ("LayerNorm", ((4, 6),), {"bias": False}, (3, 4, 6)),
    ("LayerNorm", (6,), {"elementwise_affine": False, "eps": 1e-3}, (5, 6)),
    ("GroupNorm", (2, 6), {}, (3, 6, 5)),
    ("GroupNorm", (6, 6), {"affine": False}, (2, 6, 2, 2)),
    ("GroupNorm", (3, 6), {"bias": False}, (2, 6, 4)),
    ("GroupNorm", (1, 4), {"eps": 1e-3}, (2, 4, 3, 3)),
    ("RMSNorm", ((6,),), {}, (3, 4, 6)),
    ("RMSNorm", ((4, 6),), {"eps": 1e-4}, (3, 4, 6)),
])
def test_per_sample_norms_vs_torch(name, args, kwargs, shape, dtype):
    torch = pytest.importorskip("torch")
    m = getattr(nn, name)(*args, **kwargs).to(dtype=getattr(pe, dtype))
    t = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    _pair(m, t)
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
    x, g = arr(*shape, dtype=dtype, shift=1.0), arr(*shape, dtype=dtype)
    xp, xt = leaf(x), torch.tensor(x, requires_grad=True)
    y, yt = m(xp), t(xt)
    y.backward(pe.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), **tol)
    for p, tp in zip(m.parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), **tol)


# ---------------------------------------------------------------- channel dropout
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout2d_zeroes_whole_channels_with_inverted_scaling(p):
    pe.manual_seed(1)
    m = nn.Dropout2d(p)
    x = leaf(np.full((40, 50, 3, 2), 2.0, dtype="float32"))
    y = m(x)
    a = y.detach().numpy().reshape(40, 50, -1)
    assert np.all(a == a[:, :, :1])                      # one decision per (sample, channel)
    assert set(np.unique(a)) <= {0.0, np.float32(2.0 / (1 - p))}
    assert abs((a[:, :, 0] == 0).mean() - p) < 0.03      # 2000 channels: 3 standard deviations
    y.backward(pe.ones(*y.shape))
    np.testing.assert_array_equal(x.grad.numpy(), a.reshape(y.shape) / 2.0)
    m.eval()
    xe = pe.ones(2, 3, 4, 4)
    assert m(xe) is xe


def test_dropout1d_dropout3d_shapes_and_errors():
    pe.manual_seed(2)
    y = nn.Dropout1d(0.5)(pe.ones(30, 5)).numpy()  # unbatched (C, L): one draw per row
    assert np.all(y == y[:, :1]) and set(np.unique(y)) <= {0.0, 2.0}
    y = nn.Dropout3d(0.5)(pe.ones(2, 30, 2, 2, 2)).numpy().reshape(2, 30, -1)
    assert np.all(y == y[:, :, :1])
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(pe.ones(1, 2, 3, 4))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout2d(1.5)
    with pytest.warns(UserWarning, match="interpreted as shape \\(N, C, L\\)"):
        y = F.dropout2d(pe.ones(20, 10, 4), 0.5).numpy()
    assert np.all(y == y[:, :, :1])
    assert np.all(F.dropout2d(pe.ones(2, 3, 2, 2), 1.0).numpy() == 0)
    x = pe.ones(4, 6, 2, 2)
    out = F.dropout2d(x, 0.5, inplace=True)
    assert out is x and set(np.unique(x.numpy())) <= {0.0, 2.0}


# ---------------------------------------------------------------- double backward (create_graph)
@pytest.mark.parametrize("make,shape", [
    (lambda: nn.BatchNorm2d(3), (3, 3, 2, 2)),
    (lambda: nn.BatchNorm1d(3).eval(), (4, 3)),
    (lambda: nn.BatchNorm1d(2, affine=False), (5, 2)),
    (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
    (lambda: nn.LayerNorm((2, 3)), (2, 2, 3)),
    (lambda: nn.LayerNorm(3, bias=False), (3,)),
    (lambda: nn.RMSNorm(4), (3, 4)),
])
def test_double_backward(make, shape):
    from pyengine.autograd import gradgradcheck
    m = make().double()
    for name, p in m.named_parameters():
        p.data = pe.tensor(arr(*p.shape) + (1.0 if name == "weight" else 0.0))
    if getattr(m, "running_var", None) is not None:
        m.running_mean.copy_(pe.tensor(arr(shape[1])))
        m.running_var.copy_(pe.tensor(np.abs(arr(shape[1])) + 0.5))
    params = list(m.parameters())
    assert gradgradcheck(lambda inp, *ps: m(inp), (leaf(arr(*shape)), *params), atol=1e-4, rtol=1e-3)


def test_backward_kernels_validate_their_arguments():
    C = pe._C
    x = pe.randn(4, 3, 2)._impl
    out, mean, invstd = C.batch_norm_forward(x, None, None, None, None, None, True, 0.1, 1e-5)
    with pytest.raises(ValueError, match=r"gradient shape \(4, 3\) does not match input shape \(4, 3, 2\)"):
        C.batch_norm_backward(pe.randn(4, 3)._impl, x, None, mean, invstd)
    with pytest.raises(TypeError, match="gradient dtype float64 does not match input dtype float32"):
        C.batch_norm_backward(pe.randn(4, 3, 2, dtype="float64")._impl, x, None, mean, invstd)
    with pytest.raises(ValueError, match=r"save_mean must be contiguous with 3 elements, got shape \(2,\)"):
        C.batch_norm_backward(out, x, None, pe.zeros(2)._impl, invstd)
    _, m, r = C.group_norm_forward(x, 3, None, None, 1e-5)
    with pytest.raises(ValueError, match="mean must be contiguous with 4 elements"):
        C.group_norm_backward(out, x, m, r, 1, None)
    _, m, r = C.layer_norm_forward(x, [2], None, None, 1e-5)
    with pytest.raises(ValueError, match=r"given normalized_shape=\(3,\)"):
        C.layer_norm_backward(out, x, [3], m, r, None)
    with pytest.raises(ValueError, match="num_groups must be positive, got 0"):
        C.group_norm_forward(x, 0, None, None, 1e-5)
