"""The process side of tests/test_fuzz_public_api.py: runs fuzz cases in pyengine and in PyTorch
and says how they compare. It is a separate process so that a segfault, an abort or a hang in a
kernel is seen as such by the test (which restarts it) instead of taking pytest down with it.

Protocol (binary, on the pipes the test holds): the test writes a 4-byte big-endian length and a
pickled case; the worker answers b"T" once PyTorch has run the case (so a crash before that is
PyTorch's, not ours) and then a length-prefixed pickled verdict dict. Its own stdout is sent to
stderr so nothing a library prints can corrupt the protocol.

A case is (target, args, kwargs, device). target names what to call, the same way in both
libraries: "pe.X" (pyengine.X / torch.X), "F.X" (nn.functional), "m.X" (method X of the first
argument), "op.X" (operator.X; "op.setitem" returns the assigned tensor). Arguments are plain
Python values (slices, Ellipsis, None, ints, floats, strings, tuples, lists) plus markers, tuples
whose first item is a string starting with "@":
  ("@T", shape, dtype, fill, layout)  a tensor with deterministic values (see _values), built
                                      contiguous ("c"), as the transpose of its last two dims
                                      ("t") or as every other row of a taller one ("s")
  ("@D", name)                        the dtype `name` of the library
  ("@N", numpy_dtype, shape, layout)  a NumPy array (any dtype and byte order), the same
                                      object handed to both libraries
"""
import math
import operator
import os
import pickle
import resource
import struct
import sys
import traceback

# A runaway allocation must fail fast (MemoryError / RuntimeError) rather than let the kernel
# overcommit gigabytes on a shared machine.
# Not under a sanitizer (CI preloads its runtime): ASan and TSan reserve terabytes of shadow
# address space at start, so any cap below that fails every later mapping; there a huge
# allocation fails by the sanitizer's allocator_may_return_null=1 instead.
_LIMIT = int(os.environ.get("PYENGINE_FUZZ_AS_LIMIT", 6 << 30))
if "san.so" not in os.environ.get("LD_PRELOAD", ""):
    resource.setrlimit(resource.RLIMIT_AS, (_LIMIT, _LIMIT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyengine as pe  # noqa: E402

torch.set_num_threads(1)

# Exception types a refusal may have. Anything else (AttributeError, KeyError, SystemError,
# ZeroDivisionError from Python arithmetic on sizes, ...) is a bug in how we check arguments.
ACCEPTED = (ValueError, TypeError, IndexError, RuntimeError, MemoryError, OverflowError, NotImplementedError)
# Messages that mean an argument reached C++ unchecked (issue 12's "errors that don't help").
UNHELPFUL = ("Unable to cast Python instance", "incompatible function arguments", "_M_default_append",
             "std::bad_alloc", "vector::reserve", "basic_string", "_M_create")
BIG = 100_000  # results with more elements are compared by shape, dtype and a sample of values


class Lib:
    def __init__(self, mod, functional, device, native_numpy=False):
        self.mod, self.F, self.device = mod, functional, device
        # torch.tensor(a) refuses some non-native byte orders (a gap in PyTorch, not a rule): the
        # reference for pe.tensor / pe.as_tensor is PyTorch on the same values in native order.
        self.native_numpy = native_numpy

    def tensor(self, arr, layout):
        t = self.mod.tensor(arr) if self.mod is pe else torch.from_numpy(arr.copy())
        if self.device != "cpu":
            t = t.to(self.device)
        if layout == "t":
            t = t.transpose(-1, -2)
        elif layout == "s":
            t = t[::2]
        return t


def _values(shape, dtype, fill, layout):
    """Deterministic values for ("@T", ...); the array is built in the pre-view shape."""
    shape = list(shape)
    if layout == "t" and len(shape) >= 2:
        shape[-1], shape[-2] = shape[-2], shape[-1]
    elif layout == "s" and len(shape) >= 1:
        shape[0] *= 2
    n = int(np.prod(shape)) if shape else 1
    rng = np.random.default_rng(n * 7919 + len(shape))
    if fill == "special":  # zeros, signed zeros, infinities, NaN, ties, extremes of the dtype
        if dtype in ("float32", "float64"):
            pool = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, np.inf, -np.inf, np.nan, 3.0, 1e30, -7.0])
        elif dtype == "int64":
            pool = np.array([0, 1, -1, 2, -8, 7, 63, 64, -64, 2**62, -2**63, 2**63 - 1], dtype=np.int64)
        else:
            pool = np.array([True, False])
        vals = pool[rng.integers(0, len(pool), n)]
    elif fill == "small":  # small integers, zero included (divisors, shift counts, indices)
        vals = rng.integers(-3, 4, n)
    else:  # "randn"
        vals = rng.standard_normal(n) * 3
    if dtype == "bool":
        arr = vals.astype(bool) if fill != "randn" else vals > 0
    elif dtype == "int64":
        arr = vals.astype(np.int64) if fill != "randn" else np.round(vals).astype(np.int64)
    else:
        with np.errstate(all="ignore"):
            arr = vals.astype(dtype)
    return arr.reshape(shape)


