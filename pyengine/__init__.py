"""pyengine: a deep-learning framework with hand-written C++/CUDA kernels and a PyTorch-style API."""
try:
    from . import _C
except ImportError as _error:  # say what happened and what to do, not "circular import"
    from ._extension import explain
    raise ImportError(explain(_error)) from _error
from .dtypes import (bool_ as bool, device, dtype, float32, float64, get_default_dtype, int64,
                     set_default_dtype)
from .tensor import Tensor
from . import autograd, cuda
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (arange, as_tensor, bernoulli, empty, empty_like, eye, from_dlpack, from_numpy, full, full_like,
                       linspace, manual_seed, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                       randperm, tensor, zeros, zeros_like)
from .ops.elementwise import (abs, add, bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or,
                              bitwise_right_shift, bitwise_xor, ceil, clamp, clip, cos, div, divide, eq, erf, exp,
                              expm1, floor, floor_divide, ge, greater, greater_equal, gt, le, less, less_equal, log,
                              log1p, logical_and, logical_not, logical_or, logical_xor, lt, masked_fill, maximum,
                              minimum, mul, multiply, ne, neg, not_equal, pow, reciprocal, relu, remainder, round,
                              rsqrt, sigmoid, sign, sin, sqrt, square, sub, subtract, tanh, true_divide, where)
from .ops.index import (gather, index_add, index_put, index_select, narrow, nonzero, one_hot, scatter, scatter_add,
                        scatter_reduce, select)
from .ops.sort import kthvalue, topk
from .ops.linalg import bmm, dot, matmul, mm
from .ops.reduce import (all, amax, amin, any, argmax, argmin, logsumexp, max, mean, min, norm, prod, std,
                         sum, var)
from .ops.shape import (broadcast_shapes, broadcast_tensors, broadcast_to, cat, chunk, concat, concatenate,
                        expand, flatten, movedim, permute, reshape, split, squeeze, stack, swapaxes, t,
                        transpose, tril, triu, unbind, unflatten, unsqueeze, view)

float = float32
double = float64
long = int64
negative = neg


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def clone(input):
    return input.clone()


def detach(input):
    return input.detach()


def set_num_threads(n):
    _C.set_num_threads(n)  # checked there: a positive int that fits a C int (ValueError naming it)


def get_num_threads():
    return _C.get_num_threads()


from ._version import package_version as _package_version  # noqa: E402

__version__ = _package_version()

# Subsystems above the tensor layer.
from . import data, nn, optim  # noqa: E402
from .nn._activation_more_fns import celu, hardshrink, prelu, rrelu, selu, selu_  # noqa: E402
from .io import load, save  # noqa: E402
