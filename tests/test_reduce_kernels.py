"""Reductions (_C.sum, mean, prod, amax, amin, max_dim, min_dim, argmax, argmin, var, std,
logsumexp, norm, all, any) against NumPy float64 references: every dims subset with and without
keepdim, contiguous / transposed / sliced / broadcast (stride-0) inputs, edge sizes, the
chunked and column loops, thread-count determinism, every ISA the machine runs, error paths."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pyengine import _C

RNG = np.random.default_rng(1234)
DTYPES = ["float32", "float64", "int64", "bool"]
FLOATS = ["float32", "float64"]


def make(shape, dtype, low=-2.0, high=2.0):
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if dtype == "int64":
        return RNG.integers(-5, 6, size=shape).astype(np.int64)
    return RNG.uniform(low, high, size=shape).astype(dtype)


def layouts(a):
    """(name, view) pairs holding a's values (or, for 'broadcast', a stride-0 view)."""
    out = [("contiguous", a)]
    if a.ndim >= 2:
        out.append(("transposed", np.ascontiguousarray(a.T).T))
    if a.ndim >= 1:
        big = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
        sl = tuple(slice(1, None, 2) for _ in a.shape)
        big[sl] = a
        out.append(("sliced", big[sl]))
        col = a[..., :1]  # stride 0 along the last dim (writeable, which from_numpy needs)
        out.append(("broadcast", np.lib.stride_tricks.as_strided(col, a.shape, col.strides[:-1] + (0,))))
    return out


def all_dims(ndim):
    """None, and every non-empty subset of dims (some spelled negative)."""
    yield None
    for r in range(1, ndim + 1):
        for combo in itertools.combinations(range(ndim), r):
            yield list(combo)
            yield [d - ndim for d in combo][::-1]


def axis(dims):
    return None if dims is None else tuple(dims)


def np_logsumexp(x, ax, keepdims):
    m = np.max(x, axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=ax) if ax is not None else r.reshape(())


def np_norm(x, p, ax, keepdims):
    ax_ = x
    a = np.abs(ax_)
    if p == math.inf:
        return np.max(a, axis=ax, keepdims=keepdims)
    if p == -math.inf:
        return np.min(a, axis=ax, keepdims=keepdims)
    if p == 0:
        return np.sum(a != 0, axis=ax, keepdims=keepdims).astype(np.float64)
    with np.errstate(divide="ignore"):
        return np.sum(a ** p, axis=ax, keepdims=keepdims) ** (1.0 / p)


# (name, call(t, dims, keepdim), reference(x64, axis, keepdims), dtypes it takes)
CASES = [
    ("sum", lambda t, d, k: _C.sum(t, d, k), lambda x, a, k: np.sum(x, axis=a, keepdims=k), DTYPES),
    ("prod", lambda t, d, k: _C.prod(t, d, k), lambda x, a, k: np.prod(x, axis=a, keepdims=k), DTYPES),
    ("mean", lambda t, d, k: _C.mean(t, d, k), lambda x, a, k: np.mean(x, axis=a, keepdims=k), FLOATS),
    ("amax", lambda t, d, k: _C.amax(t, d, k), lambda x, a, k: np.max(x, axis=a, keepdims=k), DTYPES),
    ("amin", lambda t, d, k: _C.amin(t, d, k), lambda x, a, k: np.min(x, axis=a, keepdims=k), DTYPES),
    ("var", lambda t, d, k: _C.var(t, d, 1, k), lambda x, a, k: np.var(x, axis=a, ddof=1, keepdims=k), FLOATS),
    ("var0", lambda t, d, k: _C.var(t, d, 0, k), lambda x, a, k: np.var(x, axis=a, keepdims=k), FLOATS),
    ("std", lambda t, d, k: _C.std(t, d, 1, k), lambda x, a, k: np.std(x, axis=a, ddof=1, keepdims=k), FLOATS),
    ("logsumexp", lambda t, d, k: _C.logsumexp(t, d, k), np_logsumexp, FLOATS),
    ("all", lambda t, d, k: _C.all(t, d, k), lambda x, a, k: np.all(x, axis=a, keepdims=k), DTYPES),
    ("any", lambda t, d, k: _C.any(t, d, k), lambda x, a, k: np.any(x, axis=a, keepdims=k), DTYPES),
] + [
    (f"norm{p}", (lambda p: lambda t, d, k: _C.norm(t, p, d, k))(p),
     (lambda p: lambda x, a, k: np_norm(x, p, a, k))(p), FLOATS)
    for p in (2.0, 1.0, 0.0, math.inf, -math.inf, 3.0, 0.5, -1.5)
]