def _numpy(np_dtype, shape, layout):
    """A NumPy array of dtype np_dtype (any byte order) in `layout`: "c" contiguous, "s" every
    other element (a non-unit stride), "r" reversed along dim 0 (a negative stride), "f" Fortran
    order. 8-byte signed values sit above 2**53, where a trip through double would change them."""
    dt = np.dtype(np_dtype)
    n = int(np.prod(shape)) if shape else 1
    base = np.arange(2 * n, dtype=np.int64) * 37 % 23 - 11
    if dt.kind == "b":
        vals = base % 3 == 0
    elif dt.kind == "u":
        vals = np.abs(base)
    elif dt.kind == "i" and dt.itemsize == 8:
        vals = base + (2**53 + 1)
    elif dt.kind == "f":
        vals = base * 0.37
        vals[::5] = np.nan if n > 2 else vals[::5]
    else:
        vals = base
    with np.errstate(all="ignore"):
        arr = vals.astype(dt)
    if layout == "s":
        return arr[::2].reshape(shape)
    arr = arr[:n].reshape(shape)
    if layout == "r" and len(shape) >= 1:
        return arr[::-1]
    if layout == "f" and len(shape) >= 2:
        return np.asfortranarray(arr)
    return arr


def resolve(v, lib, numpy_cache):
    if isinstance(v, tuple) and v and isinstance(v[0], str) and v[0].startswith("@"):
        kind = v[0]
        if kind == "@T":
            _, shape, dtype, fill, layout = v
            return lib.tensor(_values(shape, dtype, fill, layout), layout)
        if kind == "@D":
            return getattr(lib.mod, v[1])
        if kind == "@N":  # the same array for both libraries (neither may change it)
            key = v[1:]
            if key not in numpy_cache:
                numpy_cache[key] = _numpy(*v[1:])
            arr = numpy_cache[key]
            return arr.astype(arr.dtype.newbyteorder("=")) if lib.native_numpy else arr
        raise ValueError(f"unknown marker {v!r}")
    if isinstance(v, tuple):
        return tuple(resolve(x, lib, numpy_cache) for x in v)
    if isinstance(v, list):
        return [resolve(x, lib, numpy_cache) for x in v]
    if isinstance(v, dict):
        return {k: resolve(x, lib, numpy_cache) for k, x in v.items()}
    return v


def call(lib, target, args, kwargs, numpy_cache):
    args = resolve(args, lib, numpy_cache)
    kwargs = resolve(kwargs, lib, numpy_cache)
    space, name = target.split(".", 1)
    if lib.device != "cpu" and space in ("pe",) and name in _CREATION:
        kwargs = dict(kwargs, device=lib.device)
    if space == "pe":
        return getattr(lib.mod, name)(*args, **kwargs)
    if space == "F":
        return getattr(lib.F, name)(*args, **kwargs)
    if space == "m":
        return getattr(args[0], name)(*args[1:], **kwargs)
    if space == "op":
        if name == "setitem":
            operator.setitem(*args)
            return args[0]
        if name.startswith("i"):  # augmented assignment: x op= y returns the (same) left side
            return getattr(operator, name)(*args)
        return getattr(operator, name)(*args)
    raise ValueError(f"unknown target {target!r}")


_CREATION = {"zeros", "ones", "empty", "full", "arange", "randn", "rand", "randint", "eye", "linspace",
             "tensor", "as_tensor"}


# ---------------------------------------------------------------- comparing results
def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().resolve_conj().numpy()
    return x.detach().cpu().numpy()


def _dtype_name(x):
    return str(x.dtype).replace("torch.", "").replace("pyengine.", "")


