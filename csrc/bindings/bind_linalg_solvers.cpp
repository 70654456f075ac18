// Matrix factorizations (ops/linalg_solvers.h): the raw kernels pyengine.linalg builds on.
#include "bindings/bind.h"
#include "ops/linalg_solvers.h"

namespace pe::bind {

void bind_linalg_solvers(py::module_& m) {
  m.def("linalg_lu_factor", &ops::linalg_lu_factor, py::arg("A"), release_gil(),
        "(LU, pivots (0-based int64), info): A = P L U with partial pivoting, batched");
  m.def("linalg_lu_solve", &ops::linalg_lu_solve, py::arg("LU"), py::arg("pivots"), py::arg("B"), release_gil(),
        "X with A X = B from linalg_lu_factor's LU and pivots (same batch dims)");
  m.def("linalg_cholesky", &ops::linalg_cholesky, py::arg("A"), release_gil(),
        "(L, info): the lower Cholesky factor from A's lower triangle; info k+1 when minor k+1 is not PD");
  m.def("linalg_qr", &ops::linalg_qr, py::arg("A"), py::arg("mode") = "reduced", release_gil(),
        "(Q, R) by Householder reflections; mode 'reduced', 'complete' or 'r' (Q empty)");
  m.def("linalg_eigh", &ops::linalg_eigh, py::arg("A"), py::arg("UPLO") = "L", py::arg("compute_v") = true,
        release_gil(), "(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix (tridiagonal QL)");
  m.def("linalg_svd", &ops::linalg_svd, py::arg("A"), py::arg("full_matrices") = true,
        py::arg("compute_uv") = true, release_gil(), "(U, S descending, Vh) by one-sided Jacobi");
}

}  // namespace pe::bind
