"""pyengine.optim: optimizers against PyTorch (trajectories, state), the fused _C step kernels
against NumPy references, the Optimizer bookkeeping (groups, closures, zero_grad, state dicts),
error paths, and gradient clipping."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyengine as pe
from pyengine import _C, optim

F64 = np.float64

# ----------------------------------------------------------------------------------------------
# Trajectories against PyTorch
# ----------------------------------------------------------------------------------------------

SHAPES = [(3, 4), (5,), ()]


def _initial_params():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s) for s in SHAPES]


def _loss_grad(i, value, step):
    """Gradient of a per-parameter quadratic that also drifts with the step, so every moment
    buffer sees varied inputs: d/dp [c p^2 + d_t p]."""
    c = 0.5 + 0.25 * i
    return 2 * c * value + 0.1 * math.sin(step + i) - 0.05 * i


def _torch_run(torch, name, kwargs, groups, steps, dtype="float64"):
    dt = getattr(torch, dtype)
    params = [torch.tensor(a.copy(), dtype=dt, requires_grad=True) for a in _initial_params()]
    opt = getattr(torch.optim, name)(groups(params), **kwargs)
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = torch.tensor(_loss_grad(i, p.detach().numpy(), t), dtype=dt)
        opt.step()
    return params, opt


def _pe_run(name, kwargs, groups, steps, params=None, opt=None, start=0, dtype="float64"):
    dt = getattr(pe, dtype)
    if params is None:
        params = [pe.tensor(a.copy(), dtype=dt, requires_grad=True) for a in _initial_params()]
        opt = getattr(optim, name)(groups(params), **kwargs)
    for t in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = pe.tensor(_loss_grad(i, p.detach().numpy(), t), dtype=dt)
        opt.step()
    return params, opt


def one_group(params):
    return params


def two_groups(params):
    return [{"params": params[:1], "lr": 0.05}, {"params": params[1:]}]


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.5, weight_decay=0.01, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, betas=(0.4, 0.9))),  # 1 - beta1 >= 0.5: lerp's other form
    ("Adam", dict(lr=0.05, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2, amsgrad=True, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(centered=True)),
    ("RMSprop", dict(momentum=0.9)),
    ("RMSprop", dict(alpha=0.3, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
]


def _assert_same_state(torch_opt, pe_opt):
    ts, ps = torch_opt.state_dict(), pe_opt.state_dict()
    assert ts["state"].keys() == ps["state"].keys()
    for k, tstate in ts["state"].items():
        assert tstate.keys() == ps["state"][k].keys()
        for name, tv in tstate.items():
            pv = ps["state"][k][name]
            if name == "step":
                assert float(tv) == pv
            else:
                np.testing.assert_allclose(pv.numpy(), tv.numpy(), rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
@pytest.mark.parametrize("groups", [one_group, two_groups])
def test_trajectory_matches_torch(name, kwargs, groups):
    torch = pytest.importorskip("torch")
    tparams, topt = _torch_run(torch, name, kwargs, groups, 20)
    pparams, popt = _pe_run(name, kwargs, groups, 20)
    for tp, pp in zip(tparams, pparams):
        assert pp.dtype == pe.float64 and pp.shape == tuple(tp.shape)
        np.testing.assert_allclose(pp.detach().numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-6)
    _assert_same_state(topt, popt)


@pytest.mark.parametrize("name,kwargs", CONFIGS[1::2], ids=[f"{n}-{k}" for n, k in CONFIGS[1::2]])
def test_float32_trajectory_matches_torch(name, kwargs):
    """Same arithmetic order as PyTorch: float32 runs agree to float32 rounding, not just float64's."""
    torch = pytest.importorskip("torch")
    tparams, _ = _torch_run(torch, name, kwargs, one_group, 20, dtype="float32")
    pparams, _ = _pe_run(name, kwargs, one_group, 20, dtype="float32")
    for tp, pp in zip(tparams, pparams):
        assert pp.dtype == pe.float32
        np.testing.assert_allclose(pp.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


MLP_CONFIGS = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("Adam", dict(lr=0.01, amsgrad=True)),
               ("AdamW", dict(lr=0.01, weight_decay=0.1)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
               ("Adagrad", dict(lr=0.1, lr_decay=0.01)), ("Adadelta", dict(lr=1.0))]


@pytest.mark.parametrize("name,kwargs", MLP_CONFIGS, ids=[n for n, _ in MLP_CONFIGS])
def test_mlp_training_with_autograd_matches_torch(name, kwargs):
    """A small tanh MLP trained through each framework's own autograd and a closure."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
    init = [0.5 * rng.standard_normal((4, 8)), np.zeros(8), 0.5 * rng.standard_normal((8, 2)), np.zeros(2)]

    def train(lib, opt_module):
        params = [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True) for a in init]
        X, Y = lib.tensor(x, dtype=lib.float64), lib.tensor(y, dtype=lib.float64)
        opt = getattr(opt_module, name)(params, **kwargs)

        def closure():
            opt.zero_grad()
            out = (X @ params[0] + params[1]).tanh() @ params[2] + params[3]
            loss = ((out - Y) ** 2).mean()
            loss.backward()
            return loss

        losses = [float(opt.step(closure).detach()) for _ in range(20)]
        return [p.detach().numpy() for p in params], losses

    tparams, tlosses = train(torch, torch.optim)
    pparams, plosses = train(pe, optim)
    np.testing.assert_allclose(plosses, tlosses, rtol=1e-6)
    assert plosses[-1] < plosses[0]
    for tp, pp in zip(tparams, pparams):
        np.testing.assert_allclose(pp, tp, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", CONFIGS[::3], ids=[f"{n}-{k}" for n, k in CONFIGS[::3]])
def test_state_dict_round_trip_continues_trajectory(name, kwargs):
    ref_params, _ = _pe_run(name, kwargs, two_groups, 20)
    params, opt = _pe_run(name, kwargs, two_groups, 10)
    saved = opt.state_dict()
    snapshot = {k: {key: v.numpy().copy() for key, v in st_.items() if key != "step"}
                for k, st_ in saved["state"].items()}
    # A fresh model and optimizer (built with other options), restored from the checkpoint.
    params2 = [pe.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
    opt2 = getattr(optim, name)(two_groups(params2), lr=0.5)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[1]["lr"] == opt.param_groups[1]["lr"]
    _pe_run(name, kwargs, two_groups, 10, params2, opt2, start=10)
    for r, p in zip(ref_params, params2):
        np.testing.assert_array_equal(p.detach().numpy(), r.detach().numpy())
    # The loaded state is a copy: stepping opt2 did not move the tensors in `saved` (opt's live state).
    for k, state in opt.state_dict()["state"].items():
        for key, v in state.items():
            if key != "step":
                assert v is saved["state"][k][key] and v is not opt2.state_dict()["state"][k][key]
                np.testing.assert_array_equal(v.numpy(), snapshot[k][key])


def test_state_dict_format_matches_torch():
    torch = pytest.importorskip("torch")
    _, topt = _torch_run(torch, "Adam", dict(amsgrad=True), two_groups, 3)
    _, popt = _pe_run("Adam", dict(amsgrad=True), two_groups, 3)
    ts, ps = topt.state_dict(), popt.state_dict()
    assert [g["params"] for g in ps["param_groups"]] == [[0], [1, 2]] == [g["params"] for g in ts["param_groups"]]
    for tg, pg in zip(ts["param_groups"], ps["param_groups"]):
        for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"):
            assert pg[key] == tg[key]
    assert list(ps["state"][1]) == list(ts["state"][1]) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]


def test_load_torch_state_dict_continues_torch_trajectory():
    torch = pytest.importorskip("torch")
    kwargs = dict(lr=0.05, amsgrad=True, weight_decay=0.1)
    tparams, topt = _torch_run(torch, "AdamW", kwargs, two_groups, 10)
    params = [pe.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tparams]
    opt = optim.AdamW(two_groups(params), **kwargs)
    opt.load_state_dict(topt.state_dict())  # torch tensors and 0-d step tensors are converted
    for t in range(10, 20):
        for i, (tp, pp) in enumerate(zip(tparams, params)):
            tp.grad = torch.tensor(_loss_grad(i, tp.detach().numpy(), t), dtype=torch.float64)
            pp.grad = pe.tensor(_loss_grad(i, pp.detach().numpy(), t), dtype=pe.float64)
        topt.step()
        opt.step()
    for tp, pp in zip(tparams, params):
        np.testing.assert_allclose(pp.detach().numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_state_dict_survives_checkpoint_file(tmp_path):
    pytest.importorskip("safetensors")
    from pyengine import io
    ref, _ = _pe_run("RMSprop", dict(momentum=0.5, centered=True), one_group, 12)
    params, opt = _pe_run("RMSprop", dict(momentum=0.5, centered=True), one_group, 6)
    io.save(opt.state_dict(), str(tmp_path / "opt.safetensors"))
    opt2 = optim.RMSprop(params, momentum=0.5, centered=True)
    opt2.load_state_dict(io.load(str(tmp_path / "opt.safetensors")))
    _pe_run("RMSprop", {}, one_group, 6, params, opt2, start=6)
    for r, p in zip(ref, params):
        np.testing.assert_array_equal(p.detach().numpy(), r.detach().numpy())


def test_load_state_dict_mismatches_name_the_counts():
    a, b = pe.zeros(2, requires_grad=True), pe.zeros(3, requires_grad=True)
    saved = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups: 2 in the state dict, 1"):
        optim.SGD([a, b], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 1 has 1 parameters in the state dict, 2 in the optimizer"):
        optim.SGD([{"params": [a]}, {"params": [b, pe.zeros(1, requires_grad=True)]}], lr=0.1).load_state_dict(saved)
    opt = optim.Adam([a])
    a.grad = pe.ones(2)
    opt.step()
    bad = opt.state_dict()
    bad["state"][0]["exp_avg"] = pe.zeros(5)
    fresh = optim.Adam([pe.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match=r"'exp_avg' of shape \(5,\) for parameter 0, which has shape \(2,\)"):
        fresh.load_state_dict(bad)
    assert len(fresh.state) == 0  # nothing changed


# ----------------------------------------------------------------------------------------------
# Optimizer bookkeeping
# ----------------------------------------------------------------------------------------------

def test_closure_runs_with_grad_enabled_and_returns_loss():
    w = pe.tensor([1.0, -2.0], dtype=pe.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    calls = []

    def closure():
        calls.append(pe.is_grad_enabled())
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with pe.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert float(loss) == 5.0
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, -1.0])  # w - 0.25 * 2w
    assert opt.step() is None


def test_zero_grad_semantics():
    a = pe.tensor([1.0, 2.0], requires_grad=True)
    b = pe.tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = pe.tensor([5.0, 6.0])
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and a.grad.tolist() == [0.0, 0.0] and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_params_without_grad_are_skipped():
    a = pe.tensor([1.0, 2.0], requires_grad=True)
    b = pe.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = pe.tensor([1.0, 1.0])
    opt.step()
    assert b.tolist() == [3.0] and b not in opt.state and opt.state[a]["step"] == 1.0


def test_step_bumps_param_version_and_keeps_identity():
    p = pe.tensor([1.0, 2.0], requires_grad=True)
    impl, version = p._impl, p._version
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = pe.tensor([1.0, 1.0])
    opt.step()
    assert p._impl is impl and p._version > version
    np.testing.assert_allclose(p.detach().numpy(), [0.9, 1.9], rtol=1e-6)


def test_param_groups_and_add_param_group():
    a, b = pe.zeros(2, requires_grad=True), pe.zeros(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["params"] == [b]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([a])
    assert "Parameter Group 1" in repr(opt)


def test_step_error_changes_nothing():
    p = pe.tensor([1.0, 2.0], dtype=pe.float64, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = pe.tensor([1.0, 1.0], dtype=pe.float32)
    with pytest.raises(TypeError, match="grad dtype float32 does not match param dtype float64"):
        opt.step()
    assert p.tolist() == [1.0, 2.0] and p not in opt.state
    p.grad = pe.tensor([1.0, 1.0, 1.0], dtype=pe.float64)
    with pytest.raises(ValueError, match=r"grad shape \(3,\) does not match param shape \(2,\)"):
        opt.step()


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
    (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.AdamW(p, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: optim.RMSprop(p, momentum=-1), "Invalid momentum value: -1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value: 1.5"),
    (lambda p: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
])
def test_bad_hyperparameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([pe.zeros(2, requires_grad=True)])


def test_bad_params_raise():
    p = pe.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([p], lr=0.1).add_param_group({"params": {pe.zeros(1, requires_grad=True)}})


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=-1)), ("Adam", dict(betas=(0.9, 1.0))),
                                         ("Adadelta", dict(rho=-2.0)), ("RMSprop", dict(eps=-1.0))])
def test_error_messages_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([pe.zeros(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------------------------
# The fused kernels against NumPy references
# ----------------------------------------------------------------------------------------------

def _lerp(a, b, w):
    return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (1 - w)


def ref_sgd(p, g, buf, lr, momentum, dampening, wd, nesterov, maximize, first):
    g = -g if maximize else g
    if wd:
        g = g + wd * p
    if momentum:
        buf[...] = g if first else buf * momentum + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    p[...] = p + (-lr) * g


def ref_adam(p, g, m, v, vmax, step, lr, b1, b2, eps, wd, decoupled, amsgrad, maximize):
    g = -g if maximize else g
    if wd and decoupled:
        p[...] = p * (1 - lr * wd)
    elif wd:
        g = g + wd * p
    m[...] = _lerp(m, g, 1 - b1)
    v[...] = v * b2 + (1 - b2) * g * g
    if amsgrad:
        vmax[...] = np.maximum(vmax, v)
    denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2 ** step) + eps
    p[...] = p + (-(lr / (1 - b1 ** step))) * m / denom


def ref_rmsprop(p, g, sq, gavg, buf, lr, alpha, eps, wd, momentum, centered, maximize):
    g = -g if maximize else g
    if wd:
        g = g + wd * p
    sq[...] = sq * alpha + (1 - alpha) * g * g
    if centered:
        gavg[...] = _lerp(gavg, g, 1 - alpha)
        avg = np.sqrt(sq - gavg * gavg) + eps
    else:
        avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf[...] = buf * momentum + g / avg
        p[...] = p + (-lr) * buf
    else:
        p[...] = p + (-lr) * g / avg


def ref_adagrad(p, g, s, step, lr, lr_decay, wd, eps, maximize):
    g = -g if maximize else g
    if wd:
        g = g + wd * p
    s[...] = s + g * g
    p[...] = p + (-(lr / (1 + (step - 1) * lr_decay))) * g / (np.sqrt(s) + eps)


def ref_adadelta(p, g, sq, acc, lr, rho, eps, wd, maximize):
    g = -g if maximize else g
    if wd:
        g = g + wd * p
    sq[...] = sq * rho + (1 - rho) * g * g
    delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
    acc[...] = acc * rho + (1 - rho) * delta * delta
    p[...] = p + (-lr) * delta


# name -> (state buffer names (None = optional, off), kernel args after the buffers, reference)
KERNELS = {
    "sgd": (["buf"], (0.1, 0.9, 0.2, 0.05, False, True, False), ref_sgd, _C.sgd_step_),
    "sgd_first_nesterov": (["buf"], (0.1, 0.9, 0.0, 0.0, True, False, True), ref_sgd, _C.sgd_step_),
    "sgd_plain": ([None], (0.1, 0.0, 0.0, 0.0, False, False, False), ref_sgd, _C.sgd_step_),
    "adam": (["m", "v", None], (3.0, 1e-2, 0.9, 0.999, 1e-8, 0.1, False, False, True), ref_adam, _C.adam_step_),
    "adamw_amsgrad": (["m", "v", "vmax"], (2.0, 1e-2, 0.3, 0.9, 1e-8, 0.1, True, True, False), ref_adam,
                      _C.adam_step_),
    "rmsprop": (["sq", None, None], (1e-2, 0.99, 1e-8, 0.0, 0.0, False, False), ref_rmsprop, _C.rmsprop_step_),
    "rmsprop_centered_momentum": (["sq", "gavg", "buf"], (1e-2, 0.4, 1e-8, 0.1, 0.9, True, True), ref_rmsprop,
                                  _C.rmsprop_step_),
    "adagrad": (["s"], (4.0, 0.1, 0.1, 0.05, 1e-10, True), ref_adagrad, _C.adagrad_step_),
    "adadelta": (["sq", "acc"], (1.0, 0.9, 1e-6, 0.1, True), ref_adadelta, _C.adadelta_step_),
}


def _kernel_case(name, n, dtype, seed=0):
    """Random param/grad/state arrays for kernel `name` (state buffers positive, as they are in
    use: sums of squares), and the full argument lists for the kernel and the reference."""
    buffers, hyper, ref, kernel = KERNELS[name]
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    states = [None if b is None else (rng.random(n) + 0.5).astype(dtype) for b in buffers]
    if name == "rmsprop_centered_momentum":
        states[1] *= 0.1  # grad_avg**2 must stay below square_avg
    return p, g, states, hyper, ref, kernel


def _run_kernel(kernel, p, g, states, hyper):
    pt, gt = pe.from_numpy(p), pe.from_numpy(g)
    impls = [None if s is None else pe.from_numpy(s)._impl for s in states]
    kernel(pt._impl, gt._impl, *impls, *hyper)
    return pt


@pytest.mark.parametrize("name", sorted(KERNELS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 13, 97, 40009])
def test_kernel_matches_numpy_reference(name, dtype, n):
    p, g, states, hyper, ref, kernel = _kernel_case(name, n, dtype)
    rp, rstates = p.astype(F64), [None if s is None else s.astype(F64) for s in states]
    ref(rp, g.astype(F64), *rstates, *hyper)
    _run_kernel(kernel, p, g, states, hyper)  # in place on the NumPy arrays (zero-copy)
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p, rp, **tol)
    for s, r in zip(states, rstates):
        if s is not None:
            np.testing.assert_allclose(s, r, **tol)


@pytest.mark.parametrize("name", ["adam", "rmsprop_centered_momentum", "sgd"])
def test_kernel_independent_of_threads_and_isa(name):
    n = 100_003
    results = []
    isas = ["generic", "avx2", "avx512"]
    isas = isas[: isas.index(_C.best_isa()) + 1]
    old_threads, old_isa = _C.get_num_threads(), _C.active_isa()
    try:
        for isa in isas:
            for threads in (1, 2, 3):
                _C.set_isa(isa)
                _C.set_num_threads(threads)
                p, g, states, hyper, _, kernel = _kernel_case(name, n, np.float64, seed=3)
                _run_kernel(kernel, p, g, states, hyper)
                results.append((isa, threads, p))
    finally:
        _C.set_num_threads(old_threads)
        _C.set_isa(old_isa)
    for isa, threads, p in results:
        same_isa = [r for i, t, r in results if i == isa]
        np.testing.assert_array_equal(p, same_isa[0], err_msg=f"{isa} with {threads} threads")
        np.testing.assert_allclose(p, results[0][2], rtol=1e-13, atol=1e-15)  # FMA may differ in the last bit


@settings(max_examples=30, deadline=None)
@given(lr=st.floats(0, 1), b1=st.floats(0, 0.999), b2=st.floats(0, 0.999), wd=st.floats(0, 1),
       step=st.integers(1, 1000), decoupled=st.booleans(), amsgrad=st.booleans(), maximize=st.booleans(),
       n=st.integers(0, 40))
def test_adam_kernel_property(lr, b1, b2, wd, step, decoupled, amsgrad, maximize, n):
    p, g, (m, v, vmax), _, _, _ = _kernel_case("adamw_amsgrad", n, np.float64, seed=n)
    hyper = (float(step), lr, b1, b2, 1e-8, wd, decoupled, amsgrad, maximize)
    rp, rm, rv, rvmax = p.copy(), m.copy(), v.copy(), vmax.copy()
    ref_adam(rp, g, rm, rv, rvmax, *hyper)
    _run_kernel(_C.adam_step_, p, g, [m, v, vmax if amsgrad else None], hyper)
    for ours, ref in [(p, rp), (m, rm), (v, rv)] + ([(vmax, rvmax)] if amsgrad else []):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_amsgrad_max_propagates_nan_like_torch_maximum(dtype):
    """max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq) keeps a NaN from either side."""
    p, g = np.ones(9, dtype), np.full(9, 0.5, dtype)
    m, v = np.zeros(9, dtype), np.full(9, 1.0, dtype)
    vmax = np.full(9, 2.0, dtype)
    v[2] = np.nan
    vmax[6] = np.nan
    _run_kernel(_C.adam_step_, p, g, [m, v, vmax], (1.0, 0.1, 0.9, 0.999, 1e-8, 0.0, False, True, False))
    assert np.isnan(vmax[[2, 6]]).all() and np.isnan(p[[2, 6]]).all()
    assert np.isfinite(np.delete(vmax, [2, 6])).all() and np.isfinite(np.delete(p, [2, 6])).all()


def test_kernel_non_contiguous_param_and_grad():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((6, 5))
    g = rng.standard_normal((6, 10))[:, ::2].T  # (5, 6), not contiguous
    expected = base.T.copy()
    buf = np.zeros((5, 6))
    ref_sgd(expected, g.copy(), buf, 0.1, 0.9, 0.0, 0.01, False, False, True)
    param = pe.from_numpy(base).t()  # (5, 6) view of base, not contiguous
    assert not param.is_contiguous()
    version = param._version
    mbuf = pe.zeros(5, 6, dtype=pe.float64)
    _C.sgd_step_(param._impl, pe.from_numpy(g)._impl, mbuf._impl, 0.1, 0.9, 0.0, 0.01, False, False, True)
    np.testing.assert_allclose(param.numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose(base.T, expected, rtol=1e-14)  # written through to the original storage
    np.testing.assert_allclose(mbuf.numpy(), buf, rtol=1e-14)
    assert param._version > version and mbuf._version > 0


def test_kernel_grad_aliasing_param():
    p = np.array([1.0, -2.0, 3.0])
    t = pe.from_numpy(p)
    _C.adam_step_(t._impl, t._impl, pe.zeros(3, dtype=pe.float64)._impl, pe.zeros(3, dtype=pe.float64)._impl, None,
                  1.0, 0.1)
    expected = np.array([1.0, -2.0, 3.0])
    ref_adam(expected, expected.copy(), np.zeros(3), np.zeros(3), None, 1.0, 0.1, 0.9, 0.999, 1e-8, 0, False, False,
             False)
    np.testing.assert_allclose(p, expected, rtol=1e-14)


def test_kernel_errors():
    p = pe.zeros(4, dtype=pe.float64)
    z = lambda *shape, dtype=pe.float64: pe.zeros(*shape, dtype=dtype)._impl  # noqa: E731
    with pytest.raises(TypeError, match=r"param must be a floating dtype \(float32, float64, float16 .*got int64"):
        _C.sgd_step_(pe.zeros(4, dtype=pe.int64)._impl, z(4, dtype=pe.int64), None, 0.1)
    with pytest.raises(TypeError, match="exp_avg dtype float32 does not match param dtype float64"):
        _C.adam_step_(p._impl, z(4), z(4, dtype=pe.float32), z(4), None, 1.0, 0.1)
    with pytest.raises(ValueError, match=r"exp_avg_sq shape \(2, 2\) does not match param shape \(4,\)"):
        _C.adam_step_(p._impl, z(4), z(4), z(2, 2), None, 1.0, 0.1)
    with pytest.raises(ValueError, match="amsgrad=True needs the state buffer max_exp_avg_sq, got None"):
        _C.adam_step_(p._impl, z(4), z(4), z(4), None, 1.0, 0.1, amsgrad=True)
    with pytest.raises(ValueError, match="momentum != 0 needs the state buffer momentum_buf"):
        _C.sgd_step_(p._impl, z(4), None, 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="centered=True needs the state buffer grad_avg"):
        _C.rmsprop_step_(p._impl, z(4), z(4), None, None, 0.1, centered=True)
    with pytest.raises(ValueError, match=r"state buffer sum must be contiguous, got strides \(1, 2\)"):
        _C.adagrad_step_(pe.zeros(2, 2, dtype=pe.float64)._impl, z(2, 2), pe.zeros(2, 2, dtype=pe.float64).t()._impl,
                         1.0, 0.1)
    shared = z(4)
    with pytest.raises(ValueError, match="state buffers square_avg and acc_delta overlap in memory"):
        _C.adadelta_step_(p._impl, z(4), shared, shared)
    with pytest.raises(ValueError, match="state buffer exp_avg overlaps the parameter"):
        _C.adam_step_(p._impl, z(4), p._impl, z(4), None, 1.0, 0.1)
    with pytest.raises(ValueError, match="sharing memory"):
        _C.sgd_step_(pe.zeros(1, dtype=pe.float64).expand(4)._impl, z(4), None, 0.1)
    with pytest.raises(ValueError, match="step counts this update and must be >= 1, got 0"):
        _C.adam_step_(p._impl, z(4), z(4), z(4), None, 0.0, 0.1)
    assert p.tolist() == [0.0] * 4


def test_kernel_empty_and_scalar_params():
    for shape in [(0,), (3, 0), ()]:
        p = pe.ones(*shape, dtype=pe.float32) if shape else pe.tensor(1.0)
        _C.adam_step_(p._impl, pe.ones_like(p)._impl, pe.zeros_like(p)._impl, pe.zeros_like(p)._impl, None, 1.0, 0.5)
        if not shape:
            assert abs(p.item() - 0.5) < 1e-6  # the first Adam step moves by lr * sign(grad)


# ----------------------------------------------------------------------------------------------
# Gradient clipping
# ----------------------------------------------------------------------------------------------

def _clip_case(torch, dtypes=(np.float64, np.float64, np.float64), scale=1.0):
    rng = np.random.default_rng(7)
    arrays = [scale * rng.standard_normal(s).astype(d) for s, d in zip([(3, 4), (5,), ()], dtypes)]
    tps, pps = [], []
    for a in arrays:
        tp = torch.tensor(a.copy(), requires_grad=True)
        tp.grad = torch.tensor(a * 2)
        pp = pe.tensor(a.copy(), requires_grad=True)
        pp.grad = pe.tensor(a * 2)
        tps.append(tp)
        pps.append(pp)
    return tps, pps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("dtypes", [(np.float64,) * 3, (np.float32,) * 3, (np.float32, np.float64, np.float32)])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtypes):
    torch = pytest.importorskip("torch")
    tps, pps = _clip_case(torch, dtypes)
    total_t = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    total_p = optim.clip_grad_norm_(pps, max_norm, norm_type)
    assert isinstance(total_p, pe.Tensor) and total_p.shape == ()
    assert str(total_p.dtype).split(".")[-1] == str(total_t.dtype).split(".")[-1]
    np.testing.assert_allclose(total_p.item(), total_t.item(), rtol=1e-6)
    for tp, pp in zip(tps, pps):
        np.testing.assert_allclose(pp.grad.numpy(), tp.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_edge_cases():
    torch = pytest.importorskip("torch")
    assert optim.clip_grad_norm_([pe.zeros(2, requires_grad=True)], 1.0).item() == 0.0  # no grads at all
    p = pe.tensor([3.0, 4.0], requires_grad=True)
    p.grad = pe.tensor([3.0, 4.0])
    total = optim.clip_grad_norm_(p, 1.0)  # a single tensor
    assert abs(total.item() - 5.0) < 1e-6
    t = torch.tensor([3.0, 4.0], requires_grad=True)
    t.grad = torch.tensor([3.0, 4.0])
    torch.nn.utils.clip_grad_norm_(t, 1.0)
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    p.grad = pe.tensor([math.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert p.grad.tolist()[1] == 1.0  # unchanged on error
    optim.clip_grad_norm_([p], 1.0)  # scales by the non-finite norm, as PyTorch does
    assert p.grad.tolist()[1] == 0.0


@pytest.mark.parametrize("clip_value", [0.3, 2, 100.0])
def test_clip_grad_value_matches_torch(clip_value):
    torch = pytest.importorskip("torch")
    tps, pps = _clip_case(torch, scale=1.5)
    pps.append(pe.zeros(3, requires_grad=True))  # no grad: skipped
    torch.nn.utils.clip_grad_value_(tps, clip_value)
    assert optim.clip_grad_value_(pps, clip_value) is None
    for tp, pp in zip(tps, pps):
        np.testing.assert_array_equal(pp.grad.numpy(), tp.grad.numpy())