def _same_values(a, b, dtype):
    if a.shape != b.shape:
        return f"values of shape {a.shape} vs {b.shape}"
    if dtype in ("float32", "float64", "float16"):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        if not np.array_equal(np.isnan(a64), np.isnan(b64)):
            return "NaN positions differ"
        fin = np.isfinite(a64) & np.isfinite(b64)
        if not np.array_equal(a64[~fin & ~np.isnan(a64)], b64[~fin & ~np.isnan(b64)]):
            return "infinities differ"
        rtol, atol = (2e-4, 1e-4) if dtype != "float64" else (1e-9, 1e-9)
        scale = max(1.0, float(np.max(np.abs(b64[fin]), initial=0.0)))
        if not np.allclose(a64[fin], b64[fin], rtol=rtol, atol=atol * scale):
            bad = np.argwhere(~np.isclose(a64, b64, rtol=rtol, atol=atol * scale) & fin)[:3]
            return f"values differ at {bad.tolist()}: {a64[tuple(bad.T)]} vs {b64[tuple(bad.T)]}"
        return None
    return None if np.array_equal(a, b) else f"values differ: {a.ravel()[:8]} vs {b.ravel()[:8]}"


def compare(p, t, widen_ok=False):
    """None when pyengine's result p equals PyTorch's t, else what differs."""
    if isinstance(t, torch.Tensor):
        if not isinstance(p, pe.Tensor):
            return f"PyTorch returned a tensor, pyengine {type(p).__name__}"
        pd, td = _dtype_name(p), _dtype_name(t)
        if pd != td and not (widen_ok and _widens(td, pd)):
            return f"dtype {pd} vs PyTorch's {td}"
        if tuple(p.shape) != tuple(t.shape):
            return f"shape {tuple(p.shape)} vs PyTorch's {tuple(t.shape)}"
        if t.numel() > BIG or t.numel() == 0:
            return None  # same shape and dtype; no values, or values that would need gigabytes
        pa, ta = _to_numpy(p), _to_numpy(t)
        if pd != td:
            ta = ta.astype(pa.dtype)
        why = _same_values(pa, ta, pd)
        return None if why is None else why
    if isinstance(t, (tuple, list)) and not isinstance(t, torch.Size):
        if not isinstance(p, (tuple, list)) or len(p) != len(t):
            return f"PyTorch returned {type(t).__name__} of {len(t)}, pyengine {p!r:.80}"
        for i, (a, b) in enumerate(zip(p, t)):
            why = compare(a, b, widen_ok)
            if why:
                return f"[{i}]: {why}"
        return None
    if isinstance(t, torch.Size):
        t = tuple(t)
    if isinstance(t, float) and isinstance(p, float) and np.isnan(t) and np.isnan(p):
        return None
    if type(p) is not type(t) and not (isinstance(p, (int, float)) and isinstance(t, (int, float))
                                      and not isinstance(p, bool) and not isinstance(t, bool)):
        return f"{type(p).__name__} {p!r:.80} vs PyTorch's {type(t).__name__} {t!r:.80}"
    return None if p == t else f"{p!r:.80} vs PyTorch's {t!r:.80}"


def _widens(torch_dtype, pe_dtype):
    """pyengine has four dtypes: NumPy input of another one may arrive widened within its kind."""
    ints = {"int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64"}
    return (torch_dtype in ints and pe_dtype == "int64") or (torch_dtype == "float16" and pe_dtype == "float32")


# ---------------------------------------------------------------- PyTorch's limits that are not rules
RANDOM = {"pe.rand", "pe.randn", "pe.randint", "pe.empty"}


def _random_check(target, args, out):
    """The result with its values replaced by zeros once they are seen to be in range."""
    if 0 < out.numel() <= BIG:
        v = _to_numpy(out)
        if target == "pe.randint" and v.size and not (v.min() >= args[0] and v.max() < args[1]):
            return out  # compared with zeros: reported as wrong values
        if target == "pe.rand" and v.size and not (v.min() >= 0 and v.max() < 1):
            return out
    return out.new_zeros(out.shape) if out.numel() else out


def _clamp_int32(v):
    if isinstance(v, (tuple, list)):
        return type(v)(_clamp_int32(x) for x in v)
    return min(v, 2**31 - 1) if type(v) is int else v


def _has_big(v):
    if isinstance(v, (tuple, list)):
        return any(_has_big(x) for x in v)
    return type(v) is int and abs(v) >= 2**31


