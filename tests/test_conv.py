"""Convolutions: conv1d/conv2d/conv_transpose1d/conv_transpose2d kernels vs a NumPy reference,
gradcheck for every option that changes the code path, differential tests against PyTorch,
the layers (init, repr, state_dict from torch, LazyConv2d), thread-count independence, errors."""
import contextlib
import math

import numpy as np
import pytest

import pyengine as pe
from pyengine import _C, nn
from pyengine.autograd import gradcheck, gradgradcheck
from pyengine.nn import functional as F

rng = np.random.default_rng(0)


# ---------------------------------------------------------------- NumPy references
def ref_conv2d(x, w, b=None, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1), groups=1):
    """Direct definition; pad = (top, bottom, left, right)."""
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    oh = (h + pad[0] + pad[1] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pad[2] + pad[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, k, oh, ow), dtype=np.float64)
    kg = k // groups
    for g in range(groups):
        for r in range(kh):
            for s in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg, r * dil[0]:r * dil[0] + stride[0] * (oh - 1) + 1:stride[0],
                           s * dil[1]:s * dil[1] + stride[1] * (ow - 1) + 1:stride[1]]
                out[:, g * kg:(g + 1) * kg] += np.einsum("nchw,kc->nkhw", patch, w[g * kg:(g + 1) * kg, :, r, s])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def ref_conv_transpose2d(x, w, b=None, stride=(1, 1), pad=(0, 0), out_pad=(0, 0), groups=1, dil=(1, 1)):
    """Scatter every input pixel times the kernel, then crop the padding."""
    n, cin, h, wd = x.shape
    _, cog, kh, kw = w.shape
    oh = (h - 1) * stride[0] - 2 * pad[0] + dil[0] * (kh - 1) + out_pad[0] + 1
    ow = (wd - 1) * stride[1] - 2 * pad[1] + dil[1] * (kw - 1) + out_pad[1] + 1
    fh = max(pad[0] + oh, (h - 1) * stride[0] + dil[0] * (kh - 1) + 1)
    fw = max(pad[1] + ow, (wd - 1) * stride[1] + dil[1] * (kw - 1) + 1)
    full = np.zeros((n, cog * groups, fh, fw))
    cg = cin // groups
    for g in range(groups):
        for r in range(kh):
            for s in range(kw):
                full[:, g * cog:(g + 1) * cog, r * dil[0]:r * dil[0] + stride[0] * (h - 1) + 1:stride[0],
                     s * dil[1]:s * dil[1] + stride[1] * (wd - 1) + 1:stride[1]] += np.einsum(
                         "nchw,co->nohw", x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg, :, r, s])
    out = full[:, :, pad[0]:pad[0] + oh, pad[1]:pad[1] + ow]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


def arr(*shape):
    return rng.standard_normal(shape)


