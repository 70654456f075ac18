"""Integer semantics against PyTorch: floor division and remainder (Python-style rounding,
ZeroDivisionError for integer division by zero on every device, PyTorch's float formulas),
int64 values above 2**53 kept exact (full, fill_, *_like, item assignment, masked_fill, clamp,
comparisons, arithmetic, arange), Python ints outside int64 refused as PyTorch refuses them,
and NumPy arrays of any byte order, stride and writeability entering with their own values."""
import subprocess
import sys

import numpy as np
import pytest

import pyengine as pe
from _child_python import run_python

torch = pytest.importorskip("torch")

BIG = 2**53 + 1  # the first int64 a double cannot hold
INT64_MAX, INT64_MIN = 2**63 - 1, -2**63


def same(got, want):
    """Same values (NaN where NaN) and the same dtype as the torch result."""
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (got.dtype, want.dtype)
    np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().numpy())


def outcome(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - the type is what the tests compare
        return None, e


def same_error(p_call, t_call, match=None):
    _, want = outcome(t_call)
    _, got = outcome(p_call)
    assert want is not None, "torch accepted it"
    assert got is not None, "pyengine accepted it"
    assert isinstance(got, type(want)), (got, want)  # catchable as what PyTorch raises (ArgumentError is both)
    if match:
        assert match in str(got), str(got)
    return got


def ints(shape, seed, lo=-50, hi=50, zero_free=False):
    rng = np.random.default_rng(seed)
    a = rng.integers(lo, hi, size=shape, dtype=np.int64)
    if zero_free:
        a[a == 0] = 7
    return a


# ---------------------------------------------------------------- floor division and remainder
DIV_OPS = [("floor_divide", lambda a, b: a // b), ("remainder", lambda a, b: a % b)]


@pytest.mark.parametrize("name,op", DIV_OPS)
@pytest.mark.parametrize("shapes", [((12,), (12,)), ((3, 4), (4,)), ((2, 1), (1, 3)), ((), (5,))])
def test_integer_division_rounds_toward_minus_infinity(device, name, op, shapes):
    a, b = ints(shapes[0], 1), ints(shapes[1], 2, zero_free=True)
    pa, pb = pe.tensor(a, device=device), pe.tensor(b, device=device)
    ta, tb = torch.tensor(a), torch.tensor(b)
    same(op(pa, pb), op(ta, tb))
    same(getattr(pe, name)(pa, pb), getattr(torch, name)(ta, tb))
    same(getattr(pa, name)(pb), getattr(ta, name)(tb))


@pytest.mark.parametrize("name,op", DIV_OPS)
@pytest.mark.parametrize("number", [2, -2, 3, -7, 1, -1, 2.5, -0.5, True])
def test_numbers_on_either_side(device, name, op, number):
    a = ints((9,), 3, zero_free=True)
    pa, ta = pe.tensor(a, device=device), torch.tensor(a)
    same(op(pa, number), op(ta, number))
    same(op(number, pa), op(number, ta))


def test_negative_examples_and_int64_extremes(device):
    t = lambda v: pe.tensor(v, device=device)  # noqa: E731
    assert (t([-7, 7, -7, 7]) // t([2, -2, -2, 2])).tolist() == [-4, -4, 3, 3]
    assert (t([-7, 7, -7, 7]) % t([2, -2, -2, 2])).tolist() == [1, -1, -1, 1]
    # INT64_MIN // -1 traps in C; PyTorch wraps to INT64_MIN and the remainder is 0
    ends = [INT64_MIN, INT64_MAX, 5]
    for op in (lambda a, b: a // b, lambda a, b: a % b):
        same(op(t(ends), -1), op(torch.tensor(ends), -1))
        same(op(t(ends[:2]), t([-1, INT64_MIN])), op(torch.tensor(ends[:2]), torch.tensor([-1, INT64_MIN])))
        same(op(t(ends[:2]), t([INT64_MAX, INT64_MIN])), op(torch.tensor(ends[:2]), torch.tensor([INT64_MAX, INT64_MIN])))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,op", DIV_OPS)
def test_float_division_follows_torch(device, dtype, name, op):
    """PyTorch's fmod-based formulas, inf and NaN, x // 0 = x / 0 and x % 0 = NaN."""
    inf, nan = float("inf"), float("nan")
    a = [7.5, -7.5, 7.5, -7.5, inf, 3.0, -3.0, nan, 1.0, -1.0, 0.0, -0.0, 5.0, 1e30]
    b = [2.0, 2.0, -2.0, -2.0, 2.0, -inf, inf, 1.0, 0.0, 0.0, 0.0, 5.0, -0.0, 3.0]
    pa = pe.tensor(a, dtype=getattr(pe, dtype), device=device)
    pb = pe.tensor(b, dtype=getattr(pe, dtype), device=device)
    ta, tb = torch.tensor(a, dtype=getattr(torch, dtype)), torch.tensor(b, dtype=getattr(torch, dtype))
    same(op(pa, pb), op(ta, tb))
    assert np.array_equal(np.signbit(op(pa, pb).cpu().numpy()), np.signbit(op(ta, tb).numpy()))  # -0.0
    same(op(pa, 0), op(ta, 0))
    same(op(pe.tensor([1, -2, 0], device=device), 0.0), op(torch.tensor([1, -2, 0]), 0.0))


@pytest.mark.parametrize("name,op", DIV_OPS)
def test_integer_division_by_zero_raises(device, name, op):
    """torch: RuntimeError "ZeroDivisionError", for a zero number and any zero in a divisor tensor."""
    a = pe.tensor([1, 2, 3], device=device)
    ta = torch.tensor([1, 2, 3])
    same_error(lambda: op(a, 0), lambda: op(ta, 0), "ZeroDivisionError")
    same_error(lambda: op(a, pe.tensor([1, 0, 2], device=device)), lambda: op(ta, torch.tensor([1, 0, 2])),
               "ZeroDivisionError")
    same_error(lambda: op(7, pe.tensor([2, 0], device=device)), lambda: op(7, torch.tensor([2, 0])),
               "ZeroDivisionError")
    same_error(lambda: op(a, pe.tensor(0, device=device)), lambda: op(ta, torch.tensor(0)), "ZeroDivisionError")
    same_error(lambda: op(a, False), lambda: op(ta, False), "ZeroDivisionError")  # bool divisor -> int64
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(a, name + "_")(pe.tensor([0, 1, 1], device=device))
    assert a.tolist() == [1, 2, 3]  # nothing written
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(pe, name)(a, 0, out=pe.empty(3, dtype=pe.int64, device=device))
    # a 0-d CPU divisor next to a CUDA tensor is checked too; floats are not errors
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(a, pe.tensor(0))
    assert np.isinf(op(a, 0.0).cpu().numpy()).all() or name == "remainder"


def test_zero_division_check_is_exact_about_zeros(device):
    """Only a zero divisor counts: big, negative and INT64_MIN divisors are fine."""
    n = 1000
    b = np.where(np.arange(n) % 2 == 0, INT64_MIN, np.arange(n) + 1).astype(np.int64)
    pa = pe.arange(n, device=device)
    same(pa // pe.tensor(b, device=device), torch.arange(n) // torch.tensor(b))
    b[n - 1] = 0  # the last element only
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        pa % pe.tensor(b, device=device)


def test_bool_floor_division_is_not_implemented_like_torch(device):
    m = pe.tensor([True, False], device=device)
    tm = torch.tensor([True, False])
    same_error(lambda: m // m, lambda: tm // tm)
    same_error(lambda: m % m, lambda: tm % tm)


def test_inplace_and_reflected_forms(device):
    a = pe.tensor([-7, 8, 9], device=device)
    alias = a
    a //= 2
    assert alias.tolist() == [-4, 4, 4] and a is alias
    a %= 3
    assert alias.tolist() == [2, 1, 1]
    assert (10 // pe.tensor([3, -3], device=device)).tolist() == [3, -4]
    assert (10 % pe.tensor([3, -3], device=device)).tolist() == [1, -2]
    x = pe.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError):  # float result into an int64 tensor, as in PyTorch
        x //= 2.5
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).__ifloordiv__(2.5)


def test_gradients_like_torch():
    a = pe.tensor([7.5, -3.2, 4.0], requires_grad=True)
    b = pe.tensor([2.0, 1.5, -3.0], requires_grad=True)
    ta = torch.tensor([7.5, -3.2, 4.0], requires_grad=True)
    tb = torch.tensor([2.0, 1.5, -3.0], requires_grad=True)
    (a % b).sum().backward()
    (ta % tb).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())
    q = a // b
    assert q.requires_grad
    with pytest.raises(RuntimeError, match="floor_divide"):  # torch: derivative not implemented
        q.sum().backward()


# ---------------------------------------------------------------- int64 beyond 2**53
@pytest.mark.parametrize("value", [BIG, -BIG, INT64_MAX, INT64_MIN, 2**62 + 3])
def test_creation_and_fills_keep_int64_exact(device, value):
    assert pe.full((2,), value, device=device).tolist() == [value] * 2
    assert pe.full((2,), value, dtype=pe.int64, device=device).tolist() == [value] * 2
    assert pe.full((2,), value, device=device).dtype == pe.int64
    z = pe.zeros(3, dtype=pe.int64, device=device)
    assert z.fill_(value).tolist() == [value] * 3
    assert pe.full_like(z, value).tolist() == [value] * 3
    assert z.new_full((2,), value).tolist() == [value] * 2
    assert pe.zeros_like(z).tolist() == [0] * 3 and pe.ones_like(z).tolist() == [1] * 3
    assert pe.full((1,), pe.tensor(value)).tolist() == [value]


@pytest.mark.parametrize("value", [BIG, INT64_MAX, INT64_MIN])
def test_item_assignment_keeps_int64_exact(device, value):
    for key in (0, slice(None), [0, 2], pe.tensor([True, False, True], device=device), (Ellipsis,)):
        x = pe.zeros(3, dtype=pe.int64, device=device)
        tx = torch.zeros(3, dtype=torch.int64)
        tkey = torch.tensor([True, False, True]) if isinstance(key, pe.Tensor) else key
        x[key] = value
        tx[tkey] = value
        assert x.tolist() == tx.tolist()
    x = pe.zeros(3, dtype=pe.int64, device=device)
    x.index_put_((pe.tensor([0, 0, 1], device=device),), pe.tensor(value), accumulate=True)
    assert x.tolist()[1] == value
    x.copy_(value)
    assert x.tolist() == [value] * 3


def test_masked_fill_clamp_compare_and_arithmetic_keep_int64_exact(device):
    x = pe.tensor([2**53, BIG, 2**53 + 2, 7], device=device)
    tx = torch.tensor([2**53, BIG, 2**53 + 2, 7])
    mask = pe.tensor([True, False, True, False], device=device)
    tmask = torch.tensor([True, False, True, False])
    same(x.masked_fill(mask, BIG), tx.masked_fill(tmask, BIG))
    same(x.clone().masked_fill_(mask, -BIG), tx.clone().masked_fill_(tmask, -BIG))
    same(x.clamp(BIG), tx.clamp(BIG))
    same(x.clamp(max=BIG), tx.clamp(max=BIG))
    same(x.clamp(-BIG, BIG), tx.clamp(-BIG, BIG))
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        same(getattr(x, op)(BIG), getattr(tx, op)(BIG))
    same(x + 1, tx + 1)
    same(x - BIG, tx - BIG)
    same(x * 3, tx * 3)
    same(BIG - x, BIG - tx)
    same(pe.where(mask, BIG, x), torch.where(tmask, BIG, tx))
    same(pe.maximum(x, pe.tensor(BIG, device=device)), torch.maximum(tx, torch.tensor(BIG)))


@pytest.mark.parametrize("start,end,step", [
    (2**53, 2**53 + 3, 1), (INT64_MAX - 3, INT64_MAX, 1), (INT64_MIN, INT64_MIN + 3, 1),
    (INT64_MAX, INT64_MAX - 10, -3), (-BIG, BIG, 2**52), (10, -10, -3), (0, 7, 2)])
def test_arange_is_exact_for_int64(device, start, end, step):
    same(pe.arange(start, end, step, device=device), torch.arange(start, end, step))


def test_arange_near_the_int64_ends():
    """Exact where PyTorch's own size arithmetic overflows (its results are wrong there)."""
    assert pe.arange(0, INT64_MAX, 2**62).tolist() == [0, 2**62]
    assert pe.arange(INT64_MIN, INT64_MAX, 2**62).tolist() == [-2**63, -2**62, 0, 2**62]
    assert pe.arange(INT64_MAX, INT64_MIN, -2**62).tolist() == [INT64_MAX, INT64_MAX - 2**62,
                                                                 INT64_MAX - 2**63, INT64_MAX - 3 * 2**62]
    assert pe.arange(0.5, 3.5, dtype=pe.int64).tolist() == [0, 1, 2]  # truncated first, as torch


@pytest.mark.parametrize("args", [(INT64_MIN, INT64_MAX), (0, 2**62), (-2**62, 2**62, 1), (0, 1e30, 1.0)])
def test_arange_sizes_that_overflow_name_the_arguments(args):
    with pytest.raises(ValueError) as e:
        pe.arange(*args)
    msg = str(e.value)
    assert "start=" in msg and "end=" in msg and "step=" in msg and "too large" in msg


def test_arange_errors_name_the_arguments():
    with pytest.raises(RuntimeError, match="end=1e"):  # PyTorch's kind
        pe.arange(0, 1e30, dtype=pe.int64)  # not an int64
    with pytest.raises(RuntimeError, match="inconsistent with step sign: start=5, end=0, step=1"):
        pe.arange(5, 0, 1)
    same_error(lambda: pe.arange(0, 2**64), lambda: torch.arange(0, 2**64))  # OverflowError


# ---------------------------------------------------------------- Python ints outside int64
@pytest.mark.parametrize("big", [2**64, -2**63 - 1, 2**100])
def test_operands_outside_int64_raise_like_torch(device, big):
    x = pe.tensor([1, 2], device=device)
    tx = torch.tensor([1, 2])
    for p_call, t_call in [(lambda: x + big, lambda: tx + big), (lambda: big * x, lambda: big * tx),
                           (lambda: x < big, lambda: tx < big), (lambda: x & big, lambda: tx & big),
                           (lambda: pe.full((1,), big), lambda: torch.full((1,), big)),
                           (lambda: x.fill_(big), lambda: tx.fill_(big)),
                           (lambda: pe.ones(2, device=device) + big, lambda: torch.ones(2) + big)]:
        err = same_error(p_call, t_call)
        assert str(big) in str(err)
    assert x.tolist() == [1, 2]


def test_int64_range_ends_are_accepted(device):
    x = pe.tensor([0], device=device)
    assert (x + INT64_MAX).tolist() == [INT64_MAX] and (x + INT64_MIN).tolist() == [INT64_MIN]
    assert (x + INT64_MAX).dtype == pe.int64


@pytest.mark.parametrize("data", [[2**63], [2**64], [-2**63 - 1], [2**63, -1], [2**63, 2], [[2**64], [1]],
                                  [2**64, True], [2**64, 1.5], [2**63, 2.0]])
@pytest.mark.parametrize("dtype", [None, "int64", "float64", "bool"])
def test_tensor_from_python_ints_outside_int64(data, dtype):
    """torch: ValueError for an int64 result (no silent wrap, no silent float), exact otherwise."""
    p_call = lambda: pe.tensor(data, dtype=dtype and getattr(pe, dtype))  # noqa: E731
    t_call = lambda: torch.tensor(data, dtype=dtype and getattr(torch, dtype))  # noqa: E731
    want, err = outcome(t_call)
    if err is not None:
        got = same_error(p_call, t_call)
        assert "int64" in str(got)
    else:
        same(p_call(), want)


def test_uint64_arrays_beyond_int64_are_refused():
    with pytest.raises(ValueError, match="9223372036854775808"):
        pe.tensor(np.array([1, 2**63], dtype=np.uint64))
    assert pe.tensor(np.array([1, 2**63 - 1], dtype=np.uint64)).tolist() == [1, 2**63 - 1]
    assert pe.tensor(np.array([2**63], dtype=np.uint64), dtype=pe.float64).tolist() == [2.0**63]


# ---------------------------------------------------------------- NumPy byte order, strides, flags
SWAPPED = [">i8", ">f4", ">f8", ">i4", ">i2", ">u4", ">u2", "<i8", "<f4", "|b1"]


def swapped_values(code, shape=(2, 3)):
    a = (np.arange(np.prod(shape)).reshape(shape) * 3 - 5)
    if code.endswith("b1"):
        a = a % 2 == 0
    elif code[1] == "u":
        a = np.abs(a)
    return a.astype(code)


@pytest.mark.parametrize("code", SWAPPED)
def test_tensor_and_as_tensor_read_any_byte_order(device, code):
    a = swapped_values(code)
    for make in (pe.tensor, pe.as_tensor):
        t = make(a, device=device)
        np.testing.assert_array_equal(t.cpu().numpy(), a)
        assert t.cpu().numpy().dtype.isnative
    np.testing.assert_array_equal(pe.tensor(a[:, ::-1]).numpy(), a[:, ::-1])  # swapped and reversed
    np.testing.assert_array_equal(pe.tensor(a[::2, 1::2]).numpy(), a[::2, 1::2])
    np.testing.assert_array_equal(pe.as_tensor(a.T).numpy(), a.T)


@pytest.mark.parametrize("code", [">i8", ">f4", ">f8"])
def test_from_numpy_refuses_swapped_bytes_like_torch(code):
    a = swapped_values(code)
    err = same_error(lambda: pe.from_numpy(a), lambda: torch.from_numpy(a))  # ValueError, not garbage
    assert code in str(err) and "byte order" in str(err)
    native = a.astype(a.dtype.newbyteorder("="))
    np.testing.assert_array_equal(pe.from_numpy(native).numpy(), a)


def test_strided_negative_and_read_only_arrays():
    a = np.arange(24, dtype=np.float64).reshape(4, 6)
    v = a[1:, ::2]
    t = pe.from_numpy(v)  # non-contiguous: shared, with its strides
    np.testing.assert_array_equal(t.numpy(), v)
    a[1, 0] = -1.0
    assert t[0, 0].item() == -1.0
    r = a[::-1]
    with pytest.raises(ValueError, match="negative strides"):
        pe.from_numpy(r)
    with pytest.raises(ValueError):
        torch.from_numpy(r)
    np.testing.assert_array_equal(pe.as_tensor(r).numpy(), r)  # copies (torch refuses)
    np.testing.assert_array_equal(pe.tensor(r).numpy(), r)
    ro = np.arange(5.0)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        pe.from_numpy(ro)  # a shared tensor could write into it
    for make in (pe.tensor, pe.as_tensor):
        t = make(ro)
        t += 1
        np.testing.assert_array_equal(ro, np.arange(5.0))


def test_read_only_mapping_never_crashes(tmp_path):
    """A read-only memory map written through a shared tensor would be a segfault."""
    path = tmp_path / "ro.bin"
    np.arange(8, dtype=np.float64).tofile(path)
    code = (f"import numpy as np, pyengine as pe\n"
            f"m = np.memmap({str(path)!r}, dtype=np.float64, mode='r')\n"
            f"try:\n    pe.from_numpy(m).fill_(1.0)\nexcept ValueError as e:\n    print('refused')\n"
            f"t = pe.as_tensor(m); t.fill_(2.0); print(float(m.sum()), float(t.sum()))\n")
    r = run_python(["-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["refused", "28.0", "16.0"]


def test_optimizer_state_from_swapped_arrays():
    p = pe.nn.Parameter(pe.zeros(3))
    opt = pe.optim.SGD([p], lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    sd["state"] = {0: {"momentum_buffer": np.array([1.0, 2.0, 3.0], dtype=">f4")}}
    opt.load_state_dict(sd)
    buf = opt.state[p]["momentum_buffer"]
    np.testing.assert_array_equal(np.asarray(buf), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("value,dtype", [(float("nan"), "int64"), (1e30, "int64"), (-9.3e18, "int64"),
                                         (float("inf"), "int64"), (1e300, "float32")])
def test_fills_refuse_values_the_dtype_cannot_hold_like_torch(device, value, dtype):
    """C++ leaves float -> int64 out of range undefined; PyTorch raises a RuntimeError."""
    same_error(lambda: pe.full((2,), value, dtype=getattr(pe, dtype), device=device),
               lambda: torch.full((2,), value, dtype=getattr(torch, dtype)), "cannot be converted")
    x = pe.zeros(2, dtype=getattr(pe, dtype), device=device)
    same_error(lambda: x.fill_(value), lambda: torch.zeros(2, dtype=getattr(torch, dtype)).fill_(value))
    assert x.tolist() == [0, 0]
    assert pe.full((1,), float("inf"), device=device).tolist() == [float("inf")]  # inf fits a float32
    assert pe.full((1,), -7.9, dtype=pe.int64, device=device).tolist() == [-7]  # truncation, as torch
