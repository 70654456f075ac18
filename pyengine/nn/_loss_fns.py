"""Loss functions (PyTorch's functional API and reduction semantics).

Every loss is built from differentiable ops (and the fused log-softmax kernel for cross
entropy), so input, target and weight gradients all come from the ops' own backward formulas.
The one exception is binary_cross_entropy, whose backward is PyTorch's clamped formula.
"""
import struct

from .. import _C
from ..autograd.grad_mode import state as _grad_state
from ..ops import elementwise as E
from ..ops._util import Op, linear_jvp
from ..tensor import Tensor, _wrap
from ._activation_fns import softplus
from ._half import computes_in_float32
from ..amp import losses_in_float32
from ._softmax_fns import log_softmax
from ..errors import ArgumentError, IndexRangeError

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"{reduction!r} is not a valid value for reduction: expected 'none', 'mean' or 'sum'")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weighted_mean(total, weight_sum):
    """total / weight_sum; when every target is ignored (weight_sum == 0) the loss is NaN, as in
    PyTorch, but the gradient is 0 rather than 0/0."""
    if weight_sum.item() == 0:
        return total * 0.0 + float("nan")
    return total / weight_sum


def _check_tensor(x, what, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be a Tensor, not {type(x).__name__}")


def _check_same_shape(input, target, name):
    _check_tensor(input, "input", name)
    _check_tensor(target, "target", name)
    if tuple(input.shape) != tuple(target.shape):
        raise ArgumentError(f"{name}(): target size {tuple(target.shape)} must be the same as input size "
                            f"{tuple(input.shape)}")


def _pointwise(name, fn):
    def loss(input, target, size_average=None, reduce=None, reduction="mean", **kw):
        _check_reduction(reduction)
        _check_same_shape(input, target, name)
        return _reduce(fn(input, target, **kw), reduction)
    loss.__name__ = loss.__qualname__ = name
    return losses_in_float32(loss)


mse_loss = _pointwise("mse_loss", lambda x, t: (x - t).square())
l1_loss = _pointwise("l1_loss", lambda x, t: (x - t).abs())


def _huber(x, t, delta=1.0):
    if delta <= 0:
        raise ArgumentError(f"huber_loss(): delta must be positive, got {delta}")
    d = x - t
    a = d.abs()
    return E.where(a < delta, 0.5 * d.square(), delta * (a - 0.5 * delta))


huber_loss = _pointwise("huber_loss", _huber)


def _smooth_l1(x, t, beta=1.0):
    if beta == 0:
        return (x - t).abs()
    return _huber(x, t, beta) / beta


smooth_l1_loss = _pointwise("smooth_l1_loss", _smooth_l1)


# ---------------------------------------------------------------- classification
def _check_weight(weight, n_classes, name):
    if weight is None:
        return
    _check_tensor(weight, "weight", name)
    if tuple(weight.shape) != (n_classes,):
        raise RuntimeError(f"{name}(): weight tensor should be defined either for all {n_classes} classes or no "
                           f"classes but got weight tensor of shape {tuple(weight.shape)}")


def _class_layout(input, target, name):
    """Checks (N, C, d1, ...) input against (N, d1, ...) int64 targets ((C,) with () unbatched)."""
    _check_tensor(input, "input", name)
    _check_tensor(target, "target", name)
    if input.ndim == 0:
        raise ArgumentError(f"{name}(): input must have at least 1 dimension (classes), got a 0-d tensor")
    if target.dtype.name != "int64":
        raise RuntimeError(f"{name}(): expected class-index target of dtype int64, got {target.dtype}")
    class_dim = 0 if input.ndim == 1 else 1
    expect = tuple(input.shape[:class_dim]) + tuple(input.shape[class_dim + 1:])
    if tuple(target.shape) != expect:
        raise ArgumentError(f"{name}(): expected target of shape {expect} for input of shape {tuple(input.shape)}, "
                            f"got target of shape {tuple(target.shape)}")
    return class_dim


def _check_targets(target, n_classes, ignore_index, name):
    """Every target is in [0, C) or equals ignore_index; the error names the bad value. Returns
    the number of ignored targets."""
    if target.numel() == 0:
        return 0
    t = target.detach().numpy(force=True)
    if t.min() >= 0 and t.max() < n_classes:  # the common case, in two reductions
        return int((t == ignore_index).sum()) if 0 <= ignore_index < n_classes else 0
    ignored = t == ignore_index
    bad = ((t < 0) | (t >= n_classes)) & ~ignored
    if bad.any():
        raise IndexRangeError(f"{name}(): target {int(t[bad].flat[0])} is out of bounds for {n_classes} classes "
                              f"(expected 0 <= target < {n_classes}, or ignore_index={ignore_index})")
    return int(ignored.sum())


class NllLossFn(Op):
    """nll_loss of (N, C) log-probabilities with no class weights, 'mean' or 'sum': one graph
    node instead of the gather / mask / sum chain. `scale` is -1 ('sum') or -1/counted ('mean');
    `keep` is the (N, 1) float mask of counted targets, or None when none is ignored."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, logp, index, keep, scale):
        picked = _C.gather(logp._impl, 1, index)
        if keep is not None:  # an ignored row adds exactly 0, even where its logp is -inf
            picked = _C.where(_C.ne(keep, 0), picked, 0.0)
        if ctx is not None:
            ctx.index, ctx.keep, ctx.scale, ctx.shape = index, keep, scale, logp._impl.shape
        return _C.mul(_C.sum(picked, None, False, None), scale)

    @staticmethod
    def backward(ctx, g):
        # d loss / d logp[n, c] = scale * keep[n] where c = target[n], else 0.
        n = ctx.shape[0]
        if _grad_state.enabled:  # create_graph: the same, as differentiable Tensor ops
            src = (g * ctx.scale).reshape(1, 1).expand(n, 1)
            if ctx.keep is not None:
                src = src * _wrap(ctx.keep)
            zeros = _wrap(_C.full(ctx.shape, 0.0, g._impl.dtype, g._impl.device))
            return zeros.scatter_add(1, _wrap(ctx.index), src), None, None, None
        src = _C.mul(_C.reshape(g._impl, [1, 1]), ctx.scale)
        src = _C.mul(src, ctx.keep) if ctx.keep is not None else _C.expand(src, [n, 1])
        zeros = _C.full(ctx.shape, 0.0, g._impl.dtype, g._impl.device)
        return _C.scatter_add(zeros, 1, ctx.index, src), None, None, None


@losses_in_float32
@computes_in_float32
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """-input[n, target[n]] * weight[target[n]], ignoring targets equal to ignore_index; 'mean'
    divides by the summed weights of the counted targets (PyTorch's weighted mean)."""
    _check_reduction(reduction)
    class_dim = _class_layout(input, target, "nll_loss")
    n_classes = input.shape[class_dim]
    _check_weight(weight, n_classes, "nll_loss")
    ignored = _check_targets(target, n_classes, ignore_index, "nll_loss")
    if weight is None and input.ndim == 2 and reduction != "none" and target.numel() > ignored:
        return _nll_2d(input, target, ignore_index, ignored, reduction)
    keep = target != ignore_index
    safe = E.where(keep, target, 0)  # any valid class: the ignored entries are masked out below
    picked = -input.gather(class_dim, safe.unsqueeze(class_dim)).squeeze(class_dim)
    w = keep.to(input.dtype)
    if weight is not None:
        w = w * weight.to(input.dtype).gather(0, safe.reshape(-1)).reshape(safe.shape)
    loss = E.where(keep, picked * w, 0.0)  # an ignored target adds exactly 0, even at a -inf logit
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return _weighted_mean(loss.sum(), w.sum())


def _nll_2d(input, target, ignore_index, ignored, reduction):
    """The fused NllLossFn for (N, C) input when at least one target counts."""
    ti = _C.unsqueeze(target._impl, 1)
    keep = None
    if ignored:
        mask = _C.ne(ti, ignore_index)
        ti = _C.where(mask, ti, 0)  # any valid class: the ignored entries are masked out
        keep = _C.to_dtype(mask, input._impl.dtype)
    counted = target.numel() - ignored
    scale = -1.0 if reduction == "sum" else -1.0 / counted
    return NllLossFn.apply(input, ti, keep, scale)


def _label_smoothing_term(logp, target, weight, ignore_index, reduction, class_dim):
    """PyTorch's smoothing part: -sum_c w_c logp_c per sample, normalised like nll_loss."""
    n_classes = logp.shape[class_dim]
    keep = target != ignore_index
    if weight is not None:
        shape = [1] * logp.ndim
        shape[class_dim] = n_classes
        smooth = -(logp * weight.to(logp.dtype).reshape(shape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    smooth = E.where(keep, smooth, 0.0)
    if reduction == "none":
        return smooth
    if reduction == "sum":
        return smooth.sum()
    if weight is not None:
        safe = E.where(keep, target, 0)
        denom = (weight.to(logp.dtype).gather(0, safe.reshape(-1)).reshape(safe.shape) * keep.to(logp.dtype)).sum()
    else:
        denom = keep.to(logp.dtype).sum()
    return _weighted_mean(smooth.sum(), denom)


@losses_in_float32
@computes_in_float32
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim (the fused, stable kernel) followed by the negative
    log-likelihood. target: class indices (int64, shape input without the class dim) or class
    probabilities (floating, input's shape)."""
    _check_reduction(reduction)
    _check_tensor(input, "input", "cross_entropy")
    _check_tensor(target, "target", "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"cross_entropy(): label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if input.ndim == 0:
        raise ArgumentError("cross_entropy(): input must have at least 1 dimension (classes), got a 0-d tensor")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    logp = log_softmax(input, class_dim)
    if target.is_floating_point():
        return _cross_entropy_probs(logp, target, weight, reduction, label_smoothing, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return loss
    smooth = _label_smoothing_term(logp, target, weight, ignore_index, reduction, class_dim)
    return (1.0 - label_smoothing) * loss + smooth * (label_smoothing / n_classes)


def _cross_entropy_probs(logp, target, weight, reduction, label_smoothing, class_dim):
    if tuple(target.shape) != tuple(logp.shape):
        raise ArgumentError(f"cross_entropy(): class-probability target must have the input's shape "
                            f"{tuple(logp.shape)}, got {tuple(target.shape)}")
    n_classes = logp.shape[class_dim]
    _check_weight(weight, n_classes, "cross_entropy")
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    terms = logp * target
    if weight is not None:
        shape = [1] * logp.ndim
        shape[class_dim] = n_classes
        terms = terms * weight.to(logp.dtype).reshape(shape)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    # 'mean' averages over the samples (every dim but the class dim), unweighted: PyTorch's rule.
    n = logp.numel() // n_classes if n_classes else 0
    return -terms.sum() / n if n else -terms.sum() * float("nan")


# PyTorch's EPSILON in the bce backward is a float literal (1e-12f) in every dtype.
_BCE_EPS = struct.unpack("f", struct.pack("f", 1e-12))[0]


class BinaryCrossEntropyFn(Op):
    """PyTorch's binary_cross_entropy, forward and backward formulas as written there:
    w ((t - 1) max(log1p(-x), -100) - t max(log x, -100)), each log clamped so a confident wrong
    prediction costs 100 instead of inf; d/dx = w (x - t) / max(x (1 - x), eps); d/dt is the
    unclamped -w logit(x) (+-inf at x = 0 or 1, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x, t, w):
        if ctx is not None:
            ctx.save_for_backward(x, t, w)
        log_x = _C.clamp(_C.log(x._impl), -100.0, None)
        log_1mx = _C.clamp(_C.log1p(_C.neg(x._impl)), -100.0, None)
        loss = _C.sub(_C.mul(_C.sub(t._impl, 1.0), log_1mx), _C.mul(t._impl, log_x))
        return loss if w is None else _C.mul(loss, w._impl)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = gt = None
        if need[0]:
            gx = g * (x - t) / E.clamp((1.0 - x) * x, _BCE_EPS, None)
            if w is not None:
                gx = gx * w
        if need[1]:
            gt = g * ((-x).log1p() - x.log())
            if w is not None:
                gt = gt * w
        gw = None
        if w is not None and need[2]:
            gw = g * ((t - 1.0) * (-x).log1p().clamp(-100.0, None) - t * x.log().clamp(-100.0, None))
        return gx, gt, gw


@losses_in_float32
@computes_in_float32
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    _check_reduction(reduction)
    _check_same_shape(input, target, "binary_cross_entropy")
    if input.numel():
        x = input.detach().numpy(force=True)
        if not ((x >= 0) & (x <= 1)).all():
            raise RuntimeError("binary_cross_entropy(): all elements of input should be between 0 and 1, got "
                               f"min {x.min()} and max {x.max()}")
    if weight is not None:
        _check_tensor(weight, "weight", "binary_cross_entropy")
        weight = weight.expand(input.shape)
    loss = BinaryCrossEntropyFn.apply(input, target, weight)
    return _reduce(loss, reduction)


@losses_in_float32
@computes_in_float32
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """sigmoid + binary cross entropy in one stable formula:
    (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x), softplus without overflow."""
    _check_reduction(reduction)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    sp = softplus(-input, 1.0, float("inf"))
    if pos_weight is not None:
        _check_tensor(pos_weight, "pos_weight", "binary_cross_entropy_with_logits")
        sp = sp * (1.0 + (pos_weight - 1.0) * target)
    loss = (1.0 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@losses_in_float32
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_reduction(reduction)
    _check_same_shape(input, target, "soft_margin_loss")
    return _reduce(softplus(-target * input, 1.0, float("inf")), reduction)