def T(a, dtype=np.float64, grad=False):
    return pe.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def close(got, want, dtype):
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# ---------------------------------------------------------------- forward vs NumPy
FORWARD_CASES = [
    # x shape, w shape, stride, padding (4), dilation, groups
    ((2, 3, 5, 6), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((1, 1, 1, 1), (2, 1, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),        # 1x1 image, pointwise
    ((3, 5, 7, 11), (7, 5, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),       # pointwise GEMM path
    ((2, 3, 7, 5), (2, 3, 7, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1),        # kernel = input: 1x1 output
    ((2, 2, 3, 3), (3, 2, 5, 5), (1, 1), (1, 1, 1, 1), (1, 1), 1),        # kernel = padded input
    ((2, 4, 13, 11), (6, 2, 3, 2), (2, 3), (2, 1, 0, 3), (1, 2), 2),      # everything odd, asymmetric
    ((1, 6, 9, 9), (6, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 6),        # depthwise
    ((2, 4, 9, 8), (8, 1, 3, 3), (2, 2), (1, 1, 1, 1), (2, 2), 4),        # depthwise multiplier 2, dilated
    ((0, 3, 5, 5), (4, 3, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),        # empty batch
    ((2, 3, 8, 8), (5, 3, 1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),        # strided 1x1 (not pointwise)
    ((9, 3, 6, 7), (4, 3, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),        # strided, small: images chunked
    ((2, 3, 5, 5), (4, 3, 1, 1), (1, 1), (1, 2, 0, 1), (1, 1), 1),        # 1x1 padded: pad > dil*(k-1)
    ((2, 2, 6, 5), (3, 2, 2, 3), (1, 1), (0, 1, 2, 0), (3, 2), 1),        # stride 1, dilated both ways
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,stride,pad,dil,groups", FORWARD_CASES)
def test_conv2d_forward_matches_numpy(dtype, xs, ws, stride, pad, dil, groups):
    x, w, b = arr(*xs).astype(dtype), arr(*ws).astype(dtype), arr(ws[0]).astype(dtype)
    want = ref_conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), stride, pad, dil, groups)
    got = _C.conv2d(_C.from_numpy(x), _C.from_numpy(w), _C.from_numpy(b), list(stride), list(pad), list(dil), groups)
    assert got.dtype == np.dtype(dtype).name and tuple(got.shape) == want.shape
    close(got.numpy(), want, dtype)


@pytest.mark.parametrize("view", ["transposed", "sliced", "strided", "broadcast"])
def test_conv2d_reads_any_input_view(view):
    base = arr(2, 6, 10, 12)
    if view == "transposed":
        x = pe.tensor(base).transpose(2, 3)          # (2, 6, 12, 10), W stride != 1
    elif view == "sliced":
        x = pe.tensor(base)[:, 1:4, 2:9, 3:]          # (2, 3, 7, 9)
    elif view == "strided":
        x = pe.tensor(base)[:, ::2, ::3, ::2]         # (2, 3, 4, 6)
    else:
        x = pe.tensor(arr(1, 3, 1, 7)).expand(2, 3, 5, 7)  # stride-0 batch and H
    xn = x.numpy()
    for ks, stride in (((3, 2), 1), ((1, 1), 1), ((2, 3), 2)):
        w = arr(4, x.shape[1], *ks)
        got = F.conv2d(x, T(w), padding=(1, 0) if ks == (3, 2) else 0, stride=stride)
        want = ref_conv2d(xn, w, pad=(1, 1, 0, 0) if ks == (3, 2) else (0, 0, 0, 0), stride=(stride, stride))
        close(got.numpy(), want, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,stride,pad,opad,dil,groups", [
    ((2, 4, 5, 6), (4, 3, 3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1),
    ((2, 4, 5, 3), (4, 1, 3, 2), (2, 3), (1, 0), (1, 2), (1, 1), 2),
    ((1, 3, 4, 4), (3, 2, 3, 3), (1, 1), (0, 0), (1, 1), (2, 2), 1),   # output_padding < dilation
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1),   # pointwise
    ((0, 2, 3, 3), (2, 2, 2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 1),
])
def test_conv_transpose2d_forward_matches_numpy(dtype, xs, ws, stride, pad, opad, dil, groups):
    x, w, b = arr(*xs).astype(dtype), arr(*ws).astype(dtype), arr(ws[1] * groups).astype(dtype)
    want = ref_conv_transpose2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), stride, pad, opad,
                                groups, dil)
    got = F.conv_transpose2d(T(x, dtype), T(w, dtype), T(b, dtype), stride, pad, opad, groups, dil)
    assert tuple(got.shape) == want.shape
    close(got.numpy(), want, dtype)


@pytest.mark.parametrize("stride", [1, 2])
def test_no_input_channels_gives_no_channels(stride):
    # PyTorch's empty path: an input of zero channels gives an output of zero channels (not the
    # bias), and a transposed conv with no input channels has no weight rows for its groups.
    got = F.conv2d(T(arr(2, 0, 5, 5)), T(arr(3, 0, 3, 3)), T(arr(3)), stride=stride, padding=1)
    assert tuple(got.shape) == (2, 0, 5 if stride == 1 else 3, 5 if stride == 1 else 3)
    with pytest.raises(ValueError, match="expected weight to be at least 1 at dimension 0"):
        F.conv_transpose2d(T(arr(2, 0, 4, 4)), T(arr(0, 3, 3, 3)), T(arr(3)), stride=stride)


def test_conv1d_is_conv2d_on_a_row():
    x, w, b = arr(3, 4, 17), arr(6, 2, 5), arr(6)
    got = F.conv1d(T(x), T(w), T(b), stride=2, padding=3, dilation=2, groups=2)
    want = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 0, 3, 3), (1, 2), 2)[:, :, 0]
    close(got.numpy(), want, np.float64)
    got = F.conv_transpose1d(T(x), T(arr(4, 3, 3)), stride=2, padding=1, output_padding=1)
    assert tuple(got.shape) == (3, 3, 34)


def test_unbatched_inputs():
    x, w = arr(3, 6, 6), arr(4, 3, 3, 3)
    close(F.conv2d(T(x), T(w)).numpy(), ref_conv2d(x[None], w)[0], np.float64)
    assert tuple(F.conv1d(T(arr(3, 9)), T(arr(2, 3, 4))).shape) == (2, 6)
    assert tuple(F.conv_transpose2d(T(x), T(arr(3, 2, 2, 2)), stride=2).shape) == (2, 12, 12)


@pytest.mark.parametrize("k,d", [(4, 1), (3, 1), (2, 3), (5, 2)])
def test_same_padding_puts_odd_extra_on_the_right(k, d):
    x, w = arr(2, 3, 9, 10), arr(2, 3, k, k + 1)
    got = F.conv2d(T(x), T(w), padding="same", dilation=d)
    th, tw = d * (k - 1), d * k
    want = ref_conv2d(x, w, pad=(th // 2, th - th // 2, tw // 2, tw - tw // 2), dil=(d, d))
    assert tuple(got.shape) == (2, 2, 9, 10)
    close(got.numpy(), want, np.float64)
    assert tuple(F.conv2d(T(x), T(w), padding="valid").shape) == ref_conv2d(x, w).shape


# ---------------------------------------------------------------- gradients
GRAD_CASES = [
    # name, x shape, w shape, kwargs
    ("plain", (2, 3, 5, 4), (2, 3, 3, 3), {}),
    ("pad_stride", (2, 2, 6, 5), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2))),
    ("dilation", (1, 2, 7, 7), (2, 2, 3, 2), dict(dilation=(2, 3), padding=1)),
    ("same_even", (2, 2, 5, 6), (2, 2, 4, 2), dict(padding="same")),
    ("groups", (2, 4, 5, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ("depthwise", (2, 3, 5, 5), (3, 1, 3, 3), dict(groups=3, stride=2, padding=1)),
    ("pointwise", (2, 3, 4, 5), (4, 3, 1, 1), {}),
    ("no_bias", (1, 2, 4, 4), (2, 2, 2, 2), dict(bias=False)),
    ("chunked_strided", (9, 2, 5, 4), (3, 2, 3, 2), dict(stride=2, padding=1)),
    ("pad_beyond_kernel", (2, 2, 3, 4), (3, 2, 2, 1), dict(padding=2)),
    # >= 32 taps x channels per output channel: the weight gradient's one-GEMM-per-kernel-row path
    ("many_taps", (2, 4, 5, 6), (3, 4, 3, 3), dict(padding=1)),
    ("many_taps_dilated_w", (1, 4, 6, 7), (2, 4, 3, 3), dict(padding=(1, 2), dilation=(1, 2))),
]


@pytest.mark.parametrize("name,xs,ws,kw", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_conv2d_gradcheck(name, xs, ws, kw):
    kw = dict(kw)
    bias = T(arr(ws[0]), grad=True) if kw.pop("bias", True) else None
    inputs = (T(arr(*xs), grad=True), T(arr(*ws), grad=True)) + ((bias,) if bias is not None else ())
    assert gradcheck(lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, **kw), inputs)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1),
                                dict(groups=2, dilation=2, stride=(2, 1), output_padding=(1, 0))])
def test_conv_transpose2d_gradcheck(kw):
    inputs = (T(arr(2, 4, 3, 4), grad=True), T(arr(4, 1, 3, 2), grad=True), T(arr(1 * kw.get("groups", 1)), grad=True))
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), inputs)


