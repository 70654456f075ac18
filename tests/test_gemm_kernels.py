"""GEMM kernels and the linalg ops (matmul, bmm, gemm_) against NumPy.

Every ISA build this CPU can run is exercised (generic, avx2, avx512), with shapes around the
micro-tile and block sizes, strided/transposed/broadcast operands, alpha/beta, and 1 vs 2
threads. Tiny cache sizes (a test hook) make small matrices cross every blocking loop.
"""
import contextlib
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyengine import _C

ALL_ISAS = ["generic", "avx2", "avx512"]
ISAS = ALL_ISAS[: ALL_ISAS.index(_C.best_isa()) + 1]
SIZES = [0, 1, 2, 7, 13, 17, 31, 64, 65, 127, 129, 257, 300]
FLOATS = [np.float32, np.float64]


@contextlib.contextmanager
def isa(name):
    old = _C.active_isa()
    _C.set_isa(name)
    try:
        yield
    finally:
        _C.set_isa(old)


@contextlib.contextmanager
def threads(n):
    old = _C.get_num_threads()
    _C.set_num_threads(n)
    try:
        yield
    finally:
        _C.set_num_threads(old)


@contextlib.contextmanager
def tiny_caches():
    """L1 4 KiB, L2 16 KiB, L3 64 KiB: kc = 64, a few columns per B chunk, few rows per A block."""
    _C._set_gemm_cache_sizes(4096, 16384, 65536)
    try:
        yield
    finally:
        _C._set_gemm_cache_sizes()


def T(a):
    return _C.from_numpy(a)


def assert_close(got, a, b, alpha=1.0, beta=0.0, c0=None):
    """got == alpha * a @ b + beta * c0 within the rounding error of a length-K float sum."""
    got = np.asarray(got)
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ref = alpha * np.matmul(a64, b64)
    scale = abs(alpha) * np.matmul(np.abs(a64), np.abs(b64))
    if beta != 0:
        ref = ref + beta * np.asarray(c0, np.float64)
        scale = scale + abs(beta) * np.abs(np.asarray(c0, np.float64))
    k = a64.shape[-1]
    err = np.abs(got.astype(np.float64) - ref)
    bound = 4 * np.finfo(got.dtype).eps * (k + 2) * scale + 1e-300
    assert got.shape == ref.shape
    assert np.all(err <= bound), f"max error {err.max()} (bound {bound.max()})"


def layout(rng, m, n, dtype, kind):
    """An m x n matrix as a view of kind 'c' (contiguous), 't' (transposed) or 's' (sliced)."""
    if kind == "c":
        return rng.standard_normal((m, n)).astype(dtype)
    if kind == "t":
        return rng.standard_normal((n, m)).astype(dtype).T
    return rng.standard_normal((2 * m + 1, 3 * n + 2)).astype(dtype)[1::2, 2::3]


def sampled_shapes(seed, count):
    rng = np.random.default_rng(seed)
    shapes = [tuple(int(x) for x in rng.choice(SIZES, 3)) for _ in range(count)]
    return shapes + [(1, 1, 1), (0, 5, 3), (5, 3, 0), (64, 65, 129), (127, 1, 257), (1, 129, 300)]


