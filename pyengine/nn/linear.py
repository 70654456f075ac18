"""Linear layers with PyTorch's weight layout (out_features, in_features) and default init."""
import math

from ..creation import empty
from . import functional as F
from . import init
from .module import Module
from .lazy import LazyModuleMixin
from .parameter import Parameter


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


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under another name: nn.MultiheadAttention's out_proj, as in PyTorch (where the name
    keeps quantization from swapping it); same parameters and state_dict keys as Linear."""


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear whose in_features is read from the first input; it then becomes a Linear."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self._init_lazy(bias, dtype, device)

    def initialize_parameters(self, input):
        self.in_features = input.shape[-1]
        self._materialize(input, (self.out_features, self.in_features), (self.out_features,))

    def extra_repr(self):
        return f"in_features=<lazy>, out_features={self.out_features}, bias={self.bias is not None}"
