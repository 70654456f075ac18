"""linalg.matrix_exp (scaling and squaring, Pade [13/13] over matmul and solve): values against
closed forms, SciPy-free references (eigh for symmetric matrices, rotations) and torch 2.13; the
scaling path on large norms; batches, views, float32/float64; gradcheck and gradgradcheck in
float64; the emulated GPU; errors."""
import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import gradcheck, gradgradcheck

LA = pe.linalg
DEVICES = ["cpu"] + (["cuda"] if pe.cuda.is_available() else [])


def test_closed_forms():
    t = 0.7
    rot = LA.matrix_exp(pe.tensor([[0.0, t], [-t, 0.0]], dtype=pe.float64)).numpy()
    np.testing.assert_allclose(rot, [[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]], rtol=1e-14, atol=1e-15)
    nil = LA.matrix_exp(pe.tensor([[0.0, 3.0], [0.0, 0.0]], dtype=pe.float64)).numpy()  # I + N for N^2 = 0
    np.testing.assert_allclose(nil, [[1.0, 3.0], [0.0, 1.0]], rtol=0, atol=1e-15)
    d = np.array([-30.0, -1.0, 0.0, 2.0, 25.0])  # a diagonal crossing the scaling threshold
    np.testing.assert_allclose(np.diag(LA.matrix_exp(pe.tensor(np.diag(d))).numpy()), np.exp(d), rtol=1e-13)
    np.testing.assert_array_equal(LA.matrix_exp(pe.zeros(3, 3)).numpy(), np.eye(3))


@pytest.mark.parametrize("scale", [1e-3, 1.0, 8.0, 60.0])
def test_symmetric_matrices_match_the_eigendecomposition(scale):
    rng = np.random.default_rng(int(scale * 1000))
    a = rng.standard_normal((4, 6, 6))
    a = (a + np.swapaxes(a, 1, 2)) * scale / 4
    w, v = np.linalg.eigh(a)
    want = np.einsum("bij,bj,bkj->bik", v, np.exp(w), v)
    got = LA.matrix_exp(pe.tensor(a)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-11 * max(1.0, scale), atol=1e-11 * np.abs(want).max())


torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype,scale", [(d, s) for d in ("float32", "float64") for s in (1e-4, 0.5, 3.0, 20.0)]
                         + [("float64", 150.0)])  # (exp(150) overflows float32)
def test_matches_torch(dtype, scale):
    rng = np.random.default_rng(int(scale * 100))
    a = (rng.standard_normal((3, 2, 7, 7)) * scale / 3).astype(dtype)
    got = LA.matrix_exp(pe.tensor(a)).numpy()
    want = torch.linalg.matrix_exp(torch.from_numpy(a)).numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-4 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_views_and_special_values_match_torch():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 9, 9))
    view = pe.tensor(a).transpose(1, 2)[:, 1:7, 2:8]  # neither stride is 1
    want = torch.linalg.matrix_exp(torch.from_numpy(a).transpose(1, 2)[:, 1:7, 2:8]).numpy()
    np.testing.assert_allclose(LA.matrix_exp(view).numpy(), want, rtol=1e-12, atol=1e-12)
    assert tuple(LA.matrix_exp(pe.zeros(0, 3, 3)).shape) == (0, 3, 3)
    assert tuple(LA.matrix_exp(pe.zeros(2, 0, 0)).shape) == (2, 0, 0)
    nan = pe.tensor([[0.0, float("nan")], [0.0, 1.0]])
    assert np.isnan(LA.matrix_exp(nan).numpy()).any()


def test_gradients():
    rng = np.random.default_rng(7)
    for scale in (0.3, 12.0):  # without and with squaring
        a = pe.tensor(rng.standard_normal((2, 4, 4)) * scale / 2, requires_grad=True)
        assert gradcheck(LA.matrix_exp, (a,), eps=1e-6, atol=1e-5 * max(1.0, scale ** 2), rtol=1e-4)
    b = pe.tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True)
    assert gradgradcheck(LA.matrix_exp, (b,), eps=1e-6, atol=1e-5)
    # d/dA tr(exp(A)) = exp(A)^T: the classic identity, against torch too
    a = pe.tensor(rng.standard_normal((5, 5)), requires_grad=True)
    LA.matrix_exp(a).diagonal().sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), LA.matrix_exp(a.detach()).numpy().T, rtol=1e-10, atol=1e-12)
    ta = torch.from_numpy(a.detach().numpy()).requires_grad_()
    g = rng.standard_normal((5, 5))
    torch.linalg.matrix_exp(ta).backward(torch.from_numpy(g))
    a.grad = None
    LA.matrix_exp(a).backward(pe.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("device", DEVICES)
def test_device_parity(device):
    a = np.random.default_rng(1).standard_normal((2, 6, 6)) * 4
    got = LA.matrix_exp(pe.tensor(a, device=device))
    assert got.device.type == device
    np.testing.assert_allclose(got.cpu().numpy(), LA.matrix_exp(pe.tensor(a)).numpy(), rtol=1e-11, atol=1e-11)


def test_errors():
    with pytest.raises(RuntimeError, match="square"):
        LA.matrix_exp(pe.zeros(2, 3))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.matrix_exp(pe.zeros(3))
    with pytest.raises(RuntimeError, match="floating point"):
        LA.matrix_exp(pe.zeros(2, 2, dtype=pe.int64))


def test_forward_mode_matches_reverse_mode():
    """The jvp through forward-mode AD equals <grad, direction> from reverse mode, per element."""
    from pyengine.autograd import forward_ad as fwAD
    rng = np.random.default_rng(4)
    a = pe.tensor(rng.standard_normal((4, 4)) * 3)  # norm above theta_13: the squaring path too
    t = pe.tensor(rng.standard_normal((4, 4)))
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(LA.matrix_exp(fwAD.make_dual(a, t))).tangent.numpy()
    want = pe.autograd.functional.jvp(LA.matrix_exp, (a,), (t,))[1].numpy()
    np.testing.assert_allclose(tangent, want, rtol=1e-10, atol=1e-10)
