"""Autograd engine: worked example, accumulation, long chains, retain_graph, hooks, grad modes,
version counter, autograd.grad, custom Functions."""
import math

import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import Function


def leaf(values, dtype=pe.float64):
    return pe.tensor(values, dtype=dtype, requires_grad=True)


def test_worked_example_from_the_seeds():
    x1, x2 = leaf(3.0), leaf(2.0)
    f = pe.log(x1 + x2) - x2 ** 2
    f.backward()
    assert f.item() == pytest.approx(math.log(5) - 4)
    assert x1.grad.item() == pytest.approx(0.2)
    assert x2.grad.item() == pytest.approx(-3.8)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_same_leaf_used_twice_in_one_graph():
    x = leaf(2.0)
    y = x * x + x
    y.backward()
    assert x.grad.item() == pytest.approx(5.0)


def test_grads_of_two_leaves_do_not_alias():
    x, y = leaf([1.0]), leaf([1.0])
    (x + y).sum().backward()
    x.grad.mul_(10)
    assert y.grad.item() == 1.0


def test_chain_of_100000_ops_is_iterative():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert x.grad.item() == 1.0
    assert y.item() == 100_001.0


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_on_non_scalar_needs_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    y.backward(pe.tensor([1.0, 10.0], dtype=pe.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        pe.tensor([1.0]).sum().backward()


def test_hook_can_replace_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])


def test_leaf_hook_and_handle_remove():
    x = leaf([1.0])
    handle = x.register_hook(lambda g: g * 3)
    (x * 1).sum().backward()
    assert x.grad.item() == 3.0
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.item() == 1.0


def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    assert y.retains_grad and not y.is_leaf


def test_non_leaf_grad_is_not_kept_by_default():
    x = leaf([1.0])
    y = x * 3
    y.sum().backward()
    assert y.grad is None


def test_no_grad_context_and_decorator():
    x = leaf([1.0])
    with pe.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @pe.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert pe.is_grad_enabled()

    @pe.no_grad
    def bare(t):
        return t * 2

    assert not bare(x).requires_grad and bare.__name__ == "bare"


def test_enable_grad_inside_no_grad_and_set_grad_enabled():
    x = leaf([1.0])
    with pe.no_grad():
        with pe.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with pe.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert pe.is_grad_enabled()
    pe.set_grad_enabled(False)
    assert not pe.is_grad_enabled()
    pe.set_grad_enabled(True)

    @pe.set_grad_enabled(False)
    def g(t):
        return t * 2

    assert not g(x).requires_grad and pe.is_grad_enabled()


def test_inplace_modification_of_saved_tensor_raises():
    x = leaf([1.0, 2.0])
    y = x * 1
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*version 1; expected version 0"):
        z.sum().backward()


def test_inplace_on_unsaved_tensor_is_fine():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.add_(1)  # add saves nothing
    y.mul_(3)  # scalar mul needs nothing saved
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_inplace_on_leaf_requiring_grad_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 2.0
    with pe.no_grad():
        x.add_(1)  # allowed: e.g. an optimizer step
    assert x.item() == 2.0


def test_setitem_records_graph():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf(10.0)
    y = x * 1
    y[1] = v * 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 1.0])
    assert v.grad.item() == 2.0


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        pe.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        pe.tensor([True]).requires_grad_()


def test_requires_grad_only_settable_on_leaves():
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_autograd_grad_returns_without_accumulating():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    z = (x * y).sum()
    gx, gy = pe.autograd.grad(z, [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gy.numpy(), [1.0, 2.0])
    assert x.grad is None and y.grad is None


def test_autograd_grad_with_respect_to_non_leaf_and_unused():
    x, w = leaf([1.0, 2.0]), leaf([5.0])
    h = x * 2
    z = (h * h).sum()
    (gh,) = pe.autograd.grad(z, h, retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="not have been used"):
        pe.autograd.grad(z, [x, w], retain_graph=True)
    gx, gw = pe.autograd.grad(z, [x, w], allow_unused=True)
    assert gw is None
    np.testing.assert_allclose(gx.numpy(), [8.0, 16.0])


def test_create_graph_gives_second_derivatives():
    x = leaf(2.0)
    y = x ** 3
    (g,) = pe.autograd.grad(y, x, create_graph=True)
    assert g.item() == pytest.approx(12.0)
    (g2,) = pe.autograd.grad(g, x)
    assert g2.item() == pytest.approx(12.0)


def test_backward_create_graph_then_backward_of_grad():
    x = leaf([1.0, 2.0])
    y = (x.sin() * x).sum()
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    xs = np.array([1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xs) - xs * np.sin(xs))


def test_mixed_dtype_gradient_is_cast_to_leaf_dtype():
    x = leaf([1.0, 2.0], dtype=pe.float32)
    y = leaf([3.0, 4.0], dtype=pe.float64)
    (x * y).sum().backward()
    assert x.grad.dtype == pe.float32 and y.grad.dtype == pe.float64
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_detach_and_data_cut_the_graph():
    x = leaf([1.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    assert not x.data.requires_grad
    assert x.detach()._impl.data_ptr == x._impl.data_ptr


def test_multi_output_function_with_unused_output():
    x = leaf([[1.0, 5.0], [7.0, 2.0]])
    values, indices = x.max(dim=1)
    values.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1], [1, 0]])
    assert indices.tolist() == [1, 0]


