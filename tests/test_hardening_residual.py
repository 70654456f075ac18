"""Issue 12, residual fuzz findings: empty spatial dims in conv/pool, float-bounded integer
arange, negative strides, and float32 norms near the overflow threshold - each against PyTorch."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from _child_python import run_python

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _outcome(fn):
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the kind is compared
        return "error", type(e)
    return "ok", r


def _same(pe_fn, torch_fn, atol=1e-6):
    """Both refuse (pyengine with RuntimeError/ValueError, or PyTorch's NotImplementedError) or both
    give the same values."""
    p_kind, p = _outcome(pe_fn)
    t_kind, t = _outcome(torch_fn)
    assert p_kind == t_kind, (p, t)
    if p_kind == "error":
        assert issubclass(p, (RuntimeError, ValueError)) or p is t, (p, t)
        return
    np.testing.assert_allclose(p.numpy(), t.detach().numpy(), atol=atol, equal_nan=True)
    assert tuple(p.shape) == tuple(t.shape)


# ---------------------------------------------------------------- 1. empty spatial dims
CONV_CASES = [  # (input shape, weight shape, padding)
    ((1, 1, 0), (1, 1, 1), 1), ((1, 1, 0), (2, 1, 1), 0), ((1, 1, 0, 5), (1, 1, 1, 1), 1),
    ((2, 3, 4, 0), (2, 3, 1, 1), (0, 2)), ((0, 1, 5), (1, 1, 3), 1), ((0, 2, 0, 3), (2, 2, 1, 1), 0),
    ((2, 0, 5), (3, 0, 3), 1), ((1, 0, 0), (1, 0, 1), 1), ((2, 0, 4, 5), (3, 0, 3, 3), (1, 0)),
    ((1, 2, 3, 3), (0, 2, 1, 1), 0),
]


@pytest.mark.parametrize("xs,ws,pad", CONV_CASES)
def test_conv_empty_inputs_match_torch(device, xs, ws, pad):
    x, w, b = np.random.rand(*xs).astype(np.float32), np.random.rand(*ws).astype(np.float32), np.ones(ws[0], np.float32)
    pf, tf = (F.conv1d, TF.conv1d) if len(xs) == 3 else (F.conv2d, TF.conv2d)
    _same(lambda: pf(pe.tensor(x, device=device), pe.tensor(w, device=device), pe.tensor(b, device=device),
                     padding=pad).cpu(),
          lambda: tf(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=pad))


@pytest.mark.parametrize("xs,ws", [((1, 1, 0), (1, 1, 1)), ((1, 1, 0, 5), (1, 2, 1, 1)), ((1, 0, 5), (0, 1, 3)),
                                   ((0, 2, 3), (2, 3, 2)), ((1, 2, 3), (2, 0, 2)), ((0, 2, 3), (2, 0, 2))])
def test_conv_transpose_empty_inputs_match_torch(device, xs, ws):
    x, w = np.random.rand(*xs).astype(np.float32), np.random.rand(*ws).astype(np.float32)
    pf, tf = (F.conv_transpose1d, TF.conv_transpose1d) if len(xs) == 3 else (F.conv_transpose2d, TF.conv_transpose2d)
    _same(lambda: pf(pe.tensor(x, device=device), pe.tensor(w, device=device)).cpu(),
          lambda: tf(torch.tensor(x), torch.tensor(w)))


def test_conv_zero_channels_backward_matches_torch(device):
    x = pe.zeros(2, 0, 5, device=device, requires_grad=True)
    w = pe.ones(3, 0, 3, device=device, requires_grad=True)
    b = pe.ones(3, device=device, requires_grad=True)
    y = F.conv1d(x, w, b, padding=2)
    assert tuple(y.shape) == (2, 0, 7)  # PyTorch: an input of zero channels gives zero channels
    y.sum().backward()
    assert tuple(x.grad.shape) == (2, 0, 5) and tuple(w.grad.shape) == (3, 0, 3)
    np.testing.assert_array_equal(b.grad.cpu().numpy(), np.zeros(3, np.float32))


POOL_SHAPES_2D = [(1, 1, 0, 5), (0, 1, 0, 5), (0, 0, 3, 3), (1, 0, 3, 3), (0, 3, 3), (2, 0, 3), (0, 0, 0), (0, 1, 3, 3)]
POOL_SHAPES_1D = [(1, 1, 0), (0, 1, 0), (0, 0, 3), (1, 0, 3), (0, 3), (2, 0), (1, 0, 0)]


@pytest.mark.parametrize("name", ["max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool"])
@pytest.mark.parametrize("shape", POOL_SHAPES_2D + POOL_SHAPES_1D)
@pytest.mark.parametrize("arg", [1, 2])
def test_pool_empty_inputs_match_torch(device, name, shape, arg):
    fn = name + ("2d" if shape in POOL_SHAPES_2D else "1d")
    x = np.random.rand(*shape).astype(np.float32)
    _same(lambda: getattr(F, fn)(pe.tensor(x, device=device), arg).cpu(),
          lambda: getattr(TF, fn)(torch.tensor(x), arg))


def test_adaptive_avg_pool_to_one_of_empty_plane_is_nan(device):
    # PyTorch takes it as the mean (NaN over nothing), before the check that refuses other sizes.
    y = F.adaptive_avg_pool2d(pe.zeros(2, 3, 0, 4, device=device), 1)
    assert tuple(y.shape) == (2, 3, 1, 1) and np.isnan(y.cpu().numpy()).all()
    with pytest.raises(RuntimeError, match="non-zero size"):
        F.adaptive_avg_pool2d(pe.zeros(2, 3, 0, 4, device=device), 2)


# ---------------------------------------------------------------- 2. arange with float arguments
NAN, INF = float("nan"), float("inf")
ARANGE_CASES = [
    (0.5, 5.5, 1.5), (5.5, 0.5, -1.5), (0, 10, 2.5), (-2.5, 2.5, 1.0), (0.5, 0.7, 1), (0.9, 3, 1),
    (0, 5, 0.5), (0.5, 5.5, -1.5), (2.5, 2, 1000.0), (1, 1.5, -1), (0.9999, 1e-300, 1000.0), (0.5, 1, -1),
    (0, 1, INF), (0, 0, INF), (0, 1, -INF), (1, 0, INF), (0, 1, NAN), (NAN, 1, 1), (0, INF, 1), (0, 5, 0.0),
    (0, 1e19, 1e18), (0, 1.5, 2**63), (-2**63 - 1, 0, 2**62),
]


@pytest.mark.parametrize("dtype", ["int64", "float64", "float32"])
@pytest.mark.parametrize("args", ARANGE_CASES)
def test_arange_float_arguments_match_torch(device, args, dtype):
    p_kind, p = _outcome(lambda: pe.arange(*args, dtype=getattr(pe, dtype), device=device).cpu())
    t_kind, t = _outcome(lambda: torch.arange(*args, dtype=getattr(torch, dtype)))
    assert p_kind == t_kind, (p, t)
    if p_kind == "error":
        assert issubclass(p, t) or (issubclass(p, (RuntimeError, ValueError)) and t is RuntimeError), (p, t)
        return
    np.testing.assert_allclose(p.numpy(), t.numpy(), rtol=1e-6)
    assert p.numpy().dtype == t.numpy().dtype


def test_arange_error_kinds_follow_torch():
    # PyTorch checks the arguments as given (step sign vs bounds, NaN step) before truncating.
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        pe.arange(2.5, 2, 1000.0, dtype=pe.int64)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        pe.arange(0, 1, NAN)
    with pytest.raises(ValueError, match="step must be nonzero"):  # a step truncated to 0
        pe.arange(0, 5, 0.5, dtype=pe.int64)


def test_arange_truncated_count_is_exact():
    # PyTorch's int64 count (end - start + step - 1) overflows here and it refuses; the truncated
    # range has 11 elements.
    got = pe.arange(-9.2e18, 0, 1e18, dtype=pe.int64)
    assert got.tolist() == list(range(-9200000000000000000, 0, 10**18))


PAD_CASES = [((0, 4), (0, 0)), ((0, 4), (1, 1)), ((2, 0), (0, 0)), ((0, 1, 4), (1, 1)), ((1, 0, 4), (1, 1)),
             ((1, 1, 0), (0, 0)), ((0, 4, 4), (1, 1, 1, 1)), ((1, 0, 4, 4), (1, 1, 1, 1)), ((0, 2, 4, 4), (1, 1, 1, 1)),
             ((1, 1, 0, 4), (0, 0, 1, 1)), ((4,), (1, 1)), ((4,), (0, 0)), ((1, 1, 4), (1, 1, 1, 1)),
             ((2, 2), (1, 1, 1, 1, 1, 1)), ((1, 1, 1, 2, 2, 2), (1, 1, 1, 1, 1, 1, 1, 1))]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", PAD_CASES)
def test_pad_empty_inputs_match_torch(device, mode, shape, pad):
    x = np.random.rand(*shape).astype(np.float32)
    _same(lambda: F.pad(pe.tensor(x, device=device), pad, mode=mode).cpu(),
          lambda: TF.pad(torch.tensor(x), pad, mode=mode))


# ---------------------------------------------------------------- 4. norms near float32's overflow
def test_float32_norm_sums_squares_in_float64(device):
    # The reduce kernel (both devices) accumulates float32 squares in float64, so [3e30, 4e30]
    # has its true norm 5e30; PyTorch 2.13 sums in float32 and returns inf here (the fuzz
    # harness compares with PyTorch's float64 norm where its float32 one overflowed).
    x = pe.tensor([3e30, 4e30], device=device)
    want = np.float32(torch.linalg.vector_norm(torch.tensor([3e30, 4e30], dtype=torch.float32).double()).item())
    assert pe.norm(x).item() == want
    assert np.isfinite(pe.norm(pe.tensor([[1e30, -7.0], [1e38, 1e38]], device=device), dim=1).cpu().numpy()).all()
    p = pe.nn.Parameter(pe.zeros(2, device=device))
    p.grad = x
    total = pe.nn.utils.clip_grad_norm_([p], 1.0)
    assert total.item() == want and np.isfinite(p.grad.cpu().numpy()).all()


def test_replicate_pad_of_huge_amounts_is_an_error_not_a_hang(device):
    # The replicate index was a Python list of every output position: 2**64 of them here.
    code = ("import pyengine as pe, pyengine.nn.functional as F\n"
            "for p in [(2**63 - 1, 2**63 - 1), (2**62, 1), (2**40, 2**40)]:\n"
            f"    x = pe.zeros(1, 3, dtype=pe.int64, device={device!r})\n"
            "    try:\n        F.pad(x, p, mode='replicate')\n"
            "    except (RuntimeError, ValueError, MemoryError) as e:\n        print(type(e).__name__)\n")
    r = run_python(["-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and len(r.stdout.split()) == 3, r.stderr


@pytest.mark.parametrize("shape,reps", [((), (2, 3)), ((1,), (4,)), ((1, 1), (2, 3)), ((2,), (2, 2))])
def test_repeat_returns_new_memory_even_of_size_one_dims(shape, reps):
    """repeat of size-1 dims used to return the expanded (stride-0) view: one write changed every element."""
    x = pe.ones(shape)
    y = x.repeat(*reps)
    assert 0 not in y.stride()
    y.view(-1)[0] = 5.0
    want = torch.ones(shape).repeat(*reps)
    want.view(-1)[0] = 5.0
    np.testing.assert_array_equal(y.numpy(), want.numpy())
    np.testing.assert_array_equal(x.numpy(), np.ones(shape))


@pytest.mark.parametrize("e", [2**24 + 1, -(2**32 + 1), 2**40 + 1, 2**40, 3, -3])
def test_float32_power_by_a_big_python_int_keeps_its_parity(e, device):
    """A big int exponent narrowed to float32 became even: (-1) ** (2**24 + 1) gave 1."""
    x = np.array([-1.0, -2.0, -0.5, 2.0, -0.0], dtype=np.float32)
    want = (torch.tensor(x) ** e).numpy()
    for got in (pe.tensor(x, device=device) ** e, pe.pow(pe.tensor(x, device=device), e)):
        assert got.dtype == pe.float32
        np.testing.assert_array_equal(got.cpu().numpy(), want)
