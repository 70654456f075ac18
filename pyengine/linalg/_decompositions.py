"""Factorizations with their gradients: cholesky, qr, eigh/eigvalsh, svd/svdvals.

The forward of each is one kernel call (_C.linalg_*, csrc/ops/linalg_solvers.h); the backward
is PyTorch's formula written with pyengine ops, so it is itself differentiable (double backward).
Formulas for real matrices (X^T: transpose, skew(X) = X - X^T):

  cholesky  A = L L^T:     gA = sym(L^-T Phi(L^T gL) L^-1), Phi = lower triangle, half diagonal
  qr        A = Q R (m >= n): gA = (gQ + Q N) R^-T, N = M's upper triangle mirrored, M = gR R^T - Q^T gQ
  eigh      A = V diag(w) V^T: gA = V (diag(gw) + skew(V^T gV) / 2 / E) V^T, E_ij = w_j - w_i
  svd       A = U diag(S) Vh: PyTorch's svd_backward (gauge-invariant part; ill-conditioned when
            two singular values are close, as in every library)
"""
from collections import namedtuple

from .. import _C
from ..autograd.function import Function
from ..autograd import _dual_state
from ..autograd.grad_mode import is_grad_enabled
from ..ops.shape import cat
from ._util import LinAlgError, check_matrix, check_square, diag_embed, eye_like, mT, raise_from_info, wrap, zeros


def _solve(a, b):
    from ._solvers import solve
    return solve(a, b)


def _records(a):
    """True when an op on `a` records a graph or forward AD is on (the values-only kernels then
    give way to the full decomposition, whose other outputs the derivatives need)."""
    return (a.requires_grad and is_grad_enabled()) or bool(_dual_state.tangents)


# ---------------------------------------------------------------- cholesky
class CholeskyFn(Function):
    @staticmethod
    def forward(ctx, a):
        l, info = _C.linalg_cholesky(a._impl)
        raise_from_info(info, lambda where, k: (
            f"linalg.cholesky: {where}The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {k} is not positive-definite)."))
        ctx.save_for_backward(l)
        return l

    @staticmethod
    def backward(ctx, gl):
        (l,) = ctx.saved_tensors
        phi = (mT(l) @ gl).tril()
        phi = phi - 0.5 * diag_embed((phi * eye_like(phi)).sum(-1))
        linv = _solve(l, eye_like(l).expand(l.shape))
        ga = mT(linv) @ phi @ linv
        return 0.5 * (ga + mT(ga))

    @staticmethod
    def jvp(ctx, ta):  # dL = L Phi(L^-1 sym(dA) L^-T), the adjoint of the (symmetrised) backward
        l = ctx.fw_outputs
        linv = _solve(l, eye_like(l).expand(l.shape))
        x = linv @ (0.5 * (ta + mT(ta))) @ mT(linv)
        phi = x.tril()
        phi = phi - 0.5 * diag_embed((phi * eye_like(phi)).sum(-1))
        return l @ phi