def test_conv1d_gradchecks():
    x, w, b = T(arr(2, 4, 7), grad=True), T(arr(4, 2, 3), grad=True), T(arr(4), grad=True)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2), (x, w, b))
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, padding="same", dilation=2), (x, T(arr(4, 4, 2), grad=True), b))
    wt = T(arr(4, 3, 3), grad=True)
    assert gradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1), (x, wt))


def test_only_requested_grads_are_computed():
    x, w = T(arr(1, 2, 4, 4)), T(arr(3, 2, 3, 3), grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None
    gx, gw, gb = _C.conv2d_backward(_C.from_numpy(np.ones((1, 3, 2, 2))), x._impl, w._impl, [1, 1], [0, 0], [1, 1],
                                    1, [True, False, False])
    assert gw is None and gb is None and tuple(gx.shape) == (1, 2, 4, 4)


GRADGRAD_CASES = [
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1), (2, 3, 5, 4), (4, 3, 3, 3), 4),
    ("conv2d strided dilated", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=(1, 2), dilation=(2, 1)),
     (2, 2, 7, 6), (3, 2, 3, 2), 3),
    ("conv2d groups same", lambda x, w, b: F.conv2d(x, w, b, padding="same", groups=2), (1, 4, 5, 5),
     (4, 2, 2, 3), 4),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     (2, 3, 3, 4), (3, 2, 3, 3), 2),
    ("conv_transpose2d groups", lambda x, w, b: F.conv_transpose2d(x, w, b, groups=2, dilation=2), (1, 4, 3, 3),
     (4, 1, 2, 2), 2),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), (2, 3, 9), (2, 3, 3), 2),
]


