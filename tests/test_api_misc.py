"""Everyday API against torch 2.13: pe.Size, set_printoptions (the repr, character for
character), inference_mode, NumPy's axis=/keepdims= aliases, and negative padding in every
F.pad mode (values, gradcheck, device parity)."""
import pickle
import re
import threading

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as PF
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# ---------------------------------------------------------------- Size
def test_size_is_a_tuple_with_torch_behaviour():
    x = pe.zeros(2, 3, 4)
    t = torch.zeros(2, 3, 4)
    for got, want in ((x.shape, t.shape), (x.size(), t.size()), (x[0].shape, t[0].shape),
                      (pe.zeros(()).shape, t[0, 0, 0].shape)):
        assert type(got) is pe.Size
        assert repr(got) == repr(want).replace("torch.", "pyengine.")
        assert str(got) == str(want).replace("torch.", "pyengine.")
        assert got == tuple(want) and hash(got) == hash(tuple(want))
        assert got.numel() == want.numel()
    s, ts = x.shape, t.shape
    for f in (lambda a: a[1:], lambda a: a + (5,), lambda a: (5,) + a, lambda a: a * 2, lambda a: a[::-1]):
        assert type(f(s)) is pe.Size and f(s) == f(ts)
    assert s[1] == 3 and type(s[1]) is int
    assert pe.Size([2, np.int64(3), pe.tensor(4)]) == (2, 3, 4)
    assert pe.Size() == () and pe.Size().numel() == 1
    assert pickle.loads(pickle.dumps(s)) == s and type(pickle.loads(pickle.dumps(s))) is pe.Size
    assert pe.zeros(s).shape == s and x.view(s).shape == s and pe.zeros(2, 0).shape.numel() == 0


@pytest.mark.parametrize("bad", [[1.5], ["a"], [None]])
def test_size_refuses_non_ints_like_torch(bad):
    with pytest.raises(TypeError) as want:
        torch.Size(bad)
    with pytest.raises(TypeError, match="item 0"):
        pe.Size(bad)
    assert "int" in str(want.value)


# ---------------------------------------------------------------- printoptions
_rng = np.random.default_rng(0)
ARRAYS = [
    _rng.standard_normal((3, 4)), np.arange(2000.0).reshape(40, 50), _rng.standard_normal(30) * 1e9,
    np.array([1e-6, 1.0]), np.arange(12.0).reshape(3, 4), _rng.standard_normal((2, 3, 4)),
    np.array([1.5, np.nan, np.inf, -np.inf]), np.arange(30), np.array(3.25), np.array([0.0, -0.0]),
    np.array([[True, False], [False, True]]), np.arange(-1500, 1500).reshape(30, 100), np.zeros((2, 0)),
    np.array([123456789.0, 1.0]), np.array([np.nan, np.nan]), _rng.standard_normal((7, 8, 9)),
]
OPTIONS = [
    {}, {"precision": 2}, {"precision": 0}, {"threshold": 5}, {"edgeitems": 1, "threshold": 5},
    {"edgeitems": 0, "threshold": 5}, {"linewidth": 40}, {"linewidth": 200}, {"profile": "short"},
    {"profile": "full"}, {"sci_mode": True}, {"sci_mode": False}, {"precision": 6, "sci_mode": False},
    {"profile": "short", "precision": 5},
]


@pytest.fixture
def restore_printoptions():
    yield
    torch.set_printoptions(profile="default")
    pe.set_printoptions(profile="default")


