"""Ops on the storage dtypes (uint8, int8, int16, int32, float16, bfloat16): each computes in its
compute dtype (int64, float32) and stores PyTorch's result dtype; values, dtypes and integer
wrap-around against PyTorch, on both devices."""
import numpy as np
import pytest

import pyengine as pe

torch = pytest.importorskip("torch")

SMALL = ["uint8", "int8", "int16", "int32", "float16", "bfloat16"]
ALL = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def data(name, n=12, seed=0):
    rng = np.random.default_rng(seed)
    if name == "bool":
        return rng.random(n) < 0.5
    if name == "uint8":
        return rng.integers(0, 256, n)
    if name in ("int8", "int16", "int32"):
        return rng.integers(-100, 100, n)
    return np.round(rng.standard_normal(n) * 4, 2)


def pair(name, device, seed=0, n=12):
    a = data(name, n, seed)
    return (pe.tensor(a.tolist(), dtype=getattr(pe, name), device=device),
            torch.tensor(a.tolist(), dtype=getattr(torch, name)))


def check(got, expected, exact=True):
    assert got.dtype.name == str(expected.dtype).split(".")[1]
    g = got.cpu().double().numpy() if got.dtype.name != "bool" else got.cpu().numpy()
    e = expected.double().numpy() if expected.dtype != torch.bool else expected.numpy()
    if exact:
        np.testing.assert_array_equal(g, e)
    else:
        np.testing.assert_allclose(g, e, rtol=1e-2, atol=1e-2)


BINARY = ["add", "sub", "mul", "maximum", "minimum", "eq", "lt", "ge"]


@pytest.mark.parametrize("a", SMALL)
@pytest.mark.parametrize("op", BINARY)
def test_binary_ops_on_every_dtype_pair_match_torch(a, op, device):
    x, tx = pair(a, device, 0)
    for b in ALL:
        if op == "sub" and "bool" in (a, b):
            continue
        y, ty = pair(b, device, 1)
        check(getattr(pe, op)(x, y), getattr(torch, op)(tx, ty))


@pytest.mark.parametrize("name", SMALL)
def test_true_division_and_scalars_match_torch(name, device):
    x, tx = pair(name, device)
    y, ty = pair(name, device, 2)
    y = pe.where(y == 0, pe.ones_like(y), y)
    ty = torch.where(ty == 0, torch.ones_like(ty), ty)
    check(x / y, tx / ty)
    for number in (3, -2, 2.5, True):
        check(x * number, tx * number)
        check(x + number, tx + number)


@pytest.mark.parametrize("name,op", [(n, op) for n in ["uint8", "int8", "int16", "int32"]
                                     for op in ["floor_divide", "remainder", "bitwise_and", "bitwise_xor",
                                                "bitwise_left_shift"]])
def test_integer_ops_match_torch(name, op, device):
    x, tx = pair(name, device)
    y, ty = pair(name, device, 3)
    if op in ("floor_divide", "remainder"):
        y = pe.where(y == 0, pe.ones_like(y), y)
        ty = torch.where(ty == 0, torch.ones_like(ty), ty)
    if op == "bitwise_left_shift":
        y, ty = y.abs() % 8, ty.abs() % 8
    check(getattr(pe, op)(x, y), getattr(torch, op)(tx, ty))


@pytest.mark.parametrize("name,a,b", [("int8", 100, 100), ("int8", -128, -1), ("uint8", 200, 100), ("uint8", 3, 5),
                                      ("int16", 30000, 30000), ("int32", 2**31 - 1, 1)])
def test_integer_arithmetic_wraps_around_like_torch(name, a, b, device):
    x = pe.tensor([a], dtype=getattr(pe, name), device=device)
    y = pe.tensor([b], dtype=getattr(pe, name), device=device)
    tx, ty = torch.tensor([a], dtype=getattr(torch, name)), torch.tensor([b], dtype=getattr(torch, name))
    check(x + y, tx + ty)
    check(x - y, tx - ty)
    check(x * y, tx * ty)


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("op", ["neg", "abs", "exp", "sin", "sqrt", "sigmoid", "tanh", "floor", "log1p"])
def test_unary_ops_match_torch(name, op, device):
    x, tx = pair(name, device)
    if op in ("sqrt", "log1p"):
        x, tx = x.abs(), tx.abs()
    if op == "neg" and name == "uint8":
        pytest.skip("torch negates uint8 with wrap-around; covered by the sub test")
    expected = getattr(torch, op)(tx)
    # float16/bfloat16: float32 math rounded once, as torch's CPU kernels do; transcendental
    # functions may differ by one unit in the last place between libm implementations.
    check(getattr(pe, op)(x), expected, exact=op in ("neg", "abs", "floor"))


