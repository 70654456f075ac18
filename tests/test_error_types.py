"""Error types: the same bad calls through torch 2.13 and pyengine. Whatever PyTorch raises
(RuntimeError for most shape and argument errors, IndexError for indices, ValueError for some),
pyengine's error is catchable as that type, and still as the type pyengine raised before
(ArgumentError is a ValueError and a RuntimeError; IndexRangeError an IndexError and a
RuntimeError), with a message naming the shapes or values that came."""
import warnings

import pytest

import pyengine as pe
import pyengine.nn.functional as PF

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _F(m):
    return TF if m is torch else PF


# (id, call(m), pyengine's own type before issue 15, text the message must contain)
CASES = [
    ("add_broadcast", lambda m: m.zeros(2, 3) + m.zeros(4, 3), ValueError, "(2, 3) and (4, 3)"),
    ("mul_broadcast", lambda m: m.mul(m.zeros(2, 3), m.zeros(3, 2)), ValueError, "(2, 3) and (3, 2)"),
    ("where_broadcast", lambda m: m.where(m.zeros(2, 3) > 0, m.zeros(4, 3), m.zeros(2, 3)), ValueError, "(4, 3)"),
    ("matmul_inner", lambda m: m.zeros(2, 3) @ m.zeros(4, 3), ValueError, "(2, 3) and (4, 3)"),
    ("matmul_batch", lambda m: m.matmul(m.zeros(2, 2, 3), m.zeros(3, 3, 2)), ValueError, "(2, 2, 3)"),
    ("mm_inner", lambda m: m.mm(m.zeros(2, 3), m.zeros(4, 3)), ValueError, "(4, 3)"),
    ("bmm_inner", lambda m: m.bmm(m.zeros(2, 2, 3), m.zeros(2, 4, 3)), ValueError, "(2, 4, 3)"),
    ("cat_sizes", lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 4)]), ValueError, "(2, 4)"),
    ("cat_ndim", lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 3, 1)]), ValueError, "(2, 3, 1)"),
    ("stack_empty", lambda m: m.stack([]), ValueError, "non-empty"),
    ("view_numel", lambda m: m.zeros(2, 3).view(4), ValueError, "size 6"),
    ("view_two_inferred", lambda m: m.zeros(2, 3).view(-1, -1), ValueError, "only one dimension"),
    ("reshape_numel", lambda m: m.zeros(2, 3).reshape(5), ValueError, "size 6"),
    ("reshape_negative", lambda m: m.zeros(2, 3).reshape(-2, 3), ValueError, "-2"),
    ("expand_size", lambda m: m.zeros(2, 3).expand(3, 3), ValueError, "(2, 3)"),
    ("expand_fewer", lambda m: m.zeros(2, 3).expand(3), ValueError, "(3,)"),
    ("permute_length", lambda m: m.zeros(2, 3).permute(0), ValueError, "(2, 3)"),
    ("permute_repeat", lambda m: m.zeros(2, 3).permute(0, 0), ValueError, "(0, 0)"),
    ("gather_ndim", lambda m: m.gather(m.zeros(2, 3), 1, m.tensor([5])), ValueError, "dimensions"),
    ("gather_out_of_range", lambda m: m.gather(m.zeros(2, 3), 1, m.tensor([[5]])), IndexError, "index 5"),
    ("narrow_out_of_range", lambda m: m.zeros(2, 3).narrow(0, 1, 5), IndexError, "length (5)"),
    ("scatter_add_shape", lambda m: m.zeros(2, 3).scatter_add(0, m.zeros(3, 3, dtype=m.int64), m.zeros(2, 3)),
     ValueError, "(3, 3)"),
    ("add_inplace_broadcast", lambda m: m.zeros(1, 3).add_(m.zeros(2, 3)), ValueError, "(1, 3)"),
    ("copy_broadcast", lambda m: m.zeros(2, 3).copy_(m.zeros(4, 3)), ValueError, "(4, 3)"),
    ("setitem_broadcast", lambda m: m.zeros(2, 3).__setitem__(0, m.zeros(4)), ValueError, "(4,)"),
    ("mse_shapes", lambda m: _F(m).mse_loss(m.zeros(2, 3), m.zeros(3, 2)), ValueError, "(3, 2)"),
    ("conv_channels", lambda m: _F(m).conv2d(m.zeros(1, 3, 5, 5), m.zeros(4, 2, 3, 3)), ValueError, "(4, 2, 3, 3)"),
    ("conv_kernel_too_big", lambda m: _F(m).conv2d(m.zeros(1, 3, 2, 2), m.zeros(4, 3, 3, 3)), ValueError, "(3, 3)"),
    ("layer_norm_shape", lambda m: _F(m).layer_norm(m.zeros(2, 3), (4,)), ValueError, "(4,)"),
    ("batch_norm_channels", lambda m: _F(m).batch_norm(m.zeros(2, 3), m.zeros(4), m.zeros(4)), ValueError, "4"),
    ("pad_odd_length", lambda m: _F(m).pad(m.zeros(2, 3), (1,)), ValueError, "(1,)"),
    ("pad_reflect_too_big", lambda m: _F(m).pad(m.zeros(1, 2, 3), (3, 3), mode="reflect"), ValueError, "3"),
    ("one_hot_negative", lambda m: _F(m).one_hot(m.tensor([-1])), ValueError, "-1"),
    ("numel_overflow", lambda m: m.zeros(2 ** 40, 2 ** 40), ValueError, "1099511627776"),
    ("clamp_no_bounds", lambda m: m.zeros(2).clamp(), ValueError, "min"),
    ("int_negative_power", lambda m: m.tensor([2]) ** -1, ValueError, "negative"),
    ("unknown_device", lambda m: m.zeros(2, device="tpu"), ValueError, "tpu"),
    # PyTorch raises IndexError for these, as pyengine does
    ("dim_out_of_range", lambda m: m.zeros(2, 3).sum(2), IndexError, "got 2"),
    ("index_out_of_range", lambda m: m.zeros(2, 3)[5], IndexError, "index 5"),
    ("index_tensor_out_of_range", lambda m: m.zeros(2, 3)[m.tensor([5])], IndexError, "index 5"),
    ("index_select_out_of_range", lambda m: m.index_select(m.zeros(2, 3), 0, m.tensor([5])), IndexError, "5"),
    ("embedding_out_of_range", lambda m: _F(m).embedding(m.tensor([5]), m.zeros(3, 2)), IndexError, "5"),
    ("select_out_of_range", lambda m: m.zeros(2, 3).select(0, 5), IndexError, "index 5"),
    # PyTorch raises ValueError here: pyengine's ArgumentError is one
    ("cat_empty", lambda m: m.cat([]), ValueError, "non-empty"),
    ("cross_entropy_batch", lambda m: _F(m).cross_entropy(m.zeros(2, 3), m.tensor([0, 1, 2])), ValueError, "(2,)"),
]


