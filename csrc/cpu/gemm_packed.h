// The BLIS-style GEMM driver, generic over a micro-kernel (included by gemm_kernels.cpp, so it
// is compiled once per ISA together with that ISA's micro-kernels).
//
// A micro-kernel computes an MR x NR tile of C from a packed A micro-panel (kc x MR: for each
// k the MR values of a column of A) and a packed B micro-panel (kc x NR: for each k the NR
// values of a row of B), vectorised along NR, broadcasting A. The threads split C into
// rectangles of micro-tiles (choose_split) and each runs, on its rectangle:
//
//   ic: rows in blocks of mb            the packed A block (mb x kc) sits in L2/L3
//     pc: k in blocks of kc             first block applies beta, later ones accumulate
//       pack the A block
//       jc: columns in chunks of nb     the packed B chunk (kc x nb) fills half the L2
//         pack the B chunk
//         ir: MR rows                   the A micro-panel (MR x kc) stays in L1 ...
//           jr: NR columns              ... while the B micro-panels stream from L2
//             micro-kernel
//
// Packing reads any strides and pads edges with zeros. Tiles on the bottom and right edges of
// C run the smallest kernel variant that covers them (micro_tile); a tile the variant does
// not cover exactly (or C without unit column stride) is written through a small buffer.
//
// How operands become panels is the Pack policy: SamePack copies (float, double), WidenPack
// converts 16-bit floats to float32 while packing (no float32 copy of the whole operand), and
// gemm_bf16_dot.cpp's pair packing interleaves k pairs of bfloat16 for the AVX512_BF16
// dot-product instruction. A packed element may hold Pack::kGroup consecutive k values; the
// kernel then loops over ceil(kc / kGroup) groups.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "math/half_types.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif
#if defined(__AVX2__) || defined(__F16C__)
#include <immintrin.h>
#endif

#include "cpu/gemm_direct.h"
#include "cpu/gemm_kernels.h"

