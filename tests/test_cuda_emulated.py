"""The CUDA kernels (cuda/*.cu), compiled for the CPU through cuda/cuda_emu.h, against NumPy.

`pyengine._cuda_emu` runs the very kernel sources nvcc builds for the GPU: blocks one at a
time, the threads of a block as OS threads, __syncthreads() and warp shuffles as barriers.
Shapes stay small (every emulated block spawns its threads), but cover several blocks, tile
edges, strided/transposed/broadcast operands and empty tensors. The last tests check that
_C without a GPU says so cleanly.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyengine import _C

E = pytest.importorskip("pyengine._cuda_emu")

FLOATS = [np.float32, np.float64]
rng = np.random.default_rng(0)


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------
# copy / fill
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 97, 1000])
def test_copy_contiguous_with_cast(n):
    src = rng.standard_normal(n) * 100
    dst = np.empty(n, np.float32)
    E.copy(dst, src)
    np.testing.assert_array_equal(dst, src.astype(np.float32))


def test_copy_transposed_sliced_and_reversed_views():
    base = rng.standard_normal((13, 17))
    dst = np.zeros((17, 13))
    E.copy(dst, base.T)
    np.testing.assert_array_equal(dst, base.T)
    dst = np.zeros((7, 9))
    E.copy(dst, base[::2, 3:12][::-1])  # negative and non-unit strides
    np.testing.assert_array_equal(dst, base[::2, 3:12][::-1])
    # Writing into a strided view touches only its elements.
    out = np.zeros((6, 10))
    E.copy(out[::2, 1::3], np.ones((3, 3)))
    expected = np.zeros((6, 10))
    expected[::2, 1::3] = 1
    np.testing.assert_array_equal(out, expected)


def test_copy_broadcasts_source():
    dst = np.zeros((4, 3, 5), np.int64)
    src = np.arange(5, dtype=np.int64)
    E.copy(dst, src)
    np.testing.assert_array_equal(dst, np.broadcast_to(src, (4, 3, 5)))
    E.copy(dst, np.arange(3, dtype=np.int64)[:, None])
    np.testing.assert_array_equal(dst, np.broadcast_to(np.arange(3)[:, None], (4, 3, 5)))
    with pytest.raises(ValueError, match="cannot broadcast"):
        E.copy(dst, np.zeros(4))


@pytest.mark.parametrize("src_dtype", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("dst_dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_copy_every_dtype_pair(src_dtype, dst_dtype):
    src = np.array([0, 1, -2, 3, 0, 7], dtype=np.float64).astype(src_dtype)
    dst = np.empty(6, dst_dtype)
    E.copy(dst, src)
    np.testing.assert_array_equal(dst, src.astype(dst_dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_fill_strided_view(dtype):
    a = np.zeros((5, 8), dtype)
    E.fill(a[1::2, ::3], 3)
    expected = np.zeros((5, 8), dtype)
    expected[1::2, ::3] = 3
    np.testing.assert_array_equal(a, expected)
    E.fill(np.zeros((0, 4), dtype), 1)  # empty: no launch, no error


# ----------------------------------------------------------------------------------------
# elementwise
# ----------------------------------------------------------------------------------------
_erf = np.vectorize(math.erf)
UNARY = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "expm1": np.expm1, "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x), "sin": np.sin,
    "cos": np.cos, "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0), "erf": lambda x: _erf(x).astype(x.dtype),
    "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "round": np.round,
    "logical_not": np.logical_not, "reciprocal": lambda x: 1 / x, "square": np.square,
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_float_on_transposed_input(op, dtype):
    x = (rng.standard_normal((23, 11)) * 2).astype(dtype)
    if op in ("log", "log1p", "sqrt", "rsqrt"):
        x = np.abs(x) + dtype(0.1)
    if op == "round":
        x[0, :4] = [0.5, 1.5, -2.5, 2.5]  # half-way cases go to even, as NumPy
    got = E.unary(op, x.T)
    expected = UNARY[op](x.T)
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, **tol(dtype))


@pytest.mark.parametrize("op", ["neg", "abs", "sign", "square", "relu"])
def test_unary_int64(op):
    x = np.arange(-20, 21, dtype=np.int64)[::3]
    np.testing.assert_array_equal(E.unary(op, x), UNARY[op](x))


def test_unary_int_input_computes_in_float32_and_empty():
    assert E.unary("exp", np.arange(3)).dtype == np.float32
    assert E.unary("sqrt", np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(TypeError, match="bool"):
        E.unary("neg", np.array([True]))


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum, "eq": np.equal,
    "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal, "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_broadcast(op, dtype):
    a = rng.standard_normal((3, 1, 7)).astype(dtype)
    b = rng.standard_normal((5, 1)).astype(dtype)[::-1]
    b[0, 0] = 0  # some exact zeros for the logical ops
    if op == "pow":
        a = np.abs(a) + dtype(0.5)
    got = E.binary(op, a, b)
    with np.errstate(divide="ignore"):
        expected = BINARY[op](a, b)
    assert got.shape == (3, 5, 7) and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, **tol(dtype))


def test_binary_int64_and_nan():
    a = np.arange(-6, 7, dtype=np.int64)
    np.testing.assert_array_equal(E.binary("pow", a, np.array(3)), a**3)
    np.testing.assert_array_equal(E.binary("mul", a[:, None], a[::2]), a[:, None] * a[::2])
    x = np.array([1.0, np.nan, 3.0])
    np.testing.assert_array_equal(E.binary("maximum", x, np.array([np.nan, 0.0, 5.0])), [np.nan, np.nan, 5.0])


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_binary_broadcast_property(data):
    # Random broadcast-compatible shapes (including 0 and 1), one operand transposed.
    out_shape = data.draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    a_shape = [data.draw(st.sampled_from([s, 1])) for s in out_shape]
    b_shape = [data.draw(st.sampled_from([s, 1])) for s in out_shape][data.draw(st.integers(0, len(out_shape))):]
    a = rng.standard_normal(a_shape[::-1]).T  # a strided (transposed) view
    b = rng.standard_normal(b_shape)
    np.testing.assert_array_equal(E.binary("sub", a, b), a - b)


@pytest.mark.parametrize("op", ["relu_backward", "sigmoid_backward", "tanh_backward", "erf_backward"])
def test_fused_backward_helpers(op):
    g, x = rng.standard_normal((2, 37))
    expected = {
        "relu_backward": np.where(x > 0, g, 0),
        "sigmoid_backward": g * x * (1 - x),
        "tanh_backward": g * (1 - x * x),
        "erf_backward": g * 2 / np.sqrt(np.pi) * np.exp(-x * x),
    }[op]
    np.testing.assert_allclose(E.binary(op, g, x), expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------------------
NP_REDUCE = {"sum": np.sum, "mean": np.mean, "amax": np.amax, "amin": np.amin, "prod": np.prod}


def np_logsumexp(x, axis, keepdims):
    m = np.amax(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", sorted(NP_REDUCE) + ["logsumexp"])
@pytest.mark.parametrize("dims", [None, [0], [1], [-1], [0, 2]])
def test_reduce_strided_input(op, dims, dtype):
    x = rng.uniform(0.5, 1.5, (7, 37, 3)).astype(dtype).transpose(1, 0, 2)[::-1]  # (37, 7, 3) strided
    axis = None if dims is None else tuple(dims)
    for keepdim in (False, True):
        got = E.reduce(op, x, dims, keepdim)
        if op == "logsumexp":
            expected = np_logsumexp(x.astype(np.float64), axis if axis is not None else (0, 1, 2), keepdim)
        else:
            expected = NP_REDUCE[op](x.astype(np.float64), axis=axis, keepdims=keepdim)
        assert got.shape == np.shape(expected) and got.dtype == dtype
        rtol = 1e-4 if dtype == np.float32 else 1e-11
        np.testing.assert_allclose(got, expected, rtol=rtol)


@pytest.mark.parametrize("n", [1, 33, 63, 64, 65, 257, 1000])  # both sides of kBlockReduceMin
def test_reduce_lengths_around_warp_and_block_sizes(n):
    x = rng.standard_normal((3, n))
    np.testing.assert_allclose(E.reduce("sum", x, [1]), x.sum(1), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(E.reduce("amax", x, [1]), x.max(1))
    np.testing.assert_array_equal(E.reduce("amin", x.T, [0]), x.min(1))


def test_reduce_int64_bool_and_broadcast_input():
    x = rng.integers(-1000, 1000, (7, 41))
    np.testing.assert_array_equal(E.reduce("sum", x, [0]), x.sum(0))
    np.testing.assert_array_equal(E.reduce("amax", x, None), x.max())
    b = x > 900
    np.testing.assert_array_equal(E.reduce("amax", b, [1]), b.any(1))  # any
    np.testing.assert_array_equal(E.reduce("amin", b, [1]), b.all(1))  # all
    ones = np.broadcast_to(np.arange(4.0), (50, 4))  # stride 0
    np.testing.assert_array_equal(E.reduce("sum", ones, [0]), np.arange(4.0) * 50)


def test_reduce_empty_and_nan():
    empty = np.zeros((0, 3))
    np.testing.assert_array_equal(E.reduce("sum", empty, [0]), [0, 0, 0])
    np.testing.assert_array_equal(E.reduce("prod", empty, [0]), [1, 1, 1])
    assert np.isnan(E.reduce("mean", empty, [0])).all()
    np.testing.assert_array_equal(E.reduce("amax", empty, [0]), [-np.inf] * 3)
    np.testing.assert_array_equal(E.reduce("logsumexp", empty, [0]), [-np.inf] * 3)
    assert E.reduce("sum", empty, [1]).shape == (0,)
    x = np.arange(100.0).reshape(2, 50)
    x[1, 17] = np.nan
    np.testing.assert_array_equal(E.reduce("amax", x, [1]), [49.0, np.nan])
    np.testing.assert_array_equal(E.reduce("amin", x, [1]), [0.0, np.nan])
    inf = np.array([[-np.inf, -np.inf], [np.inf, 1.0]])
    np.testing.assert_array_equal(E.reduce("logsumexp", inf, [1]), [-np.inf, np.inf])


def test_reduce_rejects_bad_arguments():
    with pytest.raises(TypeError, match="unsupported dtype"):
        E.reduce("mean", np.arange(3), None)
    with pytest.raises(IndexError, match="out of range"):
        E.reduce("sum", np.zeros((2, 2)), [2])
    with pytest.raises(ValueError, match="twice"):
        E.reduce("sum", np.zeros((2, 2)), [0, -2])


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    data=st.data(),
)
def test_reduce_sum_matches_numpy_property(shape, data):
    x = rng.standard_normal(shape)
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    keepdim = data.draw(st.booleans())
    expected = x.sum(axis=tuple(dims) if dims else None, keepdims=keepdim)
    np.testing.assert_allclose(E.reduce("sum", x, dims or None, keepdim), expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------
# matmul / gemm
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (31, 17, 33), (32, 16, 32), (65, 3, 2), (2, 70, 5), (0, 4, 3), (3, 0, 4)])
def test_matmul_tile_edges(m, k, n, dtype):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    got = E.matmul(a, b)
    assert got.shape == (m, n) and got.dtype == dtype
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_matmul_transposed_and_batched_broadcast():
    a = rng.standard_normal((2, 1, 37, 19))
    b = rng.standard_normal((3, 41, 19)).transpose(0, 2, 1)  # (3, 19, 41), column-major
    np.testing.assert_allclose(E.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    at = rng.standard_normal((19, 37)).T
    np.testing.assert_allclose(E.matmul(at, b[1]), at @ b[1], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="do not match"):
        E.matmul(np.zeros((2, 3)), np.zeros((4, 2)))
    with pytest.raises(TypeError, match="float32 or float64"):
        E.matmul(np.zeros((2, 3)), np.zeros((3, 2), np.float32))


@pytest.mark.parametrize("dtype", FLOATS)
def test_gemm_alpha_beta_into_strided_view(dtype):
    a = rng.standard_normal((20, 13)).astype(dtype)
    b = rng.standard_normal((13, 35)).astype(dtype)
    big = rng.standard_normal((40, 35)).astype(dtype)
    c = big[::2]  # non-contiguous destination
    between = big[1::2].copy()
    expected = 0.5 * (a.astype(np.float64) @ b) - 2.0 * c
    E.gemm(c, a, b, 0.5, -2.0)
    np.testing.assert_allclose(c, expected, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)
    np.testing.assert_array_equal(big[1::2], between)  # the rows in between are untouched


def test_gemm_beta_zero_ignores_nan_in_c():
    c = np.full((3, 4), np.nan)
    a, b = np.ones((3, 2)), np.ones((2, 4))
    E.gemm(c, a, b, 1.0, 0.0)
    np.testing.assert_array_equal(c, np.full((3, 4), 2.0))
    E.gemm(c, np.ones((3, 0)), np.ones((0, 4)), 1.0, 0.5)  # k = 0: c = beta * c
    np.testing.assert_array_equal(c, np.full((3, 4), 1.0))


# ----------------------------------------------------------------------------------------
# the emulation itself: barriers, shuffles, atomics, errors
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,block", [(10, 4), (64, 64), (100, 32), (1, 1)])
def test_syncthreads_orders_shared_memory(n, block):
    x = np.arange(float(n))
    chunks = [x[i:i + block][::-1] for i in range(0, n, block)]
    np.testing.assert_array_equal(E.block_reverse(x, block), np.concatenate(chunks))


@pytest.mark.parametrize("threads", [32, 96, 256])
def test_warp_shuffles(threads):
    x = rng.standard_normal(threads)
    down, butterfly = E.warp_sums(x)
    warp_sums = x.reshape(-1, 32).sum(1)
    np.testing.assert_allclose(down[::32], warp_sums, rtol=1e-12)   # lane 0 of each warp
    np.testing.assert_allclose(butterfly, np.repeat(warp_sums, 32), rtol=1e-12)  # every lane
    # shfl_down from past the warp keeps the lane's own value: lane 31 never changes
    np.testing.assert_array_equal(down[31::32], x[31::32] * 2 ** 5)


def test_atomic_add_from_every_thread():
    count, total = E.atomic_count(0.25, 5, 128)
    assert count == 640 and total == 160.0


def test_exception_in_kernel_thread_is_reraised_and_launches_recover():
    with pytest.raises(RuntimeError, match="kernel thread 37 failed"):
        E.throw_in_thread(64, 37)
    np.testing.assert_array_equal(E.block_reverse(np.arange(4.0), 4), [3, 2, 1, 0])


def test_divergent_barrier_is_reported_not_hung():
    with pytest.raises(RuntimeError, match="__syncthreads"):
        E.divergent_barrier(64)


def test_launches_from_several_python_threads():
    # Emulated launches are serialised (their `__shared__` statics are process-wide), so
    # concurrent callers must each get their own correct result.
    from concurrent.futures import ThreadPoolExecutor

    xs = [rng.standard_normal((3, 100)) for _ in range(6)]
    with ThreadPoolExecutor(3) as pool:
        sums = list(pool.map(lambda x: E.reduce("sum", x, [1]), xs))
    for x, s in zip(xs, sums):
        np.testing.assert_allclose(s, x.sum(1), rtol=1e-12)


def test_launch_configuration_checked_like_cuda():
    E.launch_with(1024)
    with pytest.raises(RuntimeError, match="invalid configuration"):
        E.launch_with(1025)


# ----------------------------------------------------------------------------------------
# _C on this machine: no GPU, and it says so
# ----------------------------------------------------------------------------------------
def test_no_cuda_here_is_clean():
    assert _C.cuda_is_available() is False
    assert _C.cuda_device_count() == 0
    with pytest.raises(RuntimeError, match="cuda"):
        _C.empty([2], "float32", "cuda")
    t = _C.from_numpy(np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="cuda:0"):
        _C.to_device(t, "cuda")
    for query in (_C.cuda_device_name, _C.cuda_device_capability, _C.cuda_memory_info, _C.cuda_synchronize):
        with pytest.raises(RuntimeError, match="CUDA"):
            query(0)
