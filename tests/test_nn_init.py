"""nn.init: gains, fan conventions, distribution statistics (and against PyTorch's formulas),
Philox reproducibility, no_grad behaviour; regularisation helpers and early stopping."""
import math

import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.nn import init


def test_calculate_gain_values():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(2 / 6))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def test_fan_conventions():
    assert init._calculate_fan_in_and_fan_out(pe.empty(7, 3)) == (3, 7)
    assert init._calculate_fan_in_and_fan_out(pe.empty(16, 3, 5, 5)) == (75, 400)
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions \(got shape \(5,\)\)"):
        init._calculate_fan_in_and_fan_out(pe.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(pe.empty(3, 3), mode="fan_avg")


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.min(), a.max(), a.mean(), a.std()


@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 3, 3)])
def test_distributions_have_the_right_bounds_and_moments(shape):
    pe.manual_seed(0)
    w = pe.empty(*shape)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(w)
    n = w.numel()
    tol = 4 / math.sqrt(n)  # several standard errors of the sample moments

    b = math.sqrt(3) * math.sqrt(2) / math.sqrt(fan_in)  # kaiming_uniform_, relu, fan_in
    lo, hi, mean, std = _stats(init.kaiming_uniform_(w, nonlinearity="relu"))
    assert -b <= lo and hi <= b and abs(mean) < tol * b and abs(std - b / math.sqrt(3)) < 2 * tol * b
    s = init.calculate_gain("leaky_relu", 0.2) / math.sqrt(fan_out)  # kaiming_normal_, fan_out
    _, _, mean, std = _stats(init.kaiming_normal_(w, a=0.2, mode="fan_out"))
    assert abs(mean) < tol * s and abs(std / s - 1) < 2 * tol
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    lo, hi, mean, std = _stats(init.xavier_uniform_(w, gain=2.0))
    assert -a <= lo and hi <= a and abs(std - a / math.sqrt(3)) < 2 * tol * a
    s = math.sqrt(2 / (fan_in + fan_out))
    _, _, mean, std = _stats(init.xavier_normal_(w))
    assert abs(std / s - 1) < 2 * tol
    lo, hi, mean, _ = _stats(init.uniform_(w, -3.0, -1.0))
    assert -3 <= lo and hi <= -1 and abs(mean + 2) < 0.02
    _, _, mean, std = _stats(init.normal_(w, 5.0, 0.5))
    assert abs(mean - 5) < 0.01 and abs(std - 0.5) < 0.01


def test_constant_zeros_ones_under_no_grad_on_parameters():
    p = nn.Parameter(pe.empty(3, 4))
    assert init.constant_(p, 2.5) is p and (p.detach().numpy() == 2.5).all()
    assert (init.zeros_(p).detach().numpy() == 0).all() and (init.ones_(p).detach().numpy() == 1).all()
    assert p.requires_grad and p.grad_fn is None  # still a leaf: initialisation is not recorded
    init.kaiming_uniform_(p)
    assert p.grad_fn is None


def test_seed_reproducibility_and_linear_default_init_matches_torch_formula():
    pe.manual_seed(42)
    a = nn.Linear(50, 20)
    pe.manual_seed(42)
    b = nn.Linear(50, 20)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    # PyTorch: kaiming_uniform_(a=sqrt(5)) -> bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
    gain = init.calculate_gain("leaky_relu", math.sqrt(5))
    assert gain * math.sqrt(3 / 50) == pytest.approx(1 / math.sqrt(50))
    w = a.weight.detach().numpy()
    assert np.abs(w).max() <= 1 / math.sqrt(50) and np.abs(w).max() > 0.9 / math.sqrt(50)


def test_zero_element_tensor_warns_and_is_untouched():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(pe.empty(0, 3))


def test_fan_conventions_match_torch():
    torch = pytest.importorskip("torch")
    for shape in [(7, 3), (16, 3, 5, 5), (2, 4, 3)]:
        assert init._calculate_fan_in_and_fan_out(pe.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    for nl, param in [("relu", None), ("tanh", None), ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None),
                      ("conv1d", None)]:
        assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))


# ---------------------------------------------------------------- regularisation helpers
def test_penalties_values_and_gradients_on_weights_only():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    ws = nn.weight_parameters(model)
    assert [tuple(p.shape) for p in ws] == [(4, 3), (2, 4)]
    assert [tuple(p.shape) for p in nn.bias_parameters(model)] == [(4,), (2,)]
    l1, l2 = nn.l1_penalty(ws), nn.l2_penalty(ws)
    arrs = [p.detach().numpy() for p in ws]
    assert l1.item() == pytest.approx(sum(np.abs(a).sum() for a in arrs), rel=1e-5)
    assert l2.item() == pytest.approx(sum((a * a).sum() for a in arrs), rel=1e-5)
    (l1 + 0.5 * l2).backward()
    for p, a in zip(ws, arrs):
        np.testing.assert_allclose(p.grad.numpy(), np.sign(a) + a, rtol=1e-5)
    assert model[0].bias.grad is None
    with pytest.raises(ValueError, match="empty"):
        nn.l2_penalty([])


def test_early_stopping_min_and_max_with_best_state():
    model = nn.Linear(2, 1)
    es = nn.EarlyStopping(patience=2, min_delta=0.1, mode="min")
    losses = [1.0, 0.8, 0.75, 0.72, 0.5, 0.49, 0.48]
    stops = []
    for i, loss in enumerate(losses):
        with pe.no_grad():
            model.bias.fill_(float(i))
        stops.append(es.step(loss, model))
    # 0.75 and 0.72 are not better than 0.8 by 0.1 -> stop after the second bad epoch
    assert stops[:4] == [False, False, False, True]
    assert es.best == 0.5 and es.best_epoch == 4  # it keeps tracking if the caller goes on
    assert es.best_state["bias"].item() == 4.0
    with pe.no_grad():
        model.bias.fill_(-1.0)
    es.restore(model)
    assert model.bias.item() == 4.0
    up = nn.EarlyStopping(patience=1, mode="max")
    assert [up.step(m) for m in [0.5, 0.6, 0.6]] == [False, False, True]
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        nn.EarlyStopping(mode="avg")
    with pytest.raises(RuntimeError, match="no best state"):
        nn.EarlyStopping().restore(model)
