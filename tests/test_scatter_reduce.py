"""The message-passing primitives of the index family: scatter/scatter_, scatter_reduce(_),
index_add(_) and index_put_(accumulate=True): values and gradients against torch, gradcheck in
float64, bad input, and parity of the CUDA kernels (emulated GPU) with the CPU ones."""
import warnings

import numpy as np
import pytest

import pyengine as pe
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")

REDUCES = ["sum", "prod", "mean", "amax", "amin"]


def _pe(a, device="cpu", grad=False):
    return pe.tensor(np.asarray(a), device=device, requires_grad=grad)


def _np(t):
    return t.detach().cpu().numpy()


def _case(rng, xshape, ishape, dim, dtype=np.float64, ties=False, extra=1):
    """x, index, src for a scatter along dim; src is `extra` larger than index along the other
    dims (those elements are never read; torch's backward refuses them, so gradient tests use 0)."""
    sshape = tuple(n + (extra if d != dim else 0) for d, n in enumerate(ishape))
    if dtype == np.int64:
        x = rng.integers(-9, 10, xshape)
        src = rng.integers(-9, 10, sshape)
    elif ties:  # few distinct values: ties between src values and with x
        x = rng.integers(-2, 3, xshape).astype(dtype)
        src = rng.integers(-2, 3, sshape).astype(dtype)
    else:
        x = rng.standard_normal(xshape).astype(dtype)
        src = rng.standard_normal(sshape).astype(dtype)
    index = rng.integers(0, xshape[dim], ishape)  # duplicates likely
    return x, index, src


def _torch_reduce(x, dim, index, src, reduce, include_self, grad_out=None):
    xt = torch.tensor(x, requires_grad=grad_out is not None)
    st = torch.tensor(src, requires_grad=grad_out is not None)
    out = xt.scatter_reduce(dim, torch.tensor(index), st, reduce, include_self=include_self)
    if grad_out is None:
        return out.numpy(), None, None
    (out * torch.tensor(grad_out)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), st.grad.numpy()


# ---------------------------------------------------------------- scatter_reduce values
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_reduce_values_match_torch(reduce, include_self, dtype, dim):
    rng = np.random.default_rng(hash((reduce, include_self, dim)) % 2**32)
    d = dim % 3
    ishape = [4, 6, 2]
    ishape[d] = 8  # longer than x along dim: duplicates
    x, index, src = _case(rng, (5, 7, 3), tuple(ishape), d, dtype)
    want, _, _ = _torch_reduce(x, dim, index, src, reduce, include_self)
    got = pe.scatter_reduce(_pe(x), dim, _pe(index), _pe(src), reduce, include_self=include_self)
    assert got.dtype == _pe(x).dtype
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)


def test_integer_mean_floor_divides_like_torch():
    x = np.array([-7, 7, -1, 0, 5])
    src = np.array([-2, 3, -4, 1, 2, 2])
    index = np.array([0, 0, 1, 2, 4, 4])
    for include_self in (True, False):
        want, _, _ = _torch_reduce(x, 0, index, src, "mean", include_self)
        got = pe.scatter_reduce(_pe(x), 0, _pe(index), _pe(src), "mean", include_self=include_self)
        np.testing.assert_array_equal(_np(got), want)


def test_nan_propagates_through_amax_amin():
    x = np.array([1.0, 2.0, np.nan])
    src = np.array([np.nan, 5.0, 0.0, 3.0])
    index = np.array([0, 1, 2, 0])
    for reduce in ("amax", "amin"):
        want, _, _ = _torch_reduce(x, 0, index, src, reduce, True)
        got = pe.scatter_reduce(_pe(x), 0, _pe(index), _pe(src), reduce)
        np.testing.assert_array_equal(_np(got), want)


@pytest.mark.parametrize("reduce", REDUCES)
def test_empty_index_leaves_self(reduce):
    x = np.arange(6.0).reshape(2, 3)
    got = pe.scatter_reduce(_pe(x), 0, _pe(np.zeros((0, 3), np.int64)), _pe(np.ones((1, 3))), reduce,
                            include_self=False)
    np.testing.assert_array_equal(_np(got), x)


@pytest.mark.parametrize("reduce", REDUCES)
def test_non_contiguous_operands(reduce):
    rng = np.random.default_rng(3)
    xb = rng.standard_normal((6, 5))
    sb = rng.standard_normal((5, 8))
    ib = rng.integers(0, 5, (4, 10))
    x, src, index = _pe(xb).t(), _pe(sb)[:, ::2], _pe(ib)[:, ::3]  # (5, 6), (5, 4), (4, 4)
    assert not x.is_contiguous() and not src.is_contiguous() and not index.is_contiguous()
    want, _, _ = _torch_reduce(xb.T.copy(), 1, ib[:, ::3].copy(), sb[:, ::2].copy(), reduce, False)
    got = x.scatter_reduce(1, index, src, reduce, include_self=False)
    np.testing.assert_allclose(_np(got), want, rtol=1e-12)


