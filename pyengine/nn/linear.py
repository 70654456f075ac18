"""Linear layers with PyTorch's weight layout (out_features, in_features) and default init."""
import math

from ..creation import empty
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter, UninitializedParameter, is_lazy


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments (like PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x @ weight.T + bias. weight: (out_features, in_features), drawn with
    kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)); bias: U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """A Linear whose in_features is read from the first input; it then becomes a Linear."""

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self._factory = {"dtype": dtype, "device": device}
        self.weight = UninitializedParameter()
        if bias:
            self.bias = UninitializedParameter()
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if not is_lazy(self.weight):
            super().reset_parameters()

    def forward(self, input):
        if is_lazy(self.weight):
            self.initialize_parameters(input)
        return Linear.forward(self, input)  # the class has just changed to Linear

    def initialize_parameters(self, input):
        self.in_features = input.shape[-1]
        dtype = self._factory["dtype"] or (input.dtype if input.is_floating_point() else None)
        self.weight.materialize((self.out_features, self.in_features), dtype=dtype, device=self._factory["device"])
        if self.bias is not None:
            self.bias.materialize((self.out_features,), dtype=dtype, device=self._factory["device"])
        self.reset_parameters()
        del self.__dict__["_factory"]
        self.__class__ = Linear  # PyTorch's cls_to_become: from now on it is a plain Linear

    def extra_repr(self):
        return f"in_features=<lazy>, out_features={self.out_features}, bias={self.bias is not None}"
