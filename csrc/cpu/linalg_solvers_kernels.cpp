// CPU kernels of the matrix factorizations (ops/linalg_solvers.h). Each batch element is loaded
// into a double working buffer, factorized by a textbook algorithm, and stored back in the
// tensor's dtype, so float32 inputs get double accuracy for free. Batch elements run in parallel.
//
//   LU, solve, Cholesky: math/linalg_math.h (shared with the CUDA kernels).
//   QR        Householder reflections (LAPACK's sign convention: R's diagonal may be negative);
//             Q formed by applying the reflectors to the identity's first columns.
//   eigh      Householder tridiagonalization and the implicit QL iteration (EISPACK tred2/tql2).
//   SVD       one-sided (Hestenes) Jacobi on the columns; a tall matrix is first reduced to its
//             square R factor by QR (U = Q U_R through the GEMM), a wide one is transposed.
// These are straightforward O(n^3) loops (no blocking beyond the GEMM that forms U): fast
// enough for matrices of a few hundred rows, not a LAPACK replacement.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm.h"
#include "math/linalg_math.h"
#include "ops/linalg_solvers.h"
#include "math/glibc_symbols.h"  // std::hypot at glibc 2.2.5's version

namespace pe::cpu::PE_ISA_NS {
namespace {

using Mat = std::vector<double>;  // row-major working matrix
constexpr double kEps = std::numeric_limits<double>::epsilon();

template <class T>
void load(const void* src, int64_t offset, int64_t count, double* dst) {
  const T* s = static_cast<const T*>(src) + offset;
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<double>(s[i]);
}

template <class T>
void store(const double* src, int64_t count, void* dst, int64_t offset) {
  T* d = static_cast<T*>(dst) + offset;
  for (int64_t i = 0; i < count; ++i) d[i] = static_cast<T>(src[i]);
}

// Calls body(T{}) with T the C++ type of `dtype` (the op layer admits float32 and float64 only).
template <class F>
void with_type(DType dtype, F&& body) {
  if (dtype == DType::Float32)
    body(float{});
  else
    body(double{});
}

double dot(const double* x, const double* y, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

// ---------------------------------------------------------------- LU, Cholesky (math/linalg_math.h)
void lu_factor(const ops::LuArgs& a) {
  const int64_t n = a.n, nn = n * n;
  with_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(a.batch, std::max<int64_t>(nn * n, 1), [&](int64_t begin, int64_t end) {
      Mat w(nn);
      for (int64_t b = begin; b < end; ++b) {
        load<T>(a.lu, b * nn, nn, w.data());
        a.info[b] = linalg_math::lu_factor(w.data(), n, a.pivots + b * n);
        store<T>(w.data(), nn, a.lu, b * nn);
      }
    });
  });
}

void lu_solve(const ops::LuSolveArgs& a) {
  const int64_t n = a.n, nn = n * n, nr = n * a.nrhs;
  with_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(a.batch, std::max<int64_t>(nn * a.nrhs, 1), [&](int64_t begin, int64_t end) {
      Mat lu(nn), x(nr);
      for (int64_t b = begin; b < end; ++b) {
        load<T>(a.lu, b * nn, nn, lu.data());
        load<T>(a.b, b * nr, nr, x.data());
        linalg_math::lu_solve(lu.data(), a.pivots + b * n, x.data(), n, a.nrhs);
        store<T>(x.data(), nr, a.b, b * nr);
      }
    });
  });
}

void cholesky(const ops::CholeskyArgs& a) {
  const int64_t n = a.n, nn = n * n;
  with_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(a.batch, std::max<int64_t>(nn * n, 1), [&](int64_t begin, int64_t end) {
      Mat w(nn);
      for (int64_t b = begin; b < end; ++b) {
        load<T>(a.a, b * nn, nn, w.data());
        a.info[b] = linalg_math::cholesky(w.data(), n);
        store<T>(w.data(), nn, a.a, b * nn);
      }
    });
  });
}

// ---------------------------------------------------------------- QR
// Householder QR of w (m x n, row-major) in place: w becomes R (zeros below the diagonal);
// reflector j is H_j = I - tau[j] v_j v_j^T with v_j (length m - j, v_j[0] = 1) in vs[j].
struct Reflectors {
  int64_t m = 0;
  std::vector<double> tau;
  std::vector<Mat> vs;
};

