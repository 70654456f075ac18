"""More losses with PyTorch 2.13's functional API: kl_div, poisson_nll_loss, gaussian_nll_loss,
cosine_embedding_loss, margin_ranking_loss, hinge_embedding_loss, triplet_margin_loss,
multilabel_soft_margin_loss, multi_margin_loss.

Each is written with differentiable ops in the order ATen (or torch.nn.functional) composes it, so
values, gradients (for every tensor argument) and the edge rules (eps, clamps, masks) match.
"""
import math
import warnings

from ..amp import losses_in_float32
from ..ops import elementwise as E
from ..tensor import Tensor
from ._activation_more_fns import logsigmoid
from ._distance_fns import pairwise_distance
from ._loss_fns import _check_reduction, _reduce


def _check_tensor(x, what, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(x).__name__}")


def _legacy(size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce pair, when given, decides the reduction."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _safe_log(t):
    """log(t) with log(0) replaced by 0 (for t * log(t) terms, whose value and gradient at 0 are 0)."""
    return E.where(t == 0, 1.0, t).log()


# ---------------------------------------------------------------- KL divergence
@losses_in_float32
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: target * (log(target) - input) (0 where target is 0), or
    exp(target) * (target - input) with log_target. 'batchmean' divides the sum by input.size(0)."""
    _check_tensor(input, "input", "kl_div")
    _check_tensor(target, "target", "kl_div")
    reduction = _legacy(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction!r} is not a valid value for reduction: expected 'none', 'batchmean', "
                         f"'sum' or 'mean'")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target * _safe_log(target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim != 0 else total
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- likelihood losses
@losses_in_float32
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of target ~ Poisson(rate): exp(input) - target * input with log_input,
    else input - target * log(input + eps); `full` adds the Stirling term where target > 1."""
    _check_tensor(input, "input", "poisson_nll_loss")
    _check_tensor(target, "target", "poisson_nll_loss")
    reduction = _legacy(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        safe = E.where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + E.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def _var_shape_ok(input_shape, var_shape):
    """PyTorch's rule: var has input's shape, or input's shape without its last dim (then it is
    unsqueezed), or input's rank with exactly one dim of size 1 where input's differs."""
    if var_shape == input_shape:
        return "same"
    if input_shape[:-1] == var_shape:
        return "unsqueeze"
    if len(input_shape) == len(var_shape):
        diff = [v for i, v in zip(input_shape, var_shape) if i != v]
        if sum(diff) == 1:
            return "broadcast"
    return None


@losses_in_float32
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log(max(var, eps)) + (input - target)^2 / max(var, eps)) (+ 0.5 log(2 pi) with full).
    var: a tensor of input's shape, one dim short, or broadcastable along one size-1 dim; or a float.
    As in PyTorch, the clamp to eps changes the value only: var's gradient passes through it."""
    _check_tensor(input, "input", "gaussian_nll_loss")
    _check_tensor(target, "target", "gaussian_nll_loss")
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        from ..creation import full as _full
        var = _full(tuple(input.shape), float(var), dtype=input.dtype, device=input.device)
    else:
        _check_tensor(var, "var", "gaussian_nll_loss")
        if bool((var < 0).any()):
            raise ValueError("var has negative entry/entries")
    kind = _var_shape_ok(tuple(input.shape), tuple(var.shape))
    if kind is None:
        raise ValueError(f"var is of incorrect size: var of shape {tuple(var.shape)} does not fit input of shape "
                         f"{tuple(input.shape)}")
    if kind == "unsqueeze":
        var = var.unsqueeze(-1)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    var = var + (E.clamp(var, min=eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- margin / embedding losses
@losses_in_float32
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where target == -1 (cos over
    the last dim, with ATen's 1e-12 added to each squared magnitude)."""
    name = "cosine_embedding_loss"
    for what, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, what, name)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"{name}(): input1 and input2 should have the same number of dimensions, got "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if target.ndim > 1:
        raise RuntimeError(f"{name}(): 0D or 1D target tensor expected, multi-target not supported; got target of "
                           f"shape {tuple(target.shape)}")
    if input1.ndim not in (1, 2) or target.ndim != input1.ndim - 1:
        raise RuntimeError(f"{name}(): expected 1D or 2D inputs with a target of one dimension less (0 for 1D "
                           f"inputs, 1 for 2D inputs), got input1 {tuple(input1.shape)} and target "
                           f"{tuple(target.shape)}")
    d = input1.ndim - 1
    prod_sum = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + 1e-12
    mag2 = (input2 * input2).sum(d) + 1e-12
    cos = prod_sum / (mag1 * mag2).sqrt()
    pos = 1.0 - cos
    neg = E.clamp(cos - margin, min=0.0)
    loss = E.where(target == 1, pos, 0.0) + E.where(target == -1, neg, 0.0)
    return _reduce(loss, reduction)


@losses_in_float32
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    name = "margin_ranking_loss"
    for what, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, what, name)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"{name} : All input tensors should have same dimension but got sizes: input1: "
                           f"{tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: {tuple(target.shape)} ")
    return _reduce(E.clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


@losses_in_float32
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """input where target == 1, max(0, margin - input) where target == -1 (ATen: both terms where
    target is neither)."""
    _check_tensor(input, "input", "hinge_embedding_loss")
    _check_tensor(target, "target", "hinge_embedding_loss")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    margin_clamp = E.clamp(margin - input, min=0.0)
    loss = E.where(target != 1, margin_clamp, 0.0) + E.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


@losses_in_float32
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with d the pairwise p-norm distance; with swap, d(a, n)
    is replaced by min(d(a, n), d(p, n)) (the distance swap of Balntas et al.)."""
    name = "triplet_margin_loss"
    for what, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(t, what, name)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    a, pos, neg = anchor.ndim, positive.ndim, negative.ndim
    if not a == pos == neg:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {pos}D, and negative {neg}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = E.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(E.clamp(margin + d_pos - d_neg, min=0.0), reduction)


@losses_in_float32
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)), weighted per class, averaged over the classes
    (the last dim): one value per sample before the reduction."""
    _check_tensor(input, "input", "multilabel_soft_margin_loss")
    _check_tensor(target, "target", "multilabel_soft_margin_loss")
    reduction = _legacy(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    if input.ndim == 0:
        raise IndexError("multilabel_soft_margin_loss(): expected an input of at least 1 dimension (the classes), "
                         "got a 0-D tensor")
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        _check_tensor(weight, "weight", "multilabel_soft_margin_loss")
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction)


@losses_in_float32
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge: for each sample, sum over classes j != y of max(0, margin - x[y] + x[j])^p
    (times weight[y]), divided by the number of classes. p is 1 or 2."""
    name = "multi_margin_loss"
    _check_tensor(input, "input", name)
    _check_tensor(target, "target", name)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError(f"only p == 1 and p == 2 supported, got p={p}")
    if input.ndim > 2:
        raise RuntimeError(f"{name}(): expected a 0D, 1D or 2D input, got input of shape {tuple(input.shape)}")
    unbatched = input.ndim <= 1
    x = input.reshape(1, -1) if unbatched else input
    n, c = x.shape
    y = target.reshape(-1)
    if tuple(y.shape) != (n,) or target.ndim > 1:
        raise RuntimeError(f"{name}(): inconsistent target size: got target of shape {tuple(target.shape)} for input "
                           f"of shape {tuple(input.shape)}")
    if target.is_floating_point():
        raise RuntimeError(f"{name}(): expected an integer target, got {target.dtype}")
    if n and (int(y.min()) < 0 or int(y.max()) >= c):
        raise RuntimeError(f"{name}(): target out of range: expected class indices in [0, {c - 1}], got values in "
                         f"[{int(y.min())}, {int(y.max())}]")
    from ..ops.index import one_hot
    x_y = x.gather(1, y.reshape(-1, 1))
    z = E.clamp(margin - x_y + x, min=0.0)
    if p == 2:
        z = z * z
    z = E.where(one_hot(y, c).bool(), 0.0, z)
    if weight is not None:
        _check_tensor(weight, "weight", name)
        z = z * weight.gather(0, y).reshape(-1, 1)
    loss = z.sum(1) / c
    if unbatched:
        loss = loss.reshape(tuple(target.shape))
    return _reduce(loss, reduction)