def test_in_place_scatter_reduce_():
    x = pe.tensor([1.0, 2.0, 3.0])
    r = x.scatter_reduce_(0, pe.tensor([0, 0, 2]), pe.tensor([5.0, -1.0, 0.5]), "amin", include_self=False)
    assert r is x
    np.testing.assert_array_equal(_np(x), [-1.0, 2.0, 0.5])


@pytest.mark.parametrize("reduce", REDUCES)
def test_expanded_index_message_passing(device, reduce):
    """Graph aggregation as written with PyTorch: messages of the edges reduced into their
    destination nodes through dst.unsqueeze(1).expand(E, F) (a stride-0 index, read in place)."""
    rng = np.random.default_rng(21)
    dst, msg = rng.integers(0, 5, 13), rng.standard_normal((13, 3))
    x = rng.standard_normal((6, 3))
    idx = _pe(dst, device).unsqueeze(1).expand(13, 3)
    want = torch.tensor(x).scatter_reduce(0, torch.tensor(dst).unsqueeze(1).expand(13, 3), torch.tensor(msg), reduce,
                                          include_self=False).numpy()
    got = pe.scatter_reduce(_pe(x, device), 0, idx, _pe(msg, device), reduce, include_self=False)
    np.testing.assert_allclose(_np(got), want, rtol=1e-12)
    np.testing.assert_allclose(_np(pe.gather(_pe(x, device), 0, idx)), x[dst], rtol=0)
    bad = _pe(np.array([0, 6, 1]), device).unsqueeze(1).expand(3, 3)
    with pytest.raises(IndexError, match="index 6 is out of bounds for dimension 0 with size 6"):
        pe.scatter_reduce(_pe(x, device), 0, bad, _pe(msg, device), reduce)