@pytest.mark.parametrize("name", SMALL)
def test_reductions_match_torch(name, device):
    x, tx = pair(name, device, n=30)
    x2, tx2 = x.reshape(5, 6), tx.reshape(5, 6)
    check(x2.sum(), tx2.sum(), exact=name not in ("float16", "bfloat16"))
    check(x2.sum(1), tx2.sum(1), exact=name not in ("float16", "bfloat16"))
    check(x2.amax(0), tx2.amax(0))
    check(x2.amin(1), tx2.amin(1))
    check(x2.argmax(1), tx2.argmax(1))
    check(x2.max(0).values, tx2.max(0).values)
    check(x2.any(1), tx2.any(1))
    check(x2.all(), tx2.all())
    if name in ("float16", "bfloat16"):
        check(x2.mean(0), tx2.mean(0), exact=False)
        check(x2.var(1), tx2.var(1), exact=False)
        check(x2.logsumexp(1), tx2.logsumexp(1), exact=False)


def test_float16_sum_accumulates_in_float32(device):
    # 4096 + 1 is not a float16 (spacing 4 there): a float16 accumulator would stop at 2048.
    x = pe.ones(10000, dtype=pe.float16, device=device)
    s = x.sum()
    assert s.dtype is pe.float16 and s.item() == torch.ones(10000, dtype=torch.float16).sum().item() == 10000.0


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_half_tensors_train_through_autograd(name, device):
    w = pe.tensor([0.5, -1.0, 2.0], dtype=getattr(pe, name), device=device, requires_grad=True)
    tw = torch.tensor([0.5, -1.0, 2.0], dtype=getattr(torch, name), requires_grad=True)
    ((w * w).sigmoid() * 3).sum().backward()
    ((tw * tw).sigmoid() * 3).sum().backward()
    assert w.grad.dtype is w.dtype
    check(w.grad, tw.grad, exact=False)


def test_where_clamp_and_out_keep_the_storage_dtype(device):
    x, tx = pair("int16", device)
    check(pe.where(x > 0, x, pe.zeros_like(x)), torch.where(tx > 0, tx, torch.zeros_like(tx)))
    check(pe.clamp(x, -10, 10), torch.clamp(tx, -10, 10))
    h, th = pair("float16", device)
    out = pe.empty(12, dtype=pe.float16, device=device)
    tout = torch.empty(12, dtype=torch.float16)
    pe.add(h, h, out=out)
    torch.add(th, th, out=tout)
    check(out, tout)
    with pytest.raises(RuntimeError, match="can't be cast"):
        pe.add(h, h, out=pe.empty(12, dtype=pe.int32, device=device))


@pytest.mark.parametrize("name", SMALL)
def test_matmul_accumulates_in_the_compute_dtype(name, device):
    a, ta = pair(name, device, 0, n=24)
    b, tb = pair(name, device, 1, n=24)
    a, ta, b, tb = a.reshape(4, 6), ta.reshape(4, 6), b.reshape(6, 4), tb.reshape(6, 4)
    if name in ("float16", "bfloat16"):
        got = (a @ b)
        assert got.dtype.name == name
        expected = (ta.float() @ tb.float()).to(getattr(torch, name))  # float32 sums, rounded once
        check(got, expected)
    elif device == "cpu":
        check(a @ b, ta @ tb)  # integers wrap like torch's
    else:
        with pytest.raises(TypeError, match="matmul on CUDA tensors takes float32 or float64"):
            a @ b


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_linear_layer_runs_in_half_precision(name, device):
    pe.manual_seed(0)
    layer = pe.nn.Linear(8, 3).to(device=device, dtype=getattr(pe, name))
    x = pe.randn(5, 8, device=device).to(getattr(pe, name))
    y = layer(x)
    assert y.dtype.name == name
    ref = (x.float() @ layer.weight.float().t() + layer.bias.float()).to(getattr(pe, name))
    np.testing.assert_array_equal(y.detach().float().cpu().numpy(), ref.detach().float().cpu().numpy())
    y.float().sum().backward()
    assert layer.weight.grad.dtype.name == name
