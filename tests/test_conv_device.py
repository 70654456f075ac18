"""Convolutions on device="cuda" (a GPU, or the emulated GPU of a PYENGINE_CUDA=EMU build) against
the CPU kernels, which tests/test_conv.py checks against NumPy: forward and every gradient through
autograd (nn.Conv2d, nn.ConvTranspose2d, F.conv1d, F.conv_transpose1d), float32 and float64, plus a
float64 finite-difference gradcheck on the device. Shapes are tiny: emulated launches are slow.

The shapes are chosen to reach every path of cuda/conv.cu: several 64-wide output tiles (columns
and channels), reductions longer than one 16-step and not a multiple of it, the weight gradient's
split reduction (positions >= 256 over one output tile), strided/dilated/grouped/depthwise
geometry, asymmetric padding, strided (non-contiguous) inputs, and an empty reduction (batch 0)."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.nn import functional as F
from device_gradcheck import gradcheck_on

pytestmark = pytest.mark.skipif(not pe.cuda.is_available(), reason="needs a CUDA device (or the emulated GPU)")

DTYPES = ["float32", "float64"]


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)


def np_(t):
    return t.detach().cpu().numpy()


def run(fn, arrays, device, dtype, grad_seed=1):
    """fn(*tensors) on `device`; then backward of sum(out * G) for a fixed G. Returns the output and
    every input's gradient, as NumPy arrays."""
    ts = [pe.tensor(a.astype(dtype), device=device, requires_grad=True) for a in arrays]
    out = fn(*ts)
    g = np.random.default_rng(grad_seed).standard_normal(tuple(out.shape)).astype(dtype)
    (out * pe.tensor(g, device=device)).sum().backward()
    return [np_(out)] + [np_(t.grad) for t in ts]


def compare(fn, shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    want = run(fn, arrays, "cpu", dtype)
    got = run(fn, arrays, "cuda", dtype)
    for name, g, w in zip(["output"] + [f"grad {i}" for i in range(len(shapes))], got, want):
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, err_msg=name, **tol(dtype))