# ---------------------------------------------------------------- scatter_reduce gradients
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_grads_match_torch(reduce, include_self):
    rng = np.random.default_rng(11)
    x, index, src = _case(rng, (4, 5), (6, 4), 0, np.float64, ties=reduce in ("amax", "amin"), extra=0)
    if reduce == "prod":  # zeros in x and src, one and two per target position
        x[0, 0] = 0.0
        src[0, 1] = 0.0
        src[1, 2] = src[2, 2] = 0.0
        index[1, 2] = index[2, 2]
    g = rng.standard_normal(x.shape)
    want, gx_t, gs_t = _torch_reduce(x, 0, index, src, reduce, include_self, grad_out=g)
    xp, sp = _pe(x, grad=True), _pe(src, grad=True)
    out = pe.scatter_reduce(xp, 0, _pe(index), sp, reduce, include_self=include_self)
    (out * _pe(g)).sum().backward()
    np.testing.assert_allclose(_np(out), want, rtol=1e-12)
    np.testing.assert_allclose(_np(xp.grad), gx_t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(sp.grad), gs_t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck(reduce, include_self):
    rng = np.random.default_rng(5)
    index = _pe(np.array([[0, 2, 1], [2, 2, 0], [0, 1, 1]]))
    x = rng.uniform(0.5, 2.0, (3, 3))  # distinct, away from 0: no ties, smooth products
    src = rng.uniform(0.5, 2.0, (3, 4))
    fn = lambda a, b: pe.scatter_reduce(a, 0, index, b, reduce, include_self=include_self)  # noqa: E731
    assert gradcheck_on("cpu", fn, x, src)


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_gradgradcheck(reduce):
    index = _pe(np.array([[0, 2, 1], [2, 2, 0]]))
    x = pe.tensor(np.array([[0.6, 1.4, 0.9], [1.8, 0.7, 1.2], [1.1, 1.6, 0.5]]), requires_grad=True)
    src = pe.tensor(np.array([[1.3, 0.8, 1.7], [0.55, 1.9, 1.05]]), requires_grad=True)
    fn = lambda a, b: pe.scatter_reduce(a, 0, index, b, reduce, include_self=True)  # noqa: E731
    assert pe.autograd.gradgradcheck(fn, [x, src])


def test_modifying_a_saved_input_in_place_is_detected():
    x = pe.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    out = pe.scatter_reduce(y, 0, pe.tensor([0, 0]), pe.tensor([3.0, 4.0]), "amax")
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_linear_ops_gradgradcheck():
    index = _pe(np.array([2, 0, 2]))
    x, s = pe.tensor(np.ones((3, 2)), requires_grad=True), pe.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    assert pe.autograd.gradgradcheck(lambda a, b: (a.index_add(0, index, b, alpha=2.0) ** 2), [x, s])
    assert pe.autograd.gradgradcheck(lambda a, b: pe.index_put(a, (index,), b, accumulate=True) ** 2, [x, s])
    sidx = _pe(np.array([[2, 0], [1, 1]]))
    assert pe.autograd.gradgradcheck(lambda a, b: pe.scatter(a, 0, sidx, b) ** 2, [x, s])


def test_src_larger_than_index_gets_zero_gradient_outside():
    s = pe.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    out = pe.scatter_reduce(pe.zeros(2, 3), 0, pe.tensor([[1, 0]]), s, "sum")
    (out * pe.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(_np(s.grad), [[4.0, 2.0, 0.0], [0.0, 0.0, 0.0]])


def test_in_place_scatter_reduce_is_recorded():
    x0 = pe.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = pe.tensor([4.0, 0.5], requires_grad=True)
    y = x0 * 1.0
    y.scatter_reduce_(0, pe.tensor([0, 2]), s, "amax")
    y.sum().backward()
    np.testing.assert_array_equal(_np(x0.grad), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(_np(s.grad), [1.0, 0.0])


# ---------------------------------------------------------------- scatter / scatter_
def test_scatter_src_and_value_match_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5))
    index = np.array([[0, 1, 2, 3, 0], [1, 2, 3, 0, 1]])  # no duplicates along dim 0 within a column
    src = rng.standard_normal((3, 6))
    want = torch.tensor(x).scatter(0, torch.tensor(index), torch.tensor(src)).numpy()
    np.testing.assert_array_equal(_np(pe.scatter(_pe(x), 0, _pe(index), _pe(src))), want)
    want = torch.tensor(x).scatter(0, torch.tensor(index), 2.5).numpy()
    np.testing.assert_array_equal(_np(_pe(x).scatter(0, _pe(index), value=2.5)), want)
    for reduce in ("add", "multiply"):
        with warnings.catch_warnings():  # torch warns once per process that this is deprecated
            warnings.simplefilter("ignore")
            want = torch.tensor(x).scatter_(0, torch.tensor(index), torch.tensor(src), reduce=reduce).numpy()
        with pytest.warns(UserWarning, match="reduce argument of scatter with Tensor src is deprecated"):
            got = _pe(x).scatter_(0, _pe(index), _pe(src), reduce=reduce)
        np.testing.assert_allclose(_np(got), want, rtol=1e-12)
        want = torch.tensor(x).scatter_(0, torch.tensor(index), 3.0, reduce=reduce).numpy()
        np.testing.assert_allclose(_np(_pe(x).scatter_(0, _pe(index), 3.0, reduce=reduce)), want, rtol=1e-12)


def test_scatter_grads_match_torch():
    rng = np.random.default_rng(4)
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    index = np.array([[2, 0, 1, 1], [0, 1, 2, 0]])
    g = rng.standard_normal((3, 4))
    xt, st = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
    (xt.scatter(0, torch.tensor(index), st) * torch.tensor(g)).sum().backward()
    xp, sp = _pe(x, grad=True), _pe(src, grad=True)
    (xp.scatter(0, _pe(index), sp) * _pe(g)).sum().backward()
    np.testing.assert_array_equal(_np(xp.grad), xt.grad.numpy())
    np.testing.assert_array_equal(_np(sp.grad), st.grad.numpy())
    assert gradcheck_on("cpu", lambda a, b: pe.scatter(a, 0, _pe(index), b), x, src)


def test_scatter_with_reduce_is_not_differentiable():
    x = pe.tensor([1.0, 2.0], requires_grad=True)
    y = pe.scatter(x, 0, pe.tensor([0]), value=3.0, reduce="add")
    with pytest.raises(NotImplementedError, match="scatter with reduce"):
        y.sum().backward()


# ---------------------------------------------------------------- index_add
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_add_matches_torch(dtype, dim):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((4, 5, 3)) * 5).astype(dtype)
    d = dim % 3
    index = rng.integers(0, x.shape[d], 7)
    sshape = list(x.shape)
    sshape[d] = 7
    source = (rng.standard_normal(sshape) * 5).astype(dtype)
    alpha = 3 if dtype == np.int64 else 0.5
    want = torch.tensor(x).index_add(dim, torch.tensor(index), torch.tensor(source), alpha=alpha).numpy()
    got = pe.index_add(_pe(x), dim, _pe(index), _pe(source), alpha=alpha)
    np.testing.assert_allclose(_np(got), want, rtol=1e-6)
    y = _pe(x)
    assert y.index_add_(dim, _pe(index), _pe(source)) is y
    want = torch.tensor(x).index_add_(dim, torch.tensor(index), torch.tensor(source)).numpy()
    np.testing.assert_allclose(_np(y), want, rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.5, 1.7, -1.7, 2])
