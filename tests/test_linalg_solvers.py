"""pyengine.linalg against NumPy and torch.linalg: values (decompositions compared through their
reconstructions and invariants, since signs and orderings are conventions), edge sizes, batched
and non-contiguous inputs, float32/float64, gradcheck in float64 and error cases."""
import math

import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import gradcheck, gradgradcheck

LA = pe.linalg
SIZES = [(0, 0), (1, 1), (1, 4), (4, 1), (3, 3), (5, 3), (3, 5), (7, 7), (13, 11)]
SQUARE = [0, 1, 2, 5, 13]
TOL = {"float32": 2e-4, "float64": 1e-10}


def rng(seed=0):
    return np.random.default_rng(seed)


def pt(a, requires_grad=False):
    return pe.tensor(np.ascontiguousarray(a), requires_grad=requires_grad)


def tol(dtype, scale=1.0):
    return TOL[dtype] * scale


def well_conditioned(n, batch=(), seed=0, dtype="float64"):
    a = rng(seed).standard_normal(batch + (n, n)) + 3 * n ** 0.5 * np.eye(n) * 0.5
    return a.astype(dtype)


def spd(n, batch=(), seed=0, dtype="float64"):
    x = rng(seed).standard_normal(batch + (n, n))
    return (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dtype)


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return 0.0 if a.size == 0 else np.abs(a - b).max() / max(1.0, np.abs(b).max())


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SQUARE)
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_solve_inv_det_slogdet_match_numpy(dtype, n, batch):
    a = well_conditioned(n, batch, seed=n, dtype=dtype)
    b = rng(1).standard_normal(batch + (n, 2)).astype(dtype)
    A, B = pt(a), pt(b)
    x = LA.solve(A, B)
    assert x.dtype == A.dtype and tuple(x.shape) == batch + (n, 2)
    assert rel_err(x.numpy(), np.linalg.solve(a.astype(np.float64), b)) < tol(dtype, 10)
    assert rel_err(LA.inv(A).numpy(), np.linalg.inv(a.astype(np.float64)) if n else a) < tol(dtype, 10)
    assert rel_err(LA.det(A).numpy(), np.linalg.det(a.astype(np.float64))) < tol(dtype, 10)
    sign, logabs = LA.slogdet(A)
    s_np, l_np = np.linalg.slogdet(a.astype(np.float64))
    np.testing.assert_array_equal(sign.numpy(), s_np)
    assert rel_err(logabs.numpy(), l_np) < tol(dtype, 10)


def test_solve_vector_rhs_broadcast_left_false_and_views():
    a = well_conditioned(4, (3,))
    A = pt(a)
    b = rng(2).standard_normal(4)
    np.testing.assert_allclose(LA.solve(A, pt(b)).numpy(), np.linalg.solve(a, b[None, :, None])[..., 0], rtol=1e-10)
    bb = rng(3).standard_normal((3, 4))  # a batch of vectors shaped like A's batch
    np.testing.assert_allclose(LA.solve(A, pt(bb)).numpy(), np.linalg.solve(a, bb[..., None])[..., 0], rtol=1e-10)
    B = rng(4).standard_normal((2, 1, 4, 5))  # broadcast batch dims
    np.testing.assert_allclose(LA.solve(A, pt(B)).numpy(), np.linalg.solve(a, B), rtol=1e-10)
    C = rng(5).standard_normal((3, 5, 4))  # X A = C
    np.testing.assert_allclose(LA.solve(A, pt(C), left=False).numpy(),
                               np.swapaxes(np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(C, -1, -2)), -1, -2),
                               rtol=1e-10)
    At = A.transpose(-2, -1)  # non-contiguous input
    np.testing.assert_allclose(LA.inv(At).numpy(), np.linalg.inv(np.swapaxes(a, -1, -2)), rtol=1e-10)
    np.testing.assert_allclose(LA.det(At).numpy(), np.linalg.det(a), rtol=1e-10)
    big = well_conditioned(6, (3,))  # a strided slice: every other row and column
    np.testing.assert_allclose(LA.solve(pt(big)[:, ::2, ::2], pt(b[:3])).numpy(),
                               np.linalg.solve(big[:, ::2, ::2], b[:3]), rtol=1e-10)