namespace pe::cpu::gemm_detail {
namespace {  // internal linkage: see gemm_direct.h

// Grow-only, 64-byte aligned scratch memory owned by the calling thread, so repeated GEMMs
// do not pay for allocation and page faults each time.
class Scratch {
 public:
  ~Scratch() { std::free(ptr_); }
  void* get(size_t bytes) {
    if (bytes > cap_) {
      std::free(ptr_);
      ptr_ = nullptr;
      cap_ = 0;
      size_t rounded = (bytes + 4095) / 4096 * 4096;
      ptr_ = std::aligned_alloc(64, rounded);
      if (!ptr_) throw std::bad_alloc();
      cap_ = rounded;
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  size_t cap_ = 0;
};

struct Blocking {
  int64_t kc;  // k per packed block: the A micro-panel (MR x kc) fills about half of L1
  int64_t nb;  // columns per packed B chunk: kc x nb fills about half of the private L2
  int64_t mb;  // rows per packed A block: mb x kc fits a slice of L3
};

// Depends on the shapes and cache sizes only - never on the thread count - so results are
// the same for any number of threads.
inline Blocking choose_blocking(int64_t M, int64_t N, int64_t K, int MR, int NR, int64_t elem) {
  const CacheSizes cs = cache_sizes();
  int64_t kc_max = std::clamp<int64_t>(cs.l1 / 2 / (MR * elem), 64, 1024) / 8 * 8;
  int64_t nk = (K + kc_max - 1) / kc_max;            // blocks along K ...
  int64_t kc = ((K + nk - 1) / nk + 7) / 8 * 8;      // ... of equal size, so none is tiny
  kc = imin(kc, K);
  int64_t nb = std::max<int64_t>(NR, cs.l2 / 2 / (kc * elem) / NR * NR);
  int64_t l3_slice = imin(cs.l3 / 8, 2 << 20);
  int64_t mb = std::max<int64_t>(MR, l3_slice / (kc * elem) / MR * MR);
  // No bigger than the matrix (that would only inflate the scratch memory).
  return {kc, imin(nb, (N + NR - 1) / NR * NR), imin(mb, (M + MR - 1) / MR * MR)};
}

// The transposing copy both packings need: `rows` vectors, each contiguous along k and `ld`
// apart, into a panel of width W: dst[k * W + r] = A[r * ld + k] (row-major A into an A panel,
// or a transposed B into a B panel). With SSE2 (every x86-64), 4x4 (float) or 2x2 (double)
// register transposes move a group of vectors per step instead of one element per store.
// Returns how many vectors it did; the caller copies the rest one element at a time.
template <class T, int W>
int64_t pack_transposed(int64_t rows, int64_t kc, const T* A, int64_t ld, T* dst) {
  int64_t r = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; r + 4 <= rows; r += 4) {
      const float *s0 = A + r * ld, *s1 = s0 + ld, *s2 = s1 + ld, *s3 = s2 + ld;
      float* d = dst + r;
      int64_t k = 0;
      for (; k + 4 <= kc; k += 4) {
        __m128 x0 = _mm_loadu_ps(s0 + k), x1 = _mm_loadu_ps(s1 + k), x2 = _mm_loadu_ps(s2 + k),
               x3 = _mm_loadu_ps(s3 + k);
        _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
        _mm_storeu_ps(d + (k + 0) * W, x0);
        _mm_storeu_ps(d + (k + 1) * W, x1);
        _mm_storeu_ps(d + (k + 2) * W, x2);
        _mm_storeu_ps(d + (k + 3) * W, x3);
      }
      for (; k < kc; ++k) {
        d[k * W + 0] = s0[k];
        d[k * W + 1] = s1[k];
        d[k * W + 2] = s2[k];
        d[k * W + 3] = s3[k];
      }
    }
  } else {
    for (; r + 2 <= rows; r += 2) {
      const double *s0 = A + r * ld, *s1 = s0 + ld;
      double* d = dst + r;
      int64_t k = 0;
      for (; k + 2 <= kc; k += 2) {
        __m128d x0 = _mm_loadu_pd(s0 + k), x1 = _mm_loadu_pd(s1 + k);
        _mm_storeu_pd(d + k * W, _mm_unpacklo_pd(x0, x1));
        _mm_storeu_pd(d + (k + 1) * W, _mm_unpackhi_pd(x0, x1));
      }
      for (; k < kc; ++k) {
        d[k * W + 0] = s0[k];
        d[k * W + 1] = s1[k];
      }
    }
  }
#endif
  return r;  // rows done
}

// A[rows, k0:k0+kc] -> micro-panel of MR rows: panel[k * MR + r]; rows past `rows` are zeros.
template <class T, int MR>
void pack_a_panel(int64_t rows, int64_t kc, const T* A, int64_t rsA, int64_t csA, T* dst) {
  if (csA == 1) {  // rows of A contiguous: read along k
    for (int64_t r = pack_transposed<T, MR>(rows, kc, A, rsA, dst); r < rows; ++r) {
      const T* src = A + r * rsA;
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k];
    }
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = A + k * csA;
      for (int64_t r = 0; r < rows; ++r) dst[k * MR + r] = src[r * rsA];
    }
  }
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t r = rows; r < MR; ++r) dst[k * MR + r] = T(0);
}