def test_index_add_integer_alpha_truncates_like_torch(alpha):
    src = np.array([3, -5])
    for dtype in (np.int64, np.bool_):
        x = np.array([1, 0, 0]).astype(dtype)
        s = src.astype(dtype)
        want = torch.tensor(x).index_add(0, torch.tensor([0, 2]), torch.tensor(s), alpha=alpha).numpy()
        got = pe.index_add(_pe(x), 0, _pe(np.array([0, 2])), _pe(s), alpha=alpha)
        np.testing.assert_array_equal(_np(got), want)


def test_index_add_non_contiguous_and_grads():
    rng = np.random.default_rng(8)
    xb, sb = rng.standard_normal((5, 6)), rng.standard_normal((5, 8))
    index = np.array([0, 4, 4, 1, 0, 0, 2, 3])[::2]
    x, source = _pe(xb, grad=True), _pe(sb, grad=True)
    out = x.t().index_add(0, _pe(index), source[:, ::2].t(), alpha=2.0)  # (6, 5) += 4 rows
    g = rng.standard_normal((6, 5))
    (out * _pe(g)).sum().backward()
    xt, st = torch.tensor(xb, requires_grad=True), torch.tensor(sb, requires_grad=True)
    want = xt.t().index_add(0, torch.tensor(index), st[:, ::2].t(), alpha=2.0)
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(_np(out), want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(x.grad), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(source.grad), st.grad.numpy(), rtol=1e-12)
    assert gradcheck_on("cpu", lambda a, b: a.index_add(1, _pe(index), b, alpha=-1.5),
                        rng.standard_normal((3, 5)), rng.standard_normal((3, 4)))


