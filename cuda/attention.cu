// Fused scaled-dot-product attention on the GPU, forward and backward (contract: ops/attention.h),
// FlashAttention-2 style: the (L, S) score matrix never exists; working memory is one tile.
//
// Geometry. A block is 256 threads seen as a 16 x 16 grid (tx = thread % 16, ty = thread / 16)
// that owns a B x B tile, B = 16 R (R = 4 for float, 2 for double, so a block's shared memory
// stays under 48 KiB): thread (ty, tx) holds the R x R elements at rows ty + 16 i, columns
// tx + 16 j in registers. A row of a tile is thus spread over the 16 lanes of one half-warp, and
// its statistics (max, sum) are XOR shuffles of width 16.
//
// Two tile products cover every step, both staged through shared memory:
//   * tile_dot: acc[r][c] = A_{a0+r} . B_{b0+c} over the full depth (E or Ev), in 16-deep slices
//     of A and B rows (S = Q K^T, and dP = dO V^T in backward);
//   * accumulate: acc[r][c] += sum_k T(r, k) G_{g0+k, c0+c}, T a B x B tile in shared memory
//     (P or dS, read transposed for dK and dV), G's rows staged 16 at a time (O += P V,
//     dQ += dS K, dV += P^T dO, dK += dS^T Q).
// Staging reads the strided operands in place, column-fastest when the columns are contiguous
// and row-fastest for transposed views, so global loads coalesce either way.
//
// The head dims E and Ev are arbitrary: a block writes one B-wide chunk of output columns and
// recomputes the scores for each chunk (one chunk, no recomputation, for head dims <= B).
//
// Forward: one block per (batch matrix, query tile, Ev chunk). Its query tile stays in shared
// memory (head dims up to 64) while it walks the key tiles (with causal, only up to the
// diagonal), keeping the running row max m, row sum l and the output accumulator in registers
// and rescaling by exp(m_old - m_new) when the max grows; bool/additive masks and causal
// exclusion are applied to each score tile as it is computed. It saves lse = m + log(l).
//
// Backward (deterministic, no atomics: every gradient element is summed in a fixed order by
// one thread): D_i = dO_i . out_i into an O(L) scratch buffer; then one block per (batch, key
// tile, column chunk) walks the query tiles to accumulate dK and dV, and a separate pass, one
// block per (batch, query tile, E chunk), walks the key tiles to accumulate dQ. The second pass
// recomputes S and dP (FlashAttention-2's dQ-by-atomics would save that, at the price of a
// result that depends on the order blocks finish).
#include <cmath>
#include <cstdint>

#include "cuda/block_reduce.h"
#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "cuda/strided.h"
#include "ops/attention.h"

