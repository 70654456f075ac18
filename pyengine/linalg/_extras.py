"""The rest of torch.linalg that is a short composition of the functions above (so gradients and
forward-mode AD come with them): lu_factor / lu_solve, solve_triangular, matrix_power,
multi_dot, cond, diagonal, vecdot."""
import math
from collections import namedtuple

from .. import _C
from ..autograd import _dual_state
from ..autograd.grad_mode import is_grad_enabled
from ._norms import matrix_norm
from ._decompositions import svdvals
from ._solvers import inv, solve
from ._util import check_float, check_matrix, check_square, eye_like, mT, wrap

LUFactorResult = namedtuple("LUFactorResult", ["LU", "pivots"])


def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots) of A = P L U with partial pivoting (batched), packed like LAPACK's getrf:
    unit L below the diagonal, U on and above. pivots are 1-based like PyTorch's, but int64 (not
    int32). Not differentiable (use solve / det, which are). A singular A is factorized anyway."""
    check_square("linalg.lu_factor", A)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU (as in PyTorch)")
    lu, piv, _ = _C.linalg_lu_factor(A._impl)
    return LUFactorResult(wrap(lu), wrap(piv) + 1)


def _permutation(pivots, inverse):
    """The row order (int64, pivots' shape) that applies lu_factor's 1-based swaps in order to the
    rows of a matrix (P^T B = B[order]); inverse=True: the order that undoes them (P Z)."""
    import numpy as np
    piv = np.asarray(pivots.to("cpu").tolist(), dtype=np.int64).reshape(-1, pivots.shape[-1]) - 1
    n = piv.shape[-1]
    order = np.tile(np.arange(n), (piv.shape[0], 1))
    for row, swaps in zip(order, piv):
        for k, p in enumerate(swaps):
            row[k], row[p] = row[p], row[k]
    if inverse:
        order = np.argsort(order, axis=-1)
    from ..creation import tensor
    return tensor(order.reshape(tuple(pivots.shape)), device=pivots.device)


def _rows(b, order):
    """b[..., order, :] per batch element."""
    from ..ops.index import gather
    idx = order.unsqueeze(-1).expand(tuple(order.shape) + (b.shape[-1],))
    return gather(b, -2, idx)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """X with A X = B from lu_factor's (LU, pivots) (batched; left=False: X A = B; adjoint=True:
    A^T in place of A). Differentiable in LU and B (then through triangular solves)."""
    check_square("linalg.lu_solve", LU, "LU")
    check_float("linalg.lu_solve", B, "B")
    if B._impl.ndim < 2:
        raise RuntimeError(f"linalg.lu_solve: The input tensor B must have at least 2 dimensions, got a tensor of "
                           f"shape {tuple(B.shape)}")
    if pivots._impl.dtype != "int64" or tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"linalg.lu_solve: expected pivots of shape {tuple(LU.shape[:-1])} and dtype int64 (as "
                           f"lu_factor gives), got {tuple(pivots.shape)} {pivots._impl.dtype}")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return mT(lu_solve(LU, pivots, mT(B), adjoint=not adjoint))
    n = LU.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation AX = B ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    batch = tuple(LU.shape[:-2])
    b = B.expand(batch + tuple(B.shape[-2:])) if tuple(B.shape[:-2]) != batch else B
    records = (is_grad_enabled() and (LU.requires_grad or B.requires_grad)) or bool(_dual_state.tangents)
    if not adjoint and not records:  # the kernel: row swaps and both substitutions in one pass
        return wrap(_C.linalg_lu_solve(LU._impl, (pivots - 1)._impl, b._impl))
    upper, lower = LU.triu(), LU.tril(-1) + eye_like(LU)
    if not adjoint:  # U^-1 L^-1 P^T B
        y = solve_triangular(lower, _rows(b, _permutation(pivots, False)), upper=False, unitriangular=True)
        return solve_triangular(upper, y, upper=True)
    y = solve_triangular(mT(upper), b, upper=False)  # A^T = U^T L^T P^T: X = P L^-T U^-T B
    z = solve_triangular(mT(lower), y, upper=True, unitriangular=True)
    return _rows(z, _permutation(pivots, True))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with A X = B (left=False: X A = B) for triangular A, reading only the triangle named by
    upper (and taking a unit diagonal when unitriangular). Batched with broadcasting."""
    check_square("linalg.solve_triangular", A)
    check_float("linalg.solve_triangular", B, "B")
    if B._impl.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: The input tensor B must have at least 2 dimensions, got a "
                           f"tensor of shape {tuple(B.shape)}")
    t = A.triu() if upper else A.tril()
    if unitriangular:
        eye = eye_like(A)
        t = t * (1 - eye) + eye
    return solve(t, B, left=left)


