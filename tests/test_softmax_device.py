"""Softmax / log-softmax on device="cuda" (cuda/softmax.cu) against the CPU kernels: every dim,
strided / transposed / broadcast views, rows longer than a block, NaN / inf rows, float32 and
float64, forward and autograd backward, float64 gradcheck on the device; and the losses built on
log_softmax (CrossEntropyLoss / NLLLoss with weights, ignore_index, label_smoothing). Shapes stay
tiny: on the emulated GPU every launch runs on CPU threads."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from pyengine import _C
from pyengine.tensor import _wrap

from device_gradcheck import gradcheck_on

pytestmark = pytest.mark.skipif(not pe.cuda.is_available(), reason="needs a CUDA device (or the emulated one)")

rng = np.random.default_rng(5)


def npy(t):
    return t.detach().cpu().numpy()


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)


def both(fn, *arrays, grad=True):
    """[(output, input grads)] for cuda then cpu; the backward weights outputs differently."""
    res = []
    for device in ("cuda", "cpu"):
        xs = [pe.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(*xs)
        assert out.device.type == device
        grads = None
        if grad and out.requires_grad:
            w = pe.tensor((np.arange(out.numel()) % 5 - 2.0).reshape(out.shape).astype(npy(out).dtype),
                          device=device)
            (out * w).sum().backward()
            grads = [npy(x.grad) if x.grad is not None else None for x in xs]
        res.append((npy(out), grads))
    return res


def check(fn, *arrays, dtype="float64", grad=True):
    (ycu, gcu), (ycp, gcp) = both(fn, *arrays, grad=grad)
    np.testing.assert_allclose(ycu, ycp, **tol(dtype))
    if gcp is not None:
        for a, b in zip(gcu, gcp):
            if b is not None:
                np.testing.assert_allclose(a, b, **tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (4, 13), (2, 3, 5), (2, 300)])  # 300: a row over 256 threads
def test_softmax_and_log_softmax_every_dim(shape, dtype):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    for dim in range(-len(shape), len(shape)):
        check(lambda t: F.softmax(t, dim), x, dtype=dtype)
        check(lambda t: F.log_softmax(t, dim), x, dtype=dtype)


def test_strided_transposed_and_broadcast_views():
    x = rng.standard_normal((3, 4, 6))
    check(lambda t: F.softmax(t.transpose(0, 2), 1), x)
    check(lambda t: F.log_softmax(t[:, ::2, 1::2], 0), x)
    check(lambda t: F.softmax(t[:, :1, :].expand(3, 5, 6), 1), x)
    check(lambda t: F.log_softmax(t.expand(2, 3, 4, 6), -1), x)


def test_inf_nan_and_huge_logits():
    x = np.array([[1e30, -1e30, 0.0], [-np.inf, -np.inf, -np.inf], [np.nan, 1.0, 2.0], [np.inf, 1.0, 0.0],
                  [-np.inf, 0.0, 1.0]])
    for fn in (lambda t: F.softmax(t, 1), lambda t: F.log_softmax(t, 1)):
        (ycu, _), (ycp, _) = both(fn, x, grad=False)
        np.testing.assert_array_equal(np.isnan(ycu), np.isnan(ycp))
        np.testing.assert_allclose(ycu, ycp, rtol=1e-12, atol=0)


@pytest.mark.parametrize("log", [False, True])
def test_backward_kernel_with_strided_gradient(log):
    y = rng.random((4, 5)) if not log else np.log(rng.dirichlet(np.ones(5), 4))
    g = rng.standard_normal((5, 4))
    fn = _C.log_softmax_backward if log else _C.softmax_backward
    out = {}
    for device in ("cuda", "cpu"):
        yt, gt = pe.tensor(y, device=device), pe.tensor(g, device=device).t()  # a transposed gradient
        out[device] = npy(_wrap(fn(gt._impl, yt._impl, 1)))
    np.testing.assert_allclose(out["cuda"], out["cpu"], rtol=1e-12, atol=1e-13)


def test_cuda_gradcheck_float64():
    x = rng.standard_normal((3, 4))
    assert gradcheck_on("cuda", lambda t: F.softmax(t, 0), x)
    assert gradcheck_on("cuda", lambda t: F.log_softmax(t, 1), x)


# ---------------------------------------------------------------- losses over log_softmax
def _index_ops_on_cuda():
    """The nll part of the losses gathers / scatters through the index family's kernels."""
    try:
        _C.gather(pe.tensor(np.zeros((1, 2)), device="cuda")._impl, 1,
                  pe.tensor(np.zeros((1, 1), np.int64), device="cuda")._impl)
        return True
    except RuntimeError:
        return False


needs_index = pytest.mark.skipif(pe.cuda.is_available() and not _index_ops_on_cuda(),
                                 reason="gather/scatter_add have no CUDA kernels in this build (index family)")


@needs_index
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 1},
                                {"weight": True}, {"weight": True, "ignore_index": 2, "reduction": "mean"},
                                {"label_smoothing": 0.2}, {"label_smoothing": 0.1, "weight": True}])
def test_cross_entropy_and_nll_loss(kw, dtype):
    x = rng.standard_normal((6, 4)).astype(dtype)
    target = np.array([0, 1, 3, 1, 2, 0])
    w = rng.random(4).astype(dtype) + 0.5
    for loss_cls in (nn.CrossEntropyLoss, nn.NLLLoss):
        if loss_cls is nn.NLLLoss and "label_smoothing" in kw:
            continue
        res = []
        for device in ("cuda", "cpu"):
            args = dict(kw)
            if args.pop("weight", False):
                args["weight"] = pe.tensor(w, device=device)
            loss_fn = loss_cls(**args)
            xt = pe.tensor(x, device=device, requires_grad=True)
            inp = F.log_softmax(xt, 1) if loss_cls is nn.NLLLoss else xt
            loss = loss_fn(inp, pe.tensor(target, device=device))
            assert loss.device.type == device
            loss.sum().backward()
            res.append((npy(loss), npy(xt.grad)))
        np.testing.assert_allclose(res[0][0], res[1][0], **tol(dtype))
        np.testing.assert_allclose(res[0][1], res[1][1], **tol(dtype))