@pytest.mark.parametrize("opts", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_repr_matches_torch_under_printoptions(opts, restore_printoptions):
    torch.set_printoptions(**opts)
    pe.set_printoptions(**opts)
    for a in ARRAYS:
        if opts.get("profile") == "full" and a.size > 1000:
            continue
        for dtype in ((np.float32, np.float64) if a.dtype.kind == "f" else (a.dtype,)):
            want = _joined_suffixes(repr(torch.tensor(a.astype(dtype))).replace("torch.", "pyengine."))
            got = _joined_suffixes(repr(pe.tensor(a.astype(dtype))))
            assert got == want, f"\n{got}\n{want}"


def _joined_suffixes(text):
    """"pyengine." is 3 characters longer than "torch.": a dtype suffix that fits PyTorch's line
    may wrap in ours, so the comparison joins suffixes to the last line (wrapping is tested below)."""
    return re.sub(r",\n *(dtype|size)=", r", \1=", text)


def test_suffix_wraps_at_linewidth(restore_printoptions):
    pe.set_printoptions(linewidth=40)
    text = repr(pe.arange(8, dtype=pe.float64))
    assert text == "tensor([0., 1., 2., 3., 4., 5., 6., 7.],\n       dtype=pyengine.float64)"
    pe.set_printoptions(linewidth=80)
    assert repr(pe.arange(8, dtype=pe.float64)) == "tensor([0., 1., 2., 3., 4., 5., 6., 7.], dtype=pyengine.float64)"


def test_printoptions_profiles_and_sci_mode_reset(restore_printoptions):
    pe.set_printoptions(precision=2, sci_mode=True)
    assert pe._format.get_printoptions()["sci_mode"] is True
    pe.set_printoptions(precision=3)  # sci_mode omitted means automatic again, as in PyTorch
    opts = pe._format.get_printoptions()
    assert opts["sci_mode"] is None and opts["precision"] == 3
    pe.set_printoptions(profile="default")
    assert pe._format.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                                             "sci_mode": None}
    assert "grad_fn" in repr(pe.ones(2, requires_grad=True) * 2) and "requires_grad=True" in repr(
        pe.ones(2, requires_grad=True))


@pytest.mark.parametrize("kwargs", [{"precision": -1}, {"precision": 1.5}, {"threshold": "x"}, {"profile": "long"},
                                    {"sci_mode": "yes"}, {"linewidth": True}])
def test_printoptions_refuse_bad_values(kwargs, restore_printoptions):
    key = next(iter(kwargs))
    with pytest.raises(ValueError, match=key):
        pe.set_printoptions(**kwargs)


def test_repr_of_cuda_tensor(device):
    x = pe.tensor([1.5, 2.0], device=device)
    want = "tensor([1.5000, 2.0000]" + ("" if device == "cpu" else ", device='cuda:0'") + ")"
    assert repr(x) == want


# ---------------------------------------------------------------- inference_mode
def test_inference_mode_matches_torch():
    for m in (pe, torch):
        with m.inference_mode():
            a = m.ones(2)
            b = a * 2
            assert a.is_inference() and b.is_inference() and not b.requires_grad
            assert not m.is_grad_enabled() and m.is_inference_mode_enabled()
            with m.inference_mode(False):
                assert m.is_grad_enabled() and not m.is_inference_mode_enabled()
                assert not m.ones(1).is_inference()
        assert m.is_grad_enabled() and not m.is_inference_mode_enabled()
        assert b.detach().is_inference() and not b.clone().is_inference() and not (b + 1).is_inference()
        with m.no_grad():
            assert not m.ones(1).is_inference()
        w = m.ones(2, requires_grad=True)
        (b + w).sum().backward()  # not saved for backward: allowed
        np.testing.assert_array_equal(np.asarray(w.grad.tolist()), [1.0, 1.0])
        with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
            (b * w).sum().backward()
        with pytest.raises(RuntimeError, match="requires_grad=True on inference tensor"):
            b.requires_grad_()
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
            b.add_(1)
        if m is pe:
            assert b.tolist() == [2.0, 2.0]  # refused before writing (PyTorch writes, then raises)
        c = b.clone()
        c.add_(1)  # a clone is a normal tensor
        before = b.tolist()
        with m.inference_mode():
            b.add_(1)  # inside, in place is fine
        assert b.tolist() == [v + 1 for v in before]


def test_inference_mode_as_decorator_and_per_thread():
    @pe.inference_mode
    def bare(x):
        return x * 2

    @pe.inference_mode()
    def called(x):
        return x * 2

    @pe.inference_mode(False)
    def off(x):
        return x * 2

    x = pe.ones(2, requires_grad=True)
    assert bare(x).is_inference() and called(x).is_inference() and not bare(x).requires_grad
    assert bare.__name__ == "bare"
    y = off(x)
    assert not y.is_inference() and y.requires_grad
    seen = []
    with pe.inference_mode():
        t = threading.Thread(target=lambda: seen.append((pe.is_inference_mode_enabled(), pe.ones(1).is_inference())))
        t.start()
        t.join()
    assert seen == [(False, False)]  # another thread is not in inference mode


def test_inference_mode_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with pe.inference_mode():
            1 / 0
    assert pe.is_grad_enabled() and not pe.is_inference_mode_enabled()


