// The matrix factorizations (ops/linalg_solvers.h) for CUDA tensors.
//  - LU, the LU solve and Cholesky run on the device, one thread per matrix of the batch, in
//    place on the op layer's working copy, with the per-matrix math of math/linalg_math.h (the
//    CPU kernels' too). Batched small systems are the GPU's case; a large single matrix gets one
//    thread (a blocked, block-per-matrix version is the next step).
//  - QR, eigh and SVD are host-staged: the launcher copies the batch to host memory, runs the CPU
//    kernel of the same slot (Householder QR, tridiagonal-QL eigh, Jacobi SVD) and copies the results back -
//    MAGMA's hybrid scheme for these sequential, rotation-heavy factorizations. The copies are
//    synchronous, so results are ready when the launcher returns, like every launcher.
#include <cstdint>
#include <vector>

#include "core/allocator.h"
#include "core/dtype.h"
#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "math/linalg_math.h"
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

template <class T>
__global__ void lu_factor_batch(T* lu, int64_t* pivots, int64_t* info, int64_t batch, int64_t n) {
  PE_GRID_STRIDE_LOOP(b, batch) { info[b] = linalg_math::lu_factor(lu + b * n * n, n, pivots + b * n); }
}

template <class T>
__global__ void lu_solve_batch(const T* lu, const int64_t* pivots, T* x, int64_t batch, int64_t n, int64_t r) {
  PE_GRID_STRIDE_LOOP(b, batch) { linalg_math::lu_solve(lu + b * n * n, pivots + b * n, x + b * n * r, n, r); }
}

template <class T>
__global__ void cholesky_batch(T* a, int64_t* info, int64_t batch, int64_t n) {
  PE_GRID_STRIDE_LOOP(b, batch) { info[b] = linalg_math::cholesky(a + b * n * n, n); }
}

// Matrices per block: small blocks, so a modest batch still spreads over the multiprocessors.
constexpr int kMatricesPerBlock = 32;

template <class F>
void for_type(DType dtype, F&& body) {
  if (dtype == DType::Float32)
    body(float{});
  else
    body(double{});
}

void lu_factor(const ops::LuArgs& a) {
  for_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    auto* kern = &lu_factor_batch<T>;
    PE_LAUNCH(kern, blocks_for(a.batch, kMatricesPerBlock), kMatricesPerBlock, 0, static_cast<T*>(a.lu), a.pivots,
              a.info, a.batch, a.n);
  });
}

void lu_solve(const ops::LuSolveArgs& a) {
  for_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    auto* kern = &lu_solve_batch<T>;
    PE_LAUNCH(kern, blocks_for(a.batch, kMatricesPerBlock), kMatricesPerBlock, 0, static_cast<const T*>(a.lu),
              a.pivots, static_cast<T*>(a.b), a.batch, a.n, a.nrhs);
  });
}

void cholesky(const ops::CholeskyArgs& a) {
  for_type(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    auto* kern = &cholesky_batch<T>;
    PE_LAUNCH(kern, blocks_for(a.batch, kMatricesPerBlock), kMatricesPerBlock, 0, static_cast<T*>(a.a), a.info,
              a.batch, a.n);
  });
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
