"""gradcheck (float64, central differences) for every differentiable op."""
import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def leaf(*shape, low=-1.0, high=1.0):
    return pe.tensor(rng.uniform(low, high, size=shape), dtype=pe.float64, requires_grad=True)


def positive(*shape):
    return leaf(*shape, low=0.5, high=2.0)


def check(fn, *inputs):
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


UNARY = {
    "neg": (pe.neg, leaf), "abs": (pe.abs, leaf), "exp": (pe.exp, leaf), "log": (pe.log, positive),
    "log1p": (pe.log1p, positive), "expm1": (pe.expm1, leaf), "sqrt": (pe.sqrt, positive),
    "rsqrt": (pe.rsqrt, positive), "sin": (pe.sin, leaf), "cos": (pe.cos, leaf), "tanh": (pe.tanh, leaf),
    "sigmoid": (pe.sigmoid, leaf), "relu": (pe.relu, leaf), "erf": (pe.erf, leaf),
    "reciprocal": (pe.reciprocal, positive), "square": (pe.square, leaf),
    "floor": (pe.floor, leaf), "sign": (pe.sign, leaf),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    fn, make = UNARY[name]
    check(fn, make(3, 4))


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "sin", "log", "sqrt"])
def test_unary_second_order(name):
    fn, make = UNARY[name]
    assert gradgradcheck(fn, (make(5),))


BINARY = {"add": pe.add, "sub": pe.sub, "mul": pe.mul, "div": pe.div, "maximum": pe.maximum,
          "minimum": pe.minimum}
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 2))]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_broadcasting(name, shapes):
    sa, sb = shapes
    b = positive(*sb) if name == "div" else leaf(*sb)
    check(BINARY[name], leaf(*sa), b)


def test_pow_tensor_tensor_and_scalars():
    check(pe.pow, positive(3, 2), leaf(2))
    check(lambda x: x ** 3, leaf(4))
    check(lambda x: x ** 0.5, positive(4))
    check(lambda x: 2.0 ** x, leaf(4))


def test_binary_with_python_scalars_on_both_sides():
    check(lambda x: 3.0 - x, leaf(3))
    check(lambda x: 2.0 / x, positive(3))
    check(lambda x: x / 4 + 1, leaf(3))


def test_mul_second_order():
    assert gradgradcheck(lambda a, b: a * b * a, (leaf(3), leaf(3)))


def test_where_and_masked_fill():
    cond = pe.tensor(rng.uniform(size=(3, 4)) > 0.5)
    check(lambda a, b: pe.where(cond, a, b), leaf(3, 4), leaf(4))
    check(lambda a: pe.where(cond, a, 0.0), leaf(3, 4))
    check(lambda a: a.masked_fill(cond, 2.0), leaf(3, 4))
    check(lambda a: a.masked_fill(pe.tensor([True, False, True, False]), -1.0), leaf(3, 4))


def test_clamp():
    x = pe.tensor([-2.0, -0.5, 0.3, 0.9, 3.0], dtype=pe.float64, requires_grad=True)
    check(lambda t: t.clamp(-1.0, 1.0), x)
    check(lambda t: t.clamp(min=0.0), x)
    check(lambda t: pe.clip(t, max=0.5), x)


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin", "logsumexp", "var", "std"])
def test_reductions(op, dim, keepdim):
    x = leaf(3, 4, 2) if op != "prod" else positive(3, 4, 2)
    if op == "logsumexp" and dim is None:
        dim = (0, 1, 2)
    if op in ("amax", "amin"):
        fn = lambda t: getattr(t, op)(dim=() if dim is None else dim, keepdim=keepdim)
    else:
        fn = lambda t: getattr(t, op)(dim=dim, keepdim=keepdim)
    check(fn, x)


def test_prod_with_zeros():
    check(lambda t: t.prod(dim=1), pe.tensor([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, 0.5]],
                                              dtype=pe.float64, requires_grad=True))


def test_var_std_corrections():
    x = leaf(4, 5)
    check(lambda t: t.var(dim=1, correction=0), x)
    check(lambda t: t.std(dim=0, unbiased=False), x)
    check(lambda t: t.var(), x)


def test_max_min_with_dim_and_without():
    x = leaf(3, 5)
    check(lambda t: t.max(dim=1).values, x)
    check(lambda t: t.min(dim=0, keepdim=True)[0], x)
    check(lambda t: t.max(), x)
    check(lambda t: pe.min(t), x)


def test_max_ties_share_gradient_evenly():
    x = pe.tensor([1.0, 3.0, 3.0], dtype=pe.float64, requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


@pytest.mark.parametrize("p", [2, 1, float("inf"), 3, 0.5])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True)])
def test_norm(p, dim, keepdim):
    x = leaf(3, 4)
    check(lambda t: t.norm(p=p, dim=dim, keepdim=keepdim), x)


@pytest.mark.parametrize("sa,sb", [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)),
                                   ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)),
                                   ((2, 3, 4), (4,))], ids=str)
def test_matmul(sa, sb):
    check(pe.matmul, leaf(*sa), leaf(*sb))


def test_mm_bmm_dot():
    check(pe.mm, leaf(2, 3), leaf(3, 4))
    check(pe.bmm, leaf(2, 2, 3), leaf(2, 3, 2))
    check(pe.dot, leaf(5), leaf(5))
    assert gradgradcheck(pe.matmul, (leaf(2, 3), leaf(3, 2)))