// x (rows j.., columns c0..c1 of a row-major matrix with `ld` columns) = H x.
void apply_reflector(const Reflectors& h, int64_t j, double* x, int64_t ld, int64_t c0, int64_t c1,
                     std::vector<double>& s) {
  const double tau = h.tau[j];
  if (tau == 0.0 || c1 <= c0) return;
  const Mat& v = h.vs[j];
  const int64_t len = h.m - j;
  s.assign(c1 - c0, 0.0);
  for (int64_t i = 0; i < len; ++i) {
    const double* row = x + (j + i) * ld + c0;
    const double vi = v[i];
    for (int64_t c = 0; c < c1 - c0; ++c) s[c] += vi * row[c];
  }
  for (int64_t i = 0; i < len; ++i) {
    double* row = x + (j + i) * ld + c0;
    const double f = tau * v[i];
    for (int64_t c = 0; c < c1 - c0; ++c) row[c] -= f * s[c];
  }
}

Reflectors householder_qr(double* w, int64_t m, int64_t n) {
  const int64_t k = std::min(m, n);
  Reflectors h;
  h.m = m;
  h.tau.assign(k, 0.0);
  h.vs.resize(k);
  std::vector<double> s;
  for (int64_t j = 0; j < k; ++j) {
    const double alpha = w[j * n + j];
    double xnorm2 = 0;
    for (int64_t i = j + 1; i < m; ++i) xnorm2 += w[i * n + j] * w[i * n + j];
    Mat& v = h.vs[j];
    v.assign(m - j, 0.0);
    v[0] = 1.0;
    if (xnorm2 == 0.0) continue;  // already upper triangular in this column: H = I
    const double beta = -std::copysign(std::sqrt(alpha * alpha + xnorm2), alpha);
    h.tau[j] = (beta - alpha) / beta;
    const double scale = 1.0 / (alpha - beta);
    for (int64_t i = j + 1; i < m; ++i) {
      v[i - j] = w[i * n + j] * scale;
      w[i * n + j] = 0.0;
    }
    w[j * n + j] = beta;
    apply_reflector(h, j, w, n, j + 1, n, s);
  }
  return h;
}

// The first `cols` columns of Q = H_0 H_1 ... H_{k-1} (an m x cols row-major matrix).
Mat form_q(const Reflectors& h, int64_t cols) {
  const int64_t m = h.m;
  Mat q(m * cols, 0.0);
  for (int64_t i = 0; i < std::min(m, cols); ++i) q[i * cols + i] = 1.0;
  std::vector<double> s;
  for (int64_t j = static_cast<int64_t>(h.tau.size()) - 1; j >= 0; --j) apply_reflector(h, j, q.data(), cols, 0, cols, s);
  return q;
}

void qr(const ops::QrArgs& a) {
  const int64_t m = a.m, n = a.n, mn = m * n;
  with_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(a.batch, std::max<int64_t>(mn * std::min(m, n), 1), [&](int64_t begin, int64_t end) {
      Mat w(mn);
      for (int64_t b = begin; b < end; ++b) {
        load<T>(a.a, b * mn, mn, w.data());
        const Reflectors h = householder_qr(w.data(), m, n);
        // R: the first r_rows rows of w (rows past min(m, n) are zero already).
        store<T>(w.data(), a.r_rows * n, a.r, b * a.r_rows * n);
        if (a.q != nullptr) {
          const Mat q = form_q(h, a.q_cols);
          store<T>(q.data(), m * a.q_cols, a.q, b * m * a.q_cols);
        }
      }
    });
  });
}

