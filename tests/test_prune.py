"""nn.utils.prune against torch 2.13's torch.nn.utils.prune: identical masks (given identical
weights) for the deterministic methods, alone, iterated through a PruningContainer and globally;
the weight_orig parameter / weight_mask buffer / forward pre-hook re-parametrisation; state_dicts
that load both ways; remove and is_pruned; the amount validation and the other errors with
torch's exception types; for the random methods, exact counts and the structural properties."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
from pyengine.nn.utils import prune

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def _to_torch(module, tmodule):
    tmodule.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in module.state_dict().items()})
    return tmodule


def _linear(seed=0, i=7, o=5, device="cpu"):
    pe.manual_seed(seed)
    m = nn.Linear(i, o).to(device)
    return m, _to_torch(m, torch.nn.Linear(i, o))


def _conv(seed=0):
    pe.manual_seed(seed)
    m = nn.Conv2d(3, 6, 3)
    return m, _to_torch(m, torch.nn.Conv2d(3, 6, 3))


def _same_masks(m, t, name="weight"):
    np.testing.assert_array_equal(getattr(m, name + "_mask").cpu().numpy(), getattr(t, name + "_mask").numpy())


def _same_outputs(m, t, shape):
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(m(pe.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("amount", [0, 1, 3, 0.0, 0.25, 0.5, 1.0, 35])
def test_l1_unstructured_mask_matches_torch(amount):
    m, t = _linear()
    prune.l1_unstructured(m, "weight", amount=amount)
    tprune.l1_unstructured(t, "weight", amount=amount)
    _same_masks(m, t)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()] == ["weight_mask"]
    assert not isinstance(m.weight, nn.Parameter) and isinstance(m.weight_orig, nn.Parameter)
    np.testing.assert_array_equal(m.weight.detach().numpy(), t.weight.detach().numpy())
    _same_outputs(m, t, (4, 7))


def test_l1_unstructured_with_importance_scores_matches_torch():
    m, t = _linear(1)
    scores = np.random.default_rng(1).standard_normal((5, 7)).astype(np.float32)
    prune.l1_unstructured(m, "weight", amount=0.4, importance_scores=pe.tensor(scores))
    tprune.l1_unstructured(t, "weight", amount=0.4, importance_scores=torch.tensor(scores))
    _same_masks(m, t)
    with pytest.raises(AssertionError, match="same shape"):
        prune.l1_unstructured(m, "bias", amount=1, importance_scores=pe.zeros(4))


@pytest.mark.parametrize("n", [1, 2, 3, float("inf"), -float("inf")])
@pytest.mark.parametrize("dim", [0, 1, -1, 3])
def test_ln_structured_mask_matches_torch_on_conv(n, dim):
    m, t = _conv(2)
    prune.ln_structured(m, "weight", amount=0.34, n=n, dim=dim)
    tprune.ln_structured(t, "weight", amount=0.34, n=n, dim=dim)
    _same_masks(m, t)
    _same_outputs(m, t, (2, 3, 6, 6))


def test_iterative_pruning_combines_masks_like_torch():
    """Each pruning step acts on what the earlier masks left (compute_mask on the unpruned
    slice), through one PruningContainer hook."""
    m, t = _conv(3)
    steps = [(prune.l1_unstructured, tprune.l1_unstructured, dict(amount=0.2)),
             (prune.ln_structured, tprune.ln_structured, dict(amount=2, n=1, dim=0)),
             (prune.l1_unstructured, tprune.l1_unstructured, dict(amount=17)),
             (prune.ln_structured, tprune.ln_structured, dict(amount=0.5, n=2, dim=1)),
             (prune.l1_unstructured, tprune.l1_unstructured, dict(amount=0.3))]
    for ours, theirs, kw in steps:
        ours(m, "weight", **kw)
        theirs(t, "weight", **kw)
        _same_masks(m, t)
    hooks = list(m._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == len(steps)
    assert [type(h).__name__ for h in hooks[0]] == [type(h).__name__ for h in t._forward_pre_hooks[
        next(iter(t._forward_pre_hooks))]]
    _same_outputs(m, t, (2, 3, 5, 5))


def test_global_unstructured_matches_torch_including_pruned_modules():
    (m1, t1), (m2, t2) = _linear(4), _linear(5, 5, 3)
    prune.l1_unstructured(m1, "weight", amount=6)  # already pruned: its mask is respected
    tprune.l1_unstructured(t1, "weight", amount=6)
    params = [(m1, "weight"), (m1, "bias"), (m2, "weight")]
    tparams = [(t1, "weight"), (t1, "bias"), (t2, "weight")]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.4)
    tprune.global_unstructured(tparams, pruning_method=tprune.L1Unstructured, amount=0.4)
    _same_masks(m1, t1)
    _same_masks(m1, t1, "bias")
    _same_masks(m2, t2)
    scores = {(m2, "weight"): pe.ones(3, 5)}
    tscores = {(t2, "weight"): torch.ones(3, 5)}
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=5, importance_scores=scores)
    tprune.global_unstructured(tparams, pruning_method=tprune.L1Unstructured, amount=5, importance_scores=tscores)
    _same_masks(m1, t1)
    _same_masks(m2, t2)
    with pytest.raises(TypeError, match="unstructured"):
        prune.global_unstructured(params, pruning_method=prune.LnStructured, amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="Iterable"):
        prune.global_unstructured(3, pruning_method=prune.L1Unstructured, amount=1)
    with pytest.raises(TypeError, match="dict"):
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, importance_scores=[1], amount=1)


def test_custom_from_mask_and_identity_match_torch():
    m, t = _linear(6)
    mask = (np.random.default_rng(6).random((5, 7)) > 0.5).astype(np.float32)
    prune.custom_from_mask(m, "weight", mask=pe.tensor(mask))
    tprune.custom_from_mask(t, "weight", mask=torch.tensor(mask))
    _same_masks(m, t)
    prune.identity(m, "bias")
    tprune.identity(t, "bias")
    _same_masks(m, t, "bias")
    assert list(m.state_dict()) == list(t.state_dict())
    _same_outputs(m, t, (3, 7))


def test_state_dicts_load_both_ways():
    m, t = _linear(7)
    prune.l1_unstructured(m, "weight", amount=0.5)
    tprune.l1_unstructured(t, "weight", amount=0.5)
    # torch -> ours: a fresh pruned pyengine module takes torch's weight_orig and weight_mask
    m2, _ = _linear(8)
    prune.identity(m2, "weight")
    m2.load_state_dict({k: pe.tensor(v.numpy()) for k, v in t.state_dict().items()})
    m2(pe.zeros(1, 7))  # the pre-hook recomputes weight from the loaded orig and mask
    np.testing.assert_array_equal(m2.weight.detach().numpy(), t.weight.detach().numpy())
    # ours -> torch
    t2 = torch.nn.Linear(7, 5)
    tprune.identity(t2, "weight")
    t2.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    t2(torch.zeros(1, 7))
    np.testing.assert_array_equal(t2.weight.detach().numpy(), m.weight.detach().numpy())


def test_pre_hook_keeps_pruned_entries_zero_through_training():
    m, t = _linear(9)
    prune.l1_unstructured(m, "weight", amount=0.6)
    tprune.l1_unstructured(t, "weight", amount=0.6)
    opt = pe.optim.SGD(m.parameters(), lr=0.05)
    topt = torch.optim.SGD(t.parameters(), lr=0.05)
    x = np.random.default_rng(9).standard_normal((8, 7)).astype(np.float32)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        m(pe.tensor(x)).pow(2).sum().backward()
        t(torch.tensor(x)).pow(2).sum().backward()
        pruned = m.weight_mask.numpy() == 0
        assert (m.weight_orig.grad.numpy()[pruned] == 0).all()  # no gradient reaches pruned entries
        np.testing.assert_allclose(m.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), rtol=1e-4, atol=1e-5)
        opt.step()
        topt.step()
    m(pe.tensor(x))  # the pre-hooks recompute weight = weight_orig * weight_mask
    t(torch.tensor(x))
    assert (m.weight.detach().numpy()[m.weight_mask.numpy() == 0] == 0).all()
    np.testing.assert_allclose(m.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_remove_makes_pruning_permanent_like_torch():
    m, t = _linear(10)
    prune.l1_unstructured(m, "weight", amount=0.5)
    prune.l1_unstructured(m, "weight", amount=3)
    tprune.l1_unstructured(t, "weight", amount=0.5)
    tprune.l1_unstructured(t, "weight", amount=3)
    assert prune.is_pruned(m) and tprune.is_pruned(t)
    prune.remove(m, "weight")
    tprune.remove(t, "weight")
    assert not prune.is_pruned(m)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    assert not hasattr(m, "weight_orig") and not hasattr(m, "weight_mask") and not m._forward_pre_hooks
    np.testing.assert_array_equal(m.weight.detach().numpy(), t.weight.detach().numpy())
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(m, "weight")


def test_is_pruned_sees_submodules():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert not prune.is_pruned(net)
    prune.random_unstructured(net[2], "bias", amount=1)
    assert prune.is_pruned(net)
    assert "2.bias_orig" in net.state_dict() and "2.bias_mask" in net.state_dict()


def test_failed_pruning_rolls_the_reparametrisation_back():
    m, t = _linear(11)
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        prune.l1_unstructured(m, "weight", amount=36)
    with pytest.raises(ValueError):
        tprune.l1_unstructured(t, "weight", amount=36)
    assert isinstance(m.weight, nn.Parameter) and list(m.state_dict()) == list(t.state_dict())
    assert not prune.is_pruned(m) and not hasattr(m, "weight_orig")


@pytest.mark.parametrize("amount,exc", [("a", TypeError), (None, TypeError), (-1, ValueError), (1.5, ValueError),
                                        (-0.1, ValueError), (36, ValueError)])
def test_amount_validation_matches_torch(amount, exc):
    m, t = _linear(12)
    with pytest.raises(exc) as ours:
        prune.l1_unstructured(m, "weight", amount=amount)
    with pytest.raises(exc) as theirs:
        tprune.l1_unstructured(t, "weight", amount=amount)
    assert str(ours.value) == str(theirs.value)


def test_structured_errors_match_torch():
    m, t = _linear(13)
    with pytest.raises(ValueError, match="multidimensional") as ours:
        prune.ln_structured(m, "bias", amount=1, n=2, dim=0)
    with pytest.raises(ValueError, match="multidimensional"):
        tprune.ln_structured(t, "bias", amount=1, n=2, dim=0)
    assert "shape (5,) with 1 dims" in str(ours.value)
    with pytest.raises(IndexError, match="Invalid index 2"):
        prune.random_structured(m, "weight", amount=1, dim=2)
    with pytest.raises(IndexError):
        tprune.random_structured(t, "weight", amount=1, dim=2)


def test_container_rejects_other_tensors_and_non_methods():
    a = prune.L1Unstructured(1)
    a._tensor_name = "weight"
    b = prune.RandomUnstructured(1)
    b._tensor_name = "bias"
    c = prune.PruningContainer(a)
    with pytest.raises(ValueError, match="Found 'bias'"):
        c.add_pruning_method(b)
    with pytest.raises(TypeError, match="not a BasePruningMethod subclass"):
        c.add_pruning_method(3)
    assert len(c) == 1 and c[0] is a


def test_prune_method_on_a_plain_tensor_matches_torch():
    a = np.random.default_rng(14).standard_normal((4, 6)).astype(np.float32)
    ours = prune.L1Unstructured(amount=0.5).prune(pe.tensor(a))
    theirs = tprune.L1Unstructured(amount=0.5).prune(torch.tensor(a))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = prune.LnStructured(amount=2, n=1, dim=1).prune(pe.tensor(a))
    theirs = tprune.LnStructured(amount=2, n=1, dim=1).prune(torch.tensor(a))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---------------------------------------------------------------- random methods: counts and structure
@pytest.mark.parametrize("amount,expected", [(0, 0), (7, 7), (0.3, 10), (1.0, 35)])
def test_random_unstructured_prunes_exactly_amount(amount, expected):
    m, _ = _linear(15)
    prune.random_unstructured(m, "weight", amount=amount)
    assert int((m.weight_mask == 0).sum().item()) == expected
    assert set(np.unique(m.weight_mask.numpy())) <= {0.0, 1.0}


def test_iterated_random_unstructured_prunes_only_survivors():
    m, _ = _linear(16)
    prune.random_unstructured(m, "weight", amount=0.4)  # round(0.4 * 35) = 14
    first = m.weight_mask.numpy().copy()
    prune.random_unstructured(m, "weight", amount=0.5)  # round(0.5 * 21) = 10 more (half to even)
    second = m.weight_mask.numpy()
    assert int((second == 0).sum()) == 14 + 10
    assert (second[first == 0] == 0).all()


def test_random_unstructured_is_uniform():
    counts = np.zeros((5, 7))
    pe.manual_seed(17)
    for _ in range(300):
        m = nn.Linear(7, 5)
        prune.random_unstructured(m, "weight", amount=0.5)
        counts += m.weight_mask.numpy() == 0
    frac = counts / 300  # each entry pruned with probability 18/35 ~ 0.51; 300 trials: sd ~ 0.03
    assert np.abs(frac - 18 / 35).max() < 0.15


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_prunes_whole_channels(dim):
    m, _ = _conv(18)
    prune.random_structured(m, "weight", amount=0.5, dim=dim)
    mask = np.moveaxis(m.weight_mask.numpy(), dim, 0).reshape(m.weight.shape[dim], -1)
    channel_kept = mask.all(axis=1)
    assert (channel_kept | ~mask.any(axis=1)).all()  # each channel wholly kept or wholly pruned
    assert int((~channel_kept).sum()) == round(0.5 * m.weight.shape[dim])
    prune.random_structured(m, "weight", amount=1, dim=dim)  # one more, among the survivors
    mask = np.moveaxis(m.weight_mask.numpy(), dim, 0).reshape(m.weight.shape[dim], -1)
    assert int((~mask.any(axis=1)).sum()) == round(0.5 * m.weight.shape[dim]) + 1


def test_pruning_on_device_matches_cpu(device):
    m, _ = _linear(19, device=device)
    c, _ = _linear(19)
    prune.l1_unstructured(m, "weight", amount=0.4)
    prune.ln_structured(m, "weight", amount=2, n=2, dim=0)
    prune.l1_unstructured(c, "weight", amount=0.4)
    prune.ln_structured(c, "weight", amount=2, n=2, dim=0)
    assert m.weight_mask.device == pe.device(device)
    np.testing.assert_array_equal(m.weight_mask.cpu().numpy(), c.weight_mask.numpy())
    prune.random_unstructured(m, "bias", amount=2)
    assert int((m.bias_mask == 0).sum().item()) == 2
    x = pe.randn(3, 7)
    np.testing.assert_allclose(m(x.to(device)).detach().cpu().numpy(),
                               (x @ c.weight.detach().t() + m.bias.detach().cpu()).numpy(), rtol=1e-5, atol=1e-5)


def test_parameters_to_vector_and_back_match_torch():
    m, t = _linear(20)
    v = nn.utils.parameters_to_vector(m.parameters())
    tv = torch.nn.utils.parameters_to_vector(t.parameters())
    np.testing.assert_array_equal(v.detach().numpy(), tv.detach().numpy())
    assert v.requires_grad  # a differentiable cat of views, as torch's
    new = np.arange(40, dtype=np.float32)
    nn.utils.vector_to_parameters(pe.tensor(new), m.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), t.parameters())
    for p, tp in zip(m.parameters(), t.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    with pytest.raises(TypeError, match="expected pyengine.Tensor"):
        nn.utils.vector_to_parameters(new, m.parameters())
