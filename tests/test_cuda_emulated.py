"""The CUDA kernels of the copy, elementwise, reduce and GEMM families through the public API on
device="cuda" tensors, against the same ops on the CPU; the emulator's own machinery; and a CPU-only
build that says cleanly that it has no CUDA.

With a PYENGINE_CUDA=EMU build, device="cuda" runs the very kernel sources nvcc compiles for
the GPU (cuda/*.cu through cuda/cuda_emu.h) on CPU threads; on a GPU the same tests run there.
Shapes stay small but cover several blocks, tile edges, strided/transposed/broadcast operands
and empty tensors. (pyengine has no negative strides, so "reversed" views of the old emulator
tests became permuted and sliced ones.)
"""
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyengine as pe
from pyengine import _C

CUDA = pe.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA device (a GPU or the PYENGINE_CUDA=EMU build)")
SELFTEST = getattr(_C, "emu_selftest", None)
needs_emulator = pytest.mark.skipif(SELFTEST is None, reason="emulator self-tests exist only in the "
                                                             "PYENGINE_CUDA=EMU build")

FLOATS = [pe.float32, pe.float64]
ALL_DTYPES = [pe.float32, pe.float64, pe.int64, pe.bool]
rng = np.random.default_rng(0)


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == pe.float32 else dict(rtol=1e-12, atol=1e-12)


def host(t):
    return t.detach().cpu().numpy()


