"""Bitwise ops (&, |, ^, ~, <<, >> and the bitwise_* functions and methods) against PyTorch:
values and result dtypes for int64 and bool operands, negative values, broadcasting, Python
numbers on either side, in-place and out= forms, shift counts outside [0, 64), and the errors
PyTorch raises for floating operands. On every device (the `device` fixture)."""
import operator

import numpy as np
import pytest

import pyengine as pe

torch = pytest.importorskip("torch")

BINARY = {  # pyengine / torch function name -> operator
    "bitwise_and": operator.and_,
    "bitwise_or": operator.or_,
    "bitwise_xor": operator.xor,
    "bitwise_left_shift": operator.lshift,
    "bitwise_right_shift": operator.rshift,
}
SHIFTS = ("bitwise_left_shift", "bitwise_right_shift")
INPLACE = {operator.and_: operator.iand, operator.or_: operator.ior, operator.xor: operator.ixor,
           operator.lshift: operator.ilshift, operator.rshift: operator.irshift}


def ints(shape, seed, lo=-2**62, hi=2**62):
    """Random int64 values of both signs, with the extremes and small values mixed in."""
    rng = np.random.default_rng(seed)
    a = rng.integers(lo, hi, size=shape, dtype=np.int64)
    flat = a.reshape(-1)
    special = np.array([0, -1, 1, -8, 2**63 - 1, -2**63, 0x1337], dtype=np.int64)
    flat[:min(flat.size, special.size)] = special[:flat.size]
    return a


