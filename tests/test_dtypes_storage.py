"""The ten dtypes as storage: names, PyTorch's promotion table pair by pair, conversions (the
16-bit floats bit for bit against NumPy and PyTorch), creation, NumPy/DLPack interop, the
conversion methods and Tensor.view(dtype)."""
import numpy as np
import pytest

import pyengine as pe

torch = pytest.importorskip("torch")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
NUMPY = {"bool": np.bool_, "uint8": np.uint8, "int8": np.int8, "int16": np.int16, "int32": np.int32,
         "int64": np.int64, "float16": np.float16, "float32": np.float32, "float64": np.float64}


def pe_dtype(name):
    return getattr(pe, name)


def torch_dtype(name):
    return getattr(torch, name)


def test_dtype_objects_and_aliases():
    for name in NAMES:
        d = pe_dtype(name)
        assert d.name == name and repr(d) == f"pyengine.{name}"
        assert d.itemsize == torch_dtype(name).itemsize
        assert d.is_floating_point == torch_dtype(name).is_floating_point
        assert d.is_signed == torch_dtype(name).is_signed
    assert pe.half is pe.float16 and pe.short is pe.int16 and pe.int is pe.int32 and pe.long is pe.int64
    assert pe.float is pe.float32 and pe.double is pe.float64
    assert int("7") == 7  # the module's `int` alias must not leak into the builtins


@pytest.mark.parametrize("a", NAMES)
def test_promote_types_matches_torch_for_every_pair(a):
    for b in NAMES:
        got = pe.promote_types(pe_dtype(a), pe_dtype(b))
        assert got.name == str(torch.promote_types(torch_dtype(a), torch_dtype(b))).split(".")[1], (a, b)


@pytest.mark.parametrize("a", NAMES)
def test_result_type_with_numbers_and_zero_dim_tensors_matches_torch(a):
    x = pe.zeros(2, dtype=pe_dtype(a))
    tx = torch.zeros(2, dtype=torch_dtype(a))
    for number in (True, 3, -2, 2.5):
        assert pe.result_type(x, number).name == str(torch.result_type(tx, number)).split(".")[1], (a, number)
    for b in NAMES:
        z = pe.zeros((), dtype=pe_dtype(b))
        tz = torch.zeros((), dtype=torch_dtype(b))
        assert pe.result_type(x, z).name == str(torch.result_type(tx, tz)).split(".")[1], (a, b)


def test_can_cast_matches_torch():
    for a in NAMES:
        for b in NAMES:
            assert pe.can_cast(pe_dtype(a), pe_dtype(b)) == torch.can_cast(torch_dtype(a), torch_dtype(b)), (a, b)


def _values_for(name):
    """Values every dtype holds exactly, so conversions have one right answer."""
    if name == "bool":
        return [True, False, True, True]
    if name == "uint8":
        return [0, 1, 7, 100, 255]
    return [0, 1, -1, 7, -100, 100]


@pytest.mark.parametrize("src", NAMES)
def test_conversion_between_every_pair_matches_torch(src, device):
    values = _values_for(src)
    x = pe.tensor(values, dtype=pe_dtype(src), device=device)
    tx = torch.tensor(values, dtype=torch_dtype(src))
    for dst in NAMES:
        y = x.to(pe_dtype(dst))
        assert y.dtype is pe_dtype(dst) and y.device.type == device
        expected = tx.to(torch_dtype(dst)).to(torch.float64).numpy()
        np.testing.assert_array_equal(y.double().cpu().numpy(), expected, err_msg=f"{src} -> {dst}")


def test_float16_from_every_bit_pattern_is_exact():
    bits = np.arange(1 << 16, dtype=np.uint16)
    expected = bits.view(np.float16).astype(np.float32)
    got = pe.from_numpy(bits.view(np.int16).copy()).view(pe.float16).float().numpy()
    np.testing.assert_array_equal(got, expected)  # NaNs compare equal in assert_array_equal