def same(fn, rtol=0.0, atol=0.0):
    """fn(device) builds its inputs on `device` and returns a tensor (or tuple of them): the CUDA
    results have the CPU's shapes, dtypes and values (NaN where the CPU has NaN)."""
    expected, got = fn("cpu"), fn("cuda")
    pairs = zip(expected, got) if isinstance(expected, tuple) else [(expected, got)]
    for e, g in pairs:
        assert g.device == pe.device("cuda")
        assert (g.shape, g.dtype) == (e.shape, e.dtype)
        if e.dtype in (pe.float32, pe.float64):
            np.testing.assert_allclose(host(g), host(e), rtol=rtol, atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(host(g), host(e))
    return got


def same_error(fn, exc, match):
    """fn(device) raises the same error on both devices."""
    for device in ("cpu", "cuda"):
        with pytest.raises(exc, match=match):
            fn(device)


def on(device, a, dtype=None):
    return pe.tensor(a, dtype=dtype, device=device)


# ----------------------------------------------------------------------------------------
# copy / fill
# ----------------------------------------------------------------------------------------
@needs_cuda
@pytest.mark.parametrize("n", [0, 1, 97, 1000])
def test_copy_contiguous_with_cast(n):
    src = rng.standard_normal(n) * 100

    def run(device):
        dst = pe.empty(n, dtype=pe.float32, device=device)
        dst.copy_(on(device, src, pe.float64))
        return dst, on(device, src, pe.float64).to(pe.float32), on(device, src, pe.float64).to(pe.int64)
    same(run)


@needs_cuda
def test_copy_transposed_sliced_and_permuted_views():
    base = rng.standard_normal((13, 17))
    cube = rng.standard_normal((4, 5, 6))
    same(lambda d: (on(d, base).t().contiguous(), on(d, base)[::2, 3:12].clone(),
                    on(d, base)[::2, 3:12].t().to(pe.float32), on(d, cube).permute(2, 0, 1)[1::2, :, ::3].contiguous(),
                    on(d, base)[:, 4:5].expand(13, 9).contiguous()))

    def strided_dst(device):  # writing into a strided view touches only its elements
        out = pe.zeros(6, 10, device=device)
        out[::2, 1::3].copy_(pe.ones(3, 3, device=device))
        out[1::2, ::4].copy_(on(device, base[:3, :3], pe.float64))  # with a cast
        return out
    got = same(strided_dst)
    expected = np.zeros((6, 10), np.float32)
    expected[::2, 1::3] = 1
    expected[1::2, ::4] = base[:3, :3]
    np.testing.assert_array_equal(host(got), expected)


@needs_cuda
def test_copy_between_devices_with_strides_and_casts():
    base = rng.standard_normal((7, 9))
    up = pe.zeros(5, 5, dtype=pe.float32, device="cuda")
    up.copy_(pe.tensor(base)[1:6, ::2])  # CPU strided float64 -> CUDA float32
    np.testing.assert_array_equal(host(up), base[1:6, ::2].astype(np.float32))
    down = pe.zeros(9, 7, dtype=pe.int64)
    down.copy_(pe.tensor(base * 10, device="cuda").t())  # CUDA transposed float64 -> CPU int64
    np.testing.assert_array_equal(down.numpy(), (base * 10).T.astype(np.int64))


@needs_cuda
def test_copy_broadcasts_source():
    def run(device):
        a = pe.zeros(4, 3, 5, dtype=pe.int64, device=device)
        a.copy_(pe.arange(5, device=device))
        b = pe.zeros(4, 3, 5, dtype=pe.int64, device=device)
        b.copy_(pe.arange(3, device=device)[:, None])
        return a, b
    a, b = same(run)
    np.testing.assert_array_equal(host(a), np.broadcast_to(np.arange(5), (4, 3, 5)))
    np.testing.assert_array_equal(host(b), np.broadcast_to(np.arange(3)[:, None], (4, 3, 5)))
    same_error(lambda d: pe.zeros(4, 3, 5, device=d).copy_(pe.zeros(4, device=d)), ValueError, "broadcast")


@needs_cuda
@pytest.mark.parametrize("src_dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dst_dtype", ALL_DTYPES, ids=str)
def test_copy_every_dtype_pair(src_dtype, dst_dtype):
    values = [0.0, 1.0, -2.0, 3.0, 0.0, 7.0]

    def run(device):
        src = on(device, values).to(src_dtype)
        dst = pe.empty(6, dtype=dst_dtype, device=device)
        dst.copy_(src)
        return dst, src.to(dst_dtype), src[::2].to(dst_dtype)
    got = same(run)[0]
    np.testing.assert_array_equal(host(got), np.array(values).astype(_np(src_dtype)).astype(_np(dst_dtype)))


def _np(dtype):
    return {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}[dtype.name]


@needs_cuda
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_fill_strided_view(dtype):
    def run(device):
        a = pe.zeros(5, 8, dtype=dtype, device=device)
        a[1::2, ::3].fill_(3)
        b = pe.zeros(3, 4, 5, dtype=dtype, device=device)
        b.permute(2, 0, 1)[::2, 1].fill_(1)
        e = pe.zeros(0, 4, dtype=dtype, device=device)
        e.fill_(1)  # empty: no launch, no error
        return a, b, e, pe.full((3, 70), 2, dtype=dtype, device=device)
    a = same(run)[0]
    expected = np.zeros((5, 8), _np(dtype))
    expected[1::2, ::3] = 3
    np.testing.assert_array_equal(host(a), expected)


# ----------------------------------------------------------------------------------------
# elementwise
# ----------------------------------------------------------------------------------------
UNARY = ["neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
         "erf", "sign", "floor", "ceil", "round", "logical_not", "reciprocal", "square"]


@needs_cuda
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("op", UNARY)
def test_unary_float_on_transposed_input(op, dtype):
    x = rng.standard_normal((23, 11)) * 2
    if op in ("log", "log1p", "sqrt", "rsqrt"):
        x = np.abs(x) + 0.1
    if op == "round":
        x[0, :4] = [0.5, 1.5, -2.5, 2.5]  # half-way cases go to even
    fn = getattr(pe, op)
    got = same(lambda d: fn(on(d, x, dtype).t()), **tol(dtype))
    if op == "round":
        np.testing.assert_array_equal(host(got)[:4, 0], [0, 2, -2, 2])


@needs_cuda
@pytest.mark.parametrize("op", ["neg", "abs", "sign", "square", "relu"])
def test_unary_int64(op):
    got = same(lambda d: getattr(pe, op)(pe.arange(-20, 21, device=d)[::3]))
    assert got.dtype == pe.int64


@needs_cuda
def test_unary_int_input_computes_in_float32_and_empty():
    assert same(lambda d: pe.exp(pe.arange(3, device=d)), rtol=1e-6).dtype == pe.float32
    assert same(lambda d: pe.sqrt(pe.zeros(0, 3, device=d))).shape == (0, 3)
    same_error(lambda d: -pe.tensor([True], device=d), TypeError, "bool")


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
          "logical_and", "logical_or", "logical_xor"]


