"""pyengine.optim.lr_scheduler against PyTorch: lr sequences over 30 epochs, state dicts,
last_epoch semantics and errors."""
import math
import warnings

import pytest

import pyengine as pe
from pyengine import optim
from pyengine.optim import lr_scheduler as sched

EPOCHS = 30


def _pe_optimizer(lrs=(0.1, 0.02)):
    return optim.SGD([{"params": [pe.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=lrs[0])


def _torch_optimizer(torch, lrs=(0.1, 0.02)):
    return torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=lrs[0])


def _lrs(opt, scheduler, epochs, metrics=None):
    seen = [scheduler.get_last_lr()]
    for epoch in range(epochs):
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        seen.append(scheduler.get_last_lr())
        assert seen[-1] == [g["lr"] for g in opt.param_groups]
    return seen


def _flat(seq):
    return [lr for lrs in seq for lr in lrs]


def _scale(epoch):
    return 0.95 ** epoch


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9, 40], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),  # 30 epochs: past the trough, back up, again
    ("CosineAnnealingLR", dict(T_max=30)),
    ("LambdaLR", dict(lr_lambda=_scale)),
    ("LambdaLR", dict(lr_lambda=[_scale, lambda e: 1.0 / (e + 1)])),
]


def _case_id(name, kwargs):
    """The case's name and arguments, functions by name (an address would differ between the
    processes that pytest-xdist collects in)."""
    def show(v):
        if callable(v):
            return v.__name__
        if isinstance(v, list):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return repr(v)
    return name + "-{" + ", ".join(f"{k}: {show(v)}" for k, v in kwargs.items()) + "}"


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[_case_id(n, k) for n, k in SCHEDULERS])
def test_lr_sequence_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    topt = _torch_optimizer(torch)
    popt = _pe_optimizer()
    expected = _lrs(topt, getattr(torch.optim.lr_scheduler, name)(topt, **kwargs), EPOCHS)
    got = _lrs(popt, getattr(sched, name)(popt, **kwargs), EPOCHS)
    assert len(got) == EPOCHS + 1
    for e, (g, t) in enumerate(zip(got, expected)):
        assert g == pytest.approx(t, rel=1e-12, abs=1e-15), f"epoch {e}"
    assert popt.param_groups[0]["initial_lr"] == 0.1


def test_cosine_annealing_reaches_eta_min_and_closed_form():
    opt = _pe_optimizer((1.0,))
    s = sched.CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    lrs = _lrs(opt, s, 10)
    assert lrs[10][0] == pytest.approx(0.1, abs=1e-12)
    for e, lr in enumerate(lrs):
        assert lr[0] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * e / 10)) / 2, abs=1e-12)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(threshold_mode="abs", threshold=0.05, patience=1, cooldown=2),
    dict(mode="max", threshold_mode="abs", threshold=0.5, patience=0, min_lr=[0.05, 0.001]),
    dict(factor=0.5, patience=0, min_lr=0.03, eps=1e-3),
])
def test_reduce_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.9, 0.95, 0.9, 0.89999, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.71, 0.72, 0.73, 0.74,
               0.75, 0.5, 0.5, 0.5, 0.5, 0.4, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    topt = _torch_optimizer(torch)
    popt = _pe_optimizer()
    expected = _lrs(topt, torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs), EPOCHS, metrics)
    got = _lrs(popt, sched.ReduceLROnPlateau(popt, **kwargs), EPOCHS, metrics)
    assert got == expected
    assert len({tuple(lr) for lr in got}) > 1 or kwargs == {}  # the schedule actually moved


def test_reduce_on_plateau_accepts_tensor_metric_and_round_trips():
    opt = _pe_optimizer()
    s = sched.ReduceLROnPlateau(opt, patience=1, mode="max")
    for m in [1.0, 1.0, 1.0]:
        s.step(pe.tensor(m))
    assert s.get_last_lr() == pytest.approx([0.01, 0.002])
    state = s.state_dict()
    assert "optimizer" not in state and state["num_bad_epochs"] == 0
    s2 = sched.ReduceLROnPlateau(_pe_optimizer())
    s2.load_state_dict(state)
    assert (s2.mode, s2.patience, s2.mode_worse, s2.best) == ("max", 1, -math.inf, 1.0)


@pytest.mark.parametrize("name,kwargs", SCHEDULERS[:6], ids=[f"{n}-{k}" for n, k in SCHEDULERS[:6]])
def test_state_dict_round_trip_continues_schedule(name, kwargs):
    opt = _pe_optimizer()
    full = _lrs(opt, getattr(sched, name)(opt, **kwargs), 20)
    opt = _pe_optimizer()
    s = getattr(sched, name)(opt, **kwargs)
    _lrs(opt, s, 10)
    opt_state, sched_state = opt.state_dict(), s.state_dict()
    assert "optimizer" not in sched_state and sched_state["last_epoch"] == 10
    opt2 = _pe_optimizer()
    opt2.load_state_dict(opt_state)
    s2 = getattr(sched, name)(opt2, **kwargs)
    s2.load_state_dict(sched_state)
    assert _flat(_lrs(opt2, s2, 10)[1:]) == pytest.approx(_flat(full[11:]), rel=1e-12)


def test_lambda_lr_state_dict_keeps_callable_objects():
    class Warmup:
        def __init__(self):
            self.factor = 2.0

        def __call__(self, epoch):
            return self.factor * (epoch + 1)

    opt = _pe_optimizer((1.0,))
    warm = Warmup()
    s = sched.LambdaLR(opt, warm)
    warm.factor = 3.0
    state = s.state_dict()
    assert state["lr_lambdas"] == [{"factor": 3.0}]
    other = Warmup()
    s2 = sched.LambdaLR(_pe_optimizer((1.0,)), other)
    s2.load_state_dict(state)
    assert other.factor == 3.0
    plain = sched.LambdaLR(_pe_optimizer((1.0,)), lambda e: 1.0)
    assert plain.state_dict()["lr_lambdas"] == [None]


def test_last_epoch_resume_semantics():
    torch = pytest.importorskip("torch")
    popt = _pe_optimizer()
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(popt, step_size=2, last_epoch=4)
    topt = _torch_optimizer(torch)
    for opt in (popt, topt):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 10
    expected = _lrs(topt, torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10, last_epoch=4), 8)
    got = _lrs(popt, sched.CosineAnnealingLR(popt, T_max=10, last_epoch=4), 8)
    assert _flat(got) == pytest.approx(_flat(expected), rel=1e-12)


@pytest.mark.parametrize("name,kwargs", [("StepLR", dict(step_size=3, gamma=0.5)),
                                         ("MultiStepLR", dict(milestones=[2, 4, 4])),
                                         ("ExponentialLR", dict(gamma=0.8)),
                                         ("CosineAnnealingLR", dict(T_max=5))])
def test_step_with_epoch_uses_closed_form(name, kwargs):
    torch = pytest.importorskip("torch")
    topt, popt = _torch_optimizer(torch), _pe_optimizer()
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    ps = getattr(sched, name)(popt, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 7, 4, 0, 12]:
            topt.step()
            ts.step(epoch)
            with pytest.warns(UserWarning, match="epoch parameter"):
                ps.step(epoch)
            assert ps.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)


def test_scheduler_errors():
    opt = _pe_optimizer()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        sched.StepLR([], step_size=1)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        sched.LambdaLR(opt, [_scale])
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode sideways is unknown"):
        sched.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="threshold mode both is unknown"):
        sched.ReduceLROnPlateau(opt, threshold_mode="both")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        sched.ReduceLROnPlateau(opt, min_lr=[0, 0, 0])
