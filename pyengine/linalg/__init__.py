"""pyengine.linalg: torch.linalg on pyengine's own kernels (csrc/ops/linalg_solvers.h: LU with
partial pivoting, Cholesky, Householder QR, tridiagonal-QL eigh, one-sided Jacobi SVD; matrix_exp by
scaling and squaring over matmul and solve), with gradients
written as pyengine ops (so double backward works). On CUDA tensors
the CUDA launchers (cuda/linalg_solvers.cu) stage the data through host memory and run the
same CPU kernels."""
from ._decompositions import (EighResult, QRResult, SVDResult, cholesky, cholesky_ex, eigh, eigvalsh, qr, svd,
                              svdvals)
from ._extras import (LUFactorResult, cond, diagonal, lu_factor, lu_solve, matrix_power, multi_dot,
                      solve_triangular, vecdot)
from ._matrix_exp import matrix_exp
from ._norms import cross, matrix_norm, norm, vector_norm
from ._solvers import (LstsqResult, SlogdetResult, det, inv, inv_ex, logdet, lstsq, matrix_rank, pinv, pinverse,
                       slogdet, solve)
from ._util import LinAlgError
from ..ops.linalg import matmul

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "inv_ex", "lstsq", "lu_factor", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd", "svdvals", "vecdot",
           "vector_norm"]
