// Batched, strided GEMM: C = alpha * A @ B + beta * C, float32 and float64.
//
// Classic shared-memory tiling: a block of 16x16 threads owns a 32x32 tile of C, each
// thread a 2x2 register block. The K dimension is walked in steps of 16: the block stages a
// 32x16 slice of A and a 16x32 slice of B in shared memory (out-of-range entries read as 0,
// so any m, n, k works), then every thread runs its 2x2 outer products from there.
// Strided operands are read in place (a transposed view costs no copy).
#include "cuda/cuda_emu.h"
#include "cuda/launchers.h"
#include "cuda/strided.h"

namespace pe::cuda {
namespace {

constexpr int kTileM = 32, kTileN = 32, kTileK = 16;
constexpr int kBlockX = 16, kBlockY = 16;  // threads; each computes (kTileM/kBlockY) x (kTileN/kBlockX)
constexpr int kRows = kTileM / kBlockY, kCols = kTileN / kBlockX;

template <class T>
struct GemmArgs {
  int64_t m, n, k;
  T alpha, beta;
  const T* a;
  const T* b;
  T* c;
  int64_t a_row, a_col, b_row, b_col, c_row, c_col;  // element strides
  Strided<3> batch;                                  // batch offsets of a, b, c
};

template <class T>
__global__ void __launch_bounds__(kBlockX* kBlockY) gemm_kernel(GemmArgs<T> p) {
  __shared__ T a_tile[kTileK][kTileM + 1];  // k-major, padded against bank conflicts
  __shared__ T b_tile[kTileK][kTileN];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kBlockX + tx;
  const int64_t tiles_m = (p.m + kTileM - 1) / kTileM;

  for (int64_t z = blockIdx.z; z < p.batch.numel; z += gridDim.z) {
    int64_t boff[3];
    p.batch.offsets(z, boff);
    const T* a = p.a + boff[0];
    const T* b = p.b + boff[1];
    T* c = p.c + boff[2];
    for (int64_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
      const int64_t m0 = tm * kTileM, n0 = int64_t(blockIdx.x) * kTileN;
      T acc[kRows][kCols] = {};
      for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
        for (int e = tid; e < kTileM * kTileK; e += kBlockX * kBlockY) {
          int row = e / kTileK, kk = e % kTileK;
          int64_t gi = m0 + row, gk = k0 + kk;
          a_tile[kk][row] = (gi < p.m && gk < p.k) ? a[gi * p.a_row + gk * p.a_col] : T(0);
        }
        for (int e = tid; e < kTileK * kTileN; e += kBlockX * kBlockY) {
          int kk = e / kTileN, col = e % kTileN;
          int64_t gk = k0 + kk, gj = n0 + col;
          b_tile[kk][col] = (gk < p.k && gj < p.n) ? b[gk * p.b_row + gj * p.b_col] : T(0);
        }
        __syncthreads();
        for (int kk = 0; kk < kTileK; ++kk) {
          T av[kRows], bv[kCols];
          for (int i = 0; i < kRows; ++i) av[i] = a_tile[kk][ty + i * kBlockY];
          for (int j = 0; j < kCols; ++j) bv[j] = b_tile[kk][tx + j * kBlockX];
          for (int i = 0; i < kRows; ++i)
            for (int j = 0; j < kCols; ++j) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();  // the tiles are overwritten by the next step
      }
      for (int i = 0; i < kRows; ++i)
        for (int j = 0; j < kCols; ++j) {
          int64_t gi = m0 + ty + i * kBlockY, gj = n0 + tx + j * kBlockX;
          if (gi >= p.m || gj >= p.n) continue;
          T& out = c[gi * p.c_row + gj * p.c_col];
          out = p.beta == T(0) ? p.alpha * acc[i][j] : p.alpha * acc[i][j] + p.beta * out;
        }
    }
  }
}

}  // namespace

void gemm(DType dtype, const Dims& batch_shape, int64_t m, int64_t n, int64_t k, double alpha, const Matrix& a,
          const Matrix& b, double beta, const Matrix& c) {
  Strided<3> batch = make_strided<3>(batch_shape, {&a.batch_strides, &b.batch_strides, &c.batch_strides});
  if (batch.numel == 0 || m == 0 || n == 0) return;
  PE_DISPATCH_FLOATING(dtype, "CUDA gemm", [&] {
    GemmArgs<scalar_t> p{m,
                         n,
                         k,
                         static_cast<scalar_t>(alpha),
                         static_cast<scalar_t>(beta),
                         static_cast<const scalar_t*>(a.data),
                         static_cast<const scalar_t*>(b.data),
                         static_cast<scalar_t*>(c.data),
                         a.row_stride,
                         a.col_stride,
                         b.row_stride,
                         b.col_stride,
                         c.row_stride,
                         c.col_stride,
                         batch};
    int64_t tiles_n = (n + kTileN - 1) / kTileN, tiles_m = (m + kTileM - 1) / kTileM;
    if (tiles_n > 0x7fffffff)
      throw std::runtime_error("CUDA gemm: n = " + std::to_string(n) + " is too large for one launch");
    dim3 grid(static_cast<unsigned>(tiles_n), static_cast<unsigned>(tiles_m < 65535 ? tiles_m : 65535),
              static_cast<unsigned>(batch.numel < 65535 ? batch.numel : 65535));
    PE_LAUNCH(gemm_kernel<scalar_t>, grid, dim3(kBlockX, kBlockY), 0, p);
  });
}

}  // namespace pe::cuda
