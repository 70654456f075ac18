"""Forward values and gradients at the edges (0, -0, +-inf, NaN, ties, kinks, empty, masked rows)
against PyTorch, in float32 and float64, on every device.

One table: each case is an expression written once against the torch-like API (`t` is the
library module, `F` its nn.functional), evaluated in pyengine and in torch on the same inputs; the
forward values and every input's gradient must agree, NaN where torch gives NaN, the same
infinities, and the same sign of zero where `signed_zeros` says torch's sign is deliberate.
"""
import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import pyengine as pe  # noqa: E402
import pyengine.nn.functional as PF  # noqa: E402

inf, nan = math.inf, math.nan

# The unary edge vector: zeros of both signs, the kinks of the activations (0, +-1, the
# softplus/threshold switch points), saturation and overflow (+-100, +-1000), infinities, NaN.
EDGE = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.5, 3.0, 20.0, 100.0, -100.0, 1000.0, -1000.0, inf, -inf, nan]
# Binary ops run on the full grid of these pairs.
GRID_VALUES = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, inf, -inf, nan]
GRID_A, GRID_B = (list(v) for v in zip(*itertools.product(GRID_VALUES, GRID_VALUES)))


class Case:
    """`fn(t, F, *inputs)` -> a tensor, or a tuple whose first item is differentiated.

    inputs: numpy arrays (floating ones get the dtype under test and requires_grad, integer ones
    stay int64 without grad) or Python scalars passed as they are.
    signed_zeros: compare the sign of zero results and gradients too.
    """

    def __init__(self, name, fn, *inputs, signed_zeros=False, dtypes=("float32", "float64")):
        self.name, self.fn, self.inputs = name, fn, [_as_input(v) for v in inputs]
        self.signed_zeros, self.dtypes = signed_zeros, dtypes


class Const:
    """A floating input that does not require grad (a target torch cannot differentiate)."""

    def __init__(self, values):
        self.values = np.array(values, dtype=np.float64)


def _as_input(v):
    if isinstance(v, (list, tuple)):
        return np.array(v, dtype=np.float64)
    return v


def _unary(name, fn, values=EDGE, **kw):
    return Case(name, fn, values, **kw)


def _binary(name, fn, **kw):
    return Case(name, fn, GRID_A, GRID_B, **kw)