def test_custom_function():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * x * scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return g * 3 * x * x * ctx.scale, None

    x = leaf([2.0])
    y = Cube.apply(x, 2.0)
    assert y.grad_fn is not None and y.item() == 16.0
    y.backward()
    assert x.grad.item() == 24.0


def test_grad_fn_names_and_is_leaf():
    x = leaf([1.0])
    y = x + 1
    assert x.is_leaf and not y.is_leaf
    assert "Add" in y.grad_fn.name()
    assert "grad_fn=<AddBackward>" in repr(y)


def test_backward_with_inputs_argument():
    x, y = leaf([1.0]), leaf([2.0])
    (x * y).sum().backward(inputs=[x])
    assert x.grad.item() == 2.0 and y.grad is None


def test_inplace_on_view_of_graph_tensor_raises_instead_of_wrong_grads():
    x = leaf([1.0, 2.0])
    y = x * 1
    with pytest.raises(RuntimeError, match="view"):
        y.view(2, 1).mul_(2)
    with pytest.raises(RuntimeError, match="view"):
        y.view(2, 1)[0] = 5.0
    with pe.no_grad():
        y[0].mul_(2)  # fine without a graph


@pytest.mark.parametrize("op", [
    lambda a, b: a @ b.to(a.dtype), lambda a, b: pe.cat([a, b]), lambda a, b: pe.where(a > 0, a, b),
    lambda a, b: a * b[0, 0], lambda a, b: a.sum(dtype=pe.float64) + b.sum(), lambda a, b: a - b,
])
def test_gradient_dtype_matches_each_inputs_dtype(op):
    a = pe.ones(2, 2, requires_grad=True)
    b = pe.ones(2, 2, dtype=pe.float64, requires_grad=True)
    a_seen, b_seen = [], []
    a.register_hook(lambda g: a_seen.append(g.dtype))
    b.register_hook(lambda g: b_seen.append(g.dtype))
    op(a, b).sum().backward()
    assert a.grad.dtype is pe.float32 and b.grad.dtype is pe.float64
    assert a_seen == [pe.float32] and b_seen == [pe.float64]


def test_backward_frees_the_graph_behind_a_live_output():
    import gc
    import weakref
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    inner = weakref.ref(y.grad_fn._next[0][0])  # the MulBackward node (holds saved tensors)
    gc.collect()
    assert inner() is not None
    y.backward()
    assert inner() is None  # released by backward while y and its grad_fn are still alive
    assert y.grad_fn is not None


def test_inplace_through_indexing_views_is_recorded_on_the_base():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    y[1:] *= 10          # view write: y.__getitem__, __imul__ on the view, y.__setitem__
    v = y[0]
    v.add_(x[2])         # in-place on a view, operand requiring grad
    y.sum().backward()   # y = [x0 + x2, 10 x1, 10 x2]
    assert y.tolist() == [4.0, 20.0, 30.0]
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 10.0, 11.0])


def test_view_of_view_write_and_view_of_leaf():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 2
    y[1][0] = 0.0        # view of a view: routed to the root base
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 2.0], [0.0, 2.0]])
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0].mul_(2)


def test_gradcheck_detects_a_wrong_backward():
    class BadSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = leaf([0.5, -1.5])
    assert pe.autograd.gradcheck(lambda t: t * t, (x,))
    assert not pe.autograd.gradcheck(BadSquare.apply, (x,), raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        pe.autograd.gradcheck(BadSquare.apply, (x,), 1e-6, 1e-5, 1e-3)
    with pytest.raises(ValueError, match="float64"):
        pe.autograd.gradcheck(lambda t: t * t, (pe.ones(2, requires_grad=True),))


def test_grad_mode_is_per_thread():
    import threading
    seen = []
    with pe.no_grad():
        t = threading.Thread(target=lambda: seen.append(pe.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_graphs_form_no_reference_cycles():
    """Memory must come back by reference counting alone (no waiting for the cycle collector)."""
    import gc
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    gc.collect()
    gc.disable()
    try:
        for i in range(10):
            y = x.exp().sigmoid() * x
            y.retain_grad()
            z = y.max(dim=1).values.sum() + y[:, [1, 0]].sum() + pe.cat([y, y]).split(1)[0].sum()
            h = y.clone()
            h[0] *= 2
            if i % 2:
                (z + h.sum()).backward()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_leaf_keeps_one_accumulate_node_and_no_reference_cycle():
    import gc
    import weakref
    w = pe.ones(3, requires_grad=True)
    y1, y2 = w * 2.0, w + 1.0
    assert y1.grad_fn._next[0][0] is y2.grad_fn._next[0][0]  # the same AccumulateGrad node
    node = y1.grad_fn._next[0][0]
    assert node.variable is w
    gc.disable()
    try:
        ref = weakref.ref(w)
        del w, y1, y2
        assert ref() is None  # freed by reference counting alone: the node holds the leaf weakly
    finally:
        gc.enable()
    assert node.variable is None


def test_backward_after_the_leaf_is_gone_is_a_no_op_for_it():
    w = pe.ones(3, requires_grad=True)
    v = pe.ones(3, requires_grad=True)
    loss = (w * v).sum()
    del w
    loss.backward()
    assert v.grad.tolist() == [1.0, 1.0, 1.0]