// B[k0:k0+kc, cols] -> micro-panels of NR columns: panel q holds [k * NR + c] for columns
// q*NR + c; columns past `cols` are zeros.
template <class T, int NR>
void pack_b_chunk(int64_t cols, int64_t kc, const T* B, int64_t rsB, int64_t csB, T* dst) {
  const int64_t panels = (cols + NR - 1) / NR, full = cols / NR;
  if (csB == 1) {
    // Rows of B contiguous: read each row once, front to back (prefetch-friendly), and
    // deal its NR-wide pieces out to the panels.
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = B + k * rsB;
      T* d = dst + k * NR;
      for (int64_t q = 0; q < full; ++q) std::memcpy(d + q * NR * kc, src + q * NR, NR * sizeof(T));
      if (full < panels) {
        T* tail = d + full * NR * kc;
        const int64_t c0 = full * NR;
        for (int64_t c = 0; c < NR; ++c) tail[c] = c0 + c < cols ? src[c0 + c] : T(0);
      }
    }
    return;
  }
  for (int64_t q = 0; q < panels; ++q) {
    const int64_t n = imin(NR, cols - q * NR);
    const T* src_q = B + q * NR * csB;
    T* d = dst + q * NR * kc;
    if (rsB == 1) {  // columns of B contiguous (a transposed matrix): read along k
      for (int64_t c = pack_transposed<T, NR>(n, kc, src_q, csB, d); c < n; ++c)
        for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = src_q[c * csB + k];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t c = 0; c < n; ++c) d[k * NR + c] = src_q[k * rsB + c * csB];
    }
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t c = n; c < NR; ++c) d[k * NR + c] = T(0);
  }
}

// Operands packed as they are.
template <class T>
struct SamePack {
  using S = T;  // operand element
  using P = T;  // packed element
  static constexpr int kGroup = 1;
  template <int MR>
  static void a(int64_t rows, int64_t kc, const S* A, int64_t rsA, int64_t csA, P* dst) {
    pack_a_panel<T, MR>(rows, kc, A, rsA, csA, dst);
  }
  template <int NR>
  static void b(int64_t cols, int64_t kc, const S* B, int64_t rsB, int64_t csB, P* dst) {
    pack_b_chunk<T, NR>(cols, kc, B, rsB, csB, dst);
  }
};

// dst[0:n] = src[0:n] widened to float32. With F16C (the AVX2 and AVX-512 builds) float16 is
// converted 8 or 16 at a time (vcvtph2ps); bfloat16 is the top half of a float32, so widening
// is a zero-extend and a shift (AVX2). Exact either way; the scalar loop is the reference.
template <class H>
void widen_run(int64_t n, const H* src, float* dst) {
  int64_t i = 0;
  if constexpr (std::is_same_v<H, Half>) {
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
#endif
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
#endif
  } else {
#if defined(__AVX2__)
    for (; i + 8 <= n; i += 8) {
      const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
    }
#endif
  }
  for (; i < n; ++i) dst[i] = float(src[i]);
}

// A panel of width W from n 16-bit vectors: panel[k * W + i] = float(src[i * si + k * sk]) for
// i < n, zeros for n <= i < W. Whichever of the two axes is contiguous is read in runs for
// widen_run: along i straight into the panel, along k through a small buffer then dealt out.
template <int W, class H>
void widen_panel(int64_t n, int64_t kc, const H* src, int64_t si, int64_t sk, float* dst) {
  if (si == 1) {
    for (int64_t k = 0; k < kc; ++k) widen_run(n, src + k * sk, dst + k * W);
  } else if (sk == 1) {
    constexpr int64_t kRun = 64;
    float run[kRun];
    for (int64_t k0 = 0; k0 < kc; k0 += kRun) {
      const int64_t len = imin(kRun, kc - k0);
      for (int64_t i = 0; i < n; ++i) {
        widen_run(len, src + i * si + k0, run);
        for (int64_t k = 0; k < len; ++k) dst[(k0 + k) * W + i] = run[k];
      }
    }
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t i = 0; i < n; ++i) dst[k * W + i] = float(src[i * si + k * sk]);
  }
  if (n < W)
    for (int64_t k = 0; k < kc; ++k) std::fill(dst + k * W + n, dst + (k + 1) * W, 0.f);
}

