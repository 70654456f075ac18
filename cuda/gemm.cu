// Batched, strided GEMM: C = alpha * A @ B + beta * C, float32 and float64.
//
// Shared-memory tiling with register blocking (the classic SGEMM shape): a block of 256
// threads owns a BM x BN tile of C and each thread TM x TN values of it in registers, as 4 x 4
// quads spread 64 rows / columns apart. K is walked BK at a time: the block stages a BM x BK
// slice of A (stored k-major) and a BK x BN slice of B in shared memory, and every thread runs
// BK rank-1 updates of its values from there, each reading its quads' 4 consecutive A and B
// values (16-byte shared loads; a warp's B reads are one contiguous run: no bank conflicts, its
// A reads broadcast). While it computes, the thread already holds the next slices' values in
// registers (loaded from global memory before the math), so memory latency overlaps the FMAs.
// Global loads are bounds-checked (out-of-range entries read as 0, so any m, n, k works) and
// strided operands are read in place (a transposed view costs no copy); for row-major data a
// thread reads consecutive k of A and consecutive columns of B, and a warp whole 32-byte
// sectors. float32: 128 x 128 tiles, 8 x 8 per thread; float64 (twice the registers per value):
// 64 x 64 tiles, 4 x 4 per thread.
#include "cuda/cuda_emu.h"
#include "cuda/launchers.h"
#include "cuda/strided.h"

namespace pe::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;
constexpr int kQuad = 4;    // a thread's values come in 4 x 4 quads
constexpr int kSpread = 64;  // quads of one thread sit 64 rows / columns apart

template <class T>
struct Tiling;
template <>
struct Tiling<float> {
  static constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;
};
template <>
struct Tiling<double> {
  static constexpr int BM = 64, BN = 64, BK = 8, TM = 4, TN = 4;
};

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
__global__ void __launch_bounds__(kThreadsPerBlock) gemm_kernel(GemmArgs<T> p) {
  using L = Tiling<T>;
  constexpr int BM = L::BM, BN = L::BN, BK = L::BK, TM = L::TM, TN = L::TN;
  constexpr int kCols = kSpread / kQuad;                 // threads across the columns (16)
  constexpr int LA = BM * BK / kThreadsPerBlock;         // A values each thread stages per slice
  constexpr int LB = BK * BN / kThreadsPerBlock;         // B values each thread stages per slice
  static_assert((kSpread / kQuad) * (kSpread / kQuad) == kThreadsPerBlock, "16 x 16 threads");
  static_assert(BM == kSpread * (TM / kQuad) && BN == kSpread * (TN / kQuad), "quads cover the tile");
  static_assert(BK % LA == 0 && BN % LB == 0, "a thread's staged values are consecutive");
  __align__(16) __shared__ T a_tile[BK][BM];
  __align__(16) __shared__ T b_tile[BK][BN];
  const int tid = threadIdx.x, ty = tid / kCols, tx = tid % kCols;
  // What this thread stages: A row a_r, k a_k .. a_k + LA - 1; B k b_k, columns b_c .. b_c + LB - 1.
  const int a_r = tid * LA / BK, a_k = tid * LA % BK;
  const int b_k = tid * LB / BN, b_c = tid * LB % BN;
  const int64_t tiles_m = (p.m + BM - 1) / BM;

  for (int64_t z = blockIdx.z; z < p.batch.numel; z += gridDim.z) {
    int64_t boff[3];
    p.batch.offsets(z, boff);
    const T* a = p.a + boff[0];
    const T* b = p.b + boff[1];
    T* c = p.c + boff[2];
    for (int64_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
      const int64_t m0 = tm * BM, n0 = int64_t(blockIdx.x) * BN;
      T a_next[LA], b_next[LB];
      auto fetch = [&](int64_t k0) {
        const int64_t gi = m0 + a_r;
        for (int t = 0; t < LA; ++t) {
          const int64_t gk = k0 + a_k + t;
          a_next[t] = (gi < p.m && gk < p.k) ? a[gi * p.a_row + gk * p.a_col] : T(0);
        }
        const int64_t gk = k0 + b_k;
        for (int t = 0; t < LB; ++t) {
          const int64_t gj = n0 + b_c + t;
          b_next[t] = (gk < p.k && gj < p.n) ? b[gk * p.b_row + gj * p.b_col] : T(0);
        }
      };
      auto stage = [&] {
        for (int t = 0; t < LA; ++t) a_tile[a_k + t][a_r] = a_next[t];
        for (int t = 0; t < LB; ++t) b_tile[b_k][b_c + t] = b_next[t];
      };
      T acc[TM][TN];
      for (int i = 0; i < TM; ++i)
        for (int j = 0; j < TN; ++j) acc[i][j] = T(0);
      fetch(0);
      stage();
      __syncthreads();
      for (int64_t k0 = 0; k0 < p.k; k0 += BK) {
        const bool more = k0 + BK < p.k;
        if (more) fetch(k0 + BK);  // in flight while the math below runs
        for (int kk = 0; kk < BK; ++kk) {
          T av[TM], bv[TN];
          for (int i = 0; i < TM; ++i) av[i] = a_tile[kk][i / kQuad * kSpread + ty * kQuad + i % kQuad];
          for (int j = 0; j < TN; ++j) bv[j] = b_tile[kk][j / kQuad * kSpread + tx * kQuad + j % kQuad];
          for (int i = 0; i < TM; ++i)
            for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();  // everyone is done reading the slices
        if (more) stage();
        __syncthreads();
      }
      for (int i = 0; i < TM; ++i) {
        const int64_t gi = m0 + i / kQuad * kSpread + ty * kQuad + i % kQuad;
        if (gi >= p.m) continue;
        for (int j = 0; j < TN; ++j) {
          const int64_t gj = n0 + j / kQuad * kSpread + tx * kQuad + j % kQuad;
          if (gj >= p.n) continue;
          T& out = c[gi * p.c_row + gj * p.c_col];
          out = p.beta == T(0) ? p.alpha * acc[i][j] : p.alpha * acc[i][j] + p.beta * out;
        }
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
    using L = Tiling<scalar_t>;
    int64_t tiles_n = (n + L::BN - 1) / L::BN, tiles_m = (m + L::BM - 1) / L::BM;
    if (tiles_n > 0x7fffffff)
      throw std::runtime_error("CUDA gemm: n = " + std::to_string(n) + " is too large for one launch");
    dim3 grid(static_cast<unsigned>(tiles_n), static_cast<unsigned>(tiles_m < 65535 ? tiles_m : 65535),
              static_cast<unsigned>(batch.numel < 65535 ? batch.numel : 65535));
    PE_LAUNCH(gemm_kernel<scalar_t>, grid, kThreadsPerBlock, 0, p);
  });
}

}  // namespace pe::cuda