# ---------------------------------------------------------------- elementwise
ELEMENTWISE = [
    _unary("neg", lambda t, F, x: -x, signed_zeros=True),
    _unary("abs", lambda t, F, x: t.abs(x), signed_zeros=True),
    _unary("exp", lambda t, F, x: t.exp(x)),
    _unary("expm1", lambda t, F, x: t.expm1(x), signed_zeros=True),
    _unary("log", lambda t, F, x: t.log(x), signed_zeros=True),
    _unary("log1p", lambda t, F, x: t.log1p(x), signed_zeros=True),
    _unary("sqrt", lambda t, F, x: t.sqrt(x), signed_zeros=True),
    _unary("rsqrt", lambda t, F, x: t.rsqrt(x), signed_zeros=True),
    _unary("sin", lambda t, F, x: t.sin(x), signed_zeros=True),
    _unary("cos", lambda t, F, x: t.cos(x)),
    _unary("tanh", lambda t, F, x: t.tanh(x), signed_zeros=True),
    _unary("sigmoid", lambda t, F, x: t.sigmoid(x)),
    _unary("erf", lambda t, F, x: t.erf(x), signed_zeros=True),
    _unary("sign", lambda t, F, x: t.sign(x)),
    _unary("floor", lambda t, F, x: t.floor(x), signed_zeros=True),
    _unary("ceil", lambda t, F, x: t.ceil(x), signed_zeros=True),
    _unary("round", lambda t, F, x: t.round(x), signed_zeros=True),
    _unary("reciprocal", lambda t, F, x: t.reciprocal(x), signed_zeros=True),
    _unary("square", lambda t, F, x: t.square(x), signed_zeros=True),
    _unary("relu", lambda t, F, x: t.relu(x)),
    _unary("F.relu", lambda t, F, x: F.relu(x)),
    _unary("leaky_relu", lambda t, F, x: F.leaky_relu(x)),
    _unary("leaky_relu(0.5)", lambda t, F, x: F.leaky_relu(x, 0.5)),
    _unary("elu", lambda t, F, x: F.elu(x)),
    _unary("elu(0.5)", lambda t, F, x: F.elu(x, 0.5)),
    # torch's float32 gelu(+inf) is NaN (its vectorised erf), float64's is inf: +inf in float64 only
    _unary("gelu", lambda t, F, x: F.gelu(x), values=[v for v in EDGE if v != inf]),
    _unary("gelu(inf)", lambda t, F, x: F.gelu(x), values=[inf, -inf], dtypes=("float64",)),
    _unary("gelu(tanh)", lambda t, F, x: F.gelu(x, approximate="tanh")),
    _unary("silu", lambda t, F, x: F.silu(x)),
    _unary("softplus", lambda t, F, x: F.softplus(x)),
    _unary("softplus(2,5)", lambda t, F, x: F.softplus(x, beta=2.0, threshold=5.0)),
    _unary("softplus(-1)", lambda t, F, x: F.softplus(x, beta=-1.0)),
    _unary("threshold", lambda t, F, x: F.threshold(x, 0.5, -1.0)),
    _unary("F.sigmoid", lambda t, F, x: F.sigmoid(x)),
    _unary("F.tanh", lambda t, F, x: F.tanh(x)),
    # clamp passes the gradient at the bounds; NaN propagates and gets none
    _unary("clamp", lambda t, F, x: t.clamp(x, -1.0, 1.0)),
    _unary("clamp_min", lambda t, F, x: t.clamp(x, min=0.0)),
    _unary("clamp_max", lambda t, F, x: t.clamp(x, max=0.5)),
    _unary("clamp(lo>hi)", lambda t, F, x: t.clamp(x, 1.0, -1.0)),
    _unary("clamp(min=nan)", lambda t, F, x: t.clamp(x, min=nan)),
    _unary("clamp(max=nan)", lambda t, F, x: t.clamp(x, max=nan)),
    _unary("clamp(-inf,inf)", lambda t, F, x: t.clamp(x, -inf, inf)),
    # pow with a scalar exponent: integer, fractional, zero, negative, infinite
    *(_unary(f"x**{e!r}", (lambda e: lambda t, F, x: x ** e)(e), signed_zeros=True)
      for e in (0, 1, 2, 3, -1, -2, 0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 2.5, -1.5, inf, -inf, nan)),
    # pow with a scalar base
    *(_unary(f"{b!r}**x", (lambda b: lambda t, F, x: b ** x)(b), signed_zeros=True)
      for b in (0.0, 1.0, 2.0, 0.5, -2.0, -0.5, inf, nan, 2, 0)),
    *(_unary(f"x/{d!r}", (lambda d: lambda t, F, x: x / d)(d), signed_zeros=True) for d in (0.0, -0.0, inf, 2.0)),
    *(_unary(f"{n!r}/x", (lambda n: lambda t, F, x: n / x)(n), signed_zeros=True) for n in (0.0, 1.0, -1.0)),
    _unary("x*0", lambda t, F, x: x * 0.0, signed_zeros=True),
    _unary("x*inf", lambda t, F, x: x * inf),
    _binary("add", lambda t, F, a, b: a + b, signed_zeros=True),
    _binary("sub", lambda t, F, a, b: a - b, signed_zeros=True),
    _binary("mul", lambda t, F, a, b: a * b, signed_zeros=True),
    _binary("div", lambda t, F, a, b: a / b, signed_zeros=True),
    _binary("pow", lambda t, F, a, b: a ** b, signed_zeros=True),
    _binary("t.pow", lambda t, F, a, b: t.pow(a, b), signed_zeros=True),
    # ties split the gradient 0.5/0.5; NaN on either side passes the gradient to both
    _binary("maximum", lambda t, F, a, b: t.maximum(a, b)),
    _binary("minimum", lambda t, F, a, b: t.minimum(a, b)),
    _binary("max(a,b)", lambda t, F, a, b: t.max(a, b)),
    _binary("min(a,b)", lambda t, F, a, b: t.min(a, b)),
    _binary("where", lambda t, F, a, b: t.where(a > b, a, b)),
    _binary("clamp(x,lo)", lambda t, F, a, b: t.clamp(a, min=b)),
    _binary("clamp(x,hi)", lambda t, F, a, b: t.clamp(a, max=b)),
    Case("clamp(x,lo,hi)", lambda t, F, x, lo, hi: t.clamp(x, lo, hi),
         *(list(v) for v in zip(*itertools.product([0.0, 1.0, -1.0, 2.0, nan, inf], [0.0, 1.0, -inf, nan],
                                                    [1.0, 0.0, inf, nan])))),
]


# ---------------------------------------------------------------- reductions
def _rows(*rows):
    return [list(r) for r in rows]


