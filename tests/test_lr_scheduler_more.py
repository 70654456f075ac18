"""Learning-rate schedulers against torch.optim.lr_scheduler (2.13): for every scheduler and the
options that change its shape, the lr (and cycled momentum/beta1) of two param groups over many
steps, get_last_lr, step(epoch) closed forms, state_dict round trips, and argument errors."""
import math
import warnings

import numpy as np
import pytest

import pyengine as pe
from pyengine import optim

torch = pytest.importorskip("torch")


def make_optimizers(kind="SGD", **kwargs):
    """The same two-group optimizer in pyengine and torch (lrs 0.1 and 0.02)."""
    tp = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    pp = [pe.zeros(2, requires_grad=True), pe.zeros(3, requires_grad=True)]
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.02}]  # noqa: E731
    return (getattr(optim, kind)(groups(pp), lr=0.1, **kwargs),
            getattr(torch.optim, kind)(groups(tp), lr=0.1, **kwargs))


def momentum_of(group):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum")


def trace(opt, sched, steps, metrics=None):
    """(lrs, momentums, last_lrs) after construction and after each step."""
    out = []
    for i in range(steps + 1):
        if i:
            opt.step()  # no gradients: only the call order matters
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[i - 1])
        out.append(([g["lr"] for g in opt.param_groups], [momentum_of(g) for g in opt.param_groups],
                    list(sched.get_last_lr())))
    return out


def assert_same_trace(got, want):
    for step, ((lr, mom, last), (tlr, tmom, tlast)) in enumerate(zip(got, want)):
        np.testing.assert_allclose(lr, tlr, rtol=1e-12, atol=1e-15, err_msg=f"lr at step {step}")
        np.testing.assert_allclose(last, tlast, rtol=1e-12, atol=1e-15, err_msg=f"last_lr at step {step}")
        if tmom[0] is not None:
            np.testing.assert_allclose(mom, tmom, rtol=1e-12, err_msg=f"momentum at step {step}")


