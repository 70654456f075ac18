"""Losses: gradcheck in float64 for every option that changes the code path, PyTorch's values
and gradients for every reduction / weight / ignore_index / label_smoothing / target kind, and
the error paths."""
import itertools

import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.autograd import gradcheck
from pyengine.nn import functional as F

rng = np.random.default_rng(0)
REDUCTIONS = ["none", "mean", "sum"]


def t64(*shape, grad=True, scale=1.0):
    return pe.tensor(rng.standard_normal(shape) * scale, dtype=pe.float64, requires_grad=grad)


def idx(*shape, high=4, ignore=None):
    a = rng.integers(0, high, size=shape)
    if ignore is not None and a.size:
        a.reshape(-1)[::3] = ignore
    return pe.tensor(a, dtype=pe.int64)


def probs(*shape):
    a = rng.uniform(0.05, 0.95, size=shape)
    return pe.tensor(a, dtype=pe.float64, requires_grad=True)


# ---------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_gradcheck(reduction):
    x, y = t64(3, 4), t64(3, 4)
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), (x, y))
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction=reduction), (x, y))
    assert gradcheck(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=0.7), (x, y))
    assert gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.5), (x, y))


CE_CASES = list(itertools.product(REDUCTIONS, [False, True], [None, 1], [0.0, 0.2], [(5, 4), (3, 4, 2), (4,)]))


