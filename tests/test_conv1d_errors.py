"""Errors of conv1d / conv_transpose1d (functional and modules) speak of the 1-D op the user called.

The 1-D convolutions run as 2-D ones on an H=1 view (pyengine/nn/_conv_fns.py), and every check
they reach - the op layer's shape, dtype and device checks, the checked output-size arithmetic,
the CUDA kernels' int-range limits - used to name conv2d / conv_transpose2d and show the
internal 4-D shapes ((2, 2, 1, 3) for a weight the user made as (2, 2, 3)) and (h, w) pairs.
Each case here asserts: the 1-D op is named and no 2-D one; the shapes and values the user
passed appear, the H=1 views do not; torch refuses the same call; and the exception type, which
is the project's rule shared with conv2d (ValueError for a bad shape or value, TypeError for a
dtype, RuntimeError for an empty input, an overflow, a device mismatch or a kernel limit) where
torch raises RuntimeError for all of them."""
import re

import numpy as np
import pytest

import pyengine as pe
from pyengine import _C, nn
from pyengine.nn import functional as F

torch = pytest.importorskip("torch")


def _shapes(lib, device, *shapes, dtype="float32"):
    ex = {"device": device} if lib is pe else {}
    return [lib.zeros(*s, dtype=getattr(lib, dtype), **ex) for s in shapes]


