"""What lazy layers (LazyLinear, LazyConv2d) share: placeholder parameters until the first input
gives the missing size, then real parameters, the layer's own init, and a change of class into the
plain layer (PyTorch's cls_to_become), so a lazy module is indistinguishable from an eager one
after its first call."""
from ..creation import empty
from .parameter import UninitializedParameter, is_lazy


class LazyModuleMixin:
    """Mix in before the eager layer class and set `cls_to_become` to it. The subclass defines
    `initialize_parameters(input)`, which reads the missing size from `input` and calls
    `_materialize(input, weight_shape, bias_shape)`."""

    cls_to_become = None

    def _init_lazy(self, bias, dtype, device):
        """Placeholders for weight and (if wanted) bias; remember the factory arguments."""
        self._factory = {"dtype": dtype}
        # The placeholders hold the device (Module.to() moves them); they materialise there.
        self.weight = UninitializedParameter(empty(0, device=device))
        if bias:
            self.bias = UninitializedParameter(empty(0, device=device))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if not is_lazy(self.weight):
            super().reset_parameters()

    def forward(self, input, *args, **kwargs):
        eager = self.cls_to_become  # read before initialize_parameters changes the class
        if is_lazy(self.weight):
            self.initialize_parameters(input)
        return eager.forward(self, input, *args, **kwargs)

    def _materialize(self, input, weight_shape, bias_shape):
        # A floating-point input decides the dtype unless one was given at construction.
        dtype = self._factory["dtype"] or (input.dtype if input.is_floating_point() else None)
        self.weight.materialize(weight_shape, dtype=dtype)
        if self.bias is not None:
            self.bias.materialize(bias_shape, dtype=dtype)
        del self.__dict__["_factory"]
        self.__class__ = self.cls_to_become
        self.reset_parameters()
