"""Batch normalization layers with PyTorch's parameters, buffers and state_dict names:
weight/bias (affine; bias=False drops the bias), running_mean/running_var/num_batches_tracked (track_running_stats)."""
from ..creation import empty, tensor
from . import init
from ._norm_fns import _batch_norm
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _expected_dims = ()  # input ndims the subclass accepts
    _dims_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(empty(num_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", empty(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", empty(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input):
        if input.ndim not in self._expected_dims:
            raise ValueError(f"expected {self._dims_text} input (got {input.ndim}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        # PyTorch's rule: batch statistics in training, and also in eval when nothing is tracked.
        use_batch_stats = self.training or self.running_mean is None
        track = self.running_mean is not None and (not self.training or self.track_running_stats)
        return _batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                           self.weight, self.bias, use_batch_stats, self.momentum, self.eps,
                           self.num_batches_tracked if self.training and track else None)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, statistics per channel C."""
    _expected_dims, _dims_text = (2, 3), "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, statistics per channel C."""
    _expected_dims, _dims_text = (4,), "4D"


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) input, statistics per channel C."""
    _expected_dims, _dims_text = (5,), "5D"
