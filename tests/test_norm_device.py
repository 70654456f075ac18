"""Normalization on device="cuda" (cuda/norm.cu) against the CPU kernels: batch norm in training
(running statistics updated on the device, momentum and the cumulative average with
num_batches_tracked) and eval, group / layer / RMS norm with and without affine parameters,
float32 and float64, forward and autograd backward (input, weight and bias gradients) through
the modules, strided inputs, and float64 gradcheck on the device. Shapes stay tiny: on the
emulated GPU every launch runs on CPU threads."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F

from device_gradcheck import gradcheck_on

pytestmark = pytest.mark.skipif(not pe.cuda.is_available(), reason="needs a CUDA device (or the emulated one)")

rng = np.random.default_rng(11)


def npy(t):
    return t.detach().cpu().numpy()


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-11)


def run(make, x, device, dtype, steps=1, train=True):
    """A module (the same seeded parameters on both devices) applied `steps` times; returns the
    last output, the input / parameter gradients and the buffers."""
    pe.manual_seed(0)
    m = make().to(dtype=getattr(pe, dtype)).to(device)
    for p in m.parameters():  # non-trivial affine parameters, identical on both devices
        p.data = pe.tensor(rng_fixed(p.shape, dtype), device=device)
    m.train(train)
    xt = pe.tensor(x, device=device, requires_grad=True)
    for _ in range(steps):
        y = m(xt)
    w = pe.tensor((np.arange(y.numel()) % 7 - 3.0).reshape(y.shape).astype(dtype), device=device)
    (y * w).sum().backward()
    grads = [npy(xt.grad)] + [npy(p.grad) for p in m.parameters()]
    buffers = [npy(b) for b in m.buffers()]
    assert y.device.type == device and all(b.device.type == device for b in m.buffers())
    return npy(y), grads, buffers


def rng_fixed(shape, dtype):
    n = int(np.prod(shape))
    return (1.0 + 0.1 * np.sin(np.arange(n))).reshape(shape).astype(dtype)


def check(make, x, dtype, **kw):
    ycu, gcu, bcu = run(make, x, "cuda", dtype, **kw)
    ycp, gcp, bcp = run(make, x, "cpu", dtype, **kw)
    np.testing.assert_allclose(ycu, ycp, **tol(dtype))
    assert len(gcu) == len(gcp) and len(bcu) == len(bcp)
    for a, b in zip(gcu, gcp):
        np.testing.assert_allclose(a, b, **tol(dtype))
    for a, b in zip(bcu, bcp):
        np.testing.assert_allclose(a, b, **tol(dtype))


def data(shape, dtype):
    return (rng.standard_normal(shape) * 2 + 3).astype(dtype)  # |mean| > std: the two-pass statistics


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_train_updates_running_stats_on_device(dtype):
    check(lambda: nn.BatchNorm2d(3), data((4, 3, 3, 5), dtype), dtype, steps=2)
    check(lambda: nn.BatchNorm2d(3, momentum=None), data((2, 3, 2, 2), dtype), dtype, steps=3)
    check(lambda: nn.BatchNorm2d(3, affine=False), data((2, 3, 4, 1), dtype), dtype)
    check(lambda: nn.BatchNorm1d(5), data((6, 5), dtype), dtype, steps=2)  # S == 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_eval_uses_running_stats(dtype):
    def make():
        m = nn.BatchNorm2d(3)
        m.running_mean.copy_(pe.tensor(np.array([0.5, -1.0, 2.0]), dtype=getattr(pe, dtype)))
        m.running_var.copy_(pe.tensor(np.array([1.5, 0.25, 4.0]), dtype=getattr(pe, dtype)))
        return m
    check(make, data((2, 3, 3, 3), dtype), dtype, train=False)


def test_batch_norm_running_stats_are_read_back_correctly():
    m = nn.BatchNorm2d(2, momentum=0.5).to("cuda")
    x = data((3, 2, 2, 2), "float32")
    m(pe.tensor(x, device="cuda"))
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), ddof=1)
    np.testing.assert_allclose(npy(m.running_mean), 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(npy(m.running_var), 0.5 + 0.5 * var, rtol=1e-5)
    assert int(npy(m.num_batches_tracked)) == 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_group_layer_and_rms_norm(dtype):
    x = data((2, 6, 3, 2), dtype)
    check(lambda: nn.GroupNorm(3, 6), x, dtype)
    check(lambda: nn.GroupNorm(2, 6, affine=False), x, dtype)
    check(lambda: nn.GroupNorm(6, 6), x, dtype)
    check(lambda: nn.LayerNorm((3, 2)), x, dtype)
    check(lambda: nn.LayerNorm(2, elementwise_affine=False), x, dtype)
    check(lambda: nn.LayerNorm(300), data((3, 300), dtype), dtype)  # a row over one block's threads
    check(lambda: nn.RMSNorm((3, 2)), x, dtype)
    check(lambda: nn.RMSNorm(2, elementwise_affine=False), x, dtype)


def test_strided_inputs_are_copied_once_and_match():
    x = data((3, 4, 5), "float64")
    for fn in (lambda t: F.layer_norm(t.transpose(1, 2), (4,)), lambda t: F.group_norm(t[:, :, ::2], 2),
               lambda t: F.rms_norm(t.permute(2, 0, 1), (3, 4))):
        out = [npy(fn(pe.tensor(x, device=d))) for d in ("cuda", "cpu")]
        np.testing.assert_allclose(out[0], out[1], **tol("float64"))


def test_cuda_gradcheck_float64():
    x = data((3, 2, 2), "float64")
    w, b = rng_fixed((2,), "float64"), rng.standard_normal(2)
    assert gradcheck_on("cuda", lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True), x, w, b)
    assert gradcheck_on("cuda", lambda t, w, b: F.layer_norm(t, (2,), w, b), x, w, b)
    assert gradcheck_on("cuda", lambda t, w: F.group_norm(t, 1, w), x, w)
    assert gradcheck_on("cuda", lambda t, w: F.rms_norm(t, (2,), w), x, w)
