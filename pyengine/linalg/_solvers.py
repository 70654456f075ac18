"""Solvers on the LU factorization and the SVD: solve, inv, det, slogdet, lstsq, pinv,
matrix_rank, with their gradients (written with pyengine ops, so they are differentiable again):

  solve  X = A^-1 B:           gB = A^-T gX,  gA = -gB X^T
  inv    Y = A^-1:             gA = -Y^T gY Y^T
  det    d = det A:            gA = gd d A^-T          (A must be invertible for the gradient)
  slogdet (sign, log|det A|):  gA = g_logabsdet A^-T
  pinv   P = A^+ (Golub & Pereyra, constant rank):
         gA = -P^T gP P^T + (I - A P) gP^T P P^T + P^T P gP^T (I - P A)
  lstsq  X = A^+ B (min-norm least squares), differentiated through pinv.
"""
from collections import namedtuple

from .. import _C
from ..autograd.function import Function
from ..ops.shape import broadcast_shapes
from ._decompositions import _records, eigh, svdvals
from ._util import (check_float, check_matrix, check_square, diagonal, eye_like, mT, raise_from_info,
                    wrap, zeros)

_EPS = {"float32": 1.1920928955078125e-07, "float64": 2.220446049250313e-16}


def _lu(a, message):
    """(LU, pivots) of a, raising LinAlgError(message(where, k)) when a is singular."""
    lu, piv, info = _C.linalg_lu_factor(a._impl)
    raise_from_info(info, message)
    return lu, piv


def _singular_solve(where, k):
    return f"torch.linalg.solve: {where}The solver failed because the input matrix is singular."


# ---------------------------------------------------------------- solve
class SolveFn(Function):
    """X = A^-1 B for A (..., n, n), B (..., n, k) with equal batch dims."""

    @staticmethod
    def forward(ctx, a, b):
        lu, piv = _lu(a, _singular_solve)
        x = _C.linalg_lu_solve(lu, piv, b._impl)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, gx):
        a, x = ctx.saved_tensors
        gb = SolveFn.apply(mT(a), gx)
        ga = -(gb @ mT(x)) if ctx.needs_input_grad[0] else None
        return ga, gb

    @staticmethod
    def jvp(ctx, ta, tb):  # dX = A^-1 (dB - dA X)
        a, b = ctx.fw_inputs
        rhs = tb if ta is None else (-(ta @ ctx.fw_outputs) if tb is None else tb - ta @ ctx.fw_outputs)
        return SolveFn.apply(a, rhs)


def _is_vector_rhs(a, b):
    # PyTorch's rule: B is a (batch of) vector(s) when it is 1-D or has A's batch shape plus one dim.
    sa, sb = tuple(a.shape), tuple(b.shape)
    return len(sb) == 1 or (len(sb) == len(sa) - 1 and sb == sa[:-1])


def solve(A, B, *, left=True, out=None):
    """X with A X = B (left=False: X A = B), batched with broadcasting; B may be a vector (or a
    batch of vectors shaped like A's batch). Raises LinAlgError when A is singular."""
    check_square("linalg.solve", A)
    check_float("linalg.solve", B, "B")
    if A._impl.dtype != B._impl.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{A._impl.dtype} and B of type {B._impl.dtype} instead")
    if not left:
        return mT(solve(mT(A), mT(B)))
    vector = _is_vector_rhs(A, B)
    b = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    if b._impl.ndim < 2 or b.shape[-2] != n:
        rows, cols = (B.shape[-1], 1) if vector else (b.shape[-2] if b._impl.ndim >= 2 else b.shape[-1], b.shape[-1])
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({n}x{n} and "
                           f"{rows}x{cols})")
    batch = tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2])))
    a = A.expand(batch + (n, n)) if tuple(A.shape[:-2]) != batch else A
    b = b.expand(batch + tuple(b.shape[-2:])) if tuple(b.shape[:-2]) != batch else b
    x = SolveFn.apply(a, b)
    return x.squeeze(-1) if vector else x