@pytest.mark.parametrize("name,fn,xs,ws,nb", GRADGRAD_CASES, ids=[c[0] for c in GRADGRAD_CASES])
def test_double_backward_gradgradcheck(name, fn, xs, ws, nb):
    inputs = (T(arr(*xs), grad=True), T(arr(*ws), grad=True), T(arr(nb), grad=True))
    assert gradgradcheck(fn, inputs)


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    x, w = arr(2, 3, 6, 6), arr(4, 3, 3, 3)
    grads = []
    for lib in (pe, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        conv = F.conv2d if lib is pe else torch.nn.functional.conv2d
        out = conv(xt, wt, stride=2, padding=1)
        (gx,) = lib.autograd.grad((out * out).sum(), xt, create_graph=True)
        penalty = (gx * gx).sum() + (out.tanh()).sum()
        penalty.backward()
        grads.append((xt.grad.detach().numpy(), wt.grad.detach().numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_results_do_not_depend_on_thread_count():
    x, w, b = arr(9, 8, 12, 12).astype(np.float32), arr(8, 8, 3, 3).astype(np.float32), arr(8).astype(np.float32)
    before = pe.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            pe.set_num_threads(threads)
            xt, wt, bt = T(x, np.float32, True), T(w, np.float32, True), T(b, np.float32, True)
            y = F.conv2d(xt, wt, bt, padding=1)
            (y * y).sum().backward()
            yt = F.conv_transpose2d(xt.detach(), wt, stride=2)
            y1 = F.conv2d(xt.detach()[:1], wt.detach(), padding=2, dilation=2)  # one image: cut by columns
            results.append([y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(), yt.detach().numpy(),
                            y1.numpy()])
    finally:
        pe.set_num_threads(before)
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)


# ---------------------------------------------------------------- vs PyTorch
TORCH_CASES = [
    ("conv2d", (4, 6, 11, 9), (8, 3, 3, 3), dict(stride=2, padding=(1, 2), dilation=(1, 2), groups=2)),
    ("conv2d", (3, 4, 8, 8), (4, 4, 4, 4), dict(padding="same")),
    ("conv2d", (2, 5, 7, 7), (5, 1, 3, 3), dict(groups=5, padding=1)),
    ("conv1d", (3, 4, 20), (6, 4, 5), dict(stride=3, padding=2)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 1, 2, 3), dict(groups=2, dilation=2)),
    ("conv_transpose1d", (2, 3, 9), (3, 2, 4), dict(stride=3, padding=1, output_padding=2)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn,xs,ws,kw", TORCH_CASES)
def test_matches_torch(dtype, fn, xs, ws, kw):
    torch = pytest.importorskip("torch")
    nd = getattr(np, dtype)
    transposed = "transpose" in fn
    out_c = ws[1] * kw.get("groups", 1) if transposed else ws[0]
    x, w, b = arr(*xs).astype(nd), arr(*ws).astype(nd), arr(out_c).astype(nd)
    ours = [T(a, nd, True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = getattr(F, fn)(*ours, **kw)
    yt = getattr(torch.nn.functional, fn)(*theirs, **kw)
    g = arr(*yt.shape).astype(nd)
    (y * T(g, nd)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("cls,args", [("Conv2d", (3, 8, 3)), ("Conv1d", (4, 6, 5)), ("ConvTranspose2d", (4, 6, 3)),
                                      ("ConvTranspose1d", (4, 2, 3))])
def test_state_dict_from_torch_gives_the_same_output(cls, args):
    torch = pytest.importorskip("torch")
    kw = dict(stride=2, padding=1, groups=2) if cls != "Conv2d" else dict(padding="same", bias=False)
    tm = getattr(torch.nn, cls)(*args, **kw)
    ours = getattr(nn, cls)(*args, **kw)
    ours.load_state_dict({k: pe.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    assert repr(ours) == repr(tm)
    x = arr(2, args[0], 9, 9)[..., 0] if cls.endswith("1d") else arr(2, args[0], 9, 9)
    x = x.astype(np.float32)
    np.testing.assert_allclose(ours(pe.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- layers
def test_conv2d_default_init_bounds():
    pe.manual_seed(0)
    m = nn.Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.shape == (32, 16, 3, 3) and b.shape == (32,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    t = nn.ConvTranspose2d(8, 6, 3, groups=2)
    assert tuple(t.weight.shape) == (8, 3, 3, 3)
    assert np.abs(t.weight.detach().numpy()).max() <= 1 / math.sqrt(3 * 9)


def test_conv_transpose_output_size():
    m = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    x = pe.tensor(arr(1, 3, 5, 5).astype(np.float32))
    assert tuple(m(x).shape) == (1, 2, 9, 9)
    assert tuple(m(x, output_size=(10, 10)).shape) == (1, 2, 10, 10)
    with pytest.raises(ValueError, match="output size"):
        m(x, output_size=(12, 12))


def test_lazy_conv2d_infers_in_channels_and_trains():
    m = nn.LazyConv2d(4, 3, padding=1)
    assert repr(m) == "LazyConv2d(0, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    y = m(pe.tensor(arr(2, 5, 6, 6)))  # float64 input -> float64 parameters
    assert type(m) is nn.Conv2d and m.in_channels == 5
    assert tuple(m.weight.shape) == (4, 5, 3, 3) and m.weight.dtype == pe.float64
    y.sum().backward()
    assert tuple(m.weight.grad.shape) == (4, 5, 3, 3) and tuple(m.bias.grad.shape) == (4,)


def test_module_errors():
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding string"):
        nn.Conv1d(3, 4, 3, padding="full")


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("call,err,fragments", [
    (lambda: F.conv2d(T(arr(2, 4, 5, 5)), T(arr(8, 3, 3, 3))), ValueError,
     ["expected input with 3 channels", "(8, 3, 3, 3)", "groups 1", "(2, 4, 5, 5)"]),
    (lambda: F.conv2d(T(arr(1, 1, 2, 2)), T(arr(1, 1, 3, 3))), ValueError,
     ["kernel size (3, 3)", "larger than the padded input (2, 2)"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5)), T(arr(1, 1, 3, 3)), padding="full"), ValueError, ["padding string"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5)), T(arr(1, 1, 3, 3)), padding="same", stride=2), ValueError, ["strided"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5)), T(arr(1, 1, 3, 3)), stride=0), ValueError, ["stride must be positive",
                                                                                      "(0, 0)"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5)), T(arr(1, 1, 3, 3)), dilation=(1, -1)), ValueError, ["dilation"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5)), T(arr(1, 1, 3, 3)), padding=-1), ValueError, ["non-negative"]),
    (lambda: F.conv2d(T(arr(1, 4, 5, 5)), T(arr(3, 2, 3, 3)), groups=2), ValueError, ["not divisible by groups 2"]),
    (lambda: F.conv2d(T(arr(1, 4, 5, 5)), T(arr(2, 4, 3, 3)), groups=0), ValueError, ["groups must be positive"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5)), T(arr(2, 1, 3, 3)), T(arr(3))), ValueError, ["bias of shape (2,)", "(3,)"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5), np.float32), T(arr(2, 1, 3, 3))), TypeError, ["float32", "float64"]),
    (lambda: F.conv2d(pe.tensor(np.ones((1, 1, 3, 3), dtype=np.int64)), pe.tensor(np.ones((1, 1, 1, 1), dtype=np.int64))),
     TypeError, ["floating", "int64"]),
    (lambda: F.conv2d(T(arr(5, 5)), T(arr(1, 1, 3, 3))), ValueError, ["3-D (unbatched) or 4-D", "(5, 5)"]),
    (lambda: F.conv2d(T(arr(1, 1, 5, 5)), T(arr(1, 3, 3))), ValueError, ["4-D weight"]),
    (lambda: F.conv2d(np.ones((1, 1, 3, 3)), T(arr(1, 1, 1, 1))), TypeError, ["must be a Tensor"]),
    (lambda: F.conv1d(T(arr(1, 2, 5)), T(arr(1, 2, 3)), stride=(1, 2)), ValueError, ["stride"]),
    (lambda: F.conv_transpose2d(T(arr(1, 3, 4, 4)), T(arr(2, 2, 3, 3))), ValueError, ["expected input with 2 channels"]),
    (lambda: F.conv_transpose2d(T(arr(1, 2, 4, 4)), T(arr(2, 2, 3, 3)), stride=2, output_padding=2), ValueError,
     ["output_padding (2, 2) must be smaller than either stride (2, 2) or dilation (1, 1)"]),
    (lambda: F.conv_transpose2d(T(arr(1, 2, 1, 1)), T(arr(2, 2, 1, 1)), padding=1), ValueError, ["not positive"]),
    (lambda: F.conv_transpose2d(T(arr(1, 2, 4, 4)), T(arr(2, 2, 3, 3)), padding="same"), ValueError, ["padding"]),
    (lambda: _C.conv2d_backward(_C.from_numpy(np.ones((1, 2, 2, 2))), _C.from_numpy(np.ones((1, 1, 4, 4))),
                                _C.from_numpy(np.ones((1, 1, 3, 3))), [1, 1], [0, 0], [1, 1], 1, [True] * 3),
     ValueError, ["expected grad_output of shape (1, 1, 2, 2)", "(1, 2, 2, 2)"]),
    (lambda: _C.conv2d(_C.from_numpy(np.ones((1, 1, 4, 4))), _C.from_numpy(np.ones((1, 1, 3, 3))), None, [1, 1],
                       [0, 0, 0], [1, 1], 1), ValueError, ["2 ints (h, w) or 4"]),
])
def test_errors(call, err, fragments):
    with pytest.raises(err) as info:
        call()
    for f in fragments:
        assert f in str(info.value), (f, str(info.value))