@pytest.mark.parametrize("name,call,own_type,text", CASES, ids=[c[0] for c in CASES])
def test_error_catchable_as_torch_type_and_own_type(name, call, own_type, text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as want:
            call(torch)
        with pytest.raises(own_type) as got:  # the type pyengine raised before still catches it
            call(pe)
    assert isinstance(got.value, type(want.value)), (got.value, want.value)
    assert text in str(got.value), str(got.value)


def test_except_runtime_error_catches_shape_errors():
    """What a PyTorch user's program writes."""
    caught = []
    for bad in (lambda: pe.zeros(2, 3) @ pe.zeros(4, 3), lambda: pe.zeros(2, 3).view(4),
                lambda: pe.cat([pe.zeros(2, 3), pe.zeros(2, 4)]), lambda: pe.zeros(2, 3).narrow(0, 1, 5)):
        try:
            bad()
        except RuntimeError as e:
            caught.append(e)
    assert len(caught) == 4


def test_the_classes_are_exported_and_documented():
    assert issubclass(pe.ArgumentError, ValueError) and issubclass(pe.ArgumentError, RuntimeError)
    assert issubclass(pe.IndexRangeError, IndexError) and issubclass(pe.IndexRangeError, RuntimeError)
    assert pe.errors.ArgumentError is pe.ArgumentError is pe._C.ArgumentError
    assert "RuntimeError" in pe.ArgumentError.__doc__ and "IndexError" in pe.IndexRangeError.__doc__
    assert pe.ArgumentError.__module__ == "pyengine" and pe.ArgumentError.__name__ == "ArgumentError"
    # they pickle and compare like any exception (workers of a DataLoader send them back)
    import pickle
    e = pickle.loads(pickle.dumps(pe.ArgumentError("shape (2, 3)")))
    assert type(e) is pe.ArgumentError and str(e) == "shape (2, 3)"


def test_dtype_errors_are_runtime_errors_as_in_torch():
    """A float32 layer given float64 input: torch raises RuntimeError; pyengine's DTypeError is
    that and the TypeError it always was, with a message naming both dtypes."""
    assert issubclass(pe.DTypeError, TypeError) and issubclass(pe.DTypeError, RuntimeError)
    assert pe.errors.DTypeError is pe.DTypeError and "RuntimeError" in pe.DTypeError.__doc__
    conv = pe.nn.Conv2d(1, 2, 3)
    with pytest.raises(RuntimeError, match="float64.*float32") as info:
        conv(pe.randn(1, 1, 5, 5, dtype=pe.float64))
    assert isinstance(info.value, TypeError)
    with pytest.raises(RuntimeError, match="float64.*float32"):
        pe.nn.Conv1d(1, 2, 3)(pe.randn(1, 1, 5, dtype=pe.float64))
    with pytest.raises(RuntimeError):
        pe.nn.Linear(3, 2)(pe.randn(2, 3, dtype=pe.float64))
    with pytest.raises(TypeError):  # the old except clauses still work
        pe.zeros(3, dtype=pe.int64).softmax(0)