namespace pe::cuda {
namespace {

using ops::AttentionArgs;
using ops::AttentionMaskKind;

constexpr int kSide = 16;                  // threads per tile side
constexpr int kBlock = kSide * kSide;      // threads per block
constexpr int kDepth = 16;                 // depth of one staged slice

template <class T>
struct Tile {
  static constexpr int R = sizeof(T) == 4 ? 4 : 2;  // rows (and columns) per thread
  static constexpr int B = kSide * R;               // tile side: queries, keys, output columns
  static constexpr int ldA = kDepth + 1;            // padded: 16 lanes read 16 different rows
  // The forward keeps its query tile in shared memory for the whole key loop when E <= this.
  static constexpr int resident_depth = 64;
  static constexpr int ldQ = resident_depth + 1;
  // P and dS tiles, [query][key], padded: the two half-warps of a warp read neighbouring rows.
  static constexpr int ldP = B + 1;
  // Shared memory, in T: two row slices (B x ldA), then the tile P, then either the tile dS
  // (backward) or the resident query tile, B x ldQ (forward).
  static constexpr int slice = B * ldA;
  static constexpr int backward_words = 2 * slice + 2 * B * ldP;
  static constexpr int forward_words = 2 * slice + B * ldP + B * ldQ;
  static_assert(backward_words * sizeof(T) <= 48 * 1024 && forward_words * sizeof(T) <= 48 * 1024,
                "attention tiles exceed 48 KiB of shared memory");
};

// A thread's R x R tile elements and its R rows' values, in registers.
template <class T>
using Regs = T[Tile<T>::R][Tile<T>::R];
template <class T>
using RowRegs = T[Tile<T>::R];

// One matrix of an operand, after its batch offset: element (r, c) is p[r * rs + c * cs].
template <class T>
struct Mat {
  const T* p;
  int64_t rs, cs;
};

template <class T>
struct Params {
  Strided<4> batch;  // offsets of q, k, v and the mask for a batch index
  const T *q, *k, *v;
  int64_t q_rs, q_cs, k_rs, k_cs, v_rs, v_cs;
  const void* mask;
  int64_t m_rs, m_cs;
  AttentionMaskKind mask_kind;
  int64_t nb, L, S, E, Ev;
  T scale;
  bool causal;
  T *out, *lse;                 // forward: written; backward: read
  const T* dout;                // backward
  T *dq, *dk, *dv, *D;          // backward (D: scratch, nb * L)
};

struct Coords {
  int tx, ty;
  __device__ Coords() : tx(static_cast<int>(threadIdx.x) % kSide), ty(static_cast<int>(threadIdx.x) / kSide) {}
};

// sm[r * ld + c] = M(r0 + r, c0 + c) for r < rows, c < cols; zero outside M's rn x cn.
template <class T>
__device__ void stage(T* sm, int ld, int rows, int cols, Mat<T> m, int64_t r0, int64_t rn, int64_t c0, int64_t cn) {
  const bool col_fast = m.cs == 1 || m.rs != 1;  // consecutive threads on consecutive addresses
  for (int idx = threadIdx.x; idx < rows * cols; idx += kBlock) {
    const int r = col_fast ? idx / cols : idx % rows;
    const int c = col_fast ? idx % cols : idx / rows;
    const int64_t gr = r0 + r, gc = c0 + c;
    sm[r * ld + c] = (gr < rn && gc < cn) ? m.p[gr * m.rs + gc * m.cs] : T(0);
  }
}

// acc[i][j] = A_{a0 + ty + 16 i} . B_{b0 + tx + 16 j} over `depth` columns (zero past an, bn).
// With `resident` non-null, A's tile is already in shared memory there (row stride ldQ, zero
// past `depth` up to a multiple of 16) and only B is staged.
template <class T>
__device__ __forceinline__ void tile_dot(Regs<T>& acc, Mat<T> a, int64_t a0, int64_t an, Mat<T> b, int64_t b0,
                                         int64_t bn, int64_t depth, T* smA, T* smB, const T* resident = nullptr) {
  constexpr int R = Tile<T>::R, B = Tile<T>::B, ld = Tile<T>::ldA;
  const Coords t;
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < R; ++j) acc[i][j] = T(0);
  for (int64_t d0 = 0; d0 < depth; d0 += kDepth) {
    if (!resident) stage(smA, ld, B, kDepth, a, a0, an, d0, depth);
    stage(smB, ld, B, kDepth, b, b0, bn, d0, depth);
    __syncthreads();
    for (int d = 0; d < kDepth; ++d) {
      T x[R], y[R];
      for (int i = 0; i < R; ++i)
        x[i] = resident ? resident[(t.ty + kSide * i) * Tile<T>::ldQ + d0 + d] : smA[(t.ty + kSide * i) * ld + d];
      for (int j = 0; j < R; ++j) y[j] = smB[(t.tx + kSide * j) * ld + d];
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < R; ++j) acc[i][j] += x[i] * y[j];
    }
    __syncthreads();
  }
}

// acc[i][j] += sum_k tile(ty + 16 i, k) * G(g0 + k, c0 + tx + 16 j), k over the B x B shared tile
// (tile(r, k) = tile[r * ldP + k], or tile[k * ldP + r] when Transposed); G's rows past gn and
// columns past cn read as zero.
template <bool Transposed, class T>
__device__ __forceinline__ void accumulate(Regs<T>& acc, const T* tile, Mat<T> g, int64_t g0, int64_t gn,
                                           int64_t c0, int64_t cn, T* smG) {
  constexpr int R = Tile<T>::R, B = Tile<T>::B;
  const Coords t;
  for (int k0 = 0; k0 < B; k0 += kDepth) {
    stage(smG, B, kDepth, B, g, g0 + k0, gn, c0, cn);
    __syncthreads();
    for (int k = 0; k < kDepth; ++k) {
      T x[R], y[R];
      for (int i = 0; i < R; ++i) {
        const int r = t.ty + kSide * i;
        x[i] = Transposed ? tile[(k0 + k) * Tile<T>::ldP + r] : tile[r * Tile<T>::ldP + k0 + k];
      }
      for (int j = 0; j < R; ++j) y[j] = smG[k * B + t.tx + kSide * j];
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < R; ++j) acc[i][j] += x[i] * y[j];
    }
    __syncthreads();
  }
}