def test_index_add_in_place_is_recorded():
    w = pe.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = pe.zeros(3, 2)
    h.index_add_(0, pe.tensor([2, 0]), w)
    (h * pe.tensor([[1.0, 1.0], [0.0, 0.0], [2.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(_np(w.grad), [[2.0, 3.0], [1.0, 1.0]])


# ---------------------------------------------------------------- index_put_(accumulate=True)
def test_index_put_accumulate_values_and_grads_match_torch():
    rng = np.random.default_rng(9)
    x, v = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    rows = np.array([0, 3, 0, -1, 2])
    g = rng.standard_normal((4, 3))
    xt, vt = torch.tensor(x, requires_grad=True), torch.tensor(v, requires_grad=True)
    ot = xt.index_put((torch.tensor(rows),), vt, accumulate=True)
    (ot * torch.tensor(g)).sum().backward()
    xp, vp = _pe(x, grad=True), _pe(v, grad=True)
    y = xp * 1.0
    y.index_put_((_pe(rows),), vp, accumulate=True)
    (y * _pe(g)).sum().backward()
    np.testing.assert_allclose(_np(y), ot.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(xp.grad), xt.grad.numpy())
    np.testing.assert_allclose(_np(vp.grad), vt.grad.numpy())


def test_index_put_accumulate_broadcast_values_gradcheck():
    rows, cols = _pe(np.array([1, 1, 0])), _pe(np.array([2, 2, 2]))
    assert gradcheck_on("cpu", lambda a, b: pe.index_put(a, (rows, cols), b, accumulate=True),
                        np.arange(9.0).reshape(3, 3), np.array([0.5]))


# ---------------------------------------------------------------- bad input
def test_index_out_of_range_names_index_and_size():
    x = pe.zeros(3, 4)
    with pytest.raises(IndexError, match=r"index 5 is out of bounds for dimension 0 with size 3"):
        x.scatter_reduce(0, pe.tensor([[0, 5]]), pe.ones(1, 2), "sum")
    with pytest.raises(IndexError, match=r"index -1 is out of bounds for dimension 1 with size 4"):
        x.scatter_(1, pe.tensor([[-1]]), 1.0)
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for dimension 0 with size 3"):
        x.index_add(0, pe.tensor([3]), pe.ones(1, 4))
    with pytest.raises(IndexError, match=r"index 7 is out of bounds for dimension 0 with size 3"):
        x.index_put_((pe.tensor([7]),), pe.ones(4), accumulate=True)
    np.testing.assert_array_equal(_np(x), np.zeros((3, 4)))  # nothing written


def test_bad_arguments():
    x = pe.zeros(3, 4)
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax or amin, got max"):
        x.scatter_reduce(0, pe.tensor([[0]]), pe.ones(1, 1), "max")
    with pytest.raises(TypeError, match="int64"):
        x.scatter_reduce(0, pe.tensor([[0.0]]), pe.ones(1, 1), "sum")
    with pytest.raises(TypeError, match="float64"):
        x.scatter_reduce(0, pe.tensor([[0]]), pe.ones(1, 1, dtype=pe.float64), "sum")
    with pytest.raises(ValueError, match=r"index shape \(1, 5\)"):
        x.scatter_reduce(0, pe.tensor([[0] * 5]), pe.ones(1, 5), "sum")
    with pytest.raises(RuntimeError, match=r"number of indices \(2\) should be equal to source.size\(dim\) \(1\)"):
        x.index_add(0, pe.tensor([0, 1]), pe.ones(1, 4))
    with pytest.raises(RuntimeError, match=r"source tensor shape must match .* source.shape = \(1, 3\)"):
        x.index_add(0, pe.tensor([0]), pe.ones(1, 3))
    with pytest.raises(RuntimeError, match=r"source tensor shape must match .* source.shape = \(\)"):
        pe.zeros(1).index_add(0, pe.tensor(0), pe.tensor(5.0))
    with pytest.raises(IndexError, match=r"index should be 0-d or 1-d, got shape \(1, 1\)"):
        x.index_add(0, pe.tensor([[0]]), pe.ones(1, 4))
    with pytest.raises(NotImplementedError, match="mean"):
        pe.zeros(3, dtype=pe.bool).scatter_reduce(0, pe.tensor([0]), pe.ones(1, dtype=pe.bool), "mean")
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        x.scatter_(0, pe.tensor([[0]]), 1.0, reduce="mean")


# ---------------------------------------------------------------- devices
@pytest.mark.parametrize("reduce", REDUCES)
def test_device_parity_scatter_reduce(device, reduce):
    rng = np.random.default_rng(13)
    for dtype in (np.float32, np.int64):
        x, index, src = _case(rng, (3, 4), (5, 3), 0, dtype)
        for include_self in (True, False):
            want, _, _ = _torch_reduce(x, 0, index, src, reduce, include_self)
            got = pe.scatter_reduce(_pe(x, device), 0, _pe(index, device), _pe(src, device), reduce,
                                    include_self=include_self)
            assert got.device.type == pe.device(device).type
            np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduce", ["sum", "mean", "prod", "amax"])
def test_device_gradcheck_scatter_reduce(device, reduce):
    index = _pe(np.array([[1, 0], [1, 1], [0, 1]]), device)
    x = np.array([[0.7, 1.3], [1.9, 0.6]])
    src = np.array([[1.1, 0.9], [1.5, 1.7], [0.8, 1.2]])
    assert gradcheck_on(device, lambda a, b: pe.scatter_reduce(a, 0, index, b, reduce, include_self=False), x, src)


def test_device_index_add_scatter_index_put(device):
    rng = np.random.default_rng(14)
    x, s = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    index = np.array([3, 0, 3, 1, 3, 0])
    want = torch.tensor(x).index_add(0, torch.tensor(index), torch.tensor(s)).numpy()
    np.testing.assert_allclose(_np(pe.index_add(_pe(x, device), 0, _pe(index, device), _pe(s, device))), want,
                               rtol=1e-12)
    want = torch.tensor(x).index_put((torch.tensor(index),), torch.tensor(s), accumulate=True).numpy()
    np.testing.assert_allclose(_np(_pe(x, device).index_put_((_pe(index, device),), _pe(s, device),
                                                             accumulate=True)), want, rtol=1e-12)
    assert gradcheck_on(device, lambda a, b: a.index_add(0, _pe(index, device), b), x, s)
    sidx = np.array([[2, 0, 1]])
    want = torch.tensor(x).scatter(0, torch.tensor(sidx), torch.tensor(s)).numpy()
    np.testing.assert_array_equal(_np(pe.scatter(_pe(x, device), 0, _pe(sidx, device), _pe(s, device))), want)
    want = torch.tensor(x).scatter_(1, torch.tensor(sidx), 4.0, reduce="multiply").numpy()
    np.testing.assert_array_equal(_np(_pe(x, device).scatter_(1, _pe(sidx, device), 4.0, reduce="multiply")), want)
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        pe.index_add(_pe(x, device), 0, _pe(np.array([4]), device), _pe(s[:1], device))