# ---------------------------------------------------------------- inv
class InvFn(Function):
    @staticmethod
    def forward(ctx, a):
        lu, piv = _lu(a, lambda where, k: (
            f"linalg.inv: {where}The diagonal element {k} is zero, the inversion could not be completed because "
            f"the input matrix is singular."))
        ident = eye_like(a).expand(tuple(a.shape))
        y = _C.linalg_lu_solve(lu, piv, ident._impl)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        yt = mT(y)
        return -(yt @ gy @ yt)

    @staticmethod
    def jvp(ctx, ta):  # dY = -Y dA Y
        y = ctx.fw_outputs
        return -(y @ ta @ y)


def inv(A, *, out=None):
    """A^-1 (batched). Raises LinAlgError when A is singular."""
    check_square("linalg.inv", A)
    return InvFn.apply(A)


def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info is 0, or k when U[k-1, k-1] of A's LU factorization is zero (the
    inverse then holds non-finite values). check_errors=True raises like inv."""
    check_square("linalg.inv_ex", A)
    if check_errors:
        y = inv(A)
        return _InvEx(y, zeros(tuple(A.shape[:-2]), A).to("int64"))
    lu, piv, info = _C.linalg_lu_factor(A._impl)
    info = wrap(info)
    if _records(A) and not bool(info.any()):  # every matrix invertible: the differentiable path
        return _InvEx(inv(A), info)
    y = _C.linalg_lu_solve(lu, piv, eye_like(A).expand(tuple(A.shape))._impl)
    return _InvEx(wrap(y), info)


_InvEx = namedtuple("linalg_inv_ex", ["inverse", "info"])


# ---------------------------------------------------------------- det / slogdet
def _lu_parts(a):
    """(diagonal of U, sign of the permutation) of a's LU factorization (no error if singular)."""
    lu, piv, _ = _C.linalg_lu_factor(a._impl)
    lu, piv = wrap(lu), wrap(piv)
    n = a.shape[-1]
    from ..creation import arange
    swaps = (piv != arange(n, device=a._impl.device)).to("int64").sum(-1)
    perm_sign = 1.0 - 2.0 * (swaps % 2).to(a._impl.dtype)
    return diagonal(lu), perm_sign


def _trace_solve(a, t):
    """tr(A^-1 T) per matrix (the derivative of log|det A| along T)."""
    if a.shape[-1] == 0:
        return zeros(tuple(a.shape[:-2]), a)
    return diagonal(SolveFn.apply(a, t)).sum(-1)


class DetFn(Function):
    @staticmethod
    def forward(ctx, a):
        if a.shape[-1] == 0:
            d = wrap(_C.full(tuple(a.shape[:-2]), 1.0, a._impl.dtype, a._impl.device))
        else:
            u, sign = _lu_parts(a)
            d = u.prod(-1) * sign
        ctx.save_for_backward(a, d._impl)
        return d

    @staticmethod
    def backward(ctx, gd):
        a, d = ctx.saved_tensors
        return (gd * d).unsqueeze(-1).unsqueeze(-1) * mT(inv(a))

    @staticmethod
    def jvp(ctx, ta):  # d det = det tr(A^-1 dA)
        return ctx.fw_outputs * _trace_solve(ctx.fw_inputs[0], ta)


def det(A, *, out=None):
    """The determinant (batched), from the LU factorization; 0 for a singular A. Its gradient
    needs an invertible A."""
    check_square("linalg.det", A)
    return DetFn.apply(A)


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


class SlogdetFn(Function):
    @staticmethod
    def forward(ctx, a):
        if a.shape[-1] == 0:
            shape = tuple(a.shape[:-2])
            sign = wrap(_C.full(shape, 1.0, a._impl.dtype, a._impl.device))
            logabs = wrap(_C.full(shape, 0.0, a._impl.dtype, a._impl.device))
        else:
            u, perm_sign = _lu_parts(a)
            sign = u.sign().prod(-1) * perm_sign
            logabs = u.abs().log().sum(-1)
        ctx.mark_non_differentiable(sign)
        ctx.save_for_backward(a)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glogabs):
        (a,) = ctx.saved_tensors
        return glogabs.unsqueeze(-1).unsqueeze(-1) * mT(inv(a))

    @staticmethod
    def jvp(ctx, ta):  # d log|det| = tr(A^-1 dA); the sign is piecewise constant
        return None, _trace_solve(ctx.fw_inputs[0], ta)


