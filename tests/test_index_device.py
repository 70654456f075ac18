"""Index family on every device (the `device` fixture: "cpu", and "cuda" when available - on the
emulated GPU the real CUDA kernels of cuda/index.cu and cuda/creation.cu run on CPU threads):
cat/stack, gather, scatter_add(_), index_select, index_take / index_put_ (advanced indexing),
nonzero, tril/triu, one_hot, arange/linspace/eye, against NumPy and against the CPU result;
out-of-range errors with the CPU's message; autograd through x[idx], gather, index_select, cat,
and float64 gradcheck on the device. Shapes are tiny (emulated launches)."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import _C as C

DTYPES = ["float32", "float64", "int64", "bool"]
FLOATS = ["float32", "float64"]


def rand(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64":
        return rng.integers(-9, 10, size=shape).astype(np.int64)
    return rng.standard_normal(shape).astype(dtype)


def D(a, device):
    a = np.asarray(a)
    return C.to_device(C.from_numpy(a if a.flags.c_contiguous else np.ascontiguousarray(a)), device)


def I(a, device):
    return D(np.asarray(a, dtype=np.int64), device)


def host(t):
    return C.to_device(t, "cpu").numpy()


def check(t, expected, device, exact=True):
    assert t.device == ("cpu" if device == "cpu" else "cuda:0")
    got = host(t)
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, got.shape, expected.shape)
    if exact:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-6 if got.dtype == np.float32 else 1e-12)


def layouts(a, device):
    """`a` on `device` as a contiguous tensor, a transposed view, and a step-2 slice."""
    out = [D(a, device)]
    if a.ndim >= 2:
        rev = list(range(a.ndim))[::-1]
        out.append(C.permute(D(np.ascontiguousarray(a.transpose(rev)), device), rev))
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    wide[..., ::2] = a
    out.append(C.slice(D(wide, device), a.ndim - 1, 0, None, 2))
    return out


# ---------------------------------------------------------------- cat / stack


@pytest.mark.parametrize("dtype", DTYPES)
def test_cat(device, dtype):
    a, b = rand((2, 3), dtype, 1), rand((2, 1), dtype, 2)
    for ta in layouts(a, device):
        check(C.cat([ta, D(b, device), ta], 1), np.concatenate([a, b, a], 1), device)
        check(C.cat([ta, ta], 0), np.concatenate([a, a], 0), device)


def test_cat_promotes_and_stack(device):
    a, b = rand((2, 2), "int64"), rand((1, 2), "float32")
    check(C.cat([D(a, device), D(b, device)], 0), np.concatenate([a.astype(np.float32), b]), device)
    x, y = pe.tensor(a, device=device), pe.tensor(a + 1, device=device)
    s = pe.stack([x, y], 1)
    assert s.device == x.device
    np.testing.assert_array_equal(s.cpu().numpy(), np.stack([a, a + 1], 1))


# ---------------------------------------------------------------- gather / scatter_add / index_select


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather(device, dtype):
    x = rand((3, 4), dtype)
    idx1 = np.array([[0, 3, 3, 1, 0], [2, 2, 1, 0, 3], [1, 0, 0, 0, 2]])
    idx0 = np.array([[2, 0, 1, 2], [0, 0, 2, 1]])
    for tx in layouts(x, device):
        check(C.gather(tx, 1, I(idx1, device)), np.take_along_axis(x, idx1, 1), device)
        check(C.gather(tx, 0, I(idx0, device)), np.take_along_axis(x, idx0, 0), device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_add_sums_duplicates(device, dtype):
    x = rand((3, 4), dtype, 3)
    # integer-valued floats: the sum is exact in any order (CUDA adds with atomics)
    src = rand((5, 4), "int64", 4).astype(dtype) if dtype != "bool" else rand((5, 4), "bool", 4)
    idx = np.array([[0, 2, 2, 1], [2, 2, 0, 1], [0, 0, 0, 1], [1, 2, 0, 1], [0, 1, 2, 1]])
    expected = x.copy()
    for i in range(5):
        for j in range(4):
            expected[idx[i, j], j] = expected[idx[i, j], j] + src[i, j] if dtype != "bool" else \
                expected[idx[i, j], j] | src[i, j]
    check(C.scatter_add(D(x, device), 0, I(idx, device), D(src, device)), expected, device)
    # in place into a transposed view, scattering along dim 1 of the view
    base = D(np.ascontiguousarray(x.T), device)
    view = C.permute(base, [1, 0])
    C.scatter_add_(view, 0, I(idx, device), D(src, device))
    check(base, np.ascontiguousarray(expected.T), device)


@pytest.mark.parametrize("dtype", FLOATS)
def test_scatter_add_float_sums_match_cpu(device, dtype):
    x, src = rand((2, 3), dtype, 5), rand((2, 8), dtype, 6)
    idx = np.array([[0, 1, 2, 0, 1, 2, 2, 2], [1, 1, 1, 1, 0, 0, 2, 2]])
    got = C.scatter_add(D(x, device), 1, I(idx, device), D(src, device))
    expected = x.copy()
    for r in range(2):
        np.add.at(expected[r], idx[r], src[r])
    check(got, expected, device, exact=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_select(device, dtype):
    x = rand((3, 4), dtype, 7)
    for tx in layouts(x, device):
        check(C.index_select(tx, 0, I([2, 0, 2], device)), x[[2, 0, 2]], device)
        check(C.index_select(tx, 1, I([3, 3, 1, 0, 2], device)), x[:, [3, 3, 1, 0, 2]], device)


def test_out_of_range_errors_name_the_first_bad_index(device):
    x = D(rand((3, 4), "float32"), device)
    # 1000 positions span several blocks of the device check: the first bad one must be named
    idx = np.zeros((1, 1000), np.int64)
    idx[0, 900], idx[0, 300], idx[0, 301] = -1, 9, 7
    with pytest.raises(IndexError, match="gather: index 9 is out of bounds for dimension 1 with size 4"):
        C.gather(x, 1, I(idx, device))
    with pytest.raises(IndexError, match="index_select: index -1 is out of bounds for dimension 0 with size 3"):
        C.index_select(x, 0, I([0, -1], device))
    with pytest.raises(IndexError, match="scatter_add: index 3 is out of bounds for dimension 0 with size 3"):
        C.scatter_add(x, 0, I([[0, 3]], device), D(np.ones((1, 2), np.float32), device))
    with pytest.raises(IndexError, match="index_take: index -4 is out of bounds for dimension 0 with size 3"):
        C.index_take(x, [I([1, -3, -4], device)])
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension . with size 4"):
        pe.tensor(host(x), device=device)[:, pe.tensor([0, 4], device=device)]


def test_devices_must_match():
    if not pe.cuda.is_available():
        pytest.skip("no CUDA device")
    x = D(np.ones((2, 2), np.float32), "cuda")
    with pytest.raises(RuntimeError, match="gather: expected all tensors on the same device"):
        C.gather(x, 0, I([[0]], "cpu"))
    with pytest.raises(RuntimeError, match="cat: expected all tensors on the same device"):
        C.cat([x, D(np.ones((2, 2), np.float32), "cpu")], 0)
    # advanced indexing moves CPU index tensors to x's device, as PyTorch does
    check(C.index_take(x, [I([1, 0], "cpu")]), np.ones((2, 2), np.float32), "cuda")
    C.index_put_(x, [I([1], "cpu")], D(np.array([5.0, 6.0]), "cpu"), False)  # values too (and cast)
    check(x, np.array([[1, 1], [5, 6]], np.float32), "cuda")


# ---------------------------------------------------------------- index_take / index_put_


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_take_wraps_and_broadcasts(device, dtype):
    x = rand((3, 4, 2), dtype, 8)
    i0, i1 = np.array([[-1], [0]]), np.array([1, -4, 3, 3])
    for tx in layouts(x, device):
        check(C.index_take(tx, [I(i0, device), I(i1, device)]), x[i0, i1], device)
        check(C.index_take(tx, [I([2, 2, -3], device)]), x[[2, 2, -3]], device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_put_accumulate_sums_duplicates(device, dtype):
    x = rand((4, 3), dtype, 9)
    idx = np.array([0, 2, 0, -1, 2, 0])
    vals = rand((6, 3), "int64", 10).astype(dtype) if dtype != "bool" else rand((6, 3), "bool", 10)
    expected = x.copy()
    (np.logical_or if dtype == "bool" else np.add).at(expected, idx, vals)
    t = D(x, device)
    C.index_put_(t, [I(idx, device)], D(vals, device), True)
    check(t, expected, device)
    # float sums in any order: close to NumPy's
    if dtype in FLOATS:
        v = rand((6, 3), dtype, 11)
        expected = x.copy()
        np.add.at(expected, idx, v)
        t = D(x, device)
        C.index_put_(t, [I(idx, device)], D(v, device), True)
        check(t, expected, device, exact=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_put_assign(device, dtype):
    x = rand((4, 3), dtype, 12)
    i0, i1 = np.array([3, 0, -2]), np.array([[2], [0]])
    vals = rand((2, 3), dtype, 13)
    expected = x.copy()
    expected[i0, i1] = vals
    t = D(x, device)
    C.index_put_(t, [I(i0, device), I(i1, device)], D(vals, device), False)
    check(t, expected, device)
    # a Python scalar broadcast over strided rows of a transposed view
    base = D(np.ascontiguousarray(x.T), device)
    C.index_put_(C.permute(base, [1, 0]), [I([1, 3], device)], 1, False)
    expected = x.copy()
    expected[[1, 3]] = 1
    check(base, np.ascontiguousarray(expected.T), device)


def test_index_put_duplicates_write_one_of_the_values(device):
    # CPU: the last write wins; CUDA: unspecified which (as in PyTorch), but one of them
    t = D(np.zeros((3, 2), np.float32), device)
    vals = np.array([[1, 1], [2, 2], [3, 3]], np.float32)
    C.index_put_(t, [I([1, 1, 1], device)], D(vals, device), False)
    got = host(t)
    assert got[1, 0] in (1, 2, 3) and got[1, 0] == got[1, 1]
    np.testing.assert_array_equal(got[[0, 2]], 0)
    if device == "cpu":
        assert got[1, 0] == 3


def test_index_put_errors_leave_x_unchanged(device):
    x = rand((3, 2), "float32", 14)
    t = D(x, device)
    with pytest.raises(IndexError, match="index_put_: index 5 is out of bounds for dimension 0 with size 3"):
        C.index_put_(t, [I([0, 1, 5, 2], device)], D(np.ones((4, 2), np.float32), device), True)
    check(t, x, device)


# ---------------------------------------------------------------- nonzero, tril/triu, one_hot


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonzero(device, dtype):
    x = rand((60, 90), dtype, 15)  # 5400 elements: several blocks of the device kernels
    if dtype != "bool":
        x[np.abs(x) < (0.8 if dtype in FLOATS else 5)] = 0
    for tx in layouts(x, device):
        check(C.nonzero(tx), np.argwhere(x).astype(np.int64), device)
    small = rand((2, 3, 4), dtype, 16)
    check(C.nonzero(D(small, device)), np.argwhere(small).astype(np.int64), device)


def test_nonzero_special_values(device):
    x = np.array([0.0, -0.0, np.nan, np.inf, 1e-30, 0.0], np.float32)
    check(C.nonzero(D(x, device)), np.array([[2], [3], [4]], np.int64), device)
    check(C.nonzero(D(np.zeros((0, 3), np.float32), device)), np.zeros((0, 2), np.int64), device)
    check(C.nonzero(D(np.zeros((2, 3), np.int64), device)), np.zeros((0, 2), np.int64), device)
    check(C.nonzero(D(np.array(5.0), device)), np.zeros((1, 0), np.int64), device)
    check(C.nonzero(D(np.array(0.0), device)), np.zeros((0, 0), np.int64), device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tril_triu(device, dtype):
    x = rand((2, 3, 4), dtype, 17)
    for tx in layouts(x, device):
        for k in (-5, -1, 0, 2, 9):
            check(C.tril(tx, k), np.tril(x, k), device)
            check(C.triu(tx, k), np.triu(x, k), device)


def test_one_hot(device):
    idx = np.array([[0, 4, 2], [2, 2, 1]])
    check(C.one_hot(I(idx, device), -1), np.eye(5, dtype=np.int64)[idx], device)
    check(C.one_hot(I(idx, device), 7), np.eye(7, dtype=np.int64)[idx], device)
    with pytest.raises(ValueError, match="one_hot: class values must be non-negative, got -3"):
        C.one_hot(I([1, -3, 2], device), 5)
    with pytest.raises(ValueError, match=r"one_hot: class values must be smaller than num_classes \(5\), got 6"):
        C.one_hot(I([1, 6, 2], device), 5)


# ---------------------------------------------------------------- creation


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_creation_fills_on_the_device(device, dtype):
    for args in [(0, 7, 1), (-3, 4.5, 0.5), (5, -6, -1.5), (2, 3, 7), (-7, 9, 2)]:
        if dtype == "int64" and args[2] != int(args[2]):
            continue  # int64 arange truncates its arguments: step 0
        t = C.arange(*args, dtype=dtype, device=device)
        check(t, host(C.arange(*args, dtype=dtype)), device, exact=dtype == "int64")
    for start, end, steps in [(0, 1, 5), (-2, 7, 1), (3, -4, 8), (0, 10, 4)]:
        t = C.linspace(start, end, steps, dtype=dtype, device=device)
        check(t, host(C.linspace(start, end, steps, dtype=dtype)), device, exact=dtype == "int64")
        assert host(t)[0] == np.asarray(start).astype(dtype) and host(t)[-1] == np.asarray(
            end if steps > 1 else start).astype(dtype)
    check(C.eye(3, 4, dtype=dtype, device=device), np.eye(3, 4, dtype=dtype), device)
    check(C.eye(2, dtype=dtype, device=device), np.eye(2, dtype=dtype), device)
    assert pe.arange(4, device=device).device == pe.eye(2, device=device).device == pe.tensor(0, device=device).device
    np.testing.assert_array_equal(pe.linspace(0, 1, 3, device=device).cpu().numpy(), [0, 0.5, 1])


def test_eye_bool_and_empty_creation(device):
    check(C.eye(2, 3, dtype="bool", device=device), np.eye(2, 3, dtype=bool), device)
    check(C.arange(0, 0, 1, device=device), np.zeros(0, np.int64), device)
    check(C.eye(0, 3, device=device), np.zeros((0, 3), np.float32), device)
    check(C.linspace(0, 1, 0, device=device), np.zeros(0, np.float32), device)


# ---------------------------------------------------------------- autograd


def _grads(fn, arrays, device, seed=0):
    """fn's output on `device` and the gradients of sum(out * w) (w random) for each input."""
    xs = [pe.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*xs)
    w = pe.tensor(np.random.default_rng(seed).standard_normal(out.shape).astype(arrays[0].dtype), device=device)
    (out * w).sum().backward()
    return out.detach().cpu().numpy(), [x.grad.cpu().numpy() for x in xs], w.cpu().numpy()