def cholesky(A, *, upper=False, out=None):
    """The Cholesky factor of a symmetric positive-definite A (batched): lower L with A = L L^T,
    reading only A's lower triangle; upper=True: U with A = U^T U from the upper triangle.
    Raises pyengine.linalg.LinAlgError when A is not positive-definite."""
    check_square("linalg.cholesky", A)
    if upper:
        return mT(CholeskyFn.apply(mT(A)))
    return CholeskyFn.apply(A)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info) without raising: info is 0, or k when the leading minor of order k is not
    positive-definite (L is then incomplete). check_errors=True raises like cholesky."""
    if check_errors:
        l = cholesky(A, upper=upper)
        return _CholeskyEx(l, wrap(_C.full(tuple(A.shape[:-2]), 0, "int64", A._impl.device)))
    check_square("linalg.cholesky_ex", A)
    src = mT(A) if upper else A
    l, info = _C.linalg_cholesky(src._impl)
    info = wrap(info)
    if _records(A) and not bool(info.any()):  # every factorization succeeded: the differentiable path
        return _CholeskyEx(cholesky(A, upper=upper), info)
    l = wrap(l)
    return _CholeskyEx(mT(l) if upper else l, info)


_CholeskyEx = namedtuple("linalg_cholesky_ex", ["L", "info"])


# ---------------------------------------------------------------- qr
QRResult = namedtuple("QRResult", ["Q", "R"])


def _qr_square_backward(q, r, gq, gr):
    """gA for A = Q R with A m x n, m >= n (Q m x n, R n x n upper), derived from
    Q^T dA R^-1 = Q^T dQ + dR R^-1 (skew + upper):
        M = R gR^T - Q^T gQ;  N = triu(M) + triu(M, 1)^T;  gA = (gQ + Q N) R^-T."""
    m = gr @ mT(r) if gr is not None else None
    if gq is not None:
        m = -(mT(q) @ gq) if m is None else m - mT(q) @ gq
    n = m.triu() + mT(m.triu(1))
    b = q @ n
    if gq is not None:
        b = b + gq
    # gA = B R^-T, i.e. gA^T = R^-1 B^T
    return mT(_solve(r, mT(b)))


class QrFn(Function):
    @staticmethod
    def forward(ctx, a, mode):
        q, r = _C.linalg_qr(a._impl, mode)
        ctx.mode = mode
        ctx.save_for_backward(a, q, r)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        a, q, r = ctx.saved_tensors
        m, n = a.shape[-2], a.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if m >= n:
            return _qr_square_backward(q, r, gq, gr), None
        # A = [X | Y] with X = Q U (m x m) and Y = Q V: Y's part feeds back into Q's gradient.
        y = a.narrow(-1, m, n - m)
        u = r.narrow(-1, 0, m)
        gu = gr.narrow(-1, 0, m) if gr is not None else None
        gv = gr.narrow(-1, m, n - m) if gr is not None else None
        gq_eff = gq
        if gv is not None:
            gq_eff = y @ mT(gv) if gq_eff is None else gq_eff + y @ mT(gv)
        gx = _qr_square_backward(q, u, gq_eff, gu)
        gy = q @ gv if gv is not None else zeros(tuple(y.shape), y)
        return cat([gx, gy], -1), None


def qr(A, mode="reduced", *, out=None):
    """(Q, R) with A = Q R by Householder reflections (batched). mode 'reduced' (default): Q
    m x k, R k x n, k = min(m, n); 'complete': Q m x m, R m x n; 'r': R only (Q is empty).
    R's diagonal may be negative (LAPACK's convention, as PyTorch)."""
    check_matrix("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           f"'r', or 'complete'")
    q, r = QrFn.apply(A, mode)
    return QRResult(q, r)


# ---------------------------------------------------------------- eigh
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def _check_uplo(fn, uplo):
    if not isinstance(uplo, str) or uplo.upper() not in ("L", "U"):
        raise RuntimeError(f"{fn}: Expected UPLO argument to be 'L' or 'U', but got {uplo}")
    return uplo.upper()


def _eigh_backward(w, v, gw, gv):
    """PyTorch's linalg_eig_backward for Hermitian input."""
    if gv is None:
        inner = diag_embed(gw)
    else:
        vgv = mT(v) @ gv
        vgv = 0.5 * (vgv - mT(vgv))
        e = w.unsqueeze(-2) - w.unsqueeze(-1)  # E_ij = w_j - w_i
        eye = eye_like(v)
        inner = vgv / (e + eye) * (1 - eye)
        if gw is not None:
            inner = inner + diag_embed(gw)
    return v @ inner @ mT(v)


class EighFn(Function):
    @staticmethod
    def forward(ctx, a, uplo):
        w, v = _C.linalg_eigh(a._impl, uplo, True)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        return _eigh_backward(w, v, gw, gv), None

    @staticmethod
    def jvp(ctx, ta, _tuplo):
        # dw = diag(V^T dA V); dV = V (F o V^T dA V), F_ij = 1 / (w_j - w_i) off the diagonal
        w, v = ctx.fw_outputs
        mid = mT(v) @ ta @ v
        eye = eye_like(v)
        e = w.unsqueeze(-2) - w.unsqueeze(-1)
        return (mid * eye).sum(-1), v @ (mid / (e + eye) * (1 - eye))


class EigvalshFn(Function):
    @staticmethod
    def forward(ctx, a, uplo):
        need_v = any(ctx.needs_input_grad)
        w, v = _C.linalg_eigh(a._impl, uplo, need_v)
        if need_v:
            ctx.save_for_backward(w, v)
        return w

    @staticmethod
    def backward(ctx, gw):
        w, v = ctx.saved_tensors
        return _eigh_backward(w, v, gw, None), None