def test_solve_against_torch():
    torch = pytest.importorskip("torch")
    a, b = well_conditioned(6, (2,)), rng(7).standard_normal((2, 6, 3))
    np.testing.assert_allclose(LA.solve(pt(a), pt(b)).numpy(),
                               torch.linalg.solve(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SQUARE)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_matches_numpy_and_reads_one_triangle(dtype, n, upper):
    a = spd(n, (2,), seed=n, dtype=dtype)
    junk = a.copy()  # the other triangle must be ignored
    iu = np.triu_indices(n, 1) if not upper else np.tril_indices(n, -1)
    junk[..., iu[0], iu[1]] = 1e3
    f = LA.cholesky(pt(junk), upper=upper).numpy()
    ref = np.linalg.cholesky(a.astype(np.float64))
    assert rel_err(f, np.swapaxes(ref, -1, -2) if upper else ref) < tol(dtype, 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,n", SIZES)
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_reconstructs_and_is_orthonormal(dtype, m, n, mode):
    a = rng(m * 31 + n).standard_normal((2, m, n)).astype(dtype)
    q, r = LA.qr(pt(a), mode=mode)
    k = min(m, n)
    rows = m if mode == "complete" else k
    assert tuple(r.shape) == (2, rows, n)
    r = r.numpy()
    np.testing.assert_array_equal(np.tril(r, -1), 0)
    if mode == "r":
        assert q.numel() == 0
        # R agrees with NumPy's up to the signs of its rows
        ref = np.linalg.qr(a.astype(np.float64), mode="r")
        assert rel_err(np.abs(r[:, :k]), np.abs(ref[:, :k])) < tol(dtype, 10)
        return
    q = q.numpy()
    assert q.shape == (2, m, rows)
    assert rel_err(q @ r, a) < tol(dtype, 10)
    assert rel_err(np.swapaxes(q, -1, -2) @ q, np.eye(rows)) < tol(dtype, 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SQUARE)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_numpy(dtype, n, uplo):
    x = rng(n).standard_normal((3, n, n))
    a = (x + np.swapaxes(x, -1, -2)).astype(dtype)
    w, v = LA.eigh(pt(a), UPLO=uplo)
    w_np = np.linalg.eigvalsh(a.astype(np.float64), UPLO=uplo)
    assert rel_err(w.numpy(), w_np) < tol(dtype, 10)
    assert rel_err(LA.eigvalsh(pt(a), UPLO=uplo).numpy(), w_np) < tol(dtype, 10)
    v = v.numpy().astype(np.float64)
    assert rel_err(v * w.numpy()[..., None, :] @ np.swapaxes(v, -1, -2), a) < tol(dtype, 10)
    assert rel_err(np.swapaxes(v, -1, -2) @ v, np.eye(n)) < tol(dtype, 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,n", SIZES)
@pytest.mark.parametrize("full", [False, True])
def test_svd_matches_numpy(dtype, m, n, full):
    a = rng(m * 7 + n).standard_normal((2, m, n)).astype(dtype)
    u, s, vh = LA.svd(pt(a), full_matrices=full)
    k = min(m, n)
    assert tuple(u.shape) == (2, m, m if full else k) and tuple(vh.shape) == (2, n if full else k, n)
    s_np = np.linalg.svd(a.astype(np.float64), compute_uv=False)
    assert rel_err(s.numpy(), s_np) < tol(dtype, 10)
    assert rel_err(LA.svdvals(pt(a)).numpy(), s_np) < tol(dtype, 10)
    u, vh = u.numpy().astype(np.float64), vh.numpy().astype(np.float64)
    assert rel_err((u[..., :k] * s.numpy()[..., None, :]) @ vh[..., :k, :], a) < tol(dtype, 10)
    assert rel_err(np.swapaxes(u, -1, -2) @ u, np.eye(u.shape[-1])) < tol(dtype, 10)
    assert rel_err(vh @ np.swapaxes(vh, -1, -2), np.eye(vh.shape[-2])) < tol(dtype, 10)


def test_svd_rank_deficient_keeps_orthonormal_factors():
    a = rng(3).standard_normal((6, 2)) @ rng(4).standard_normal((2, 5))  # rank 2
    a[:, 0] = 0
    u, s, vh = (t.numpy() for t in LA.svd(pt(a), full_matrices=True))
    np.testing.assert_allclose(u.T @ u, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(vh @ vh.T, np.eye(5), atol=1e-12)
    np.testing.assert_allclose((u[:, :5] * s) @ vh, a, atol=1e-12)
    assert LA.matrix_rank(pt(a)).item() == np.linalg.matrix_rank(a) == 2


def test_decompositions_against_torch_reconstructions():
    torch = pytest.importorskip("torch")
    a = rng(9).standard_normal((2, 5, 4))
    ts = torch.linalg.svdvals(torch.tensor(a)).numpy()
    np.testing.assert_allclose(LA.svdvals(pt(a)).numpy(), ts, rtol=1e-12)
    _, r_t = torch.linalg.qr(torch.tensor(a))
    np.testing.assert_allclose(np.abs(LA.qr(pt(a)).R.numpy()), np.abs(r_t.numpy()), rtol=1e-10, atol=1e-12)
    s = spd(5, (2,))
    np.testing.assert_allclose(LA.eigvalsh(pt(s)).numpy(), torch.linalg.eigvalsh(torch.tensor(s)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(LA.cholesky(pt(s)).numpy(), torch.linalg.cholesky(torch.tensor(s)).numpy(), rtol=1e-12)


# ---------------------------------------------------------------- lstsq, pinv, matrix_rank
@pytest.mark.parametrize("m,n", [(6, 3), (3, 6), (4, 4), (1, 3), (3, 1)])
@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq_matches_torch_fields(m, n, driver):
    torch = pytest.importorskip("torch")
    a, b = rng(m).standard_normal((2, m, n)), rng(n).standard_normal((2, m, 2))
    got = LA.lstsq(pt(a), pt(b), driver=driver)
    ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    if driver == "gels" and m < n:  # LAPACK's gels is also min-norm for full-rank wide A
        pass
    np.testing.assert_allclose(got.solution.numpy(), ref.solution.numpy(), rtol=1e-8, atol=1e-10)
    for g, r in zip(got[1:], ref[1:]):
        assert tuple(g.shape) == tuple(r.shape), (driver, g.shape, r.shape)
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-8, atol=1e-10)


def test_lstsq_min_norm_rank_deficient_and_vector_rhs():
    a = rng(1).standard_normal((8, 3)) @ rng(2).standard_normal((3, 10))  # 8 x 10, rank 3
    b = rng(3).standard_normal(8)
    got = LA.lstsq(pt(a), pt(b), driver="gelsd")
    np.testing.assert_allclose(got.solution.numpy(), np.linalg.lstsq(a, b, rcond=None)[0], rtol=1e-8, atol=1e-10)
    assert got.rank.item() == 3 and got.residuals.numel() == 0
    np.testing.assert_allclose(LA.pinv(pt(a)).numpy(), np.linalg.pinv(a), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,n", SIZES)
def test_pinv_matches_numpy(dtype, m, n):
    a = rng(m + 5 * n).standard_normal((2, m, n)).astype(dtype)
    p = LA.pinv(pt(a)).numpy()
    assert p.shape == (2, n, m)
    ref = np.linalg.pinv(a.astype(np.float64)) if a.size else np.zeros((2, n, m))
    assert rel_err(p, ref) < tol(dtype, 100)


def test_pinv_hermitian_tolerances_and_matrix_rank():
    torch = pytest.importorskip("torch")
    x = rng(5).standard_normal((5, 3))
    s = x @ x.T  # rank 3, symmetric
    np.testing.assert_allclose(LA.pinv(pt(s), hermitian=True).numpy(), np.linalg.pinv(s), rtol=1e-7, atol=1e-9)
    t = torch.tensor(s)
    for kw in ({}, {"atol": 1.0}, {"rtol": 0.5}, {"atol": 0.1, "rtol": 0.2}):
        np.testing.assert_allclose(LA.pinv(pt(s), **kw).numpy(), torch.linalg.pinv(t, **kw).numpy(), rtol=1e-7,
                                   atol=1e-9)
        assert LA.matrix_rank(pt(s), **kw).item() == torch.linalg.matrix_rank(t, **kw).item()
        assert LA.matrix_rank(pt(s), hermitian=True, **kw).item() == torch.linalg.matrix_rank(t, hermitian=True,
                                                                                               **kw).item()


# ---------------------------------------------------------------- norms
@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_matches_torch(ord, keepdim):
    torch = pytest.importorskip("torch")
    a = rng(11).standard_normal((2, 4, 3, 5))
    for dim in ((-2, -1), (1, 3), (3, 0)):
        got = LA.matrix_norm(pt(a), ord, dim, keepdim).numpy()
        ref = torch.linalg.matrix_norm(torch.tensor(a), ord, dim, keepdim).numpy()
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-10)


@pytest.mark.parametrize("ord", [2, 1, 3.5, 0, 0.5, math.inf, -math.inf, -1])
def test_vector_norm_and_norm_match_torch(ord):
    torch = pytest.importorskip("torch")
    a = rng(12).standard_normal((3, 4, 5))
    t = torch.tensor(a)
    for dim in (None, -1, (0, 2)):
        for keepdim in (False, True):
            np.testing.assert_allclose(LA.vector_norm(pt(a), ord, dim, keepdim).numpy(),
                                       torch.linalg.vector_norm(t, ord, dim, keepdim).numpy(), rtol=1e-10)
    np.testing.assert_allclose(LA.norm(pt(a)).numpy(), torch.linalg.norm(t).numpy(), rtol=1e-12)
    np.testing.assert_allclose(LA.norm(pt(a[0]), "nuc").numpy(), torch.linalg.norm(t[0], "nuc").numpy(), rtol=1e-10)
    np.testing.assert_allclose(LA.norm(pt(a[0, 0]), ord).numpy(), torch.linalg.norm(t[0, 0], ord).numpy(), rtol=1e-10)
    np.testing.assert_allclose(LA.norm(pt(a), None, (0, 1)).numpy(), torch.linalg.norm(t, None, (0, 1)).numpy(),
                               rtol=1e-10)


def test_cross_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = rng(1).standard_normal((1, 4, 3)), rng(2).standard_normal((2, 1, 3))
    np.testing.assert_allclose(LA.cross(pt(a), pt(b)).numpy(), torch.linalg.cross(torch.tensor(a), torch.tensor(b)),
                               rtol=1e-12)


# ---------------------------------------------------------------- gradients (float64)
def _req(a):
    return pt(a, requires_grad=True)


def _sym(x):
    return x + x.transpose(-2, -1)


GRAD_CASES = {
    "solve": (lambda a, b: LA.solve(a, b), lambda: (well_conditioned(3, (2,)), rng(1).standard_normal((2, 3, 2)))),
    "solve_vec": (lambda a, b: LA.solve(a, b), lambda: (well_conditioned(3), rng(1).standard_normal(3))),
    "inv": (LA.inv, lambda: (well_conditioned(4, (2,)),)),
    "det": (LA.det, lambda: (well_conditioned(3, (2,)),)),
    "slogdet": (lambda a: LA.slogdet(a).logabsdet, lambda: (well_conditioned(3, (2,)),)),
    "cholesky": (lambda x: LA.cholesky(x @ x.transpose(-2, -1) + 3 * pe.eye(3, dtype=pe.float64)),
                 lambda: (rng(2).standard_normal((2, 3, 3)),)),
    "cholesky_upper": (lambda x: LA.cholesky(x @ x.transpose(-2, -1) + 3 * pe.eye(3, dtype=pe.float64), upper=True),
                       lambda: (rng(2).standard_normal((3, 3)),)),
    "qr_tall": (lambda a: LA.qr(a), lambda: (rng(3).standard_normal((2, 5, 3)),)),
    "qr_square": (lambda a: LA.qr(a), lambda: (rng(3).standard_normal((4, 4)),)),
    "qr_wide": (lambda a: LA.qr(a), lambda: (rng(3).standard_normal((3, 5)),)),
    "qr_complete_wide": (lambda a: LA.qr(a, mode="complete"), lambda: (rng(3).standard_normal((3, 4)),)),
    # Eigenvectors and singular vectors only up to sign: check sign-invariant functions of them.
    "eigh": (lambda x: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(LA.eigh(_sym(x))),
             lambda: (rng(4).standard_normal((2, 4, 4)),)),
    "eigh_U": (lambda x: (lambda r: (r.eigenvalues, r.eigenvectors[..., :1] @ r.eigenvectors[..., :1].mT))(
        LA.eigh(_sym(x), UPLO="U")), lambda: (rng(4).standard_normal((4, 4)),)),
    "eigvalsh": (lambda x: LA.eigvalsh(_sym(x)), lambda: (rng(5).standard_normal((3, 3)),)),
    "svd_tall": (lambda a: (lambda r: (r.S, (r.U * r.S.unsqueeze(-2)) @ r.Vh, r.U ** 2, r.Vh ** 2))(
        LA.svd(a, full_matrices=False)), lambda: (rng(6).standard_normal((2, 5, 3)),)),
    "svd_wide": (lambda a: (lambda r: (r.S, r.U ** 2, r.Vh ** 2))(LA.svd(a, full_matrices=False)),
                 lambda: (rng(7).standard_normal((3, 5)),)),
    "svd_full": (lambda a: (lambda r: (r.S, r.U[..., :3] ** 2))(LA.svd(a, full_matrices=True)),
                 lambda: (rng(8).standard_normal((5, 3)),)),
    "svdvals": (LA.svdvals, lambda: (rng(9).standard_normal((2, 3, 4)),)),
    "pinv_tall": (LA.pinv, lambda: (rng(10).standard_normal((5, 3)),)),
    "pinv_wide": (LA.pinv, lambda: (rng(11).standard_normal((2, 3, 4)),)),
    "pinv_hermitian": (lambda x: LA.pinv(_sym(x), hermitian=True), lambda: (rng(12).standard_normal((3, 3)),)),
    "lstsq_tall": (lambda a, b: LA.lstsq(a, b).solution, lambda: (rng(13).standard_normal((6, 3)),
                                                                   rng(14).standard_normal((6, 2)))),
    "lstsq_wide": (lambda a, b: LA.lstsq(a, b).solution, lambda: (rng(15).standard_normal((3, 5)),
                                                                   rng(16).standard_normal(3))),
    "lstsq_residuals": (lambda a, b: LA.lstsq(a, b, driver="gelsd").residuals,
                        lambda: (rng(17).standard_normal((6, 3)), rng(18).standard_normal((6, 2)))),
    "matrix_norm_nuc": (lambda a: LA.matrix_norm(a, "nuc"), lambda: (rng(19).standard_normal((2, 4, 3)),)),
    "matrix_norm_2": (lambda a: LA.matrix_norm(a, 2), lambda: (rng(20).standard_normal((4, 3)),)),
    "matrix_norm_-2": (lambda a: LA.matrix_norm(a, -2), lambda: (rng(20).standard_normal((4, 3)),)),
    "matrix_norm_1": (lambda a: LA.matrix_norm(a, 1, keepdim=True), lambda: (rng(21).standard_normal((4, 3)),)),
    "matrix_norm_inf": (lambda a: LA.matrix_norm(a, math.inf), lambda: (rng(22).standard_normal((4, 3)),)),
    "matrix_norm_fro": (lambda a: LA.matrix_norm(a), lambda: (rng(23).standard_normal((4, 3)),)),
    "vector_norm_3": (lambda a: LA.vector_norm(a, 3, dim=-1), lambda: (rng(24).standard_normal((4, 3)),)),
    "norm": (lambda a: LA.norm(a), lambda: (rng(25).standard_normal((4, 3)),)),
    "cross": (lambda a, b: LA.cross(a, b), lambda: (rng(26).standard_normal((2, 3)), rng(27).standard_normal((1, 3)))),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradcheck(name):
    fn, make = GRAD_CASES[name]
    assert gradcheck(fn, tuple(_req(a) for a in make()), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", ["solve", "inv", "det", "slogdet", "cholesky", "qr_tall", "eigh", "svd_tall",
                                  "pinv_wide", "lstsq_tall", "matrix_norm_nuc"])
def test_gradgradcheck(name):
    fn, make = GRAD_CASES[name]
    assert gradgradcheck(fn, tuple(_req(a) for a in make()), eps=1e-6, atol=1e-4)


def test_gradients_match_torch():
    torch = pytest.importorskip("torch")
    a = well_conditioned(4, (2,))
    x = rng(3).standard_normal((2, 4, 4))
    cases = [
        (lambda m: LA.inv(m).sum(), lambda m: torch.linalg.inv(m).sum(), a),
        (lambda m: LA.det(m).sum(), lambda m: torch.linalg.det(m).sum(), a),
        (lambda m: LA.cholesky(m).sum(), lambda m: torch.linalg.cholesky(m).sum(), spd(4, (2,))),
        (lambda m: (LA.qr(m).Q.sum() + LA.qr(m).R.sum()), lambda m: sum(t.sum() for t in torch.linalg.qr(m)), x),
        (lambda m: (LA.eigh(m).eigenvectors[..., 0] ** 3).abs().sum() + LA.eigh(m).eigenvalues.sum(),
         lambda m: (torch.linalg.eigh(m).eigenvectors[..., 0] ** 3).abs().sum() + torch.linalg.eigh(m).eigenvalues.sum(),
         spd(4, (2,))),
        (lambda m: LA.pinv(m).sum(), lambda m: torch.linalg.pinv(m).sum(), x[..., :3]),
    ]
    for f_pe, f_t, v in cases:
        mp, mt = _req(v), torch.tensor(v, requires_grad=True)
        f_pe(mp).backward()
        f_t(mt).backward()
        np.testing.assert_allclose(mp.grad.numpy(), mt.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_qr_mode_r_and_complete_tall_refuse_backward_like_torch():
    a = _req(rng(1).standard_normal((4, 3)))
    with pytest.raises(RuntimeError, match="mode='r'"):
        LA.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="complete"):
        LA.qr(a, mode="complete").Q.sum().backward()


# ---------------------------------------------------------------- errors
def test_singular_and_not_positive_definite_raise_linalg_error():
    assert issubclass(LA.LinAlgError, RuntimeError)
    z = pe.zeros(2, 2, dtype=pe.float64)
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.solve(z, pe.ones(2, dtype=pe.float64))
    with pytest.raises(LA.LinAlgError, match=r"\(Batch element 1\): .*singular"):
        LA.solve(pt(np.stack([np.eye(2), np.zeros((2, 2))])), pe.ones(2, dtype=pe.float64))
    with pytest.raises(LA.LinAlgError, match="diagonal element 2 is zero"):
        LA.inv(pt(np.array([[1.0, 2.0], [2.0, 4.0]])))
    with pytest.raises(LA.LinAlgError, match="leading minor of order 2 is not positive-definite"):
        LA.cholesky(pt(np.diag([1.0, -1.0, 1.0])))
    assert LA.det(z).item() == 0.0
    sign, logabs = LA.slogdet(z)
    assert sign.item() == 0.0 and logabs.item() == -math.inf
    l, info = LA.cholesky_ex(pt(np.diag([1.0, -1.0])))
    assert info.item() == 2
    y, info = LA.inv_ex(z)
    assert info.item() == 1


def test_bad_arguments_name_what_came():
    a = pe.ones(2, 3, dtype=pe.float64)
    with pytest.raises(RuntimeError, match="square matrices, but they are 2 by 3"):
        LA.inv(a)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.svd(pe.ones(3))
    with pytest.raises(RuntimeError, match="floating point"):
        LA.det(pe.ones(2, 2, dtype=pe.int64))
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B .* \(2x2 and 3x1\)"):
        LA.solve(pe.eye(2, dtype=pe.float64), pe.ones(3, dtype=pe.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        LA.solve(pe.eye(2, dtype=pe.float64), pe.ones(2, dtype=pe.float32))
    with pytest.raises(RuntimeError, match="driver"):
        LA.lstsq(a, a, driver="nope")
    with pytest.raises(RuntimeError, match="unrecognized mode 'x'"):
        LA.qr(a, mode="x")
    with pytest.raises(RuntimeError, match="UPLO"):
        LA.eigh(pe.eye(2), UPLO="X")
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        LA.matrix_norm(a, 3)
    with pytest.raises(TypeError, match="must be Tensor"):
        LA.inv([[1.0]])
    with pytest.raises(RuntimeError, match="length 3"):
        LA.cross(pe.ones(2, 4), pe.ones(2, 4))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        LA.cross(pe.ones(2, 3), pe.ones(3))


def test_top_level_aliases():
    a = well_conditioned(3)
    np.testing.assert_allclose(pe.det(pt(a)).item(), np.linalg.det(a), rtol=1e-12)
    np.testing.assert_allclose(pe.inverse(pt(a)).numpy(), np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(pe.cholesky(pt(spd(3))).numpy(), np.linalg.cholesky(spd(3)), rtol=1e-12)
    np.testing.assert_allclose(pe.logdet(pt(spd(3))).item(), np.linalg.slogdet(spd(3))[1], rtol=1e-12)
    assert math.isnan(pe.logdet(pt(np.diag([1.0, -1.0]))).item())
    np.testing.assert_allclose(pe.pinverse(pt(a)).numpy(), np.linalg.inv(a), rtol=1e-10)


def test_device(device):
    """Every function on either device (the CUDA kernels are host-staged around the CPU ones):
    the results live on the input's device and equal the CPU's, gradients included."""
    a = well_conditioned(3, (2,))
    b = rng(1).standard_normal((2, 3, 2))
    s = spd(3, (2,))
    fns = [lambda m, r: LA.solve(m, r), lambda m, r: LA.inv(m), lambda m, r: LA.det(m),
           lambda m, r: LA.slogdet(m).logabsdet, lambda m, r: LA.qr(m).R, lambda m, r: LA.svdvals(m),
           lambda m, r: LA.pinv(m), lambda m, r: LA.lstsq(m, r).solution, lambda m, r: LA.matrix_norm(m, "nuc"),
           lambda m, r: LA.eigvalsh(m + m.mT), lambda m, r: LA.cholesky(m @ m.mT)]
    for fn in fns:
        ref_in = pt(a, requires_grad=True)
        ref = fn(ref_in, pt(b))
        ref.sum().backward()
        x = pe.tensor(a, device=device, requires_grad=True)
        got = fn(x, pe.tensor(b, device=device))
        assert got.device.type == device
        got.sum().backward()
        np.testing.assert_allclose(got.detach().to("cpu").numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x.grad.to("cpu").numpy(), ref_in.grad.numpy(), rtol=1e-8, atol=1e-10)
    with pytest.raises(LA.LinAlgError, match="not positive-definite"):
        LA.cholesky(pe.tensor(-s, device=device))


# ---------------------------------------------------------------- forward-mode AD
JVP_CASES = {
    "solve": (lambda a, b: LA.solve(a, b), lambda: (well_conditioned(3, (2,)), rng(1).standard_normal((2, 3, 2)))),
    "inv": (LA.inv, lambda: (well_conditioned(4),)),
    "det": (LA.det, lambda: (well_conditioned(3, (2,)),)),
    "slogdet": (lambda a: LA.slogdet(a).logabsdet, lambda: (well_conditioned(3),)),
    "cholesky": (LA.cholesky, lambda: (spd(3, (2,)),)),
    "eigh": (lambda a: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(LA.eigh(a)), lambda: (spd(4),)),
    "eigvalsh": (LA.eigvalsh, lambda: (spd(4),)),
    "pinv": (LA.pinv, lambda: (rng(3).standard_normal((2, 3, 5)),)),
    "lstsq": (lambda a, b: LA.lstsq(a, b).solution, lambda: (rng(4).standard_normal((5, 3)),
                                                             rng(5).standard_normal((5, 2)))),
}


@pytest.mark.parametrize("name", sorted(JVP_CASES))
def test_forward_mode_matches_central_differences(name):
    """The jvp rules against (f(x + e t) - f(x - e t)) / 2e, with symmetric tangents for the
    functions of a symmetric matrix (cholesky, eigh)."""
    from pyengine.autograd import forward_ad as fwAD
    fn, make = JVP_CASES[name]
    primals = make()
    tangents = [rng(10 + i).standard_normal(p.shape) for i, p in enumerate(primals)]
    if name in ("cholesky", "eigh", "eigvalsh"):
        tangents = [t + np.swapaxes(t, -1, -2) for t in tangents]
    as_tuple = lambda out: out if isinstance(out, tuple) else (out,)  # noqa: E731
    with fwAD.dual_level():
        out = as_tuple(fn(*(fwAD.make_dual(pt(p), pt(t)) for p, t in zip(primals, tangents))))
        got = [fwAD.unpack_dual(o).tangent.numpy() for o in out]
    eps = 1e-6
    plus = as_tuple(fn(*(pt(p + eps * t) for p, t in zip(primals, tangents))))
    minus = as_tuple(fn(*(pt(p - eps * t) for p, t in zip(primals, tangents))))
    for g, hi, lo in zip(got, plus, minus):
        np.testing.assert_allclose(g, (hi.numpy() - lo.numpy()) / (2 * eps), rtol=1e-5, atol=1e-6)


def test_tensor_methods():
    a = well_conditioned(3)
    t = pt(a)
    np.testing.assert_allclose(t.det().item(), np.linalg.det(a), rtol=1e-12)
    np.testing.assert_allclose(t.inverse().numpy(), np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(t.slogdet().logabsdet.item(), np.linalg.slogdet(a)[1], rtol=1e-12)
    np.testing.assert_allclose(t.pinverse().numpy(), np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(pt(spd(3)).cholesky().numpy(), np.linalg.cholesky(spd(3)), rtol=1e-12)
    np.testing.assert_allclose(pt(spd(3)).logdet().item(), np.linalg.slogdet(spd(3))[1], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lu_and_cholesky_kernels_on_device_match_cpu(device, dtype):
    """The device LU / solve / Cholesky kernels (one thread per matrix) on a batch of sizes and
    edge cases: values as the CPU's, info for singular and indefinite members."""
    for n in (0, 1, 2, 7):
        a = well_conditioned(n, (5,), seed=n, dtype=dtype)
        b = rng(n).standard_normal((5, n, 3)).astype(dtype)
        s = spd(n, (5,), seed=n, dtype=dtype)
        for fn, args in ((lambda m, r: LA.solve(m, r), (a, b)), (lambda m: LA.inv(m), (a,)),
                         (lambda m: LA.cholesky(m), (s,)), (lambda m: LA.det(m), (a,))):
            cpu = fn(*(pt(x) for x in args)).numpy()
            dev = fn(*(pe.tensor(x, device=device) for x in args)).to("cpu").numpy()
            assert rel_err(dev, cpu) < tol(dtype, 10)
    bad = np.stack([np.eye(3), np.diag([1.0, 0.0, 1.0]), np.eye(3)]).astype(dtype)
    with pytest.raises(LA.LinAlgError, match=r"\(Batch element 1\): The diagonal element 2 is zero"):
        LA.inv(pe.tensor(bad, device=device))
    with pytest.raises(LA.LinAlgError, match=r"\(Batch element 1\): .*leading minor of order 2"):
        LA.cholesky(pe.tensor(bad, device=device))
    l, info = LA.cholesky_ex(pe.tensor(bad, device=device))
    assert info.to("cpu").tolist() == [0, 2, 0]


# ---------------------------------------------------------------- the smaller torch.linalg functions
def test_lu_factor_and_lu_solve_match_torch():
    torch = pytest.importorskip("torch")
    a, b = rng(0).standard_normal((2, 5, 5)), rng(1).standard_normal((2, 5, 3))
    lu, piv = LA.lu_factor(pt(a))
    tlu, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    np.testing.assert_allclose(lu.numpy(), tlu.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    for left in (True, False):
        for adjoint in (False, True):
            rhs = b if left else np.swapaxes(b, -1, -2)
            got = LA.lu_solve(lu, piv, pt(rhs), left=left, adjoint=adjoint).numpy()
            ref = torch.linalg.lu_solve(tlu, tpiv, torch.tensor(rhs), left=left, adjoint=adjoint).numpy()
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    lu_g = pt(lu.numpy(), requires_grad=True)
    assert gradcheck(lambda m, r: LA.lu_solve(m, piv, r), (lu_g, _req(b)))
    assert gradcheck(lambda m, r: LA.lu_solve(m, piv, r, adjoint=True), (lu_g, _req(b)))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular_matches_torch(upper, left, unit):
    torch = pytest.importorskip("torch")
    a = rng(2).standard_normal((2, 4, 4)) + 4 * np.eye(4)
    b = rng(3).standard_normal((2, 4, 3) if left else (2, 3, 4))
    got = LA.solve_triangular(pt(a), pt(b), upper=upper, left=left, unitriangular=unit).numpy()
    ref = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper, left=left,
                                        unitriangular=unit).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_matrix_power_multi_dot_cond_diagonal_vecdot():
    torch = pytest.importorskip("torch")
    a = well_conditioned(4, (2,))
    t = torch.tensor(a)
    for n in (-3, -1, 0, 1, 2, 5):
        np.testing.assert_allclose(LA.matrix_power(pt(a), n).numpy(), torch.linalg.matrix_power(t, n).numpy(),
                                   rtol=1e-10, atol=1e-12)
    for p in (None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf):
        np.testing.assert_allclose(LA.cond(pt(a), p).numpy(), torch.linalg.cond(t, p).numpy(), rtol=1e-10)
    for off in (-2, 0, 1, 5):
        np.testing.assert_allclose(LA.diagonal(pt(a), offset=off).numpy(),
                                   torch.linalg.diagonal(t, offset=off).numpy())
    np.testing.assert_allclose(LA.diagonal(pt(a), dim1=0, dim2=2).numpy(),
                               torch.linalg.diagonal(t, dim1=0, dim2=2).numpy())
    chain = [rng(i).standard_normal(s) for i, s in enumerate([(3,), (3, 5), (5, 2), (2, 4)])]
    np.testing.assert_allclose(LA.multi_dot([pt(c) for c in chain]).numpy(),
                               torch.linalg.multi_dot([torch.tensor(c) for c in chain]).numpy(), rtol=1e-12)
    np.testing.assert_allclose(LA.vecdot(pt(a), pt(a[0])).numpy(),
                               torch.linalg.vecdot(t, t[0]).numpy(), rtol=1e-12)
    assert gradcheck(lambda m: LA.matrix_power(m, -2), (_req(a),))
    assert gradcheck(lambda m: LA.cond(m), (_req(a),))
    with pytest.raises(RuntimeError, match="at least 2 tensors"):
        LA.multi_dot([pt(a[0])])
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        LA.multi_dot([pt(chain[1]), pt(chain[1])])


def test_eigh_and_svd_degenerate_inputs():
    for a in (np.eye(5), np.zeros((5, 5)), np.diag([3.0, -1.0, 3.0, 0.0, 2.0]), np.ones((6, 6)),
              np.diag(np.ones(4), 1) + np.diag(np.ones(4), -1)):
        w, v = (t.numpy() for t in LA.eigh(pt(a)))
        np.testing.assert_allclose(w, np.linalg.eigvalsh(a), atol=1e-12)
        np.testing.assert_allclose(v.T @ v, np.eye(len(a)), atol=1e-12)
        np.testing.assert_allclose((v * w) @ v.T, a, atol=1e-12)
        u, s, vh = (t.numpy() for t in LA.svd(pt(a)))
        np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-12)
        np.testing.assert_allclose((u * s) @ vh, a, atol=1e-12)
    nan = np.full((3, 3), np.nan)  # no hang, no crash: NaN out
    assert np.isnan(LA.eigvalsh(pt(nan)).numpy()).all()
    assert np.isnan(LA.svdvals(pt(nan)).numpy()).any()


def test_ex_variants_and_lu_solve_are_differentiable():
    a = well_conditioned(3, (2,))
    assert gradcheck(lambda m: LA.inv_ex(m).inverse, (_req(a),))
    assert gradcheck(lambda x: LA.cholesky_ex(x @ x.mT + 3 * pe.eye(3, dtype=pe.float64)).L, (_req(a),))
    from pyengine.autograd import forward_ad as fwAD
    lu, piv = LA.lu_factor(pt(a))
    b, t = rng(1).standard_normal((2, 3, 2)), rng(2).standard_normal((2, 3, 2))
    with fwAD.dual_level():
        x = LA.lu_solve(lu, piv, fwAD.make_dual(pt(b), pt(t)))
        tangent = fwAD.unpack_dual(x).tangent.numpy()
    np.testing.assert_allclose(tangent, np.linalg.solve(a, t), rtol=1e-10)
