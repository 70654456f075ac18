"""The fused optimizer steps on float16 and bfloat16 parameters (a model after .half() or
.bfloat16()), against torch.optim doing the same on 16-bit parameters (foreach=False): state
buffers stay in the parameter's dtype, each element is updated in float and stored rounded once
(PyTorch's single-tensor path rounds after each tensor op, so the two agree to an ulp or two of
the 16-bit type, not bit for bit), on both devices; LBFGS (composed of tensor ops) too; and a
small model trains in bfloat16 end to end."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import nn, optim

torch = pytest.importorskip("torch")

HALF_DTYPES = [("float16", pe.float16, torch.float16), ("bfloat16", pe.bfloat16, torch.bfloat16)]

# (name, kwargs, state buffers whose dtype must be the parameter's)
CONFIGS = [
    ("SGD", dict(lr=0.1), []),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01, nesterov=False), ["momentum_buffer"]),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True), ["momentum_buffer"]),
    ("Adam", dict(lr=0.01), ["exp_avg", "exp_avg_sq"]),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), ["exp_avg", "exp_avg_sq"]),
    ("RMSprop", dict(lr=0.01), ["square_avg"]),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01),
     ["square_avg", "momentum_buffer", "grad_avg"]),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01), ["sum"]),
    ("Adadelta", dict(lr=1.0, weight_decay=0.01), ["square_avg", "acc_delta"]),
    ("NAdam", dict(lr=0.01), ["exp_avg", "exp_avg_sq"]),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), ["exp_avg", "exp_avg_sq"]),
    ("RAdam", dict(lr=0.01), ["exp_avg", "exp_avg_sq"]),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), ["exp_avg", "exp_avg_sq"]),
    ("Adamax", dict(lr=0.01, weight_decay=0.01), ["exp_avg", "exp_inf"]),
]
STEPS = 6


def ulps_apart(ours, ref, dtype_name):
    """|ours - ref| in units in the last place of the 16-bit type, at each element's magnitude
    but at least at the tensor's RMS: an element that cancelled to near zero (a momentum buffer
    whose terms nearly cancel) carries the absolute rounding error of its larger terms."""
    ref = np.asarray(ref, np.float64)
    diff = np.abs(np.asarray(ours, np.float64) - ref)
    mant_bits = 10 if dtype_name == "float16" else 7
    min_exp = -14 if dtype_name == "float16" else -126  # the smallest normal exponent
    rms = np.sqrt(np.mean(ref**2)) if ref.size else 0.0
    mag = np.maximum(np.maximum(np.abs(ref), rms), 2.0**min_exp)
    return diff / 2.0 ** (np.floor(np.log2(mag)) - mant_bits)


def to_numpy(t):
    return t.float().detach().cpu().numpy() if hasattr(t, "cpu") else np.asarray(t.float().detach())


def run_both(name, kwargs, pe_dtype, torch_dtype, device, shape=(7, 5), steps=STEPS, seed=0, each_step=None):
    """`steps` updates by torch.optim and by ours from the same start with the same gradients;
    each_step(tp, topt, pp, popt) runs after every step."""
    rng = np.random.default_rng(seed)
    start = rng.standard_normal(shape).astype(np.float32)
    # Gradients of magnitude 0.1 to 2 with random signs: no second moment underflows float16 (where
    # PyTorch's per-op rounding turns eps=1e-8 into 0 and divides by zero).
    grads = [(rng.uniform(0.1, 2, shape) * rng.choice([-1, 1], shape)).astype(np.float32) for _ in range(steps)]

    tp = torch.tensor(start).to(torch_dtype).requires_grad_(True)
    topt = getattr(torch.optim, name)([tp], foreach=False, **kwargs)
    pp = pe.tensor(start).to(pe_dtype).to(device).requires_grad_(True)
    popt = getattr(optim, name)([pp], **kwargs)
    for g in grads:
        tp.grad = torch.tensor(g).to(torch_dtype)
        topt.step()
        pp.grad = pe.tensor(g).to(pe_dtype).to(device)
        popt.step()
        if each_step:
            each_step(tp, topt, pp, popt)
    return tp, topt, pp, popt


def from_torch(t, like):
    return pe.tensor(t.detach().float().numpy()).to(like.dtype).to(like.device)


@pytest.mark.parametrize("name,kwargs,buffers", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
@pytest.mark.parametrize("dtype_name,pe_dtype,torch_dtype", HALF_DTYPES, ids=[d[0] for d in HALF_DTYPES])
def test_each_step_matches_torch(name, kwargs, buffers, dtype_name, pe_dtype, torch_dtype, device):
    # Every step from the same state: one fused update (rounded once) against PyTorch's
    # single-tensor update (rounded after each tensor op) differs by at most two ulps; then our
    # parameter and state are reset to torch's so rounding differences do not accumulate.
    def compare_and_resync(tp, topt, pp, popt):
        assert pp.dtype == pe_dtype
        ulps = ulps_apart(to_numpy(pp.cpu()), tp.detach().float().numpy(), dtype_name)
        assert ulps.max() <= 2, f"{name} {kwargs} on {dtype_name}: {ulps.max()} ulps from torch"
        for buf in buffers:
            ours, ref = popt.state[pp][buf], topt.state[tp][buf]
            assert ref.dtype == torch_dtype
            assert ours.dtype == pe_dtype, f"state {buf} is {ours.dtype}"
            b_ulps = ulps_apart(to_numpy(ours.cpu()), ref.float().numpy(), dtype_name)
            assert b_ulps.max() <= 2, f"{name} state {buf} on {dtype_name}: {b_ulps.max()} ulps from torch"
            popt.state[pp][buf] = from_torch(ref, ours)
        with pe.no_grad():
            pp.copy_(from_torch(tp, pp))

    run_both(name, kwargs, pe_dtype, torch_dtype, device, each_step=compare_and_resync)


@pytest.mark.parametrize("name,kwargs,buffers", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
@pytest.mark.parametrize("dtype_name,pe_dtype,torch_dtype", HALF_DTYPES, ids=[d[0] for d in HALF_DTYPES])
def test_trajectory_stays_near_torch(name, kwargs, buffers, dtype_name, pe_dtype, torch_dtype, device):
    # Without resetting, the two roundings drift apart by at most an ulp or so per step.
    tp, topt, pp, popt = run_both(name, kwargs, pe_dtype, torch_dtype, device)
    ulps = ulps_apart(to_numpy(pp.cpu()), tp.detach().float().numpy(), dtype_name)
    assert ulps.max() <= STEPS, f"{name} {kwargs} on {dtype_name}: {ulps.max()} ulps from torch"
    for buf in buffers:
        assert popt.state[pp][buf].dtype == pe_dtype and popt.state[pp][buf].device == pp.device


@pytest.mark.parametrize("dtype_name,pe_dtype,torch_dtype", HALF_DTYPES, ids=[d[0] for d in HALF_DTYPES])
def test_sparse_adam_skips_absent_rows(dtype_name, pe_dtype, torch_dtype, device):
    # PyTorch's SparseAdam needs sparse-layout gradients (see pyengine/optim/sparse_adam.py), so
    # the reference is our float32 step (checked against torch in test_optim_more.py) with the
    # parameter and moments rounded to the 16-bit type after every step, as the 16-bit run stores them.
    rng = np.random.default_rng(1)
    start = rng.standard_normal((6, 3)).astype(np.float32)
    grad = rng.standard_normal((6, 3)).astype(np.float32)
    grad[[1, 4]] = 0  # absent rows
    p16 = pe.tensor(start).to(pe_dtype).to(device).requires_grad_(True)
    p32 = pe.tensor(start).to(pe_dtype).float().to(device).requires_grad_(True)
    o16, o32 = optim.SparseAdam([p16], lr=0.01), optim.SparseAdam([p32], lr=0.01)
    for _ in range(3):
        p16.grad = pe.tensor(grad).to(pe_dtype).to(device)
        p32.grad = p16.grad.float()
        o16.step()
        o32.step()
        with pe.no_grad():
            p32.copy_(p32.detach().to(pe_dtype).float())
        for key in ("exp_avg", "exp_avg_sq"):
            o32.state[p32][key] = o32.state[p32][key].to(pe_dtype).float()
    got = to_numpy(p16.cpu())
    assert o16.state[p16]["exp_avg"].dtype == pe_dtype and o16.state[p16]["exp_avg_sq"].dtype == pe_dtype
    np.testing.assert_array_equal(got[[1, 4]], to_numpy(pe.tensor(start).to(pe_dtype))[[1, 4]])
    assert not np.array_equal(got[[0, 2, 3, 5]], to_numpy(pe.tensor(start).to(pe_dtype))[[0, 2, 3, 5]])
    assert ulps_apart(got, to_numpy(p32.cpu()), dtype_name).max() <= 1


@pytest.mark.parametrize("dtype_name,pe_dtype,torch_dtype", HALF_DTYPES, ids=[d[0] for d in HALF_DTYPES])
def test_noncontiguous_half_param_matches_contiguous(dtype_name, pe_dtype, torch_dtype, device):
    rng = np.random.default_rng(2)
    start = rng.standard_normal((4, 6)).astype(np.float32)
    grad = rng.standard_normal((6, 4)).astype(np.float32)
    base = pe.tensor(start).to(pe_dtype).to(device)
    pt = base.t().requires_grad_(True)  # a transposed (non-contiguous) parameter
    pc = base.t().contiguous().requires_grad_(True)
    ot, oc = optim.Adam([pt], lr=0.01), optim.Adam([pc], lr=0.01)
    for _ in range(3):
        pt.grad = pe.tensor(grad).to(pe_dtype).to(device)
        pc.grad = pe.tensor(grad).to(pe_dtype).to(device)
        ot.step()
        oc.step()
    np.testing.assert_array_equal(to_numpy(pt.cpu()), to_numpy(pc.cpu()))


def test_mismatched_state_dtype_is_a_clear_error():
    p = pe.zeros(3, dtype=pe.bfloat16)
    g = pe.ones(3, dtype=pe.bfloat16)
    with pytest.raises(TypeError, match="exp_avg dtype float32 does not match param dtype bfloat16"):
        pe._C.adamax_step_(p._impl, g._impl, pe.zeros(3)._impl, pe.zeros(3, dtype=pe.bfloat16)._impl,
                           1, 0.01, 0.9, 0.999, 1e-8, 0.0, False)


@pytest.mark.parametrize("dtype_name,pe_dtype,torch_dtype", HALF_DTYPES, ids=[d[0] for d in HALF_DTYPES])
def test_lbfgs_on_16_bit_params(dtype_name, pe_dtype, torch_dtype):
    # A convex quadratic: both reach (nearly) the same point in the parameter's dtype.
    rng = np.random.default_rng(4)
    a = rng.standard_normal((5, 5)).astype(np.float32)
    h = (a @ a.T / 5 + np.eye(5, dtype=np.float32)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)

    tp = torch.zeros(5, dtype=torch_dtype, requires_grad=True)
    th, tb = torch.tensor(h).to(torch_dtype), torch.tensor(b).to(torch_dtype)
    topt = torch.optim.LBFGS([tp], lr=1, max_iter=20)

    def tclosure():
        topt.zero_grad()
        loss = 0.5 * (tp @ (th @ tp)) - tb @ tp
        loss.backward()
        return loss

    pp = pe.zeros(5, dtype=pe_dtype).requires_grad_(True)
    ph, pb = pe.tensor(h).to(pe_dtype), pe.tensor(b).to(pe_dtype)
    popt = optim.LBFGS([pp], lr=1, max_iter=20)

    def pclosure():
        popt.zero_grad()
        loss = 0.5 * (pp @ (ph @ pp)) - pb @ pp
        loss.backward()
        return loss

    for _ in range(2):
        topt.step(tclosure)
        popt.step(pclosure)
    assert pp.dtype == pe_dtype
    solution = np.linalg.solve(h.astype(np.float64), b.astype(np.float64))
    tol = 0.05 if dtype_name == "bfloat16" else 0.01
    np.testing.assert_allclose(to_numpy(pp), solution, atol=tol * np.abs(solution).max() + tol)
    # (PyTorch's float16 LBFGS breaks down on this problem - its iterates become NaN - so only the
    # bfloat16 run is compared with it; both are checked against the exact solution above.)
    if dtype_name == "bfloat16":
        np.testing.assert_allclose(to_numpy(pp), tp.detach().float().numpy(), atol=tol * np.abs(solution).max() + tol)


def test_model_trains_in_bfloat16(device):
    pe.manual_seed(0)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], np.float32) + 0.3 * np.sin(3 * x[:, 0])).astype(np.float32)[:, None]
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).bfloat16().to(device)
    assert all(p.dtype == pe.bfloat16 for p in model.parameters())
    xb = pe.tensor(x).bfloat16().to(device)
    yb = pe.tensor(y).bfloat16().to(device)
    opt = optim.AdamW(model.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(float(loss.float().item()))
    assert all(p.dtype == pe.bfloat16 for p in model.parameters())
    assert all(s.dtype == pe.bfloat16 for st in opt.state.values() for k, s in st.items()
               if k in ("exp_avg", "exp_avg_sq"))
    assert losses[-1] < 0.25 * losses[0], losses


def test_16_bit_state_survives_a_checkpoint():
    import io

    pe.manual_seed(1)
    model = nn.Linear(3, 2).bfloat16()
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(pe.randn(4, 3).bfloat16()).sum().backward()
    opt.step()
    buf = io.BytesIO()
    pe.save(opt.state_dict(), buf)
    buf.seek(0)
    again = optim.Adam(model.parameters(), lr=0.1)
    again.load_state_dict(pe.load(buf))
    for key in ("exp_avg", "exp_avg_sq"):
        ours, saved = again.state[model.weight][key], opt.state[model.weight][key]
        assert ours.dtype == pe.bfloat16
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(saved))
    again.step()  # the loaded 16-bit state feeds the fused step
    assert model.weight.dtype == pe.bfloat16