def eigh(A, UPLO="L", *, out=None):
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric A, reading the triangle
    UPLO names ('L' default, or 'U'). Eigenvectors are determined up to sign (and, for repeated
    eigenvalues, up to a rotation of their space); the gradient assumes distinct eigenvalues."""
    check_square("linalg.eigh", A)
    w, v = EighFn.apply(A, _check_uplo("linalg.eigh", UPLO))
    return EighResult(w, v)


def eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues (ascending) of the symmetric A, reading the triangle UPLO names."""
    check_square("linalg.eigvalsh", A)
    uplo = _check_uplo("linalg.eigvalsh", UPLO)
    if _records(A):  # through eigh, so the eigenvectors its gradient uses are differentiable too
        return EighFn.apply(A, uplo)[0]
    return EigvalshFn.apply(A, uplo)


# ---------------------------------------------------------------- svd
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _svd_backward(u, s, vh, gu, gs, gvh, m, n):
    """PyTorch's svd_backward (real case), U m x k, S k, Vh k x n."""
    k = s.shape[-1]
    v = mT(vh)
    gv = mT(gvh) if gvh is not None else None
    if gu is None and gv is None:
        return u @ diag_embed(gs) @ vh
    eye = eye_like(s, k)
    s2 = s * s
    e = s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye  # E_jk = s_k^2 - s_j^2, 1 on the diagonal
    ga = None
    if gu is not None:
        uhgu = mT(u) @ gu
        uhgu = uhgu - mT(uhgu)
        ga = uhgu * s.unsqueeze(-2) / e * (1 - eye)
    if gv is not None:
        vhgv = mT(v) @ gv
        vhgv = vhgv - mT(vhgv)
        term = s.unsqueeze(-1) * vhgv / e * (1 - eye)
        ga = term if ga is None else ga + term
    if gs is not None:
        ga = ga + diag_embed(gs)
    if m > k and gu is not None:
        ga = u @ ga
        gus = gu / s.unsqueeze(-2)
        ga = ga + gus - u @ (mT(u) @ gus)
        ga = ga @ vh
    elif n > k and gv is not None:
        ga = ga @ vh
        gvs = gv / s.unsqueeze(-2)
        ga = ga + mT(gvs) - (mT(gvs) @ v) @ vh
        ga = u @ ga
    else:
        ga = u @ ga @ vh
    return ga


class SvdFn(Function):
    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = _C.linalg_svd(a._impl, full_matrices, True)
        ctx.full = full_matrices
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        if ctx.full:  # only the first k columns of U / rows of Vh are determined by A
            u, vh = u.narrow(-1, 0, k), vh.narrow(-2, 0, k)
            gu = gu.narrow(-1, 0, k) if gu is not None else None
            gvh = gvh.narrow(-2, 0, k) if gvh is not None else None
        if k == 0:
            return zeros((*u.shape[:-1], n), u), None
        return _svd_backward(u, s, vh, gu, gs, gvh, m, n), None


class SvdvalsFn(Function):
    @staticmethod
    def forward(ctx, a):
        need_uv = any(ctx.needs_input_grad)
        u, s, vh = _C.linalg_svd(a._impl, False, need_uv)
        if need_uv:
            ctx.save_for_backward(u, vh)
        return s

    @staticmethod
    def backward(ctx, gs):
        u, vh = ctx.saved_tensors
        return u @ diag_embed(gs) @ vh


def svd(A, full_matrices=True, *, driver=None, out=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending (batched), by one-sided Jacobi rotations
    (QR first for tall matrices). full_matrices=True: U m x m and Vh n x n; False: m x k and
    k x n. Singular vectors are determined up to sign; gradients are ill-conditioned when two
    singular values are close (and undefined for repeated ones), as in PyTorch."""
    check_matrix("linalg.svd", A)
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    u, s, vh = SvdFn.apply(A, bool(full_matrices))
    return SVDResult(u, s, vh)


def svdvals(A, *, driver=None, out=None):
    """The singular values of A, descending (batched)."""
    check_matrix("linalg.svdvals", A)
    if _records(A):  # through svd, so the singular vectors its gradient uses are differentiable too
        return SvdFn.apply(A, False)[1]
    return SvdvalsFn.apply(A)


__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "qr", "eigh", "eigvalsh", "svd", "svdvals"]
