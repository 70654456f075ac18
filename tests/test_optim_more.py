"""NAdam, RAdam, Adamax, SparseAdam and LBFGS against torch.optim (2.13): trajectories over
several steps with every option that changes the update, in float32 and float64, on every
device (the fused kernels of csrc/cpu/optimizer_kernels.cpp and cuda/optimizer.cu), state_dict
round trips and loading torch's state dicts, argument errors, and L-BFGS on Rosenbrock."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import optim

torch = pytest.importorskip("torch")

SHAPE = (5, 3)
STEPS = 12  # enough for RAdam to pass from plain momentum (rho_t <= 5) to rectified steps

CONFIGS = [
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("NAdam", dict(lr=0.02, betas=(0.5, 0.8), momentum_decay=0.1, eps=1e-3)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.9))),  # rho_inf = 19: rectified from step 6 on
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.05, betas=(0.5, 0.6), eps=1e-3)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CONFIGS]

W0 = np.random.default_rng(5).standard_normal(SHAPE)
GRADS = [np.random.default_rng(10 + s).standard_normal(SHAPE) for s in range(STEPS)]


def host(t):
    return t.detach().cpu().numpy()


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)


def torch_run(name, kwargs, dtype, steps=STEPS):
    p = torch.nn.Parameter(torch.tensor(W0, dtype=getattr(torch, dtype)))
    opt = getattr(torch.optim, name)([p], **kwargs)
    for g in GRADS[:steps]:
        p.grad = torch.tensor(g, dtype=p.dtype)
        opt.step()
    return p, opt


def pe_run(name, kwargs, dtype, device, steps=STEPS, transposed=False):
    if transposed:
        p = pe.tensor(W0.T, dtype=dtype, device=device).t()  # a non-contiguous parameter
    else:
        p = pe.tensor(W0, dtype=dtype, device=device)
    p.requires_grad_(True)
    opt = getattr(optim, name)([p], **kwargs)
    for g in GRADS[:steps]:
        p.grad = pe.tensor(g, dtype=dtype, device=device)
        opt.step()
    return p, opt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(device, name, kwargs, dtype):
    want, topt = torch_run(name, kwargs, dtype)
    got, opt = pe_run(name, kwargs, dtype, device)
    assert str(got.device).startswith(device) and host(got).dtype == np.dtype(dtype)
    np.testing.assert_allclose(host(got), host(want), **tol(dtype))
    tstate, state = topt.state[want], opt.state[got]
    assert set(state) == set(tstate)  # torch's state keys
    for key, value in tstate.items():
        if value.dim() == 0:
            np.testing.assert_allclose(float(state[key]), float(value), rtol=1e-7)
        else:
            np.testing.assert_allclose(host(state[key]), value.numpy(), **tol(dtype))


@pytest.mark.parametrize("name,kwargs", [CONFIGS[2], CONFIGS[6], CONFIGS[9]], ids=[IDS[2], IDS[6], IDS[9]])
def test_non_contiguous_param(device, name, kwargs):
    want, _ = torch_run(name, kwargs, "float64", steps=4)
    got, _ = pe_run(name, kwargs, "float64", device, steps=4, transposed=True)
    np.testing.assert_allclose(host(got), host(want), **tol("float64"))


def test_param_groups_defaults_match_torch():
    for name in ("NAdam", "RAdam", "Adamax", "SparseAdam"):
        tp = torch.nn.Parameter(torch.zeros(2))
        tgroup = getattr(torch.optim, name)([tp]).param_groups[0]
        group = getattr(optim, name)([pe.zeros(2, requires_grad=True)]).param_groups[0]
        for key, value in group.items():
            if key != "params":
                assert tgroup[key] == value, (name, key)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[1], CONFIGS[5], CONFIGS[9]], ids=[IDS[1], IDS[5], IDS[9]])
def test_state_dict_round_trip_and_from_torch(name, kwargs):
    # ours -> ours: stopping after 5 steps and resuming gives the uninterrupted trajectory
    full, _ = pe_run(name, kwargs, "float64", "cpu")
    half, opt = pe_run(name, kwargs, "float64", "cpu", steps=5)
    saved = opt.state_dict()
    assert set(saved["state"][0]) == set(torch_run(name, kwargs, "float64", steps=1)[1].state_dict()["state"][0])
    p = pe.tensor(host(half), requires_grad=True)
    resumed = getattr(optim, name)([p], **kwargs)
    resumed.load_state_dict(saved)
    for g in GRADS[5:]:
        p.grad = pe.tensor(g)
        resumed.step()
    np.testing.assert_allclose(host(p), host(full), rtol=1e-12, atol=1e-14)

    # torch -> ours: torch's state dict (0-d tensor step / mu_product) continues in pyengine
    tp, topt = torch_run(name, kwargs, "float64", steps=5)
    p = pe.tensor(tp.detach().numpy(), requires_grad=True)
    mine = getattr(optim, name)([p], **kwargs)
    mine.load_state_dict(topt.state_dict())
    for g in GRADS[5:]:
        p.grad = pe.tensor(g)
        mine.step()
    np.testing.assert_allclose(host(p), host(full), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax"])
def test_bad_arguments(name):
    p = [pe.zeros(2, requires_grad=True)]
    cls = getattr(optim, name)
    for bad in (dict(lr=-1.0), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1)),
                dict(weight_decay=-1.0)):
        with pytest.raises(ValueError):
            cls(p, **bad)
    if name == "NAdam":
        with pytest.raises(ValueError, match="momentum_decay"):
            cls(p, momentum_decay=-1.0)


def test_kernel_rejects_mismatched_state():
    p = pe.zeros(3)
    with pytest.raises(ValueError, match="exp_inf shape"):
        pe._C.adamax_step_(p._impl, p._impl, pe.zeros(3)._impl, pe.zeros(4)._impl, 1.0, 0.1)
    with pytest.raises(TypeError, match="exp_avg dtype"):
        pe._C.nadam_step_(p._impl, pe.zeros(3)._impl, pe.zeros(3, dtype=pe.float64)._impl, pe.zeros(3)._impl,
                          1.0, 0.9, 0.9, 0.9, 0.1)
    with pytest.raises(ValueError, match="step"):
        pe._C.radam_step_(p._impl, pe.zeros(3)._impl, pe.zeros(3)._impl, pe.zeros(3)._impl, 0.0, 0.1)


# ----- SparseAdam ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("maximize", [False, True])
def test_sparse_adam_matches_torch_embedding(device, dtype, maximize):
    """torch's SparseAdam on nn.Embedding(sparse=True) against ours on the dense gradient of the
    same lookups: rows not looked up stay untouched, looked-up rows follow torch."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((7, 3))
    emb = torch.nn.Embedding(7, 3, sparse=True).to(getattr(torch, dtype))
    with torch.no_grad():
        emb.weight.copy_(torch.tensor(w0))
    topt = torch.optim.SparseAdam(emb.parameters(), lr=0.1, betas=(0.8, 0.9), maximize=maximize)
    p = pe.tensor(w0, dtype=dtype, device=device, requires_grad=True)
    opt = optim.SparseAdam([p], lr=0.1, betas=(0.8, 0.9), maximize=maximize)
    for _ in range(6):
        idx = rng.choice(7, 3, replace=False)
        up = rng.standard_normal((3, 3))
        topt.zero_grad()
        (emb(torch.tensor(idx)) * torch.tensor(up, dtype=emb.weight.dtype)).sum().backward()
        topt.step()
        g = np.zeros((7, 3))
        g[idx] = up
        p.grad = pe.tensor(g, dtype=dtype, device=device)
        opt.step()
    np.testing.assert_allclose(host(p), emb.weight.detach().numpy(), **tol(dtype))
    tstate = topt.state[emb.weight]
    assert opt.state[p]["step"] == tstate["step"] == 6
    np.testing.assert_allclose(host(opt.state[p]["exp_avg_sq"]), tstate["exp_avg_sq"].numpy(), **tol(dtype))


