"""float16/bfloat16 convolutions on the CPU: 16-bit operands, float32 sums, each result rounded once.

The CPU kernels take the 16-bit tensors as they are (no float32 copies): column matrices and padded
copies stay 16-bit, the products run on cpu::gemm16 (bfloat16 on AVX512_BF16's dot-product
instruction under the AVX-512 kernels where the CPU has it, else widened while packing) and y, the
input, weight and bias gradients are each rounded once from float32 sums - PyTorch's CPU rule.
Every result is checked against a float64 NumPy reference computed from the same 16-bit values,
within one 16-bit rounding plus float32 accumulation (test_gemm16.check_rounded_sum), on every ISA
this CPU runs, over shapes that take every lowering of cpu/conv.cpp: the 1x1 product read in place,
column matrices (one image or several side by side, read from a padded copy or from the image
itself when padding dominates), the Shifted weight gradient, the input gradient as a conv or
through col2im; groups, depthwise, batch 1, odd channel counts and odd GEMM depths (the bfloat16 dot
kernel packs pairs along k), strided views. Integer-valued data must come out exact.
"""
import numpy as np
import pytest

import pyengine as pe
from pyengine import _C
from pyengine.nn import functional as F
from test_conv import ref_conv2d, ref_conv2d_weight_grad, ref_conv_transpose2d
from test_gemm16 import check_rounded_sum
from test_gemm_kernels import ISAS, isa, threads

HALF = [pe.bfloat16, pe.float16]

# x shape, w shape, stride, padding (h, w), dilation, groups - and the lowering each one takes.
CASES = [
    ((2, 5, 6, 7), (3, 5, 1, 1), (1, 1), (0, 0), (1, 1), 1),        # 1x1: the input read in place
    ((1, 3, 9, 8), (5, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),        # batch 1, 27 rows: im2col weight grad
    ((2, 7, 6, 9), (4, 7, 3, 3), (1, 1), (1, 1), (1, 1), 1),        # 63 rows: Shifted weight grad
    ((2, 6, 9, 11), (5, 6, 3, 2), (2, 3), (1, 0), (1, 1), 1),       # strided: col2im input gradient
    ((2, 5, 10, 9), (3, 5, 3, 3), (1, 1), (2, 3), (2, 3), 1),       # dilated
    ((2, 6, 7, 8), (10, 3, 3, 2), (1, 2), (1, 0), (1, 2), 2),       # groups, strided one way
    ((2, 7, 8, 8), (7, 1, 3, 3), (1, 1), (1, 1), (1, 1), 7),        # depthwise
    ((2, 3, 5, 5), (5, 3, 1, 1), (1, 1), (1, 1), (1, 1), 1),        # padded 1x1: col2im on a Shifted plan
    ((8, 3, 4, 4), (5, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),        # small images side by side, 4 slots
    ((1, 2, 3, 3), (3, 2, 3, 3), (1, 1), (200, 200), (100, 100), 1),  # padding dominates: unpadded
    ((2, 2, 3, 3), (3, 2, 3, 3), (40, 40), (200, 200), (100, 100), 1),  # ... and strided
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0), (1, 1), 1),        # one pixel
]


def rounded(rng, shape, dtype, values=None):
    """A `dtype` tensor of random values (or the given ones) and the same values in float64."""
    a = rng.standard_normal(shape) if values is None else values
    t = pe.tensor(np.asarray(a, dtype=np.float32)).to(dtype)
    return t, t.float().numpy().astype(np.float64)


def conv_grads(x64, w64, gy64, stride, pad, dil, groups):
    """The float64 input and weight gradients of conv2d for output gradient gy."""
    opad = [x64.shape[2 + d] - ((gy64.shape[2 + d] - 1) * stride[d] - 2 * pad[d] + dil[d] * (w64.shape[2 + d] - 1) + 1)
            for d in range(2)]
    gx = ref_conv_transpose2d(gy64, w64, None, stride, pad, opad, groups, dil)
    gw = ref_conv2d_weight_grad(x64, gy64, w64.shape, stride, pad, dil, groups)
    return gx, gw


