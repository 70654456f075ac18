"""Convolutions with inf/NaN in the weight or the input, on every device, against PyTorch: the
forward and both gradients of conv1d/conv2d/conv_transpose1d/conv_transpose2d.

The rule (PyTorch's reference kernels: im2col for the forward, col2im for the input gradient):
a padded position is a zero that is multiplied (0 * inf = NaN in the forward, as after F.pad),
but a kernel tap that reaches no output pixel forms no product at all in the input gradient
(and so in the transposed convolution's forward). Both backends used to be exposed to the
second: the CPU takes its col2im path for a non-finite weight (csrc/cpu/conv.cpp), the CUDA
kernels a masked implicit GEMM (cuda/conv.cu), where they multiplied the weight by the zeros
of missing taps and gave NaN.

The reference is torch in float64 for both dtypes: torch's float32 CPU convolutions go through
oneDNN for some shapes, which also skips the forward's padded products and, in its strided
input gradient, gives NaN at pixels no tap reaches (e.g. conv1d, stride 2, weight -inf) - a
choice of backend, not of semantics. Values are small integers, so every sum is exact in
float32 and NaN/inf land at the same places."""
import zlib

import numpy as np
import pytest

import pyengine as pe
from pyengine.nn import functional as F

torch = pytest.importorskip("torch")

inf, nan = float("inf"), float("nan")

# (stride, padding, dilation, groups); the transposed convs take output_padding 0
GEOMETRIES = [(1, 1, 1, 1), (2, 0, 1, 1), (2, 2, 2, 2), (3, 1, 1, 2)]
POISONS = [("weight", inf), ("weight", -inf), ("weight", nan), ("input", inf), ("input", nan)]
OPS = {  # name: (input shape, weight shape) for groups g
    "conv1d": lambda g: ((2, 2 * g, 8), (3 * g, 2, 3)),
    "conv2d": lambda g: ((2, 2 * g, 6, 5), (3 * g, 2, 3, 2)),
    "conv_transpose1d": lambda g: ((2, 2 * g, 5), (2 * g, 3, 3)),
    "conv_transpose2d": lambda g: ((2, 2 * g, 4, 3), (2 * g, 3, 3, 2)),
}


def _run(lib, op, x, w, kw, dtype, device=None):
    """op(x, w, **kw) and backward with a fixed varied upstream gradient: [y, grad x, grad w]."""
    F_ = torch.nn.functional if lib is torch else F
    ex = {} if lib is torch else {"device": device}
    xt = lib.tensor(x.tolist(), dtype=getattr(lib, dtype), requires_grad=True, **ex)
    wt = lib.tensor(w.tolist(), dtype=getattr(lib, dtype), requires_grad=True, **ex)
    y = getattr(F_, op)(xt, wt, **kw)
    g = 1.0 + np.arange(y.numel()).reshape(tuple(y.shape)) % 3
    y.backward(lib.tensor(g.tolist(), dtype=getattr(lib, dtype), **ex))
    out = [y, xt.grad, wt.grad]
    return [t.detach().numpy() if lib is torch else t.detach().numpy(force=True) for t in out]


def _check(op, x, w, kw, device):
    want = _run(torch, op, x, w, kw, "float64")
    for dtype in ("float32", "float64"):
        got = _run(pe, op, x, w, kw, dtype, device)
        for name, g, r in zip(("output", "input grad", "weight grad"), got, want):
            np.testing.assert_array_equal(g, r.astype(dtype), err_msg=f"{op} {kw} [{dtype}, {device}] {name}")


@pytest.mark.parametrize("where,value", POISONS, ids=[f"{p}={v}" for p, v in POISONS])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[f"s{s}p{p}d{d}g{g}" for s, p, d, g in GEOMETRIES])
@pytest.mark.parametrize("op", list(OPS))
def test_non_finite_matches_torch(op, geometry, where, value, device):
    stride, padding, dilation, groups = geometry
    xs, ws = OPS[op](groups)
    rng = np.random.default_rng(zlib.crc32(repr((op, geometry, where)).encode()))
    x = rng.integers(-2, 3, xs).astype(np.float64)
    w = rng.integers(-2, 3, ws).astype(np.float64)
    poisoned = w if where == "weight" else x
    for _ in range(2):  # two positions: a corner tap and one anywhere
        poisoned[tuple(rng.integers(0, s) for s in poisoned.shape)] = value
    poisoned.reshape(-1)[0] = value
    _check(op, x, w, dict(stride=stride, padding=padding, dilation=dilation, groups=groups), device)


# Several 64-wide output tiles, reductions over many 16-deep steps and a non-finite weight in
# more than one of them: the masked GEMM's bookkeeping beyond one tile.
@pytest.mark.parametrize("op,xs,ws,kw", [
    ("conv2d", (2, 70, 6, 5), (66, 70, 3, 3), dict(stride=2, padding=1)),
    ("conv1d", (2, 20, 70), (30, 10, 5), dict(padding=3, dilation=2, groups=2)),
    ("conv_transpose2d", (1, 40, 5, 4), (40, 70, 3, 3), dict(stride=2, padding=1, output_padding=1)),
], ids=["conv2d", "conv1d", "conv_transpose2d"])
def test_non_finite_weight_many_tiles(op, xs, ws, kw, device):
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, xs).astype(np.float64)
    w = rng.integers(-2, 3, ws).astype(np.float64)
    w.reshape(-1)[rng.integers(0, w.size, 6)] = [inf, -inf, nan, inf, -inf, inf]
    _check(op, x, w, kw, device)