def _index_fns(device):
    idx = pe.tensor([2, -1, 0, 2], device=device)
    gidx = pe.tensor([[0, 3, 3], [1, 1, 0], [2, 0, 0]], device=device)
    sel = pe.tensor([3, 0, 3], device=device)
    return {
        "x[idx]": (lambda x: x[idx], 1),
        "x[idx, 1:]": (lambda x: x[idx[:2], 1:], 1),
        "gather": (lambda x: pe.gather(x, 1, gidx), 1),
        "index_select": (lambda x: pe.index_select(x, 1, sel), 1),
        "cat": (lambda x, y: pe.cat([x, y, x], 0), 2),
        "stack": (lambda x, y: pe.stack([y, x], 1), 2),
        "tril": (lambda x: pe.tril(x, -1), 1),
    }


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(_index_fns("cpu")))
def test_backward_matches_cpu(device, dtype, name):
    arrays = [rand((3, 4), dtype, 20), rand((3, 4), dtype, 21)]
    fn, n = _index_fns(device)[name]
    out, grads, w = _grads(fn, arrays[:n], device)
    ref_fn = _index_fns("cpu")[name][0]
    ref_out, ref_grads, _ = _grads(ref_fn, arrays[:n], "cpu")
    np.testing.assert_array_equal(out, ref_out)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-6)
    if name == "x[idx]":  # and against NumPy: duplicates add up
        expected = np.zeros((3, 4), dtype)
        np.add.at(expected, [2, -1, 0, 2], w)
        np.testing.assert_allclose(grads[0], expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["x[idx]", "x[idx, 1:]", "gather", "index_select", "cat", "tril"])
def test_float64_gradcheck(device, name):
    fn, n = _index_fns(device)[name]
    xs = [pe.tensor(rand((3, 4), "float64", 30 + k), device=device, requires_grad=True) for k in range(n)]
    assert pe.autograd.gradcheck(fn, xs)