def slogdet(A, *, out=None):
    """(sign, logabsdet) with det A = sign * exp(logabsdet) (batched); a singular A gives
    (0, -inf). logabsdet is differentiable (for an invertible A)."""
    check_square("linalg.slogdet", A)
    sign, logabs = SlogdetFn.apply(A)
    return SlogdetResult(sign, logabs)


def logdet(input):
    """log det A (NaN for a negative determinant, -inf for a singular A), batched."""
    check_square("logdet", input)
    sign, logabs = slogdet(input)
    from ..ops.elementwise import where
    return where(sign < 0, float("nan"), logabs)


# ---------------------------------------------------------------- pinv, matrix_rank
def _tolerance(fn, s_max, m, n, dtype, atol, rtol):
    """PyTorch's rule: tol = max(atol, rtol * s_max), rtol defaulting to eps * max(m, n) when
    atol is not given (or zero) and to 0 otherwise."""
    def value(x, name):
        if x is None:
            return None
        if hasattr(x, "_impl"):
            return x
        if not isinstance(x, (int, float)):
            raise TypeError(f"{fn}(): argument '{name}' must be a float or a Tensor, not {type(x).__name__}")
        return float(x)
    atol, rtol = value(atol, "atol"), value(rtol, "rtol")
    if rtol is None:
        rtol = _EPS[dtype] * max(m, n) if atol is None or (isinstance(atol, float) and atol == 0) else 0.0
    tol = s_max * rtol
    if atol is not None:
        from ..ops.elementwise import maximum
        tol = maximum(tol, atol if hasattr(atol, "_impl") else tol * 0 + atol)
    return tol


def _safe_reciprocal(s, keep):
    from ..ops.elementwise import where
    return where(keep, 1.0 / where(keep, s, 1.0), 0.0)


class PinvFn(Function):
    """P = A^+ given the singular/eigen decomposition computed in pinv (forward only)."""

    @staticmethod
    def forward(ctx, a, p):
        ctx.save_for_backward(a, p._impl)
        return p

    @staticmethod
    def backward(ctx, gp):
        a, p = ctx.saved_tensors
        pt, gpt = mT(p), mT(gp)
        m, n = a.shape[-2], a.shape[-1]
        ga = -(pt @ gp @ pt)
        ga = ga + (eye_like(a, m) - a @ p) @ gpt @ (p @ pt)
        ga = ga + (pt @ p) @ gpt @ (eye_like(a, n) - p @ a)
        return ga, None

    @staticmethod
    def jvp(ctx, ta, tp):  # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
        a = ctx.fw_inputs[0]
        p = ctx.fw_outputs
        m, n = a.shape[-2], a.shape[-1]
        pt, tat = mT(p), mT(ta)
        return (-(p @ ta @ p) + (p @ pt) @ tat @ (eye_like(a, m) - a @ p)
                + (eye_like(a, n) - p @ a) @ tat @ (pt @ p))


def _pinv_value(a, atol, rtol, hermitian, fn):
    """(A^+, singular values or None) with no graph: V diag(1/s over s > tol) U^T, or the
    eigen version for hermitian A (which gives no singular values back)."""
    from ..autograd.grad_mode import no_grad
    m, n = a.shape[-2], a.shape[-1]
    with no_grad():
        if m == 0 or n == 0:
            return zeros(tuple(a.shape[:-2]) + (n, m), a), zeros(tuple(a.shape[:-2]) + (0,), a)
        if hermitian:
            w, v = (wrap(t) for t in _C.linalg_eigh(a._impl, "L", True))  # values only: no graph, no tangent
            s = w.abs()
            tol = _tolerance(fn, s.amax(-1, keepdim=True), m, n, a._impl.dtype, atol, rtol)
            winv = _safe_reciprocal(w, s > tol)
            return (v * winv.unsqueeze(-2)) @ mT(v), None
        u, s, vh = (wrap(t) for t in _C.linalg_svd(a._impl, False, True))
        tol = _tolerance(fn, s.narrow(-1, 0, 1), m, n, a._impl.dtype, atol, rtol)
        sinv = _safe_reciprocal(s, s > tol)
        return (mT(vh) * sinv.unsqueeze(-2)) @ mT(u), s