// Over the 16 lanes that share a tile row (a half-warp): every lane gets the row's max / sum.
template <class T>
__device__ T row_max(T v) {
  for (int d = kSide / 2; d > 0; d /= 2) v = BlockMaxNan::combine<T>(v, __shfl_xor_sync(0xffffffffu, v, d));
  return v;
}
template <class T>
__device__ T row_sum(T v) {
  for (int d = kSide / 2; d > 0; d /= 2) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}

// The batch matrices of one batch index.
template <class T>
struct Batch {
  Mat<T> q, k, v;
  const unsigned char* mask_bool = nullptr;
  const T* mask_add = nullptr;
  __device__ Batch(const Params<T>& a, int64_t b) {
    int64_t off[4];
    a.batch.offsets(b, off);
    q = {a.q + off[0], a.q_rs, a.q_cs};
    k = {a.k + off[1], a.k_rs, a.k_cs};
    v = {a.v + off[2], a.v_rs, a.v_cs};
    if (a.mask_kind == AttentionMaskKind::Bool) mask_bool = static_cast<const unsigned char*>(a.mask) + off[3];
    if (a.mask_kind == AttentionMaskKind::Additive) mask_add = static_cast<const T*>(a.mask) + off[3];
  }
};

// The block's shared memory: two staged slices (A and B rows of tile_dot; G rows of accumulate
// use the first), the P tile and then the dS tile (both [query][key]) or, in the forward, the
// resident query tile in the same place.
template <class T>
struct Smem {
  T *a, *b, *p, *ds, *q;
  __device__ explicit Smem(T* base)
      : a(base), b(base + Tile<T>::slice), p(base + 2 * Tile<T>::slice), ds(p + Tile<T>::B * Tile<T>::ldP), q(ds) {}
};

template <class T>
__device__ __forceinline__ T neg_inf() {
  return T(-INFINITY);
}

// s_ij = scale * (q_i . k_j) + mask_ij for the tile at (q0, k0), -inf where the key is excluded
// (out of range, causal j > i, false in a bool mask). The mask is read here, in the tile loop,
// consecutive lanes on consecutive keys.
template <class T>
__device__ __forceinline__ void scores(Regs<T>& s, const Params<T>& a, const Batch<T>& bt, int64_t q0, int64_t k0,
                                       const Smem<T>& sm, const T* resident_q = nullptr) {
  constexpr int R = Tile<T>::R;
  const Coords t;
  tile_dot<T>(s, bt.q, q0, a.L, bt.k, k0, a.S, a.E, sm.a, sm.b, resident_q);
  for (int i = 0; i < R; ++i) {
    const int64_t qi = q0 + t.ty + kSide * i;
    for (int j = 0; j < R; ++j) {
      const int64_t kj = k0 + t.tx + kSide * j;
      T x = neg_inf<T>();
      if (qi < a.L && kj < a.S && !(a.causal && kj > qi)) {
        x = a.scale * s[i][j];
        const int64_t at = qi * a.m_rs + kj * a.m_cs;
        if (bt.mask_bool && !bt.mask_bool[at]) x = neg_inf<T>();
        if (bt.mask_add) x += bt.mask_add[at];
      }
      s[i][j] = x;
    }
  }
}

// Tiles of b covering n. Each kernel walks its flattened (batch, tile, chunk) grid block-uniformly
// (a grid-stride loop over blocks), so every thread of a block meets the same barriers.
__host__ __device__ inline int64_t tiles(int64_t n, int64_t b) { return (n + b - 1) / b; }

// ---------------------------------------------------------------------------------- forward