// 16-bit float operands (Half, BFloat16) converted to float32 as they are packed: the float32
// kernels run unchanged, and only a panel's worth is ever converted at a time.
template <class H>
struct WidenPack {
  using S = H;
  using P = float;
  static constexpr int kGroup = 1;
  template <int MR>
  static void a(int64_t rows, int64_t kc, const S* A, int64_t rsA, int64_t csA, P* dst) {
    widen_panel<MR>(rows, kc, A, rsA, csA, dst);
  }
  template <int NR>
  static void b(int64_t cols, int64_t kc, const S* B, int64_t rsB, int64_t csB, P* dst) {
    for (int64_t q = 0; q * NR < cols; ++q)
      widen_panel<NR>(imin(NR, cols - q * NR), kc, B + q * NR * csB, csB, rsB, dst + q * NR * kc);
  }
};

// One R x C tile variant of the kernel: straight into C when it covers the whole tile and C
// has unit column stride, else through an aligned buffer (so edges still run a fast kernel).
template <class Kernel, int R, int C, class T, class P>
inline void tile_variant(int64_t rows, int64_t cols, int64_t kc, const P* a, const P* b, T alpha, T beta, T* Cp,
                         int64_t rsC, int64_t csC) {
  if (rows == R && cols == C && csC == 1) {
    Kernel::template tile<R, C>(kc, a, b, Cp, rsC, alpha, beta);
    return;
  }
  alignas(64) T tile[R * C];
  Kernel::template tile<R, C>(kc, a, b, tile, C, T(1), T(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      T& dst = Cp[r * rsC + c * csC];
      dst = blend(tile[r * C + c], alpha, beta, dst);
    }
}

// Row variants of a kernel: thirds of MR where MR divides by 3 (12 -> 4, 8, 12; 6 -> 2, 4, 6),
// else halves; columns: NR / 2 or NR. The edge tile runs the smallest variant that covers it.
template <int MR>
constexpr int row_step() {
  return MR % 3 == 0 ? MR / 3 : MR / 2;
}

template <class Kernel, int R, class T, class P>
inline void tile_rows(int64_t rows, int64_t cols, int64_t kc, const P* a, const P* b, T alpha, T beta, T* C,
                      int64_t rsC, int64_t csC) {
  constexpr int NR = Kernel::NR;
  if (cols <= NR / 2)
    tile_variant<Kernel, R, NR / 2>(rows, cols, kc, a, b, alpha, beta, C, rsC, csC);
  else
    tile_variant<Kernel, R, NR>(rows, cols, kc, a, b, alpha, beta, C, rsC, csC);
}

// One micro-tile of rows x cols (at most MR x NR), wherever it lies.
template <class Kernel, class T, class P>
inline void micro_tile(int64_t rows, int64_t cols, int64_t kc, const P* a, const P* b, T alpha, T beta, T* C,
                       int64_t rsC, int64_t csC) {
  constexpr int MR = Kernel::MR, S = row_step<MR>();
  if (rows == MR)  // the common case first
    tile_rows<Kernel, MR>(rows, cols, kc, a, b, alpha, beta, C, rsC, csC);
  else if (rows <= S)
    tile_rows<Kernel, S>(rows, cols, kc, a, b, alpha, beta, C, rsC, csC);
  else if (2 * S < MR && rows <= 2 * S)
    tile_rows<Kernel, (2 * S < MR ? 2 * S : MR)>(rows, cols, kc, a, b, alpha, beta, C, rsC, csC);
  else
    tile_rows<Kernel, MR>(rows, cols, kc, a, b, alpha, beta, C, rsC, csC);
}

// How the threads split C: a grid of ti x tj rectangles (whole micro-tiles), one per thread.
// Each thread packs the A rows and B columns its rectangle needs, so the threads never wait
// for each other (one fork/join per GEMM) at the price of packing A tj times and B ti times.
// The grid minimises the slowest thread's estimated cost: its multiply-adds plus the
// elements it packs, each weighted NR / 2 (a core does about NR multiply-adds per cycle and
// packs about two elements per cycle).
struct Split {
  int64_t ti, tj;
};

inline Split choose_split(int threads, int64_t row_panels, int64_t col_panels, int64_t K, int MR, int NR) {
  Split best{1, 1};
  double best_cost = -1;
  for (int64_t ti = 1; ti <= threads; ++ti) {
    if (threads % ti) continue;
    const int64_t tj = threads / ti;
    if (ti > row_panels || tj > col_panels) continue;
    const double rows = double((row_panels + ti - 1) / ti) * MR, cols = double((col_panels + tj - 1) / tj) * NR;
    const double cost = rows * cols * K + NR / 2.0 * (rows + cols) * K;
    if (best_cost < 0 || cost < best_cost) {
      best = {ti, tj};
      best_cost = cost;
    }
  }
  return best;
}

template <class T, class Kernel, class Pack = SamePack<T>>
void gemm_packed(int threads, int64_t M, int64_t N, int64_t K, T alpha, const typename Pack::S* A, int64_t rsA,
                 int64_t csA, const typename Pack::S* B, int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC,
                 int64_t csC) {
  using P = typename Pack::P;
  constexpr int MR = Kernel::MR, NR = Kernel::NR, G = Pack::kGroup;
  // The blocking sees the bytes one k value takes in a panel. Its kc is a multiple of 8 (or
  // all of K), so only the last block of k can end in a partly filled group.
  const Blocking bl = choose_blocking(M, N, K, MR, NR, sizeof(P) / G);
  const int64_t row_panels = (M + MR - 1) / MR, col_panels = (N + NR - 1) / NR;
  const Split split = choose_split(threads, row_panels, col_panels, K, MR, NR);
  const int64_t tasks = split.ti * split.tj;

  // Scratch, allocated here (a worker thread must not throw): per task an A block and a B
  // chunk, each 64-byte aligned (the kernels load packed B with aligned loads).
  constexpr int64_t kAlign = 64 / sizeof(P);
  const int64_t groups = (bl.kc + G - 1) / G;
  const int64_t a_elems = (bl.mb * groups + kAlign - 1) / kAlign * kAlign;
  const int64_t b_elems = (bl.nb * groups + kAlign - 1) / kAlign * kAlign;
  thread_local Scratch scratch;
  P* const buffers = static_cast<P*>(scratch.get((a_elems + b_elems) * tasks * sizeof(P)));

  run_parallel(tasks > 1 ? threads : 1, tasks, int64_t(1) << 40, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t pi = t / split.tj, pj = t % split.tj;
      const int64_t row0 = row_panels * pi / split.ti * MR, row1 = imin(row_panels * (pi + 1) / split.ti * MR, M);
      const int64_t col0 = col_panels * pj / split.tj * NR, col1 = imin(col_panels * (pj + 1) / split.tj * NR, N);
      P* a_pack = buffers + t * (a_elems + b_elems);
      P* b_pack = a_pack + a_elems;
      for (int64_t ic = row0; ic < row1; ic += bl.mb) {
        const int64_t mb = imin(bl.mb, row1 - ic);
        const int64_t mb_panels = (mb + MR - 1) / MR;
        for (int64_t pc = 0; pc < K; pc += bl.kc) {
          const int64_t kc = imin(bl.kc, K - pc), kg = (kc + G - 1) / G;
          const T beta_pc = pc == 0 ? beta : T(1);  // later k blocks accumulate
          for (int64_t p = 0; p < mb_panels; ++p)
            Pack::template a<MR>(imin(MR, mb - p * MR), kc, A + (ic + p * MR) * rsA + pc * csA, rsA, csA,
                                 a_pack + p * MR * kg);
          for (int64_t jc = col0; jc < col1; jc += bl.nb) {
            const int64_t nb = imin(bl.nb, col1 - jc);
            const int64_t nb_panels = (nb + NR - 1) / NR;
            Pack::template b<NR>(nb, kc, B + pc * rsB + jc * csB, rsB, csB, b_pack);
            for (int64_t p = 0; p < mb_panels; ++p) {
              const int64_t i = ic + p * MR;
              const P* a = a_pack + p * MR * kg;
              for (int64_t q = 0; q < nb_panels; ++q) {
                const int64_t j = jc + q * NR;
                micro_tile<Kernel>(imin(MR, row1 - i), imin(NR, col1 - j), kg, a, b_pack + q * NR * kg, alpha,
                                   beta_pc, C + i * rsC + j * csC, rsC, csC);
              }
            }
          }
        }
      }
    }
  });
}