# Result dtypes (PyTorch's): sum/prod of bool/int64 are int64; all/any are bool.
def expected_dtype(name, dtype):
    if name.startswith("norm") or name in ("mean", "var", "var0", "std", "logsumexp"):
        return dtype
    if name in ("sum", "prod"):
        return dtype if dtype in FLOATS else "int64"
    if name in ("all", "any"):
        return "bool"
    return dtype  # amax, amin


def check(name, got, want, dtype):
    assert got.dtype == expected_dtype(name.split()[0], dtype), (name, got.dtype)
    g = got.numpy()
    assert g.shape == np.shape(want), (name, g.shape, np.shape(want))
    if got.dtype in FLOATS:
        rtol = 2e-5 if got.dtype == "float32" else 1e-12
        np.testing.assert_allclose(g, want, rtol=rtol, atol=rtol * 1e-2, equal_nan=True, err_msg=name)
    else:
        np.testing.assert_array_equal(g, want, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("shape", [(3, 5, 7), (13,), (2, 1, 3)])
def test_all_dims_layouts_dtypes(case, shape):
    name, call, ref, dtypes = case
    for dtype in dtypes:
        low = 0.5 if name == "prod" else -2.0
        a = make(shape, dtype, low=low, high=1.5 if name == "prod" else 2.0)
        for lname, v in layouts(a):
            t = _C.from_numpy(v)
            x64 = v.astype(np.float64) if dtype in FLOATS else v
            for dims in all_dims(len(shape)):
                for keepdim in (False, True):
                    want = ref(x64, axis(dims), keepdim)
                    check(f"{name} {dtype} {lname} dims={dims} keepdim={keepdim}", call(t, dims, keepdim), want, dtype)


def test_dims_forms():
    a = make((3, 4), "float64")
    t = _C.from_numpy(a)
    np.testing.assert_allclose(_C.sum(t, 1).numpy(), a.sum(1))          # a bare int
    np.testing.assert_allclose(_C.sum(t, np.int64(-1)).numpy(), a.sum(1))
    np.testing.assert_allclose(_C.sum(t, [np.int64(0)]).numpy(), a.sum(0))
    np.testing.assert_allclose(_C.sum(t, (0, 1)).numpy(), a.sum())     # a tuple
    np.testing.assert_allclose(_C.sum(t, []).numpy(), a.sum())         # empty list: all dims (PyTorch)
    assert _C.sum(t, [], keepdim=True).shape == (1, 1)


def test_zero_dim_tensor():
    t = _C.from_numpy(np.array(2.5))
    assert _C.sum(t).numpy() == 2.5
    assert _C.sum(t, [0]).shape == () and _C.sum(t, [-1], keepdim=True).shape == ()
    assert _C.amax(t, [0]).numpy() == 2.5
    v, i = _C.max_dim(t, 0)
    assert v.numpy() == 2.5 and i.numpy() == 0
    assert _C.argmax(t).numpy() == 0
    with pytest.raises(IndexError, match=r"range of \[-1, 0\]"):
        _C.sum(t, [1])


EMPTY_RESULTS = [  # (op, value over an empty dim) as PyTorch gives
    (lambda t: _C.sum(t, [0]), 0.0),
    (lambda t: _C.prod(t, [0]), 1.0),
    (lambda t: _C.mean(t, [0]), math.nan),
    (lambda t: _C.var(t, [0]), math.nan),
    (lambda t: _C.std(t, [0]), math.nan),
    (lambda t: _C.logsumexp(t, [0]), -math.inf),
    (lambda t: _C.norm(t, 2.0, [0]), 0.0),
    (lambda t: _C.norm(t, 0.0, [0]), 0.0),
    (lambda t: _C.all(t, [0]), True),
    (lambda t: _C.any(t, [0]), False),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("i", range(len(EMPTY_RESULTS)))
def test_empty_reduction_identity(i, dtype):
    op, value = EMPTY_RESULTS[i]
    t = _C.from_numpy(np.zeros((0, 3), dtype=dtype))
    got = op(t).numpy()
    assert got.shape == (3,)
    np.testing.assert_array_equal(got, np.full(3, value))
    # Reducing the non-empty dim of an empty tensor gives an empty result.
    assert _C.sum(t, [1]).shape == (0,)
    assert _C.amax(t, [1]).shape == (0,)


@pytest.mark.parametrize("fn", [lambda t: _C.amax(t, [0]), lambda t: _C.amin(t, None),
                                lambda t: _C.max_dim(t, 0), lambda t: _C.min_dim(t, -2),
                                lambda t: _C.argmax(t), lambda t: _C.argmin(t, 0)])
def test_no_identity_raises_index_error_naming_shape(fn):
    t = _C.from_numpy(np.zeros((0, 3), dtype=np.float32))
    with pytest.raises(IndexError, match=r"\(0, 3\)"):
        fn(t)


def test_norm_inf_of_empty_raises():
    t = _C.from_numpy(np.zeros((0, 3), dtype=np.float32))
    for p in (math.inf, -math.inf):
        with pytest.raises(RuntimeError, match=r"size 0 .*\(0, 3\)"):
            _C.norm(t, p, [0])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("shape", [(1,), (2,), (13, 7), (7, 13), (3, 4, 5), (20000, 3), (3, 20000)])
def test_max_min_dim_and_argmax_first_occurrence(shape, dtype):
    # Few distinct values: many ties, which must resolve to the FIRST index, also across
    # lanes and chunks (the last two shapes run the chunked column and row loops).
    a = RNG.integers(0, 3, size=shape).astype(dtype)
    t = _C.from_numpy(a)
    for dim in range(-len(shape), len(shape)):
        for keepdim in (False, True):
            want_max = a.argmax(dim, keepdims=keepdim)
            want_min = a.argmin(dim, keepdims=keepdim)
            v, i = _C.max_dim(t, dim, keepdim)
            assert i.dtype == "int64" and v.dtype == dtype
            np.testing.assert_array_equal(i.numpy(), want_max)
            np.testing.assert_array_equal(v.numpy(), a.max(dim, keepdims=keepdim))
            v, i = _C.min_dim(t, dim, keepdim)
            np.testing.assert_array_equal(i.numpy(), want_min)
            np.testing.assert_array_equal(v.numpy(), a.min(dim, keepdims=keepdim))
            if dtype != "bool":
                np.testing.assert_array_equal(_C.argmax(t, dim, keepdim).numpy(), want_max)
                np.testing.assert_array_equal(_C.argmin(t, dim, keepdim).numpy(), want_min)
    if dtype != "bool":
        assert _C.argmax(t).numpy() == a.argmax()   # over the flattened tensor
        assert _C.argmin(t).numpy() == a.argmin()
        assert _C.argmax(t, None, True).shape == (1,) * len(shape)


@pytest.mark.parametrize("n", [5, 37, 70001])
def test_nan_propagates_in_max_min(n):
    for pos in (0, n // 2, n - 1):
        a = RNG.standard_normal(n)
        a[pos] = np.nan
        if n > 10:
            a[pos + 1 if pos + 1 < n else 0] = np.nan  # a second NaN: the first one's index wins
        t = _C.from_numpy(a)
        assert np.isnan(_C.amax(t).numpy()) and np.isnan(_C.amin(t).numpy())
        v, i = _C.max_dim(t, 0)
        assert np.isnan(v.numpy()) and i.numpy() == np.argmax(a)
        assert _C.argmin(t).numpy() == np.argmin(a)
        assert np.isnan(_C.norm(t, math.inf).numpy())
    # A column reduction (the column loop) propagates NaN too.
    b = RNG.standard_normal((50, 9))
    b[17, 4] = np.nan
    got = _C.amax(_C.from_numpy(b), [0]).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(b.max(0)))


def test_var_correction_at_least_n():
    t = _C.from_numpy(np.array([1.0, 2.0]))
    assert _C.var(t, None, 2).numpy() == math.inf
    assert _C.var(t, None, 3).numpy() == math.inf
    assert np.isnan(_C.var(_C.from_numpy(np.array([1.0]))).numpy())        # 0 / 0
    assert np.isnan(_C.var(_C.from_numpy(np.array([3.0, 3.0])), None, 2).numpy())
    np.testing.assert_allclose(_C.var(t, None, 0.5).numpy(), 0.5 / 1.5)     # fractional correction


def test_logsumexp_stability_and_infinities():
    big = np.array([1000.0, 1000.0, -1000.0])
    np.testing.assert_allclose(_C.logsumexp(_C.from_numpy(big)).numpy(), 1000 + math.log(2))
    f = lambda v: _C.logsumexp(_C.from_numpy(np.array(v))).numpy()
    assert f([-math.inf] * 3) == -math.inf
    assert f([math.inf, 1.0]) == math.inf
    assert f([math.inf, math.inf]) == math.inf
    assert f([-math.inf, math.inf]) == math.inf
    assert np.isnan(f([math.nan, 1.0]))
    assert f([-math.inf, 0.0]) == 0.0


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_dtype_rules(dtype):
    a = make((4, 3), dtype)
    t = _C.from_numpy(a)
    assert _C.sum(t).dtype == "int64" and _C.sum(t).numpy() == a.sum()
    assert _C.prod(t, [0]).dtype == "int64"
    assert _C.amax(t).dtype == dtype and _C.all(t).dtype == "bool"
    # logsumexp computes integers in float32 (as PyTorch).
    lse = _C.logsumexp(t, [1])
    assert lse.dtype == "float32"
    np.testing.assert_allclose(lse.numpy(), np_logsumexp(a.astype(np.float64), 1, False), rtol=1e-6)
    # mean takes a dtype; without one it raises like PyTorch, but as a TypeError.
    np.testing.assert_allclose(_C.mean(t, None, False, "float32").numpy(), a.mean(), rtol=1e-6)
    np.testing.assert_allclose(_C.sum(t, [0], dtype="float64").numpy(), a.sum(0).astype(np.float64))
    for fn, msg in [(lambda: _C.mean(t), "mean.*floating.*" + dtype),
                    (lambda: _C.var(t), "var.*floating.*" + dtype),
                    (lambda: _C.std(t, [0]), "std.*floating"),
                    (lambda: _C.norm(t), "norm.*floating")]:
        with pytest.raises(TypeError, match=msg):
            fn()
    if dtype == "bool":
        with pytest.raises(TypeError, match="bool"):
            _C.argmax(t)
        with pytest.raises(TypeError, match="bool"):
            _C.argmin(t, 0)


def test_sum_dtype_argument():
    a = make((5, 6), "float32")
    t = _C.from_numpy(a)
    s = _C.sum(t, None, False, "float64")
    assert s.dtype == "float64"
    np.testing.assert_allclose(s.numpy(), a.astype(np.float64).sum(), rtol=1e-12)
    assert _C.sum(t, None, False, "int64").dtype == "int64"
    with pytest.raises(TypeError, match="dtype"):
        _C.sum(t, None, False, "bool")
    with pytest.raises(TypeError, match="unknown dtype"):
        _C.sum(t, None, False, "float8")


def test_error_paths():
    t = _C.from_numpy(make((2, 3), "float32"))
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        _C.sum(t, [2])
    with pytest.raises(IndexError, match=r"got -3"):
        _C.amax(t, [-3])
    with pytest.raises(IndexError, match="out of range"):
        _C.max_dim(t, 5)
    with pytest.raises(IndexError, match="out of range"):
        _C.argmax(t, -3)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        _C.sum(t, [0, -2])
    with pytest.raises(RuntimeError, match="multiple times"):
        _C.var(t, [1, 1])
    with pytest.raises(TypeError, match="dims"):
        _C.sum(t, "0")
    with pytest.raises(ValueError, match="nan"):
        _C.norm(t, math.nan)


# ---------------------------------------------------------------------------------------
# Accuracy, large sizes, loops, threads, ISAs
# ---------------------------------------------------------------------------------------

def test_float32_sum_accuracy_1e6():
    a = (RNG.random(1_000_000) * 10 + 1000).astype(np.float32)
    want = a.astype(np.float64).sum()
    t = _C.from_numpy(a)
    np.testing.assert_allclose(_C.sum(t).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(_C.mean(t).numpy(), want / a.size, rtol=1e-6)
    # var with a large mean: no catastrophic cancellation.
    np.testing.assert_allclose(_C.var(t).numpy(), a.astype(np.float64).var(ddof=1), rtol=1e-5)
    # Columns: 1000 rows of 1000 (the column loop), and the row loop over the transpose.
    m = a.reshape(1000, 1000)
    tm = _C.from_numpy(m)
    np.testing.assert_allclose(_C.sum(tm, [0]).numpy(), m.astype(np.float64).sum(0), rtol=1e-6)
    np.testing.assert_allclose(_C.sum(tm, [1]).numpy(), m.astype(np.float64).sum(1), rtol=1e-6)
    np.testing.assert_allclose(_C.sum(_C.from_numpy(m.T), [1]).numpy(), m.astype(np.float64).sum(0), rtol=1e-6)


@pytest.mark.parametrize("shape,dims", [((70001,), None), ((3, 40000), [1]), ((40000, 3), [0]),
                                        ((20000, 70), [0]), ((9, 9000, 2), [0, 1]), ((2, 9000, 5), [1])])
def test_chunked_loops_match_numpy(shape, dims):
    a = RNG.standard_normal(shape)
    t = _C.from_numpy(a)
    ax = axis(dims)
    np.testing.assert_allclose(_C.sum(t, dims).numpy(), a.sum(ax), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(_C.var(t, dims).numpy(), a.var(ax, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(_C.logsumexp(t, dims).numpy(), np_logsumexp(a, ax, False), rtol=1e-10)
    np.testing.assert_allclose(_C.norm(t, 3.0, dims).numpy(), np_norm(a, 3.0, ax, False), rtol=1e-10)
    np.testing.assert_array_equal(_C.amin(t, dims).numpy(), a.min(ax))
    np.testing.assert_array_equal(_C.any(t, dims).numpy(), a.any(ax))


def test_results_independent_of_thread_count():
    before = _C.get_num_threads()
    a = RNG.standard_normal(1_000_000).astype(np.float32)
    views = [(a, None), (a.reshape(1000, 1000), [0]), (a.reshape(1000, 1000), [1]),
             (a.reshape(10, 100000), [1]), (a.reshape(100000, 10), [0]), (a.reshape(100, 100, 100), [0, 2])]
    ops = [lambda t, d: _C.sum(t, d), lambda t, d: _C.var(t, d), lambda t, d: _C.logsumexp(t, d),
           lambda t, d: _C.norm(t, 2.0, d), lambda t, d: _C.argmax(t, d[0] if d else None)]
    try:
        results = []
        for threads in (1, 2):
            _C.set_num_threads(threads)
            results.append([op(_C.from_numpy(v), d).numpy() for v, d in views for op in ops])
        for r1, r2 in zip(*results):
            np.testing.assert_array_equal(r1, r2)
    finally:
        _C.set_num_threads(before)


def test_every_isa_gives_the_same_answers():
    best = _C.best_isa()
    isas = ["generic", "avx2", "avx512"][: ["generic", "avx2", "avx512"].index(best) + 1]
    a = RNG.standard_normal((300, 301))
    try:
        for isa in isas:
            _C.set_isa(isa)
            t = _C.from_numpy(a)
            np.testing.assert_allclose(_C.sum(t, [1]).numpy(), a.sum(1), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(_C.std(t, [0]).numpy(), a.std(0, ddof=1), rtol=1e-12)
            np.testing.assert_array_equal(_C.argmax(t, 1).numpy(), a.argmax(1))
    finally:
        _C.set_isa(best)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=4), data=st.data())
def test_property_sum_amax_any(shape, data):
    a = RNG.standard_normal(shape)
    nd = len(shape)
    dims = data.draw(st.none() | st.lists(st.integers(0, max(nd - 1, 0)), unique=True, max_size=nd))
    if nd == 0 and dims:
        dims = [0]
    keepdim = data.draw(st.booleans())
    t = _C.from_numpy(a)
    ax = None if not dims or nd == 0 else tuple(dims)
    np.testing.assert_allclose(_C.sum(t, dims, keepdim).numpy(), np.sum(a, axis=ax, keepdims=keepdim),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(_C.any(t, dims, keepdim).numpy(), np.any(a, axis=ax, keepdims=keepdim))
    reduced = [shape[d] for d in (range(nd) if ax is None else ax)]
    if 0 in reduced:
        with pytest.raises(IndexError):
            _C.amax(t, dims, keepdim)
    else:
        np.testing.assert_array_equal(_C.amax(t, dims, keepdim).numpy(), np.max(a, axis=ax, keepdims=keepdim))


def test_matches_torch_on_edge_values():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, -np.inf, 3.0, 0.0], [np.inf, 2.0, -2.0, 0.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    t = _C.from_numpy(a)
    ta = torch.from_numpy(a)
    for p in (0.0, 1.0, 2.0, 3.0, -1.0, math.inf, -math.inf):
        np.testing.assert_allclose(_C.norm(t, p, [1]).numpy(), torch.linalg.vector_norm(ta, p, dim=1).numpy())
    np.testing.assert_allclose(_C.logsumexp(t, [1]).numpy(), torch.logsumexp(ta, 1).numpy())
    np.testing.assert_allclose(_C.logsumexp(t, [0]).numpy(), torch.logsumexp(ta, 0).numpy())
    b = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64)
    for c in (0, 1, 2, 3):
        np.testing.assert_allclose(_C.var(_C.from_numpy(b.numpy()), [1], c).numpy(), b.var(1, correction=c).numpy())


PROPERTY_OPS = [
    (lambda t, d, k: _C.mean(t, d, k), lambda x, a, k: np.mean(x, axis=a, keepdims=k)),
    (lambda t, d, k: _C.amin(t, d, k), lambda x, a, k: np.min(x, axis=a, keepdims=k)),
    (lambda t, d, k: _C.std(t, d, 0, k), lambda x, a, k: np.std(x, axis=a, keepdims=k)),
    (lambda t, d, k: _C.logsumexp(t, d, k), np_logsumexp),
    (lambda t, d, k: _C.norm(t, 1.5, d, k), lambda x, a, k: np_norm(x, 1.5, a, k)),
    (lambda t, d, k: _C.prod(t, d, k), lambda x, a, k: np.prod(x, axis=a, keepdims=k)),
]


@settings(max_examples=80, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), data=st.data())
def test_property_permuted_and_sliced_views(shape, data):
    nd = len(shape)
    perm = data.draw(st.permutations(range(nd)))
    step = data.draw(st.integers(1, 3))
    base = RNG.uniform(0.5, 1.5, size=[s * step for s in shape])
    v = base[tuple(slice(None, None, step) for _ in shape)].transpose(perm)  # strided, permuted
    dims = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                              unique_by=lambda d: d % nd))
    keepdim = data.draw(st.booleans())
    call, ref = data.draw(st.sampled_from(PROPERTY_OPS))
    t = _C.from_numpy(v)
    ax = tuple(d % nd for d in dims)
    np.testing.assert_allclose(call(t, dims, keepdim).numpy(), ref(v, ax, keepdim), rtol=1e-10, atol=1e-12)
    d0 = dims[0]
    vals, idx = _C.max_dim(t, d0, keepdim)
    np.testing.assert_array_equal(vals.numpy(), np.max(v, axis=d0, keepdims=keepdim))
    np.testing.assert_array_equal(idx.numpy(), np.argmax(v, axis=d0, keepdims=keepdim))