def _exact_arange(target, args, kwargs, t_out):
    """PyTorch's integer arange counts its elements with int64 arithmetic that overflows (e.g.
    arange(2**61, 6, -(2**63 - 1)) is empty there); Python's range is the exact reference.
    Float arguments are truncated to int64 first, as PyTorch does (arange(0.5, 5.5, 1.5) is
    arange(0, 5, 1)). Returns a replacement for PyTorch's result where it differs in length, else None."""
    if target != "pe.arange" or kwargs.get("dtype", ("@D", "int64")) != ("@D", "int64"):
        return None
    if kwargs.get("dtype") is None and any(type(a) is float for a in args):
        return None  # a float arange
    args = tuple(int(a) if type(a) is float and math.isfinite(a) else a for a in args)
    if not all(type(a) is int for a in args) or not args or args[-1] == 0 or len(args) > 3:
        return None
    r = range(*args)
    if len(r) == t_out.numel() or len(r) > BIG:
        return None
    return torch.tensor(list(r), dtype=torch.int64)


# PyTorch multiplies a slice's step into the stride in int64 without a check: a huge step wraps
# (x[::2**63 - 1] gets a negative stride, x[::2**61, ::2**61] an unrepresentable one) and it
# refuses a view NumPy gives. Those steps only ever pick index 0, so NumPy is the reference.
_STRIDE_WRAP = ("Negative strides are not supported", "cannot be represented as a SymInt")


def _numpy_basic_getitem(target, args, message, numpy_cache):
    """NumPy's result for a basic-indexing x[key] (or x after x[key] = value) that PyTorch refused
    for a wrapped stride, else None."""
    if target not in ("op.getitem", "op.setitem") or not any(w in message for w in _STRIDE_WRAP):
        return None
    x, key, *value = resolve(args, Lib(torch, torch.nn.functional, "cpu"), numpy_cache)
    parts = key if isinstance(key, tuple) else (key,)
    if not all(p is None or p is Ellipsis or type(p) in (int, bool, slice, list) or isinstance(p, torch.Tensor)
               for p in parts):
        return None
    # Integer lists and tensors index as in NumPy (PyTorch follows its advanced-indexing rules).
    parts = tuple(p.numpy() if isinstance(p, torch.Tensor) else p for p in parts)
    key = parts if isinstance(key, tuple) else parts[0]
    if target == "op.getitem":
        return torch.from_numpy(x.numpy()[key].copy(order="C"))  # fresh strides (a size-1 dim keeps a wrapped one)
    out = x.numpy().copy()
    v = value[0]
    out[key] = v.numpy() if isinstance(v, torch.Tensor) else v
    return torch.from_numpy(out)


def _as_float64(v):
    """The same arguments with float32 tensors built as float64 (the same values, pools included)."""
    if isinstance(v, tuple) and v and v[0] == "@T":
        return v[:2] + ("float64",) + v[3:] if v[2] == "float32" else v
    if isinstance(v, (tuple, list)):
        return type(v)(_as_float64(x) for x in v)
    return v


def _norm_overflow(target, args, kwargs, t_out, numpy_cache):
    """PyTorch sums a float32 norm's squares in float32, so norm([1e30]) is inf there; pyengine
    sums in float64 and gets 1e30. Where PyTorch's float32 result is infinite and its float64
    one is not, the float64 one (rounded to float32) is the reference; else None."""
    if target != "pe.norm" or not isinstance(t_out, torch.Tensor) or t_out.dtype != torch.float32:
        return None
    lib = Lib(torch, torch.nn.functional, "cpu")
    wide = call(lib, target, _as_float64(args), kwargs, numpy_cache).float()
    overflow = torch.isinf(t_out) & torch.isfinite(wide)
    return torch.where(overflow, wide, t_out) if overflow.any() else None


def _empty(out):
    if isinstance(out, (tuple, list)):  # (values, indices) of max pooling
        return all(_empty(o) for o in out)
    return isinstance(out, pe.Tensor) and out.numel() == 0


def _float_result(out):
    return isinstance(out, pe.Tensor) and out.is_floating_point()