def _hard_floats():
    """Rounding edges of the 16-bit types: ties, subnormals, the overflow thresholds, NaN, inf."""
    rng = np.random.default_rng(0)
    f = [0.0, -0.0, 1.0, 1.0 + 2**-11, 1.0 + 3 * 2**-11, 1.0 + 2**-8, 1.0 + 3 * 2**-8, 65504.0, 65519.0, 65520.0,
         65536.0, -65520.0, 2**-14, 2**-24, 2**-25, 2**-25 * 1.0001, 3 * 2**-25, 2**-26, 1e-30, 3.3895e38,
         3.39e38, float("inf"), -float("inf"), float("nan"), 1e38, -1e38]
    f += list(rng.standard_normal(2000) * np.exp(rng.uniform(-30, 30, 2000)))
    f += list(rng.standard_normal(2000).astype(np.float32))
    return np.array(f, dtype=np.float32)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_float32_to_16_bit_rounds_like_torch(name, device):
    f = _hard_floats()
    got = pe.tensor(f, device=device).to(pe_dtype(name)).cpu().view(pe.int16).numpy()
    expected = torch.from_numpy(f).to(torch_dtype(name)).view(torch.int16).numpy()
    nan = np.isnan(f)
    np.testing.assert_array_equal(got[~nan], expected[~nan])
    assert np.isnan(pe.from_numpy(got[nan].copy()).view(pe_dtype(name)).float().numpy()).all()


def test_float64_to_float16_rounds_through_float32_like_torch():
    d = np.array([1.0 + 2**-11 + 2**-40, 1 / 3, 65519.999, 1e-8, -2.5e-5], dtype=np.float64)
    got = pe.tensor(d, dtype=pe.float64).half().view(pe.int16).numpy()
    expected = torch.from_numpy(d).half().view(torch.int16).numpy()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", NAMES)
def test_creation_functions_take_every_dtype(name, device):
    d = pe_dtype(name)
    for t in (pe.zeros(2, 3, dtype=d, device=device), pe.ones(4, dtype=d, device=device),
              pe.full((2,), 1, dtype=d, device=device), pe.empty(3, dtype=d, device=device),
              pe.tensor([1, 0], dtype=d, device=device)):
        assert t.dtype is d and t.device.type == device
    assert pe.ones(3, dtype=d).tolist() == torch.ones(3, dtype=torch_dtype(name)).tolist()
    if name != "bool":
        np.testing.assert_array_equal(pe.arange(5, dtype=d).double().numpy(),
                                      torch.arange(5, dtype=torch_dtype(name)).double().numpy())


@pytest.mark.parametrize("name,value", [("int8", 128), ("int8", -129), ("uint8", 256), ("uint8", -256), ("uint8", -0.5),
                                        ("int16", 40000), ("int32", 2**31), ("float16", 70000.0),
                                        ("bfloat16", 1e39), ("int32", float("nan"))])
def test_full_refuses_values_the_dtype_cannot_hold(name, value):
    with pytest.raises(RuntimeError, match="cannot be converted"):
        pe.full((2,), value, dtype=pe_dtype(name))
    with pytest.raises(RuntimeError):
        torch.full((2,), value, dtype=torch_dtype(name))


@pytest.mark.parametrize("name", [n for n in NAMES if n != "bfloat16"])
def test_numpy_round_trip_shares_memory(name):
    a = np.array(_values_for(name), dtype=NUMPY[name])
    t = pe.from_numpy(a)
    assert t.dtype is pe_dtype(name)
    b = t.numpy()
    assert b.dtype == a.dtype and np.shares_memory(a, b)
    np.testing.assert_array_equal(b, a)
    assert pe.tensor(a).dtype is pe_dtype(name)  # NumPy arrays keep their dtype, as in PyTorch


def test_bfloat16_has_no_numpy_type_but_item_and_tolist_work():
    t = pe.tensor([1.5, -2.0], dtype=pe.bfloat16)
    with pytest.raises(TypeError, match="BFloat16"):
        t.numpy()
    assert t.tolist() == [1.5, -2.0] and t[0].item() == 1.5
    assert pe.tensor([1.0 + 2**-9], dtype=pe.bfloat16).item() == 1.0  # rounded to 8 bits


