"""The parametrised activations of PyTorch 2.13 (hardswish, hardsigmoid, mish, softsign, tanhshrink,
celu, selu, logsigmoid, hardtanh/relu6, softshrink, hardshrink) and the composed ones (glu, prelu,
rrelu).

The first group runs the native kernels of csrc/math/activation_math.h (_C.activation, forward;
_C.activation_backward, the fused backward). Each derivative is also written here as Tensor ops,
used when a graph is being built (create_graph), so double backward works; jvp is backward's
formula applied to the tangent (a diagonal Jacobian), as for the existing activations.
"""
from .. import _C
from ..autograd.grad_mode import state as _grad_state
from ..ops import elementwise as E
from ..ops._util import Op, elementwise_jvp
from ..tensor import Tensor, _wrap

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_tensor(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def _check_float(x, name):
    """The native kernels are floating only; PyTorch raises NotImplementedError for other dtypes."""
    _check_tensor(x, name)
    if not x.is_floating_point():
        raise NotImplementedError(f"{name}(): not implemented for dtype {x.dtype}: expected a floating input")


def _make(name, grad):
    """The Op of native activation `name`; grad(x, g, a, b) is dL/dx as Tensor ops."""

    def forward(ctx, x, a, b):
        if ctx is not None:
            ctx.save_for_backward(x)
            ctx.a, ctx.b = a, b
        return _C.activation(name, x._impl, a, b)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: stay differentiable
            return grad(x, g, ctx.a, ctx.b), None, None
        return _wrap(_C.activation_backward(name, g._impl, x._impl, ctx.a, ctx.b)), None, None

    cls_name = "".join(p.capitalize() for p in name.split("_")) + "Fn"
    return type(cls_name, (Op,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                                  "jvp": staticmethod(elementwise_jvp), "__module__": __name__,
                                  "__doc__": f"{name} on the native activation kernels, with its backward."})


def _shrink_grad(x, g, lambd, _):
    return E.where(x >= -lambd, E.where(x <= lambd, 0.0, g), g)


def _mish_grad(x, g, *_):
    t = x.exp().log1p().tanh()
    return g * (t + x * x.sigmoid() * (1.0 - t * t))


HardswishFn = _make("hardswish", lambda x, g, *_: E.where(x <= -3.0, 0.0, E.where(x < 3.0, g * (x / 3.0 + 0.5), g)))
HardsigmoidFn = _make("hardsigmoid", lambda x, g, *_: E.where(x > -3.0, E.where(x < 3.0, g / 6.0, 0.0), 0.0))
MishFn = _make("mish", _mish_grad)
# (x - x): NaN at +-inf, where PyTorch's composite derivative is inf/inf
SoftsignFn = _make("softsign", lambda x, g, *_: (x - x) + g / (1.0 + x.abs()) ** 2)
TanhshrinkFn = _make("tanhshrink", lambda x, g, *_: g * x.tanh() ** 2)
CeluFn = _make("celu", lambda x, g, alpha, _: E.where(x <= 0.0, g * (x / alpha).exp(), g))
SeluFn = _make("selu", lambda x, g, *_: E.where(x <= 0.0, g * (x.exp() * (_SELU_ALPHA * _SELU_SCALE)),
                                                g * _SELU_SCALE))
LogsigmoidFn = _make("logsigmoid", lambda x, g, *_: g * (-x).sigmoid())
HardtanhFn = _make("hardtanh", lambda x, g, lo, hi: E.where(x <= lo, 0.0, E.where(x >= hi, 0.0, g)))
SoftshrinkFn = _make("softshrink", _shrink_grad)
HardshrinkFn = _make("hardshrink", _shrink_grad)


def _apply(fn, input, a=0.0, b=0.0, inplace=False):
    out = fn.apply(input, float(a), float(b))
    return input.copy_(out) if inplace else out


# ---------------------------------------------------------------- functional forms
def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (PyTorch's F.hardswish)."""
    _check_float(input, "hardswish")
    return _apply(HardswishFn, input, inplace=inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6 (PyTorch's F.hardsigmoid)."""
    _check_float(input, "hardsigmoid")
    return _apply(HardsigmoidFn, input, inplace=inplace)


def mish(input, inplace=False):
    """x * tanh(softplus(x)) (PyTorch's F.mish)."""
    _check_float(input, "mish")
    return _apply(MishFn, input, inplace=inplace)


def _as_float(input, name):
    """PyTorch's composite softsign/tanhshrink promote integer input to the default float dtype."""
    _check_tensor(input, name)
    return input if input.is_floating_point() else input.float()


def softsign(input):
    """x / (1 + |x|) (PyTorch's F.softsign)."""
    return SoftsignFn.apply(_as_float(input, "softsign"), 0.0, 0.0)


def tanhshrink(input):
    """x - tanh(x) (PyTorch's F.tanhshrink)."""
    return TanhshrinkFn.apply(_as_float(input, "tanhshrink"), 0.0, 0.0)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (PyTorch's F.celu)."""
    _check_float(input, "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _apply(CeluFn, input, alpha, inplace=inplace)


def selu(input, inplace=False):
    """scale * (max(0, x) + min(0, alpha * (exp(x) - 1))) with PyTorch's fixed alpha and scale."""
    _check_float(input, "selu")
    return _apply(SeluFn, input, inplace=inplace)


def selu_(input):
    """In-place selu (PyTorch's torch.selu_ and F.selu_)."""
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    """In-place celu (PyTorch's F.celu_)."""
    return celu(input, alpha, inplace=True)


def logsigmoid(input):
    """log(sigmoid(x)), computed without overflow (PyTorch's F.logsigmoid)."""
    _check_float(input, "log_sigmoid")
    return LogsigmoidFn.apply(input, 0.0, 0.0)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val) with no gradient at or beyond the bounds (PyTorch's F.hardtanh)."""
    _check_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"min_val cannot be greater than max_val, got min_val={min_val} and max_val={max_val}")
    if not input.is_floating_point():  # integer input: a clamp to the bounds truncated to int, as PyTorch
        out = E.clamp(input, int(min_val), int(max_val))
        return input.copy_(out) if inplace else out
    return _apply(HardtanhFn, input, min_val, max_val, inplace=inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place hardtanh (PyTorch's F.hardtanh_)."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6): hardtanh(x, 0, 6) (PyTorch's F.relu6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _check_lambd(input, lambd, name):
    _check_float(input, name)
    if lambd < 0:
        raise RuntimeError(f"{name}(): lambda must be greater or equal to 0, but found to be {lambd}")


def softshrink(input, lambd=0.5):
    """x - lambd for x > lambd, x + lambd for x < -lambd, else 0 (PyTorch's F.softshrink)."""
    _check_lambd(input, lambd, "softshrink")
    return SoftshrinkFn.apply(input, float(lambd), 0.0)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0 (PyTorch's F.hardshrink; a negative lambd keeps every x, as there)."""
    _check_float(input, "hardshrink")
    return HardshrinkFn.apply(input, float(lambd), 0.0)


def glu(input, dim=-1):
    """a * sigmoid(b) where a, b are the halves of `input` along `dim` (PyTorch's F.glu)."""
    _check_tensor(input, "glu")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim + input.ndim if dim < 0 else dim
    if not 0 <= d < input.ndim:
        raise IndexError(f"glu(): dim {dim} is out of range for a tensor of {input.ndim} dimensions")
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, d)
    return a * b.sigmoid()


def prelu(input, weight):
    """x for x > 0, weight * x otherwise; weight has 1 entry or one per channel (dim 1 of input)."""
    _check_tensor(input, "prelu")
    _check_tensor(weight, "prelu")
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.ndim > 1 or (n != 1 and n != channels):
        raise RuntimeError(f"prelu(): mismatch of parameter numbers and input channel size. Found parameter numbers "
                           f"= {n} (weight shape {tuple(weight.shape)}) and channel size = {channels} "
                           f"(input shape {tuple(input.shape)}).")
    w = weight
    if n != 1 and input.ndim >= 2:
        w = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1 and input.ndim == 0:
        w = weight.reshape(())
    return E.where(input > 0, input, w * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training each x <= 0 is scaled by a slope drawn uniformly from
    [lower, upper]; in eval by the mean slope (lower + upper) / 2, as leaky_relu (PyTorch's F.rrelu)."""
    _check_float(input, "rrelu")
    if lower > upper:
        raise RuntimeError(f"rrelu(): lower bound should be less than or equal to the upper bound, "
                           f"got lower={lower} and upper={upper}")
    if not training:
        from ._activation_fns import leaky_relu
        return leaky_relu(input, (lower + upper) / 2.0, inplace)
    from ..creation import empty
    slopes = empty(tuple(input.shape), dtype=input.dtype, device=input.device).uniform_(lower, upper)
    out = input * E.where(input <= 0, slopes, 1.0)
    return input.copy_(out) if inplace else out


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place rrelu (PyTorch's F.rrelu_)."""
    return rrelu(input, lower, upper, training, inplace=True)
