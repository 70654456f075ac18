"""Parameter: a Tensor that a Module registers as learnable when assigned as an attribute."""
from ..creation import empty
from ..tensor import Tensor, _init


class Parameter(Tensor):
    """A leaf Tensor with requires_grad=True (by default) that shares `data`'s storage."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            from ..creation import tensor
            data = tensor(data)
        _init(self, data.detach()._impl)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):  # pickle keeps the class (Tensor's own rebuilds a plain tensor)
        return (type(self), (self.detach().clone(), self.requires_grad))


class UninitializedParameter(Parameter):
    """Placeholder of a lazy module (e.g. LazyLinear) until its first forward gives the shape."""

    __slots__ = ()

    def __repr__(self):
        return "<UninitializedParameter>"

    def materialize(self, shape, dtype=None, device=None):
        """Give the parameter real (uninitialised) storage of `shape`, keeping the object; on the
        placeholder's device (where Module.to() put it) unless `device` is given."""
        self.data = empty(*shape, dtype=dtype, device=self.device if device is None else device)
        self.__class__ = Parameter


def is_lazy(t):
    return isinstance(t, UninitializedParameter)