template <class T>
__global__ void __launch_bounds__(kBlock, 1) forward_kernel(Params<T> a) {
  constexpr int R = Tile<T>::R, B = Tile<T>::B;
  PE_DYNAMIC_SHARED(T, smem);
  const Smem<T> sm(smem);
  const Coords t;
  const int64_t nq = tiles(a.L, B), nc = tiles(a.Ev, B);
  for (int64_t blk = blockIdx.x; blk < a.nb * nq * nc; blk += gridDim.x) {
    const int64_t c0 = blk % nc * B, q0 = blk / nc % nq * B, b = blk / (nc * nq);
    const Batch<T> bt(a, b);
    T m[R], l[R], o[R][R];
    for (int i = 0; i < R; ++i) {
      m[i] = neg_inf<T>(), l[i] = T(0);
      for (int j = 0; j < R; ++j) o[i][j] = T(0);
    }
    // The query tile is read once for the whole key loop when it fits (E <= 64: the common head
    // dims); the first tile_dot's barrier publishes it. Wider heads restage it per key tile.
    const T* resident_q = nullptr;
    if (a.E <= Tile<T>::resident_depth) {
      stage(sm.q, Tile<T>::ldQ, B, static_cast<int>(tiles(a.E, kDepth) * kDepth), bt.q, q0, a.L, 0, a.E);
      resident_q = sm.q;
    }
    // Causal: key tiles past the last query of this tile see nobody; skip them.
    const int64_t kend = a.causal ? (a.S < q0 + B ? a.S : q0 + B) : a.S;
    for (int64_t k0 = 0; k0 < kend; k0 += B) {
      T s[R][R];
      scores(s, a, bt, q0, k0, sm, resident_q);
      for (int i = 0; i < R; ++i) {
        T mx = neg_inf<T>();
        for (int j = 0; j < R; ++j) mx = BlockMaxNan::combine<T>(mx, s[i][j]);
        const T m_new = BlockMaxNan::combine<T>(m[i], row_max(mx));
        // Rows that have seen no key yet hold o = 0, l = 0: nothing to rescale (and -inf - -inf
        // would be NaN). A NaN max propagates through alpha and p into the row.
        const T alpha = m[i] == neg_inf<T>() ? T(0) : std::exp(m[i] - m_new);
        T sum = T(0);
        for (int j = 0; j < R; ++j) {
          const T p = s[i][j] == neg_inf<T>() ? T(0) : std::exp(s[i][j] - m_new);
          sm.p[(t.ty + kSide * i) * Tile<T>::ldP + t.tx + kSide * j] = p;
          sum += p;
        }
        l[i] = l[i] * alpha + row_sum(sum);
        for (int j = 0; j < R; ++j) o[i][j] *= alpha;
        m[i] = m_new;
      }
      accumulate<false>(o, sm.p, bt.v, k0, a.S, c0, a.Ev, sm.a);
    }
    for (int i = 0; i < R; ++i) {
      const int64_t qi = q0 + t.ty + kSide * i;
      if (qi >= a.L) continue;
      const bool seen = m[i] != neg_inf<T>();  // a row with no visible key: zeros, lse = -inf
      for (int j = 0; j < R; ++j) {
        const int64_t c = c0 + t.tx + kSide * j;
        if (c < a.Ev) a.out[(b * a.L + qi) * a.Ev + c] = seen ? o[i][j] / l[i] : T(0);
      }
      if (c0 == 0 && t.tx == 0) a.lse[b * a.L + qi] = seen ? m[i] + std::log(l[i]) : neg_inf<T>();
    }
  }
}

// --------------------------------------------------------------------------------- backward

// D_r = dO_r . out_r, one warp per row (both contiguous rows of n).
template <class T>
__global__ void row_dot_kernel(const T* dout, const T* out, T* D, int64_t rows, int64_t n) {
  const int lane = threadIdx.x % warpSize;
  const int64_t per_block = blockDim.x / warpSize;
  for (int64_t r = blockIdx.x * per_block + threadIdx.x / warpSize; r < rows; r += gridDim.x * per_block) {
    T acc = T(0);
    for (int64_t c = lane; c < n; c += warpSize) acc += dout[r * n + c] * out[r * n + c];
    acc = warp_allreduce<BlockSum>(acc);
    if (lane == 0) D[r] = acc;
  }
}

// The row statistics a backward tile needs for its query rows q0 + ty + 16 i.
template <class T>
__device__ __forceinline__ void row_stats(const Params<T>& a, int64_t b, int64_t q0, RowRegs<T>& lse, RowRegs<T>& D) {
  const Coords t;
  for (int i = 0; i < Tile<T>::R; ++i) {
    const int64_t qi = q0 + t.ty + kSide * i;
    lse[i] = qi < a.L ? a.lse[b * a.L + qi] : neg_inf<T>();
    D[i] = qi < a.L ? a.D[b * a.L + qi] : T(0);
  }
}

