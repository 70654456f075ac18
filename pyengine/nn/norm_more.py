"""InstanceNorm1d/2d and LocalResponseNorm with PyTorch 2.13's arguments, defaults, parameters and
buffers (weight/bias when affine, bias=False dropping the bias; running_mean/running_var/
num_batches_tracked when track_running_stats; affine and tracking off by default, as in PyTorch)."""
import warnings

from ._norm_more_fns import instance_norm, local_response_norm
from .batchnorm import _BatchNorm
from .module import Module


class _InstanceNorm(_BatchNorm):
    """BatchNorm's parameters, buffers and repr, with instance norm's defaults and forward."""

    _no_batch_dim = 0  # the ndim of an unbatched input
    _dims_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        nb = self._no_batch_dim
        if input.ndim not in (nb, nb + 1):
            raise ValueError(f"expected {self._dims_text} input (got {input.ndim}D input)")
        feature_dim = input.ndim - nb
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          f"warning by not passing in num_features, which is not used because affine=False")
        batched = input.ndim == nb + 1
        x = input if batched else input.unsqueeze(0)
        out = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            self.momentum if self.momentum is not None else 0.0, self.eps)
        return out if batched else out.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or unbatched (C, L) input."""
    _no_batch_dim, _dims_text = 2, "2D or 3D"


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or unbatched (C, H, W) input."""
    _no_batch_dim, _dims_text = 3, "3D or 4D"


class LocalResponseNorm(Module):
    """Local response normalisation across channels (Krizhevsky et al., 2012)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
