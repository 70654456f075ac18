"""Issue 12, sizes: overflow in shape arithmetic, out-of-range Python ints, absurd sizes, huge slices.

Every size, stride, offset and output-size computation goes through csrc/core/checked.h; what
overflows is an error naming the argument and its value, never a crash or a wrong result.
Snippets that crashed before run in a subprocess (a crash would take pytest with it).
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from pyengine import _C
from _child_python import run_python

def run_isolated(code):
    """Runs `code` in a fresh interpreter; returns (returncode, stdout + stderr)."""
    p = run_python(["-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------- crash reproducers
CRASHERS = {
    "conv1d dilation": ("F.conv1d(pe.randn(1, 1, 9), pe.randn(1, 1, 9), dilation=2**61 + 1)", "RuntimeError",
                        "dilation=2305843009213693953"),
    "max_pool1d dilation": ("F.max_pool1d(pe.randn(1, 1, 9), 9, dilation=2**61 + 1)", "RuntimeError",
                            "dilation=2305843009213693953"),
    "max_pool2d dilation": ("F.max_pool2d(pe.randn(1, 1, 9, 9), 3, dilation=(1, 2**62))", "RuntimeError",
                            "dilation=4611686018427387904"),
    "as_strided end overflows": ("_C.as_strided(pe.randn(4)._impl, [3], [2**62], 0)", "RuntimeError",
                                 "as_strided"),
    "as_strided offset overflows": ("_C.as_strided(pe.randn(4)._impl, [2], [1], 2**63 - 1)", "RuntimeError",
                                    "as_strided"),
    "cat of huge broadcast views": ("pe.cat([pe.ones(1).expand(2**62)] * 4)", "RuntimeError", "cat"),
    "conv2d huge strides": ("tuple(F.conv2d(pe.randn(1, 1, 5, 5), pe.randn(1, 1, 3, 3), stride=(2**40, 2**40)).shape)",
                            "", "(1, 1, 1, 1)"),
    "avg_pool1d ceil stride": ("F.avg_pool1d(pe.randn(1, 1, 9), 3, stride=2**63 - 1, ceil_mode=True)",
                               "RuntimeError", "stride=9223372036854775807"),
}


@pytest.mark.parametrize("case", sorted(CRASHERS))
def test_crash_reproducers_raise_in_a_subprocess(case):
    expr, exc, text = CRASHERS[case]
    rc, out = run_isolated(f"""
        import pyengine as pe, pyengine.nn.functional as F
        from pyengine import _C
        try:
            print("RESULT", {expr})
        except Exception as e:
            print("RAISED", type(e).__name__, e)
    """)
    assert rc == 0, out
    if exc:
        assert f"RAISED {exc}" in out and text in out, out
    else:
        assert "RESULT" in out and text in out, out


# ---------------------------------------------------------------- convolutions
# (expression, text the message must hold); each overflowed before and ran off its buffers, so
# each runs in a subprocess.
CONV_OVERFLOWS = [
    ("F.conv1d(pe.randn(1, 1, 9), pe.randn(1, 1, 3), dilation=2**62)", "dilation=4611686018427387904"),
    ("F.conv1d(pe.randn(1, 1, 9), pe.randn(1, 1, 3), padding=2**62)", "padding=(4611686018427387904"),
    ("F.conv2d(pe.randn(1, 1, 9, 9), pe.randn(1, 1, 3, 3), dilation=(2**62, 1))", "dilation=4611686018427387904"),
    ("F.conv2d(pe.randn(1, 1, 9, 9), pe.randn(1, 1, 3, 3), padding=(1, 2**62))", "padding=(4611686018427387904"),
    ("F.conv_transpose1d(pe.randn(1, 1, 9), pe.randn(1, 1, 3), stride=2**62)", "stride=4611686018427387904"),
    ("F.conv_transpose1d(pe.randn(1, 1, 9), pe.randn(1, 1, 3), dilation=2**62)", "dilation=4611686018427387904"),
    ("F.conv_transpose2d(pe.randn(1, 1, 3, 3), pe.randn(1, 1, 2, 2), padding=(2**62, 0))",
     "padding=4611686018427387904"),
    ("F.conv_transpose2d(pe.randn(1, 1, 3, 3), pe.randn(1, 1, 2, 2), stride=(2, 2**62))",
     "stride=4611686018427387904"),
]
POOL_OVERFLOWS = [
    ("F.max_pool1d(pe.randn(1, 1, 9), 9, dilation=2**61 + 1)", "dilation=2305843009213693953"),
    ("F.max_pool2d(pe.randn(1, 1, 9, 9), (3, 9), dilation=(1, 2**61 + 1))", "dilation=2305843009213693953"),
    ("F.max_pool1d(pe.randn(1, 1, 9), 3, stride=2**63 - 1, ceil_mode=True)", "stride=9223372036854775807"),
    ("F.avg_pool1d(pe.randn(1, 1, 9), 3, stride=2**63 - 1, ceil_mode=True)", "stride=9223372036854775807"),
    ("F.avg_pool2d(pe.randn(1, 1, 9, 9), 3, stride=(1, 2**63 - 1), ceil_mode=True)", "stride=9223372036854775807"),
    ("F.max_pool1d(pe.randn(1, 1, 9), 2**63 - 1, padding=2**62 - 1)", "padding=(4611686018427387903"),
]


def assert_overflow_error(expr, text):
    rc, out = run_isolated(f"""
        import pyengine as pe, pyengine.nn.functional as F
        try:
            {expr}
            print("NO ERROR")
        except RuntimeError as e:
            print("RAISED", e)
    """)
    assert rc == 0, out
    assert "RAISED" in out and "overflow" in out and text in out, out


@pytest.mark.parametrize("expr, text", CONV_OVERFLOWS)
def test_conv_arguments_that_overflow_name_the_argument(expr, text):
    assert_overflow_error(expr, text)


@pytest.mark.parametrize("fn, arg", [(F.conv1d, "dilation"), (F.conv2d, "padding"), (F.conv_transpose1d, "stride"),
                                     (F.conv_transpose2d, "output_padding")])
def test_conv_arguments_beyond_int64_are_value_errors(fn, arg):
    x = pe.randn(1, 1, 5) if fn in (F.conv1d, F.conv_transpose1d) else pe.randn(1, 1, 5, 5)
    w = pe.randn(1, 1, *([3] * (x.ndim - 2)))
    with pytest.raises(ValueError, match=f"argument '{arg}' = {2**63}"):
        fn(x, w, **{arg: 2**63})
    with pytest.raises(ValueError, match=f"'groups' = {-2**64}"):
        fn(x, w, groups=-2**64)


@pytest.mark.parametrize("fn, x, w", [
    (F.conv1d, (1, 1, 9), (1, 1, 0)),
    (F.conv2d, (1, 1, 9, 9), (1, 1, 0, 3)),
    (F.conv2d, (1, 1, 9, 9), (1, 1, 3, 0)),
    (F.conv_transpose1d, (1, 1, 9), (1, 1, 0)),
    (F.conv_transpose2d, (1, 1, 4, 4), (1, 1, 2, 0)),
])
def test_conv_with_an_empty_kernel_is_rejected(fn, x, w, device):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, fn.__name__)
    with pytest.raises(RuntimeError, match="kernel size should be greater than zero"):
        tf(torch.randn(*x), torch.randn(*w))
    with pytest.raises(ValueError, match="kernel size should be greater than zero"):
        fn(pe.randn(*x, device=device), pe.randn(*w, device=device))


@pytest.mark.parametrize("fn, stride", [(F.conv1d, 2**62), (F.conv1d, 2**63 - 1), (F.conv2d, (2**62, 3)),
                                        (F.conv2d, (1, 2**40))])
def test_conv_strides_past_the_input_match_torch(fn, stride, device):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, fn.__name__)
    shape = (2, 3, 7) if fn is F.conv1d else (2, 3, 7, 6)
    x = np.random.default_rng(0).standard_normal(shape)
    w = np.random.default_rng(1).standard_normal((4, 3) + (3,) * (len(shape) - 2))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    px = pe.tensor(x, device=device, requires_grad=True)
    pw = pe.tensor(w, device=device, requires_grad=True)
    ty, py = tf(tx, tw, stride=stride, padding=1), fn(px, pw, stride=stride, padding=1)
    assert tuple(py.shape) == tuple(ty.shape)
    np.testing.assert_allclose(py.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    ty.sum().backward()
    py.sum().backward()
    np.testing.assert_allclose(px.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pw.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_whose_padded_image_cannot_be_allocated_matches_torch():
    # one output per axis from a padded image of 2**64 pixels: once refused (the kernels' padded
    # copy would wrap), now computed without that copy as PyTorch does (more cases, under a
    # memory limit, in test_conv_huge_padding.py)
    torch = pytest.importorskip("torch")
    x, w = np.full((1, 1, 1, 1), 2.0), np.full((1, 1, 1, 1), 3.0)
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=2**40, padding=2**31).numpy()
    got = F.conv2d(pe.tensor(x), pe.tensor(w), stride=2**40, padding=2**31).numpy()
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- pooling
@pytest.mark.parametrize("expr, text", POOL_OVERFLOWS)
def test_pool_arguments_that_overflow_name_the_argument(expr, text):
    assert_overflow_error(expr, text)


@pytest.mark.parametrize("fn, arg", [
    (lambda x, v: F.max_pool1d(x, v), "kernel_size"),
    (lambda x, v: F.max_pool1d(x, 3, stride=v), "stride"),
    (lambda x, v: F.max_pool1d(x, 3, dilation=v), "dilation"),
    (lambda x, v: F.avg_pool1d(x, 3, padding=v), "padding"),
    (lambda x, v: F.adaptive_avg_pool1d(x, v), "output_size"),
    (lambda x, v: F.adaptive_max_pool1d(x, v), "output_size"),
])
def test_pool_arguments_beyond_int64_are_value_errors(fn, arg):
    with pytest.raises(ValueError, match=f"argument '{arg}' = {2**63}"):
        fn(pe.randn(1, 1, 9), 2**63)


@pytest.mark.parametrize("fn", [F.max_pool1d, F.avg_pool1d])
def test_pool_zero_or_negative_windows_are_rejected(fn):
    for kw in ({"kernel_size": 0}, {"kernel_size": -1}, {"kernel_size": 3, "stride": 0},
               {"kernel_size": 3, "padding": -1}):
        with pytest.raises(RuntimeError, match=next(iter(k for k in kw if kw[k] <= 0))):
            fn(pe.randn(1, 1, 9), **kw)


@pytest.mark.parametrize("name, kw", [
    ("max_pool1d", dict(kernel_size=3, stride=2**62)),
    ("max_pool1d", dict(kernel_size=3, stride=2**62, ceil_mode=True)),
    ("max_pool1d", dict(kernel_size=2, stride=2**61, dilation=8)),
    ("avg_pool1d", dict(kernel_size=3, stride=2**62, ceil_mode=True, padding=1)),
    ("max_pool2d", dict(kernel_size=3, stride=(2**62, 1))),
    ("avg_pool2d", dict(kernel_size=(2, 3), stride=(1, 2**62), padding=1)),
])
def test_pool_strides_past_the_input_match_torch(name, kw, device):
    # PyTorch narrows pooling strides to int ("value cannot be converted to type int without
    # overflow"), so it is run with a stride of 1000: past the input, the same single window.
    torch = pytest.importorskip("torch")
    shape = (2, 3, 9) if name.endswith("1d") else (2, 3, 6, 9)
    x = np.random.default_rng(0).standard_normal(shape)
    tx, px = torch.tensor(x, requires_grad=True), pe.tensor(x, device=device, requires_grad=True)
    s = kw["stride"]
    tkw = dict(kw, stride=min(s, 1000) if isinstance(s, int) else tuple(min(v, 1000) for v in s))
    ty, py = getattr(torch.nn.functional, name)(tx, **tkw), getattr(F, name)(px, **kw)
    np.testing.assert_allclose(py.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-12)
    ty.sum().backward()
    py.sum().backward()
    np.testing.assert_allclose(px.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-12)


def test_adaptive_pools_with_absurd_output_sizes():
    for fn in (F.adaptive_avg_pool1d, F.adaptive_max_pool1d):
        with pytest.raises(ValueError, match=r"shape \(1, 1, 4611686018427387904\) is too large to allocate"):
            fn(pe.randn(1, 1, 9), 2**62)
        # an empty batch needs no window tables, however long the output
        assert tuple(fn(pe.randn(0, 1, 9), 2**40).shape) == (0, 1, 2**40)
    with pytest.raises(ValueError, match=r"shape \(1, 1, 2, 4611686018427387904\) is too large"):
        F.adaptive_avg_pool2d(pe.randn(1, 1, 4, 4), (2, 2**62))


# ---------------------------------------------------------------- views, expand, repeat
def test_as_strided_views_whose_end_overflows_or_leaves_the_storage():
    t = pe.randn(6)._impl
    for shape, strides, offset in (([3], [2**62], 0), ([2**62, 3], [2, 2**62], 0), ([2], [1], 2**63 - 1)):
        with pytest.raises(RuntimeError, match=r"as_strided: a view of shape .* beyond int64"):
            _C.as_strided(t, shape, strides, offset)
    with pytest.raises(ValueError, match=r"reaches element 7 but the storage holds 6"):
        _C.as_strided(t, [2, 2], [4, 1], 2)
    with pytest.raises(RuntimeError, match="more elements than int64 can count"):
        _C.as_strided(t, [2**62, 4], [0, 0], 0)
    assert _C.as_strided(t, [2**40, 0], [2**62, 1], 5).shape == (2**40, 0)  # empty: nothing is read


def test_expand_rejects_negative_sizes_other_than_minus_one():
    torch = pytest.importorskip("torch")
    for shape, sizes in (((1, 3), (-2, 3)), ((1, 3), (2, -5)), ((2, 3), (-1, -2)), ((3,), (-2, 3))):
        with pytest.raises(RuntimeError):
            torch.ones(*shape).expand(*sizes)
        with pytest.raises(ValueError, match=f"expanded size of the tensor \\({min(sizes)}\\)"):
            pe.ones(*shape).expand(*sizes)
    assert pe.ones(1, 3).expand(-1, 3).shape == (1, 3)
    assert pe.ones(1, 3).expand(2, -1).shape == (2, 3)


def test_expand_and_view_sizes_that_overflow():
    with pytest.raises(RuntimeError, match=r"expand: shape \(4611686018427387904, 3\) has more elements"):
        pe.ones(1, 3).expand(2**62, 3)
    assert pe.ones(1, 3).expand(2**61, 3).shape == (2**61, 3)  # 3 * 2**61 elements: countable
    with pytest.raises(TypeError, match=rf"expand\(\): argument 'size\[0\]' = {2**63}"):
        pe.ones(1, 3).expand(2**63, 3)
    for op in ("view", "reshape"):
        with pytest.raises(TypeError, match=rf"{op}\(\): argument 'size\[1\]' = {2**63}"):
            getattr(pe.ones(2, 3), op)(-1, 2**63)
        with pytest.raises(ValueError, match="invalid for input of size 6"):
            getattr(pe.ones(2, 3), op)(2**62, 4, -1)  # 2**64 elements known: no wrap to a match
        with pytest.raises(ValueError, match="invalid for input of size 6"):
            getattr(pe.ones(2, 3), op)(2**32, 2**32, 3)
    with pytest.raises(TypeError, match=r"permute\(\): argument 'size\[0\]'"):
        pe.ones(2, 3).permute(2**64, 0)


def test_repeat_negative_and_overflowing():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).repeat(-1, 4)
    with pytest.raises(RuntimeError, match=r"repeats must be non-negative, got \(-1, 4\)"):
        pe.ones(2, 3).repeat(-1, 4)
    with pytest.raises(RuntimeError, match=r"repeats \(4611686018427387904, 4\) .* overflows int64"):
        pe.ones(2, 3).repeat(2**62, 4)
    with pytest.raises(TypeError, match=rf"repeat\(\): argument 'size\[0\]' = {2**64}"):
        pe.ones(2, 3).repeat(2**64, 1)
    np.testing.assert_array_equal(pe.arange(6).reshape(2, 3).repeat(0, 2).numpy(),
                                  torch.arange(6).reshape(2, 3).repeat(0, 2).numpy())


def test_dims_beyond_int64_are_index_errors():
    x = pe.ones(2, 3)
    for fn in (lambda: x.unsqueeze(2**63), lambda: x.squeeze(-2**64), lambda: x.transpose(0, 2**70),
               lambda: x.select(0, 2**63), lambda: x.select(1, -2**63), lambda: x.flatten(2**63)):
        with pytest.raises(IndexError):
            fn()


# ---------------------------------------------------------------- creation and other ints
@pytest.mark.parametrize("name", ["empty", "zeros", "ones", "rand", "randn"])
def test_creation_sizes_beyond_int64(name):
    fn = getattr(pe, name)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'size\[0\]' = {2**63}"):
        fn(2**63)
    with pytest.raises(TypeError, match=rf"argument 'size\[1\]' = {-2**70}"):
        fn((2, -2**70))
    with pytest.raises(ValueError, match=r"shape \(1099511627776, 1073741824\) is too large to allocate "
                                         r"\(float32: 4.722e\+21 bytes"):
        fn(2**40, 2**30)
    with pytest.raises(ValueError, match=r"shape \(4611686018427387904,\) is too large to allocate"):
        fn(2**62)
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        fn(2, -1)
    assert tuple(fn(2**62, 0).shape) == (2**62, 0)


def test_other_creation_ints_beyond_int64():
    with pytest.raises(TypeError, match=rf"full\(\): argument 'size\[0\]' = {2**63}"):
        pe.full((2**63,), 1.0)
    with pytest.raises(ValueError, match=rf"randint\(\): argument 'high' = {2**63}"):
        pe.randint(0, 2**63, (2,))
    with pytest.raises(ValueError, match=rf"randint\(\): argument 'low' = {-2**63 - 1}"):
        pe.randint(-2**63 - 1, 5, (2,))
    with pytest.raises(TypeError, match=rf"randint\(\): argument 'size\[0\]' = {2**64}"):
        pe.randint(0, 5, (2**64,))
    with pytest.raises(TypeError, match=rf"zeros\(\): argument 'size\[0\]' = {2**63}"):
        pe.ones(1).new_zeros(2**63)
    with pytest.raises(ValueError, match=rf"eye\(\): argument 'n' = {2**63}"):
        pe.eye(2**63)
    with pytest.raises(ValueError, match=rf"linspace\(\): argument 'steps' = {2**64}"):
        pe.linspace(0, 1, 2**64)
    with pytest.raises(ValueError, match=rf"one_hot\(\): argument 'num_classes' = {2**63}"):
        F.one_hot(pe.tensor([0, 1]), 2**63)
    with pytest.raises(ValueError, match=rf"tril\(\): argument 'diagonal' = {2**63}"):
        pe.ones(2, 2).tril(2**63)
    assert pe.randint(-2**63, 2**63 - 1, (3,)).dtype == pe.int64  # the whole int64 range is fine


def test_set_num_threads_out_of_range():
    before = pe.get_num_threads()
    for n in (2**40, 2**31, 2**63, 0, -1):
        with pytest.raises(ValueError, match=f"num_threads|got {n}"):
            pe.set_num_threads(n)
    with pytest.raises(ValueError, match=rf"set_num_threads\(\): argument 'num_threads' = {2**64}"):
        pe.set_num_threads(2**64)
    assert pe.get_num_threads() == before


def test_C_sizes_beyond_int64_name_the_argument():
    with pytest.raises(TypeError, match=rf"argument 'size' = {2**63}"):
        _C.empty(2**63)
    with pytest.raises(TypeError, match=rf"argument 'size\[1\]' = {2**64}"):
        _C.full([2, 2**64], 0.0)
    with pytest.raises(TypeError, match=rf"argument 'size\[0\]' = {2**63}"):
        _C.randn([2**63])


def test_absurd_allocations_are_memory_errors_naming_bytes_and_shape():
    # 2**45 float32 = 128 TiB: refused by the allocator (unless the kernel overcommits blindly)
    rc, out = run_isolated("""
        import pyengine as pe
        try:
            pe.empty(2**45)
            print("ALLOCATED")
        except MemoryError as e:
            print("MEMORYERROR", e)
    """)
    assert rc == 0, out
    if "ALLOCATED" in out:
        pytest.skip("this machine's allocator handed out 128 TiB of address space")
    assert "MEMORYERROR" in out and "140737488355328 bytes" in out and "(35184372088832,)" in out, out


# ---------------------------------------------------------------- slices and integer indices
SLICES = [slice(2**63, None), slice(None, 2**100), slice(-2**70, None), slice(-2**70, -2**69),
          slice(None, -2**64), slice(3, 2**64, 4), slice(-3, 2**64, 2), slice(2**62, 2**63)]


@pytest.mark.parametrize("k", SLICES, ids=str)
def test_huge_slice_bounds_clamp_like_torch(k, device):
    torch = pytest.importorskip("torch")
    x = pe.arange(10, device=device).reshape(10, 1)
    t = torch.arange(10).reshape(10, 1)
    np.testing.assert_array_equal(x[k].cpu().numpy(), t[k].numpy())
    np.testing.assert_array_equal(x[:, k].cpu().numpy(), t[:, k].numpy())
    y, z = pe.zeros(10, device=device), torch.zeros(10)
    y[k] = 7.0
    z[k] = 7.0
    np.testing.assert_array_equal(y.cpu().numpy(), z.numpy())


@pytest.mark.parametrize("step", [11, 2**62, 2**63, 2**100])
def test_huge_slice_steps_take_one_element_like_numpy(step, device):
    # NumPy and Python lists: a[::step] is [a[0]]. (PyTorch truncates a step past int64 with a
    # warning and returns nothing for 2**63; we follow NumPy.)
    a = np.arange(10)
    x = pe.arange(10, device=device)
    np.testing.assert_array_equal(x[::step].cpu().numpy(), a[::step])
    np.testing.assert_array_equal(x[3::step].cpu().numpy(), a[3::step])
    y = pe.zeros(10, device=device)
    y[1::step] = 5.0
    b = np.zeros(10)
    b[1::step] = 5.0
    np.testing.assert_array_equal(y.cpu().numpy(), b)


def test_slice_gradient_with_huge_bounds():
    x = pe.arange(6.0, requires_grad=True)
    x[2**63:].sum().backward()  # empty view: zero gradient
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(6))
    x.grad = None
    x[-2**70::2**64].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("i", [2**63, -2**63 - 1, 2**100, 10, -11])
def test_integer_indices_beyond_the_dim_are_index_errors(i, device):
    x = pe.arange(10, device=device)
    with pytest.raises(IndexError, match=f"index {i} is out of bounds"):
        x[i]
    with pytest.raises(IndexError, match=f"index {i} is out of bounds"):
        x[i] = 1


def test_narrow_with_huge_arguments():
    x = pe.arange(10)
    for start, length in ((2**62, 2), (2, 2**62), (2**63, 1), (-2**63, 1), (0, 2**64)):
        with pytest.raises(IndexError, match="narrow"):
            x.narrow(0, start, length)


# ---------------------------------------------------------------- valid edge sizes still work
def test_valid_edge_sizes_match_torch(device):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((1, 2, 5))
    w = np.random.default_rng(3).standard_normal((3, 2, 5))
    px, tx = pe.tensor(x, device=device), torch.tensor(x)
    pw, tw = pe.tensor(w, device=device), torch.tensor(w)
    cases = [
        (lambda F_, a, b: F_.conv1d(a, b, padding=2, dilation=1), "conv1d kernel = input"),
        (lambda F_, a, b: F_.conv1d(a, b[:, :, :1], dilation=2**62), "1-tap kernel, huge dilation"),
        (lambda F_, a, b: F_.conv_transpose1d(a, b.transpose(0, 1), stride=3, output_padding=2), "transposed"),
        (lambda F_, a, b: F_.max_pool1d(a, 5, stride=4, padding=2, ceil_mode=True), "pool ceil_mode"),
        (lambda F_, a, b: F_.avg_pool1d(a, 2, stride=2**30, ceil_mode=True), "avg stride 2**30"),
        (lambda F_, a, b: F_.adaptive_max_pool1d(a, 9), "adaptive output > input"),
    ]
    for f, what in cases:
        got, want = f(F, px, pw), f(torch.nn.functional, tx, tw)
        assert tuple(got.shape) == tuple(want.shape), what
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("shape", [(2**62, 4, 0), (3, 0, 2**61 + 1, 4), (2**62, 2**62, 0)])
def test_empty_shapes_whose_other_sizes_overflow_are_refused(shape):
    """An empty shape whose non-zero sizes multiply beyond int64 used to be accepted, and every
    product derived from it (strides, loop merging, reduction counts) wrapped (UBSan in CI's fuzz
    run). It is refused as PyTorch refuses these; smaller empty shapes stay valid."""
    with pytest.raises(RuntimeError, match="numel overflows"):
        pe.empty(shape)
    with pytest.raises(RuntimeError, match="numel overflows"):
        pe.zeros(shape, dtype=pe.int64)


def test_empty_shapes_with_large_sizes_stay_valid():
    t = pe.empty((2**40, 0, 2**20))
    assert t.shape == (2**40, 0, 2**20) and t.numel() == 0
    assert t.sum().item() == 0 and t.sum(dim=2).shape == (2**40, 0)