REDUCTIONS = [
    Case("sum", lambda t, F, x: x.sum(), [0.0, -0.0, inf, 1.0]),
    Case("sum(inf-inf)", lambda t, F, x: x.sum(), [inf, -inf]),
    Case("mean", lambda t, F, x: x.mean(), [1.0, inf, 2.0]),
    Case("mean(empty)", lambda t, F, x: x.mean(), np.zeros((0,))),
    Case("mean(empty, dim)", lambda t, F, x: x.mean(1), np.zeros((2, 0))),
    Case("sum(empty)", lambda t, F, x: x.sum(), np.zeros((0,))),
    # prod: no zero, one zero, two zeros, zero next to inf/NaN, inf without zero
    *(Case(f"prod{v}", lambda t, F, x: x.prod(), v)
      for v in ([2.0, 3.0, -4.0], [0.0, 3.0, 4.0], [0.0, 0.0, 4.0], [-0.0, 3.0, 4.0], [0.0, inf, 2.0],
                [0.0, nan, 2.0], [inf, 2.0, 3.0], [0.0, 0.0, inf], [5.0], [0.0])),
    Case("prod(dim)", lambda t, F, x: x.prod(1),
         _rows([0.0, 2.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0], [0.0, inf, 2.0], [2.0, inf, 0.0],
               [nan, 1.0, 2.0])),
    Case("prod(dim0,keepdim)", lambda t, F, x: x.prod(0, keepdim=True), _rows([0.0, 2.0, 0.0], [3.0, 0.0, 0.0])),
    # amax/amin and max()/min() without dim share the gradient among ties; NaN wins
    *(Case(f"{op}{v}", (lambda op: lambda t, F, x: getattr(x, op)())(op), v)
      for op in ("amax", "amin", "max", "min")
      for v in ([1.0, 3.0, 3.0, 2.0], [3.0, 3.0, 3.0], [1.0, nan, 3.0], [-inf, -inf], [inf, 1.0, inf],
                [-0.0, 0.0])),
    *(Case(f"{op}(dim)", (lambda op: lambda t, F, x: getattr(t, op)(x, 1))(op),
           _rows([1.0, 3.0, 3.0], [2.0, 2.0, 1.0], [-inf, -inf, -inf], [nan, 1.0, 2.0]))
      for op in ("amax", "amin")),
    # max/min with dim give the whole gradient to the returned index
    *(Case(f"{op}(dim)", (lambda op: lambda t, F, x: getattr(t, op)(x, 1))(op),
           _rows([1.0, 3.0, 3.0], [2.0, 2.0, 1.0], [-inf, -inf, -inf], [inf, inf, 0.0]))
      for op in ("max", "min")),
    *(Case(f"{op}(dim,nan)", (lambda op: lambda t, F, x: getattr(t, op)(x, 1))(op),
           _rows([nan, 1.0, 2.0], [1.0, nan, nan], [3.0, 1.0, nan]))
      for op in ("max", "min")),
    # var/std: one element (NaN with the default correction), constant input (std has no
    # derivative at 0), infinities
    *(Case(f"{op}{v}{kw}", (lambda op, kw: lambda t, F, x: getattr(x, op)(**kw))(op, kw), v)
      for op in ("var", "std")
      for v in ([2.0], [2.0, 2.0, 2.0], [1.0, 2.0, 4.0], [1.0, inf], [1.0, nan], [1.0, 3.0])
      for kw in ({}, {"correction": 0}, {"correction": 2}, {"correction": 3})),
    *(Case(f"{op}(dim,{kw})", (lambda op, kw: lambda t, F, x: getattr(x, op)(1, **kw))(op, kw),
           _rows([1.0, 3.0], [2.0, 2.0]))
      for op in ("var", "std") for kw in ({"correction": 2}, {"correction": 3})),
    *(Case(f"{op}(dim)", (lambda op: lambda t, F, x: getattr(x, op)(1))(op), _rows([1.0], [3.0]))
      for op in ("var", "std")),
    *(Case(f"{op}(dim,const)", (lambda op: lambda t, F, x: getattr(x, op)(0))(op), _rows([1.0, 2.0], [1.0, 5.0]))
      for op in ("var", "std")),
    # logsumexp: all -inf, +inf, NaN
    Case("logsumexp", lambda t, F, x: t.logsumexp(x, 1),
         _rows([-inf, -inf], [inf, 1.0], [inf, inf], [-inf, 0.0], [nan, 1.0], [1000.0, 1000.0], [inf, -inf])),
    # norm: a zero vector has the 0 subgradient for every p; ties of the inf-norm share
    *(Case(f"norm(p={p!r}){v}", (lambda p: lambda t, F, x: t.norm(x, p))(p), v)
      for p in (2, 1, 3, 0.5, inf, -inf, 0)
      for v in ([0.0, 0.0, 0.0], [0.0, -0.0, 3.0], [3.0, -4.0, 0.0], [-2.0, 2.0, 1.0], [inf, 1.0, 0.0],
                [nan, 1.0, 0.0])),
    *(Case(f"norm(p={p!r},dim)", (lambda p: lambda t, F, x: t.norm(x, p, 1))(p),
           _rows([0.0, 0.0], [3.0, 4.0], [0.0, -2.0], [inf, 0.0]))
      for p in (2, 1, inf, 3)),
]