_ISAS = ["generic", "avx2", "avx512"]


@contextlib.contextmanager
def isa_build(isa):
    """Run the block on one ISA build of the kernels (skip the test if the CPU can't run it)."""
    if _ISAS.index(isa) > _ISAS.index(_C.best_isa()):
        pytest.skip(f"CPU cannot run {isa}")
    before = _C.active_isa()
    _C.set_isa(isa)
    try:
        yield
    finally:
        _C.set_isa(before)


@pytest.mark.parametrize("isa", _ISAS)
def test_direct_kernel_on_every_isa(isa):
    """The direct forward kernel is compiled per ISA: check each build the CPU can run, with
    output-channel counts that fill the tall and the short register tiles or pad them."""
    with isa_build(isa):
        for dtype in (np.float32, np.float64):
            for k, dil in ((16, 1), (13, 2), (24, 1), (5, 1)):
                x, w, b = arr(3, 4, 9, 37), arr(k, 4, 3, 2), arr(k)
                for stride in (1, (2, 3)):
                    got = F.conv2d(T(x, dtype), T(w, dtype), T(b, dtype), stride, (1, 2), dil)
                    st = (stride, stride) if stride == 1 else stride
                    close(got.numpy(), ref_conv2d(x, w, b, st, (1, 1, 2, 2), (dil, dil)), dtype)