# name: (call(lib, F, nn, device), pyengine's exception type, fragments of pyengine's message)
CASES = {
    "channels": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 3, 9), (2, 2, 3))), ValueError,
                 ["conv1d: expected input with 2 channels", "weight (2, 2, 3)", "input of shape (1, 3, 9)"]),
    "unbatched channels": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (3, 9), (2, 2, 3))), ValueError,
                           ["conv1d:", "weight (2, 2, 3)", "(1, 3, 9)"]),  # the batch of 1 as torch shows it
    "groups divide out channels": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 4, 9), (3, 2, 3)), groups=2),
                                   ValueError, ["conv1d:", "not divisible by groups 2", "(3, 2, 3)"]),
    "groups beyond weight rows": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 4, 9), (1, 2, 3)), groups=2),
                                  ValueError, ["conv1d:", "at least 2 at dimension 0", "weight of shape (1, 2, 3)"]),
    "groups zero": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 4, 9), (2, 2, 3)), groups=0), ValueError,
                    ["conv1d: groups must be positive, got 0"]),
    "kernel beyond input": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 3), (1, 1, 5)), dilation=1),
                            ValueError, ["conv1d: kernel size (5,) with dilation (1,) spans (5,)",
                                         "padded input (3,)", "input shape (1, 1, 3)", "padding (left, right) (0, 0)"]),
    "dilated kernel beyond padded input": (
        lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 4), (1, 1, 3)), dilation=3, padding=1), ValueError,
        ["conv1d: kernel size (3,) with dilation (3,) spans (7,)", "padded input (6,)", "(left, right) (1, 1)"]),
    "empty kernel": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9), (1, 1, 0))), ValueError,
                     ["conv1d: kernel size should be greater than zero", "kernel_size: 0", "weight shape (1, 1, 0)"]),
    "stride zero": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9), (1, 1, 3)), stride=0), ValueError,
                    ["conv1d: stride must be positive, got (0,)"]),
    "negative padding": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9), (1, 1, 3)), padding=-1),
                         ValueError, ["conv1d: padding must be non-negative, got (-1,)"]),
    "dilation zero": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9), (1, 1, 3)), dilation=0), ValueError,
                      ["conv1d: dilation must be positive, got (0,)"]),
    "padding overflows": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9), (1, 1, 3)), padding=2**62),
                          RuntimeError, ["conv1d: padding=(4611686018427387904, 4611686018427387904)",
                                         "input of size 9"]),
    "dtypes differ": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9)), *_shapes(t, d, (1, 1, 3),
                                                                                        dtype="float64")),
                      TypeError, ["conv1d: input dtype float32 and weight dtype float64 differ"]),
    "bias shape": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9), (2, 1, 3), (3,))), ValueError,
                   ["conv1d: expected a bias of shape (2,), got (3,)"]),
    "bias dtype": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 9), (2, 1, 3)),
                                                   *_shapes(t, d, (2,), dtype="float64")),
                   TypeError, ["conv1d: input dtype float32 and bias dtype float64 differ"]),
    "empty length": (lambda t, F_, nn_, d: F_.conv1d(*_shapes(t, d, (1, 1, 0), (2, 1, 3)), padding=2), RuntimeError,
                     ["conv1d: only zero batch or zero channel inputs are supported", "input shape (1, 1, 0)"]),
    "module channels": (lambda t, F_, nn_, d: nn_.Conv1d(3, 4, 3).to(d)(*_shapes(t, d, (1, 2, 9))), ValueError,
                        ["conv1d: expected input with 3 channels", "weight (4, 3, 3)", "(1, 2, 9)"]),
    "module kernel beyond input": (lambda t, F_, nn_, d: nn_.Conv1d(1, 1, 5).to(d)(*_shapes(t, d, (1, 1, 3))),
                                   ValueError, ["conv1d: kernel size (5,)", "input shape (1, 1, 3)"]),
    "T channels": (lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 3, 9), (2, 2, 3))), ValueError,
                   ["conv_transpose1d: expected input with 2 channels", "weight (2, 2, 3)", "(1, 3, 9)"]),
    "T groups divide in channels": (
        lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 3, 9), (3, 2, 3)), groups=2), ValueError,
        ["conv_transpose1d: in channels 3", "(3, 2, 3)", "not divisible by groups 2"]),
    "T groups beyond weight rows": (
        lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9), (2, 1, 3)), groups=4), ValueError,
        ["conv_transpose1d:", "at least 4 at dimension 0", "weight of shape (2, 1, 3)"]),
    "T output_padding": (
        lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9), (2, 2, 3)), stride=2, output_padding=2),
        ValueError, ["conv_transpose1d: output_padding (2,) must be smaller than either stride (2,) or dilation (1,)"]),
    "T output not positive": (
        lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 2), (2, 2, 3)), padding=5), ValueError,
        ["conv_transpose1d: output size (-6,) is not positive", "input shape (1, 2, 2)", "weight (2, 2, 3)",
         "padding (5,)"]),
    "T stride overflows": (
        lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9), (2, 2, 3)), stride=2**62), RuntimeError,
        ["conv_transpose1d: stride=4611686018427387904", "input of size 9"]),
    "T dilation overflows": (
        lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9), (2, 2, 3)), dilation=2**62), RuntimeError,
        ["conv_transpose1d: dilation=4611686018427387904 with kernel_size=3"]),
    "T no output channels": (lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9), (2, 0, 3))),
                             RuntimeError, ["conv_transpose1d: non-empty 3-D weight expected", "(2, 0, 3)"]),
    "T empty kernel": (lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9), (2, 1, 0))), ValueError,
                       ["conv_transpose1d: kernel size should be greater than zero", "kernel_size: 0", "(2, 1, 0)"]),
    "T bias shape": (lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9), (2, 1, 3), (3,))),
                     ValueError, ["conv_transpose1d: expected a bias of shape (1,), got (3,)"]),
    "T dtypes differ": (
        lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 9)), *_shapes(t, d, (2, 1, 3),
                                                                                       dtype="float64")),
        TypeError, ["conv_transpose1d: input dtype float32 and weight dtype float64 differ"]),
    "T empty length": (lambda t, F_, nn_, d: F_.conv_transpose1d(*_shapes(t, d, (1, 2, 0), (2, 1, 3))), RuntimeError,
                       ["conv_transpose1d: only zero batch or zero channel inputs are supported",
                        "input shape (1, 2, 0)"]),
    "T module channels": (lambda t, F_, nn_, d: nn_.ConvTranspose1d(3, 4, 3).to(d)(*_shapes(t, d, (1, 2, 9))),
                          ValueError, ["conv_transpose1d: expected input with 3 channels", "weight (3, 4, 3)",
                                       "(1, 2, 9)"]),
}