// Recomputes the tile at (q0, k0): P_ij = exp(s_ij - lse_i) into sm.p (0 for excluded keys and
// rows that saw no key) and dS_ij = P_ij (dO_i . v_j - D_i) into sm.ds.
template <class T>
__device__ __forceinline__ void probabilities(const Params<T>& a, const Batch<T>& bt, int64_t b, int64_t q0,
                                              int64_t k0, const RowRegs<T>& lse, const RowRegs<T>& D,
                                              const Smem<T>& sm) {
  constexpr int R = Tile<T>::R;
  const Coords t;
  T p[R][R], dp[R][R];
  scores(p, a, bt, q0, k0, sm);
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < R; ++j) {
      p[i][j] = (p[i][j] == neg_inf<T>() || lse[i] == neg_inf<T>()) ? T(0) : std::exp(p[i][j] - lse[i]);
      sm.p[(t.ty + kSide * i) * Tile<T>::ldP + t.tx + kSide * j] = p[i][j];
    }
  const Mat<T> dout{a.dout + b * a.L * a.Ev, a.Ev, 1};
  tile_dot<T>(dp, dout, q0, a.L, bt.v, k0, a.S, a.Ev, sm.a, sm.b);
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < R; ++j)
      sm.ds[(t.ty + kSide * i) * Tile<T>::ldP + t.tx + kSide * j] = p[i][j] * (dp[i][j] - D[i]);
}

// dK and dV for one (batch, key tile, column chunk): walks the query tiles that can see the keys.
template <class T>
__global__ void __launch_bounds__(kBlock, 1) dkdv_kernel(Params<T> a) {
  constexpr int R = Tile<T>::R, B = Tile<T>::B;
  PE_DYNAMIC_SHARED(T, smem);
  const Smem<T> sm(smem);
  const Coords t;
  const int64_t nk = tiles(a.S, B), nc = tiles(a.E > a.Ev ? a.E : a.Ev, B);
  for (int64_t blk = blockIdx.x; blk < a.nb * nk * nc; blk += gridDim.x) {
    const int64_t c0 = blk % nc * B, k0 = blk / nc % nk * B, b = blk / (nc * nk);
    const Batch<T> bt(a, b);
    const Mat<T> dout{a.dout + b * a.L * a.Ev, a.Ev, 1};
    T dk[R][R], dv[R][R];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < R; ++j) dk[i][j] = dv[i][j] = T(0);
    // Causal: queries before k0 see none of these keys (tiles are aligned: B divides k0).
    for (int64_t q0 = a.causal ? k0 : 0; q0 < a.L; q0 += B) {
      T lse[R], D[R];
      row_stats(a, b, q0, lse, D);
      probabilities(a, bt, b, q0, k0, lse, D, sm);
      if (c0 < a.Ev) accumulate<true>(dv, sm.p, dout, q0, a.L, c0, a.Ev, sm.a);   // dV += P^T dO
      if (c0 < a.E) accumulate<true>(dk, sm.ds, bt.q, q0, a.L, c0, a.E, sm.a);    // dK += dS^T Q
    }
    for (int i = 0; i < R; ++i) {
      const int64_t kj = k0 + t.ty + kSide * i;
      if (kj >= a.S) continue;
      for (int j = 0; j < R; ++j) {
        const int64_t c = c0 + t.tx + kSide * j;
        if (c < a.E) a.dk[(b * a.S + kj) * a.E + c] = a.scale * dk[i][j];
        if (c < a.Ev) a.dv[(b * a.S + kj) * a.Ev + c] = dv[i][j];
      }
    }
  }
}

// dQ for one (batch, query tile, E chunk): walks the key tiles the queries see.
template <class T>
__global__ void __launch_bounds__(kBlock, 1) dq_kernel(Params<T> a) {
  constexpr int R = Tile<T>::R, B = Tile<T>::B;
  PE_DYNAMIC_SHARED(T, smem);
  const Smem<T> sm(smem);
  const Coords t;
  const int64_t nq = tiles(a.L, B), nc = tiles(a.E, B);
  for (int64_t blk = blockIdx.x; blk < a.nb * nq * nc; blk += gridDim.x) {
    const int64_t c0 = blk % nc * B, q0 = blk / nc % nq * B, b = blk / (nc * nq);
    const Batch<T> bt(a, b);
    T lse[R], D[R], dq[R][R];
    row_stats(a, b, q0, lse, D);
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < R; ++j) dq[i][j] = T(0);
    const int64_t kend = a.causal ? (a.S < q0 + B ? a.S : q0 + B) : a.S;
    for (int64_t k0 = 0; k0 < kend; k0 += B) {
      probabilities(a, bt, b, q0, k0, lse, D, sm);
      accumulate<false>(dq, sm.ds, bt.k, k0, a.S, c0, a.E, sm.a);  // dQ += dS K
    }
    for (int i = 0; i < R; ++i) {
      const int64_t qi = q0 + t.ty + kSide * i;
      if (qi >= a.L) continue;
      for (int j = 0; j < R; ++j) {
        const int64_t c = c0 + t.tx + kSide * j;
        if (c < a.E) a.dq[(b * a.L + qi) * a.E + c] = a.scale * dq[i][j];
      }
    }
  }
}

