#include "ops/linalg_solvers.h"

#include <algorithm>

#include "ops/copy.h"

namespace pe::ops {

namespace {

// A floating-point input with at least two dims (a batch of matrices), named in the error.
void check_matrix(const char* op, const Tensor& t, const char* name) {
  PE_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, TypeError, op, ": expected ", name,
           " to be a float32 or float64 tensor, but got ", dtype_name(t.dtype()));
  PE_CHECK(t.ndim() >= 2, RuntimeError, op, ": The input tensor ", name,
           " must have at least 2 dimensions, but got a tensor of shape ", shape_str(t.shape()));
}

void check_square(const char* op, const Tensor& t, const char* name) {
  check_matrix(op, t, name);
  PE_CHECK(t.size(-1) == t.size(-2), RuntimeError, op, ": A must be batches of square matrices, but ", name,
           " has shape ", shape_str(t.shape()));
}

Shape batch_shape(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

Shape with(Shape s, std::initializer_list<int64_t> tail) {
  s.insert(s.end(), tail);
  return s;
}

// A fresh contiguous copy the kernel may overwrite (the input is never modified).
Tensor working_copy(const Tensor& t) { return clone(t); }

}  // namespace

std::tuple<Tensor, Tensor, Tensor> linalg_lu_factor(const Tensor& a) {
  check_square("linalg.lu_factor", a, "A");
  const Shape batch = batch_shape(a);
  const int64_t n = a.size(-1);
  Tensor lu = working_copy(a);
  Tensor pivots = Tensor::empty(with(batch, {n}), DType::Int64, a.device());
  Tensor info = Tensor::empty(batch, DType::Int64, a.device());
  LuArgs args;
  args.dtype = a.dtype();
  args.batch = shape_numel(batch);
  args.n = n;
  args.lu = lu.raw_data();
  args.pivots = pivots.data<int64_t>();
  args.info = info.data<int64_t>();
  if (args.batch > 0) lu_factor_kernel(a.device(), args);
  return {lu, pivots, info};
}

Tensor linalg_lu_solve(const Tensor& lu, const Tensor& pivots, const Tensor& b) {
  const char* op = "linalg.lu_solve";
  check_square(op, lu, "LU");
  check_matrix(op, b, "B");
  PE_CHECK(b.dtype() == lu.dtype(), TypeError, op, ": expected B to have the dtype of LU (", dtype_name(lu.dtype()),
           "), but got ", dtype_name(b.dtype()));
  PE_CHECK(pivots.dtype() == DType::Int64, TypeError, op, ": expected pivots to be int64, but got ",
           dtype_name(pivots.dtype()));
  check_same_device(op, lu, "LU", b, "B");
  check_same_device(op, lu, "LU", pivots, "pivots");
  const Shape batch = batch_shape(lu);
  const int64_t n = lu.size(-1);
  PE_CHECK(batch_shape(b) == batch && b.size(-2) == n, RuntimeError, op, ": expected B of shape ",
           shape_str(with(batch, {n})), "[..., k] to match LU ", shape_str(lu.shape()), ", but got ",
           shape_str(b.shape()));
  PE_CHECK(pivots.shape() == with(batch, {n}), RuntimeError, op, ": expected pivots of shape ",
           shape_str(with(batch, {n})), ", but got ", shape_str(pivots.shape()));
  Tensor lu_c = contiguous(lu), piv_c = contiguous(pivots);
  Tensor x = working_copy(b);
  LuSolveArgs args;
  args.dtype = lu.dtype();
  args.batch = shape_numel(batch);
  args.n = n;
  args.nrhs = b.size(-1);
  args.lu = lu_c.raw_data();
  args.pivots = piv_c.data<int64_t>();
  args.b = x.raw_data();
  if (args.batch > 0 && n > 0 && args.nrhs > 0) lu_solve_kernel(lu.device(), args);
  return x;
}

std::tuple<Tensor, Tensor> linalg_cholesky(const Tensor& a) {
  check_square("linalg.cholesky", a, "A");
  const Shape batch = batch_shape(a);
  Tensor l = working_copy(a);
  Tensor info = Tensor::empty(batch, DType::Int64, a.device());
  CholeskyArgs args;
  args.dtype = a.dtype();
  args.batch = shape_numel(batch);
  args.n = a.size(-1);
  args.a = l.raw_data();
  args.info = info.data<int64_t>();
  if (args.batch > 0) cholesky_kernel(a.device(), args);
  return {l, info};
}

std::tuple<Tensor, Tensor> linalg_qr(const Tensor& a, const std::string& mode) {
  const char* op = "linalg.qr";
  check_matrix(op, a, "A");
  PE_CHECK(mode == "reduced" || mode == "complete" || mode == "r", ValueError, op,
           ": qr received unrecognized mode '", mode, "' but expected one of 'reduced' (default), 'r', or 'complete'");
  const Shape batch = batch_shape(a);
  const int64_t m = a.size(-2), n = a.size(-1), k = std::min(m, n);
  const int64_t q_cols = mode == "complete" ? m : k;
  const int64_t r_rows = mode == "complete" ? m : k;
  Tensor a_c = contiguous(a);
  Tensor q = mode == "r" ? Tensor::empty({0}, a.dtype(), a.device())
                         : Tensor::empty(with(batch, {m, q_cols}), a.dtype(), a.device());
  Tensor r = Tensor::empty(with(batch, {r_rows, n}), a.dtype(), a.device());
  QrArgs args;
  args.dtype = a.dtype();
  args.batch = shape_numel(batch);
  args.m = m;
  args.n = n;
  args.a = a_c.raw_data();
  args.q = mode == "r" ? nullptr : q.raw_data();
  args.q_cols = q_cols;
  args.r = r.raw_data();
  args.r_rows = r_rows;
  if (args.batch > 0) qr_kernel(a.device(), args);
  return {q, r};
}

std::tuple<Tensor, Tensor> linalg_eigh(const Tensor& a, const std::string& uplo, bool compute_v) {
  const char* op = compute_v ? "linalg.eigh" : "linalg.eigvalsh";
  check_square(op, a, "A");
  PE_CHECK(uplo == "L" || uplo == "U" || uplo == "l" || uplo == "u", RuntimeError, op,
           ": Expected UPLO argument to be 'L' or 'U', but got ", uplo);
  const Shape batch = batch_shape(a);
  const int64_t n = a.size(-1);
  Tensor a_c = contiguous(a);
  Tensor w = Tensor::empty(with(batch, {n}), a.dtype(), a.device());
  Tensor v = compute_v ? Tensor::empty(a.shape(), a.dtype(), a.device()) : Tensor::empty({0}, a.dtype(), a.device());
  EighArgs args;
  args.dtype = a.dtype();
  args.batch = shape_numel(batch);
  args.n = n;
  args.upper = uplo == "U" || uplo == "u";
  args.a = a_c.raw_data();
  args.w = w.raw_data();
  args.v = compute_v ? v.raw_data() : nullptr;
  if (args.batch > 0) eigh_kernel(a.device(), args);
  return {w, v};
}

std::tuple<Tensor, Tensor, Tensor> linalg_svd(const Tensor& a, bool full_matrices, bool compute_uv) {
  check_matrix(compute_uv ? "linalg.svd" : "linalg.svdvals", a, "A");
  const Shape batch = batch_shape(a);
  const int64_t m = a.size(-2), n = a.size(-1), k = std::min(m, n);
  const bool full = compute_uv && full_matrices;
  Tensor a_c = contiguous(a);
  auto empty0 = [&] { return Tensor::empty({0}, a.dtype(), a.device()); };
  Tensor u = compute_uv ? Tensor::empty(with(batch, {m, full ? m : k}), a.dtype(), a.device()) : empty0();
  Tensor s = Tensor::empty(with(batch, {k}), a.dtype(), a.device());
  Tensor vh = compute_uv ? Tensor::empty(with(batch, {full ? n : k, n}), a.dtype(), a.device()) : empty0();
  SvdArgs args;
  args.dtype = a.dtype();
  args.batch = shape_numel(batch);
  args.m = m;
  args.n = n;
  args.full_matrices = full;
  args.a = a_c.raw_data();
  args.u = compute_uv ? u.raw_data() : nullptr;
  args.s = s.raw_data();
  args.vh = compute_uv ? vh.raw_data() : nullptr;
  if (args.batch > 0) svd_kernel(a.device(), args);
  return {u, s, vh};
}

}  // namespace pe::ops
