"""Issue 12, residual fuzz findings: empty spatial dims in conv/pool, float-bounded integer
arange, negative strides, and float32 norms near the overflow threshold - each against PyTorch."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _outcome(fn):
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the kind is compared
        return "error", type(e)
    return "ok", r


def _same(pe_fn, torch_fn, atol=1e-6):
    """Both refuse (pyengine with RuntimeError/ValueError) or both give the same values."""
    p_kind, p = _outcome(pe_fn)
    t_kind, t = _outcome(torch_fn)
    assert p_kind == t_kind, (p, t)
    if p_kind == "error":
        assert issubclass(p, (RuntimeError, ValueError)), p
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