@needs_cuda
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("op", BINARY)
def test_binary_broadcast(op, dtype):
    a = rng.standard_normal((3, 1, 7))
    b = rng.standard_normal((1, 5))
    b[0, 0] = 0  # some exact zeros for the logical ops
    if op == "pow":
        a = np.abs(a) + 0.5
    fn = getattr(pe, op)
    got = same(lambda d: fn(on(d, a, dtype), on(d, b, dtype).t()), **tol(dtype))  # b: a (5, 1) strided view
    assert got.shape == (3, 5, 7)


@needs_cuda
def test_binary_int64_and_nan():
    same(lambda d: pe.arange(-6, 7, device=d) ** pe.tensor(3, device=d))
    same(lambda d: pe.arange(-6, 7, device=d)[:, None] * pe.arange(-6, 7, device=d)[::2])
    same(lambda d: pe.arange(-6, 7, device=d) // 4)
    got = same(lambda d: (pe.maximum(on(d, [1.0, math.nan, 3.0]), on(d, [math.nan, 0.0, 5.0])),
                          pe.minimum(on(d, [1.0, math.nan, 3.0]), on(d, [math.nan, 0.0, 5.0]))))
    np.testing.assert_array_equal(host(got[0]), [np.nan, np.nan, 5.0])
    np.testing.assert_array_equal(host(got[1]), [np.nan, np.nan, 3.0])
    same_error(lambda d: pe.arange(3, device=d) ** -1, ValueError, "negative")


@needs_cuda
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_binary_broadcast_property(data):
    # Random broadcast-compatible shapes (including 0 and 1), one operand transposed.
    out_shape = data.draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    a_shape = [data.draw(st.sampled_from([s, 1])) for s in out_shape]
    b_shape = [data.draw(st.sampled_from([s, 1])) for s in out_shape][data.draw(st.integers(0, len(out_shape))):]
    a = rng.standard_normal(a_shape[::-1])
    b = rng.standard_normal(b_shape)
    got = same(lambda d: on(d, a).permute(*range(a.ndim - 1, -1, -1)) - on(d, b))
    np.testing.assert_array_equal(host(got), a.T - b)


@needs_cuda
@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh", "erf"])
def test_fused_backward_helpers_through_autograd(op):
    # without create_graph, backward uses the fused _C.<op>_backward kernels
    x, g = rng.standard_normal((2, 37))

    def run(device):
        t = on(device, x, pe.float64).requires_grad_(True)
        getattr(pe, op)(t).backward(on(device, g, pe.float64))
        return t.grad
    same(run, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------------------
def _reduce(op, x, dims, keepdim):
    if op == "logsumexp":
        return x.logsumexp(tuple(range(x.ndim)) if dims is None else dims, keepdim)
    if dims is None:
        return getattr(x, op)() if op not in ("amax", "amin") else getattr(x, op)(tuple(range(x.ndim)), keepdim)
    return getattr(x, op)(dims, keepdim)


@needs_cuda
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "prod", "logsumexp"])
@pytest.mark.parametrize("dims", [None, [0], [1], [-1], [0, 2]], ids=str)
def test_reduce_strided_input(op, dims, dtype):
    x = rng.uniform(0.5, 1.5, (7, 38, 3))

    def run(device):
        v = on(device, x, dtype).permute(1, 0, 2)[1:]  # (37, 7, 3), strided
        if dims is None:
            return _reduce(op, v, None, False)
        return _reduce(op, v, dims, False), _reduce(op, v, dims, True)
    same(run, rtol=1e-5 if dtype == pe.float32 else 1e-12)