def pinv(A, *, atol=None, rtol=None, hermitian=False, rcond=None, out=None):
    """The Moore-Penrose pseudo-inverse (batched) through the SVD (the eigendecomposition when
    hermitian=True): singular values at or below max(atol, rtol * s_max) count as zero; rtol
    defaults to eps * max(m, n) when atol is not given (PyTorch's rule); rcond is the old
    name of rtol. Differentiable where the rank is locally constant."""
    check_matrix("linalg.pinv", A)
    if rcond is not None:
        if rtol is not None:
            raise RuntimeError("linalg.pinv: give rtol or its old name rcond, not both")
        rtol = rcond
    p, _ = _pinv_value(A, atol, rtol, hermitian, "linalg.pinv")
    return PinvFn.apply(A, p)


def pinverse(input, rcond=1e-15):
    """pinv with PyTorch's old default rcond=1e-15 (torch.pinverse)."""
    return pinv(input, rtol=rcond)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None, out=None):
    """The number of singular values (|eigenvalues| when hermitian) above max(atol, rtol * s_max),
    as int64 (batched); the tolerance defaults as in pinv. tol: the old name of atol."""
    check_matrix("linalg.matrix_rank", A)
    if tol is not None:
        atol, rtol = tol, (0.0 if rtol is None else rtol)
    m, n = A.shape[-2], A.shape[-1]
    if m == 0 or n == 0:
        return zeros(tuple(A.shape[:-2]), A).to("int64")
    from ..autograd.grad_mode import no_grad
    with no_grad():
        s = eigh(A).eigenvalues.abs() if hermitian else svdvals(A)
        s_max = s.amax(-1, keepdim=True)
        limit = _tolerance("linalg.matrix_rank", s_max, m, n, A._impl.dtype, atol, rtol)
        return (s > limit).to("int64").sum(-1)


# ---------------------------------------------------------------- lstsq
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """The minimum-norm least-squares solution X of A X = B (batched with broadcasting; B may be a
    vector), as (solution, residuals, rank, singular_values) like torch.linalg.lstsq.

    Every driver computes X = A^+ B through the SVD (singular values at or below rcond * s_max
    count as zero; rcond defaults to eps * max(m, n)), so X is the minimum-norm solution for any
    shape and rank (LAPACK's gels assumes full rank and gelsy uses a pivoted QR instead; for
    full-rank A all agree). The other fields follow PyTorch's driver semantics: residuals
    ||A X - B||^2 per column when m > n, A has full rank and the driver is not gelsy (else
    empty); rank for every driver but gels (else empty); singular_values for gelsd and gelss
    (else empty). The default driver is gelsy, as on PyTorch's CPU."""
    check_matrix("linalg.lstsq", A)
    check_float("linalg.lstsq", B, "B")
    if A._impl.dtype != B._impl.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                           f"dtype {A._impl.dtype} and other's dtype {B._impl.dtype}")
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
                           f"got {driver!r}")
    m, n = A.shape[-2], A.shape[-1]
    vector = B._impl.ndim == A._impl.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    if b._impl.ndim < 2 or b.shape[-2] != m:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2), got A of shape "
                           f"{tuple(A.shape)} and B of shape {tuple(B.shape)}")
    batch = tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2])))
    a = A.expand(batch + (m, n)) if tuple(A.shape[:-2]) != batch else A
    b = b.expand(batch + tuple(b.shape[-2:])) if tuple(b.shape[:-2]) != batch else b
    rtol = _EPS[A._impl.dtype] * max(m, n) if rcond is None or rcond < 0 else float(rcond)
    p, s = _pinv_value(a, None, rtol, False, "linalg.lstsq")  # one SVD gives A^+, the rank and S
    x = PinvFn.apply(a, p) @ b
    empty = zeros((0,), A)
    from ..autograd.grad_mode import no_grad
    with no_grad():
        if min(m, n) > 0:
            rank = (s > s.narrow(-1, 0, 1) * rtol).to("int64").sum(-1)
        else:
            rank = zeros(batch, a).to("int64")
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank == n).all()):
        residuals = ((a @ x - b) ** 2).sum(-2)
        if vector:
            residuals = residuals.squeeze(-1)
    return LstsqResult(x.squeeze(-1) if vector else x, residuals,
                       rank if driver != "gels" else empty.to("int64"),
                       s if driver in ("gelsd", "gelss") else empty)


__all__ = ["solve", "inv", "inv_ex", "det", "slogdet", "logdet", "pinv", "pinverse", "matrix_rank", "lstsq"]