# A 4-D H=1 view in a message: "(a, b, 1, c)".
_VIEW = re.compile(r"\(\d+, \d+, 1, \d+\)")


def _assert_one_d_message(msg, fragments):
    for f in fragments:
        assert f in msg, (f, msg)
    assert "2d" not in msg, msg
    assert not _VIEW.search(msg), msg
    assert "kernel_height" not in msg and "(top, bottom" not in msg, msg


@pytest.mark.parametrize("name", list(CASES))
def test_one_d_errors_name_the_one_d_op_and_the_users_shapes(name, device):
    call, err, fragments = CASES[name]
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional, torch.nn, "cpu")
    assert isinstance(theirs.value, RuntimeError), theirs.value  # torch's type for every case
    with pytest.raises(err) as ours:
        call(pe, F, nn, device)
    _assert_one_d_message(str(ours.value), fragments)


def test_device_mismatch_names_the_one_d_op():
    if not pe.cuda.is_available():
        pytest.skip("needs a CUDA device (or the emulated GPU)")
    x, w, b = pe.zeros(1, 1, 9), pe.zeros(1, 1, 3, device="cuda"), pe.zeros(1, device="cuda")
    for fn, args in ((F.conv1d, (x, w)), (F.conv1d, (x, x.new_zeros(1, 1, 3), b)), (F.conv_transpose1d, (x, w))):
        with pytest.raises(RuntimeError) as info:
            fn(*args)
        _assert_one_d_message(str(info.value), [f"{fn.__name__}: expected all tensors on the same device"])


# The CUDA kernels index with ints: sizes past 2**29 are refused by the launcher, which names
# the user's op and argument (for conv_transpose1d: its own padding, not the adjoint conv's).
# (Small outputs: the dilated kernel spans about the padded input.)
@pytest.mark.parametrize("fn,k,kw,fragment", [
    (F.conv1d, 3, dict(dilation=2**30, padding=2**30), "conv1d on CUDA: padding = 1073741824"),
    (F.conv1d, 2, dict(dilation=2**30, padding=2**29 - 4), "conv1d on CUDA: dilation = 1073741824"),
    (F.conv_transpose1d, 2, dict(dilation=2**30, padding=2**29), "conv_transpose1d on CUDA: dilation = 1073741824"),
])
def test_cuda_kernel_limits_name_the_one_d_op(fn, k, kw, fragment):
    if not pe.cuda.is_available():
        pytest.skip("needs a CUDA device (or the emulated GPU)")
    x, w = pe.zeros(1, 1, 9, device="cuda"), pe.zeros(1, 1, k, device="cuda")
    with pytest.raises(RuntimeError) as info:
        fn(x, w, **kw)
    _assert_one_d_message(str(info.value), [fragment])


# The backward entry points take one_d too (reached with a grad_output of the wrong shape only
# through _C): conv1d_backward / conv_transpose1d_backward and 3-D shapes.
def test_backward_errors_name_the_one_d_op():
    x, w = _C.from_numpy(np.zeros((1, 1, 1, 9))), _C.from_numpy(np.zeros((1, 1, 1, 3)))
    bad = _C.from_numpy(np.zeros((1, 2, 1, 7)))
    with pytest.raises(ValueError) as info:
        _C.conv2d_backward(bad, x, w, [1, 1], [0, 0], [1, 1], 1, [True] * 3, True)
    _assert_one_d_message(str(info.value), ["conv1d_backward: expected grad_output of shape (1, 1, 7), got (1, 2, 7)"])
    with pytest.raises(ValueError) as info:
        _C.conv_transpose2d_backward(bad, x, w, [1, 1], [0, 0], [0, 0], 1, [1, 1], [True] * 3, True)
    _assert_one_d_message(str(info.value),
                          ["conv_transpose1d_backward: expected grad_output of shape (1, 1, 11), got (1, 2, 7)"])
    # and without one_d the 2-D op and shapes, as before
    with pytest.raises(ValueError, match=re.escape("conv2d_backward: expected grad_output of shape (1, 1, 1, 7)")):
        _C.conv2d_backward(bad, x, w, [1, 1], [0, 0], [1, 1], 1, [True] * 3)