def matrix_power(A, n):
    """A^n for an integer n (batched): repeated squaring; n = 0 gives the identity, n < 0 the
    power of inv(A)."""
    check_square("linalg.matrix_power", A)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"linalg.matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:
        return eye_like(A).expand(tuple(A.shape)) + 0 * A
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices (the first may be 1-D: a row vector; the last 1-D: a
    column vector), multiplied in the order that needs the fewest flops."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vec, last_vec = tensors[0].dim() == 1, tensors[-1].dim() == 1
    mats = [t.unsqueeze(0) if i == 0 and first_vec else t for i, t in enumerate(tensors)]
    mats[-1] = mats[-1].unsqueeze(-1) if last_vec else mats[-1]
    for i, m in enumerate(mats):
        if m.dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {tensors[i].dim()}D")
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {tuple(mats[i].shape)} and "
                               f"{tuple(mats[i + 1].shape)} cannot be multiplied")
    k = len(mats)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):  # the classic matrix-chain order
        for i in range(k - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s

    def product(i, j):
        return mats[i] if i == j else product(i, split[i][j]) @ product(split[i][j] + 1, j)
    result = product(0, k - 1)
    if first_vec:
        result = result.squeeze(0)
    if last_vec:
        result = result.squeeze(-1)
    return result


def cond(A, p=None):
    """The condition number of A in the norm p (None or 2: s_max / s_min through svdvals; -2:
    s_min / s_max; 'fro', 'nuc', inf, -inf, 1, -1: norm(A) * norm(inv(A)), square A only)."""
    check_matrix("linalg.cond", A)
    if p is None or p in (2, -2):
        s = svdvals(A)
        k = s.shape[-1]
        hi, lo = s.narrow(-1, 0, 1).squeeze(-1), s.narrow(-1, k - 1, 1).squeeze(-1)
        return lo / hi if p == -2 else hi / lo
    check_square("linalg.cond", A)
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal (offset above / below the main one) of the matrices in the dims dim1, dim2."""
    check_float("linalg.diagonal", A)
    x = A.movedim((dim1, dim2), (-2, -1)) if (dim1, dim2) != (-2, -1) else A
    m, n = x.shape[-2], x.shape[-1]
    if offset >= 0:
        length = max(0, min(m, n - offset))
        x = x.narrow(-1, offset, length).narrow(-2, 0, length) if length else x.narrow(-1, 0, 0).narrow(-2, 0, 0)
    else:
        length = max(0, min(m + offset, n))
        x = x.narrow(-2, -offset, length).narrow(-1, 0, length) if length else x.narrow(-1, 0, 0).narrow(-2, 0, 0)
    return (x * eye_like(x, length)).sum(-1)


def vecdot(x, y, *, dim=-1, out=None):
    """sum(x * y) along dim (broadcasting), the dot product of vectors in a batch."""
    return (x * y).sum(dim)


__all__ = ["lu_factor", "lu_solve", "solve_triangular", "matrix_power", "multi_dot", "cond", "diagonal", "vecdot"]
