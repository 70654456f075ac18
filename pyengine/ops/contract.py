"""Products that contract or combine dims: einsum, tensordot, outer/ger, cross, kron.

einsum and tensordot share one pairwise contraction: permute each operand to (batch, free,
contracted) order, reshape to 3-D and call the batched matmul kernel, so the work is one gemm
per pair of operands (and autograd, forward AD and every device come from matmul, sum, permute
and reshape, which already have them).
"""
import math

from .._ints import int64 as _int64
from ..tensor import Tensor, _wrap_dim
from ._util import as_tensor_arg
from .elementwise import mul, sub
from .index import index_select
from .linalg import matmul
from .rearrange import diagonal
from .shape import broadcast_shapes, broadcast_to, permute, reshape


# ---------------------------------------------------------------- the pairwise contraction
def _sum_out(x, labels, drop):
    """Sum x over the dims whose labels are in `drop`; returns (tensor, remaining labels)."""
    dims = [i for i, l in enumerate(labels) if l in drop]
    if not dims:
        return x, labels
    return x.sum(dim=dims), [l for l in labels if l not in drop]


def _permuted(x, labels, order):
    perm = [labels.index(l) for l in order]
    return permute(x, perm) if perm != list(range(len(perm))) else x


def _contract_pair(x, lx, y, ly, keep):
    """sum over the labels shared by x and y that are not in `keep`, of x * y (batched over the
    shared labels in `keep`). Labels are unique within each operand and their sizes agree.
    Returns (tensor, labels) with labels ordered batch, x-only, y-only."""
    x, lx = _sum_out(x, lx, {l for l in lx if l not in ly and l not in keep})
    y, ly = _sum_out(y, ly, {l for l in ly if l not in lx and l not in keep})
    size = dict(zip(lx, x.shape))
    size.update(zip(ly, y.shape))
    batch = [l for l in lx if l in ly and l in keep]
    summed = [l for l in lx if l in ly and l not in keep]
    x_only = [l for l in lx if l not in ly]
    y_only = [l for l in ly if l not in lx]

    def n(ls):
        return math.prod(size[l] for l in ls)

    a = reshape(_permuted(x, lx, batch + x_only + summed), [n(batch), n(x_only), n(summed)])
    b = reshape(_permuted(y, ly, batch + summed + y_only), [n(batch), n(summed), n(y_only)])
    out = matmul(a, b)
    labels = batch + x_only + y_only
    return reshape(out, [size[l] for l in labels]), labels


# ---------------------------------------------------------------- einsum
_ELLIPSIS = "..."


def _parse_term(term, start, what):
    """'ab...c' -> ['a', 'b', '...', 'c']; `start` is the term's index in the equation (messages)."""
    labels, i = [], 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if _ELLIPSIS in labels:
                raise RuntimeError(f"einsum(): found '.' for {what} for which an ellipsis was already found")
            if term[i:i + 3] != _ELLIPSIS:
                raise RuntimeError(f"einsum(): found '.' for {what} that is not part of any ellipsis")
            labels.append(_ELLIPSIS)
            i += 3
            continue
        if not (c.isascii() and c.isalpha()):
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + i} in the equation string, "
                               f"subscripts must be in [a-zA-Z], got {c!r}")
        labels.append(c)
        i += 1
    return labels


def _expand_ellipsis(labels, ndim, ell_total):
    """Replace '...' by ints naming broadcast dims, right-aligned: of ell_total dims the operand's
    ndim - named ones are the last."""
    if _ELLIPSIS not in labels:
        return labels
    at = labels.index(_ELLIPSIS)
    count = ndim - (len(labels) - 1)
    return labels[:at] + list(range(ell_total - count, ell_total)) + labels[at + 1:]


def _take_diagonals(x, labels, k):
    """A label repeated within one operand ('ii') means its diagonal."""
    while len(set(labels)) < len(labels):
        for p, l in enumerate(labels):
            q = labels.index(l, p + 1) if labels.count(l) > 1 else -1
            if q >= 0:
                break
        if x.shape[p] != x.shape[q]:
            raise RuntimeError(f"einsum(): subscript {l} is repeated for operand {k} but the sizes don't match, "
                               f"{x.shape[p]} != {x.shape[q]}")
        x = diagonal(x, 0, p, q)
        labels = [m for i, m in enumerate(labels) if i not in (p, q)] + [l]
    return x, labels