@pytest.mark.parametrize("name", NAMES)
def test_dlpack_round_trip_with_torch(name):
    x = pe.tensor(_values_for(name), dtype=pe_dtype(name))
    tx = torch.from_dlpack(x)
    assert tx.dtype == torch_dtype(name)
    np.testing.assert_array_equal(tx.double().numpy(), x.double().numpy())
    back = pe.from_dlpack(torch.tensor(_values_for(name), dtype=torch_dtype(name)))
    assert back.dtype is pe_dtype(name)
    np.testing.assert_array_equal(back.double().numpy(), x.double().numpy())


def test_conversion_methods_and_type_names():
    x = pe.tensor([1.7, -2.2, 3.0])
    tx = torch.tensor([1.7, -2.2, 3.0])
    for method in ("half", "bfloat16", "float", "double", "long", "int", "short", "char", "byte", "bool"):
        y, ty = getattr(x, method)(), getattr(tx, method)()
        assert y.dtype.name == str(ty.dtype).split(".")[1], method
        assert y.type() == ty.type().replace("torch", "pyengine"), method
    assert x.type(pe.int16).dtype is pe.int16
    assert x.type("pyengine.IntTensor").dtype is pe.int32


@pytest.mark.parametrize("src,dst,shape", [("float32", "int32", (2, 3)), ("float32", "float16", (2, 3)),
                                           ("int16", "float32", (2, 4)), ("uint8", "int32", (3, 8)),
                                           ("float64", "bfloat16", (1, 2)), ("int64", "uint8", (2,))])
def test_view_dtype_matches_torch(src, dst, shape):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal(shape) * 50).astype(NUMPY[src] if src != "bfloat16" else np.float32)
    x, tx = pe.tensor(a, dtype=pe_dtype(src)), torch.tensor(a, dtype=torch_dtype(src))
    y, ty = x.view(pe_dtype(dst)), tx.view(torch_dtype(dst))
    assert tuple(y.shape) == tuple(ty.shape) and y.stride() == ty.stride()
    np.testing.assert_array_equal(y.double().numpy(), ty.double().numpy())
    y.zero_()  # a view: the source sees the write
    assert not x.double().numpy().any()


def test_view_dtype_errors_name_the_problem():
    x = pe.zeros(2, 3, dtype=pe.int16)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        x.view(pe.int32)
    with pytest.raises(RuntimeError, match="stride 1"):
        pe.zeros(4, 2, dtype=pe.int16).t().view(pe.int32)
    with pytest.raises(RuntimeError, match="0-d"):
        pe.zeros((), dtype=pe.int16).view(pe.int32)


def test_full_wraps_small_negative_ints_into_uint8_like_torch():
    for v in (-1, -128, -255):
        assert pe.full((1,), v, dtype=pe.uint8).item() == torch.full((1,), v, dtype=torch.uint8).item()


@pytest.mark.parametrize("name", NAMES)
def test_checkpoints_store_every_dtype_and_torch_reads_them(name, tmp_path):
    st = pytest.importorskip("safetensors.torch")
    x = pe.tensor(_values_for(name), dtype=pe_dtype(name))
    path = tmp_path / "c.safetensors"
    pe.save({"x": x, "nested": [x[:2]]}, path)
    back = pe.load(path)
    assert back["x"].dtype is pe_dtype(name) and back["nested"][0].dtype is pe_dtype(name)
    np.testing.assert_array_equal(back["x"].double().numpy(), x.double().numpy())
    tx = st.load_file(str(path))["x"]  # the file is an ordinary safetensors file for PyTorch
    assert tx.dtype == torch_dtype(name)
    np.testing.assert_array_equal(tx.double().numpy(), x.double().numpy())
    st.save_file({"y": torch.tensor(_values_for(name), dtype=torch_dtype(name))}, str(tmp_path / "t.safetensors"))
    y = pe.load(tmp_path / "t.safetensors")["y"]
    assert y.dtype is pe_dtype(name)
    np.testing.assert_array_equal(y.double().numpy(), x.double().numpy())
