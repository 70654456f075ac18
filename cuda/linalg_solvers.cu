// The matrix factorizations (ops/linalg_solvers.h) for CUDA tensors, host-staged: each launcher
// copies the batch to host memory, runs the CPU kernel of the same slot (csrc/cpu/
// linalg_solvers_kernels.cpp: pivoted LU, Cholesky, Householder QR, Jacobi eigh/SVD) and copies
// the results back - MAGMA's hybrid scheme for small and medium matrices, where these sequential
// factorizations gain little from the GPU. The math lives in one place; the copies are
// synchronous (cudaMemcpy), so results are ready when the launcher returns, like every launcher.
#include <cstdint>
#include <vector>

#include "core/allocator.h"
#include "core/dtype.h"
#include "cuda/cuda_emu.h"
#include "ops/linalg_solvers.h"

namespace pe::cuda {
namespace {

// A host copy of one device array, written back on request.
class Staged {
 public:
  Staged(const void* device_ptr, int64_t nbytes, bool read)
      : device_(const_cast<void*>(device_ptr)), host_(static_cast<size_t>(nbytes > 0 ? nbytes : 0)) {
    if (read && nbytes > 0) cuda_hooks().copy_to_host(host_.data(), device_, host_.size(), current_cuda_device());
  }
  void* get() { return device_ == nullptr ? nullptr : host_.data(); }
  void write_back() {
    if (device_ != nullptr && !host_.empty())
      cuda_hooks().copy_to_device(device_, host_.data(), host_.size(), current_cuda_device());
  }

 private:
  void* device_;
  std::vector<unsigned char> host_;
};

int64_t bytes(DType dtype, int64_t count) { return count * static_cast<int64_t>(itemsize(dtype)); }

void lu_factor(const ops::LuArgs& a) {
  Staged lu(a.lu, bytes(a.dtype, a.batch * a.n * a.n), true);
  Staged piv(a.pivots, a.batch * a.n * 8, false), info(a.info, a.batch * 8, false);
  ops::LuArgs h = a;
  h.lu = lu.get();
  h.pivots = static_cast<int64_t*>(piv.get());
  h.info = static_cast<int64_t*>(info.get());
  ops::lu_factor_kernel(Device{}, h);
  lu.write_back(), piv.write_back(), info.write_back();
}

void lu_solve(const ops::LuSolveArgs& a) {
  Staged lu(a.lu, bytes(a.dtype, a.batch * a.n * a.n), true), piv(a.pivots, a.batch * a.n * 8, true);
  Staged b(a.b, bytes(a.dtype, a.batch * a.n * a.nrhs), true);
  ops::LuSolveArgs h = a;
  h.lu = lu.get();
  h.pivots = static_cast<const int64_t*>(piv.get());
  h.b = b.get();
  ops::lu_solve_kernel(Device{}, h);
  b.write_back();
}

void cholesky(const ops::CholeskyArgs& a) {
  Staged m(a.a, bytes(a.dtype, a.batch * a.n * a.n), true), info(a.info, a.batch * 8, false);
  ops::CholeskyArgs h = a;
  h.a = m.get();
  h.info = static_cast<int64_t*>(info.get());
  ops::cholesky_kernel(Device{}, h);
  m.write_back(), info.write_back();
}

void qr(const ops::QrArgs& a) {
  Staged in(a.a, bytes(a.dtype, a.batch * a.m * a.n), true);
  Staged q(a.q, bytes(a.dtype, a.batch * a.m * a.q_cols), false), r(a.r, bytes(a.dtype, a.batch * a.r_rows * a.n), false);
  ops::QrArgs h = a;
  h.a = in.get();
  h.q = q.get();
  h.r = r.get();
  ops::qr_kernel(Device{}, h);
  q.write_back(), r.write_back();
}

void eigh(const ops::EighArgs& a) {
  Staged in(a.a, bytes(a.dtype, a.batch * a.n * a.n), true);
  Staged w(a.w, bytes(a.dtype, a.batch * a.n), false), v(a.v, bytes(a.dtype, a.batch * a.n * a.n), false);
  ops::EighArgs h = a;
  h.a = in.get();
  h.w = w.get();
  h.v = v.get();
  ops::eigh_kernel(Device{}, h);
  w.write_back(), v.write_back();
}

void svd(const ops::SvdArgs& a) {
  const int64_t k = a.m < a.n ? a.m : a.n;
  const int64_t u_cols = a.full_matrices ? a.m : k, v_rows = a.full_matrices ? a.n : k;
  Staged in(a.a, bytes(a.dtype, a.batch * a.m * a.n), true);
  Staged u(a.u, bytes(a.dtype, a.batch * a.m * u_cols), false), s(a.s, bytes(a.dtype, a.batch * k), false);
  Staged vh(a.vh, bytes(a.dtype, a.batch * v_rows * a.n), false);
  ops::SvdArgs h = a;
  h.a = in.get();
  h.u = u.get();
  h.s = s.get();
  h.vh = vh.get();
  ops::svd_kernel(Device{}, h);
  u.write_back(), s.write_back(), vh.write_back();
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::lu_factor_kernel, lu_factor);
PE_REGISTER_CUDA_KERNEL(ops::lu_solve_kernel, lu_solve);
PE_REGISTER_CUDA_KERNEL(ops::cholesky_kernel, cholesky);
PE_REGISTER_CUDA_KERNEL(ops::qr_kernel, qr);
PE_REGISTER_CUDA_KERNEL(ops::eigh_kernel, eigh);
PE_REGISTER_CUDA_KERNEL(ops::svd_kernel, svd);

}  // namespace pe::cuda