# (target prefix, words of PyTorch's message, when pyengine's result is acceptable, why). Where
# PyTorch refuses for a reason that is no rule of the operation, pyengine may return a result.
ARBITRARY = [
    ("pe.", "missing 1 required positional arguments", lambda out: True,
     "zeros()/ones()/... without a size: pyengine makes a 0-d tensor, as NumPy does"),
    ("m.", "missing 1 required positional arguments", lambda out: True,
     "x.reshape()/x.permute()/x.repeat() with no sizes: pyengine takes the empty list (PyTorch's "
     "x.reshape(())/permute(())/repeat(()) on a 0-d tensor)"),
    ("", "invalid combination of arguments - got ()", lambda out: True,
     "rand() without a size: a 0-d tensor, as zeros() (see above)"),
    ("", "Storage size calculation overflowed", _empty,
     "an empty tensor whose nonzero sizes multiply beyond int64 (2**62, 4, 0): it holds nothing, "
     "every stride and offset of it stays in range (PyTorch multiplies the sizes before the zero)"),
    ("", "Stride calculation overflowed", _empty, "the same for repeat()"),
    ("", "numel: integer multiplication overflow", _empty, "the same for expand()"),
    ("F.", "optional 0 dim batch size", _empty,
     "pooling an input with 0 channels or an empty non-batch dim: pyengine returns the empty result "
     "(PyTorch allows only the batch dim to be 0)"),
    ("F.", "non-zero size for non-batch dimensions", _empty, "the same for adaptive pooling"),
    ("pe.chunk", "std::bad_alloc", lambda out: True,
     "chunk() of an empty dim into 2**40 pieces: PyTorch builds every empty piece and runs out of memory"),
    ("F.one_hot", "Can not infer total number of classes from empty tensor", _empty,
     "one_hot(empty, num_classes=0): PyTorch takes 0 as 'infer'; pyengine gives the empty (0, 0) result"),
    ("op.setitem", "Index put requires the source and destination dtypes match", lambda out: True,
     "x[mask] = value of another dtype: pyengine converts the value as for every other index "
     "(PyTorch does too, except on its index_put path)"),
    ("F.adaptive_max_pool", "not implemented for 'Long'", lambda out: True,
     "int64 input to max pooling: pyengine has the kernel, some of PyTorch's CPU paths do not"),
    ("F.max_pool", "not implemented for 'Long'", lambda out: True, "the same"),
    ("pe.clamp", "not implemented for 'Bool'", lambda out: out.dtype == pe.bool,
     "clamp of a bool tensor by bools: pyengine computes it in bool, PyTorch has no bool kernel"),
    ("pe.prod", "must be int, not tuple", lambda out: True,
     "prod over several dims: pyengine takes a tuple as sum() does, PyTorch's prod() only one dim"),
    ("", "must be Tensor, not", lambda out: True,
     "maximum/minimum/... with a Python number: pyengine takes it as a 0-d tensor, as NumPy does"),
    ("F.pad", "not implemented for 'Bool'", lambda out: out.dtype == pe.bool,
     "replicate/reflect padding of a bool tensor: pyengine copies bools, PyTorch has no bool kernel"),
    ("op.", "cannot be represented as a SymInt", lambda out: True,
     "a slice whose step or bounds lie beyond int64: pyengine clamps them as NumPy does (issue 12)"),
    ("F.pad", "Padding size 0 is not supported", lambda out: True,
     "an empty pad list: pyengine returns the input unpadded in every mode"),
    ("", "Overflow when unpacking long long", _float_result,
     "a Python int beyond int64 stored into a floating tensor: exact as a float (PyTorch's parser "
     "reads every int as int64 first)"),
]


def arbitrary_refusal(target, message, out):
    for prefix, words, accept, why in ARBITRARY:
        if target.startswith(prefix) and words in message and accept(out):
            return why
    return None


# ---------------------------------------------------------------- one case
def _exc(e):
    msg = str(e).split("\n")[0][:300]
    return type(e).__name__, msg


