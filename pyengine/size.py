"""pyengine.Size: the type of `Tensor.shape` and `Tensor.size()`, a tuple of ints as torch.Size."""
import math
import operator

_tuple_new = tuple.__new__


class Size(tuple):
    """A tensor's shape: a tuple of ints (it compares and hashes like one) with numel() and
    PyTorch's repr, `pyengine.Size([2, 3])`. Slicing and concatenation give a Size."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        out = []
        for i, s in enumerate(sizes):
            if isinstance(s, bool) or not hasattr(s, "__index__"):
                raise TypeError(f"pyengine.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')")
            out.append(operator.index(s))
        return _tuple_new(cls, out)

    def numel(self):
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __repr__(self):
        return f"pyengine.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return _tuple_new(Size, item) if isinstance(key, slice) else item

    def __add__(self, other):
        return _tuple_new(Size, tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return _tuple_new(Size, tuple(other) + tuple(self))

    def __mul__(self, n):
        return _tuple_new(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))


def as_size(shape):
    """A Size from a trusted tuple of ints (the engine's shapes): no checks, one allocation."""
    return _tuple_new(Size, shape)
