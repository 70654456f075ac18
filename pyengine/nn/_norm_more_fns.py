"""instance_norm and local_response_norm (PyTorch's functional forms), composed from the existing
norm and pooling kernels: instance norm is group norm with one group per channel (the same per-sample,
per-channel statistics and biased variance), or batch norm with the running statistics in eval; local
response norm averages the squares over neighbouring channels with avg_pool2d, as PyTorch does."""
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from ._norm_fns import _batch_norm, group_norm
from ._pad_fns import pad
from ._pool_fns import avg_pool2d


def _check_tensor(x, what, name, optional=True):
    if x is None and optional:
        return
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(x).__name__}")


def _update_running_stats(input, running_mean, running_var, momentum):
    """PyTorch's rule: the running statistics move towards the per-instance statistics averaged
    over the batch (mean, and variance with Bessel's correction), with weight `momentum`."""
    with no_grad():
        n, c = input.shape[0], input.shape[1]
        x = input.detach().reshape(n, c, -1)
        if running_mean is not None:
            mean = x.mean(2).mean(0).to(running_mean.dtype)
            running_mean.copy_(running_mean * (1.0 - momentum) + mean * momentum)
        if running_var is not None:
            var = x.var(2, unbiased=True).mean(0).to(running_var.dtype)
            running_var.copy_(running_var * (1.0 - momentum) + var * momentum)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise every channel of every sample of input (N, C, *) over its spatial dims; weight and
    bias are per channel. With use_input_stats=False the running statistics are used instead."""
    name = "instance_norm"
    _check_tensor(input, "input", name, optional=False)
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_tensor(t, what, name)
    if input.ndim < 2:
        raise ValueError(f"{name}(): expected an input of shape (N, C, *), got shape {tuple(input.shape)}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
        return _batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = 1
    for s in input.shape[2:]:
        spatial *= s
    if spatial == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {tuple(input.shape)}")
    out = group_norm(input, input.shape[1], weight, bias, eps)
    if running_mean is not None or running_var is not None:
        _update_running_stats(input, running_mean, running_var, momentum)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """input / (k + alpha * mean of the squares over `size` neighbouring channels) ** beta; the
    window is centred (size // 2 before, (size - 1) // 2 after) and zero-padded at the ends."""
    _check_tensor(input, "input", "local_response_norm", optional=False)
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if int(size) != size or size < 1:
        raise ValueError(f"local_response_norm(): size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input
    shape = tuple(input.shape)
    # the squares as (N, 1, C, rest): a (size, 1) window along C is PyTorch's pooling of any rank
    div = (input * input).reshape(shape[0], 1, shape[1], -1)
    div = pad(div, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(div, (size, 1), stride=1).reshape(shape)
    div = (div * alpha + k) ** beta
    return input / div