# ---------------------------------------------------------------- softmax, losses, layers
def _ce(**kw):
    return lambda t, F, x, y: F.cross_entropy(x, y, **kw)


LOGITS = _rows([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-inf, 0.0, 1.0], [2.0, 1.0, 0.5])
TARGETS = np.array([0, 1, 2, 1], dtype=np.int64)
ALL_IGNORED = np.array([-100, -100, -100, -100], dtype=np.int64)
SOME_IGNORED = np.array([0, -100, 2, -100], dtype=np.int64)
PROBS = _rows([1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0])

NN = [
    # fully masked rows: NaN, as in torch; partly masked rows: zero gradient at -inf
    Case("softmax(-inf)", lambda t, F, x: F.softmax(x, 1),
         _rows([-inf, -inf, -inf], [0.0, -inf, 1.0], [inf, 0.0, 1.0], [1.0, 1.0, 1.0], [nan, 0.0, 1.0])),
    Case("log_softmax(-inf)", lambda t, F, x: F.log_softmax(x, 1),
         _rows([-inf, -inf, -inf], [0.0, -inf, 1.0], [inf, 0.0, 1.0], [1.0, 1.0, 1.0], [nan, 0.0, 1.0])),
    Case("softmin(inf)", lambda t, F, x: F.softmin(x, 1), _rows([inf, inf], [0.0, inf])),
    Case("cross_entropy", _ce(), LOGITS, TARGETS),
    *(Case(f"cross_entropy({r},ignored)", _ce(reduction=r), LOGITS, SOME_IGNORED) for r in ("mean", "sum", "none")),
    *(Case(f"cross_entropy({r},all ignored)", _ce(reduction=r), LOGITS, ALL_IGNORED)
      for r in ("mean", "sum", "none")),
    *(Case(f"cross_entropy(ls={ls},{r})", _ce(label_smoothing=ls, reduction=r), LOGITS, SOME_IGNORED)
      for ls in (0.5, 1.0) for r in ("mean", "sum", "none")),
    Case("cross_entropy(ls, all ignored)", _ce(label_smoothing=0.3), LOGITS, ALL_IGNORED),
    Case("cross_entropy(probs)", lambda t, F, x, p: F.cross_entropy(x, p), _rows(*LOGITS[:1], *LOGITS[1:3]),
         PROBS[:3]),
    Case("cross_entropy(probs, ls=1)", lambda t, F, x, p: F.cross_entropy(x, p, label_smoothing=1.0), LOGITS[:2],
         PROBS[:2]),
    Case("nll_loss(all ignored)", lambda t, F, x, y: F.nll_loss(x, y), LOGITS, ALL_IGNORED),
    # pointwise losses at zero difference and at the huber/smooth-l1 switch point
    *(Case(f"{name}({r})", (lambda name, r: lambda t, F, x, y: getattr(F, name)(x, y, reduction=r))(name, r),
           [0.0, 1.0, -1.0, 2.0, 0.5, inf, nan], [0.0, 0.0, 0.0, 1.0, 1.5, inf, 0.0])
      for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss") for r in ("none", "sum")),
    *(Case(f"{name}(beta)", (lambda name, kw: lambda t, F, x, y: getattr(F, name)(x, y, reduction="none", **kw))(
        name, kw), [0.0, 2.0, -2.0, 1.0, 0.5], [0.0, 0.0, 0.0, 3.0, 0.5])
      for name, kw in (("smooth_l1_loss", {"beta": 2.0}), ("smooth_l1_loss", {"beta": 0.0}),
                       ("huber_loss", {"delta": 2.0}))),
    Case("bce_with_logits", lambda t, F, x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
         [inf, -inf, 0.0, 100.0, -100.0, nan], [1.0, 0.0, 0.5, 0.0, 1.0, 1.0]),
    Case("bce", lambda t, F, x, y: F.binary_cross_entropy(x, y, reduction="none"),
         [0.0, 1.0, 0.5, 0.0, 1.0], [0.0, 1.0, 0.5, 1.0, 0.0]),
    # torch's soft margin is log(1 + exp(-t x)) as written, which overflows: inf in float32 at
    # -t x = 100 (100 in float64, and from its own softplus), a NaN gradient at -t x = +inf (-t
    # from softplus). Ours is the stable softplus: the large margin in float64 only, no +inf.
    Case("soft_margin", lambda t, F, x, y: F.soft_margin_loss(x, y, reduction="none"),
         [inf, -inf, 0.0, 20.0, -20.0], Const([1.0, -1.0, -1.0, -1.0, 1.0])),
    Case("soft_margin(100)", lambda t, F, x, y: F.soft_margin_loss(x, y, reduction="none"),
         [100.0, -100.0], Const([-1.0, 1.0]), dtypes=("float64",)),
    # pooling: ties go to the first maximum in the window; NaN wins
    Case("max_pool1d(ties)", lambda t, F, x: F.max_pool1d(x, 2, 1), [[[1.0, 1.0, 2.0, 2.0, 2.0, -inf, -inf]]]),
    Case("max_pool1d(nan)", lambda t, F, x: F.max_pool1d(x, 2, 2), [[[nan, 1.0, 2.0, nan, inf, inf]]]),
    Case("max_pool2d(ties)", lambda t, F, x: F.max_pool2d(x, 2, 1), [[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]]),
    Case("adaptive_max_pool1d", lambda t, F, x: F.adaptive_max_pool1d(x, 2), [[[3.0, 3.0, 3.0, nan, 1.0]]]),
    # normalisation layers of a constant (zero-variance) input
    Case("layer_norm(const)", lambda t, F, x: F.layer_norm(x, (3,)), _rows([2.0, 2.0, 2.0], [0.0, 0.0, 0.0])),
    Case("rms_norm(zeros)", lambda t, F, x: F.rms_norm(x, (3,)), _rows([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])),
    Case("batch_norm(const)", lambda t, F, x: F.batch_norm(x, None, None, training=True),
         _rows([2.0, 0.0, 1.0], [2.0, 0.0, 3.0])),
    Case("group_norm(const)", lambda t, F, x: F.group_norm(x, 1), [[[2.0, 2.0], [2.0, 2.0]], [[0.0, 1.0], [2.0, 3.0]]]),
    Case("avg_pool1d(inf)", lambda t, F, x: F.avg_pool1d(x, 2), [[[inf, 1.0, -inf, inf, nan, 0.0]]]),
    Case("adaptive_avg_pool1d(inf)", lambda t, F, x: F.adaptive_avg_pool1d(x, 2), [[[inf, 1.0, 0.0, -inf]]]),
    # dropout's deterministic ends: p = 1 drops everything (0 * inf is NaN, as torch), p = 0 nothing
    *(Case(f"{fn}(p={p})", (lambda fn, p: lambda t, F, x: getattr(F, fn)(x, p, training=True))(fn, p),
           [[[1.0, -2.0, inf, nan], [0.0, -0.0, -inf, 3.0]]])
      for fn in ("dropout", "dropout1d") for p in (0.0, 1.0)),
    Case("layer_norm(inf)", lambda t, F, x: F.layer_norm(x, (3,)), _rows([inf, 0.0, 1.0], [nan, 1.0, 2.0])),
    # convolutions: a non-finite value reaches exactly the outputs and weight taps that read it
    Case("conv1d(inf x)", lambda t, F, x, w: F.conv1d(x, w, padding=1), [[[inf, 0.0, 1.0, nan]]], [[[0.0, 1.0, 2.0]]]),
    Case("conv1d(inf x, no pad)", lambda t, F, x, w: F.conv1d(x, w), [[[1.0, 0.0, 1.0, 2.0, inf]]],
         [[[0.0, 1.0, 2.0]]]),
    Case("conv1d(inf w)", lambda t, F, x, w: F.conv1d(x, w, padding=1), [[[1.0, 0.0, 2.0, 3.0]]],
         [[[inf, 1.0, 2.0]]]),
    Case("conv1d(nan w, no pad)", lambda t, F, x, w: F.conv1d(x, w), [[[1.0, 0.0, 2.0, 3.0]]], [[[1.0, nan]]]),
    Case("conv1d(stride 2)", lambda t, F, x, w: F.conv1d(x, w, stride=2), [[[1.0, 0.0, 2.0, 3.0, inf]]],
         [[[1.0, 2.0]]]),
    Case("conv2d(inf x)", lambda t, F, x, w: F.conv2d(x, w, padding=1),
         [[[[1.0, 2.0, 0.0], [0.0, inf, 1.0], [1.0, 1.0, nan]]]], [[[[1.0, 0.0], [2.0, 1.0]]]]),
    Case("conv2d(inf x, 2 channels)", lambda t, F, x, w: F.conv2d(x, w),
         [[[[1.0, 2.0, 0.0], [0.0, 3.0, 1.0]], [[1.0, 0.0, inf], [2.0, 1.0, 1.0]]]],
         [[[[1.0, 0.0], [2.0, 1.0]], [[1.0, 1.0], [0.0, 2.0]]]]),
    Case("conv_transpose1d(inf x)", lambda t, F, x, w: F.conv_transpose1d(x, w), [[[inf, 0.0, 1.0]]],
         [[[0.0, 1.0, 2.0]]]),
    Case("conv_transpose1d(inf w)", lambda t, F, x, w: F.conv_transpose1d(x, w, padding=1), [[[1.0, 0.0, 1.0]]],
         [[[inf, 1.0, 2.0]]]),
    # embedding bags: max ties (the gradient goes to one row), empty bags (zeros), NaN rows
    *(Case(f"embedding_bag({mode})", (lambda mode: lambda t, F, i, w, o: F.embedding_bag(i, w, o, mode=mode))(mode),
           np.array([0, 1, 2, 2, 3], dtype=np.int64), _rows([1.0, 2.0], [1.0, 2.0], [nan, -inf], [inf, 0.0]),
           np.array([0, 2, 2, 4], dtype=np.int64))
      for mode in ("sum", "mean", "max")),
    Case("embedding(padding)", lambda t, F, i, w: F.embedding(i, w, padding_idx=0),
         np.array([0, 1, 1, 2], dtype=np.int64), _rows([inf, 1.0], [nan, 2.0], [0.0, -0.0])),
    # matrix products: 0 * inf is NaN in every accumulation, as in BLAS
    Case("mm(inf)", lambda t, F, a, b: a @ b, _rows([inf, 0.0], [1.0, 2.0], [nan, 1.0]), _rows([0.0, 1.0], [1.0, inf])),
    Case("linear(inf)", lambda t, F, x, w, b: F.linear(x, w, b), _rows([inf, 0.0], [1.0, -inf]),
         _rows([0.0, 1.0], [2.0, 0.0], [1.0, 1.0]), [inf, 0.0, nan]),
    Case("dot(inf)", lambda t, F, a, b: t.dot(a, b), [inf, 1.0, 0.0], [0.0, 2.0, inf]),
]


CASES = ELEMENTWISE + REDUCTIONS + NN


# ---------------------------------------------------------------- the runner
class _Lib:
    def __init__(self, t, F, device):
        self.t, self.F, self.device = t, F, device


def _evaluate(lib, case, dtype, create_graph=False):
    t = lib.t
    tdtype = getattr(t, dtype)
    args, leaves = [], []
    for v in case.inputs:
        if isinstance(v, Const):
            args.append(t.tensor(v.values.tolist(), dtype=tdtype, device=lib.device))
        elif isinstance(v, np.ndarray):
            if v.dtype == np.int64:
                args.append(t.tensor(v.tolist(), dtype=t.int64, device=lib.device))
            else:
                x = t.tensor(v.tolist(), dtype=tdtype, device=lib.device, requires_grad=True)
                args.append(x)
                leaves.append(x)
        else:
            args.append(v)
    out = case.fn(t, lib.F, *args)
    extra = [o for o in out[1:]] if isinstance(out, tuple) else []
    out = out[0] if isinstance(out, tuple) else out
    # a varied upstream gradient (1, 2, 3, 1, ...) so a formula that ignores it cannot pass
    n = out.numel()
    g = t.tensor([float(1 + i % 3) for i in range(n)], dtype=tdtype, device=lib.device).reshape(tuple(out.shape))
    if out.requires_grad:
        out.backward(g, create_graph=create_graph)
    grads = [x.grad for x in leaves]
    return [out] + extra + grads


def _to_numpy(x):
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return x.detach().numpy(force=True)


def _assert_match(name, got, want, dtype, signed_zeros, tol=None):
    if want is None or got is None:  # an unreached input: torch may say None where we say zeros
        other = got if want is None else want
        assert other is None or not np.any(other), f"{name}: {got} vs {want}"
        return
    assert got.shape == want.shape, f"{name}: shape {got.shape} vs torch {want.shape}"
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} vs torch {want.dtype}"
    if got.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want, err_msg=name)
        return
    rtol, atol = tol or ((1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12))
    # same NaNs, same infinities with the same signs, the finite values close
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{name}: NaN positions")
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want), err_msg=f"{name}: +inf positions")
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want), err_msg=f"{name}: -inf positions")
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=atol, err_msg=name)
    if signed_zeros:
        zero = (want == 0) & (got == 0)
        np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(want[zero]), err_msg=f"{name}: sign of 0")


