"""The nn functions on float16 and bfloat16 inputs: float32 computation rounded once (PyTorch's
CPU accumulation rule), the input's dtype out, gradients in the parameters' dtypes, on both devices."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = {
    "softmax": (lambda f, x: f.softmax(x, 1)),
    "log_softmax": (lambda f, x: f.log_softmax(x, -1)),
    "gelu": (lambda f, x: f.gelu(x)),
    "silu": (lambda f, x: f.silu(x)),
    "layer_norm": (lambda f, x: f.layer_norm(x, (8,))),
    "group_norm": (lambda f, x: f.group_norm(x, 3)),
    "batch_norm": (lambda f, x: f.batch_norm(x, None, None, training=True)),
    "max_pool2d": (lambda f, x: f.max_pool2d(x, 2)),
    "avg_pool2d": (lambda f, x: f.avg_pool2d(x, 2)),
    "adaptive_avg_pool2d": (lambda f, x: f.adaptive_avg_pool2d(x, 3)),
    "interpolate": (lambda f, x: f.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)),
    "sdpa": (lambda f, x: f.scaled_dot_product_attention(x, x, x)),
    "mse_loss": (lambda f, x: f.mse_loss(x, x.detach() * 0.5)),
    "cross_entropy": (lambda f, x: f.cross_entropy(x.flatten(1)[:, :10], (x.detach().flatten(1)[:, 0] > 0).long())),
}


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_nn_function_in_16_bit_floats_matches_torch(case, name, device):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    dt, tdt = getattr(pe, name), getattr(torch, name)
    x = pe.tensor(a, device=device).to(dt).requires_grad_()
    tx = torch.from_numpy(a).to(tdt).requires_grad_()
    y, ty = CASES[case](F, x), CASES[case](TF, tx)
    assert y.dtype is dt and ty.dtype == tdt
    tol = 2e-2 if name == "float16" else 8e-2
    np.testing.assert_allclose(y.detach().float().cpu().numpy(), ty.detach().float().numpy(), rtol=tol, atol=tol)
    y.float().sum().backward()
    ty.float().sum().backward()
    assert x.grad.dtype is dt
    np.testing.assert_allclose(x.grad.float().cpu().numpy(), tx.grad.float().numpy(), rtol=tol, atol=tol)


def test_batchnorm_module_in_half_updates_its_own_running_stats():
    bn = pe.nn.BatchNorm2d(3).to(dtype=pe.bfloat16)
    x = (pe.randn(4, 3, 5, 5) * 2 + 1).to(pe.bfloat16)
    bn(x)
    assert bn.running_mean.dtype is pe.bfloat16
    expected = 0.1 * x.float().mean((0, 2, 3))
    np.testing.assert_allclose(bn.running_mean.float().numpy(), expected.numpy(), rtol=2e-2, atol=2e-2)


def test_embedding_and_gather_backward_accumulate_in_float32():
    w = pe.zeros(3, 4, dtype=pe.float16, requires_grad=True)
    idx = pe.zeros(5000, dtype=pe.int64)  # 5000 hits on one row: float16 sums would stall at 2048
    F.embedding(idx, w).float().sum().backward()
    assert w.grad.dtype is pe.float16 and w.grad[0, 0].item() == 5000.0
    x = pe.zeros(4, dtype=pe.bfloat16)
    x.index_add_(0, pe.zeros(300, dtype=pe.int64), pe.ones(300, dtype=pe.bfloat16))
    assert x[0].item() == 300.0  # bfloat16 holds 300 exactly; 256 + 1 steps would not


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_module_half_conversions_and_gradient_clipping(name):
    m = getattr(pe.nn.Sequential(pe.nn.Linear(4, 3), pe.nn.ReLU(), pe.nn.Linear(3, 2)), "half" if name == "float16"
                else "bfloat16")()
    assert all(p.dtype.name == name for p in m.parameters())
    m(pe.randn(5, 4).to(getattr(pe, name))).float().sum().backward()
    total = pe.nn.utils.clip_grad_norm_(m.parameters(), 0.01)
    assert total.dtype.name == name and total.item() > 0.01
    clipped = sum(float((p.grad.float() ** 2).sum()) for p in m.parameters()) ** 0.5
    assert clipped == pytest.approx(0.01, rel=0.05)