// ---------------------------------------------------------------- symmetric eigendecomposition
// Householder reduction to tridiagonal form, then the implicit QL iteration with Wilkinson
// shifts (EISPACK's tred2 / tql2, as in JAMA). v: in, the symmetric matrix (row-major, n x n);
// out, the reduction's orthogonal factor, its columns stored as rows. d, e: the tridiagonal's
// diagonal and off-diagonal; after tridiagonal_ql, d holds the eigenvalues (unsorted).
void tridiagonalize(double* v, int64_t n, double* d, double* e) {
  // V(i, j) is stored at v[j * n + i] (column-major, as the Algol/Fortran original runs its
  // inner loops down columns): a symmetric input reads the same, every inner loop is contiguous,
  // and on return row j of the buffer holds eigenvector j, the layout tridiagonal_ql rotates.
  auto V = [&](int64_t i, int64_t j) -> double& { return v[j * n + i]; };
  for (int64_t j = 0; j < n; ++j) d[j] = V(n - 1, j);
  for (int64_t i = n - 1; i > 0; --i) {
    double scale = 0.0, h = 0.0;
    for (int64_t k = 0; k < i; ++k) scale += std::fabs(d[k]);
    if (scale == 0.0) {
      e[i] = d[i - 1];
      for (int64_t j = 0; j < i; ++j) {
        d[j] = V(i - 1, j);
        V(i, j) = 0.0;
        V(j, i) = 0.0;
      }
    } else {
      for (int64_t k = 0; k < i; ++k) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1];
      double g = std::sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (int64_t j = 0; j < i; ++j) e[j] = 0.0;
      for (int64_t j = 0; j < i; ++j) {
        f = d[j];
        V(j, i) = f;
        g = e[j] + V(j, j) * f;
        for (int64_t k = j + 1; k <= i - 1; ++k) {
          g += V(k, j) * d[k];
          e[k] += V(k, j) * f;
        }
        e[j] = g;
      }
      f = 0.0;
      for (int64_t j = 0; j < i; ++j) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const double hh = f / (h + h);
      for (int64_t j = 0; j < i; ++j) e[j] -= hh * d[j];
      for (int64_t j = 0; j < i; ++j) {
        f = d[j];
        g = e[j];
        for (int64_t k = j; k <= i - 1; ++k) V(k, j) -= (f * e[k] + g * d[k]);
        d[j] = V(i - 1, j);
        V(i, j) = 0.0;
      }
    }
    d[i] = h;
  }
  for (int64_t i = 0; i < n - 1; ++i) {  // accumulate the transformations
    V(n - 1, i) = V(i, i);
    V(i, i) = 1.0;
    const double h = d[i + 1];
    if (h != 0.0) {
      for (int64_t k = 0; k <= i; ++k) d[k] = V(k, i + 1) / h;
      for (int64_t j = 0; j <= i; ++j) {
        double g = 0.0;
        for (int64_t k = 0; k <= i; ++k) g += V(k, i + 1) * V(k, j);
        for (int64_t k = 0; k <= i; ++k) V(k, j) -= g * d[k];
      }
    }
    for (int64_t k = 0; k <= i; ++k) V(k, i + 1) = 0.0;
  }
  for (int64_t j = 0; j < n; ++j) {
    d[j] = V(n - 1, j);
    V(n - 1, j) = 0.0;
  }
  V(n - 1, n - 1) = 1.0;
  e[0] = 0.0;
}

// vt: the eigenvectors as ROWS (the transpose of tridiagonalize's v), so each rotation runs
// along two contiguous rows.
void tridiagonal_ql(double* vt, int64_t n, double* d, double* e) {
  for (int64_t i = 1; i < n; ++i) e[i - 1] = e[i];
  e[n - 1] = 0.0;
  double f = 0.0, tst1 = 0.0;
  for (int64_t l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::fabs(d[l]) + std::fabs(e[l]));
    int64_t m = l;
    while (m < n - 1 && !(std::fabs(e[m]) <= kEps * tst1)) ++m;  // e[n-1] == 0 ends the search
    if (m > l) {
      for (int iter = 0; iter < 100; ++iter) {
        double g = d[l];
        double p = (d[l + 1] - g) / (2.0 * e[l]);
        double r = std::hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (int64_t i = l + 2; i < n; ++i) d[i] -= h;
        f += h;
        p = d[m];
        double c = 1.0, c2 = 1.0, c3 = 1.0, s = 0.0, s2 = 0.0;
        const double el1 = e[l + 1];
        for (int64_t i = m - 1; i >= l; --i) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = std::hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          double* row_i = vt + i * n;
          double* row_next = vt + (i + 1) * n;
          for (int64_t k = 0; k < n; ++k) {
            const double x = row_i[k], y = row_next[k];
            row_next[k] = s * x + c * y;
            row_i[k] = c * x - s * y;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(std::fabs(e[l]) > kEps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0.0;
  }
}

void eigh(const ops::EighArgs& a) {
  const int64_t n = a.n, nn = n * n;
  with_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(a.batch, std::max<int64_t>(nn * n * 4, 1), [&](int64_t begin, int64_t end) {
      Mat v(nn), vs(nn), d(n), e(n), vals(n);
      std::vector<int64_t> order(n);
      for (int64_t b = begin; b < end; ++b) {
        load<T>(a.a, b * nn, nn, v.data());
        for (int64_t i = 0; i < n; ++i)  // symmetric from the named triangle
          for (int64_t j = i + 1; j < n; ++j) {
            const double x = a.upper ? v[i * n + j] : v[j * n + i];
            v[i * n + j] = v[j * n + i] = x;
          }
        if (n > 0) {
          tridiagonalize(v.data(), n, d.data(), e.data());  // v now holds vectors as rows
          tridiagonal_ql(v.data(), n, d.data(), e.data());
        }
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return d[x] < d[y]; });
        for (int64_t c = 0; c < n; ++c) {
          vals[c] = d[order[c]];
          for (int64_t r = 0; r < n; ++r) vs[r * n + c] = v[order[c] * n + r];
        }
        store<T>(vals.data(), n, a.w, b * n);
        if (a.v != nullptr) store<T>(vs.data(), nn, a.v, b * nn);
      }
    });
  });
}