// ---------------------------------------------------------------------------------- launchers

template <class T>
Params<T> make_params(const AttentionArgs& a) {
  Params<T> p{};
  const Shape no_mask(a.batch_shape.size(), 0);
  const Shape& mask_strides = a.mask_kind == AttentionMaskKind::None ? no_mask : a.mask.batch_strides;
  p.batch = make_strided<4>(a.batch_shape, {&a.q.batch_strides, &a.k.batch_strides, &a.v.batch_strides, &mask_strides});
  p.q = static_cast<const T*>(a.q.data), p.q_rs = a.q.row_stride, p.q_cs = a.q.col_stride;
  p.k = static_cast<const T*>(a.k.data), p.k_rs = a.k.row_stride, p.k_cs = a.k.col_stride;
  p.v = static_cast<const T*>(a.v.data), p.v_rs = a.v.row_stride, p.v_cs = a.v.col_stride;
  p.mask_kind = a.mask_kind;
  p.mask = a.mask_kind == AttentionMaskKind::None ? nullptr : a.mask.data;
  p.m_rs = a.mask.row_stride, p.m_cs = a.mask.col_stride;
  p.nb = p.batch.numel;
  p.L = a.L, p.S = a.S, p.E = a.E, p.Ev = a.Ev;
  p.scale = static_cast<T>(a.scale);
  p.causal = a.causal;
  p.out = static_cast<T*>(a.out), p.lse = static_cast<T*>(a.lse);
  p.dout = static_cast<const T*>(a.grad_out);
  p.dq = static_cast<T*>(a.dq), p.dk = static_cast<T*>(a.dk), p.dv = static_cast<T*>(a.dv);
  return p;
}

// Blocks for a flattened grid of n tiles (the kernels stride over the rest).
unsigned grid_for(int64_t n) { return static_cast<unsigned>(n < 0x7fffffff ? n : 0x7fffffff); }

template <class T>
size_t shared_bytes(bool forward) {
  return (forward ? Tile<T>::forward_words : Tile<T>::backward_words) * sizeof(T);
}

template <class T>
void forward_t(const AttentionArgs& args) {
  const Params<T> p = make_params<T>(args);
  constexpr int B = Tile<T>::B;
  auto* k = &forward_kernel<T>;
  PE_LAUNCH(k, grid_for(p.nb * tiles(p.L, B) * tiles(p.Ev, B)), kBlock, shared_bytes<T>(true), p);
}

template <class T>
void backward_t(const AttentionArgs& args) {
  Params<T> p = make_params<T>(args);
  constexpr int B = Tile<T>::B;
  const int64_t rows = p.nb * p.L;
  DeviceBuffer D(rows * int64_t(sizeof(T)));  // O(L) per matrix: the only scratch
  p.D = D.as<T>();
  const int warps = kThreads / 32;  // warps per block (warpSize exists only in device code)
  auto* dot = &row_dot_kernel<T>;
  PE_LAUNCH(dot, blocks_for(rows, warps), kThreads, 0, p.dout, static_cast<const T*>(p.out), p.D, rows, p.Ev);
  auto* kv = &dkdv_kernel<T>;
  PE_LAUNCH(kv, grid_for(p.nb * tiles(p.S, B) * tiles(p.E > p.Ev ? p.E : p.Ev, B)), kBlock, shared_bytes<T>(false), p);
  auto* q = &dq_kernel<T>;
  PE_LAUNCH(q, grid_for(p.nb * tiles(p.L, B) * tiles(p.E, B)), kBlock, shared_bytes<T>(false), p);
}

void attention_forward(const AttentionArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "scaled_dot_product_attention", [&] { forward_t<scalar_t>(a); });
}

void attention_backward(const AttentionArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "scaled_dot_product_attention_backward", [&] { backward_t<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::attention_forward_kernel, attention_forward);
PE_REGISTER_CUDA_KERNEL(ops::attention_backward_kernel, attention_backward);

}  // namespace pe::cuda