def test_views():
    x = leaf(2, 3, 4)
    check(lambda t: t.reshape(6, 4), x)
    check(lambda t: t.view(4, -1), x)
    check(lambda t: t.permute(2, 0, 1), x)
    check(lambda t: t.transpose(0, 2), x)
    check(lambda t: t.T, leaf(3, 4))
    check(lambda t: t.mT, x)
    check(lambda t: t.unsqueeze(1).squeeze(), x)
    check(lambda t: t.flatten(1), x)
    check(lambda t: t.unsqueeze(0).expand(3, 2, 3, 4), x)
    check(lambda t: t.expand_as(pe.zeros(5, 3, 4)), leaf(1, 4))
    check(lambda t: t.broadcast_to((2, 3)), leaf(3))
    check(lambda t: t.permute(1, 0).contiguous().view(-1), leaf(3, 4))
    check(lambda t: t.clone() * 2, x)
    check(lambda t: t.to(pe.float64), x)


def test_basic_indexing():
    x = leaf(4, 5, 3)
    check(lambda t: t[1], x)
    check(lambda t: t[1:3, ::2], x)
    check(lambda t: t[..., 1], x)
    check(lambda t: t[None, 2, :, None, 1:], x)
    check(lambda t: t[-1, -2], x)
    check(lambda t: t.narrow(1, 1, 3), x)
    check(lambda t: t.select(2, 0), x)


def test_advanced_indexing_with_duplicates():
    x = leaf(5, 4, 3)
    idx = pe.tensor([0, 2, 2, -1])
    check(lambda t: t[idx], x)
    check(lambda t: t[[1, 1, 3]], x)
    check(lambda t: t[:, [3, 0, 3]], x)
    check(lambda t: t[[0, 4], :, [2, 2]], x)  # separated advanced indices go first
    check(lambda t: t[[[0, 1], [2, 2]], [[1, 1], [0, 3]]], x)
    check(lambda t: t[1:, [0, 0, 2], 1:], x)


def test_bool_mask_indexing():
    x = leaf(3, 4)
    mask = pe.tensor(rng.uniform(size=(3, 4)) > 0.4)
    check(lambda t: t[mask], x)
    check(lambda t: t[pe.tensor([True, False, True])], x)
    check(lambda t: t[:, pe.tensor([False, True, True, False])], x)


def test_setitem_gradients():
    def fn(x, v):
        y = x * 1
        y[1:3, 0] = v
        y[[0, 0], [2, 3]] = v.sum()
        return y

    check(fn, leaf(4, 4), leaf(2))


def test_cat_stack_split_chunk():
    a, b, c = leaf(2, 3), leaf(4, 3), leaf(2, 3)
    check(lambda x, y: pe.cat([x, y], dim=0), a, b)
    check(lambda x, y: pe.cat([x, y.T.T[:2]], dim=1), a, c)
    check(lambda x, y: pe.stack([x, y], dim=1), a, c)
    check(lambda x: pe.split(x, 2, dim=0)[1], b)
    check(lambda x: pe.split(x, [1, 3], dim=0)[1], b)
    check(lambda x: x.chunk(3, dim=1)[2], b)
    check(lambda x: sum(part.sum() * (i + 1) for i, part in enumerate(x.unbind(0))), a)


def test_gather_scatter_add_index_select():
    x = leaf(3, 4)
    index = pe.tensor([[0, 1, 1, 3], [2, 2, 0, 0], [3, 3, 3, 3]])
    check(lambda t: t.gather(1, index), x)
    check(lambda t: t.gather(0, pe.tensor([[0, 1, 2, 0], [2, 2, 2, 2]])), x)
    src = leaf(3, 4)
    check(lambda t, s: t.scatter_add(1, index, s), x, src)
    check(lambda t: t.index_select(1, pe.tensor([3, 0, 3])), x)
    check(lambda t: t.index_select(0, pe.tensor([2, 2, 0])), x)


def test_tril_triu():
    x = leaf(4, 4)
    check(lambda t: t.tril(), x)
    check(lambda t: t.triu(1), x)
    check(lambda t: pe.tril(t, -1), leaf(2, 3, 3))


def test_composite_expression():
    def mlp(x, w1, w2):
        h = (x @ w1).relu()
        return (h @ w2).sigmoid().log().mean()

    check(mlp, leaf(4, 3), leaf(3, 5), leaf(5, 2))


def test_float32_mixed_with_float64_gradient_dtype():
    x32 = pe.tensor([1.0, 2.0], requires_grad=True)
    y64 = leaf(2)
    (x32 * y64).sum().backward()
    assert x32.grad.dtype == pe.float32


def test_repeat():
    check(lambda t: t.repeat(2, 3), leaf(2, 3))
    check(lambda t: t.repeat(2, 1, 2), leaf(3))
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(pe.tensor(a).repeat(2, 1, 3).numpy(), np.tile(a, (2, 1, 3)))
    assert pe.Tensor([1, 2]).dtype is pe.float32


@pytest.mark.parametrize("name,fn", [
    ("var", lambda t: t.var(dim=1)), ("std", lambda t: t.std()), ("logsumexp", lambda t: t.logsumexp(dim=0)),
    ("norm", lambda t: t.norm(dim=1)), ("prod", lambda t: t.prod(dim=1)), ("mean", lambda t: (t * t).mean(0)),
    ("index", lambda t: t[[0, 2, 2]] * t[1]), ("gather", lambda t: t.gather(1, pe.tensor([[1], [0], [1]])) ** 2),
    ("div", lambda t: t / (t * t + 1.0)), ("pow", lambda t: (t * t + 1.0) ** t), ("setitem", lambda t: _set(t)),
    ("amax", lambda t: t.amax(dim=1) * t.sum()), ("cat", lambda t: pe.cat([t, t * t], dim=1).exp()),
])
def test_second_order(name, fn):
    assert gradgradcheck(fn, (leaf(3, 2),), atol=1e-4)


def _set(t):
    y = t * t
    y[0] = t[1] * 3.0
    return y
