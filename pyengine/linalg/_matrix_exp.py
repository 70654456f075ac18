"""linalg.matrix_exp: the exponential of square matrices by scaling and squaring with the [13/13]
Pade approximant (Higham, "The scaling and squaring method for the matrix exponential
revisited", 2005). Written with matmul and solve, so gradients (and gradients of gradients) come
from theirs."""
import math

from ._solvers import solve
from ._util import check_square, eye_like

# Pade [13/13] coefficients b_0 .. b_13, and the largest 1-norm for which the approximant is
# accurate to double precision without scaling (Higham's theta_13).
_B = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
      10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA_13 = 5.371920351148152


def matrix_exp(A):
    """exp(A) = I + A + A^2/2! + ... for square A (batched), float32 or float64, differentiable.

    Every matrix of a batch is scaled by the same power of two (the one its largest 1-norm
    needs), then squared back."""
    check_square("linalg.matrix_exp", A)
    if A.numel() == 0:
        return A.clone()
    norm1 = float(A.detach().abs().sum(-2).amax().item())  # the largest column sum over the batch
    if not math.isfinite(norm1):
        s = 0  # NaN/inf in: NaN out, without a pointless scaling loop
    else:
        s = max(0, math.ceil(math.log2(norm1 / _THETA_13))) if norm1 > _THETA_13 else 0
    X = A / (2.0 ** s) if s else A
    eye = eye_like(X)
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    b = _B
    U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    R = solve(V - U, V + U)
    for _ in range(s):
        R = R @ R
    return R
