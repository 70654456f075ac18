"""pyengine.linalg: torch.linalg on pyengine's own kernels (csrc/ops/linalg_solvers.h: LU with
partial pivoting, Cholesky, Householder QR, Jacobi eigh, one-sided Jacobi SVD), with gradients
written as pyengine ops (so double backward works). On CUDA tensors
the CUDA launchers (cuda/linalg_solvers.cu) stage the data through host memory and run the
same CPU kernels."""
from ._decompositions import (EighResult, QRResult, SVDResult, cholesky, cholesky_ex, eigh, eigvalsh, qr, svd,
                              svdvals)
from ._norms import cross, matrix_norm, norm, vector_norm
from ._solvers import (LstsqResult, SlogdetResult, det, inv, inv_ex, logdet, lstsq, matrix_rank, pinv, pinverse,
                       slogdet, solve)
from ._util import LinAlgError
from ..ops.linalg import matmul

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "eigh", "eigvalsh", "inv", "inv_ex", "lstsq",
           "matmul", "matrix_norm", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
           "vector_norm"]
