"""pyengine: a deep-learning framework with hand-written C++/CUDA kernels and a PyTorch-style API."""
try:
    from . import _C
except ImportError as _error:  # say what happened and what to do, not "circular import"
    from ._extension import explain
    raise ImportError(explain(_error)) from _error
from .dtypes import (bfloat16, bool_ as bool, device, dtype, float16, float32, float64, get_default_dtype, int8,
                     int16, int32, int64, set_default_dtype, uint8)
from .tensor import Tensor
from ._promotion import can_cast, promote_types, result_type
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
from .ops.sort import (argsort, bucketize, median, mode, msort, nanmedian, searchsorted, sort, unique,
                       unique_consecutive)
from .ops.scan import cummax, cummin, cumprod, cumsum, diff, logcumsumexp
from .ops.linalg import bmm, dot, matmul, mm
from .ops.reduce import (all, amax, amin, any, argmax, argmin, logsumexp, max, mean, min, norm, prod, std,
                         sum, var)
from .ops.shape import (broadcast_shapes, broadcast_tensors, broadcast_to, cat, chunk, concat, concatenate,
                        expand, flatten, movedim, permute, reshape, split, squeeze, stack, swapaxes, t,
                        transpose, tril, triu, unbind, unflatten, unsqueeze, view)

float = float32
double = float64
half = float16
long = int64
short = int16
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
from . import amp, data, distributed, nn, optim  # noqa: E402
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402
from .nn._activation_more_fns import celu, hardshrink, prelu, rrelu, selu, selu_  # noqa: E402
from .io import load, save  # noqa: E402
from .ops.elementwise_more import (acos, acosh, allclose, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,  # noqa: E402
                                   arctanh, asin, asinh, atan, atan2, atanh, copysign, cosh, div, divide, equal,
                                   exp2, fix, fmod, frac, hypot, isclose, isfinite, isinf, isnan, isneginf,
                                   isposinf, isreal, lerp, log10, log2, log_softmax, logaddexp, nan_to_num, sgn,
                                   sinh, softmax, std_mean, tan, trunc, var_mean, xlogy)
from . import random  # noqa: E402
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, multinomial,  # noqa: E402
                     normal, seed, set_rng_state)
from . import futures, linalg, utils  # noqa: E402  (utils.data: the torch.utils.data path)
from .linalg import det, logdet, pinverse, slogdet  # noqa: E402
from .linalg import inv as inverse  # noqa: E402
from .linalg._decompositions import cholesky as _linalg_cholesky  # noqa: E402


def cholesky(input, upper=False):
    """torch.cholesky: the Cholesky factor (lower, or upper with upper=True)."""
    return _linalg_cholesky(input, upper=upper)


from .ops.rearrange import (diag, diag_embed, diagonal, flip, fliplr, flipud, meshgrid, repeat_interleave,  # noqa: E402
                            roll, rot90, tile, trace)
from .ops.contract import cross, einsum, ger, kron, outer, tensordot  # noqa: E402
from . import errors  # noqa: E402
from .errors import ArgumentError, DTypeError, IndexRangeError  # noqa: E402
from .size import Size  # noqa: E402
from .autograd import inference_mode, is_inference_mode_enabled  # noqa: E402
from ._format import set_printoptions  # noqa: E402

# Then NumPy's axis=/keepdims= on every function and method defined above (see _numpy_aliases).
from ._numpy_aliases import install as _install_numpy_aliases  # noqa: E402

_install_numpy_aliases(globals(), Tensor)

from ._docstrings import install as _install_docstrings  # noqa: E402

_install_docstrings()  # help() text for names defined without a docstring (see _docstrings)

# Last: `int` names the dtype from here on, as torch.int does (nothing above may call int()).
int = int32  # noqa: A001
