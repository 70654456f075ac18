"""Distances and similarities (PyTorch's F.normalize, F.pairwise_distance, F.cosine_similarity), built
from differentiable ops the way ATen writes them, so values, gradients and the eps rules match."""
from ..ops import elementwise as E
from ..ops.shape import broadcast_shapes
from ..tensor import Tensor


def _check_tensor(x, what, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(x).__name__}")


def _wrap_dim(dim, ndim, name):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{name}(): Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps) (PyTorch's F.normalize)."""
    _check_tensor(input, "input", "normalize")
    _wrap_dim(dim, input.ndim, "normalize")
    denom = E.clamp(input.norm(p, dim, keepdim=True), min=eps)
    result = input / denom
    if out is not None:
        return out.copy_(result)
    return result


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (PyTorch's F.pairwise_distance: eps is added to the
    difference, which keeps the norm's gradient finite for equal inputs)."""
    _check_tensor(x1, "x1", "pairwise_distance")
    _check_tensor(x2, "x2", "pairwise_distance")
    ndim = max(x1.ndim, x2.ndim)
    return (x1 - x2 + eps).norm(p, max(ndim - 1, 0) if ndim else -1, keepdim=keepdim)


def _clamp_value_only(t, eps):
    """max(t, eps) in value, the identity in gradient: ATen clamps the norms in place under
    no_grad, so the gradient flows as if they were not clamped."""
    return t + (E.clamp(t, min=eps) - t).detach()


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along dim, on the broadcast shape
    (PyTorch's F.cosine_similarity)."""
    _check_tensor(x1, "x1", "cosine_similarity")
    _check_tensor(x2, "x2", "cosine_similarity")
    if not (x1.is_floating_point() or x2.is_floating_point()):
        raise RuntimeError(f"cosine_similarity(): expected common dtype to be floating point, yet common dtype is "
                           f"{x1.dtype} (x1) and {x2.dtype} (x2)")
    try:
        shape = broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except Exception as e:  # the ops raise their own type; torch says RuntimeError
        raise RuntimeError(f"cosine_similarity(): x1 of shape {tuple(x1.shape)} and x2 of shape "
                           f"{tuple(x2.shape)} are not broadcastable") from e
    x1, x2 = x1.expand(*shape), x2.expand(*shape)
    d = _wrap_dim(dim, len(shape), "cosine_similarity")
    n1 = _clamp_value_only(x1.norm(2, d, keepdim=True), eps)
    n2 = _clamp_value_only(x2.norm(2, d, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(d)