# x shape, w shape, keyword arguments of F.conv2d (bias: (K,))
CONV2D_CASES = {
    "plain": ((2, 3, 5, 6), (4, 3, 3, 3), dict(padding=1)),
    "stride2": ((2, 3, 7, 7), (4, 3, 3, 3), dict(stride=2, padding=(1, 2))),
    "stride_hw": ((2, 3, 6, 7), (4, 3, 2, 3), dict(stride=(3, 2))),
    "dilation2": ((2, 3, 7, 6), (4, 3, 3, 2), dict(dilation=2, padding=2)),
    "groups3": ((2, 6, 5, 5), (9, 2, 3, 3), dict(groups=3, padding=1, stride=2)),
    "depthwise": ((2, 3, 6, 5), (3, 1, 3, 3), dict(groups=3, padding=1)),
    "depthwise_x2": ((2, 3, 5, 5), (6, 1, 3, 3), dict(groups=3, dilation=2, padding=2)),
    "same_asym": ((2, 3, 5, 6), (4, 3, 2, 4), dict(padding="same")),  # pads (0, 1, 1, 2)
    "pointwise": ((2, 5, 4, 3), (3, 5, 1, 1), dict()),
    "kernel_is_input": ((2, 3, 5, 4), (2, 3, 5, 4), dict()),
    "wide_channels": ((1, 3, 3, 3), (70, 3, 3, 3), dict(padding=1)),     # 2 tiles of out channels
    "many_in_channels": ((1, 66, 3, 3), (2, 66, 1, 2), dict()),          # 2 tiles of gx channels
    "many_columns": ((2, 2, 9, 8), (3, 2, 3, 3), dict(padding=1)),       # 144 columns: 3 tiles
    "split_weight_grad": ((7, 2, 7, 7), (3, 2, 3, 3), dict(padding=1)),  # 343 positions: 2 slices
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CONV2D_CASES))
def test_conv2d_matches_cpu(case, dtype):
    xs, ws, kw = CONV2D_CASES[case]
    compare(lambda x, w, b: F.conv2d(x, w, b, **kw), [xs, ws, (ws[0],)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_strided_input(dtype):
    # x is a transposed (non-contiguous) view on the device: the kernels read it in place.
    def fn(x, w):
        return F.conv2d(x.transpose(2, 3), w, None, stride=(2, 1), padding=1)
    compare(fn, [(2, 3, 6, 5), (4, 3, 3, 3)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nn_conv2d_module(dtype):
    ref = nn.Conv2d(4, 6, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2), groups=2).to(dtype)
    dev = nn.Conv2d(4, 6, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2), groups=2)
    dev.load_state_dict(ref.state_dict())
    dev.to(dtype).to("cuda")
    x = np.random.default_rng(3).standard_normal((2, 4, 7, 7)).astype(dtype)
    outs = {}
    for name, m in (("cpu", ref), ("cuda", dev)):
        xt = pe.tensor(x, device=name, requires_grad=True)
        y = m(xt)
        assert y.device.type == name
        (y * y).sum().backward()
        outs[name] = [np_(y), np_(xt.grad), np_(m.weight.grad), np_(m.bias.grad)]
    for got, want in zip(outs["cuda"], outs["cpu"]):
        np.testing.assert_allclose(got, want, **tol(dtype))


# x shape, w shape (C_in, C_out/groups, kH, kW), keyword arguments of F.conv_transpose2d
TRANSPOSE2D_CASES = {
    "plain": ((2, 3, 4, 5), (3, 4, 3, 3), dict(padding=1)),
    "stride2_outpad": ((2, 3, 4, 3), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    "stride_hw_outpad": ((2, 3, 3, 4), (3, 2, 2, 3), dict(stride=(2, 3), output_padding=(1, 2))),
    "dilation_groups": ((2, 6, 4, 4), (6, 2, 3, 2), dict(groups=3, dilation=2, stride=2, output_padding=1)),
    "depthwise": ((2, 3, 5, 4), (3, 1, 3, 3), dict(groups=3, stride=2, padding=1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(TRANSPOSE2D_CASES))
def test_conv_transpose2d_matches_cpu(case, dtype):
    xs, ws, kw = TRANSPOSE2D_CASES[case]
    bias = (ws[1] * kw.get("groups", 1),)
    compare(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [xs, ws, bias], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nn_conv_transpose2d_module(dtype):
    kw = dict(stride=2, padding=1, output_padding=1, groups=1, dilation=1)
    ref = nn.ConvTranspose2d(3, 4, 3, **kw).to(dtype)
    dev = nn.ConvTranspose2d(3, 4, 3, **kw)
    dev.load_state_dict(ref.state_dict())
    dev.to(dtype).to("cuda")
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5)).astype(dtype)
    outs = {}
    for name, m in (("cpu", ref), ("cuda", dev)):
        xt = pe.tensor(x, device=name, requires_grad=True)
        y = m(xt)
        (y * y).sum().backward()
        outs[name] = [np_(y), np_(xt.grad), np_(m.weight.grad), np_(m.bias.grad)]
    for got, want in zip(outs["cuda"], outs["cpu"]):
        np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(dilation=2, padding=2, groups=3)],
                         ids=["stride", "dilation_groups"])
def test_conv1d_matches_cpu(kw, dtype):
    compare(lambda x, w, b: F.conv1d(x, w, b, **kw), [(2, 3, 9), (6, 3 // kw.get("groups", 1), 3), (6,)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose1d_matches_cpu(dtype):
    kw = dict(stride=3, padding=1, output_padding=2, dilation=2, groups=3)
    compare(lambda x, w, b: F.conv_transpose1d(x, w, b, **kw), [(2, 6, 5), (6, 2, 3), (6,)], dtype)


def test_empty_batch_weight_grad_is_zero():
    # batch 0: the weight gradient reduces over nothing and must still be written (zeros).
    x = pe.tensor(np.zeros((0, 3, 5, 5)), device="cuda", requires_grad=True)
    w = pe.tensor(np.ones((4, 3, 3, 3)), device="cuda", requires_grad=True)
    b = pe.tensor(np.ones(4), device="cuda", requires_grad=True)
    F.conv2d(x, w, b, padding=1).sum().backward()
    np.testing.assert_array_equal(np_(w.grad), np.zeros((4, 3, 3, 3)))
    np.testing.assert_array_equal(np_(b.grad), np.zeros(4))


def test_weight_grad_is_deterministic():
    # The split reduction sums its slices in a fixed order: bitwise-equal results run to run.
    rng = np.random.default_rng(5)
    x = pe.tensor(rng.standard_normal((7, 2, 7, 7)).astype("float32"), device="cuda")
    w = pe.tensor(rng.standard_normal((3, 2, 3, 3)).astype("float32"), device="cuda", requires_grad=True)
    grads = []
    for _ in range(2):
        w.grad = None
        F.conv2d(x, w, None, padding=1).sum().backward()
        grads.append(np_(w.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


def test_device_mismatch_is_an_error():
    x = pe.tensor(np.zeros((1, 3, 5, 5)), device="cuda")
    w = pe.tensor(np.zeros((4, 3, 3, 3)))
    with pytest.raises(RuntimeError, match="got input on cuda:0 and weight on cpu"):
        F.conv2d(x, w)


# ---------------------------------------------------------------- gradcheck on the device
def test_conv2d_gradcheck_on_device():
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((1, 2, 4, 3)), rng.standard_normal((2, 1, 2, 2)), rng.standard_normal(2)]
    gradcheck_on("cuda", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
                 *arrays)


def test_conv_transpose2d_gradcheck_on_device():
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((1, 2, 2, 3)), rng.standard_normal((2, 1, 2, 2)), rng.standard_normal(1)]
    gradcheck_on("cuda", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), *arrays)
