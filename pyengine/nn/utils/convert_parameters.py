"""parameters_to_vector / vector_to_parameters: a model's parameters as one flat vector and back
(PyTorch's nn.utils functions; global pruning ranks all its tensors through one such vector)."""
from ...tensor import Tensor
from ...ops.shape import cat


def _check_param_device(param, old_device):
    """The first parameter's device; TypeError when a later one lives elsewhere (as PyTorch)."""
    if old_device is not None and param.device != old_device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return param.device


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter's elements in order (differentiable: a cat of views)."""
    device, vec = None, []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(param.view(-1))
    return cat(vec)


def vector_to_parameters(vec, parameters):
    """Make each parameter's .data the next slice of `vec`, viewed in the parameter's shape."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected pyengine.Tensor, but got: {type(vec).__name__}")
    device, pointer = None, 0
    for param in parameters:
        device = _check_param_device(param, device)
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
