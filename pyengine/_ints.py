"""Python ints at the boundary to _C.

Sizes, dims and integer arguments are unbounded in Python and int64 in the engine. These
helpers turn one into the other and say which argument had which value, where pybind11 would
print "Unable to cast Python instance..." or a dump of signatures. Types follow PyTorch: an
out-of-range size entry is a TypeError (PyTorch: "failed to unpack ... Overflow"), an
out-of-range scalar argument a ValueError ("Overflow when unpacking long long").
"""
import operator

INT64_MIN = -(2 ** 63)
INT64_MAX = 2 ** 63 - 1


def _range_error(exc, fn, name, value):
    return exc(f"{fn}(): argument '{name}' = {value} is out of the int64 range [{INT64_MIN}, {INT64_MAX}]")


def int64(value, fn, name):
    """operator.index(value), checked to fit int64: TypeError for a non-integer, ValueError out of range."""
    try:
        i = operator.index(value)
    except TypeError:
        raise TypeError(f"{fn}(): argument '{name}' must be an int, not {type(value).__name__}") from None
    if not INT64_MIN <= i <= INT64_MAX:
        raise _range_error(ValueError, fn, name, i)
    return i


def size_list(size, fn, name="size"):
    """Sizes given as (2, 3), [2, 3] or 2, 3 (entries: ints, NumPy ints, one-element integer
    tensors) -> a list of int64. Negative entries pass (view(-1)); the caller rejects them where
    they are not allowed."""
    if len(size) == 1 and not hasattr(size[0], "__index__"):
        size = size[0]
        if isinstance(size, (str, bytes)) or not hasattr(size, "__iter__"):
            raise TypeError(f"{fn}(): argument '{name}' must be a sequence of ints, not {type(size).__name__}")
    out = []
    for i, s in enumerate(size):
        if isinstance(s, bool) or not hasattr(s, "__index__"):
            raise TypeError(f"{fn}(): argument '{name}' must be a sequence of ints, but found element of type "
                            f"{type(s).__name__} at pos {i}")
        s = operator.index(s)
        if not INT64_MIN <= s <= INT64_MAX:
            raise _range_error(TypeError, fn, f"{name}[{i}]", s)
        out.append(s)
    return out
