"""More initialisers with PyTorch's names and distributions: orthogonal_, trunc_normal_, sparse_.
Like the others in init.py, each fills the tensor in place under no_grad from pyengine's RNG and
returns it."""
import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ops import elementwise as E

# Giles (2010), "Approximating the erfinv function": a polynomial in w = -log(1 - y^2), one for the
# centre (w < 5, in w - 2.5) and one for the tails (in sqrt(w) - 3).
_ERFINV_CENTRE = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _horner(coefficients, w):
    p = w * 0.0 + coefficients[0]
    for c in coefficients[1:]:
        p = p * w + c
    return p


def _erfinv(y):
    """erf^-1(y) for a float64 tensor y in [-1, 1]: Giles' approximation polished by two Newton
    steps on erf(x) = y (double precision); +-inf at +-1."""
    w = -((1.0 - y) * (1.0 + y)).log()
    centre = _horner(_ERFINV_CENTRE, w - 2.5)
    tail = _horner(_ERFINV_TAIL, E.clamp(w, min=0.0).sqrt() - 3.0)
    x = E.where(w < 5.0, centre, tail) * y
    edge = y.abs() >= 1.0
    x = E.where(edge, 0.0, x)
    for _ in range(2):
        x = x - (x.erf() - y) / ((-(x * x)).exp() * _TWO_OVER_SQRT_PI)
    return E.where(edge, y * math.inf, x)


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) truncated to [a, b] (inverse-CDF sampling, as PyTorch)."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    with no_grad():
        lo, hi = _norm_cdf((a - mean) / std), _norm_cdf((b - mean) / std)
        from ..creation import empty
        u = empty(tuple(tensor.shape), dtype="float64", device=tensor.device).uniform_(2 * lo - 1, 2 * hi - 1)
        values = E.clamp(_erfinv(u) * (std * math.sqrt(2.0)) + mean, min=a, max=b)
        return tensor.copy_(values)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix (Saxe et al., 2013): the Q of the QR decomposition of a
    standard normal (rows, numel / rows) matrix, signs fixed by R's diagonal, times gain. Dims
    after the first are flattened."""
    if tensor.ndim < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported, got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        from ..creation import empty, tensor as make_tensor
        flat = empty(rows, cols, dtype=tensor.dtype).normal_(0.0, 1.0).numpy().astype(np.float64)
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        values = make_tensor(np.ascontiguousarray(q * gain).reshape(tuple(tensor.shape)), dtype=tensor.dtype,
                             device=tensor.device)
        return tensor.copy_(values)


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor with N(0, std^2) and zero ceil(sparsity * rows) random entries of every
    column (Martens, 2010)."""
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    with no_grad():
        from ..creation import randperm, tensor as make_tensor
        tensor.normal_(0.0, std)
        mask = np.zeros((rows, cols), dtype=bool)
        for col in range(cols):
            mask[randperm(rows).numpy()[:num_zeros], col] = True
        return tensor.copy_(E.where(make_tensor(mask, device=tensor.device), 0.0, tensor))
