"""What a tensor hook may return (issue 12): None, or a Tensor of the gradient's shape, dtype and
device. Anything else is PyTorch's error type with a message naming the hook and what it gave."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn


def _backward_with_hook(hook, leaf, device="cpu"):
    x = pe.ones(3, device=device, requires_grad=True)
    y = x if leaf else x * 2.0
    y.register_hook(hook)
    (y * 1.0).sum().backward()
    return x


def returns_int(g):
    return 3


def returns_tuple(g):
    return (g,)


def returns_array(g):
    return np.ones(3, dtype=np.float32)


def returns_list(g):
    return [1.0, 1.0, 1.0]


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non_leaf"])
@pytest.mark.parametrize("hook, got", [(returns_int, "int"), (returns_tuple, "tuple"), (returns_array, "ndarray"),
                                       (returns_list, "list")])
def test_non_tensor_return_is_a_type_error_naming_hook_and_type(device, leaf, hook, got):
    with pytest.raises(TypeError, match=rf"hook '{hook.__name__}' has returned an incorrect type: expected a "
                                        rf"Tensor or None, got {got} "):
        _backward_with_hook(hook, leaf, device)


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non_leaf"])
def test_wrong_shape_names_both_shapes(device, leaf):
    def widen(g):
        return pe.ones(5, device=g.device)

    with pytest.raises(RuntimeError, match=r"hook 'widen' has changed the size of value: the gradient has shape "
                                           r"\(3,\), the hook returned shape \(5,\)"):
        _backward_with_hook(widen, leaf, device)


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non_leaf"])
def test_wrong_dtype_names_both_dtypes(device, leaf):
    def to_double(g):
        return g.double()

    with pytest.raises(RuntimeError, match=r"hook 'to_double' has changed the type of value: was pyengine.float32, "
                                           r"got pyengine.float64"):
        _backward_with_hook(to_double, leaf, device)


def test_wrong_device_is_refused():
    if not pe.cuda.is_available():
        pytest.skip("needs a second device")

    def to_cuda(g):
        return g.cuda()

    with pytest.raises(RuntimeError, match=r"hook 'to_cuda' has changed the device of value: was cpu, got cuda"):
        _backward_with_hook(to_cuda, leaf=True)


def test_valid_replacements_still_apply(device):
    x = _backward_with_hook(lambda g: g * 3.0, leaf=False, device=device)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.full(3, 6.0, np.float32))
    x = _backward_with_hook(lambda g: None, leaf=True, device=device)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.ones(3, np.float32))


def test_error_types_match_torch():
    torch = pytest.importorskip("torch")
    for hook, ours in [(returns_int, TypeError), (lambda g: g.sum(), RuntimeError)]:
        x = torch.ones(3, requires_grad=True)
        x.register_hook(lambda g, h=hook: h(g) if h is returns_int else g.sum())
        with pytest.raises(ours):
            (x * 1.0).sum().backward()
        with pytest.raises(ours):
            _backward_with_hook(lambda g, h=hook: h(g) if h is returns_int else g.sum(), leaf=True)


def test_module_forward_hooks_pass_replacements_on_like_torch():
    """PyTorch does not check what forward hooks return: a non-tuple from a pre-hook becomes the one
    input (and the layer names its bad argument), a forward hook's value is the output."""
    m = nn.Linear(2, 2)
    m.register_forward_pre_hook(lambda mod, inputs: 3)
    with pytest.raises(TypeError, match="argument 'input' must be a Tensor, not int"):
        m(pe.ones(2))
    m = nn.Linear(2, 2)
    m.register_forward_hook(lambda mod, inputs, out: "replaced")
    assert m(pe.ones(2)) == "replaced"