def shift_counts(shape, seed):
    """Counts in and out of [0, 64): negative, 63, 64, 65, huge."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 70, size=shape, dtype=np.int64)
    flat = a.reshape(-1)
    special = np.array([-1, 0, 63, 64, 65, 2**40, -2**63], dtype=np.int64)
    flat[:min(flat.size, special.size)] = special[:flat.size]
    return a


def both(a, device):
    return pe.tensor(a, device=device), torch.tensor(a)


def same(got, want):
    """Same values and the same dtype as the torch result."""
    assert isinstance(got, pe.Tensor)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1].replace("long", "int64"), (got.dtype,
                                                                                                     want.dtype)
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def outcome(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - the type is what the test compares
        return None, e


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", [((5,), (5,)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)), ((0, 2), (2,))])
def test_int64_tensors_match_torch(device, name, shapes):
    sa, sb = shapes
    a = ints(sa, 1)
    b = shift_counts(sb, 2) if name in SHIFTS else ints(sb, 2)
    (pa, ta), (pb, tb) = both(a, device), both(b, device)
    same(getattr(pe, name)(pa, pb), getattr(torch, name)(ta, tb))
    same(BINARY[name](pa, pb), BINARY[name](ta, tb))
    same(getattr(pa, name)(pb), getattr(ta, name)(tb))
    assert getattr(pe, name)(pa, pb).device == pa.device


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("number", [0, 3, -8, 0x1337, 63, 64, -1, 2**40, True, False])
def test_python_numbers_on_either_side(device, name, number):
    a = ints((6,), 3) if name not in SHIFTS else shift_counts((6,), 3)
    pa, ta = both(a, device)
    op = BINARY[name]
    same(op(pa, number), op(ta, number))
    same(op(number, pa), op(number, ta))
    same(getattr(pe, name)(pa, number), getattr(torch, name)(ta, number))


def test_the_issue_example(device):
    got = pe.tensor([[1, -8, 1]], device=device) & 0x1337
    assert got.dtype == pe.int64 and got.tolist() == [[1, 4912, 1]]


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_bool_operands(device, name):
    """bool with bool stays bool (logical); bool with int64 or an int promotes to int64."""
    m = np.array([True, False, True, False])
    n = np.array([True, True, False, False])
    k = ints((4,), 4)
    (pm, tm), (pn, tn), (pk, tk) = both(m, device), both(n, device), both(k, device)
    op = BINARY[name]
    same(op(pm, pn), op(tm, tn))
    same(op(pm, pk), op(tm, tk))
    same(op(pk, pm), op(tk, tm))
    same(op(pm, True), op(tm, True))
    same(op(pm, 3), op(tm, 3))
    same(op(5, pm), op(5, tm))
    # a 0-d bool tensor with an int64 tensor, and a 0-d int64 tensor with a bool tensor
    same(op(pe.tensor(True, device=device), pk), op(torch.tensor(True), tk))
    same(op(pm, pe.tensor(6, device=device)), op(tm, torch.tensor(6)))


def test_bitwise_not(device):
    a = ints((3, 5), 5)
    pa, ta = both(a, device)
    same(~pa, ~ta)
    same(pe.bitwise_not(pa), torch.bitwise_not(ta))
    same(pa.bitwise_not(), ta.bitwise_not())
    m = np.array([True, False])
    pm, tm = both(m, device)
    same(~pm, ~tm)
    same(pe.bitwise_not(pm), torch.bitwise_not(tm))


@pytest.mark.parametrize("value", [1, -8, 2**63 - 1, -2**63])
@pytest.mark.parametrize("count", [-1, 0, 1, 62, 63, 64, 65, 100, -2**63, 2**63 - 1])
def test_shift_counts_outside_the_width(device, value, count):
    """C++ leaves these undefined; PyTorch gives 0 for << and the sign fill for >>."""
    pa, ta = both(np.array([value]), device)
    same(pa << count, ta << count)
    same(pa >> count, ta >> count)
    pc, tc = both(np.array([count]), device)
    same(pa << pc, ta << tc)
    same(pa >> pc, ta >> tc)


def test_shift_examples():
    assert (pe.tensor([1]) << 64).tolist() == [0]
    assert (pe.tensor([1]) << 63).tolist() == [-2**63]
    assert (pe.tensor([-8]) >> 1).tolist() == [-4]
    assert (pe.tensor([-8]) >> 100).tolist() == [-1]
    assert (pe.tensor([8]) >> -1).tolist() == [0]
    assert (1 << pe.tensor([1, 2])).tolist() == [2, 4]


@pytest.mark.parametrize("name", list(BINARY))
def test_inplace_forms(device, name):
    a = ints((2, 3), 6)
    b = shift_counts((3,), 7) if name in SHIFTS else ints((3,), 7)
    op, iop = BINARY[name], INPLACE[BINARY[name]]
    pa, ta = both(a, device)
    pb, tb = both(b, device)
    alias = pa
    got, want = iop(pa, pb), iop(ta, tb)
    assert got is alias  # x &= y writes into x
    same(alias, want)
    pa, ta = both(a, device)
    got = getattr(pa, name + "_")(pb)
    assert got is pa
    same(pa, getattr(ta, name + "_")(tb))
    pa, ta = both(a, device)
    same(iop(pa, 5), iop(ta, 5))
    del op


def test_inplace_result_must_fit():
    """int64 result into a bool tensor: RuntimeError, as in PyTorch."""
    m = pe.tensor([True, False])
    with pytest.raises(RuntimeError):
        m &= 3
    with pytest.raises(RuntimeError):
        torch.tensor([True, False]).__iand__(3)
    m |= pe.tensor([False, True])
    assert m.tolist() == [True, True]


def test_out_argument(device):
    a, b = ints((4,), 8), ints((4,), 9)
    (pa, ta), (pb, tb) = both(a, device), both(b, device)
    out = pe.empty(4, dtype=pe.int64, device=device)
    r = pe.bitwise_xor(pa, pb, out=out)
    assert r is out
    same(out, torch.bitwise_xor(ta, tb))
    out = pe.empty(4, dtype=pe.int64, device=device)
    pe.bitwise_not(pa, out=out)
    same(out, torch.bitwise_not(ta))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(BINARY))
def test_float_operands_raise_like_torch(device, name, dtype):
    pf, tf = pe.ones(3, dtype=getattr(pe, dtype), device=device), torch.ones(3, dtype=getattr(torch, dtype))
    pi, ti = pe.tensor([1, 2, 3], device=device), torch.tensor([1, 2, 3])
    op = BINARY[name]
    for p_call, t_call in [(lambda: op(pf, pf), lambda: op(tf, tf)),
                           (lambda: op(pf, 1), lambda: op(tf, 1)),
                           (lambda: op(pi, 1.5), lambda: op(ti, 1.5)),
                           (lambda: op(pi, pf), lambda: op(ti, tf)),
                           (lambda: getattr(pe, name)(pf, pi), lambda: getattr(torch, name)(tf, ti))]:
        _, want = outcome(t_call)
        _, got = outcome(p_call)
        assert want is not None and got is not None
        assert type(got) is type(want), (got, want)  # NotImplementedError (a RuntimeError)
        assert name in str(got) and "float" in str(got)


def test_shifts_refuse_bool_like_torch(device):
    m = pe.tensor([True, False], device=device)
    for call in (lambda: m << m, lambda: m >> pe.tensor([True, True], device=device)):
        with pytest.raises(NotImplementedError, match="bool"):
            call()
    with pytest.raises(NotImplementedError):
        torch.tensor([True]) << torch.tensor([True])
    # bool with an int promotes to int64, which shifts
    assert (m << 1).tolist() == [2, 0]


def test_invert_of_a_float_is_a_type_error_like_torch(device):
    with pytest.raises(TypeError, match="integer and bool"):
        ~pe.ones(2, device=device)
    with pytest.raises(TypeError):
        ~torch.ones(2)
    with pytest.raises(NotImplementedError, match="float32"):
        pe.bitwise_not(pe.ones(2, device=device))


def test_bitwise_ops_have_no_gradient():
    x = pe.tensor([1, 2, 3])
    assert (x & 1).grad_fn is None and (x << 1).grad_fn is None and (~x).grad_fn is None


def test_masks_keep_working(device):
    """The common use of & | ^ ~: combining masks (bool in, bool out)."""
    x = pe.arange(10, device=device)
    m = ((x > 2) & (x < 7)) | (x == 9)
    assert m.dtype == pe.bool
    assert x[m ^ (x == 4)].tolist() == [3, 5, 6, 9]
    assert x[~m].tolist() == [0, 1, 2, 7, 8]