@needs_cuda
@pytest.mark.parametrize("n", [1, 31, 32, 33, 255, 256, 257, 1023, 1024, 1025])  # warp, block and grid edges
def test_reduce_lengths_around_warp_and_block_sizes(n):
    x = rng.standard_normal((3, n))
    same(lambda d: (on(d, x).sum(1), on(d, x).mean(1), on(d, x, pe.float64).sum(1), on(d, x).t().sum(0)),
         rtol=1e-5, atol=1e-5)
    got = same(lambda d: (on(d, x).amax(1), on(d, x).t().amin(0), on(d, x, pe.float64).sum()), rtol=1e-12)
    np.testing.assert_array_equal(host(got[0]), x.max(1))


@needs_cuda
def test_reduce_int64_bool_and_broadcast_input():
    x = rng.integers(-1000, 1000, (7, 41))
    same(lambda d: (on(d, x).sum(0), on(d, x).amax(), on(d, x)[:, ::3].amin(1), on(d, x).sum()))
    b = x > 900
    got = same(lambda d: (on(d, b).any(1), on(d, b).all(1), on(d, b).sum(1), on(d, b).amax(1)))
    np.testing.assert_array_equal(host(got[0]), b.any(1))
    got = same(lambda d: pe.arange(4.0, device=d).expand(50, 4).sum(0))  # stride 0
    np.testing.assert_array_equal(host(got), np.arange(4.0) * 50)


@needs_cuda
def test_reduce_empty_and_nan():
    got = same(lambda d: (pe.zeros(0, 3, device=d).sum(0), pe.zeros(0, 3, device=d).prod(0),
                          pe.zeros(0, 3, device=d).mean(0), pe.zeros(0, 3, device=d).logsumexp(0),
                          pe.zeros(0, 3, device=d).sum(1)))
    np.testing.assert_array_equal(host(got[0]), [0, 0, 0])
    np.testing.assert_array_equal(host(got[1]), [1, 1, 1])
    assert np.isnan(host(got[2])).all()
    np.testing.assert_array_equal(host(got[3]), [-np.inf] * 3)
    assert got[4].shape == (0,)
    same_error(lambda d: pe.zeros(0, 3, device=d).amax(0), IndexError, "identity")
    x = np.arange(100.0).reshape(2, 50)
    x[1, 17] = np.nan
    got = same(lambda d: (on(d, x).amax(1), on(d, x).amin(1)))
    np.testing.assert_array_equal(host(got[0]), [49.0, np.nan])
    inf = np.array([[-np.inf, -np.inf], [np.inf, 1.0]])
    got = same(lambda d: on(d, inf).logsumexp(1))
    np.testing.assert_array_equal(host(got), [-np.inf, np.inf])


@needs_cuda
def test_reduce_rejects_bad_arguments():
    same_error(lambda d: pe.arange(3, device=d).mean(), RuntimeError, "dtype")
    same_error(lambda d: pe.zeros(2, 2, device=d).sum(2), IndexError, "out of range")
    same_error(lambda d: pe.zeros(2, 2, device=d).sum([0, -2]), RuntimeError, "multiple times")


