"""Differential tests: the same inputs through pyengine and PyTorch CPU, forward and backward."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import pyengine as pe  # noqa: E402

rng = np.random.default_rng(1)

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "bool": torch.bool}


def pair(shape, dtype="float32", low=-2.0, high=2.0, grad=True):
    a = rng.uniform(low, high, size=shape).astype(dtype)
    return (pe.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def assert_close(p, t, rtol=1e-5, atol=1e-6):
    assert p.dtype.name == str(t.dtype).replace("torch.", ""), (p.dtype, t.dtype)
    assert tuple(p.shape) == tuple(t.shape)
    np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def run_both(fn_pe, fn_torch, inputs, rtol=1e-5, atol=1e-6):
    """Forward on both; backward of sum(out * w) with the same random w; compare grads."""
    outs_p = fn_pe(*[p for p, _ in inputs])
    outs_t = fn_torch(*[t for _, t in inputs])
    outs_p = outs_p if isinstance(outs_p, tuple) else (outs_p,)
    outs_t = outs_t if isinstance(outs_t, tuple) else (outs_t,)
    loss_p = loss_t = None
    for op, ot in zip(outs_p, outs_t):
        assert_close(op, ot, rtol, atol)
        if ot.requires_grad:
            w = rng.uniform(-1, 1, size=tuple(ot.shape)).astype(str(ot.dtype).replace("torch.", ""))
            lp, lt = (op * pe.tensor(w)).sum(), (ot * torch.tensor(w)).sum()
            loss_p = lp if loss_p is None else loss_p + lp
            loss_t = lt if loss_t is None else loss_t + lt
    if loss_t is None:
        return
    loss_p.backward()
    loss_t.backward()
    for p, t in inputs:
        if t.requires_grad:
            assert (p.grad is None) == (t.grad is None)
            if t.grad is not None:
                assert_close(p.grad, t.grad, rtol, atol)


UNARY = ["neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
         "erf", "sign", "floor", "ceil", "round", "reciprocal", "square"]
POSITIVE = {"log", "log1p", "sqrt", "rsqrt", "reciprocal"}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary(name, dtype):
    low = 0.3 if name in POSITIVE else -2.0
    x = pair((4, 5), dtype, low=low)
    run_both(getattr(pe, name), getattr(torch, name), [x])


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((4,), ()), ((), (2, 3))], ids=str)
def test_binary_broadcast(name, sa, sb):
    a = pair(sa, low=0.5 if name == "pow" else -2.0)
    b = pair(sb, low=0.5 if name == "div" else -2.0)
    run_both(getattr(pe, name), getattr(torch, name), [a, b])


@pytest.mark.parametrize("da,db", [("float32", "float64"), ("int64", "float32"), ("bool", "int64"),
                                   ("int64", "float64"), ("bool", "float32")])
@pytest.mark.parametrize("name", ["add", "mul", "sub", "div", "maximum"])
def test_type_promotion_tensor_tensor(name, da, db):
    if name == "sub" and "bool" in (da, db):
        pytest.skip("PyTorch rejects subtraction of bool tensors")
    a = rng.uniform(-3, 3, size=(3,)).round().astype(da)
    b = rng.uniform(1, 3, size=(3,)).round().astype(db)
    out_p = getattr(pe, name)(pe.tensor(a), pe.tensor(b))
    out_t = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert_close(out_p, out_t)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("scalar", [2, 2.5, True])
@pytest.mark.parametrize("name", ["add", "mul", "div"])
def test_type_promotion_with_scalars_and_0d(name, dtype, scalar):
    a = rng.uniform(0, 3, size=(3,)).round().astype(dtype)
    assert_close(getattr(pe, name)(pe.tensor(a), scalar), getattr(torch, name)(torch.tensor(a), scalar))
    zero_d = np.array(scalar)
    zp, zt = pe.tensor(zero_d), torch.tensor(zero_d)
    assert_close(getattr(pe, name)(pe.tensor(a), zp), getattr(torch, name)(torch.tensor(a), zt))


def test_mixed_precision_grads():
    a, b = pair((3,), "float32"), pair((3,), "float64")
    run_both(lambda x, y: x * y + y.exp(), lambda x, y: x * y + y.exp(), [a, b])


@pytest.mark.parametrize("op,kwargs", [
    ("sum", {}), ("sum", {"dim": 1}), ("sum", {"dim": (0, 2), "keepdim": True}), ("mean", {"dim": -1}),
    ("prod", {"dim": 1}), ("amax", {"dim": 1}), ("amin", {"dim": (0, 1)}), ("logsumexp", {"dim": 2}),
    ("var", {"dim": 1}), ("var", {"dim": 0, "correction": 0}), ("std", {"dim": 2, "keepdim": True}),
    ("std", {}), ("norm", {}), ("norm", {"p": 1, "dim": 1}), ("norm", {"p": float("inf"), "dim": 0}),
    ("norm", {"p": 3, "dim": 2, "keepdim": True}), ("max", {}), ("min", {}),
])
def test_reductions(op, kwargs):
    x = pair((3, 4, 5), "float64")
    run_both(lambda t: getattr(t, op)(**kwargs), lambda t: getattr(t, op)(**kwargs), [x])


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_with_dim(op):
    x = pair((4, 6), "float64")
    run_both(lambda t: tuple(getattr(t, op)(dim=1)), lambda t: tuple(getattr(t, op)(dim=1)), [x])
    run_both(lambda t: getattr(t, op)(0, True).values, lambda t: getattr(t, op)(0, True).values, [x])


def test_argmax_all_any():
    a = rng.uniform(size=(4, 5))
    p, t = pe.tensor(a), torch.tensor(a)
    assert_close(p.argmax(dim=1), t.argmax(dim=1))
    assert_close(p.argmin(), t.argmin())
    assert_close((p > 0.5).all(dim=0), (t > 0.5).all(dim=0))
    assert_close((p > 0.5).any(), (t > 0.5).any())


@pytest.mark.parametrize("sa,sb", [((5,), (5,)), ((3, 5), (5,)), ((5,), (5, 2)), ((3, 5), (5, 2)),
                                   ((4, 3, 5), (5, 2)), ((2, 1, 3, 5), (4, 5, 2))], ids=str)
def test_matmul(sa, sb):
    run_both(pe.matmul, torch.matmul, [pair(sa, "float64"), pair(sb, "float64")])


def test_views_and_movement():
    x = pair((2, 3, 4), "float64")
    for fp, ft in [(lambda t: t.reshape(4, 6), None), (lambda t: t.permute(2, 0, 1), None),
                   (lambda t: t.transpose(0, 2).contiguous().view(-1), None), (lambda t: t.unsqueeze(1), None),
                   (lambda t: t[:, :1].squeeze(1), None), (lambda t: t.flatten(0, 1), None),
                   (lambda t: t[:1].expand(5, 3, 4), None), (lambda t: t.mT, None)]:
        run_both(fp, fp, [x])


@pytest.mark.parametrize("key", [(1,), (slice(None), 2), (Ellipsis, slice(1, 3)), ([0, 1, 1],),
                                 (slice(None), [2, 0, 2]), ([1, 0], slice(None), [3, 3]), ([[0], [1]], [2, 2]),
                                 (0, slice(None), [1, 2]), (slice(None), [0, 2], [1, 3])], ids=str)
def test_getitem(key):
    x = pair((2, 3, 4), "float64")
    run_both(lambda t: t[key], lambda t: t[key], [x])


def test_getitem_bool_mask():
    x = pair((3, 4), "float64")
    m = rng.uniform(size=(3, 4)) > 0.5
    run_both(lambda t: t[pe.tensor(m)], lambda t: t[torch.tensor(m)], [x])


def test_setitem_autograd():
    def fn(lib):
        def f(x, v):
            y = x * 2
            y[1, [0, 2]] = v
            y[:, 3] = 0.0
            return y
        return f
    run_both(fn(pe), fn(torch), [pair((3, 4), "float64"), pair((2,), "float64")])


def test_cat_stack_split():
    a, b = pair((2, 3), "float64"), pair((4, 3), "float64")
    run_both(lambda x, y: pe.cat([x, y]), lambda x, y: torch.cat([x, y]), [a, b])
    run_both(lambda x, y: pe.stack([x, y[:2]], 2), lambda x, y: torch.stack([x, y[:2]], 2), [a, b])
    run_both(lambda x: tuple(x.split([1, 3])), lambda x: tuple(x.split([1, 3])), [b])
    run_both(lambda x: tuple(x.chunk(2, 1)), lambda x: tuple(x.chunk(2, 1)), [b])


def test_gather_scatter_index_select():
    x, src = pair((3, 4), "float64"), pair((3, 4), "float64")
    idx = rng.integers(0, 4, size=(3, 4))
    ip, it = pe.tensor(idx), torch.tensor(idx)
    run_both(lambda t: t.gather(1, ip), lambda t: t.gather(1, it), [x])
    run_both(lambda t, s: t.scatter_add(1, ip, s), lambda t, s: t.scatter_add(1, it, s), [x, src])
    sel = np.array([2, 0, 2])
    run_both(lambda t: t.index_select(1, pe.tensor(sel)), lambda t: t.index_select(1, torch.tensor(sel)), [x])


def test_where_clamp_masked_fill_tril():
    x, y = pair((3, 4), "float64"), pair((4,), "float64")
    c = rng.uniform(size=(3, 4)) > 0.5
    cp, ct = pe.tensor(c), torch.tensor(c)
    run_both(lambda a, b: pe.where(cp, a, b), lambda a, b: torch.where(ct, a, b), [x, y])
    run_both(lambda a: a.clamp(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), [x])
    run_both(lambda a: a.masked_fill(cp, 3.0), lambda a: a.masked_fill(ct, 3.0), [x])
    run_both(lambda a: a.tril(1), lambda a: a.tril(1), [x])
    run_both(lambda a: a.triu(-1), lambda a: a.triu(-1), [x])


def test_one_hot_arange_linspace_eye():
    idx = np.array([0, 3, 1])
    assert_close(pe.one_hot(pe.tensor(idx), 5), torch.nn.functional.one_hot(torch.tensor(idx), 5))
    assert_close(pe.arange(2, 11, 3), torch.arange(2, 11, 3))
    assert_close(pe.arange(0.0, 1.0, 0.1), torch.arange(0.0, 1.0, 0.1))
    assert_close(pe.linspace(-1, 1, 7), torch.linspace(-1, 1, 7))
    assert_close(pe.eye(3, 4), torch.eye(3, 4))


def test_training_step_matches():
    x, w, b = pair((8, 5), "float64", grad=False), pair((5, 3), "float64"), pair((3,), "float64")
    target = rng.integers(0, 3, size=8)

    def loss(lib, tgt):
        def f(x, w, b):
            logits = (x @ w + b).tanh()
            logp = logits - logits.logsumexp(dim=1, keepdim=True)
            return -logp.gather(1, tgt.unsqueeze(1)).mean()
        return f
    run_both(loss(pe, pe.tensor(target)), loss(torch, torch.tensor(target)), [x, w, b])


def test_repr_matches_torch_for_simple_cases():
    for data in ([1.0, 2.0], [0.5, 1.25], [[1, 2], [3, 4]], [True, False]):
        assert repr(pe.tensor(data)) == repr(torch.tensor(data))


def test_inplace_ops_and_writes_through_views():
    def fn(x, w):
        y = x * 1
        y[1:] *= 2
        y[0].add_(w.sum())
        y[:, 1].mul_(w[0])
        y.clamp_(-1.5, 1.5)
        y.sub_(w, alpha=0.5)
        return y.exp_()
    run_both(fn, fn, [pair((3, 4), "float64"), pair((4,), "float64")])


@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_floordiv_and_mod(dtype):
    a = np.array([-7, 7, 5, -2], dtype=dtype)
    for divisor in (3, -2):
        assert_close(pe.tensor(a) // divisor, torch.tensor(a) // divisor)
        assert_close(pe.tensor(a) % divisor, torch.tensor(a) % divisor)
