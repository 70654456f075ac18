"""F.interpolate / nn.Upsample (nearest on 3-D and 4-D inputs, linear on 3-D, bilinear on 4-D)
against torch: values and gradients for size and scale_factor (integer, non-integer,
downsampling, recompute_scale_factor), align_corners, strided and channels-last inputs, both
dtypes and both devices; float64 gradcheck (and gradgradcheck through the adjoint pair); torch's
errors for bad arguments and clear errors for huge scale factors."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional

MODES = [(3, "nearest", None), (4, "nearest", None), (3, "linear", False), (3, "linear", True),
         (4, "bilinear", False), (4, "bilinear", True)]
# (size, scale_factor, recompute_scale_factor) per spatial dim count; scales include non-integers,
# exact doubling, identity and downsampling.
SIZINGS = {
    3: [((13,), None, None), ((1,), None, None), ((4,), None, None), (None, 2, None), (None, 1.7, None),
        (None, 0.45, None), (None, 2.3, True), (None, 3, None), (None, 1, None)],
    4: [((11, 13), None, None), ((1, 1), None, None), ((3, 2), None, None), (None, 2, None), (None, (1.7, 2.5), None),
        (None, (0.6, 0.35), None), (None, 2.3, True), (None, (3, 1), None), (None, 1, None)],
}
SHAPES = {3: (2, 3, 7), 4: (2, 3, 5, 7)}


def _pair(rng, shape, dtype, device):
    a = rng.standard_normal(shape).astype(dtype)
    return torch.tensor(a, requires_grad=True), pe.tensor(a, device=device, requires_grad=True)


def _check(t, x, tkw, device, rtol, atol, rng):
    ty = TF.interpolate(t, **tkw)
    y = F.interpolate(x, **tkw)
    assert y.device.type == pe.device(device).type
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.standard_normal(tuple(ty.shape)).astype(t.detach().numpy().dtype)
    ty.backward(torch.tensor(g))
    y.backward(pe.tensor(g, device=device))
    np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=rtol, atol=atol * 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ndim,mode,align", MODES)
def test_values_and_grads_vs_torch(device, ndim, mode, align, dtype):
    rng = np.random.default_rng(ndim * 10 + len(mode))
    tol = (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-13)
    for size, scale, recompute in SIZINGS[ndim]:
        t, x = _pair(rng, SHAPES[ndim], dtype, device)
        kw = dict(size=size, scale_factor=scale, mode=mode, align_corners=align, recompute_scale_factor=recompute)
        _check(t, x, kw, device, *tol, rng)


@pytest.mark.parametrize("ndim", [3, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_is_bit_exact(ndim, dtype):
    # Nearest copies elements: any difference in the source-index arithmetic (float scale,
    # floor, the doubling and identity shortcuts, factor vs size) shows as a wrong element.
    rng = np.random.default_rng(7)
    a = rng.standard_normal(SHAPES[ndim]).astype(dtype)
    sizings = SIZINGS[ndim] + [((23,) * (ndim - 2), None, None), (None, 1.0 / 3, None), (None, 2.999, None)]
    for size, scale, recompute in sizings:
        kw = dict(size=size, scale_factor=scale, mode="nearest", recompute_scale_factor=recompute)
        np.testing.assert_array_equal(F.interpolate(pe.tensor(a), **kw).numpy(),
                                      TF.interpolate(torch.tensor(a), **kw).numpy())


def test_non_integer_scale_uses_the_factor_not_the_size():
    # 5 * 1.7 = 8.5 -> 8 outputs: with the factor the source step is 1/1.7, with the recomputed
    # size it is 5/8; torch's two paths differ and so must ours.
    a = np.arange(5, dtype=np.float64).reshape(1, 1, 5)
    for recompute in (None, True):
        kw = dict(scale_factor=1.7, mode="linear", align_corners=False, recompute_scale_factor=recompute)
        np.testing.assert_allclose(F.interpolate(pe.tensor(a), **kw).numpy(),
                                   TF.interpolate(torch.tensor(a), **kw).numpy(), rtol=0, atol=1e-15)
    a1 = F.interpolate(pe.tensor(a), scale_factor=1.7, mode="linear").numpy()
    a2 = F.interpolate(pe.tensor(a), scale_factor=1.7, mode="linear", recompute_scale_factor=True).numpy()
    assert not np.allclose(a1, a2)


@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_strided_and_channels_last_inputs(device, mode, align):
    rng = np.random.default_rng(3)
    layouts = [
        ((2, 6, 5, 3), lambda x: x.permute(0, 3, 1, 2)),        # channels-last: C has stride 1
        ((2, 3, 5, 14), lambda x: x[:, :, :, ::2]),             # W stride 2
        ((2, 3, 7, 5), lambda x: x.transpose(2, 3)),            # H and W swapped
        ((4, 3, 5, 7), lambda x: x[1:3]),                       # an offset
    ]
    for shape, view in layouts:
        a = rng.standard_normal(shape)
        tl = torch.tensor(a, requires_grad=True)
        xl = pe.tensor(a, device=device, requires_grad=True)
        kw = dict(size=(9, 4), mode=mode, align_corners=align)
        ty = TF.interpolate(view(tl), **kw)
        y = F.interpolate(view(xl), **kw)
        np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-13)
        g = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(g))
        y.backward(pe.tensor(g, device=device))
        np.testing.assert_allclose(xl.grad.cpu().numpy(), tl.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ndim,mode,align", MODES)
def test_gradcheck(device, ndim, mode, align):
    rng = np.random.default_rng(1)
    shape = (1, 2, 4) if ndim == 3 else (1, 2, 3, 4)
    for size, scale in [((7,) if ndim == 3 else (5, 7), None), (None, 0.6), (None, 2.5)]:
        fn = lambda x: F.interpolate(x, size=size, scale_factor=scale, mode=mode, align_corners=align)
        assert gradcheck_on(device, fn, rng.standard_normal(shape))


def test_gradgradcheck():
    rng = np.random.default_rng(2)
    x = pe.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert pe.autograd.gradgradcheck(
        lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=False) ** 2, (x,))


def test_device_parity():
    if not pe.cuda.is_available():
        pytest.skip("no CUDA device (real or emulated)")
    rng = np.random.default_rng(4)
    for ndim, mode, align in MODES:
        a = rng.standard_normal((2, 3, 6) if ndim == 3 else (2, 3, 4, 6)).astype(np.float32)
        g_shape = None
        outs = []
        for dev in ("cpu", "cuda"):
            x = pe.tensor(a, device=dev, requires_grad=True)
            y = F.interpolate(x, scale_factor=2.5, mode=mode, align_corners=align)
            g_shape = g_shape or tuple(y.shape)
            g = np.linspace(-1, 1, int(np.prod(g_shape)), dtype=np.float32).reshape(g_shape)
            y.backward(pe.tensor(g, device=dev))
            outs.append((y.detach().cpu().numpy(), x.grad.cpu().numpy()))
        np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-5)


def test_empty_batch_and_channels(device):
    for shape in [(0, 3, 4, 5), (2, 0, 4, 5)]:
        x = pe.zeros(*shape, device=device, requires_grad=True)
        y = F.interpolate(x, scale_factor=2, mode="bilinear")
        assert tuple(y.shape) == (shape[0], shape[1], 8, 10)
        y.sum().backward()
        assert tuple(x.grad.shape) == shape


# ---------------------------------------------------------------- modules
def test_upsample_modules_match_torch():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 3, 4, 5))
    pairs = [
        (pe.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (pe.nn.Upsample(size=(7, 3), mode="bilinear"), torch.nn.Upsample(size=(7, 3), mode="bilinear")),
        (pe.nn.Upsample(scale_factor=(1.5, 2.0), mode="bilinear", align_corners=True),
         torch.nn.Upsample(scale_factor=(1.5, 2.0), mode="bilinear", align_corners=True)),
        (pe.nn.Upsample(scale_factor=1.3, mode="nearest", recompute_scale_factor=True),
         torch.nn.Upsample(scale_factor=1.3, mode="nearest", recompute_scale_factor=True)),
        (pe.nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
        (pe.nn.UpsamplingBilinear2d(size=(6, 9)), torch.nn.UpsamplingBilinear2d(size=(6, 9))),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert ours.scale_factor == theirs.scale_factor and ours.mode == theirs.mode
        assert ours.align_corners == theirs.align_corners
        np.testing.assert_allclose(ours(pe.tensor(a)).numpy(), theirs(torch.tensor(a)).numpy(), rtol=1e-12, atol=1e-13)
    assert repr(pe.nn.Upsample(scale_factor=2, mode="bilinear")) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert list(pe.nn.Upsample(scale_factor=2).parameters()) == []


def test_upsample_in_a_decoder_trains():
    pe.manual_seed(0)
    net = pe.nn.Sequential(pe.nn.Upsample(scale_factor=2, mode="bilinear"), pe.nn.Conv2d(2, 1, 3, padding=1))
    x = pe.randn(4, 2, 5, 5)
    target = pe.randn(4, 1, 10, 10)
    opt = pe.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((net(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


# ---------------------------------------------------------------- errors
def _same_error(call):
    """Both raise the same exception type; returns (ours, theirs) messages."""
    with pytest.raises(Exception) as theirs:
        call(torch, TF)
    with pytest.raises(type(theirs.value)) as ours:
        call(pe, F)
    return str(ours.value), str(theirs.value)


@pytest.mark.parametrize("call", [
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), size=(5, 6), scale_factor=2),            # both
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4)),                                         # neither
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), size=5, align_corners=True),             # nearest + align
    lambda m, f: f.interpolate(m.zeros(1, 2, 3), scale_factor=2, mode="bilinear"),           # 3-D bilinear
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), scale_factor=2, mode="linear"),          # 4-D linear
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), size=(5,)),                              # wrong size length
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), scale_factor=(2.0, 2.0, 2.0)),           # wrong factor length
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), size=(5.0, 6)),                          # float size
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), size=(5, 6), recompute_scale_factor=True),
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), size=(5, 6), mode="bogus"),
    lambda m, f: f.interpolate(m.zeros(2, 3), size=5),                                       # 2-D input
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), scale_factor=2, mode="nearest", antialias=True),
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), scale_factor=0.1),                       # output size 0
    lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), size=(0, 3)),
])
def test_errors_like_torch(call):
    _same_error(call)


def test_error_messages_name_the_problem():
    msg, _ = _same_error(lambda m, f: f.interpolate(m.zeros(1, 2, 3), scale_factor=2, mode="bilinear"))
    assert "3D" in msg and "bilinear" in msg
    msg, _ = _same_error(lambda m, f: f.interpolate(m.zeros(1, 2, 3, 4), scale_factor=0.1))
    assert "(3, 4)" in msg and "(0, 0)" in msg


@pytest.mark.parametrize("scale", [1e300, float("inf"), 2.0 ** 62])
def test_huge_scale_factor_is_a_clear_error(device, scale):
    x = pe.zeros(1, 1, 3, 4, device=device)
    with pytest.raises((RuntimeError, ValueError, MemoryError)) as e:
        F.interpolate(x, scale_factor=scale, mode="bilinear")
    assert "scale_factor" in str(e.value) or "large" in str(e.value) or "overflow" in str(e.value)
    with pytest.raises((RuntimeError, ValueError, MemoryError)):
        F.interpolate(x, scale_factor=1e6, mode="nearest")  # 3e6 x 4e6 elements: too large to allocate


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="int64"):
        F.interpolate(pe.zeros(1, 1, 3, 4, dtype=pe.int64), scale_factor=2)


def test_unsupported_torch_modes_say_so():
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(pe.zeros(1, 1, 3, 4), scale_factor=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(pe.zeros(1, 1, 3, 4), scale_factor=2, mode="bilinear", antialias=True)


@pytest.mark.parametrize("kw", [dict(scale_factor=-1e300), dict(scale_factor=float("nan")),
                                dict(scale_factor=1e300, recompute_scale_factor=True),
                                dict(scale_factor=(2.0, float("inf")), recompute_scale_factor=True),
                                dict(size=(2 ** 62, 2 ** 62)), dict(size=(2 ** 70, 3))])
def test_sizes_past_int64_are_clear_errors(kw):
    with pytest.raises((RuntimeError, ValueError)) as e:
        F.interpolate(pe.zeros(1, 1, 3, 4), mode="bilinear", **kw)
    assert any(w in str(e.value) for w in ("int64", "finite", "overflow"))


def test_negative_scale_factor_names_the_sizes():
    with pytest.raises(RuntimeError, match=r"\(3, 4\).*\(-3, -4\)"):
        F.interpolate(pe.zeros(1, 1, 3, 4), scale_factor=-1.0)


@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_nonfinite_values_stay_where_torch_puts_them(device, mode, align):
    # An inf / NaN in the input or the gradient reaches exactly the elements torch's does (the
    # backward's padded gather lanes never multiply one in).
    a = np.random.default_rng(6).standard_normal((1, 2, 4, 5))
    a[0, 0, 1, 2], a[0, 1, 3, 4] = np.inf, np.nan
    kw = dict(scale_factor=(2.0, 1.5), mode=mode, align_corners=align)
    t = torch.tensor(a, requires_grad=True)
    x = pe.tensor(a, device=device, requires_grad=True)
    ty, y = TF.interpolate(t, **kw), F.interpolate(x, **kw)
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.ones(tuple(ty.shape))
    g[0, 0, 3, 2], g[0, 1, 0, 0] = -np.inf, np.inf
    ty.backward(torch.tensor(g))
    y.backward(pe.tensor(g, device=device))
    np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
