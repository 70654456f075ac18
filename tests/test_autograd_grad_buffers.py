"""How backward fills .grad: a gradient no one else can see becomes .grad as it is (no copy);
anything shared, user-held, a view or NumPy-backed is copied; later backwards add in place."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import _C
from pyengine.autograd import Function


@pytest.fixture
def clone_count(monkeypatch):
    """Counts _C.clone calls (the copy backward makes when it cannot adopt a gradient)."""
    calls = []
    real = _C.clone

    def counting(t):
        calls.append(1)
        return real(t)
    monkeypatch.setattr(_C, "clone", counting)
    return calls


def test_fresh_gradients_are_adopted_without_a_copy(clone_count):
    x = pe.ones(3, requires_grad=True)
    (x * 3.0).sum().backward()
    m = pe.nn.Linear(4, 2)
    m(pe.ones(5, 4)).sum().backward()
    assert clone_count == []
    assert x.grad.tolist() == [3.0, 3.0, 3.0]
    assert x.grad._impl.sole_dense_owner()


def test_one_gradient_for_two_leaves_is_copied_for_each():
    a, b = pe.ones(3, requires_grad=True), pe.ones(3, requires_grad=True)
    (a + b).sum().backward()
    assert a.grad._impl.data_ptr != b.grad._impl.data_ptr
    a.grad.add_(1.0)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_user_gradient_given_to_a_leaf_is_copied():
    x = pe.ones(3, requires_grad=True)
    w = pe.tensor([1.0, 2.0, 3.0])
    x.backward(w)
    w.add_(10.0)
    assert x.grad.tolist() == [1.0, 2.0, 3.0]


def test_gradient_kept_by_a_hook_is_copied():
    x = pe.ones(3, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g))
    (x * 2.0).sum().backward()
    (x * 2.0).sum().backward()  # adds into x.grad in place: the hook's tensor must not change
    assert x.grad.tolist() == [4.0, 4.0, 4.0]
    assert seen[0].tolist() == [2.0, 2.0, 2.0]


class _Returns(Function):
    """backward returns whatever `make()` gives (a view, a NumPy-backed tensor, ...)."""

    @staticmethod
    def forward(ctx, x, make):
        ctx.make = make
        return _C.clone(x._impl)

    @staticmethod
    def backward(ctx, g):
        return ctx.make(), None


def test_broadcast_view_gradient_becomes_a_dense_grad():
    x = pe.zeros(4, requires_grad=True)
    _Returns.apply(x, lambda: pe.tensor(2.0).expand(4)).sum().backward()
    assert x.grad.is_contiguous() and x.grad.stride() == (1,)
    _Returns.apply(x, lambda: pe.tensor(1.0).expand(4)).sum().backward()
    assert x.grad.tolist() == [3.0] * 4


def test_numpy_backed_gradient_is_copied():
    arr = np.array([1.0, 2.0], dtype=np.float32)
    x = pe.zeros(2, requires_grad=True)
    _Returns.apply(x, lambda: pe.from_numpy(arr)).sum().backward()
    arr[:] = 7.0
    assert x.grad.tolist() == [1.0, 2.0]


def test_later_backwards_accumulate_into_the_same_grad_tensor():
    x = pe.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    g = x.grad
    (x * x).sum().backward()
    assert x.grad is g and g.tolist() == [4.0, 8.0]


def test_create_graph_accumulation_stays_differentiable():
    x = pe.tensor([1.0, 2.0], dtype=pe.float64, requires_grad=True)
    (x * x * x).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    gx = x.grad
    x.grad = None
    gx.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_float64_leaf_gets_a_float32_gradient_cast():
    class To32(Function):
        @staticmethod
        def forward(ctx, x):
            return _C.clone(x._impl)

        @staticmethod
        def backward(ctx, g):
            return g.float()
    x = pe.ones(2, dtype=pe.float64, requires_grad=True)
    To32.apply(x).sum().backward()
    assert x.grad.dtype == pe.float64 and x.grad.tolist() == [1.0, 1.0]


def test_sole_dense_owner_rejects_views_and_shared_storage():
    t = pe.ones(6)
    assert t._impl.sole_dense_owner()
    v = t[1:3]
    assert not v._impl.sole_dense_owner() and not t._impl.sole_dense_owner()
    assert not pe.from_numpy(np.ones(3, dtype=np.float32))._impl.sole_dense_owner()
    assert pe.empty(0)._impl.sole_dense_owner()