@needs_cuda
@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=1, max_size=4), data=st.data())
def test_reduce_sum_matches_the_cpu_property(shape, data):
    x = rng.standard_normal(shape)
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    keepdim = data.draw(st.booleans())
    got = same(lambda d: on(d, x, pe.float64).sum(dims or None, keepdim), rtol=1e-12, atol=1e-12)
    expected = x.sum(axis=tuple(dims) if dims else None, keepdims=keepdim)
    np.testing.assert_allclose(host(got), expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------
# matmul / gemm
# ----------------------------------------------------------------------------------------
@needs_cuda
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
# Tiles are 128 x 128 (float32) / 64 x 64 (float64) of C, walked 8 deep in k: shapes on both
# sides of those edges, and several tiles in each direction.
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (31, 17, 33), (32, 16, 32), (65, 3, 2), (2, 70, 5), (0, 4, 3),
                                   (3, 0, 4), (129, 9, 130), (64, 8, 64), (200, 15, 131), (127, 7, 257)])
def test_matmul_tile_edges(m, k, n, dtype):
    a = rng.standard_normal((m, k))
    b = rng.standard_normal((k, n))
    got = same(lambda d: on(d, a, dtype) @ on(d, b, dtype), rtol=1e-4 if dtype == pe.float32 else 1e-12, atol=1e-5)
    np.testing.assert_allclose(host(got), a @ b, rtol=1e-4 if dtype == pe.float32 else 1e-12, atol=1e-5)


@needs_cuda
def test_matmul_transposed_and_batched_broadcast():
    a = rng.standard_normal((2, 1, 37, 19))
    b = rng.standard_normal((3, 41, 19))
    at = rng.standard_normal((19, 37))
    got = same(lambda d: (on(d, a, pe.float64) @ on(d, b, pe.float64).transpose(1, 2),  # column-major b
                          on(d, at, pe.float64).t() @ on(d, b, pe.float64)[1].t(),
                          pe.bmm(on(d, b, pe.float64)[:, ::2], on(d, b, pe.float64).transpose(1, 2))),
               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(got[0]), a @ b.transpose(0, 2, 1), rtol=1e-12, atol=1e-12)
    same_error(lambda d: pe.zeros(2, 3, device=d) @ pe.zeros(4, 2, device=d), ValueError, "cannot be multiplied")
    # one dtype for both operands, as torch.matmul wants, on both devices
    same_error(lambda d: pe.ones(2, 3, device=d) @ pe.ones(3, 2, dtype=pe.float64, device=d), RuntimeError,
               "same dtype")


@needs_cuda
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_gemm_alpha_beta_into_strided_view(dtype):
    a = rng.standard_normal((20, 13))
    b = rng.standard_normal((13, 35))
    big = rng.standard_normal((40, 35))

    def run(device):
        full = on(device, big, dtype)
        c = full[::2]  # non-contiguous destination
        _C.gemm_(c._impl, on(device, a, dtype)._impl, on(device, b, dtype)._impl, 0.5, -2.0)
        return full
    got = host(same(run, rtol=1e-4 if dtype == pe.float32 else 1e-12, atol=1e-4))
    expected = 0.5 * (a @ b) - 2.0 * big[::2]
    np.testing.assert_allclose(got[::2], expected, rtol=1e-4 if dtype == pe.float32 else 1e-12, atol=1e-4)
    np.testing.assert_array_equal(got[1::2], big[1::2].astype(_np(dtype)))  # the rows in between are untouched


@needs_cuda
def test_gemm_beta_zero_ignores_nan_in_c():
    def run(device):
        c = pe.full((3, 4), math.nan, dtype=pe.float64, device=device)
        ones = lambda *s: pe.ones(*s, dtype=pe.float64, device=device)  # noqa: E731
        _C.gemm_(c._impl, ones(3, 2)._impl, ones(2, 4)._impl, 1.0, 0.0)
        first = c.clone()
        _C.gemm_(c._impl, ones(3, 0)._impl, ones(0, 4)._impl, 1.0, 0.5)  # k = 0: c = beta * c
        return first, c
    first, c = same(run)
    np.testing.assert_array_equal(host(first), np.full((3, 4), 2.0))
    np.testing.assert_array_equal(host(c), np.full((3, 4), 1.0))