def _check(case, dtype, device, create_graph=False):
    want = _evaluate(_Lib(torch, TF, "cpu"), case, dtype, create_graph)
    got = _evaluate(_Lib(pe, PF, device), case, dtype, create_graph)
    labels = ["forward"] + [f"output {i}" for i in range(1, len(want) - sum(
        isinstance(v, np.ndarray) and v.dtype != np.int64 for v in case.inputs))]
    labels += [f"grad of input {i}" for i in range(len(want) - len(labels))]
    assert len(got) == len(want)
    for label, g, w in zip(labels, got, want):
        _assert_match(f"{case.name} [{dtype}, {device}] {label}", _to_numpy(g), _to_numpy(w), dtype,
                      case.signed_zeros)


# torch warns about var/std with no degrees of freedom; the values are what is compared
@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")
@pytest.mark.parametrize("case,dtype", [pytest.param(c, d, id=f"{c.name}-{d}") for c in CASES for d in c.dtypes])
def test_edges_match_torch(case, dtype, device):
    _check(case, dtype, device)


# Under create_graph the backward formulas run as differentiable Tensor ops instead of the fused
# kernels (relu, sigmoid, tanh, erf, softmax, nll): the same edges must give the same gradients.
# (Those Tensor ops are the same functors on every device, so the CPU is enough here.)
@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")
@pytest.mark.filterwarnings("ignore:Using backward.. with create_graph")
@pytest.mark.parametrize("case", [c for c in CASES if "float64" in c.dtypes], ids=lambda c: c.name)
def test_edges_match_torch_under_create_graph(case):
    _check(case, "float64", "cpu", create_graph=True)


