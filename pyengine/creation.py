"""Tensor creation: tensor/as_tensor/from_numpy, zeros/ones/full/empty (+ _like), arange,
linspace, eye, random draws, from_dlpack."""
import numpy as np

from . import _C
from ._ints import int64 as _int64, size_list as _size_list
from .dtypes import get_default_dtype, to_dtype, device_name
from .tensor import Tensor, _wrap

# What each dtype is built through in NumPy (bfloat16, which NumPy lacks, through float32).
_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": np.float32,
                 "int64": np.int64, "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8,
                 "bool": np.bool_}


def _numpy_dtype_name(a):
    """The dtype a NumPy array keeps, as in PyTorch; the unsigned types pyengine lacks (uint16,
    uint32, uint64) widen to int64."""
    kind, size = a.dtype.kind, a.dtype.itemsize
    if kind == "u" and size > 1:
        return "int64"
    name = {"b": "bool", "u": "uint8", "i": f"int{8 * size}", "f": f"float{8 * size}"}.get(kind)
    if name not in _NUMPY_DTYPES or (kind == "f" and size not in (2, 4, 8)):
        raise TypeError(f"can't convert np.ndarray of type {a.dtype}: the supported types are bool, uint8, int8, "
                        f"int16, int32, int64, float16, float32 and float64")
    return name


_INT64_RANGE = "[-9223372036854775808, 9223372036854775807]"


def _may_hold_big_ints(a):
    """Whether np.array() of Python data may have met an int outside int64: NumPy then makes a
    uint64 or object array, or (next to negative ints or floats) a float64 one."""
    if a.dtype.kind in "uO":
        return True
    return a.dtype.kind == "f" and a.size > 0 and bool(np.nanmax(np.abs(a), initial=0.0) >= 2.0**63)


def _scan_numbers(data):
    """(the first int outside int64 or None, whether a float occurs) in nested lists/tuples."""
    big, has_float = None, False
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        elif isinstance(x, np.ndarray):
            has_float = has_float or x.dtype.kind == "f"
        elif isinstance(x, (bool, np.bool_)):
            continue
        elif isinstance(x, (int, np.integer)):
            if big is None and not -2**63 <= int(x) < 2**63:
                big = int(x)
        elif isinstance(x, (float, np.floating)):
            has_float = True
    return big, has_float


def _without_big_ints(data, a, dtype):
    """PyTorch's rule for Python ints outside int64: fine as floats or bools, an error for an
    int64 result (inferred when no float occurs). NumPy would have wrapped them (uint64) or
    silently made the whole tensor float."""
    big, has_float = _scan_numbers(data)
    if big is None:
        return a
    d = to_dtype(dtype) if dtype is not None else (get_default_dtype() if has_float else None)
    if d is None or d.name == "int64":
        raise ValueError(f"Overflow when unpacking long long: int {big} is out of the int64 range {_INT64_RANGE}")
    return np.array(data, dtype=np.bool_ if d.name == "bool" else np.float64)


def _finish(impl, device, requires_grad):
    if device is not None:
        dev = device_name(device)
        if dev != impl.device:
            impl = _C.to_device(impl, dev)
    t = _wrap(impl)
    if requires_grad:
        t.requires_grad = True  # validates the dtype
    return t