# ---------------------------------------------------------------- axis= / keepdims=
ALIAS_CASES = [
    lambda m, x: m.sum(x, axis=1),
    lambda m, x: x.sum(axis=0, keepdims=True),
    lambda m, x: m.mean(x, axis=(0, 1), keepdims=True),
    lambda m, x: m.amax(x, axis=1, keepdims=True),
    lambda m, x: m.amin(x, axis=0),
    lambda m, x: m.argmax(x, axis=1),
    lambda m, x: x.argmin(axis=0, keepdims=True),
    lambda m, x: m.std(x, axis=1, keepdims=True),
    lambda m, x: x.var(axis=0),
    lambda m, x: m.prod(x, axis=1),
    lambda m, x: m.logsumexp(x, axis=1, keepdims=True),
    lambda m, x: m.max(x, axis=1)[0],
    lambda m, x: x.min(axis=0, keepdims=True)[1],
    lambda m, x: m.any(x > 0, axis=1),
    lambda m, x: m.all(x > 0, axis=0, keepdims=True),
    lambda m, x: m.cat([x, x], axis=1),
    lambda m, x: m.stack([x, x], axis=2),
    lambda m, x: m.squeeze(x[:1], axis=0),
    lambda m, x: x.unsqueeze(axis=1),
    lambda m, x: m.flatten(x, 0),
    lambda m, x: m.repeat_interleave(x, 2, axis=1),
    lambda m, x: m.chunk(x, 2, axis=1)[1],
    lambda m, x: m.index_select(x, axis=1, index=m.tensor([0, 2])),
    lambda m, x: m.gather(x, axis=1, index=m.tensor([[0], [2]])),
    lambda m, x: m.narrow(x, axis=1, start=1, length=2),
]


@pytest.mark.parametrize("i", range(len(ALIAS_CASES)))
def test_numpy_aliases_match_torch(i):
    a = np.random.default_rng(i).standard_normal((2, 3))
    want = ALIAS_CASES[i](torch, torch.tensor(a))
    got = ALIAS_CASES[i](pe, pe.tensor(a))
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)
    assert tuple(got.shape) == tuple(want.shape)


def test_alias_and_name_together_is_a_type_error():
    for m in (torch, pe):
        with pytest.raises(TypeError):
            m.sum(m.ones(2, 3), dim=1, axis=1)
    with pytest.raises(TypeError, match="'keepdim' and its alias 'keepdims'"):
        pe.ones(2).sum(0, keepdim=True, keepdims=True)


# ---------------------------------------------------------------- F.pad with negative amounts
PADS_1D = [(-1, 2), (2, -1), (-2, -2), (-4, 1), (-1, -1), (3, -4), (4, -2), (0, -3), (-3, 0)]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", PADS_1D)
def test_negative_padding_matches_torch(mode, pad, device):
    a = np.arange(10.0).reshape(1, 2, 5)
    if mode == "circular" and max(pad) > 5 + min(min(pad), 0):
        # PyTorch reads uninitialised memory here (a wrap larger than what cropping left);
        # pyengine refuses it, naming the sizes
        with pytest.raises(ValueError, match="after cropping"):
            PF.pad(pe.tensor(a, device=device), pad, mode=mode)
        return
    want = TF.pad(torch.tensor(a), pad, mode=mode)
    got = PF.pad(pe.tensor(a, device=device), pad, mode=mode)
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_negative_padding_2d_and_3d_match_torch(mode, device):
    a2 = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    a3 = np.random.default_rng(1).standard_normal((1, 2, 3, 4, 5))
    for a, pad in ((a2, (-1, 2, 1, -1)), (a2, (-2, -1, -1, 2)), (a3, (1, -2, -1, 1, 2, -1))):
        want = TF.pad(torch.tensor(a), pad, mode=mode)
        got = PF.pad(pe.tensor(a, device=device), pad, mode=mode)
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_negative_padding_that_empties_a_dim(mode):
    a = np.arange(10.0).reshape(1, 2, 5)
    for pad in ((-5, 0), (-6, 1)):
        try:
            want = TF.pad(torch.tensor(a), pad, mode=mode)
        except RuntimeError:
            with pytest.raises(RuntimeError, match="too small"):
                PF.pad(pe.tensor(a), pad, mode=mode)
        else:
            assert tuple(PF.pad(pe.tensor(a), pad, mode=mode).shape) == tuple(want.shape)
    with pytest.raises(RuntimeError):
        PF.pad(pe.tensor(a), (-7, 0), mode="circular")


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_negative_padding_gradcheck(mode, device):
    a = np.random.default_rng(2).standard_normal((1, 2, 4, 5))
    gradcheck_on(device, lambda x: PF.pad(x, (-1, 2, 1, -2), mode=mode), a)
