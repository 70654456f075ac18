"""Index family of pyengine._C against NumPy (and PyTorch where the semantics are PyTorch's own):
cat, gather, scatter_add(_), index_select, index_take, index_put_, nonzero, tril/triu,
one_hot, arange, linspace, eye."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pyengine import _C as C

DTYPES = ["float32", "float64", "int64", "bool"]
RNG = np.random.default_rng(1234)


def rand(shape, dtype, rng=RNG):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64":
        return rng.integers(-9, 10, size=shape).astype(np.int64)
    return rng.standard_normal(shape).astype(dtype)


def T(a):
    return C.from_numpy(np.asarray(a))


def I(a):
    return C.from_numpy(np.asarray(a, dtype=np.int64))


def layouts(a, broadcast=True):
    """(tensor, values) pairs holding `a` in several memory layouts: contiguous, transposed
    (strides reversed), sliced with step 2 along the last dim, and a stride-0 broadcast of
    its first row (whose values differ, hence the pair; left out for write targets)."""
    a = np.asarray(a)
    out = [(T(a), a)]
    if a.ndim >= 2:
        rev = list(range(a.ndim))[::-1]
        out.append((C.permute(T(np.ascontiguousarray(a.transpose(rev))), rev), a))
    if a.ndim >= 1 and a.shape[-1] > 0:
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        wide[..., ::2] = a
        out.append((C.slice(T(wide), a.ndim - 1, 0, None, 2), a))
    if broadcast and a.ndim >= 1 and a.shape[0] > 1:
        out.append((C.expand(T(a[:1]), list(a.shape)), np.broadcast_to(a[:1], a.shape)))
    return out


def check(t, expected):
    got = t.numpy()
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------- cat


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((4, 1, 5), 1), ((7,), 0),
                                       ((3, 0, 2), 1), ((1, 2, 3), 2)])
def test_cat_matches_numpy(dtype, shape, dim):
    parts = []
    for extra in (1, 0, 3):  # sizes along dim: 1, 0 and 3
        s = list(shape)
        s[dim] = extra
        parts.append(rand(tuple(s), dtype))
    for lay in zip(*[layouts(p) for p in parts]):
        tensors = [t for t, _ in lay]
        check(C.cat(tensors, dim), np.concatenate([v for _, v in lay], axis=dim))


def test_cat_promotes_dtypes():
    a, b = np.ones((2, 2), np.float32), np.arange(4, dtype=np.int64).reshape(2, 2)
    check(C.cat([T(a), T(b)], 0), np.concatenate([a, b.astype(np.float32)]))
    check(C.cat([T(b), T(np.ones((1, 2), np.float64))], 0), np.concatenate([b, np.ones((1, 2))]).astype(np.float64))
    check(C.cat([T(np.array([[True, False]])), T(b)], 0), np.concatenate([[[1, 0]], b]).astype(np.int64))


def test_cat_skips_1d_empty_like_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for tensors, dim in [([np.zeros(0, np.float32), x], 0), ([x, np.zeros(0, np.float64), x], 1),
                         ([np.zeros(0, np.float32), np.zeros(0, np.float32)], 0)]:
        want = torch.cat([torch.from_numpy(t) for t in tensors], dim).numpy()
        check(C.cat([T(t) for t in tensors], dim), want)


def test_cat_errors_name_the_shapes():
    a, b = T(np.ones((2, 3))), T(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"tensor 0 has shape \(2, 3\) but tensor 1 has shape \(3, 4\)"):
        C.cat([a, b], 0)
    with pytest.raises(ValueError, match=r"same number of dimensions.*\(2, 3\).*tensor 1 has shape \(3,\)"):
        C.cat([a, T(np.ones(3))], 0)
    with pytest.raises(ValueError, match=r"zero-dimensional tensor \(at position 1\)"):
        C.cat([a, T(np.float64(1.0))], 0)
    with pytest.raises(ValueError, match="non-empty list"):
        C.cat([], 0)
    with pytest.raises(IndexError, match="dimension out of range"):
        C.cat([a, a], 2)


# ---------------------------------------------------------------- gather / scatter_add


def gather_ref(x, dim, index):
    # PyTorch allows index to be smaller than x outside `dim`: gather from that corner of x.
    dim %= x.ndim
    corner = tuple(slice(0, s) if d != dim else slice(None) for d, s in enumerate(index.shape))
    return np.take_along_axis(x[corner], index, axis=dim)


def scatter_add_ref(x, dim, index, src):
    out = x.copy()
    pos = list(np.indices(index.shape))
    pos[dim] = index
    np.add.at(out, tuple(pos), src[tuple(slice(0, s) for s in index.shape)])
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape,ishape,dim", [((5, 7), (3, 7), 0), ((5, 7), (5, 11), 1), ((5, 7), (2, 3), -1),
                                               ((3, 4, 5), (3, 2, 5), 1), ((13,), (29,), 0), ((4, 5), (0, 5), 0),
                                               ((1,), (1,), 0)])
def test_gather_matches_take_along_axis(dtype, xshape, ishape, dim):
    x = rand(xshape, dtype)
    index = RNG.integers(0, xshape[dim], size=ishape)
    for (xt, xv), (it, iv) in zip(layouts(x), layouts(index)):
        check(C.gather(xt, dim, it), gather_ref(xv, dim, iv))


def test_gather_0d():
    check(C.gather(T(np.float64(5.0)), 0, I(0)), np.float64(5.0))
    check(C.gather(T(np.float64(5.0)), -1, I([0, 0])), np.array([5.0, 5.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape,ishape,dim", [((5, 7), (9, 7), 0), ((5, 7), (5, 11), 1), ((3, 4, 5), (3, 6, 5), 1),
                                               ((13,), (31,), 0), ((4, 5), (0, 5), 0), ((1, 1), (1, 1), 1)])
def test_scatter_add_matches_add_at(dtype, xshape, ishape, dim):
    x = rand(xshape, dtype)
    index = RNG.integers(0, xshape[dim], size=ishape)  # more entries than slots: duplicates
    src = rand(ishape, dtype)
    for (it, iv), (st_, sv) in zip(layouts(index), layouts(src)):
        xt = T(x.copy())
        got = C.scatter_add(xt, dim, it, st_)
        np.testing.assert_array_equal(xt.numpy(), x)  # out of place
        expected = scatter_add_ref(x, dim, iv, sv) if dtype != "bool" else (
            scatter_add_ref(x.astype(np.int64), dim, iv, sv.astype(np.int64)) != 0)
        if dtype == "float32":
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)
        else:
            check(got, expected)


def test_scatter_add_inplace_on_strided_target():
    base = np.zeros((6, 8))
    x = C.permute(T(base), [1, 0])  # (8, 6) view of base, transposed
    index = I(RNG.integers(0, 8, size=(20, 6)))
    src = RNG.standard_normal((20, 6))
    v0 = x.version
    y = C.scatter_add_(x, 0, index, T(src))
    assert y.data_ptr == x.data_ptr and x.version == v0 + 1
    np.testing.assert_allclose(base.T, scatter_add_ref(np.zeros((8, 6)), 0, index.numpy(), src), rtol=1e-12)


def test_scatter_add_sums_in_index_order_on_any_thread_count():
    # float32 sums depend on order; the kernel adds duplicates in index order like np.add.at.
    x = np.zeros((3, 50000), np.float32)
    index = RNG.integers(0, 3, size=(64, 50000))
    src = (RNG.standard_normal((64, 50000)) * 1e3).astype(np.float32)
    want = scatter_add_ref(x, 0, index, src)
    n = C.get_num_threads()
    try:
        for threads in (1, 2, 3):
            C.set_num_threads(threads)
            check(C.scatter_add(T(x), 0, I(index), T(src)), want)
    finally:
        C.set_num_threads(n)


def test_gather_scatter_errors():
    x = T(np.zeros((3, 5)))
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 1 with size 5"):
        C.gather(x, 1, I([[0, 7]]))
    with pytest.raises(IndexError, match="index -1 is out of bounds for dimension 1 with size 5"):
        C.gather(x, 1, I([[-1]]))
    with pytest.raises(TypeError, match="int64, got float32"):
        C.gather(x, 1, T(np.zeros((3, 5), np.float32)))
    with pytest.raises(ValueError, match=r"same number of dimensions.*\(3,\).*\(3, 5\)"):
        C.gather(x, 1, I([0, 1, 2]))
    with pytest.raises(ValueError, match=r"index shape \(4, 1\) must not exceed input shape \(3, 5\)"):
        C.gather(x, 1, I(np.zeros((4, 1))))
    with pytest.raises(IndexError, match="dimension out of range"):
        C.gather(x, 2, I([[0]]))
    src = T(np.ones((3, 5)))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        C.scatter_add_(x, 0, I([[0, 3]]), src)
    assert x.version == 0 and not x.numpy().any()  # nothing written
    with pytest.raises(TypeError, match=r"same dtype as self \(float64\), got float32"):
        C.scatter_add_(x, 0, I([[0]]), T(np.ones((3, 5), np.float32)))
    with pytest.raises(ValueError, match=r"must not exceed src shape \(1, 1\)"):
        C.scatter_add_(x, 0, I([[0, 1]]), T(np.ones((1, 1))))
    with pytest.raises(RuntimeError, match="single memory location"):
        C.scatter_add_(C.expand(T(np.zeros((1, 5))), [3, 5]), 0, I([[0]]), src)


# ---------------------------------------------------------------- index_select


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((5, 7), 0), ((5, 7), 1), ((3, 4, 5), 1), ((3, 4, 5), -1), ((11,), 0),
                                       ((0, 3), 1)])
@pytest.mark.parametrize("n", [0, 1, 13])
def test_index_select_matches_take(dtype, shape, dim, n):
    x = rand(shape, dtype)
    if shape[dim] == 0 and n > 0:
        return
    index = RNG.integers(0, shape[dim], size=n) if n else np.zeros(0, np.int64)
    for xt, xv in layouts(x):
        check(C.index_select(xt, dim, I(index)), np.take(xv, index, axis=dim))
    # a strided (stride-2) index
    wide = np.repeat(index, 2)
    check(C.index_select(T(x), dim, C.slice(I(wide), 0, 0, None, 2)), np.take(x, index, axis=dim))


def test_index_select_0d_and_errors():
    check(C.index_select(T(np.float32(3.0)), 0, I([0])), np.float32(3.0))
    x = T(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="index -1 is out of bounds for dimension 0 with size 3"):
        C.index_select(x, 0, I([-1]))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        C.index_select(x, 1, I([0, 4]))
    with pytest.raises(ValueError, match=r"0-d or 1-d, got shape \(1, 1\)"):
        C.index_select(x, 0, I([[0]]))
    with pytest.raises(TypeError, match="int64"):
        C.index_select(x, 0, T(np.array([True])))
    with pytest.raises(ValueError, match="only 1 value"):
        C.index_select(T(np.float32(3.0)), 0, I([0, 0]))


# ---------------------------------------------------------------- index_take / index_put_


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape,ishapes", [((7, 5), [(4,)]), ((7, 5), [(3, 1), (4,)]), ((7, 5, 3), [(6,)]),
                                            ((7, 5, 3), [(2, 2), (2, 2)]), ((7, 5, 3), [(), (2,), (1,)]),
                                            ((7,), [(0,)]), ((2, 0, 3), [(5,)]), ((13,), [(1,)])])
def test_index_take_matches_fancy_indexing(dtype, xshape, ishapes):
    x = rand(xshape, dtype)
    indices = [RNG.integers(-xshape[d], xshape[d], size=s) for d, s in enumerate(ishapes)]  # negatives wrap
    for xt, xv in layouts(x):
        check(C.index_take(xt, [I(i) for i in indices]), xv[tuple(indices)])
    # stride-0 (broadcast) index tensor
    i0 = C.expand(I(indices[0][..., :1]) if indices[0].ndim else I(indices[0]), list(indices[0].shape))
    want = x[(np.broadcast_to(indices[0][..., :1] if indices[0].ndim else indices[0], indices[0].shape),)
             + tuple(indices[1:])]
    check(C.index_take(T(x), [i0] + [I(i) for i in indices[1:]]), want)


def test_index_take_duplicates_and_no_indices():
    x = np.arange(12.0).reshape(4, 3)
    idx = np.array([3, 3, 0, -4, 3])
    check(C.index_take(T(x), [I(idx)]), x[idx])
    check(C.index_take(C.transpose(T(x), 0, 1), [I([2, 2, -1])]), x.T[[2, 2, -1]])
    check(C.index_take(T(x), []), x)


def test_index_take_errors():
    x = T(np.zeros((3, 5)))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 5"):
        C.index_take(x, [I([0]), I([5])])
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 0 with size 3"):
        C.index_take(x, [I([-4])])
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2 .got 3."):
        C.index_take(x, [I([0])] * 3)
    with pytest.raises(ValueError, match=r"could not be broadcast together with shapes \(2,\), \(3,\)"):
        C.index_take(x, [I([0, 1]), I([0, 1, 2])])
    with pytest.raises(TypeError, match="int64, got float64"):
        C.index_take(x, [T(np.array([0.0]))])
    with pytest.raises(IndexError, match="index 0 is out of bounds for dimension 1 with size 0"):
        C.index_take(T(np.zeros((2, 0))), [I([0]), I([0])])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("xshape,ishapes", [((7, 5), [(40,)]), ((7, 5), [(9, 1), (6,)]), ((6, 5, 3), [(50,)]),
                                            ((4, 5, 3), [(), (7,)]), ((17,), [(100,)]), ((3, 2), [(0,)])])
def test_index_put_accumulate_matches_add_at(dtype, xshape, ishapes):
    x = rand(xshape, dtype)
    indices = [RNG.integers(-xshape[d], xshape[d], size=s) for d, s in enumerate(ishapes)]  # many duplicates
    bshape = np.broadcast_shapes(*[i.shape for i in indices])
    values = rand(bshape + xshape[len(indices):], dtype)
    want = x.copy()
    np.add.at(want, tuple(indices), values)
    for xt, _ in layouts(x, broadcast=False):
        v0 = xt.version
        out = C.index_put_(xt, [I(i) for i in indices], T(values), accumulate=True)
        assert out.data_ptr == xt.data_ptr and xt.version == v0 + 1
        # Sums run in index order like np.add.at, so even float32 matches exactly.
        check(xt, want)


def test_index_put_assign_broadcasts_values():
    x = np.zeros((5, 4, 3))
    rows, cols = np.array([[0], [4]]), np.array([1, 3])
    for values in [np.float64(2.5), np.arange(3.0), np.arange(12.0).reshape(2, 2, 3), np.array([[7.0], [8.0]])[..., None]]:
        want = x.copy()
        want[rows, cols] = values
        for xt, _ in layouts(x, broadcast=False):
            C.index_put_(xt, [I(rows), I(cols)], T(values))
            check(C.contiguous(xt), want)
    # Python scalars and other dtypes are converted to x's dtype
    xt = T(np.zeros(4, np.int64))
    C.index_put_(xt, [I([1, -1])], 3.9)
    check(xt, np.array([0, 3, 0, 3]))
    xt = T(np.zeros(4))
    C.index_put_(xt, [I([2])], T(np.array([True])))
    check(xt, np.array([0.0, 0.0, 1.0, 0.0]))
    xt = T(np.zeros(3, bool))
    C.index_put_(xt, [I([0, 0, 2])], True, accumulate=True)
    check(xt, np.array([True, False, True]))


def test_index_put_last_duplicate_wins():
    x = T(np.zeros((3, 2)))
    C.index_put_(x, [I([1, 1, 1])], T(np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])))
    check(x, np.array([[0.0, 0.0], [3.0, 3.0], [0.0, 0.0]]))


def test_index_put_deterministic_over_threads():
    x = np.zeros((10, 20000), np.float32)
    idx = RNG.integers(0, 10, size=300)
    values = (RNG.standard_normal((300, 20000)) * 100).astype(np.float32)
    want = x.copy()
    np.add.at(want, idx, values)
    n = C.get_num_threads()
    try:
        for threads in (1, 2, 3):
            C.set_num_threads(threads)
            xt = T(x.copy())
            C.index_put_(xt, [I(idx)], T(values), accumulate=True)
            check(xt, want)
    finally:
        C.set_num_threads(n)


def test_index_put_errors_leave_x_unchanged():
    x = T(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        C.index_put_(x, [I([0, 3])], 1.0)
    with pytest.raises(ValueError, match=r"values of shape \(3,\) cannot be broadcast to the indexed shape \(2, 4\)"):
        C.index_put_(x, [I([0, 1])], T(np.ones(3)))
    with pytest.raises(RuntimeError, match="single memory location"):
        C.index_put_(C.expand(T(np.zeros((1, 4))), [3, 4]), [I([0])], 1.0)
    with pytest.raises(TypeError, match="expected a number for values"):
        C.index_put_(x, [I([0])], "one")
    assert x.version == 0 and not x.numpy().any()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_index_take_put_property(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    k = data.draw(st.integers(1, ndim))
    ishape = tuple(data.draw(st.lists(st.integers(0, 4), min_size=0, max_size=2)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    x = rng.standard_normal(shape)
    indices = [rng.integers(-shape[d], shape[d], size=ishape) for d in range(k)]
    check(C.index_take(T(x), [I(i) for i in indices]), x[tuple(indices)])
    values = rng.standard_normal(ishape + shape[k:])
    want = x.copy()
    np.add.at(want, tuple(indices), values)
    xt = T(x.copy())
    C.index_put_(xt, [I(i) for i in indices], T(values), accumulate=True)
    np.testing.assert_allclose(xt.numpy(), want, rtol=1e-12, atol=1e-12)


def test_index_take_thread_count_independent():
    x = RNG.standard_normal((1000, 64)).astype(np.float32)
    idx = RNG.integers(-1000, 1000, size=5000)
    gidx = RNG.integers(0, 64, size=(1000, 64))
    n = C.get_num_threads()
    try:
        for threads in (1, 2):
            C.set_num_threads(threads)
            check(C.index_take(T(x), [I(idx)]), x[idx])
            check(C.gather(T(x), 1, I(gidx)), np.take_along_axis(x, gidx, 1))
    finally:
        C.set_num_threads(n)


# ---------------------------------------------------------------- nonzero


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (3, 5), (2, 3, 4), (4, 0, 2)])
def test_nonzero_matches_argwhere(dtype, shape):
    x = rand(shape, dtype)
    if dtype == "int64":
        x = x * (RNG.random(shape) < 0.5)
    for xt, xv in layouts(x):
        check(C.nonzero(xt), np.argwhere(xv).astype(np.int64))


def test_nonzero_special_values_and_many_chunks():
    check(C.nonzero(T(np.array([0.0, -0.0, np.nan, np.inf, 1e-45], np.float32))), np.array([[2], [3], [4]]))
    x = RNG.random((3, 131075)) < 0.01  # crosses the kernel's fixed chunks
    n = C.get_num_threads()
    try:
        for threads in (1, 2):
            C.set_num_threads(threads)
            check(C.nonzero(T(x)), np.argwhere(x))
            check(C.nonzero(C.transpose(T(x), 0, 1)), np.argwhere(x.T))
    finally:
        C.set_num_threads(n)


# ---------------------------------------------------------------- tril / triu


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (7, 3), (1, 1), (0, 3), (3, 0), (2, 3, 5), (2, 0, 4, 4)])
@pytest.mark.parametrize("diagonal", [0, 1, -1, 2, -3, 100, -100, 2**62, -(2**62)])
def test_tril_triu_match_numpy(dtype, shape, diagonal):
    x = rand(shape, dtype)
    for xt, xv in layouts(x):
        check(C.tril(xt, diagonal), np.tril(xv, diagonal))
        check(C.triu(xt, diagonal), np.triu(xv, diagonal))


def test_tril_default_and_errors():
    x = rand((5, 5), "float32")
    check(C.tril(T(x)), np.tril(x))
    check(C.triu(T(x)), np.triu(x))
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(3,\)"):
        C.tril(T(np.ones(3)))


# ---------------------------------------------------------------- one_hot


@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 4), (0,)])
@pytest.mark.parametrize("num_classes", [-1, 10])
def test_one_hot_matches_eye(shape, num_classes):
    idx = RNG.integers(0, 10, size=shape)
    if num_classes == -1 and idx.size == 0:
        return
    for it, iv in layouts(idx):
        c = iv.max() + 1 if num_classes == -1 else num_classes
        check(C.one_hot(it, num_classes), np.eye(c, dtype=np.int64)[iv])


def test_one_hot_errors():
    with pytest.raises(ValueError, match="non-negative, got -1"):
        C.one_hot(I([0, -1]), 3)
    with pytest.raises(ValueError, match="non-negative, got -2"):
        C.one_hot(I([-2]))
    with pytest.raises(ValueError, match=r"smaller than num_classes \(3\), got 3"):
        C.one_hot(I([0, 3]), 3)
    with pytest.raises(ValueError, match="empty tensor"):
        C.one_hot(I(np.zeros(0)))
    with pytest.raises(TypeError, match="int64 tensor of class values, got float32"):
        C.one_hot(T(np.zeros(2, np.float32)), 3)
    check(C.one_hot(I(np.zeros((0, 2))), 4), np.zeros((0, 2, 4), np.int64))


def test_one_hot_like_torch():
    torch = pytest.importorskip("torch")
    idx = RNG.integers(0, 6, size=(4, 5))
    want = torch.nn.functional.one_hot(torch.from_numpy(idx)).numpy()
    check(C.one_hot(I(idx)), want)


# ---------------------------------------------------------------- arange / linspace / eye


@pytest.mark.parametrize("args", [(5,), (0,), (2, 9), (9, 2, -2), (-3, 4, 3), (1, 2, 5)])
def test_arange_ints_give_int64(args):
    check(C.arange(*args), np.arange(*args, dtype=np.int64))


@pytest.mark.parametrize("args", [(0.0, 1.0, 0.1), (0, 1, 0.25), (-1.5, 2.5), (1.0, -1.0, -0.3), (0.5,), (0, 10, 3.3)])
@pytest.mark.parametrize("dtype", [None, "float32", "float64"])
def test_arange_floats_like_torch(args, dtype):
    torch = pytest.importorskip("torch")
    got = C.arange(*args, dtype=dtype)
    tdtype = {None: torch.float32, "float32": torch.float32, "float64": torch.float64}[dtype]
    want = torch.arange(*args, dtype=tdtype).numpy()
    assert got.shape == want.shape and got.dtype == str(want.dtype)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got.numpy(), np.arange(*args, dtype=np.float64), rtol=1e-6, atol=1e-6)


def test_arange_int64_dtype_truncates_like_torch():
    torch = pytest.importorskip("torch")
    for args in [(0, 5.5, 1), (0.5, 3), (-2.7, 3.9, 1.5)]:
        check(C.arange(*args, dtype="int64"), torch.arange(*args, dtype=torch.int64).numpy())


def test_arange_accepts_numpy_scalars():
    check(C.arange(np.int64(2), np.int64(5)), np.arange(2, 5))
    check(C.arange(np.float32(0.5), 2), np.arange(0.5, 2, dtype=np.float32))


def test_arange_errors():
    with pytest.raises(RuntimeError, match="step must be nonzero"):  # PyTorch's kinds
        C.arange(0, 5, 0)
    with pytest.raises(ValueError, match="step must be nonzero"):
        C.arange(0, 5, 0.5, dtype="int64")
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        C.arange(5, 0, 1)
    with pytest.raises(RuntimeError, match="unsupported range"):
        C.arange(0, float("inf"))
    with pytest.raises(TypeError, match="expected a number for end"):
        C.arange(0, "5")
    with pytest.raises(TypeError, match="bool"):
        C.arange(3, dtype="bool")


@pytest.mark.parametrize("start,end", [(0, 1), (-3.5, 7.25), (10, -10), (1e-3, 1e3), (2, 2)])
@pytest.mark.parametrize("steps", [0, 1, 2, 3, 7, 100, 1001])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_like_torch(start, end, steps, dtype):
    torch = pytest.importorskip("torch")
    got = C.linspace(start, end, steps, dtype=dtype).numpy()
    want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    assert got.shape == want.shape and got.dtype == want.dtype
    # PyTorch's vectorised path rounds a little differently inside; the ends are exact.
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * max(abs(start), abs(end)))
    np.testing.assert_allclose(got, np.linspace(start, end, steps), rtol=1e-6, atol=1e-6 * max(abs(start), abs(end)))
    if steps >= 1:
        assert got[0] == np.array(start, dtype) and (steps == 1 or got[-1] == np.array(end, dtype))


def test_linspace_int64_like_torch_and_errors():
    torch = pytest.importorskip("torch")
    for start, end, steps in [(-3, 7, 4), (0, 10, 7), (5, -5, 6)]:
        check(C.linspace(start, end, steps, dtype="int64"),
              torch.linspace(start, end, steps, dtype=torch.int64).numpy())
    with pytest.raises(ValueError, match="non-negative, got -1"):
        C.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="unknown dtype"):
        C.linspace(0, 1, 3, dtype="int4")


@pytest.mark.parametrize("n,m", [(0, None), (1, None), (4, None), (3, 5), (5, 3), (2, 0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_eye_matches_numpy(n, m, dtype):
    check(C.eye(n, m, dtype=dtype), np.eye(n, m, dtype=dtype))


def test_eye_defaults_and_errors():
    check(C.eye(3), np.eye(3, dtype=np.float32))
    with pytest.raises(ValueError, match="non-negative, got n=-1"):
        C.eye(-1)


def test_sizes_that_overflow_are_refused():
    with pytest.raises(ValueError, match=r"eye: a result of shape \(4294967296, 4294967296\) is too large"):
        C.eye(2**32, 2**32)
    with pytest.raises(ValueError, match="linspace: a result .* is too large"):
        C.linspace(0, 1, 2**61)
    with pytest.raises(ValueError, match="arange: a result .* is too large"):
        C.arange(0, 2**61, dtype="float64")
    with pytest.raises(ValueError, match="one_hot: a result .* is too large"):
        C.one_hot(I([0, 1, 2]), 2**62)
    many_zeros = C.expand(I([0]), [2**31])  # stride 0: no memory behind the size
    col, row = C.unsqueeze(many_zeros, 1), C.unsqueeze(many_zeros, 0)
    with pytest.raises(ValueError, match=r"index_take: a result of shape \(2147483648, 2147483648\) is too large"):
        C.index_take(T(np.zeros((1, 1))), [col, row])


# ---------------------------------------------------------------- devices


def test_cuda_tensors_run_on_the_device():
    # the CUDA side of the family is tested in test_index_device.py; here: results stay there
    if not C.cuda_is_available():
        pytest.skip("no CUDA device")
    x = C.to_device(T(np.ones((2, 2), np.float32)), "cuda")
    assert C.gather(x, 0, C.to_device(I([[0]]), "cuda")).device == "cuda:0"
    assert C.cat([x, x], 0).device == "cuda:0"
    with pytest.raises(RuntimeError, match="gather: expected all tensors on the same device"):
        C.gather(x, 0, I([[0]]))