// Shapes too small to pay for packing run unpacked.
inline bool use_direct(int64_t M, int64_t N, int64_t K) { return M * N * K < 32 * 32 * 32; }

// A thread gets at least kMinMacsPerThread multiply-adds (some microseconds of work), or
// waking it costs more than it saves.
inline int packed_threads(int threads, int64_t M, int64_t N, int64_t K) {
  constexpr int64_t kMinMacsPerThread = int64_t(1) << 19;
  const int64_t useful = std::max<int64_t>(1, M * N * K / kMinMacsPerThread);
  return static_cast<int>(std::min<int64_t>(threads, useful));
}

// The whole entry point for one ISA: trivial cases, layout normalisation, then a path.
template <class T, class Kernel>
void gemm_entry(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
                int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) return scale_c(M, N, beta, C, rsC, csC);
  // Kernels vectorise along rows of C; a column-major C is the row-major C^T = B^T A^T.
  if (csC != 1 && rsC == 1) {
    const T* At = B;  // A' = B^T: A'(i, k) = B(k, i)
    const T* Bt = A;  // B' = A^T: B'(k, j) = A(j, k)
    return gemm_entry<T, Kernel>(N, M, K, alpha, At, csB, rsB, Bt, csA, rsA, beta, C, csC, rsC);
  }
  const int threads = omp_in_parallel() ? 1 : get_num_threads();
  if (N == 1) return gemv(threads, M, K, alpha, A, rsA, csA, B, rsB, beta, C, rsC);
  if (M == 1) return gemv(threads, N, K, alpha, B, csB, rsB, A, csA, beta, C, csC);
  if (use_direct(M, N, K))
    return gemm_direct(threads, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
  gemm_packed<T, Kernel>(packed_threads(threads, M, N, K), M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C,
                         rsC, csC);
}