def ref_conv2d_weight_grad(x, gy, ws, stride, pad, dil, groups):
    """dL/dw of conv2d for output gradient gy: every tap's patch against gy. pad = (rows, columns)."""
    k, cg, kh, kw = ws
    _, _, oh, ow = gy.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    gw = np.zeros(ws)
    kg = k // groups
    for g in range(groups):
        for r in range(kh):
            for s in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg, r * dil[0]:r * dil[0] + stride[0] * (oh - 1) + 1:stride[0],
                           s * dil[1]:s * dil[1] + stride[1] * (ow - 1) + 1:stride[1]]
                gw[g * kg:(g + 1) * kg, :, r, s] = np.einsum("nchw,nkhw->kc", patch, gy[:, g * kg:(g + 1) * kg])
    return gw


# The direct weight gradient's grid tile is 4 output channels x 3 or 6 taps (padded past the
# edges), small images are taken several at a time and wide ones in column blocks; many
# channels on small images go to the channel-vector tile (see CHANNEL_VECTOR_CASES too), on
# large images (> 32x32 outputs) to GEMMs in conv.cpp; a plain 1x1 conv is one GEMM per image.
WEIGHT_GRAD_CASES = [
    # x shape, w shape, stride, padding, dilation, groups
    ((3, 1, 28, 28), (32, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1),     # first layer
    ((5, 3, 7, 7), (5, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),        # several images per pass
    ((2, 16, 6, 5), (16, 16, 3, 3), (2, 2), (1, 1), (1, 1), 1),     # strided
    ((3, 17, 5, 9), (17, 17, 2, 3), (1, 1), (0, 2), (2, 1), 1),     # dilated, 17 = 4*4 + 1
    ((2, 5, 40, 37), (3, 5, 3, 3), (1, 1), (1, 1), (1, 1), 1),      # wide image: column blocks
    ((2, 6, 7, 8), (10, 3, 3, 2), (1, 2), (1, 0), (1, 2), 2),       # groups, strided one way
    ((2, 33, 5, 5), (33, 33, 3, 3), (1, 1), (1, 1), (1, 1), 1),     # many channels, a partial vector block
    ((1, 3, 33, 33), (40, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),     # many channels, large image: shifted GEMMs
    ((1, 2, 66, 65), (40, 2, 3, 3), (2, 2), (1, 1), (1, 1), 1),     # the same strided: im2col GEMMs
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0), (1, 1), 1),        # one pixel, pointwise
    ((2, 3, 4, 4), (5, 3, 1, 1), (1, 1), (1, 1), (1, 1), 1),        # padded 1x1
]


@pytest.mark.parametrize("isa", _ISAS)
def test_weight_grad_on_every_isa(isa):
    """The direct weight gradient is compiled per ISA: every build the CPU can run, both dtypes,
    channel and tap counts around its register tile."""
    with isa_build(isa):
        for dtype in (np.float32, np.float64):
            for xs, ws, stride, pad, dil, groups in WEIGHT_GRAD_CASES:
                x, w = arr(*xs), T(arr(*ws), dtype, True)
                y = F.conv2d(T(x, dtype), w, None, stride, pad, dil, groups)
                gy = arr(*y.shape)
                y.backward(T(gy, dtype))
                close(w.grad.numpy(), ref_conv2d_weight_grad(x, gy, ws, stride, pad, dil, groups), dtype)


# The channel-vector kernels (conv_kernels.cpp) take over from the grid kernels when many
# output channels meet small images, where the grid's junk columns waste most: these cases
# are chosen so that every ISA build picks them (>= 2 vectors of output channels, >= 64 taps,
# 5x5 to 9x9 outputs). They cover a partial channel block (40), several images per tile list
# with a short last chunk (13 images), a single image cut across threads, strides, dilation,
# groups, and the input gradient (a stride-1 conv with 32+ channels out of it).
CHANNEL_VECTOR_CASES = [
    # x shape, w shape, stride, padding, dilation, groups
    ((13, 32, 7, 7), (64, 32, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((2, 9, 5, 6), (40, 9, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((3, 16, 9, 9), (32, 16, 3, 3), (2, 2), (1, 1), (1, 1), 1),
    ((1, 8, 6, 6), (48, 8, 3, 3), (1, 1), (2, 2), (2, 2), 1),
    ((2, 16, 7, 7), (64, 8, 3, 3), (1, 1), (1, 1), (1, 1), 2),
]

# Depthwise convs (one output channel per group) run one-row tiles of the grid kernels.
DEPTHWISE_CASES = [
    ((2, 6, 7, 9), (6, 1, 3, 3), (1, 1), (1, 1), (1, 1), 6),
    ((3, 4, 12, 11), (4, 1, 5, 5), (1, 1), (2, 2), (1, 1), 4),
    ((2, 5, 9, 8), (5, 1, 3, 3), (2, 2), (1, 1), (1, 1), 5),
    ((1, 3, 8, 8), (3, 1, 3, 3), (1, 1), (2, 2), (2, 2), 3),
]


@pytest.mark.parametrize("isa", _ISAS)
def test_channel_vector_and_depthwise_kernels_on_every_isa(isa):
    with isa_build(isa):
        for dtype in (np.float32, np.float64):
            for xs, ws, stride, pad, dil, groups in CHANNEL_VECTOR_CASES + DEPTHWISE_CASES:
                x, b = arr(*xs), arr(ws[0])
                xt, w = T(x, dtype, True), T(arr(*ws), dtype, True)
                y = F.conv2d(xt, w, T(b, dtype), stride, pad, dil, groups)
                want = ref_conv2d(x, w.detach().numpy().astype(np.float64), b, stride,
                                  (pad[0], pad[0], pad[1], pad[1]), dil, groups)
                close(y.detach().numpy(), want, dtype)
                gy = arr(*y.shape)
                y.backward(T(gy, dtype))
                close(w.grad.numpy(), ref_conv2d_weight_grad(x, gy, ws, stride, pad, dil, groups), dtype)
                if stride == (1, 1):
                    gx = ref_conv_transpose2d(gy, w.detach().numpy().astype(np.float64), None, stride, pad,
                                              groups=groups, dil=dil)
                    close(xt.grad.numpy(), gx, dtype)


def test_channel_vector_kernels_do_not_depend_on_thread_count():
    x, w = arr(13, 32, 7, 7).astype(np.float32), arr(64, 32, 3, 3).astype(np.float32)
    before = pe.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            pe.set_num_threads(threads)
            xt, wt = T(x, np.float32, True), T(w, np.float32, True)
            y = F.conv2d(xt, wt, padding=1)
            (y * y).sum().backward()
            one = F.conv2d(xt.detach()[:1], wt.detach(), padding=1)  # a single image: cut across threads
            results.append([y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), one.numpy()])
    finally:
        pe.set_num_threads(before)
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)


# ---------------------------------------------------------------- padding modes
PAD_CASES = [
    # input shape, pad, mode, value
    ((2, 3, 5, 6), (1, 2), "constant", None),
    ((2, 3, 5, 6), (1, 2, 3, 0), "constant", 1.5),
    ((2, 3, 5, 6), (-1, 2, 0, -2), "constant", None),    # negative amounts crop
    ((2, 3, 4, 5, 6), (1, 1, 2, 0, 0, 3), "constant", -2.0),
    ((2, 3, 7), (2, 3), "reflect", None),
    ((2, 3, 5, 6), (1, 2, 4, 3), "reflect", None),
    ((2, 3, 5, 6), (0, 5, 1, 0), "replicate", None),
    ((2, 3, 4, 5, 6), (1, 1, 2, 0, 0, 3), "replicate", None),
    ((2, 3, 5, 6), (2, 6, 5, 1), "circular", None),
    ((1, 2, 3), (3, 1), "circular", None),
]


@pytest.mark.parametrize("xs,pad,mode,value", PAD_CASES)
def test_pad_matches_torch_and_gradchecks(xs, pad, mode, value):
    torch = pytest.importorskip("torch")
    x = arr(*xs)
    xt, tx = T(x, grad=True), torch.tensor(x, requires_grad=True)
    kw = {} if value is None else {"value": value}
    y, ty = F.pad(xt, pad, mode, **kw), torch.nn.functional.pad(tx, pad, mode, **kw)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = arr(*ty.shape)
    y.backward(T(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda t: F.pad(t, pad, mode, **kw), (T(arr(*xs), grad=True),))


@pytest.mark.parametrize("call,err,fragment", [
    (lambda x: F.pad(x, (1, 2, 3)), ValueError, "divisible by 2"),
    (lambda x: F.pad(x, (1, 1) * 5), ValueError, "too large for a 4-D input"),
    (lambda x: F.pad(x, (5, 0, 0, 0), "reflect"), ValueError, "smaller than the size 4"),
    (lambda x: F.pad(x, (5, 0, 0, 0), "circular"), ValueError, "at most the size 4"),
    (lambda x: F.pad(x, (1, 0), "reflect"), NotImplementedError, "padding size 2 is not supported for 4D"),
    (lambda x: F.pad(x, (1, 0), "wrap"), NotImplementedError, "mode must be one of"),
    (lambda x: F.pad(x, (1, 0), "reflect", 2.0), ValueError, "doesn't take in a value"),
])
def test_pad_errors(call, err, fragment):
    with pytest.raises(err, match=fragment):
        call(T(arr(1, 2, 3, 4)))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("cls,args,kw,xs", [
    ("Conv2d", (3, 4, 3), dict(padding=1), (2, 3, 6, 5)),
    ("Conv2d", (3, 4, (2, 3)), dict(padding="same", dilation=(1, 2)), (2, 3, 6, 7)),
    ("Conv2d", (4, 6, 3), dict(padding=(2, 1), stride=2, groups=2), (1, 4, 7, 6)),
    ("Conv1d", (3, 5, 4), dict(padding="same"), (2, 3, 9)),
])
def test_padding_modes_match_torch(mode, cls, args, kw, xs):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, cls)(*args, padding_mode=mode, dtype=torch.float64, **kw)
    ours = getattr(nn, cls)(*args, padding_mode=mode, dtype=pe.float64, **kw)
    ours.load_state_dict({k: pe.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert f"padding_mode={mode}" in repr(ours)
    x = arr(*xs)
    xt, tx = T(x, grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(xt), theirs(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = arr(*ty.shape)
    y.backward(T(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cls,args,xs", [
    ("ZeroPad2d", ((1, 0, 2, 3),), (2, 3, 4, 5)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad2d", ((1, 2, 0, 1), -1.0), (3, 4, 5)),
    ("ConstantPad3d", (1, 0.5), (1, 2, 3, 4, 5)),
    ("ReflectionPad1d", ((2, 1),), (2, 3, 4)),
    ("ReflectionPad2d", (2,), (1, 2, 4, 5)),
    ("ReplicationPad1d", (3,), (2, 3, 4)),
    ("ReplicationPad2d", ((0, 3, 1, 2),), (2, 3, 4, 5)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 3, 1),), (1, 2, 4, 5)),
])
def test_padding_layers_match_torch(cls, args, xs):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(ours) == repr(theirs)
    x = arr(*xs)
    np.testing.assert_array_equal(ours(T(x)).numpy(), theirs(torch.tensor(x)).numpy())


def test_padding_layer_argument_errors():
    with pytest.raises(ValueError, match="expected padding to be an int or a tuple of 4 ints"):
        nn.ReflectionPad2d((1, 2))
