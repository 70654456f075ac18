"""Bad shapes, dtypes, devices, dims and indices raise Python exceptions naming what was wrong."""
import numpy as np
import pytest

import pyengine as pe


def test_binary_shape_mismatch_names_both_shapes():
    with pytest.raises((ValueError, RuntimeError), match=r"\(2, 3\).*\(4,\)|\(4,\).*\(2, 3\)|2, 3.*4"):
        pe.ones(2, 3) + pe.ones(4)


def test_matmul_shape_errors():
    with pytest.raises((ValueError, RuntimeError)) as e:
        pe.ones(2, 3) @ pe.ones(4, 5)
    assert "3" in str(e.value) and "4" in str(e.value)
    with pytest.raises(RuntimeError, match="at least 1D"):
        pe.matmul(pe.tensor(1.0), pe.ones(2))
    with pytest.raises(RuntimeError, match="2D"):
        pe.mm(pe.ones(2), pe.ones(2, 2))
    with pytest.raises(RuntimeError, match="3D"):
        pe.bmm(pe.ones(2, 2), pe.ones(2, 2))
    with pytest.raises(RuntimeError, match="1D"):
        pe.dot(pe.ones(2, 2), pe.ones(2))


def test_view_errors():
    with pytest.raises(RuntimeError):
        pe.ones(3, 4).T.view(12)
    with pytest.raises((ValueError, RuntimeError)) as e:
        pe.ones(3, 4).reshape(5, 2)
    assert "12" in str(e.value) or "5, 2" in str(e.value)


@pytest.mark.parametrize("call", [lambda x: x.sum(dim=3), lambda x: x.mean(dim=-4), lambda x: x.size(5),
                                  lambda x: x.max(dim=3), lambda x: x.transpose(0, 7),
                                  lambda x: x.unsqueeze(9), lambda x: x.flatten(3), lambda x: pe.cat([x, x], dim=3)])
def test_bad_dims_raise_index_error(call):
    with pytest.raises(IndexError):
        call(pe.ones(2, 3, 4))


def test_repeated_dim_in_reduction():
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        pe.ones(2, 3).sum(dim=(1, -1))


@pytest.mark.parametrize("key,match", [(5, "index 5 is out of bounds for dimension 0 with size 3"),
                                       ((0, -5), "index -5 is out of bounds for dimension 1 with size 4"),
                                       ((0, 0, 0), "too many indices for tensor of dimension 2"),
                                       ((Ellipsis, Ellipsis), "single ellipsis")])
def test_index_errors(key, match):
    with pytest.raises(IndexError, match=match):
        pe.ones(3, 4)[key]


def test_advanced_index_out_of_range_and_bad_types():
    with pytest.raises(IndexError):
        pe.ones(3, 4)[[0, 3]]
    with pytest.raises(IndexError, match="long or bool"):
        pe.ones(3)[pe.tensor([0.0, 1.0])]
    with pytest.raises(TypeError, match="valid indices"):
        pe.ones(3)["a"]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        pe.ones(3)[::-1]
    with pytest.raises(IndexError, match="shape of the mask"):
        pe.ones(3, 4)[pe.tensor([True, False])]


def test_setitem_shape_mismatch():
    x = pe.zeros(3, 4)
    with pytest.raises((ValueError, RuntimeError)) as e:
        x[0] = pe.ones(3)
    assert "3" in str(e.value) and "4" in str(e.value)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        x[[0, 1]] = pe.ones(3, 4)


def test_dtype_errors():
    with pytest.raises(TypeError, match="unknown dtype"):
        pe.zeros(2, dtype="float8")
    with pytest.raises(TypeError):
        pe.tensor(np.array([1, 2], dtype=np.complex64))
    with pytest.raises(TypeError, match="could not infer dtype"):
        pe.tensor([object()])
    with pytest.raises(RuntimeError, match="floating point"):
        pe.zeros(2, dtype=pe.int64).requires_grad_()
    with pytest.raises(TypeError, match="bool"):
        pe.where(pe.ones(2), pe.ones(2), pe.zeros(2))
    with pytest.raises(TypeError, match="int64"):
        pe.ones(2, 2).gather(1, pe.zeros(2, 2))
    with pytest.raises(TypeError, match="boolean masks"):
        pe.ones(2).masked_fill(pe.ones(2), 1.0)
    with pytest.raises(RuntimeError, match="mean"):
        pe.tensor([1, 2]).mean()
    with pytest.raises(TypeError, match="bool"):
        ~pe.ones(2)


def test_inplace_result_dtype_must_fit():
    x = pe.zeros(2, dtype=pe.int64)
    with pytest.raises((TypeError, RuntimeError)) as e:
        x += 1.5
    assert "float" in str(e.value).lower() or "int64" in str(e.value).lower()


def test_device_errors():
    with pytest.raises(ValueError, match="unknown device"):
        pe.zeros(2, device="tpu")
    if not pe.cuda.is_available():
        with pytest.raises(Exception):
            pe.zeros(2, device="cuda")


def test_creation_errors():
    with pytest.raises(RuntimeError, match="negative dimension"):
        pe.zeros(2, -1)
    with pytest.raises(TypeError, match="sequence of ints"):
        pe.ones(2.5)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        pe.arange(0, 5, 0)
    with pytest.raises(TypeError, match="np.ndarray"):
        pe.from_numpy([1, 2])
    with pytest.raises(ValueError, match="could not build a tensor"):
        pe.tensor([[1, 2], [3]])


def test_cat_stack_split_errors():
    with pytest.raises(ValueError, match="non-empty"):
        pe.cat([])
    with pytest.raises((ValueError, RuntimeError)) as e:
        pe.cat([pe.ones(2, 3), pe.ones(2, 4)])
    assert "3" in str(e.value) and "4" in str(e.value)
    with pytest.raises(RuntimeError, match=r"\(2,\) at entry 0 and \(3,\) at entry 1"):
        pe.stack([pe.ones(2), pe.ones(3)])
    with pytest.raises(RuntimeError, match="sum exactly to 5"):
        pe.ones(5).split([2, 2])
    with pytest.raises(RuntimeError, match="zero-dimensional"):
        pe.cat([pe.tensor(1.0)])


def test_scalar_conversion_errors():
    with pytest.raises(TypeError, match="0-d"):
        len(pe.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(pe.tensor(1.0))
    with pytest.raises(TypeError):
        list(range(3))[pe.tensor([1, 2])]


def test_autograd_errors():
    x = pe.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(pe.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        pe.autograd.grad((x * 2).sum(), pe.ones(2))
    with pytest.raises(RuntimeError, match="hook"):
        pe.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="retain_grad"):
        pe.ones(2).retain_grad()


def test_errors_leave_state_unchanged():
    x = pe.arange(6.0).view(2, 3)
    before, version = x.tolist(), x._version
    with pytest.raises(Exception):
        x[[0, 5]] = 1.0
    with pytest.raises(Exception):
        x.add_(pe.ones(4))
    assert x.tolist() == before and x._version == version


def test_empty_tensors_work():
    e = pe.zeros(0, 3)
    assert (e + 1).shape == (0, 3) and e.sum().item() == 0.0 and e.sum(dim=0).tolist() == [0.0, 0.0, 0.0]
    assert e.T.shape == (3, 0) and e[[]].shape == (0, 3) and pe.cat([e, pe.ones(1, 3)]).shape == (1, 3)
    assert (pe.zeros(2, 0) @ pe.zeros(0, 3)).tolist() == [[0.0] * 3] * 2
    assert repr(pe.zeros(0)) == "tensor([])"