_SUBLIST_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _from_sublists(args):
    """einsum(op1, [0, 1], op2, [1, 2], [0, 2]) -> ('ab,bc->ac', [op1, op2]): PyTorch's sublist
    format, subscripts 0-51 and Ellipsis."""
    def term(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append(_ELLIPSIS)
            elif isinstance(s, int) and not isinstance(s, bool) and 0 <= s < len(_SUBLIST_LETTERS):
                out.append(_SUBLIST_LETTERS[s])
            else:
                raise RuntimeError(f"einsum(): subscript in subscript list is not within the valid range [0, 52), "
                                   f"got {s!r}")
        return "".join(out)

    pairs, out = (args, None) if len(args) % 2 == 0 else (args[:-1], args[-1])
    equation = ",".join(term(sub) for sub in pairs[1::2])
    if out is not None:
        equation += "->" + term(out)
    return equation, list(pairs[0::2])


def einsum(equation, *operands):
    """Einstein summation, PyTorch's grammar: 'ij,jk->ik', repeated subscripts for diagonals,
    '...' for broadcast dims, implicit output (broadcast dims, then the subscripts that appear
    once, in alphabetical order with upper case first) when '->' is absent. Operands come as
    varargs or as one list. Contracted left to right, one batched matmul per pair."""
    if not isinstance(equation, str):
        if not isinstance(equation, Tensor):
            raise TypeError(f"einsum(): argument 'equation' must be str, not {type(equation).__name__}")
        equation, operands = _from_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [as_tensor_arg(t) for t in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError(f"einsum(): fewer operands were provided than specified in the equation {equation!r} "
                           f"({len(operands)} operands for {len(terms)} terms)")
    if len(terms) < len(operands):
        raise RuntimeError(f"einsum(): more operands were provided than specified in the equation {equation!r} "
                           f"({len(operands)} operands for {len(terms)} terms)")
    for k, t in enumerate(operands[1:], 1):
        if t.dtype != operands[0].dtype:
            raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got {operands[0].dtype} for "
                               f"operand 0 and {t.dtype} for operand {k}")

    parsed, start = [], 0
    for k, (term, x) in enumerate(zip(terms, operands)):
        labels = _parse_term(term, start, f"operand {k}")
        start += len(term) + 1
        named = len(labels) - labels.count(_ELLIPSIS)
        if _ELLIPSIS in labels:
            if named > x.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) is more than the "
                                   f"number of dimensions ({x.ndim}) for operand {k}")
        elif named != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not match the "
                               f"number of dimensions ({x.ndim}) for operand {k} and no ellipsis was given")
        parsed.append(labels)
    ell_total = max([x.ndim - (len(l) - 1) for x, l in zip(operands, parsed) if _ELLIPSIS in l], default=0)
    parsed = [_expand_ellipsis(l, x.ndim, ell_total) for l, x in zip(parsed, operands)]
    counts = {}  # how often each label occurs in the inputs (implicit output: the ones seen once)
    for labels in parsed:
        for l in labels:
            counts[l] = counts.get(l, 0) + 1
    xs = [_take_diagonals(x, labels, k) for k, (labels, x) in enumerate(zip(parsed, operands))]

    # Sizes: equal, or 1 (broadcast) - an operand of size 1 along a label others have larger is
    # constant along it, so that dim is squeezed away and the others carry the label.
    size = {}
    for k, (x, labels) in enumerate(xs):
        for l, n in zip(labels, x.shape):
            if l not in size or size[l] == 1:
                size[l] = n
            elif n != 1 and n != size[l]:
                name = "..." if isinstance(l, int) else l
                raise RuntimeError(f"einsum(): subscript {name} has size {n} for operand {k} which does not "
                                   f"broadcast with previously seen size {size[l]}")

    if arrow:
        out = _parse_term(rhs, len(lhs) + 2, "the output")
        out = [l for l in out if l != _ELLIPSIS] if ell_total == 0 else _expand_ellipsis(out, len(out) - 1 + ell_total,
                                                                                         ell_total)
        for l in out:
            if out.count(l) > 1:
                raise RuntimeError(f"einsum(): output subscript {l} appears more than once in the output")
            if l not in size:
                raise RuntimeError(f"einsum(): output subscript {l} does not appear in the equation for any input "
                                   "operand")
    else:
        out = list(range(ell_total)) + sorted(l for l, c in counts.items() if c == 1 and isinstance(l, str))

    for k, (x, labels) in enumerate(xs):
        squeeze = [i for i, l in enumerate(labels) if x.shape[i] == 1 and size[l] != 1]
        if squeeze:
            xs[k] = (x.squeeze(squeeze), [l for i, l in enumerate(labels) if i not in squeeze])

    x, lx = xs[0]
    for i in range(1, len(xs)):
        keep = set(out).union(*(l for _, l in xs[i + 1:]))
        x, lx = _contract_pair(x, lx, xs[i][0], xs[i][1], keep)
    x, lx = _sum_out(x, lx, set(lx) - set(out))
    return _permuted(x, lx, out)