def run_case(case, progress):
    target, args, kwargs, device = case
    numpy_cache = {}
    torch_lib = Lib(torch, torch.nn.functional, "cpu", native_numpy=target != "pe.from_numpy")
    pe_lib = Lib(pe, pe.nn.functional, device)
    try:
        t_out = call(torch_lib, target, args, kwargs, numpy_cache)
        t_err = None
    except Exception as e:  # noqa: BLE001 - PyTorch's refusal is data here
        t_out, t_err = None, _exc(e)
    progress()
    try:
        p_out = call(pe_lib, target, args, kwargs, numpy_cache)
        p_err = None
    except Exception as e:  # noqa: BLE001
        p_out, p_err = None, _exc(e)
        p_err_obj = e
    verdict = {"torch": t_err or "ok", "pe": p_err or "ok"}
    if p_err is not None:
        if not isinstance(p_err_obj, ACCEPTED) and (t_err is None or t_err[0] != p_err[0]):
            # (PyTorch's own type is fine too: F.embedding's padding_idx check is an assert there)
            verdict["fail"] = f"pyengine raised {p_err[0]} (not an accepted type): {p_err[1]}"
            verdict["trace"] = "".join(traceback.format_exception(p_err_obj)[-6:])
        elif any(u in p_err[1] for u in UNHELPFUL):
            verdict["fail"] = f"unhelpful error {p_err[0]}: {p_err[1]}"
        verdict["kind"] = "both raised" if t_err else "pe refused"
        return verdict
    if t_err is not None and "pool" in target and "to type int without overflow" in t_err[1]:
        # PyTorch keeps pooling parameters in 32 bits. A kernel size or stride at least the padded
        # input's size gives the same windows as 2**31 - 1, so that is the reference for a larger one.
        # (A dilation at least the padded input's size likewise: one tap, or no window at all.)
        clamped = {k: _clamp_int32(kwargs[k]) for k in ("kernel_size", "stride", "dilation") if k in kwargs}
        if clamped and all(not _has_big(kwargs[k]) for k in kwargs if k not in clamped):
            try:
                t_out = call(torch_lib, target, args, dict(kwargs, **clamped), numpy_cache)
                t_err, verdict["torch"] = None, "ok with kernel_size/stride clamped to 2**31 - 1 (int32 in PyTorch)"
            except Exception:  # noqa: BLE001
                pass
    if t_err is not None:
        ref = _numpy_basic_getitem(target, args, t_err[1], numpy_cache)
        if ref is not None:
            t_out, t_err, verdict["torch"] = ref, None, "stride * step wrapped in PyTorch; compared with NumPy"
    if t_err is not None:
        verdict["kind"] = "torch refused"
        reason = arbitrary_refusal(target, t_err[1], p_out)
        if reason:
            verdict["kind"] = "torch refused (arbitrary)"
            verdict["reason"] = reason
        else:
            verdict["fail"] = f"PyTorch raised {t_err[0]}: {t_err[1]} but pyengine returned a result"
        return verdict
    if target.startswith("F.max_pool") and kwargs.get("return_indices") and isinstance(t_out, tuple):
        # A window wholly in the padding: both give -inf; PyTorch's index then points outside the
        # plane (garbage), pyengine's is -1. Compare the indices of real windows only.
        t_out = (t_out[0], t_out[1].masked_fill(t_out[0] == float("-inf"), -1))
        if isinstance(p_out, tuple) and p_out[0].is_floating_point():  # -inf ties: any index of them
            p_out = (p_out[0], pe.masked_fill(p_out[1], p_out[0] == float("-inf"), -1))
    if target == "pe.chunk" and isinstance(p_out, tuple) and _empty(p_out) and all(t.numel() == 0 for t in t_out):
        t_out = t_out[:len(p_out)]  # chunks of an empty dim: "may return fewer than specified" (PyTorch's docs)
    ref = _norm_overflow(target, args, kwargs, t_out, numpy_cache)
    if ref is not None:
        t_out, verdict["torch"] = ref, "float32 squares overflowed in PyTorch; compared with its float64 norm"
    ref = _exact_arange(target, args, kwargs, t_out)
    if ref is not None:
        t_out, verdict["torch"] = ref, "wrong count; compared with Python's range"
    if target in RANDOM:  # same dtype, shape and range; the numbers themselves differ
        args = resolve(args, pe_lib, numpy_cache)
        p_out, t_out = _random_check(target, args, p_out), t_out.new_zeros(t_out.shape)
    try:
        why = compare(p_out, t_out, widen_ok=target in ("pe.tensor", "pe.as_tensor", "pe.from_numpy"))
    except Exception as e:  # noqa: BLE001 - e.g. a pyengine result that cannot be read back
        why = "reading the result back raised " + ": ".join(_exc(e))
    verdict["kind"] = "both returned"
    if why:
        verdict["fail"] = "silent wrong result: " + why
    return verdict


def main():
    inp = os.fdopen(0, "rb", buffering=0)
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything printed goes to stderr, not into the protocol
    sys.stdout = sys.stderr

    def read_exact(n):
        buf = b""
        while len(buf) < n:
            chunk = inp.read(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    out.write(b"R")
    while True:
        head = read_exact(4)
        if head is None:
            return
        case = pickle.loads(read_exact(struct.unpack(">I", head)[0]))
        said = []

        def progress():
            said.append(out.write(b"T"))

        try:
            verdict = run_case(case, progress)
        except Exception:  # noqa: BLE001 - a bug of this harness, reported as such
            verdict = {"kind": "harness error", "fail": "the fuzz worker failed: " + traceback.format_exc()}
        if not said:
            progress()
        data = pickle.dumps(verdict)
        out.write(struct.pack(">I", len(data)) + data)


if __name__ == "__main__":
    main()