@pytest.mark.parametrize("reduction,weighted,ignore,smoothing,shape", CE_CASES)
def test_cross_entropy_class_index_gradcheck(reduction, weighted, ignore, smoothing, shape):
    x = t64(*shape)
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = idx(*tshape, ignore=ignore) if tshape else pe.tensor(2)
    w = pe.tensor(rng.uniform(0.5, 2.0, 4), dtype=pe.float64, requires_grad=True) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=-100 if ignore is None else ignore)
    if weighted:
        assert gradcheck(lambda a, w: F.cross_entropy(a, target, weight=w, **kw), (x, w))
    else:
        assert gradcheck(lambda a: F.cross_entropy(a, target, **kw), (x,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_target_gradcheck(reduction, weighted, smoothing):
    x = t64(3, 4, 2)
    target = F.softmax(t64(3, 4, 2), 1).detach().requires_grad_()
    w = pe.tensor(rng.uniform(0.5, 2.0, 4), dtype=pe.float64) if weighted else None
    assert gradcheck(lambda a, t: F.cross_entropy(a, t, weight=w, reduction=reduction,
                                                  label_smoothing=smoothing), (x, target))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_and_bce_gradcheck(reduction, weighted):
    w4 = pe.tensor(rng.uniform(0.5, 2.0, 4), dtype=pe.float64) if weighted else None
    target = idx(5, ignore=1)
    assert gradcheck(lambda a: F.nll_loss(a, target, weight=w4, ignore_index=1, reduction=reduction), (t64(5, 4),))
    x, y = probs(3, 4), probs(3, 4)
    wb = probs(3, 4) if weighted else None
    args = (x, y, wb) if weighted else (x, y)
    assert gradcheck(lambda a, b, *w: F.binary_cross_entropy(a, b, *w, reduction=reduction), args)
    pw = pe.tensor(rng.uniform(0.5, 3.0, 4), dtype=pe.float64, requires_grad=True)
    z = t64(3, 4, scale=3.0)
    assert gradcheck(lambda a, b, *w: F.binary_cross_entropy_with_logits(a, b, *w, reduction=reduction),
                     (z, y) + ((wb,) if weighted else ()))
    assert gradcheck(lambda a, b, p: F.binary_cross_entropy_with_logits(a, b, reduction=reduction, pos_weight=p),
                     (z, y, pw))


# ---------------------------------------------------------------- stability and semantics
def test_cross_entropy_huge_logits_are_finite():
    x = pe.tensor([[1e4, -1e4, 0.0], [3e38, 0.0, -3e38]], requires_grad=True)
    loss = F.cross_entropy(x, pe.tensor([0, 1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(loss.item(), 3e38 / 2, rtol=1e-6)


def test_bce_log_clamp_and_logits_stability():
    x = pe.tensor([0.0, 1.0, 0.5])
    y = pe.tensor([1.0, 0.0, 1.0])
    np.testing.assert_allclose(F.binary_cross_entropy(x, y, reduction="none").numpy(), [100, 100, np.log(2)],
                               rtol=1e-6)
    z = pe.tensor([-1000.0, 1000.0, 0.0])
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(z, y, reduction="none").numpy(),
                               [1000, 1000, np.log(2)], rtol=1e-6)


def test_weighted_mean_is_sum_over_weights_and_all_ignored_is_nan():
    x = pe.tensor(np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])))
    t = pe.tensor([0, 2])
    w = pe.tensor([2.0, 1.0, 3.0])
    want = (2 * -np.log(0.5) + 3 * -np.log(0.8)) / 5
    np.testing.assert_allclose(F.nll_loss(x, t, weight=w).item(), want, rtol=1e-6)
    xg = x.clone().requires_grad_()
    loss = F.cross_entropy(xg, pe.tensor([-100, -100]), label_smoothing=0.1)
    loss.backward()
    assert np.isnan(loss.item()) and (xg.grad.numpy() == 0).all()  # PyTorch: NaN loss, zero gradient


def test_errors_name_the_values():
    x = pe.zeros(3, 4)
    with pytest.raises(IndexError, match="target 7 is out of bounds for 4 classes"):
        F.cross_entropy(x, pe.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match="target -1"):
        F.nll_loss(x, pe.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match=r"expected target of shape \(3,\).*got target of shape \(2,\)"):
        F.cross_entropy(x, pe.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"class-probability target must have the input's shape \(3, 4\)"):
        F.cross_entropy(x, pe.zeros(3, 5))
    with pytest.raises(RuntimeError, match=r"all 4 classes.*\(3,\)"):
        F.cross_entropy(x, pe.tensor([0, 1, 2]), weight=pe.ones(3))
    with pytest.raises(ValueError, match=r"target size \(3, 5\) must be the same as input size \(3, 4\)"):
        F.mse_loss(x, pe.zeros(3, 5))
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(pe.tensor([1.5]), pe.tensor([1.0]))
    with pytest.raises(RuntimeError, match="int64"):
        F.nll_loss(x, pe.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, pe.tensor([0, 1, 2]), label_smoothing=1.5)


# ---------------------------------------------------------------- against PyTorch
def _torch():
    return pytest.importorskip("torch")


def _compare(fn_pe, fn_torch, arrays, grads_of, rtol=1e-6, atol=1e-7):
    """Same float64 arrays through both; compare loss and the gradients of the inputs listed."""
    torch = _torch()
    pes = [pe.tensor(a, requires_grad=i in grads_of) if a.dtype != np.int64 else pe.tensor(a)
           for i, a in enumerate(arrays)]
    tts = [torch.tensor(a, requires_grad=i in grads_of) for i, a in enumerate(arrays)]
    lp, lt = fn_pe(*pes), fn_torch(*tts)
    np.testing.assert_allclose(lp.detach().numpy(), lt.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.standard_normal(tuple(lt.shape))
    lp.backward(pe.tensor(g))
    lt.backward(torch.tensor(g))
    for i in grads_of:
        np.testing.assert_allclose(pes[i].grad.numpy(), tts[i].grad.numpy(), rtol=rtol, atol=atol, err_msg=str(i))


@pytest.mark.parametrize("reduction,weighted,ignore,smoothing,shape", CE_CASES)
def test_cross_entropy_class_index_matches_torch(reduction, weighted, ignore, smoothing, shape):
    torch = _torch()
    x = rng.standard_normal(shape) * 2
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, 4, size=tshape)
    if ignore is not None and t.size > 1:
        t.reshape(-1)[::3] = ignore
    w = rng.uniform(0.5, 2.0, 4)
    ii = -100 if ignore is None else ignore
    arrays = [x, t, w] if weighted else [x, t]
    _compare(lambda x, t, *w: F.cross_entropy(x, t, *w, ignore_index=ii, reduction=reduction,
                                              label_smoothing=smoothing),
             lambda x, t, *w: torch.nn.functional.cross_entropy(x, t, *w, ignore_index=ii, reduction=reduction,
                                                                label_smoothing=smoothing),
             arrays, grads_of=(0,))  # torch's nll_loss is not differentiable in weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (3,)])
def test_cross_entropy_probabilities_match_torch(reduction, weighted, smoothing, shape):
    torch = _torch()
    x = rng.standard_normal(shape)
    cdim = 0 if len(shape) == 1 else 1
    p = np.exp(x * 2) / np.exp(x * 2).sum(axis=cdim, keepdims=True)
    w = rng.uniform(0.5, 2.0, 3)
    arrays = [x, p, w] if weighted else [x, p]
    _compare(lambda x, t, *w: F.cross_entropy(x, t, *w, reduction=reduction, label_smoothing=smoothing),
             lambda x, t, *w: torch.nn.functional.cross_entropy(x, t, *w, reduction=reduction,
                                                                label_smoothing=smoothing),
             arrays, grads_of=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_matches_torch(reduction, weighted):
    torch = _torch()
    x = rng.standard_normal((6, 5, 2))
    t = rng.integers(0, 5, size=(6, 2))
    t[0, 0] = 3
    w = rng.uniform(0.5, 2.0, 5)
    arrays = [x, t, w] if weighted else [x, t]
    _compare(lambda x, t, *w: F.nll_loss(x, t, *w, ignore_index=3, reduction=reduction),
             lambda x, t, *w: torch.nn.functional.nll_loss(x, t, *w, ignore_index=3, reduction=reduction),
             arrays, grads_of=(0,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_and_binary_losses_match_torch(reduction):
    torch = _torch()
    tf = torch.nn.functional
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    a[0, 0] = b[0, 0] + 0.5  # exactly at Huber's delta boundary region
    for pf, tfn in [(F.mse_loss, tf.mse_loss), (F.l1_loss, tf.l1_loss)]:
        _compare(lambda x, y: pf(x, y, reduction=reduction), lambda x, y: tfn(x, y, reduction=reduction),
                 [a, b], grads_of=(0, 1))
    _compare(lambda x, y: F.huber_loss(x, y, reduction=reduction, delta=0.8),
             lambda x, y: tf.huber_loss(x, y, reduction=reduction, delta=0.8), [a, b], grads_of=(0, 1))
    p, q, w = rng.uniform(0.01, 0.99, (4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0.5, 2, (4, 3))
    _compare(lambda x, y, w: F.binary_cross_entropy(x, y, w, reduction=reduction),
             lambda x, y, w: tf.binary_cross_entropy(x, y, w, reduction=reduction), [p, q, w], grads_of=(0, 1))
    z, pw = rng.standard_normal((4, 3)) * 5, rng.uniform(0.5, 3, 3)
    _compare(lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw),
             lambda x, y, w, pw: tf.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw),
             [z, q, w, pw], grads_of=(0, 1))  # torch: weight/pos_weight not differentiable


def test_loss_modules_match_torch():
    torch = _torch()
    x = rng.standard_normal((5, 4)).astype(np.float32)
    t = rng.integers(0, 4, 5)
    w = rng.uniform(0.5, 2, 4).astype(np.float32)
    pm = nn.CrossEntropyLoss(weight=pe.tensor(w), label_smoothing=0.1, ignore_index=2)
    tm = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1, ignore_index=2)
    np.testing.assert_allclose(pm(pe.tensor(x), pe.tensor(t)).item(), tm(torch.tensor(x), torch.tensor(t)).item(),
                               rtol=1e-5)
    assert list(pm.state_dict()) == list(tm.state_dict()) == ["weight"]
    y = rng.uniform(0, 1, (5, 4)).astype(np.float32)
    for P, T in [(nn.MSELoss, torch.nn.MSELoss), (nn.L1Loss, torch.nn.L1Loss), (nn.HuberLoss, torch.nn.HuberLoss),
                 (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss)]:
        np.testing.assert_allclose(P()(pe.tensor(x), pe.tensor(y)).item(), T()(torch.tensor(x), torch.tensor(y)).item(),
                                   rtol=1e-5)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(nn.BCELoss(reduction="sum")(pe.tensor(s), pe.tensor(y)).item(),
                               torch.nn.BCELoss(reduction="sum")(torch.tensor(s), torch.tensor(y)).item(), rtol=1e-5)
    lp = np.log(s / s.sum(1, keepdims=True))
    np.testing.assert_allclose(nn.NLLLoss()(pe.tensor(lp), pe.tensor(t)).item(),
                               torch.nn.NLLLoss()(torch.tensor(lp), torch.tensor(t)).item(), rtol=1e-5)