# ----------------------------------------------------------------------------------------
# the emulation itself: barriers, shuffles, atomics, errors
# ----------------------------------------------------------------------------------------
@needs_emulator
@pytest.mark.parametrize("n,block", [(10, 4), (64, 64), (100, 32), (1, 1)])
def test_syncthreads_orders_shared_memory(n, block):
    x = np.arange(float(n))
    chunks = [x[i:i + block][::-1] for i in range(0, n, block)]
    np.testing.assert_array_equal(SELFTEST.block_reverse(x, block), np.concatenate(chunks))


@needs_emulator
@pytest.mark.parametrize("threads", [32, 96, 256])
def test_warp_shuffles(threads):
    x = rng.standard_normal(threads)
    down, butterfly = SELFTEST.warp_sums(x)
    warp_sums = x.reshape(-1, 32).sum(1)
    np.testing.assert_allclose(down[::32], warp_sums, rtol=1e-12)  # lane 0 of each warp
    np.testing.assert_allclose(butterfly, np.repeat(warp_sums, 32), rtol=1e-12)  # every lane
    # shfl_down from past the warp keeps the lane's own value: lane 31 never changes
    np.testing.assert_array_equal(down[31::32], x[31::32] * 2 ** 5)


@needs_emulator
def test_atomic_add_from_every_thread():
    count, total = SELFTEST.atomic_count(0.25, 5, 128)
    assert count == 640 and total == 160.0


@needs_emulator
def test_exception_in_kernel_thread_is_reraised_and_launches_recover():
    with pytest.raises(RuntimeError, match="kernel thread 37 failed"):
        SELFTEST.throw_in_thread(64, 37)
    np.testing.assert_array_equal(SELFTEST.block_reverse(np.arange(4.0), 4), [3, 2, 1, 0])
    assert pe.ones(3, device="cuda").sum().item() == 3.0  # and real kernels still run


@needs_emulator
def test_divergent_barrier_is_reported_not_hung():
    with pytest.raises(RuntimeError, match="__syncthreads"):
        SELFTEST.divergent_barrier(64)


@needs_emulator
def test_launch_configuration_checked_like_cuda():
    SELFTEST.launch_with(1024)
    with pytest.raises(RuntimeError, match="invalid configuration"):
        SELFTEST.launch_with(1025)


@needs_cuda
def test_launches_from_several_python_threads():
    # kernels release the GIL: concurrent callers must each get their own correct result
    xs = [rng.standard_normal((3, 100)) for _ in range(6)]

    def work(x):
        t = pe.tensor(x, device="cuda")
        return host(t.sum(1)), host(t @ t.t())
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(work, xs))
    for x, (s, g) in zip(xs, results):
        np.testing.assert_allclose(s, x.sum(1).astype(np.float32), rtol=1e-5)
        np.testing.assert_allclose(g, x @ x.T, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------------------
# every kernel slot is filled for CUDA
# ----------------------------------------------------------------------------------------
@pytest.mark.skipif(not _C.cuda_built(), reason="built without CUDA: no slot has a CUDA kernel, by design")
def test_every_kernel_slot_has_a_cuda_kernel():
    slots = _C.kernel_slots()
    names = {name for name, _ in slots}
    # every family is there: copies, elementwise, reductions, matmul, conv, pooling, norms,
    # softmax, optimizers, indexing, creation, random numbers
    assert {"copy_", "binary elementwise op", "where", "reduction", "matmul", "conv2d", "max pooling",
            "batch_norm", "softmax", "adam_step_", "index take", "arange", "random fill"} <= names
    missing = sorted(name for name, has_cuda in slots if not has_cuda)
    assert missing == []


# ----------------------------------------------------------------------------------------
# _C on a machine without CUDA: it says so
# ----------------------------------------------------------------------------------------
@pytest.mark.skipif(CUDA, reason="this build has a CUDA device (a GPU or the emulated one)")
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