// The float32 GEMM of one ISA (gemm_f32's signature): the fallback of gemm_entry_16.
using GemmF32 = void (*)(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*, int64_t,
                         int64_t, float, float*, int64_t, int64_t);

// Entry point for 16-bit float operands (Pack::S), float32 accumulation and result. Big
// products run the packed driver with Pack; vector and small products read each element about
// once anyway, so they convert the operands to float32 and run `gemm_f32`.
template <class Kernel, class Pack>
void gemm_entry_16(GemmF32 gemm_f32, int64_t M, int64_t N, int64_t K, float alpha, const typename Pack::S* A,
                   int64_t rsA, int64_t csA, const typename Pack::S* B, int64_t rsB, int64_t csB, float beta,
                   float* C, int64_t rsC, int64_t csC) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) return scale_c(M, N, beta, C, rsC, csC);
  if (csC != 1 && rsC == 1)  // column-major C: the row-major C^T = B^T A^T, as gemm_entry
    return gemm_entry_16<Kernel, Pack>(gemm_f32, N, M, K, alpha, B, csB, rsB, A, csA, rsA, beta, C, csC, rsC);
  if (M == 1 || N == 1 || use_direct(M, N, K)) {
    std::unique_ptr<float[]> a(new float[M * K]), b(new float[K * N]);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) a[i * K + k] = float(A[i * rsA + k * csA]);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) b[k * N + j] = float(B[k * rsB + j * csB]);
    return gemm_f32(M, N, K, alpha, a.get(), K, 1, b.get(), N, 1, beta, C, rsC, csC);
  }
  const int threads = omp_in_parallel() ? 1 : get_num_threads();
  gemm_packed<float, Kernel, Pack>(packed_threads(threads, M, N, K), M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta,
                                   C, rsC, csC);
}

}  // namespace
}  // namespace pe::cpu::gemm_detail
