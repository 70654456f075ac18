"""The native core: storage, views, copies between dtypes, NumPy exchange, ISA and threads."""
import numpy as np
import pytest

from pyengine import _C

DTYPES = ["float32", "float64", "int64", "bool"]


def arr(shape, dtype="float64", seed=0):
    a = np.random.default_rng(seed).normal(size=shape) * 10
    return a.astype(dtype)


def test_from_numpy_is_zero_copy_both_ways():
    a = arr((3, 4), "float32")
    t = _C.from_numpy(a)
    a[1, 2] = 123.0
    assert t.numpy()[1, 2] == 123.0
    back = t.numpy()
    back[0, 0] = -5.0
    assert a[0, 0] == -5.0
    assert t.data_ptr == a.ctypes.data


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_of_strided_views_matches(dtype):
    a = arr((5, 6, 7), dtype)
    t = _C.from_numpy(a)
    np.testing.assert_array_equal(_C.permute(t, [2, 0, 1]).numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(_C.slice(t, 1, 1, None, 2).numpy(), a[:, 1::2])
    np.testing.assert_array_equal(_C.select(t, 2, -1).numpy(), a[:, :, -1])
    np.testing.assert_array_equal(_C.diagonal(t, 1, 0, 1).numpy(), np.diagonal(a, 1, 0, 1))
    np.testing.assert_array_equal(_C.expand(_C.unsqueeze(t, 0), [3, 5, 6, 7]).numpy(),
                                  np.broadcast_to(a, (3, 5, 6, 7)))


def test_unsupported_numpy_inputs_are_refused():
    with pytest.raises(TypeError, match="unsupported NumPy dtype 'uint16'"):
        _C.from_numpy(np.zeros(3, np.uint16))
    with pytest.raises(TypeError, match="unsupported NumPy dtype 'complex64'"):
        _C.from_numpy(np.zeros(3, np.complex64))
    with pytest.raises(ValueError, match="negative strides"):
        _C.from_numpy(np.arange(5.0)[::-1])


@pytest.mark.parametrize("src", DTYPES)
@pytest.mark.parametrize("dst", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (13, 17), (3, 1, 5)])
def test_copy_converts_dtypes_on_strided_views(src, dst, shape):
    a = arr(shape, src)
    t = _C.from_numpy(a)
    view = _C.transpose(t, 0, -1) if len(shape) > 1 else t
    expected = (a.T if len(shape) > 1 else a).astype(dst)
    np.testing.assert_array_equal(_C.to_dtype(view, dst).numpy(), expected)
    out = _C.empty(list(expected.shape), dst)
    _C.copy_(out, view)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_copy_broadcasts_and_checks_shapes():
    out = _C.empty([4, 3], "float64")
    _C.copy_(out, _C.from_numpy(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(out.numpy(), np.tile([1.0, 2.0, 3.0], (4, 1)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(2,\)|\(2,\).*\(4, 3\)"):
        _C.copy_(out, _C.from_numpy(np.zeros(2)))


def test_copy_into_a_strided_destination():
    a = np.zeros((6, 8))
    t = _C.from_numpy(a)
    _C.copy_(_C.slice(_C.slice(t, 0, 1, None, 2), 1, None, None, 3), _C.full([3, 3], 7.0, "float64"))
    expected = np.zeros((6, 8))
    expected[1::2, ::3] = 7.0
    np.testing.assert_array_equal(a, expected)


def test_contiguous_and_clone():
    a = arr((4, 5))
    t = _C.transpose(_C.from_numpy(a), 0, 1)
    assert not t.is_contiguous()
    c = _C.contiguous(t)
    assert c.is_contiguous() and c.strides == (4, 1)
    np.testing.assert_array_equal(c.numpy(), a.T)
    same = _C.contiguous(c)
    assert same.data_ptr == c.data_ptr  # already contiguous: no copy
    k = _C.clone(c)
    assert k.data_ptr != c.data_ptr


@pytest.mark.parametrize("shape,new", [((2, 3, 4), [6, 4]), ((2, 3, 4), [-1]), ((2, 3, 4), [4, -1, 2]),
                                       ((0, 3), [3, 0]), ((1,), [])])
def test_view_and_reshape(shape, new):
    a = arr(shape)
    t = _C.from_numpy(a)
    np.testing.assert_array_equal(_C.view(t, new).numpy(), a.reshape(new))
    np.testing.assert_array_equal(_C.reshape(t, new).numpy(), a.reshape(new))


def test_view_of_a_transpose_needs_reshape():
    a = arr((3, 4))
    t = _C.transpose(_C.from_numpy(a), 0, 1)
    with pytest.raises(RuntimeError, match=r"view size \(12,\) is not compatible.*\(4, 3\)"):
        _C.view(t, [12])
    r = _C.reshape(t, [12])
    np.testing.assert_array_equal(r.numpy(), a.T.reshape(12))
    # splitting a dim of a transposed tensor is still a view
    v = _C.view(t, [2, 2, 3])
    assert v.storage_ptr == t.storage_ptr
    np.testing.assert_array_equal(v.numpy(), a.T.reshape(2, 2, 3))


def test_view_shape_errors():
    t = _C.from_numpy(arr((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(4, -1\) is invalid for input of size 6"):
        _C.view(t, [4, -1])
    with pytest.raises(ValueError, match="only one dimension can be inferred"):
        _C.view(t, [-1, -1])


def test_squeeze_unsqueeze_flatten():
    a = arr((1, 3, 1, 2))
    t = _C.from_numpy(a)
    assert _C.squeeze(t).shape == (3, 2)
    assert _C.squeeze(t, 2).shape == (1, 3, 2)
    assert _C.squeeze(t, 1).shape == (1, 3, 1, 2)  # size 3: unchanged
    assert _C.unsqueeze(t, -1).shape == (1, 3, 1, 2, 1)
    np.testing.assert_array_equal(_C.flatten(t, 1, 2).numpy(), a.reshape(1, 3, 2))
    assert _C.flatten(_C.from_numpy(np.array(5.0))).shape == (1,)


def test_dimension_and_index_errors_name_the_range():
    t = _C.from_numpy(arr((2, 3)))
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        _C.transpose(t, 0, 2)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        _C.select(t, 1, 3)
    with pytest.raises(ValueError, match="permute: dim 0 repeats"):
        _C.permute(t, [0, 0])
    with pytest.raises(ValueError, match=r"cannot expand shape \(2, 3\) to \(2, 4\)"):
        _C.expand(t, [2, 4])


def test_slices_follow_python_clamping():
    a = np.arange(10.0)
    t = _C.from_numpy(a)
    for start, stop, step in [(None, None, 1), (2, 8, 3), (-3, None, 1), (8, 2, 1), (-100, 100, 4), (5, 5, 2)]:
        np.testing.assert_array_equal(_C.slice(t, 0, start, stop, step).numpy(), a[start:stop:step])
    with pytest.raises(ValueError, match="slice step must be positive"):
        _C.slice(t, 0, None, None, -1)


def test_as_strided_stays_inside_the_storage():
    t = _C.from_numpy(np.arange(6.0))
    np.testing.assert_array_equal(_C.as_strided(t, [2, 2], [1, 2], 1).numpy(), [[1, 3], [2, 4]])
    with pytest.raises(ValueError, match="reaches element 6 but the storage holds 6"):
        _C.as_strided(t, [2, 2], [3, 1], 2)


def test_huge_shapes_are_refused_not_under_allocated():
    with pytest.raises(ValueError, match="too large to allocate"):
        _C.empty([2 ** 40, 2 ** 40], "float32")
    with pytest.raises(ValueError, match="negative dimension"):
        _C.empty([2, -1], "float32")
    assert _C.empty([2 ** 62, 0], "float64").numel == 0


def test_promotion_order():
    assert _C.promote_types("bool", "int64") == "int64"
    assert _C.promote_types("int64", "float32") == "float32"
    assert _C.promote_types("float32", "float64") == "float64"
    assert _C.promote_types("uint8", "int8") == "int16"
    assert _C.promote_types("float16", "bfloat16") == "float32"
    with pytest.raises(TypeError, match="unknown dtype 'int9'"):
        _C.promote_types("int9", "float32")


def test_isa_switching_changes_the_kernel_build():
    best = _C.best_isa()
    order = ["generic", "avx2", "avx512"]
    try:
        for isa in order[: order.index(best) + 1]:
            _C.set_isa(isa)
            assert _C.active_isa() == isa
            assert _C.kernel_isa() == isa
        if best != "avx512":
            with pytest.raises(ValueError, match="not supported by this CPU"):
                _C.set_isa("avx512")
        with pytest.raises(ValueError, match="unknown ISA"):
            _C.set_isa("sse9")
    finally:
        _C.set_isa(best)


def test_thread_count_round_trip_and_validation():
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        assert _C.get_num_threads() == 1
        with pytest.raises(ValueError, match="positive number of threads, got 0"):
            _C.set_num_threads(0)
    finally:
        _C.set_num_threads(before)


def test_no_cuda_is_an_error_not_a_crash():
    if _C.cuda_is_available():
        pytest.skip("a GPU is present")
    assert _C.cuda_device_count() == 0
    with pytest.raises(RuntimeError, match="cuda:0"):
        _C.empty([2], "float32", "cuda")
    with pytest.raises(RuntimeError):
        _C.to_device(_C.from_numpy(np.zeros(2)), "cuda")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        _C.empty([2], "float32", "gpu")


def test_in_place_writes_bump_the_shared_version():
    base = _C.from_numpy(np.zeros((3, 3)))
    view = _C.select(base, 0, 1)
    v0 = base.version
    _C.copy_(view, _C.full([3], 1.0, "float64"))
    assert base.version > v0 and view.version == base.version  # one counter per storage
    v1 = base.version
    _C.fill_(base, 2.0)
    assert base.version > v1


def test_empty_tensors_are_contiguous_whatever_their_strides():
    t = _C.as_strided(_C.from_numpy(np.zeros(4)), [0, 3], [1, 7], 0)
    assert t.is_contiguous()


def test_recycled_small_blocks_stay_aligned_and_independent():
    # Small storages come back from a per-thread cache: every size class, 64-byte alignment,
    # and a recycled block must not alias a live tensor or keep stale values visible.
    live = []
    for nbytes in [1, 8, 63, 64, 65, 200, 1000, 4096, 4097, 16384, 16385, 70000]:
        n = max(1, nbytes // 8)
        for _ in range(3):
            t = _C.full([n], float(nbytes), "float64")
            dropped = _C.full([n], -1.0, "float64")
            del dropped  # goes back to the cache; the next tensor of this size may reuse it
            assert t.data_ptr % 64 == 0
            live.append((t, float(nbytes)))
    ptrs = [t.data_ptr for t, _ in live]
    assert len(set(ptrs)) == len(ptrs)
    for t, value in live:
        assert (t.numpy() == value).all()


@pytest.mark.parametrize("ndim", [7, 9])
def test_elementwise_loops_over_many_non_mergeable_dims(ndim):
    # More dims than the loop keeps inline: permuted so no two dims merge.
    rng = np.random.default_rng(ndim)
    shape = (2, 3) * (ndim // 2) + (2,) * (ndim % 2)
    a = rng.normal(size=shape)
    b = rng.normal(size=shape[::-1])
    perm = list(range(ndim))[::-1]
    ta = _C.permute(_C.from_numpy(a), perm)
    tb = _C.from_numpy(b)
    np.testing.assert_array_equal(_C.add(ta, tb).numpy(), a.transpose(perm) + b)
    np.testing.assert_array_equal(_C.contiguous(ta).numpy(), a.transpose(perm))