@pytest.mark.parametrize("isa_name", ISAS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_gemm_shapes_layouts(isa_name, dtype):
    rng = np.random.default_rng(1)
    with isa(isa_name):
        for idx, (m, n, k) in enumerate(sampled_shapes(ISAS.index(isa_name) * 2 + (dtype == np.float64), 14)):
            ka, kb = "cts"[idx % 3], "cts"[(idx // 3) % 3]
            a, b = layout(rng, m, k, dtype, ka), layout(rng, k, n, dtype, kb)
            got = _C.matmul(T(a), T(b)).numpy()
            assert got.dtype == dtype and got.shape == (m, n)
            assert_close(got, a, b)


@pytest.mark.parametrize("isa_name", ISAS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_gemm_crosses_every_block(isa_name, dtype):
    """Tiny caches: several kc, nb and mb blocks, partial tiles at every edge."""
    rng = np.random.default_rng(2)
    with isa(isa_name), tiny_caches():
        for m, n, k in [(65, 127, 129), (257, 31, 300), (130, 300, 17)]:
            a, b = layout(rng, m, k, dtype, "c"), layout(rng, k, n, dtype, "t")
            c0 = rng.standard_normal((m, n)).astype(dtype)
            c = T(c0.copy())
            _C.gemm_(c, T(a), T(b), alpha=0.5, beta=-2.0)
            assert_close(c.numpy(), a, b, 0.5, -2.0, c0)


@pytest.mark.parametrize("isa_name", ISAS)
def test_long_k_and_wide_n_default_blocking(isa_name):
    """K longer than one kc block and N wider than one B chunk with the real cache sizes."""
    rng = np.random.default_rng(3)
    with isa(isa_name):
        a = rng.standard_normal((40, 1100)).astype(np.float32)
        b = rng.standard_normal((1100, 70)).astype(np.float32)
        assert_close(_C.matmul(T(a), T(b)).numpy(), a, b)
        a = rng.standard_normal((33, 40))
        b = rng.standard_normal((40, 3000))
        assert_close(_C.matmul(T(a), T(b)).numpy(), a, b)


@pytest.mark.parametrize("isa_name", ISAS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_thread_count_does_not_change_results(isa_name, dtype):
    rng = np.random.default_rng(4)
    cases = [(200, 150, 300), (7, 300, 257), (300, 1, 129), (1, 257, 300), (20, 20, 20)]
    with isa(isa_name):
        for m, n, k in cases:
            a, b = layout(rng, m, k, dtype, "c"), layout(rng, k, n, dtype, "s")
            results = []
            for nt in (1, 2):
                with threads(nt):
                    results.append(_C.matmul(T(a), T(b)).numpy())
            # Blocking along K never depends on the thread count: bitwise identical.
            np.testing.assert_array_equal(results[0], results[1])
            assert_close(results[0], a, b)


@pytest.mark.parametrize("isa_name", ISAS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_edge_tile_variants(isa_name, dtype):
    """Every row count up to two tiles (12-row AVX-512 tiles run 4- and 8-row variants on the
    bottom edge, 6-row AVX2 tiles 2- and 4-row ones, 4-row portable tiles 2-row ones) against
    column counts around half and whole tiles (NR is 4 to 32), K long enough for the packed
    path; direct and buffered stores (alpha/beta, a strided C); 1 and 2 threads bitwise equal."""
    rng = np.random.default_rng(16)
    with isa(isa_name):
        for m in range(2, 26):
            n = [2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 48, 49][m % 17]
            k = max(40, 32768 // (m * n) + 1)
            a, b = layout(rng, m, k, dtype, "c"), layout(rng, k, n, dtype, "ct"[m % 2])
            outs = []
            for nt in (1, 2):
                with threads(nt):
                    outs.append(_C.matmul(T(a), T(b)).numpy())
            np.testing.assert_array_equal(outs[0], outs[1])
            assert_close(outs[0], a, b)
            base = layout(rng, m, n, dtype, "cs"[m % 2])  # sliced: C with column stride 3
            c0, c = np.array(base), T(base)
            _C.gemm_(c, T(a), T(b), alpha=-0.5, beta=1.5)
            assert_close(c.numpy(), a, b, -0.5, 1.5, c0)


@pytest.mark.parametrize("isa_name", ISAS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_two_threads_split_by_rows_or_columns(isa_name, dtype):
    """Two threads split C by columns or by rows, with row ranges of equal and unequal block
    counts; tiny caches make several blocks along every loop. Bitwise equal to one thread."""
    rng = np.random.default_rng(17)
    cases = [(100, 300, 129, True),  # column split, several A blocks
             (288, 20, 300, True),  # row split, 6 A blocks per thread
             (300, 20, 300, True),  # row split, 6 and 7 A blocks
             (128, 128, 256, False), (64, 512, 128, False), (784, 256, 128, False)]  # MLP/RNN shapes
    with isa(isa_name):
        for m, n, k, tiny in cases:
            a, b = layout(rng, m, k, dtype, "c"), layout(rng, k, n, dtype, "t")
            outs = []
            for nt in (1, 2):
                with threads(nt), (tiny_caches() if tiny else contextlib.nullcontext()):
                    outs.append(_C.matmul(T(a), T(b)).numpy())
            np.testing.assert_array_equal(outs[0], outs[1])
            assert_close(outs[1], a, b)


@pytest.mark.parametrize("isa_name", ISAS)
def test_broadcast_stride0_operands(isa_name):
    """Operands that repeat one row or column (stride 0) through every path."""
    rng = np.random.default_rng(15)
    with isa(isa_name):
        for dtype, (m, n, k) in itertools.product(FLOATS, [(65, 70, 129), (1, 40, 50), (40, 1, 50), (5, 6, 7)]):
            col, row = rng.standard_normal((m, 1)).astype(dtype), rng.standard_normal((1, n)).astype(dtype)
            a = _C.expand(T(col), [m, k])  # strides (1, 0)
            b = _C.expand(T(row), [k, n])  # strides (0, 1)
            assert a.strides[1] == 0 and b.strides[0] == 0
            assert_close(_C.matmul(a, b).numpy(), np.broadcast_to(col, (m, k)), np.broadcast_to(row, (k, n)))
            full = layout(rng, k, n, dtype, "t")
            assert_close(_C.matmul(a, T(full)).numpy(), np.broadcast_to(col, (m, k)), full)


@pytest.mark.parametrize("isa_name", ISAS)
def test_gemm_alpha_beta_and_strided_outputs(isa_name):
    rng = np.random.default_rng(5)
    with isa(isa_name):
        for dtype, (m, n, k), out_kind in itertools.product(FLOATS, [(3, 4, 5), (65, 66, 67), (1, 70, 80)],
                                                            "cts"):
            a, b = layout(rng, m, k, dtype, "t"), layout(rng, k, n, dtype, "c")
            base = layout(rng, m, n, dtype, out_kind)
            c0 = np.array(base)
            c = T(base)
            v0 = c.version
            ret = _C.gemm_(c, T(a), T(b), alpha=1.5, beta=0.25)
            assert ret.data_ptr == c.data_ptr and c.version > v0
            assert_close(c.numpy(), a, b, 1.5, 0.25, c0)


@pytest.mark.parametrize("isa_name", ISAS)
def test_gemm_beta_zero_ignores_nan_in_c(isa_name):
    rng = np.random.default_rng(6)
    with isa(isa_name):
        for m, n, k in [(2, 3, 4), (70, 80, 90), (1, 50, 60), (50, 1, 60), (5, 5, 0)]:
            a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
            c = T(np.full((m, n), np.nan))
            _C.gemm_(c, T(a), T(b), alpha=2.0, beta=0.0)
            assert not np.isnan(c.numpy()).any()
            assert_close(c.numpy(), a, b, 2.0)


def test_gemm_mixed_dtypes_and_int64():
    rng = np.random.default_rng(7)
    a32, b32 = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    c = T(np.ones((6, 4)))  # float64 output, float32 operands: computed in float64
    _C.gemm_(c, T(a32), T(b32), beta=1.0)
    assert_close(c.numpy(), a32, b32, 1.0, 1.0, np.ones((6, 4)))
    c32 = T(np.zeros((6, 4), np.float32))  # float32 output, a float64 operand: narrowed at the end
    _C.gemm_(c32, T(a32.astype(np.float64)), T(b32))
    np.testing.assert_allclose(c32.numpy(), a32.astype(np.float64) @ b32, rtol=1e-6, atol=1e-6)
    ai, bi = rng.integers(-50, 50, (9, 70)), rng.integers(-50, 50, (70, 11))
    ci = T(np.ones((9, 11), np.int64))
    _C.gemm_(ci, T(ai), T(bi), alpha=3, beta=-1)
    np.testing.assert_array_equal(ci.numpy(), 3 * (ai @ bi) - 1)


def test_gemm_output_aliasing_an_operand():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((40, 40))
    c = T(x.copy())
    _C.gemm_(c, c, T(x), beta=1.0)  # c = c @ x + c, reading the old c
    np.testing.assert_allclose(c.numpy(), x @ x + x, rtol=1e-12, atol=1e-12)


def test_gemm_errors():
    a, b = T(np.ones((2, 3))), T(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"gemm_: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(3 != 4\)"):
        _C.gemm_(T(np.zeros((2, 5))), a, b)
    with pytest.raises(ValueError, match=r"output shape \(3, 3\) does not match the product shape \(2, 5\)"):
        _C.gemm_(T(np.zeros((3, 3))), a, T(np.ones((3, 5))))
    with pytest.raises(ValueError, match="expected 2-D tensors"):
        _C.gemm_(T(np.zeros(2)), a, T(np.ones((3, 1))))
    with pytest.raises(TypeError, match="float64 can't be cast to the output dtype int64"):
        _C.gemm_(T(np.zeros((2, 5), np.int64)), a, T(np.ones((3, 5))))
    with pytest.raises(TypeError, match="bool"):
        _C.gemm_(T(np.zeros((2, 5))), T(np.ones((2, 3), bool)), T(np.ones((3, 5))))
    with pytest.raises(RuntimeError, match="share memory"):
        _C.gemm_(_C.expand(T(np.zeros((1, 5))), [2, 5]), a, T(np.ones((3, 5))))
    with pytest.raises(ValueError, match="integers"):
        _C.gemm_(T(np.zeros((2, 5), np.int64)), T(np.ones((2, 3), np.int64)), T(np.ones((3, 5), np.int64)),
                 alpha=0.5)


@pytest.mark.parametrize("isa_name", ISAS)
def test_matmul_vector_rules(isa_name):
    rng = np.random.default_rng(9)
    with isa(isa_name):
        for dtype in FLOATS:
            v, w = rng.standard_normal(300).astype(dtype), rng.standard_normal(300).astype(dtype)
            m = rng.standard_normal((300, 7)).astype(dtype)
            m2 = rng.standard_normal((7, 300)).astype(dtype)
            batch = rng.standard_normal((2, 3, 300, 5)).astype(dtype)
            cases = [(v, w), (v, m), (m2, v), (v, batch), (batch.transpose(0, 1, 3, 2), v),
                     (v[::2], m[::2]), (v[:0], w[:0])]
            for x, y in cases:
                got = _C.matmul(T(x), T(y)).numpy()
                assert_close(got, x, y)


def test_matmul_batched_broadcast():
    rng = np.random.default_rng(10)
    shapes = [((4, 5, 6), (6, 7)), ((5, 6), (3, 6, 7)), ((2, 1, 5, 6), (3, 6, 7)), ((3, 1, 5, 6), (1, 4, 6, 7)),
              ((0, 5, 6), (6, 7)), ((2, 5, 0), (2, 0, 7)), ((1, 40, 50), (3, 50, 1))]
    for sa, sb in shapes:
        for dtype in FLOATS:
            a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
            got = _C.matmul(T(a), T(b)).numpy()
            ref = np.matmul(a.astype(np.float64), b)
            assert got.shape == ref.shape and got.dtype == dtype
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def test_matmul_folds_and_strided_batches():
    """A stack times one matrix folds into one tall GEMM; stacks it cannot fold still work."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 30, 50))
    w = rng.standard_normal((50, 20))
    y = rng.standard_normal((4, 50, 30)).transpose(0, 2, 1)  # columns of each matrix strided
    for a in [x, x[:, ::2], x.transpose(1, 0, 2), y]:
        got = _C.matmul(T(a), T(w)).numpy()
        np.testing.assert_allclose(got, a @ w, rtol=1e-12, atol=1e-12)
    # the same matrix broadcast along a batch dim of size > 1 (stride 0)
    a = _C.expand(T(x[:1]), [3, 30, 50])
    np.testing.assert_allclose(_C.matmul(a, T(w)).numpy(), np.broadcast_to(x[:1] @ w, (3, 30, 20)))


def test_matmul_many_small_matrices_thread_independent():
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((64, 9, 11)), rng.standard_normal((64, 11, 13))
    outs = []
    for nt in (1, 2):
        with threads(nt):
            outs.append(_C.matmul(T(a), T(b)).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[0], a @ b, rtol=1e-12, atol=1e-12)


def test_matmul_dtypes():
    rng = np.random.default_rng(13)
    ai, bi = rng.integers(-9, 9, (5, 70)), rng.integers(-9, 9, (70, 3))
    got = _C.matmul(T(ai), T(bi))
    assert got.dtype == "int64"
    np.testing.assert_array_equal(got.numpy(), ai @ bi)
    a32 = rng.standard_normal((5, 70)).astype(np.float32)
    got = _C.matmul(T(a32), T(bi.astype(np.float32)))
    assert got.dtype == "float32"
    np.testing.assert_allclose(got.numpy(), a32 @ bi.astype(np.float32), rtol=1e-5, atol=1e-4)
    # Mixed dtypes are refused, as by torch.matmul/bmm (a RuntimeError there; DTypeError is one)
    for other in (bi, rng.standard_normal((70, 3))):
        with pytest.raises(RuntimeError, match="same dtype, got float32 and (int64|float64)"):
            _C.matmul(T(a32), T(other))
    with pytest.raises(TypeError, match="bmm: expected both operands to have the same dtype"):
        _C.bmm(T(a32[None]), T(bi[None]))
    c = _C.from_numpy(np.zeros((5, 3)))  # gemm_ (in place) still promotes into its output
    _C.gemm_(c, T(a32), T(bi), 1.0, 0.0)
    np.testing.assert_allclose(c.numpy(), a32.astype(np.float64) @ bi, rtol=1e-5, atol=1e-4)


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(3 != 4\)"):
        _C.matmul(T(np.ones((2, 3))), T(np.ones((4, 5))))
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(4,\) cannot be multiplied"):
        _C.matmul(T(np.ones(3)), T(np.ones(4)))
    with pytest.raises(ValueError, match=r"batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 5\)"):
        _C.matmul(T(np.ones((2, 3, 4))), T(np.ones((3, 4, 5))))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        _C.matmul(T(np.array(2.0)), T(np.ones((2, 2))))
    with pytest.raises(TypeError, match="bool"):
        _C.matmul(T(np.ones((2, 2), bool)), T(np.ones((2, 2))))


def test_bmm():
    rng = np.random.default_rng(14)
    a, b = rng.standard_normal((3, 17, 31)), rng.standard_normal((3, 31, 13))
    np.testing.assert_allclose(_C.bmm(T(a), T(b)).numpy(), a @ b, rtol=1e-12, atol=1e-12)
    assert _C.bmm(T(a[:0]), T(b[:0])).shape == (0, 17, 13)
    with pytest.raises(ValueError, match=r"bmm: expected 3-D tensors, got shapes \(17, 31\) and \(3, 31, 13\)"):
        _C.bmm(T(a[0]), T(b))
    with pytest.raises(ValueError, match=r"different batch sizes \(3 != 2\)"):
        _C.bmm(T(a), T(b[:2]))
    with pytest.raises(ValueError, match=r"bmm: shapes \(3, 17, 31\) and \(3, 13, 31\) cannot be multiplied"):
        _C.bmm(T(a), T(b.transpose(0, 2, 1)))


def test_cuda_tensors_report_clearly():
    if not _C.cuda_is_available():
        pytest.skip("no CUDA device")
    a = _C.to_device(T(np.ones((2, 3), np.float32)), "cuda")
    with pytest.raises(RuntimeError, match="same device"):
        _C.matmul(a, T(np.ones((3, 2), np.float32)))


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 40), n=st.integers(0, 40), k=st.integers(0, 40), ta=st.booleans(), tb=st.booleans(),
       f64=st.booleans(), seed=st.integers(0, 2**16))
def test_matmul_property(m, n, k, ta, tb, f64, seed):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if f64 else np.float32
    a, b = layout(rng, m, k, dtype, "t" if ta else "c"), layout(rng, k, n, dtype, "t" if tb else "c")
    assert_close(_C.matmul(T(a), T(b)).numpy(), a, b)
