"""DLPack exchange with NumPy and PyTorch: zero-copy both ways (a write on one side is read on
the other), strided and transposed views, every dtype, capsule ownership (consumed capsules are
renamed, deleters run when the importing tensor dies, unconsumed exports are freed), errors."""
import gc
import sys

import numpy as np
import pytest

from pyengine import _C

DTYPES = ["float32", "float64", "int64", "bool"]


class Exporter:
    """The smallest __dlpack__ producer: wraps a capsule made by _C.to_dlpack."""

    def __init__(self, t):
        self.t = t

    def __dlpack__(self, **kwargs):
        return _C.to_dlpack(self.t)

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


def sample(dtype, shape=(3, 4)):
    n = int(np.prod(shape))
    return (np.arange(n) % 3 == 0 if dtype == "bool" else np.arange(n).astype(dtype)).reshape(shape)


@pytest.mark.parametrize("dtype", DTYPES)
def test_export_to_numpy_is_zero_copy(dtype):
    a = sample(dtype)
    t = _C.from_numpy(a.copy())
    for producer in (Exporter(t), t):  # the shim, and TensorImpl's own __dlpack__
        b = np.from_dlpack(producer)
        assert b.dtype == np.dtype(dtype) and b.shape == (3, 4)
        np.testing.assert_array_equal(b, a)
        assert b.ctypes.data == t.data_ptr
    # NumPy makes arrays from unversioned capsules read-only, so write on our side.
    _C.fill_(_C.select(_C.select(t, 0, 1), 0, 2), 1)
    assert b[1, 2] == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_import_from_numpy_is_zero_copy(dtype):
    a = sample(dtype, (2, 5))
    t = _C.from_dlpack(a)                   # an object with __dlpack__
    assert t.shape == (2, 5) and t.dtype == dtype and t.data_ptr == a.ctypes.data
    a[0, 3] = 0 if dtype != "bool" else not a[0, 3]
    np.testing.assert_array_equal(t.numpy(), a)
    t2 = _C.from_dlpack(a.__dlpack__())     # a bare capsule
    np.testing.assert_array_equal(t2.numpy(), a)


def test_transposed_sliced_and_empty_exports():
    a = np.arange(24, dtype=np.float64).reshape(4, 6)
    t = _C.from_numpy(a)
    tt = _C.transpose(t, 0, 1)
    b = np.from_dlpack(Exporter(tt))
    np.testing.assert_array_equal(b, a.T)
    assert b.strides == (8, 48)             # element strides (1, 6) in bytes
    s = _C.slice(_C.slice(t, 0, 1, 4, 2), 1, 1, 6, 2)   # an offset view: rows 1, 3; cols 1, 3, 5
    np.testing.assert_array_equal(np.from_dlpack(Exporter(s)), a[1:4:2, 1:6:2])
    view = np.from_dlpack(Exporter(s))
    a[3, 5] = -1.0
    assert view[1, 2] == -1.0
    z = np.from_dlpack(Exporter(_C.empty([0, 3], "float32")))
    assert z.shape == (0, 3)
    scalar = np.from_dlpack(Exporter(_C.from_numpy(np.array(2.5))))
    assert scalar.shape == () and scalar == 2.5
    # Round trip of a transposed import keeps the strides.
    back = _C.from_dlpack(Exporter(tt))
    assert back.shape == (6, 4) and back.strides == (1, 6)
    np.testing.assert_array_equal(back.numpy(), a.T)


def test_capsule_is_consumed_once():
    t = _C.from_numpy(np.ones(3, dtype=np.float32))
    cap = _C.to_dlpack(t)
    assert "dltensor" in repr(cap)
    u = _C.from_dlpack(cap)
    assert '"used_dltensor"' in repr(cap)
    with pytest.raises(ValueError, match="already consumed"):
        _C.from_dlpack(cap)
    np.testing.assert_array_equal(u.numpy(), [1, 1, 1])


def test_deleter_runs_when_the_import_dies():
    a = np.arange(6.0)
    base = sys.getrefcount(a)
    t = _C.from_dlpack(a)                   # NumPy's export holds a reference to a
    assert sys.getrefcount(a) > base
    del t
    gc.collect()
    assert sys.getrefcount(a) == base


def test_unconsumed_export_is_freed_by_the_capsule():
    a = np.arange(6.0)
    base = sys.getrefcount(a)
    t = _C.from_numpy(a)                    # the storage holds a reference to a
    cap = _C.to_dlpack(t)
    del t
    gc.collect()
    assert sys.getrefcount(a) > base        # the capsule keeps the storage alive
    del cap
    gc.collect()
    assert sys.getrefcount(a) == base
    # A consumed capsule hands ownership to the importer.
    t = _C.from_numpy(a)
    cap = _C.to_dlpack(t)
    u = _C.from_dlpack(cap)
    del t, cap
    gc.collect()
    assert sys.getrefcount(a) > base
    del u
    gc.collect()
    assert sys.getrefcount(a) == base


def test_errors_leave_the_capsule_unconsumed():
    with pytest.raises(TypeError, match="capsule or an object with __dlpack__, got int"):
        _C.from_dlpack(42)
    u32 = np.arange(4, dtype=np.uint32)  # pyengine has no uint32
    cap = u32.__dlpack__()
    with pytest.raises(TypeError, match="unsupported DLPack dtype.*bits 32"):
        _C.from_dlpack(cap)
    assert '"dltensor"' in repr(cap)        # still the producer's to free
    with pytest.raises(ValueError, match="negative strides"):
        _C.from_dlpack(np.arange(5.0)[::-1])

    class Bad:
        def __dlpack__(self, **kw):
            return "not a capsule"

    with pytest.raises(TypeError, match="PyCapsule"):
        _C.from_dlpack(Bad())


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_round_trip(dtype):
    torch = pytest.importorskip("torch")
    from torch.utils import dlpack as tdl

    a = sample(dtype, (3, 5))
    t = _C.from_numpy(a.copy())
    x = tdl.from_dlpack(_C.to_dlpack(t))    # ours -> torch
    assert x.data_ptr() == t.data_ptr and list(x.shape) == [3, 5]
    np.testing.assert_array_equal(x.numpy(), a)
    x[2, 4] = 0 if dtype != "bool" else True
    assert t.numpy()[2, 4] == x[2, 4].item()
    y = torch.from_dlpack(t)                # torch's protocol call on TensorImpl
    assert y.data_ptr() == t.data_ptr

    src = torch.from_numpy(sample(dtype, (4, 6)).copy()).t()   # torch -> ours, transposed
    u = _C.from_dlpack(tdl.to_dlpack(src))
    assert u.shape == (6, 4) and u.strides == (1, 6) and u.data_ptr == src.data_ptr()
    np.testing.assert_array_equal(u.numpy(), src.numpy())
    v = _C.from_dlpack(src)                 # via torch's __dlpack__
    src[0, 0] = 1 if dtype != "bool" else True
    assert v.numpy()[0, 0] == src[0, 0].item()