def check_conv2d(case, dtype, rng, x=None, x64=None):
    """y, gx, gw, gb of one conv2d case against float64 references of the same 16-bit values."""
    xs, ws, stride, pad, dil, groups = case
    if x is None:
        x, x64 = rounded(rng, xs, dtype)
    w, w64 = rounded(rng, ws, dtype)
    b, b64 = rounded(rng, (ws[0],), dtype)
    x.requires_grad_(), w.requires_grad_(), b.requires_grad_()
    y = F.conv2d(x, w, b, stride, pad, dil, groups)
    pads = (pad[0], pad[0], pad[1], pad[1])
    terms = ws[1] * ws[2] * ws[3] + 1
    check_rounded_sum(y, ref_conv2d(x64, w64, b64, stride, pads, dil, groups),
                      ref_conv2d(abs(x64), abs(w64), abs(b64), stride, pads, dil, groups), terms, dtype)
    gy, gy64 = rounded(rng, tuple(y.shape), dtype)
    y.backward(gy)
    gx, gw = conv_grads(x64, w64, gy64, stride, pad, dil, groups)
    sx, sw = conv_grads(abs(x64), abs(w64), abs(gy64), stride, pad, dil, groups)
    check_rounded_sum(x.grad, gx, sx, ws[0] * ws[2] * ws[3], dtype)
    check_rounded_sum(w.grad, gw, sw, xs[0] * gy64.shape[2] * gy64.shape[3], dtype)
    check_rounded_sum(b.grad, gy64.sum((0, 2, 3)), abs(gy64).sum((0, 2, 3)), gy64[0, 0].size * xs[0], dtype)


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_and_gradients_round_once(name, dtype, case):
    with isa(name):
        check_conv2d(case, dtype, np.random.default_rng(sum(case[0]) + 7 * sum(case[1])))


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_strided_input_views(dtype):
    rng = np.random.default_rng(3)
    big, big64 = rounded(rng, (2, 9, 11, 13), dtype)
    for axes in ((0, 1, 2, 3), (0, 1, 3, 2), (0, 2, 1, 3)):  # sliced, then transposed or permuted
        x64 = big64[:, 1::2, ::2, 1::3].transpose(axes)
        xs = x64.shape
        for ws, stride, pad in (((4, xs[1], 3, 2), (1, 2), (1, 1)), ((3, xs[1], 1, 1), (1, 1), (0, 0))):
            x = big[:, 1::2, ::2, 1::3].permute(*axes).detach()
            assert not x.is_contiguous()
            check_conv2d((xs, ws, stride, pad, (1, 1), 1), dtype, rng, x, x64)


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_conv_transpose2d_and_gradients(name, dtype):
    rng = np.random.default_rng(11)
    for xs, ws, stride, pad, opad, dil, groups in [((2, 6, 5, 4), (6, 3, 3, 3), (2, 1), (1, 0), (1, 0), (1, 2), 2),
                                                    ((1, 5, 4, 4), (5, 7, 3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1)]:
        x, x64 = rounded(rng, xs, dtype)
        w, w64 = rounded(rng, ws, dtype)
        b, b64 = rounded(rng, (ws[1] * groups,), dtype)
        x.requires_grad_(), w.requires_grad_(), b.requires_grad_()
        with isa(name):
            y = F.conv_transpose2d(x, w, b, stride, pad, opad, groups, dil)
            gy, gy64 = rounded(rng, tuple(y.shape), dtype)
            y.backward(gy)
        taps = ws[2] * ws[3]
        check_rounded_sum(y, ref_conv_transpose2d(x64, w64, b64, stride, pad, opad, groups, dil),
                          ref_conv_transpose2d(abs(x64), abs(w64), abs(b64), stride, pad, opad, groups, dil),
                          xs[1] // groups * taps + 1, dtype)
        # The adjoint of conv2d(gy -> x): its input gradient is conv2d(gy, w), its weight gradient
        # conv2d's weight gradient with gy as the input and x as the output gradient.
        pads = (pad[0], pad[0], pad[1], pad[1])
        check_rounded_sum(x.grad, ref_conv2d(gy64, w64, None, stride, pads, dil, groups),
                          ref_conv2d(abs(gy64), abs(w64), None, stride, pads, dil, groups), ws[1] * taps, dtype)
        check_rounded_sum(w.grad, ref_conv2d_weight_grad(gy64, x64, ws, stride, pad, dil, groups),
                          ref_conv2d_weight_grad(abs(gy64), abs(x64), ws, stride, pad, dil, groups),
                          xs[0] * xs[2] * xs[3], dtype)
        check_rounded_sum(b.grad, gy64.sum((0, 2, 3)), abs(gy64).sum((0, 2, 3)), gy64[0, 0].size * xs[0], dtype)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_conv1d_and_conv_transpose1d(dtype):
    rng = np.random.default_rng(5)
    x, x64 = rounded(rng, (3, 5, 17), dtype)
    w, w64 = rounded(rng, (4, 5, 3), dtype)
    y = F.conv1d(x, w, None, 2, 1)
    check_rounded_sum(y, ref_conv2d(x64[:, :, None], w64[:, :, None], None, (1, 2), (0, 0, 1, 1))[:, :, 0],
                      ref_conv2d(abs(x64[:, :, None]), abs(w64[:, :, None]), None, (1, 2), (0, 0, 1, 1))[:, :, 0],
                      15, dtype)
    wt, wt64 = rounded(rng, (5, 2, 3), dtype)
    yt = F.conv_transpose1d(x, wt, None, 2, 1)
    check_rounded_sum(yt, ref_conv_transpose2d(x64[:, :, None], wt64[:, :, None], None, (1, 2), (0, 1))[:, :, 0],
                      ref_conv_transpose2d(abs(x64[:, :, None]), abs(wt64[:, :, None]), None, (1, 2), (0, 1))[:, :, 0],
                      15, dtype)


def round_to(a64, dtype):
    """float64 values rounded once to `dtype` (through float32, exact for these integers)."""
    return pe.tensor(a64.astype(np.float32)).to(dtype).float().numpy()


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_integer_data_is_exact(name, dtype):
    """Integers up to 32: every product and partial sum is exact in float32, so y, gx and gw must
    be exactly the float64 results rounded once to the 16-bit type - many of them need more bits
    than it has, so a partial sum rounded to 16 bits on the way would show."""
    rng = np.random.default_rng(1)
    for xs, ws, stride, pad, dil, groups in [CASES[0], CASES[2], CASES[3], CASES[5], CASES[8], CASES[10]]:
        x, x64 = rounded(rng, xs, dtype, rng.integers(-32, 33, xs))
        w, w64 = rounded(rng, ws, dtype, rng.integers(-32, 33, ws))
        x.requires_grad_(), w.requires_grad_()
        with isa(name):
            y = F.conv2d(x, w, None, stride, pad, dil, groups)
            gy, gy64 = rounded(rng, tuple(y.shape), dtype, rng.integers(-8, 9, tuple(y.shape)))
            y.backward(gy)
        y64 = ref_conv2d(x64, w64, None, stride, (pad[0], pad[0], pad[1], pad[1]), dil, groups)
        gx, gw = conv_grads(x64, w64, gy64, stride, pad, dil, groups)
        for got, want in ((y.detach(), y64), (x.grad, gx), (w.grad, gw)):
            np.testing.assert_array_equal(got.float().numpy(), round_to(want, dtype))


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_the_kernels_take_16_bit_tensors(dtype):
    """_C.conv2d and its backward accept the 16-bit tensors and answer in their dtype (the float32
    detour is gone: no conversion node in the graph), and the bfloat16 products follow the ISA
    switch - the dot-product kernel under AVX-512 where the CPU has it, widening otherwise."""
    rng = np.random.default_rng(2)
    x, _ = rounded(rng, (2, 3, 6, 6), dtype)
    w, _ = rounded(rng, (4, 3, 3, 3), dtype)
    y = _C.conv2d(x._impl, w._impl, None, [1, 1], [1, 1], [1, 1], 1, False)
    assert y.dtype == dtype.name
    gy = pe.ones(2, 4, 6, 6, dtype=dtype)
    grads = _C.conv2d_backward(gy._impl, x._impl, w._impl, [1, 1], [1, 1], [1, 1], 1, [True, True, True], False)
    assert [g.dtype for g in grads] == [dtype.name] * 3
    out = F.conv2d(x.requires_grad_(), w, padding=1)
    assert type(out.grad_fn).__name__ == "Conv2dBackward"
    paths = set()
    for name in ISAS:
        with isa(name):
            paths.add(_C.bf16_gemm_path())
            check_conv2d(CASES[2], dtype, rng)
    assert "float32" in paths  # the widening path always ran; the dot path where the CPU has it


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_results_do_not_depend_on_thread_count(dtype):
    rng = np.random.default_rng(4)
    x, _ = rounded(rng, (9, 8, 12, 12), dtype)
    w, _ = rounded(rng, (8, 8, 3, 3), dtype)
    results = []
    for n in (1, 2):
        with threads(n):
            xt, wt = x.detach().requires_grad_(), w.detach().requires_grad_()
            y = F.conv2d(xt, wt, None, 2, 1)
            y.float().square().sum().backward()
            results.append([t.float().numpy() for t in (y.detach(), xt.grad, wt.grad)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_autocast_runs_the_bfloat16_kernels():
    rng = np.random.default_rng(6)
    x = pe.tensor(rng.standard_normal((2, 3, 7, 7)).astype(np.float32))
    conv = pe.nn.Conv2d(3, 4, 3, padding=1)
    with pe.autocast("cpu", dtype=pe.bfloat16):
        y = conv(x)
    assert y.dtype is pe.bfloat16
    want = F.conv2d(x.to(pe.bfloat16), conv.weight.to(pe.bfloat16), conv.bias.to(pe.bfloat16), padding=1)
    np.testing.assert_array_equal(y.detach().float().numpy(), want.detach().float().numpy())


def test_cuda_device_still_computes_in_float32(device):
    """On the CUDA kernels (float32/float64 only) the 16-bit conv converts; the results meet the
    same bound as the CPU's."""
    rng = np.random.default_rng(8)
    x, x64 = rounded(rng, (2, 4, 6, 5), pe.bfloat16)
    w, w64 = rounded(rng, (3, 4, 3, 3), pe.bfloat16)
    y = F.conv2d(x.to(device), w.to(device), None, 1, 1)
    assert y.device.type == device
    check_rounded_sum(y, ref_conv2d(x64, w64, None, (1, 1), (1, 1, 1, 1)),
                      ref_conv2d(abs(x64), abs(w64), None, (1, 1), (1, 1, 1, 1)), 36, pe.bfloat16)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", [CASES[2], CASES[3], CASES[5], CASES[6]], ids=str)
def test_matches_torch(dtype, case):
    """PyTorch's CPU conv on the same 16-bit tensors: both within a 16-bit unit of each other."""
    torch = pytest.importorskip("torch")
    xs, ws, stride, pad, dil, groups = case
    rng = np.random.default_rng(9)
    dt, tdt = getattr(pe, dtype), getattr(torch, dtype)
    x, x64 = rounded(rng, xs, dt)
    w, w64 = rounded(rng, ws, dt)
    x.requires_grad_(), w.requires_grad_()
    tx = torch.from_numpy(x64).to(tdt).requires_grad_()
    tw = torch.from_numpy(w64).to(tdt).requires_grad_()
    y = F.conv2d(x, w, None, stride, pad, dil, groups)
    ty = torch.nn.functional.conv2d(tx, tw, None, stride, pad, dil, groups)
    gy, gy64 = rounded(rng, tuple(y.shape), dt)
    y.backward(gy)
    ty.backward(torch.from_numpy(gy64).to(tdt))
    unit = 2.0 ** -8 if dtype == "bfloat16" else 2.0 ** -11
    for got, want in ((y.detach(), ty.detach()), (x.grad, tx.grad), (w.grad, tw.grad)):
        a, b = got.float().numpy(), want.float().numpy()
        np.testing.assert_allclose(a, b, rtol=2 * unit, atol=2 * unit * np.abs(b).max())
