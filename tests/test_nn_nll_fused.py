"""The fused nll_loss node for (N, C) input without class weights: double backward, dtypes,
no-grad, the NaN of an all-ignored batch and the target checks (the torch comparisons and
gradchecks of every reduction / ignore_index live in test_nn_losses.py)."""
import math

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from pyengine.autograd import gradgradcheck
from pyengine.nn._loss_fns import NllLossFn

rng = np.random.default_rng(7)


def _logits(n, c, dtype=pe.float64):
    return pe.tensor(rng.standard_normal((n, c)), dtype=dtype, requires_grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ignore", [-100, 1])
def test_double_backward_through_the_fused_node(reduction, ignore):
    target = pe.tensor([1, 0, 3, 1, 2])
    assert gradgradcheck(lambda a: F.cross_entropy(a, target, ignore_index=ignore, reduction=reduction),
                         (_logits(5, 4),))
    assert gradgradcheck(lambda a: F.nll_loss(a * a, target, ignore_index=ignore, reduction=reduction),
                         (_logits(5, 4),))


def test_the_fused_node_is_what_records_and_matches_the_mean_formula():
    x = _logits(6, 3)
    target = np.array([0, 2, 2, 1, 0, 2])
    loss = F.nll_loss(x, pe.tensor(target), ignore_index=2)
    assert isinstance(loss.grad_fn, NllLossFn) and loss.grad_fn.name() == "NllLossBackward"
    kept = target != 2
    expect = -x.detach().numpy()[np.arange(6), target][kept].mean()
    assert math.isclose(loss.item(), expect, rel_tol=1e-12)
    loss.backward()
    g = np.zeros((6, 3))
    g[np.arange(6)[kept], target[kept]] = -1.0 / kept.sum()
    np.testing.assert_allclose(x.grad.numpy(), g)


def test_float32_and_no_grad():
    x = _logits(4, 5, pe.float32)
    target = pe.tensor([4, 0, 1, 1])
    loss = F.cross_entropy(x, target, reduction="sum")
    assert loss.dtype == pe.float32 and loss.shape == ()
    with pe.no_grad():
        again = F.cross_entropy(x, target, reduction="sum")
    assert again.grad_fn is None and math.isclose(again.item(), loss.item(), rel_tol=1e-6)


def test_all_ignored_is_nan_with_zero_gradient():
    x = _logits(3, 4)
    loss = F.nll_loss(x, pe.tensor([2, 2, 2]), ignore_index=2)
    assert math.isnan(loss.item())
    loss.backward()
    assert np.all(x.grad.numpy() == 0.0)


@pytest.mark.parametrize("bad", [-1, 4])
def test_out_of_range_targets_are_named(bad):
    with pytest.raises(IndexError, match=f"target {bad} is out of bounds for 4 classes"):
        F.nll_loss(_logits(3, 4), pe.tensor([0, bad, 1]))


def test_negative_ignore_index_in_the_targets_is_allowed():
    x = _logits(3, 4)
    loss = F.nll_loss(x, pe.tensor([-5, 3, 1]), ignore_index=-5)
    expect = -(x.detach().numpy()[1, 3] + x.detach().numpy()[2, 1]) / 2
    assert math.isclose(loss.item(), expect, rel_tol=1e-12)