def test_sparse_adam_untouched_rows_and_torch_errors():
    p = pe.tensor(np.arange(6.0, dtype=np.float32).reshape(3, 2), requires_grad=True)
    opt = optim.SparseAdam([p], lr=0.5)
    p.grad = pe.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    opt.step()
    got = host(p)
    np.testing.assert_array_equal(got[[0, 2]], [[0.0, 1.0], [4.0, 5.0]])
    assert got[1, 0] == 2.0 and got[1, 1] < 3.0  # a held row: its zero element's moments are updated (to 0)
    with pytest.raises(ValueError, match="learning rate"):
        optim.SparseAdam([p], lr=0.0)
    with pytest.raises(ValueError, match="epsilon"):
        optim.SparseAdam([p], eps=0.0)


# ----- LBFGS ---------------------------------------------------------------------------------


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def lbfgs_runs(lib, x0, dtype, calls, **kwargs):
    tensor = torch.tensor if lib is torch else pe.tensor
    x = tensor(np.array(x0), dtype=getattr(lib, dtype))
    x.requires_grad_(True)
    opt = (torch.optim if lib is torch else optim).LBFGS([x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    losses, points = [], []
    for _ in range(calls):
        losses.append(float(opt.step(closure)))
        points.append(host(x).copy())
    return losses, points, opt


@pytest.mark.parametrize("kwargs", [dict(lr=0.05, history_size=10), dict(lr=1, line_search_fn="strong_wolfe"),
                                    dict(lr=0.5, max_iter=7, history_size=3, line_search_fn="strong_wolfe"),
                                    dict(lr=0.02, max_iter=4, max_eval=3, history_size=2)],
                         ids=["fixed-step", "strong-wolfe", "short-history", "max-eval"])
def test_lbfgs_rosenbrock_matches_torch_float64(kwargs):
    want_losses, want_points, topt = lbfgs_runs(torch, [-1.5, 2.0], "float64", 4, **kwargs)
    losses, points, opt = lbfgs_runs(pe, [-1.5, 2.0], "float64", 4, **kwargs)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(points, want_points, rtol=1e-9, atol=1e-12)
    tstate, state = topt.state_dict()["state"][0], opt.state_dict()["state"][0]
    assert set(state) == set(tstate)
    assert state["func_evals"] == tstate["func_evals"] and state["n_iter"] == tstate["n_iter"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lbfgs_strong_wolfe_solves_rosenbrock(device, dtype):
    x = pe.tensor([-1.5, 2.0], dtype=dtype, device=device, requires_grad=True)
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(host(x), [1.0, 1.0], atol=1e-3)


def test_lbfgs_least_squares_two_params_and_state_round_trip():
    """A linear least-squares fit with weight and bias (two parameters, one flat vector) reaches
    numpy's lstsq solution; a state dict from torch's LBFGS resumes in ours like torch itself."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((20, 3))
    b = rng.standard_normal(20)

    def make(lib):
        tensor = torch.tensor if lib is torch else pe.tensor
        w = tensor(np.zeros(3))
        c = tensor(np.zeros(1))
        w.requires_grad_(True)
        c.requires_grad_(True)
        A, B = tensor(a), tensor(b)
        opt = (torch.optim if lib is torch else optim).LBFGS([w, c], history_size=5, max_iter=3,
                                                             line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = ((A @ w + c - B) ** 2).mean()
            loss.backward()
            return loss
        return w, c, opt, closure

    tw, tc, topt, tclosure = make(torch)
    topt.step(tclosure)
    w, c, opt, closure = make(pe)
    w.data = pe.tensor(tw.detach().numpy())
    c.data = pe.tensor(tc.detach().numpy())
    opt.load_state_dict(topt.state_dict())
    for _ in range(6):
        topt.step(tclosure)
        opt.step(closure)
    np.testing.assert_allclose(host(w), tw.detach().numpy(), rtol=1e-8, atol=1e-10)
    full = np.linalg.lstsq(np.c_[a, np.ones(20)], b, rcond=None)[0]
    np.testing.assert_allclose(np.r_[host(w), host(c)], full, atol=1e-4)  # stops on tolerance_change


def test_lbfgs_errors():
    x = pe.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [pe.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="learning rate"):
        optim.LBFGS([x], lr=-1)
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS([x]).step(None)