// ---------------------------------------------------------------- SVD
// Rows [have, total) of `rows` (row-major, `len` columns) made orthonormal to every row before
// them: Gram-Schmidt (twice) on the standard basis vectors, taking the first that keeps a good
// part of its length (or the best one).
void complete_orthonormal_rows(double* rows, int64_t len, int64_t have, int64_t total) {
  Mat cand(len), best(len);
  for (int64_t r = have; r < total; ++r) {
    double best_norm = -1;
    for (int64_t e = 0; e < len; ++e) {
      std::fill(cand.begin(), cand.end(), 0.0);
      cand[e] = 1.0;
      for (int pass = 0; pass < 2; ++pass)
        for (int64_t i = 0; i < r; ++i) {
          const double* ri = rows + i * len;
          const double d = dot(ri, cand.data(), len);
          for (int64_t c = 0; c < len; ++c) cand[c] -= d * ri[c];
        }
      const double norm = std::sqrt(dot(cand.data(), cand.data(), len));
      if (norm > best_norm) best_norm = norm, best = cand;
      if (norm > 0.5) break;
    }
    for (int64_t c = 0; c < len; ++c) rows[r * len + c] = best[c] / best_norm;
  }
}

// One-sided Jacobi on the columns of C (given as the rows of ct: n rows of length m): rotate
// pairs of columns until every pair is orthogonal to working precision; vt (n x n) collects
// the rotations as rows (= the columns of V).
void one_sided_jacobi(double* ct, int64_t n, int64_t m, double* vt) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) vt[i * n + j] = i == j ? 1.0 : 0.0;
  std::vector<double> norm2(n);  // squared column norms, recomputed each sweep, updated per rotation
  for (int sweep = 0; sweep < 80; ++sweep) {
    for (int64_t j = 0; j < n; ++j) norm2[j] = dot(ct + j * m, ct + j * m, m);
    bool rotated = false;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double* wp = ct + p * m;
        double* wq = ct + q * m;
        const double alpha = norm2[p], beta = norm2[q], gamma = dot(wp, wq, m);
        if (gamma == 0.0 || std::fabs(gamma) <= kEps * std::sqrt(alpha * beta)) continue;
        if (!std::isfinite(gamma)) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2.0 * gamma);
        const double t = std::fabs(zeta) > 1e150 ? 0.5 / zeta
                                                  : std::copysign(1.0, zeta) / (std::fabs(zeta) + std::sqrt(1.0 + zeta * zeta));
        const double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
        for (int64_t i = 0; i < m; ++i) {
          const double x = wp[i], y = wq[i];
          wp[i] = c * x - s * y;
          wq[i] = s * x + c * y;
        }
        norm2[p] = std::max(alpha - t * gamma, 0.0);  // the rotation moves t * gamma between the two
        norm2[q] = beta + t * gamma;
        double* vp = vt + p * n;
        double* vq = vt + q * n;
        for (int64_t i = 0; i < n; ++i) {
          const double x = vp[i], y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    if (!rotated) break;
  }
}