# ---------------------------------------------------------------- tensordot
def _dims_list(d, which):
    if isinstance(d, Tensor):
        d = d.tolist()
    return [d] if isinstance(d, int) else [_int64(v, "tensordot", which) for v in d]


def tensordot(a, b, dims=2, out=None):
    """Sum of a * b over dims: the last `dims` of a with the first `dims` of b (an int), or the
    listed dims ([dims_a, dims_b]). The result has a's free dims, then b's."""
    if out is not None:
        raise TypeError("tensordot(): out= is not supported by pyengine")
    if a.dtype != b.dtype:
        raise RuntimeError(f"tensordot: both inputs should have same dtype, got {a.dtype} and {b.dtype}")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        if len(dims) != 2:
            raise RuntimeError(f"tensordot expects dims to be an int or a pair of dim lists, got {dims}")
        da, db = _dims_list(dims[0], "dims[0]"), _dims_list(dims[1], "dims[1]")
        if len(da) != len(db):
            raise RuntimeError(f"tensordot: both dimension lists should have same length, got {da} and {db}")
        da = [_wrap_dim(d, a.ndim) for d in da]
        db = [_wrap_dim(d, b.ndim) for d in db]
    la = [("a", i) for i in range(a.ndim)]
    lb = [("b", i) for i in range(b.ndim)]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has size {a.shape[i]} in "
                               f"dim {i} and second has size {b.shape[j]} in dim {j}")
        lb[j] = la[i]
    free = [l for l in la if l not in lb] + [l for l in lb if l not in la]
    x, lx = _contract_pair(a, la, b, lb, set(free))
    return _permuted(x, lx, free)


# ---------------------------------------------------------------- outer / cross / kron
def outer(input, vec2):
    """input[i] * vec2[j] for 1-D input and vec2 (dtypes promote as in mul)."""
    a, b = as_tensor_arg(input), as_tensor_arg(vec2)
    for name, t in (("self", a), ("vec2", b)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D (shape {tuple(t.shape)})")
    return mul(a.unsqueeze(1), b.unsqueeze(0))


ger = outer


def cross(input, other, dim=None):
    """The cross product of 3-vectors along `dim` (inputs broadcast). Without dim, the first dim
    of size 3, as PyTorch's deprecated default (with its warning)."""
    a, b = as_tensor_arg(input), as_tensor_arg(other)
    if a.dtype != b.dtype:
        raise RuntimeError(f"cross: expected both inputs to have the same dtype, got {a.dtype} and {b.dtype}")
    if a.ndim != b.ndim:
        raise RuntimeError(f"cross: inputs must have the same number of dimensions, got {a.ndim} and {b.ndim}")
    shape = list(broadcast_shapes(a.shape, b.shape))
    if dim is None:
        import warnings
        warnings.warn("Using pyengine.cross without specifying the dim arg is deprecated; pass dim (PyTorch's "
                      "linalg.cross defaults to dim=-1).", UserWarning, stacklevel=3)  # (under the axis= wrapper)
        if 3 not in shape:
            raise RuntimeError(f"cross: no dimension of size 3 in input (shape {tuple(shape)})")
        dim = shape.index(3)
    dim = _wrap_dim(dim, len(shape))
    if a.shape[dim] != 3 or b.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[dim]} and "
                           f"{b.shape[dim]}")
    a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    from ..creation import tensor
    next1 = tensor([1, 2, 0], device=a.device)
    next2 = tensor([2, 0, 1], device=a.device)
    # c_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1}, indices mod 3
    return sub(mul(index_select(a, dim, next1), index_select(b, dim, next2)),
               mul(index_select(a, dim, next2), index_select(b, dim, next1)))


def kron(input, other):
    """The Kronecker product: block (i, j, ...) is input[i, j, ...] * other."""
    a, b = as_tensor_arg(input), as_tensor_arg(other)
    nd = max(a.ndim, b.ndim)
    sa = [1] * (nd - a.ndim) + list(a.shape)
    sb = [1] * (nd - b.ndim) + list(b.shape)
    a2 = reshape(a, [s for n in sa for s in (n, 1)])
    b2 = reshape(b, [s for n in sb for s in (1, n)])
    return reshape(mul(a2, b2), [x * y for x, y in zip(sa, sb)])
