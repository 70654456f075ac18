"""Elementwise family of _C against NumPy (and PyTorch's promotion rules when torch is there).

Covers every unary/binary op over float32/float64 (+int64/bool where the op takes them), edge
sizes, strided/transposed/sliced/broadcast views, Python scalars, type promotion, out= and
in-place aliasing, error paths, every ISA build, and a hypothesis property for broadcasting.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyengine import _C

SIZES = [0, 1, 7, 13, 1031]
FLOATS = ["float32", "float64"]
ALL_DTYPES = ["bool", "int64", "float32", "float64"]
RTOL = {"float32": 2e-6, "float64": 1e-13}


def T(a):
    return _C.from_numpy(np.asarray(a))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_sign(x):
    if x.dtype == bool:
        return x.copy()
    s = np.sign(x)
    return np.where(np.isnan(s), 0, s).astype(x.dtype) if x.dtype.kind == "f" else s


def np_relu(x):
    return np.where(x < 0, np.zeros_like(x), x)  # NaN passes through, as in PyTorch


# name -> (numpy reference on the compute-dtype input, domain); domains as in elementwise_math.h
UNARY = {
    "neg": (np.negative, "numeric"),
    "abs": (np.abs, "numeric"),
    "exp": (np.exp, "float"),
    "log": (np.log, "float"),
    "log1p": (np.log1p, "float"),
    "expm1": (np.expm1, "float"),
    "sqrt": (np.sqrt, "float"),
    "rsqrt": (lambda x: 1 / np.sqrt(x), "float"),
    "sin": (np.sin, "float"),
    "cos": (np.cos, "float"),
    "tanh": (np.tanh, "float"),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), "float"),
    "relu": (np_relu, "numeric"),
    "erf": (lambda x: _erf(x).astype(x.dtype), "float"),
    "sign": (np_sign, "all"),
    "floor": (np.floor, "numeric"),
    "ceil": (np.ceil, "numeric"),
    "round": (np.round, "numeric"),  # half to even, like nearbyint
    "logical_not": (np.logical_not, "all"),
    "reciprocal": (lambda x: 1 / x, "float"),
    "square": (np.square, "bool_as_int"),
}

BINARY = {
    "add": (np.add, "all"),  # on bools: or
    "sub": (np.subtract, "numeric"),
    "mul": (np.multiply, "all"),  # on bools: and
    "div": (np.true_divide, "float"),
    "pow": (np.power, "numeric"),
    "maximum": (np.maximum, "all"),
    "minimum": (np.minimum, "all"),
    "eq": (np.equal, "all"),
    "ne": (np.not_equal, "all"),
    "lt": (np.less, "all"),
    "le": (np.less_equal, "all"),
    "gt": (np.greater, "all"),
    "ge": (np.greater_equal, "all"),
    "logical_and": (np.logical_and, "all"),
    "logical_or": (np.logical_or, "all"),
    "logical_xor": (np.logical_xor, "all"),
}
BOOL_RESULT = {"logical_not", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"}


def compute_dtype(domain, dtype):
    if domain == "float":
        return dtype if dtype in FLOATS else "float32"
    if domain == "bool_as_int" and dtype == "bool":
        return "int64"
    return dtype


def takes(domain, dtype):
    return not (domain == "numeric" and dtype == "bool")


def sample(n, dtype, rng, positive=False, small=False):
    if dtype == "bool":
        return rng.random(n) < 0.5
    if dtype == "int64":
        lo = 0 if positive else -5
        return rng.integers(lo, 6 if small else 50, n).astype(np.int64)
    x = rng.standard_normal(n) * (1.5 if small else 3)
    if positive:
        x = np.abs(x) + 0.05
    return x.astype(dtype)


def unary_input(name, n, dtype, rng):
    positive = name in ("log", "sqrt", "rsqrt", "log1p")
    x = sample(n, dtype, rng, positive=positive)
    if name == "round" and dtype in FLOATS and n:
        x[: min(n, 4)] = np.array([0.5, 1.5, -2.5, 2.4])[: min(n, 4)]  # ties go to even
    if name == "reciprocal" and dtype != "bool":
        x = np.where(x == 0, 1, x).astype(x.dtype)
    return x


def check_close(got, want, dtype):
    assert got.dtype == np.dtype(want.dtype), (got.dtype, want.dtype)
    if dtype in RTOL and got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype])
    else:
        np.testing.assert_array_equal(got, want)


def unary_reference(name, x):
    fn, domain = UNARY[name]
    cd = compute_dtype(domain, str(x.dtype))
    with np.errstate(all="ignore"):
        want = fn(x.astype(cd))
    return np.asarray(want).astype("bool" if name in BOOL_RESULT else cd), cd


def binary_reference(name, a, b, cd):
    fn, _ = BINARY[name]
    with np.errstate(all="ignore"):
        want = fn(np.asarray(a).astype(cd), np.asarray(b).astype(cd))
    return np.asarray(want).astype("bool" if name in BOOL_RESULT else cd)


@pytest.fixture
def restore_isa():
    isa = _C.active_isa()
    yield
    _C.set_isa(isa)


# ------------------------------------------------------------------------------------------
# Every op, every dtype, edge sizes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_numpy(name, dtype):
    domain = UNARY[name][1]
    if not takes(domain, dtype):
        with pytest.raises(TypeError, match="bool"):
            getattr(_C, name)(T(np.array([True, False])))
        return
    rng = np.random.default_rng(0)
    for n in SIZES:
        x = unary_input(name, n, dtype, rng)
        want, cd = unary_reference(name, x)
        got = getattr(_C, name)(T(x))
        assert got.shape == (n,) and got.dtype == str(want.dtype)
        check_close(got.numpy(), want, cd)
        strided = getattr(_C, name)(_C.slice(T(x), 0, 0, None, 2))  # the byte-stride loop
        check_close(strided.numpy(), want[::2], cd)


def binary_inputs(name, n, dtype, rng):
    a = sample(n, dtype, rng, small=name == "pow")
    b = sample(n, dtype, rng, positive=name == "pow", small=name == "pow")
    if dtype != "bool" and n > 2 and name != "pow":
        b[:2] = a[:2]  # exercise equality in comparisons
    if name == "div" and dtype == "int64":
        b = np.where(b == 0, 3, b)
    return a, b


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_numpy(name, dtype):
    domain = BINARY[name][1]
    if not takes(domain, dtype):
        with pytest.raises(TypeError, match="bool"):
            getattr(_C, name)(T(np.array([True])), T(np.array([False])))
        return
    rng = np.random.default_rng(1)
    cd = compute_dtype(domain, dtype)
    for n in SIZES:
        a, b = binary_inputs(name, n, dtype, rng)
        want = binary_reference(name, a, b, cd)
        got = getattr(_C, name)(T(a), T(b))
        assert got.shape == (n,) and got.dtype == str(want.dtype)
        check_close(got.numpy(), want, cd)
        # the byte-stride loop, and a broadcast (stride 0) operand on either side
        strided = getattr(_C, name)(_C.slice(T(a), 0, 0, n - 1, 2), _C.slice(T(b), 0, 1, n, 2))
        check_close(strided.numpy(), binary_reference(name, a[0 : n - 1 : 2], b[1:n:2], cd), cd)
        if n:
            a0, b0 = _C.expand(T(a[:1]), [n]), _C.expand(T(b[:1]), [n])
            check_close(getattr(_C, name)(T(a), b0).numpy(), binary_reference(name, a, b[:1], cd), cd)
            check_close(getattr(_C, name)(a0, T(b)).numpy(), binary_reference(name, a[:1], b, cd), cd)


@pytest.mark.parametrize("dtype", FLOATS)
def test_fused_backward_helpers(dtype):
    rng = np.random.default_rng(2)
    for n in SIZES:
        g, x = sample(n, dtype, rng), sample(n, dtype, rng)
        y = np.tanh(x)
        check_close(_C.relu_backward(T(g), T(x)).numpy(), np.where(x > 0, g, 0).astype(dtype), dtype)
        check_close(_C.sigmoid_backward(T(g), T(y)).numpy(), g * y * (1 - y), dtype)
        check_close(_C.tanh_backward(T(g), T(y)).numpy(), g * (1 - y * y), dtype)
        want = g * 2 / np.sqrt(np.pi) * np.exp(-(x.astype(np.float64) ** 2))
        np.testing.assert_allclose(_C.erf_backward(T(g), T(x)).numpy(), want, rtol=10 * RTOL[dtype], atol=1e-6)
    # keyword names say which saved tensor each helper wants
    one = T(np.ones(2, dtype))
    assert _C.relu_backward(grad=one, x=one).dtype == dtype
    assert _C.sigmoid_backward(grad=one, y=one).numpy().tolist() == [0, 0]


def test_relu_backward_int_and_promotion():
    g = T(np.array([1, 2, 3]))
    x = T(np.array([-1.0, 0.0, 2.0], np.float32))
    got = _C.relu_backward(g, x)
    assert got.dtype == "float32" and got.numpy().tolist() == [0, 0, 3]
    assert _C.tanh_backward(g, T(np.array([0, 1, 2]))).dtype == "float32"


def test_special_values():
    nan, inf = float("nan"), float("inf")
    x = T(np.array([nan, -0.0, 2.5, -1.5, inf, -inf]))
    np.testing.assert_array_equal(_C.sign(x).numpy(), [0, 0, 1, -1, 1, -1])
    np.testing.assert_array_equal(_C.relu(x).numpy(), [nan, 0, 2.5, 0, inf, 0])
    np.testing.assert_array_equal(_C.sigmoid(x).numpy()[4:], [1, 0])
    np.testing.assert_array_equal(_C.maximum(x, 0.0).numpy(), [nan, 0, 2.5, 0, inf, 0])
    np.testing.assert_array_equal(_C.minimum(0.0, x).numpy(), [nan, -0.0, 0, -1.5, 0, -inf])
    np.testing.assert_array_equal(_C.logical_not(x).numpy(), [False, True, False, False, False, False])
    # float32 sigmoid saturates instead of overflowing to NaN
    np.testing.assert_array_equal(_C.sigmoid(T(np.array([-200, 200], np.float32))).numpy(), [0, 1])


def test_int64_wraps_and_integer_pow():
    big = np.iinfo(np.int64)
    x = T(np.array([big.max, big.min]))
    assert _C.add(x, 1).numpy().tolist() == [big.min, big.min + 1]
    assert _C.neg(x).numpy().tolist() == [big.min + 1, big.min]
    assert _C.abs(x).numpy().tolist() == [big.max, big.min]
    # tensor exponents follow PyTorch's integer pow: only 1 and -1 survive negative powers
    base = T(np.array([-1, 1, 0, 2, -1, 3]))
    exp = T(np.array([-3, -3, -1, -1, 4, 3]))
    assert _C.pow(base, exp).numpy().tolist() == [-1, 1, 0, 0, 1, 27]
    assert _C.pow(2, T(np.array([0, 10, 62]))).numpy().tolist() == [1, 1024, 2**62]
    with pytest.raises(ValueError, match="negative integer powers"):
        _C.pow(base, -1)
    assert _C.pow(base, -1.0).dtype == "float32"


# ------------------------------------------------------------------------------------------
# Layouts: strided, transposed, sliced, broadcast (stride 0) and 0-d
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_strided_views(dtype):
    rng = np.random.default_rng(3)
    base = sample(13 * 7 * 2, dtype, rng).reshape(13, 14)
    a_np = base[:, ::2]  # sliced: step-2 columns
    b_np = sample(7 * 13, dtype, rng).reshape(7, 13).T  # transposed
    a = _C.slice(T(base), 1, 0, None, 2)
    b = _C.transpose(T(np.ascontiguousarray(b_np.T)), 0, 1)
    assert not a.is_contiguous() and not b.is_contiguous()
    col = sample(13, dtype, rng)
    c = _C.expand(_C.unsqueeze(T(col), 1), [13, 7])  # stride 0 along dim 1
    assert c.strides[1] == 0
    check_close(_C.add(a, b).numpy(), a_np + b_np, dtype)
    check_close(_C.mul(b, c).numpy(), b_np * col[:, None], dtype)
    check_close(_C.maximum(c, a).numpy(), np.maximum(col[:, None], a_np), dtype)
    check_close(_C.abs(b).numpy(), np.abs(b_np), dtype)
    check_close(_C.square(a).numpy(), np.square(a_np), dtype)
    check_close(_C.lt(a, b).numpy(), a_np < b_np, dtype)
    if dtype in FLOATS:
        check_close(_C.exp(b).numpy(), np.exp(b_np), dtype)
        check_close(_C.tanh(c).numpy(), np.tanh(np.broadcast_to(col[:, None], (13, 7))), dtype)
    # a transposed 3-d view mixed with a sliced one
    x3 = sample(2 * 3 * 5, dtype, rng).reshape(2, 3, 5)
    y3 = sample(5 * 3 * 4, dtype, rng).reshape(5, 3, 4)
    got = _C.sub(_C.permute(T(x3), [2, 1, 0]), _C.slice(T(y3), 2, 1, 3))
    check_close(got.numpy(), x3.transpose(2, 1, 0) - y3[:, :, 1:3], dtype)


@pytest.mark.parametrize(
    "sa, sb",
    [((), ()), ((), (5,)), ((4, 1), (3,)), ((3, 1, 5), (4, 5)), ((1,), (2, 3)), ((2, 0, 3), (1, 3)), ((0,), ())],
)
def test_broadcasting_shapes(sa, sb):
    rng = np.random.default_rng(4)
    a = rng.standard_normal(sa)
    b = rng.standard_normal(sb)
    for x, y in ((a, b), (b, a)):
        got = _C.add(T(x), T(y))
        want = x + y
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want)
        assert _C.ge(T(x), T(y)).numpy().tolist() == (np.asarray(x) >= y).tolist()


def test_where_and_clamp():
    rng = np.random.default_rng(5)
    for n in SIZES:
        x = rng.standard_normal(n)
        c = x > 0.3
        np.testing.assert_array_equal(_C.where(T(c), T(x), T(-x)).numpy(), np.where(c, x, -x))
        np.testing.assert_array_equal(_C.clamp(T(x), -0.5, 0.5).numpy(), np.clip(x, -0.5, 0.5))
    x = rng.standard_normal((4, 5))
    c = rng.random((4, 1)) < 0.5
    # broadcast condition, scalar branch, transposed branch
    got = _C.where(T(c), _C.transpose(T(x.T.copy()), 0, 1), 0.0)
    np.testing.assert_array_equal(got.numpy(), np.where(c, x, 0.0))
    assert _C.where(True, T(np.array([1, 2])), 2.5).dtype == "float32"
    assert _C.where(T(c), 1, 2).shape == (4, 1)
    # clamp: one bound, tensor bounds that broadcast, min > max gives max, promotion
    np.testing.assert_array_equal(_C.clamp(T(x), min=0.0).numpy(), np.maximum(x, 0))
    np.testing.assert_array_equal(_C.clamp(T(x), max=0.0).numpy(), np.minimum(x, 0))
    lo = rng.standard_normal(5) - 1
    np.testing.assert_array_equal(_C.clamp(T(x), T(lo), 0.25).numpy(), np.minimum(np.maximum(x, lo), 0.25))
    np.testing.assert_array_equal(_C.clamp(T(x), 1.0, 0.0).numpy(), np.zeros((4, 5)))
    assert _C.clamp(T(np.array([1, 5])), 2, 3).numpy().tolist() == [2, 3]
    assert _C.clamp(T(np.array([True, False])), min=True).numpy().tolist() == [True, True]
    assert _C.clamp(T(np.array([1, 5])), min=0.5).dtype == "float32"
    nan_bound = _C.clamp(T(np.array([1.0, 5.0])), min=T(np.array([2.0, np.nan])))
    np.testing.assert_array_equal(nan_bound.numpy(), [2.0, np.nan])


# ------------------------------------------------------------------------------------------
# Python scalars and type promotion
# ------------------------------------------------------------------------------------------


def test_scalars_either_side():
    x64 = np.linspace(-2, 2, 13)
    x32 = x64.astype(np.float32)
    # the number's value goes straight to the compute dtype: float64 uses the double 0.1
    np.testing.assert_array_equal(_C.mul(T(x64), 0.1).numpy(), x64 * 0.1)
    np.testing.assert_array_equal(_C.mul(0.1, T(x64)).numpy(), 0.1 * x64)
    np.testing.assert_array_equal(_C.mul(T(x32), 0.1).numpy(), x32 * np.float32(0.1))
    np.testing.assert_array_equal(_C.sub(1, T(x32)).numpy(), np.float32(1) - x32)
    np.testing.assert_array_equal(_C.div(T(x64), 3).numpy(), x64 / 3)
    np.testing.assert_array_equal(_C.pow(T(x64), 2).numpy(), x64**2)
    np.testing.assert_array_equal(_C.pow(T(x32), 2.0).numpy(), x32 * x32)
    assert _C.pow(T(np.array([3, -4])), 2.0).numpy().tolist() == [9.0, 16.0]  # float32 result
    assert _C.pow(T(np.array([3, -4])), 2.0).dtype == "float32"
    assert _C.pow(T(np.array([True, False])), 2).numpy().tolist() == [1, 0]
    np.testing.assert_allclose(_C.pow(2.0, T(x32)).numpy(), np.float32(2.0) ** x32, rtol=2e-7)
    ints = np.arange(-3, 4)
    got = _C.add(T(ints), 0.5)
    assert got.dtype == "float32"
    np.testing.assert_array_equal(got.numpy(), ints.astype(np.float32) + np.float32(0.5))
    assert _C.add(T(ints), True).numpy().tolist() == (ints + 1).tolist()
    assert _C.mul(T(ints > 0), 3).dtype == "int64"
    assert _C.gt(T(ints), 0.5).numpy().tolist() == (ints > 0.5).tolist()
    assert _C.div(T(ints), 2).numpy().tolist() == (ints / 2).tolist()
    assert _C.logical_and(T(ints), 0).numpy().tolist() == [False] * 7
    # a large int converts exactly when the result is int64
    assert _C.add(T(np.array([0])), 2**62 + 1).numpy().tolist() == [2**62 + 1]
    # two numbers make a 0-d tensor
    two = _C.add(2, 3.5)
    assert two.shape == () and two.dtype == "float32" and float(two.numpy()) == 5.5
    # numpy scalars are numbers too
    assert _C.add(T(x32), np.float64(1.0)).dtype == "float32"
    assert _C.add(T(ints), np.int64(2)).numpy().tolist() == (ints + 2).tolist()


def _operands():
    """(label, _C operand, torch operand) for every tier and dtype."""
    torch = pytest.importorskip("torch")
    out = []
    for dt in ALL_DTYPES:
        arr = np.array([1, 0, 1]).astype(dt)
        out.append((f"tensor[{dt}]", T(arr), torch.from_numpy(arr)))
        zero = np.array(1).astype(dt)
        out.append((f"0d[{dt}]", T(zero), torch.from_numpy(zero)))
    for v in (True, 2, 2.5):
        out.append((repr(v), v, v))
    return torch, out


def test_result_type_matches_torch():
    torch, operands = _operands()
    for la, a, ta in operands:
        for lb, b, tb in operands:
            want = str(torch.result_type(ta, tb)).replace("torch.", "")
            assert _C.result_type(a, b) == want, (la, lb)


@pytest.mark.parametrize("name", sorted(BINARY) + ["relu_backward"])
def test_binary_dtypes_match_torch(name):
    torch, operands = _operands()
    tfn = (lambda g, x: torch.ops.aten.threshold_backward(g, x, 0)) if name == "relu_backward" else getattr(torch, name)
    for la, a, ta in operands:
        for lb, b, tb in operands:
            if not (isinstance(ta, torch.Tensor) or isinstance(tb, torch.Tensor)):
                continue  # torch needs a tensor operand; we allow two numbers
            if name == "relu_backward" and not (isinstance(ta, torch.Tensor) and isinstance(tb, torch.Tensor)):
                continue  # aten's threshold_backward takes two tensors
            try:  # torch's functions want the tensor first; the result dtype is symmetric
                first, second = (ta, tb) if isinstance(ta, torch.Tensor) else (tb, ta)
                want = str(tfn(first, second).dtype).replace("torch.", "")
            except TypeError:
                continue  # e.g. torch.maximum and logical_* take no numbers (ours follow the same rules)
            except RuntimeError:
                want = None
            if name == "pow" and "True" in (la, lb) and want == "bool":
                continue  # torch shortcuts x ** 1 to a copy even where pow has no bool kernel
            if want is None:
                with pytest.raises((TypeError, ValueError)):
                    getattr(_C, name)(a, b)
            else:
                assert getattr(_C, name)(a, b).dtype == want, (name, la, lb)


def test_where_and_clamp_dtypes_match_torch():
    torch, operands = _operands()
    cond, tcond = T(np.array([True, False, True])), torch.tensor([True, False, True])
    for la, a, ta in operands:
        for lb, b, tb in operands:
            want = str(torch.where(tcond, ta, tb).dtype).replace("torch.", "")
            assert _C.where(cond, a, b).dtype == want, ("where", la, lb)
            if not isinstance(ta, torch.Tensor):
                continue
            try:
                want = str(torch.clamp(ta, min=tb).dtype).replace("torch.", "")
            except (RuntimeError, TypeError, NotImplementedError):
                continue  # torch has no bool kernel for number bounds; ours clamps bools like maximum
            assert _C.clamp(a, min=b).dtype == want, ("clamp", la, lb)


def test_unary_dtypes_match_torch():
    torch = pytest.importorskip("torch")
    for name in UNARY:
        for dt in ALL_DTYPES:
            arr = np.array([1, 0, 1]).astype(dt)
            try:
                want = str(getattr(torch, name)(torch.from_numpy(arr)).dtype).replace("torch.", "")
            except RuntimeError:
                want = None
            if want is None:
                with pytest.raises(TypeError):
                    getattr(_C, name)(T(arr))
            else:
                assert getattr(_C, name)(T(arr)).dtype == want, (name, dt)


def test_values_match_torch_with_scalars():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal(31)
    for dt in ("float32", "float64", "int64"):
        arr = (x * 10).astype(dt)
        for v in (0.1, 3, True, -2.5):
            for name in ("add", "sub", "mul", "div", "ge", "eq"):
                if name == "sub" and v is True:
                    continue
                want = getattr(torch, name)(torch.from_numpy(arr), v).numpy()
                got = getattr(_C, name)(T(arr), v).numpy()
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------------------
# out= and in-place aliasing
# ------------------------------------------------------------------------------------------


def test_out_writes_bumps_version_and_casts():
    a = np.arange(6.0).reshape(2, 3)
    out = _C.empty([2, 3], "float64")
    v0 = out.version
    res = _C.add(T(a), 1.0, out=out)
    assert res.data_ptr == out.data_ptr and out.version > v0
    np.testing.assert_array_equal(out.numpy(), a + 1)
    # float32 result into float64 out, bool result into float out, int result into float out
    out = _C.empty([2, 3], "float64")
    _C.exp(T(a.astype(np.float32)), out=out)
    np.testing.assert_allclose(out.numpy(), np.exp(a.astype(np.float32)), rtol=1e-6)
    _C.lt(T(a), 2.5, out=out)
    np.testing.assert_array_equal(out.numpy(), (a < 2.5).astype(np.float64))
    _C.mul(T(np.arange(6).reshape(2, 3)), 2, out=out)
    np.testing.assert_array_equal(out.numpy(), np.arange(6).reshape(2, 3) * 2)
    # a strided out view (every other column)
    big = np.zeros((2, 6))
    _C.sub(T(a), 0.5, out=_C.slice(T(big), 1, 0, None, 2))
    np.testing.assert_array_equal(big[:, ::2], a - 0.5)
    assert (big[:, 1::2] == 0).all()
    # clamp with out
    o = _C.empty([2, 3], "float64")
    _C.clamp(T(a), 1, 4, out=o)
    np.testing.assert_array_equal(o.numpy(), np.clip(a, 1, 4))


def test_out_errors():
    a = T(np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match="float64.*int64"):
        _C.add(a, a, out=_C.empty([2, 3], "int64"))
    with pytest.raises(RuntimeError, match="float32.*int64"):
        _C.sqrt(T(np.array([4, 9])), out=_C.empty([2], "int64"))
    with pytest.raises(RuntimeError, match="int64.*bool"):
        _C.add(T(np.array([1])), 1, out=_C.empty([1], "bool"))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        _C.add(a, a, out=_C.empty([3, 2], "float64"))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        _C.exp(a, out=_C.empty([3], "float64"))
    with pytest.raises(ValueError, match=r"pow: .*\(3,\).*\(2, 3\)"):
        _C.pow(a, 2, out=_C.empty([3], "float64"))
    expanded = _C.expand(T(np.zeros((1, 3))), [2, 3])
    with pytest.raises(RuntimeError, match="refers to a single memory location"):
        _C.add(a, a, out=expanded)


def test_inplace_aliasing():
    rng = np.random.default_rng(7)
    x_np = rng.standard_normal((5, 5))
    # same view: x.add_(y)
    x = T(x_np.copy())
    _C.add(x, 2.0, out=x)
    np.testing.assert_array_equal(x.numpy(), x_np + 2)
    # out overlaps an input with different strides: x += x.T needs a temporary
    x = T(x_np.copy())
    _C.add(x, _C.transpose(x, 0, 1), out=x)
    np.testing.assert_array_equal(x.numpy(), x_np + x_np.T)
    # out overlaps a broadcast row of itself: x -= x[0]
    x = T(x_np.copy())
    _C.sub(x, _C.select(x, 0, 0), out=x)
    np.testing.assert_array_equal(x.numpy(), x_np - x_np[0])
    # shifted views of one buffer: y[1:] = y[:-1] * 2
    y_np = np.arange(10.0)
    y = T(y_np.copy())
    _C.mul(_C.slice(y, 0, 0, 9), 2.0, out=_C.slice(y, 0, 1, 10))
    np.testing.assert_array_equal(y.numpy(), np.concatenate([[0.0], y_np[:-1] * 2]))
    # unary in place and with an overlapping transposed out
    x = T(x_np.copy())
    _C.neg(x, out=x)
    np.testing.assert_array_equal(x.numpy(), -x_np)
    x = T(x_np.copy())
    _C.abs(_C.transpose(x, 0, 1), out=x)
    np.testing.assert_array_equal(x.numpy(), np.abs(x_np.T))
    # clamp in place with a bound that is a transposed view of x
    x = T(x_np.copy())
    _C.clamp(x, min=_C.transpose(x, 0, 1), out=x)
    np.testing.assert_array_equal(x.numpy(), np.maximum(x_np, x_np.T))
    # clamp into its own max bound: the second pass must still see the original bound
    y = T(x_np.copy())
    _C.clamp(T(x_np * 2), min=-0.5, max=y, out=y)
    np.testing.assert_array_equal(y.numpy(), np.minimum(np.maximum(x_np * 2, -0.5), x_np))


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


def test_error_paths():
    a = T(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        _C.add(a, T(np.zeros(4)))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        _C.where(T(np.array([True, False])), a, 0.0)
    with pytest.raises(TypeError, match="bool"):
        _C.neg(T(np.array([True])))
    with pytest.raises(TypeError, match="bool"):
        _C.sub(T(np.array([1, 2])), True)
    with pytest.raises(TypeError, match="bool"):
        _C.sub(T(np.array([True])), T(np.array([1])))
    with pytest.raises(TypeError, match="bool condition, got float64"):
        _C.where(a, a, a)
    with pytest.raises(TypeError, match="bool condition, got int64"):
        _C.where(1, a, a)
    with pytest.raises(ValueError, match="at least one of 'min' or 'max'"):
        _C.clamp(a)
    with pytest.raises(TypeError):
        _C.exp(1.0)  # unary ops take tensors
    with pytest.raises(TypeError):
        _C.add(a, "x")


# ------------------------------------------------------------------------------------------
# ISA builds, threads, property test
# ------------------------------------------------------------------------------------------


def _isas():
    order = ["generic", "avx2", "avx512"]
    return order[: order.index(_C.best_isa()) + 1]


def test_every_isa_build_agrees(restore_isa):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(1031)
    y = rng.standard_normal(1031).astype(np.float32)
    c = x > 0
    results = {}
    for isa in _isas():
        _C.set_isa(isa)
        assert _C.kernel_isa() == isa
        results[isa] = [
            _C.add(T(x), T(x[::-1].copy())).numpy(),
            _C.mul(T(y), 0.3).numpy(),
            _C.exp(T(y)).numpy(),
            _C.sigmoid(T(x)).numpy(),
            _C.maximum(_C.slice(T(x), 0, 0, None, 3), 0.1).numpy(),
            _C.lt(T(y), 0.0).numpy(),
            _C.where(T(c), T(x), -1.0).numpy(),
            _C.pow(T(np.arange(20)), 3).numpy(),
            _C.tanh_backward(T(y), T(np.tanh(y))).numpy(),
        ]
    ref = results["generic"]
    np.testing.assert_array_equal(ref[0], x + x[::-1])
    for isa, res in results.items():
        for got, want in zip(res, ref):
            # FMA contraction may differ between builds: compare to float32 rounding
            np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6, err_msg=isa)


def test_thread_count_does_not_change_results():
    x = np.random.default_rng(9).standard_normal((300, 301))
    old = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        one = _C.sin(_C.transpose(T(x), 0, 1)).numpy()
        _C.set_num_threads(2)
        two = _C.sin(_C.transpose(T(x), 0, 1)).numpy()
    finally:
        _C.set_num_threads(old)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(one, np.sin(x.T), rtol=1e-13)


@st.composite
def broadcastable_shapes(draw):
    full = draw(st.lists(st.integers(0, 4), min_size=0, max_size=4))

    def derive():
        nd = draw(st.integers(0, len(full)))
        tail = full[len(full) - nd :]
        return [1 if draw(st.booleans()) else s for s in tail]

    return derive(), derive()


@settings(max_examples=60, deadline=None)
@given(broadcastable_shapes(), st.sampled_from(["add", "mul", "maximum", "ge"]), st.sampled_from(ALL_DTYPES),
       st.booleans())
def test_broadcasting_property(shapes, name, dtype, transpose):
    sa, sb = shapes
    rng = np.random.default_rng(len(sa) * 7 + len(sb))
    a = sample(int(np.prod(sa)), dtype, rng).reshape(sa)
    b = sample(int(np.prod(sb)), dtype, rng).reshape(sb)
    ta = T(a)
    if transpose and a.ndim >= 2:  # feed a transposed view holding the same values
        ta = _C.transpose(T(np.ascontiguousarray(np.swapaxes(a, 0, 1))), 0, 1)
    got = getattr(_C, name)(ta, T(b))
    want = binary_reference(name, a, b, dtype)
    assert got.shape == want.shape == np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_vectorised_exp_and_sigmoid_accuracy_on_every_isa(restore_isa, dtype):
    # exp and sigmoid run fast_math.h's exp on the CPU (range reduction + polynomial + 2^k from
    # exponent bits in two halves): within 2 ulp of a more precise reference over the whole
    # range, denormal results included, and exact on the special values.
    lo, hi = (-110.0, 95.0) if dtype == "float32" else (-750.0, 715.0)
    x = np.linspace(lo, hi, 200_003).astype(dtype)
    edges = [0.0, -0.0, 1e-30, -1e-30, 88.72283, 88.72284, -87.33, -103.97, -103.98, 709.78, 709.79, -745.13,
             -745.14, -708.4, -708.39]
    x = np.concatenate([x, np.array(edges, dtype=dtype)])
    exact = np.exp(x.astype(np.longdouble))
    with np.errstate(over="ignore"):
        want = exact.astype(dtype)
    finite = np.isfinite(want)
    for isa in _isas():
        _C.set_isa(isa)
        got = _C.exp(T(x)).numpy()
        ulps = np.abs(got[finite].astype(np.longdouble) - exact[finite]) / np.spacing(np.abs(want[finite]))
        assert ulps.max() <= 2.0, (isa, float(ulps.max()), x[finite][ulps.argmax()])
        np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=isa)  # inf past the top
        specials = _C.exp(T(np.array([np.inf, -np.inf, np.nan, 0.0], dtype=dtype))).numpy()
        np.testing.assert_array_equal(specials[[0, 1, 3]], [np.inf, 0.0, 1.0])
        assert np.isnan(specials[2])
        s = _C.sigmoid(T(x)).numpy()  # the far negative tail keeps its tiny (denormal) values, like PyTorch
        want_s = (1 / (1 + np.exp(-x.astype(np.longdouble)))).astype(dtype)
        tiny = np.finfo(dtype).smallest_subnormal
        np.testing.assert_allclose(s, want_s, rtol=4 * np.finfo(dtype).eps, atol=2 * tiny, err_msg=isa)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_vectorised_tanh_accuracy_on_every_isa(restore_isa, dtype):
    # tanh runs fast_math.h on the CPU: a polynomial/rational form below |x| = 0.625, 1 - 2/(e^2|x|+1)
    # above; within 2 ulp everywhere, tiny inputs included, signed zeros and specials exact.
    x = np.concatenate([np.linspace(-20, 20, 100_001), np.geomspace(1e-30, 0.7, 20_000),
                        -np.geomspace(1e-30, 0.7, 20_000), [0.6249, 0.625, 0.6251, -0.625, 1e-300]]).astype(dtype)
    exact = np.tanh(x.astype(np.longdouble))
    want = exact.astype(dtype)
    for isa in _isas():
        _C.set_isa(isa)
        got = _C.tanh(T(x)).numpy()
        ulps = np.abs(got.astype(np.longdouble) - exact) / np.spacing(np.abs(want))
        assert ulps.max() <= 2.0, (isa, float(ulps.max()), x[ulps.argmax()])
        sp = _C.tanh(T(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], dtype=dtype))).numpy()
        np.testing.assert_array_equal(sp[[0, 1, 3, 4]], [1.0, -1.0, 0.0, -0.0])
        assert np.isnan(sp[2]) and np.signbit(sp[4]) and not np.signbit(sp[3])