# The edge-aware formulas stay correct and differentiable away from the edges (float64 central
# differences, first and second order).
def _leaf(values):
    return pe.tensor(values, dtype=pe.float64, requires_grad=True)


SMOOTH = {
    "clamp(tensor bounds)": (lambda x, lo, hi: pe.clamp(x, lo, hi),
                             ([-2.0, 0.3, 2.0, 0.1], [-1.0, -1.0, -1.0, 0.5], [1.0, 1.0, 1.0, 0.2])),
    "clamp(tensor min)": (lambda x, lo: pe.clamp(x, min=lo), ([[-2.0, 0.3], [2.0, 0.1]], [0.0, 0.2])),
    "maximum": (pe.maximum, ([1.0, -2.0, 3.0], [0.5, -1.0, 4.0])),
    "minimum": (pe.minimum, ([1.0, -2.0, 3.0], [0.5, -1.0, 4.0])),
    "pow": (lambda a, b: a ** b, ([1.5, 0.7, 2.0], [0.4, -1.3, 2.5])),
    "pow(scalar base)": (lambda b: 0.5 ** b + 2.0 ** b, ([0.4, -1.3, 2.5],)),
    "prod(one zero)": (lambda x: x.prod(), ([0.0, 1.5, -2.0],)),
    "prod(dim, one zero)": (lambda x: x.prod(1), ([[0.0, 1.5, -2.0, 0.7], [1.2, 0.0, 3.0, 0.5]],)),
    "prod(dim0, keepdim)": (lambda x: x.prod(0, keepdim=True), ([[0.0, 1.5], [1.2, 0.5], [2.0, 0.3]],)),
    "std": (lambda x: x.std(1), ([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]],)),
    "norm(p=0.5)": (lambda x: x.norm(0.5), ([1.0, -2.0, 0.5],)),
    "norm(p=1.5)": (lambda x: x.norm(1.5, 0), ([[1.0, -2.0], [0.5, 3.0]],)),
    "norm(p=3)": (lambda x: x.norm(3), ([1.0, -2.0, 0.5],)),
    "norm(p=inf)": (lambda x: x.norm(inf), ([1.0, -2.0, 0.5],)),
    "elu": (lambda x: PF.elu(x, 0.7), ([-1.0, 0.5, -0.2],)),
    "threshold": (lambda x: PF.threshold(x, 0.1, 2.0), ([-1.0, 0.5, 0.3],)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_edge_formulas_gradcheck_away_from_edges(name):
    from pyengine.autograd import gradcheck, gradgradcheck
    fn, values = SMOOTH[name]
    inputs = tuple(_leaf(v) for v in values)
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
    assert gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_clamp_tensor_bounds_get_gradients_in_their_dtype_and_device(device):
    """A bound that requires grad gets the gradient where it is the result (PyTorch's
    clamp_backward_min_max), in its own dtype, on its own device (a 0-d CPU bound next to a
    tensor on another device)."""
    x = pe.tensor([-2.0, 0.5, 3.0, 1.5], device=device, requires_grad=True)
    lo = pe.tensor(0.0, requires_grad=True)
    hi = pe.tensor([1.0, 2.0, 2.5, 1.0], dtype=pe.float64, device=device, requires_grad=True)
    tx, tlo, thi = (torch.tensor(v.tolist(), dtype=getattr(torch, v.dtype.name), requires_grad=True)
                    for v in (x, lo, hi))
    pe.clamp(x, lo, hi).backward(pe.tensor([1.0, 2.0, 3.0, 4.0], dtype=pe.float64, device=device))
    torch.clamp(tx, tlo, thi).backward(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    for ours, theirs in ((x, tx), (lo, tlo), (hi, thi)):
        assert ours.grad.dtype.name == str(theirs.grad.dtype).split(".")[1]
        assert ours.grad.device == ours.device
        np.testing.assert_array_equal(ours.grad.numpy(force=True), theirs.grad.numpy())


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recurrent_layers_at_the_edges(mode, dtype, device):
    """The fused recurrent cells (their activations and gate derivatives in csrc/math/rnn_math.h)
    on saturating, infinite and NaN inputs: outputs, final state and every gradient as torch."""
    name, kw = {"RNN_TANH": ("RNN", {"nonlinearity": "tanh"}), "RNN_RELU": ("RNN", {"nonlinearity": "relu"}),
                "LSTM": ("LSTM", {}), "GRU": ("GRU", {})}[mode]
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(2, 3, **kw).to(getattr(torch, dtype))
    pm = getattr(pe.nn, name)(2, 3, **kw).to(getattr(pe, dtype)).to(device)
    pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    # time-major (T=3, B=5, I=2): one batch row each of large, +-inf, NaN, -0 and plain values
    x = np.array([[[50.0, -50.0], [inf, 1.0], [nan, 0.0], [-0.0, 0.0], [0.5, -0.5]],
                  [[-1e4, 1e4], [1.0, -inf], [1.0, 1.0], [0.0, -0.0], [1.0, 2.0]],
                  [[0.1, 0.2], [0.0, 0.0], [0.0, nan], [-0.0, -0.0], [-2.0, 1.0]]])
    tx = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    px = pe.tensor(x, dtype=getattr(pe, dtype), device=device, requires_grad=True)
    tout, _ = tm(tx)
    pout, _ = pm(px)
    g = np.arange(1, tout.numel() + 1, dtype=np.float64).reshape(tuple(tout.shape)) % 3 + 1
    tout.backward(torch.tensor(g, dtype=tout.dtype))
    pout.backward(pe.tensor(g, dtype=pout.dtype, device=device))
    where = f"{mode} [{dtype}, {device}]"
    # The fused CPU cells use fast tanh/sigmoid approximations, and a relu cell carries the 1e4
    # input into its state, where a float32 ulp is 1e-3: float32 outputs of order 1 can differ
    # from torch's GEMM order by ~1e-4 after that cancels. float64 stays tight.
    tol = (2e-3, 2e-4) if dtype == "float32" and mode == "RNN_RELU" else None
    _assert_match(f"{where} output", _to_numpy(pout), _to_numpy(tout), dtype, False, tol)
    _assert_match(f"{where} grad of input", _to_numpy(px.grad), _to_numpy(tx.grad), dtype, False, tol)
    tparams = dict(tm.named_parameters())
    for pname, p in pm.named_parameters():
        _assert_match(f"{where} grad of {pname}", _to_numpy(p.grad), _to_numpy(tparams[pname].grad), dtype, False, tol)