// SVD of a tall or square B (m x n, m >= n, row-major). Returns U as rows of U^T (u_rows x m:
// n rows, or m when full), s (n, descending) and V^T (n x n).
void svd_tall(const double* bmat, int64_t m, int64_t n, bool full, Mat& ut, Mat& s, Mat& vt) {
  const int64_t u_rows = full ? m : n;
  ut.assign(u_rows * m, 0.0);
  s.assign(n, 0.0);
  vt.assign(n * n, 0.0);
  Mat w(bmat, bmat + m * n);
  Reflectors h;
  int64_t rows = m;  // the rows of the matrix Jacobi works on
  if (m > n) {       // B = Q R: Jacobi on the n x n R only
    h = householder_qr(w.data(), m, n);
    rows = n;
  }
  Mat ct(n * rows);  // columns of the working matrix, as rows
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) ct[j * rows + i] = w[i * n + j];
  Mat vrot(n * n);
  one_sided_jacobi(ct.data(), n, rows, vrot.data());
  std::vector<double> norms(n);
  for (int64_t j = 0; j < n; ++j) norms[j] = std::sqrt(dot(&ct[j * rows], &ct[j * rows], rows));
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return norms[x] > norms[y]; });
  // U_C^T rows: normalised columns; exactly-zero columns are completed below.
  Mat uct(n * rows, 0.0);
  int64_t nonzero = 0;
  for (int64_t c = 0; c < n; ++c) {
    const int64_t j = order[c];
    s[c] = norms[j];
    std::copy(&vrot[j * n], &vrot[j * n] + n, &vt[c * n]);
    if (norms[j] > 0.0 && std::isfinite(norms[j])) {
      for (int64_t i = 0; i < rows; ++i) uct[c * rows + i] = ct[j * rows + i] / norms[j];
      nonzero = c + 1;
    }
  }
  complete_orthonormal_rows(uct.data(), rows, nonzero, n);
  if (m == n) {
    std::copy(uct.begin(), uct.end(), ut.begin());
    return;
  }
  // U = Q U_R: U^T (n x m) = U_R^T (n x n) Q^T, with Q the first n (or all m) columns.
  const Mat q = form_q(h, full ? m : n);  // m x qc
  const int64_t qc = full ? m : n;
  cpu::gemm<double>(n, m, n, 1.0, uct.data(), n, 1, q.data(), 1, qc, 0.0, ut.data(), m, 1);
  if (full)  // Q's columns past n span the rest
    for (int64_t r = n; r < m; ++r)
      for (int64_t i = 0; i < m; ++i) ut[r * m + i] = q[i * qc + r];
}

void svd(const ops::SvdArgs& a) {
  const int64_t m = a.m, n = a.n, k = std::min(m, n), mn = m * n;
  const bool full = a.full_matrices;
  const int64_t u_cols = full ? m : k, v_rows = full ? n : k;
  with_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(a.batch, std::max<int64_t>(mn * k * 16, 1), [&](int64_t begin, int64_t end) {
      Mat x(mn), bt, ut, s, vt, u_out(m * u_cols), vh_out(v_rows * n);
      for (int64_t b = begin; b < end; ++b) {
        load<T>(a.a, b * mn, mn, x.data());
        if (m >= n) {  // A = U S V^T
          svd_tall(x.data(), m, n, full, ut, s, vt);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t c = 0; c < u_cols; ++c) u_out[i * u_cols + c] = ut[c * m + i];
          std::copy(vt.begin(), vt.begin() + v_rows * n, vh_out.begin());
        } else {  // A^T = U' S V'^T, so U = V' and V^T = U'^T
          bt.assign(mn, 0.0);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) bt[j * m + i] = x[i * n + j];
          svd_tall(bt.data(), n, m, full, ut, s, vt);
          for (int64_t i = 0; i < m; ++i)  // U[i][c] = V'[i][c] = vt[c][i]
            for (int64_t c = 0; c < u_cols; ++c) u_out[i * u_cols + c] = vt[c * m + i];
          std::copy(ut.begin(), ut.begin() + v_rows * n, vh_out.begin());
        }
        store<T>(s.data(), k, a.s, b * k);
        if (a.u != nullptr) {
          store<T>(u_out.data(), m * u_cols, a.u, b * m * u_cols);
          store<T>(vh_out.data(), v_rows * n, a.vh, b * v_rows * n);
        }
      }
    });
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::lu_factor_kernel, lu_factor);
PE_REGISTER_CPU_KERNEL(ops::lu_solve_kernel, lu_solve);
PE_REGISTER_CPU_KERNEL(ops::cholesky_kernel, cholesky);
PE_REGISTER_CPU_KERNEL(ops::qr_kernel, qr);
PE_REGISTER_CPU_KERNEL(ops::eigh_kernel, eigh);
PE_REGISTER_CPU_KERNEL(ops::svd_kernel, svd);

}  // namespace pe::cpu::PE_ISA_NS