def both(name, args_fn, kind="SGD", opt_kwargs=None, steps=30, metrics=None):
    """Build the scheduler `name` on both libraries (args_fn(lib_module) -> (args, kwargs))."""
    opt, topt = make_optimizers(kind, **(opt_kwargs or {}))
    args, kwargs = args_fn(optim.lr_scheduler)
    targs, tkwargs = args_fn(torch.optim.lr_scheduler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = getattr(optim.lr_scheduler, name)(opt, *args, **kwargs)
        tsched = getattr(torch.optim.lr_scheduler, name)(topt, *targs, **tkwargs)
        got, want = trace(opt, sched, steps, metrics), trace(topt, tsched, steps, metrics)
    assert_same_trace(got, want)
    return sched, tsched, opt, topt


def plain(*args, **kwargs):
    return lambda lib: (args, kwargs)


class Scale:
    """A callable object (its attributes go into state dicts, unlike a function's)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


CASES = [
    ("LambdaLR", plain(lambda e: 0.9 ** e)),
    ("LambdaLR", plain([lambda e: 1 / (e + 1), Scale(0.8)])),
    ("MultiplicativeLR", plain(lambda e: 0.95)),
    ("MultiplicativeLR", plain([lambda e: 0.9, lambda e: 1.0 if e % 2 else 0.5])),
    ("ConstantLR", plain()),
    ("ConstantLR", plain(factor=0.5, total_iters=7)),
    ("LinearLR", plain()),
    ("LinearLR", plain(start_factor=0.1, end_factor=0.6, total_iters=12)),
    ("LinearLR", plain(start_factor=1.0, end_factor=0.0, total_iters=20)),
    ("PolynomialLR", plain()),
    ("PolynomialLR", plain(total_iters=17, power=2.5)),
    ("CosineAnnealingWarmRestarts", plain(T_0=5)),
    ("CosineAnnealingWarmRestarts", plain(T_0=3, T_mult=2, eta_min=0.001)),
    ("CyclicLR", plain(0.01, 0.1, step_size_up=4)),
    ("CyclicLR", plain([0.01, 0.001], [0.1, 0.05], step_size_up=3, step_size_down=5, mode="triangular2")),
    ("CyclicLR", plain(0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.97, base_momentum=0.7,
                       max_momentum=0.95)),
    ("CyclicLR", plain(0.01, 0.1, step_size_up=3, scale_fn=lambda x: 1 / x, scale_mode="cycle",
                       cycle_momentum=False)),
    ("CyclicLR", plain(0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.99 ** x, scale_mode="iterations")),
    ("OneCycleLR", plain(0.5, total_steps=30)),
    ("OneCycleLR", plain([0.5, 0.2], epochs=6, steps_per_epoch=5, pct_start=0.4, anneal_strategy="linear",
                         div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR", plain(0.5, total_steps=30, three_phase=True, base_momentum=[0.8, 0.7], max_momentum=0.9)),
    ("OneCycleLR", plain(0.5, total_steps=30, cycle_momentum=False)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


@pytest.mark.parametrize("name,args_fn", CASES, ids=IDS)
def test_schedule_matches_torch_sgd(name, args_fn):
    both(name, args_fn, kind="SGD", opt_kwargs=dict(momentum=0.9))


@pytest.mark.parametrize("name,args_fn", [c for c in CASES if c[0] in ("CyclicLR", "OneCycleLR")],
                         ids=[i for i, c in zip(IDS, CASES) if c[0] in ("CyclicLR", "OneCycleLR")])
def test_cyclic_schedules_cycle_adam_beta1(name, args_fn):
    both(name, args_fn, kind="Adam")


def test_sequential_lr_matches_torch():
    def args(lib):
        return ([], {})
    for kind_milestones in ([5], [4, 11]):
        opt, topt = make_optimizers("SGD")
        scheds = []
        for o, lib in ((opt, optim.lr_scheduler), (topt, torch.optim.lr_scheduler)):
            parts = [lib.LinearLR(o, start_factor=0.1, total_iters=5), lib.ExponentialLR(o, gamma=0.9)]
            if len(kind_milestones) == 2:
                parts.append(lib.CosineAnnealingLR(o, T_max=6, eta_min=0.001))
            scheds.append(lib.SequentialLR(o, parts, milestones=kind_milestones))
        assert_same_trace(trace(opt, scheds[0], 25), trace(topt, scheds[1], 25))
    state = scheds[0].state_dict()
    assert set(state) == set(scheds[1].state_dict())
    assert len(state["_schedulers"]) == 3


def test_chained_scheduler_matches_torch():
    opt, topt = make_optimizers("SGD")
    scheds = []
    for o, lib in ((opt, optim.lr_scheduler), (topt, torch.optim.lr_scheduler)):
        parts = [lib.ConstantLR(o, factor=0.1, total_iters=3), lib.ExponentialLR(o, gamma=0.9),
                 lib.MultiStepLR(o, milestones=[6, 9], gamma=0.5)]
        scheds.append(lib.ChainedScheduler(parts, optimizer=o))
    assert_same_trace(trace(opt, scheds[0], 15), trace(topt, scheds[1], 15))


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", factor=0.5, patience=1, cooldown=2),
                                    dict(threshold_mode="abs", threshold=0.1, patience=0, min_lr=[0.05, 0.001]),
                                    dict(patience=2, eps=0.05)])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.94, 0.96, 0.97, 0.5, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62,
               0.62, 0.63, 0.64, 0.9, 1.2, 1.3, 1.3, 1.3, 1.3]
    both("ReduceLROnPlateau", plain(**kwargs), steps=len(metrics), metrics=metrics)


def test_cosine_warm_restarts_fractional_epochs():
    """step(epoch) with fractional epochs (the per-batch use) against torch."""
    opt, topt = make_optimizers("SGD")
    sched = optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.01)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=2, T_mult=3, eta_min=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in np.arange(0, 20, 0.25).tolist() + [3, 1, 30.5]:
            sched.step(epoch)
            tsched.step(epoch)
            np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
            assert sched.T_i == tsched.T_i and sched.last_epoch == tsched.last_epoch
    with pytest.raises(ValueError, match="non-negative epoch"):
        sched.step(-1)


@pytest.mark.parametrize("name,args_fn", [CASES[5], CASES[7], CASES[10]], ids=[IDS[5], IDS[7], IDS[10]])
def test_closed_form_step_epoch_matches_torch(name, args_fn):
    opt, topt = make_optimizers("SGD")
    sched = getattr(optim.lr_scheduler, name)(opt, *args_fn(None)[0], **args_fn(None)[1])
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, *args_fn(None)[0], **args_fn(None)[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 8, 1, 15, 30, 0):
            sched.step(epoch)
            tsched.step(epoch)
            np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)


@pytest.mark.parametrize("name,args_fn", [CASES[i] for i in (1, 3, 6, 12, 14, 19)],
                         ids=[IDS[i] for i in (1, 3, 6, 12, 14, 19)])
def test_state_dict_round_trip(name, args_fn):
    """Stop after 7 steps, save, build a fresh scheduler, load: the rest of the schedule is the
    uninterrupted one; the saved keys are torch's."""
    opt, topt = make_optimizers("SGD", momentum=0.9)
    args, kwargs = args_fn(None)
    sched = getattr(optim.lr_scheduler, name)(opt, *args, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, *args, **kwargs)
    full = trace(opt, sched, 20)
    assert set(sched.state_dict()) - {"_is_initial"} <= set(tsched.state_dict())

    opt, _ = make_optimizers("SGD", momentum=0.9)
    sched = getattr(optim.lr_scheduler, name)(opt, *args, **kwargs)
    trace(opt, sched, 7)
    saved_sched, saved_opt = sched.state_dict(), opt.state_dict()
    opt2, _ = make_optimizers("SGD", momentum=0.9)
    opt2.load_state_dict(saved_opt)
    sched2 = getattr(optim.lr_scheduler, name)(opt2, *args, **kwargs)
    sched2.load_state_dict(saved_sched)
    for group, lr in zip(opt2.param_groups, saved_sched["_last_lr"]):
        group["lr"] = lr
    rest = trace(opt2, sched2, 13)
    assert_same_trace(rest[1:], full[8:])


def test_one_cycle_past_total_steps_and_bad_arguments():
    opt, _ = make_optimizers("SGD", momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
    with pytest.raises(ValueError, match="total_steps OR"):
        optim.lr_scheduler.OneCycleLR(opt, 0.5)
    with pytest.raises(ValueError, match="pct_start"):
        optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=10, anneal_strategy="step")
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        optim.lr_scheduler.OneCycleLR(opt, [0.5], total_steps=10)
    no_momentum = optim.Adagrad([pe.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        optim.lr_scheduler.CyclicLR(no_momentum, 0.01, 0.1)
    with pytest.raises(ValueError, match="mode is invalid"):
        optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="T_0"):
        optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="T_mult"):
        optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        optim.lr_scheduler.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        optim.lr_scheduler.LinearLR(opt, start_factor=0.0)
    with pytest.raises(TypeError, match="lr_lambda should be a function"):
        optim.lr_scheduler.MultiplicativeLR(opt, 0.9)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0])


def test_composite_scheduler_errors():
    opt, _ = make_optimizers("SGD")
    other, _ = make_optimizers("SGD")
    lr_s = optim.lr_scheduler
    a, b = lr_s.ExponentialLR(opt, 0.9), lr_s.StepLR(other, 3)
    with pytest.raises(ValueError, match="same optimizer"):
        lr_s.SequentialLR(opt, [a, b], milestones=[3])
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        lr_s.SequentialLR(opt, [a, lr_s.StepLR(opt, 3)], milestones=[3, 5])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        lr_s.ChainedScheduler([a, lr_s.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="at least one scheduler"):
        lr_s.ChainedScheduler([])


def test_one_cycle_reaches_max_lr_at_pct_start():
    opt, _ = make_optimizers("SGD", momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=101, pct_start=0.2, anneal_strategy="linear")
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(100):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert math.isclose(lrs[0], 1.0 / 25) and max(lrs) == lrs[int(np.argmax(lrs))]
    assert abs(int(np.argmax(lrs)) - 19.2) < 1 and math.isclose(lrs[-1], 1.0 / 25 / 1e4, rel_tol=1e-9)