def _nested_has_tensor(data):
    if isinstance(data, (list, tuple)):
        return any(isinstance(d, Tensor) or _nested_has_tensor(d) for d in data[:1])
    return False


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (nested lists, scalars, NumPy arrays, tensors).
    Inferred dtypes follow PyTorch: Python floats -> default dtype (float32), ints -> int64,
    bools -> bool; NumPy arrays keep their float dtype."""
    if isinstance(data, Tensor):
        impl = _C.clone(data._impl)
        if dtype is not None:
            impl = _C.to_dtype(impl, to_dtype(dtype).name)
        return _finish(impl, device, requires_grad)
    from_numpy_data = isinstance(data, (np.ndarray, np.generic))
    if _nested_has_tensor(data):
        data = [d.detach().numpy(force=True) if isinstance(d, Tensor) else d for d in data]
    try:
        a = np.array(data)
    except ValueError as e:
        raise ValueError(f"could not build a tensor from the given data: {e}") from None
    if not from_numpy_data and _may_hold_big_ints(a):
        a = _without_big_ints(data, a, dtype)
    if a.dtype == object:
        raise TypeError(f"could not infer dtype of {type(data).__name__}: expected numbers, nested lists of "
                        f"numbers, or NumPy arrays")
    if dtype is not None:
        name = to_dtype(dtype).name
    elif a.dtype.kind == "f" and not from_numpy_data:
        name = get_default_dtype().name
    elif a.size == 0 and not from_numpy_data:
        name = get_default_dtype().name  # tensor([]) is float32
    else:
        name = _numpy_dtype_name(a)
    if name == "int64" and a.dtype.kind == "u" and a.itemsize == 8 and a.size and int(a.max()) >= 2**63:
        raise ValueError(f"can't convert np.ndarray of type {a.dtype}: value {int(a.max())} is out of the int64 "
                         f"range {_INT64_RANGE}")
    # (also converts a non-native byte order to the native one: np.float32 etc. are native)
    a = np.asarray(a, dtype=_NUMPY_DTYPES[name])
    if not a.flags.c_contiguous or a is data or (from_numpy_data and np.shares_memory(a, data)):
        a = a.copy(order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
    impl = _C.from_numpy(a)
    if impl.dtype != name:  # bfloat16: rounded once from the float32 array
        impl = _C.to_dtype(impl, name)
    return _finish(impl, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with `data` when it already has the right dtype/device."""
    if isinstance(data, Tensor):
        t = data
        if dtype is not None and t.dtype is not to_dtype(dtype):
            t = t.to(dtype)
        if device is not None:
            t = t.to(device)
        return t
    if isinstance(data, np.ndarray) and dtype is None and (device is None or device_name(device) == "cpu"):
        try:
            return from_numpy(data)
        except (TypeError, ValueError):
            pass
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray):
    """A tensor sharing memory with the NumPy array (float32, float64, int64 or bool)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return _wrap(_C.from_numpy(ndarray))


def _shape(size, fn="empty"):
    """The one normalisation of creation sizes: int64 entries (_ints.size_list), none negative."""
    out = _size_list(size, fn)
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {out}")
    return out


def _dtype_name(dtype):
    return (get_default_dtype() if dtype is None else to_dtype(dtype)).name


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = "bool"
        elif isinstance(fill_value, (int, np.integer)):
            dtype = "int64"
    # the value goes to _C in its own type: an int64 above 2**53 must not pass through float
    impl = _C.full(_shape((size,) if isinstance(size, int) else tuple(size), "full"), fill_value,
                   _dtype_name(dtype), device_name(device))
    return _finish(impl, None, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _finish(_C.full(_shape(size, "zeros"), 0.0, _dtype_name(dtype), device_name(device)), None, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(_C.full(_shape(size, "ones"), 1.0, _dtype_name(dtype), device_name(device)), None, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _finish(_C.empty(_shape(size), _dtype_name(dtype), device_name(device)), None, requires_grad)


def _like(input, dtype, device):
    return (list(input.shape), (input.dtype if dtype is None else to_dtype(dtype)).name,
            str(input.device) if device is None else device_name(device))


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dt, dev = _like(input, dtype, device)
    return _finish(_C.full(shape, 0.0, dt, dev), None, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dt, dev = _like(input, dtype, device)
    return _finish(_C.full(shape, 1.0, dt, dev), None, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    shape, dt, dev = _like(input, dtype, device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _finish(_C.full(shape, fill_value, dt, dev), None, requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dt, dev = _like(input, dtype, device)
    return _finish(_C.empty(shape, dt, dev), None, requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dt, dev = _like(input, dtype, device)
    return _finish(_C.rand(shape, dt, dev), None, requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dt, dev = _like(input, dtype, device)
    return _finish(_C.randn(shape, dt, dev), None, requires_grad)


def _arange_arg(value, name, integral):
    """PyTorch takes Python ints up to 2**64 - 1: one beyond int64 is a float bound for a float
    arange and cannot be one of an integer arange; beyond uint64 it is an OverflowError."""
    if type(value) is int and not -2**63 <= value < 2**63:
        if not -2**63 <= value < 2**64:
            raise OverflowError(f"arange: {name}={value} is outside the range of a 64-bit integer")
        if integral:
            raise RuntimeError(f"arange: {name}={value} cannot be converted to int64 without overflow")
        return float(value)
    return value


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        is_float = any(isinstance(v, float) or (isinstance(v, Tensor) and v.is_floating_point())
                       for v in (start, end, step))
        dtype = get_default_dtype() if is_float else "int64"
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    integral = to_dtype(dtype).name == "int64"
    start, end, step = (_arange_arg(v, n, integral) for v, n in ((start, "start"), (end, "end"), (step, "step")))
    impl = _C.arange(start, end, step, to_dtype(dtype).name, device_name(device))
    return _finish(impl, None, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    dt = _dtype_name(dtype)
    if dt != "float64":  # every value lies between the ends: they must fit the dtype (PyTorch's check)
        for name, v in (("start", start), ("end", end)):
            try:
                _C.full([], float(v), dt, "cpu")
            except RuntimeError:
                raise RuntimeError(f"linspace: {name}={v} cannot be converted to pyengine.{dt} without overflow") \
                    from None
    impl = _C.linspace(float(start), float(end), _int64(steps, "linspace", "steps"), dt, device_name(device))
    return _finish(impl, None, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    impl = _C.eye(_int64(n, "eye", "n"), _int64(n if m is None else m, "eye", "m"), _dtype_name(dtype),
                  device_name(device))
    return _finish(impl, None, requires_grad)


def manual_seed(seed):
    """Seed the default generator; returns it (pyengine.random.manual_seed)."""
    from .random import manual_seed as _manual_seed
    return _manual_seed(seed)


def _engine(generator, device, fn):
    from .random import engine
    return engine(generator, device, fn)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    dev = device_name(device)
    return _finish(_C.rand(_shape(size, "rand"), _dtype_name(dtype), dev, _engine(generator, dev, "rand")), None,
                   requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    dev = device_name(device)
    return _finish(_C.randn(_shape(size, "randn"), _dtype_name(dtype), dev, _engine(generator, dev, "randn")), None,
                   requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None):
    """A 0/1 draw per element: 1 with probability input[i] (a float32/float64 tensor of
    probabilities; the result has its dtype, shape and device), or, with a float p, with
    probability p for every element of a tensor shaped like input. From the global Philox
    stream (pe.manual_seed) or `generator`. No gradient flows (PyTorch's too is zero)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if p is None:
        result = _wrap(_C.bernoulli(input._impl, _engine(generator, input._impl.device, "bernoulli")))
    else:
        result = empty_like(input).bernoulli_(p, generator=generator)
    if out is not None:
        return out.copy_(result)
    return result


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """randint(high, size) or randint(low, high, size), PyTorch's overloads."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint() missing required argument 'size'")
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    low, high = _int64(low, "randint", "low"), _int64(high, "randint", "high")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    # Drawn on the target device (same numbers as the CPU for the same seed).
    dev = device_name(device)
    impl = _C.randint(low, high, _shape(tuple(size), "randint"), "int64", dev, _engine(generator, dev, "randint"))
    if dtype is not None and to_dtype(dtype).name != "int64":
        impl = _C.to_dtype(impl, to_dtype(dtype).name)
    return _finish(impl, device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64 by default), from `generator` or the default one."""
    keys = _C.rand(_shape((n,), "randperm"), "float64", "cpu", _engine(generator, device_name(device), "randperm"))
    perm = _C.from_numpy(np.argsort(keys.numpy(), kind="stable").astype(np.int64))
    return _finish(perm if dtype is None else _C.to_dtype(perm, to_dtype(dtype).name), device, requires_grad)


def from_dlpack(ext_tensor):
    return _wrap(_C.from_dlpack(ext_tensor))
