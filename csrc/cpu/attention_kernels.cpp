// Fused scaled dot-product attention on the CPU, forward and backward (contract: ops/attention.h).
//
// Tiles: a block of bq queries against a tile of bk keys (Tiling). Every tile product runs through
// cpu::gemm (packed, register-tiled micro-kernels; single-threaded inside our parallel region),
// which reads the strided/broadcast operands in place and packs them contiguous once per call.
// The (bq, bk) score tiles are the only scratch that grows with the tiles; nothing grows with L * S.
//
// Forward, per (batch, query block), keys a tile at a time with the online softmax:
//   s = scale q k^T (the GEMM's alpha) + mask (excluded keys: -inf);  m' = max(m, max_j s);
//   P = exp(s - m');  l = l e^(m - m') + sum_j P;  O = O e^(m - m') + P v
// and finally out = O / l, lse = m + log(l) (a row that saw no key: zeros and -inf). Causal
// blocks stop at the last key any of their queries sees (fully masked key tiles are skipped).
//
// Backward (FlashAttention-2), from D_i = dO_i . out_i and P recomputed from lse:
//   dV += P^T dO;  dP = dO v^T;  dS = P (dP - D);  dK += scale dS^T q;  dQ += scale dS k.
// dK/dV belong to a key block, dQ to a query block. Deterministic schemes:
//  - one pass: a thread owns whole batch matrices (key blocks outer, query blocks inner, dQ
//    accumulated in key-block order) - used when there are enough batch matrices for the threads;
//  - two passes: (batch, key block) tasks write dK/dV, then (batch, query block) tasks write dQ,
//    recomputing S, P and dP. Both run the same tile calls in the same order, so the results are
//    bitwise the same whichever scheme (and however many threads) ran.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "cpu/fast_math.h"  // fast_exp: exp the compiler vectorises
#include "cpu/gemm.h"
#include "ops/attention.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::AttentionArgs;
using ops::AttentionMaskKind;
using ops::AttentionMatrix;

// Element offset of batch matrix b (row-major over batch_shape) for one operand.
inline int64_t batch_offset(int64_t b, const Shape& shape, const Shape& strides) {
  int64_t off = 0;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0 && b > 0; --d) {
    off += (b % shape[d]) * strides[d];
    b /= shape[d];
  }
  return off;
}

template <class T>
struct Operand {  // one batch matrix of an AttentionMatrix
  const T* p;
  int64_t rs, cs;
  const T* row(int64_t i) const { return p + i * rs; }
};

template <class T>
Operand<T> at(const AttentionMatrix& m, const AttentionArgs& a, int64_t b) {
  return {static_cast<const T*>(m.data) + batch_offset(b, a.batch_shape, m.batch_strides), m.row_stride,
          m.col_stride};
}

// The tiling of one call. Tile sizes depend on the call's options only, never on the thread
// count (the summation order depends on them). Measured on AVX-512 with E = 64: longer tiles
// pay the packing and the online-softmax rescaling less often; causal calls take shorter
// ones, which skip more of the masked triangle.
struct Tiling {
  int64_t bq, bk;      // queries per block, keys per tile
  int64_t nb, nq, nk;  // batch matrices, query blocks, key tiles
  Tiling(const AttentionArgs& a, int64_t q, int64_t k)
      : bq(q), bk(k), nb(shape_numel(a.batch_shape)), nq((a.L + q - 1) / q), nk((a.S + k - 1) / k) {}
};
inline Tiling forward_tiling(const AttentionArgs& a) { return a.causal ? Tiling(a, 64, 256) : Tiling(a, 128, 512); }
inline Tiling backward_tiling(const AttentionArgs& a) { return a.causal ? Tiling(a, 128, 128) : Tiling(a, 128, 256); }

// Keys [0, key_end) are visible to some query of block [q0, q1).
inline int64_t key_end(const AttentionArgs& a, int64_t q1) { return a.causal ? std::min(a.S, q1) : a.S; }
// The first query block with a query that sees key k0.
inline int64_t first_query_block(const AttentionArgs& a, const Tiling& tl, int64_t k0) {
  return a.causal ? k0 / tl.bq : 0;
}
// How many keys of the tile starting at k0 (n keys) query gi sees, counting from the tile start.
inline int64_t visible(const AttentionArgs& a, int64_t gi, int64_t k0, int64_t n) {
  return a.causal ? std::clamp<int64_t>(gi - k0 + 1, 0, n) : n;
}

// s[0, nvis) = s + mask row (bool: -inf where excluded) for query gi, keys from k0 (s already
// holds scale * q k^T: the GEMM applies the scale).
template <class T>
inline void apply_mask(const AttentionArgs& a, const void* mask_b, int64_t gi, int64_t k0, T* s, int64_t nvis) {
  const int64_t mo = gi * a.mask.row_stride + k0 * a.mask.col_stride, mc = a.mask.col_stride;
  switch (a.mask_kind) {
    case AttentionMaskKind::None:
      break;
    case AttentionMaskKind::Additive: {
      const T* m = static_cast<const T*>(mask_b) + mo;
#pragma omp simd
      for (int64_t j = 0; j < nvis; ++j) s[j] += m[j * mc];
      break;
    }
    case AttentionMaskKind::Bool: {
      const uint8_t* m = static_cast<const uint8_t*>(mask_b) + mo;
      const T ninf = -std::numeric_limits<T>::infinity();
#pragma omp simd
      for (int64_t j = 0; j < nvis; ++j) s[j] = m[j * mc] ? s[j] : ninf;
      break;
    }
  }
}

inline const void* mask_at(const AttentionArgs& a, int64_t b, size_t elem) {
  if (a.mask_kind == AttentionMaskKind::None) return nullptr;
  return static_cast<const char*>(a.mask.data) + batch_offset(b, a.batch_shape, a.mask.batch_strides) * elem;
}

// S (rows x n, leading dim ld) = scale * q rows [q0, q0 + rows) . k rows [k0, k0 + n).
template <class T>
inline void scores(const AttentionArgs& a, const Operand<T>& q, const Operand<T>& k, int64_t q0, int64_t rows,
                   int64_t k0, int64_t n, T* S, int64_t ld) {
  gemm<T>(rows, n, a.E, static_cast<T>(a.scale), q.row(q0), q.rs, q.cs, k.row(k0), k.cs, k.rs, T(0), S, ld, 1);
}

// ---------------------------------------------------------------- forward
template <class T>
void forward_block(const AttentionArgs& a, const Tiling& tl, int64_t b, int64_t qb, std::vector<T>& buf) {
  const T ninf = -std::numeric_limits<T>::infinity();
  const int64_t q0 = qb * tl.bq, rows = std::min(tl.bq, a.L - q0), Ev = a.Ev;
  const Operand<T> q = at<T>(a.q, a, b), k = at<T>(a.k, a, b), v = at<T>(a.v, a, b);
  const void* mask_b = mask_at(a, b, a.mask_kind == AttentionMaskKind::Bool ? 1 : sizeof(T));
  T* O = static_cast<T*>(a.out) + (b * a.L + q0) * Ev;  // the output rows accumulate in place
  T* lse = static_cast<T*>(a.lse) + b * a.L + q0;
  buf.resize(tl.bq * tl.bk + 2 * tl.bq);
  T* S = buf.data();
  T* m = S + tl.bq * tl.bk;  // running max per row
  T* l = m + tl.bq;        // running sum per row
  std::fill(O, O + rows * Ev, T(0));
  std::fill(m, m + rows, ninf);
  std::fill(l, l + rows, T(0));

  const int64_t kend = key_end(a, q0 + rows);
  for (int64_t k0 = 0; k0 < kend; k0 += tl.bk) {
    const int64_t n = std::min(tl.bk, kend - k0);
    scores(a, q, k, q0, rows, k0, n, S, tl.bk);
    for (int64_t i = 0; i < rows; ++i) {
      T* s = S + i * tl.bk;
      const int64_t nvis = visible(a, q0 + i, k0, n);
      apply_mask(a, mask_b, q0 + i, k0, s, nvis);
      T mx = ninf;
#pragma omp simd reduction(max : mx)
      for (int64_t j = 0; j < nvis; ++j) mx = s[j] > mx ? s[j] : mx;
      const T m_new = std::max(m[i], mx);  // a NaN score reaches the row through P below
      if (m_new == ninf) {  // no visible key so far: nothing to add, unless a score is NaN
        bool nan = false;
        for (int64_t j = 0; j < nvis; ++j) nan |= s[j] != s[j];
        if (nan) {  // the max reduction skips NaNs; the row becomes NaN for good
          m[i] = l[i] = std::numeric_limits<T>::quiet_NaN();
          std::fill(O + i * Ev, O + (i + 1) * Ev, m[i]);
        }
        std::fill(s, s + n, T(0));
        continue;
      }
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < nvis; ++j) {
        const T p = fast_exp(s[j] - m_new);
        s[j] = p;
        sum += p;
      }
      std::fill(s + nvis, s + n, T(0));
      if (m[i] != m_new) {  // the max grew: rescale what was accumulated
        const T alpha = m[i] == ninf ? T(0) : fast_exp(m[i] - m_new);
        l[i] *= alpha;
        T* o = O + i * Ev;
#pragma omp simd
        for (int64_t e = 0; e < Ev; ++e) o[e] *= alpha;
        m[i] = m_new;
      }
      l[i] += sum;
    }
    gemm<T>(rows, Ev, n, T(1), S, tl.bk, 1, v.row(k0), v.rs, v.cs, T(1), O, Ev, 1);  // O += P v
  }
  for (int64_t i = 0; i < rows; ++i) {
    T* o = O + i * Ev;
    if (m[i] == ninf) {  // the row saw no key
      std::fill(o, o + Ev, T(0));
      lse[i] = ninf;
      continue;
    }
    const T inv = T(1) / l[i];
#pragma omp simd
    for (int64_t e = 0; e < Ev; ++e) o[e] *= inv;
    lse[i] = m[i] + std::log(l[i]);
  }
}

template <class T>
void forward(const AttentionArgs& a) {
  const Tiling tl = forward_tiling(a);
  const int64_t cost = tl.bq * a.S * (a.E + a.Ev) * (a.causal ? 1 : 2);  // per block, rough
  parallel_for(tl.nb * tl.nq, cost, [&](int64_t t0, int64_t t1) {
    std::vector<T> buf;
    for (int64_t t = t0; t < t1; ++t) forward_block<T>(a, tl, t / tl.nq, t % tl.nq, buf);
  });
}

// ---------------------------------------------------------------- backward
// Scratch of one task: P and dS tiles (bq x bk each).
template <class T>
struct TileScratch {
  std::vector<T> buf;
  T* P;
  T* dS;
  explicit TileScratch(const Tiling& tl) : buf(2 * tl.bq * tl.bk), P(buf.data()), dS(P + tl.bq * tl.bk) {}
};

// The tile of query block qb and the key tile at k0 (n keys): P (recomputed from lse) and
// dS = P (dO v^T - D). Returns false when no query of the block sees any of these keys.
template <class T>
bool tile_grads(const AttentionArgs& a, const Tiling& tl, int64_t b, int64_t qb, int64_t k0, int64_t n, const T* D, TileScratch<T>& ts) {
  const int64_t q0 = qb * tl.bq, rows = std::min(tl.bq, a.L - q0);
  if (a.causal && q0 + rows - 1 < k0) return false;
  const Operand<T> q = at<T>(a.q, a, b), k = at<T>(a.k, a, b), v = at<T>(a.v, a, b);
  const void* mask_b = mask_at(a, b, a.mask_kind == AttentionMaskKind::Bool ? 1 : sizeof(T));
  const T* lse = static_cast<const T*>(a.lse) + b * a.L + q0;
  const T* dO = static_cast<const T*>(a.grad_out) + (b * a.L + q0) * a.Ev;
  const T ninf = -std::numeric_limits<T>::infinity();
  scores(a, q, k, q0, rows, k0, n, ts.P, tl.bk);
  // dP = dO v^T into dS
  gemm<T>(rows, n, a.Ev, T(1), dO, a.Ev, 1, v.row(k0), v.cs, v.rs, T(0), ts.dS, tl.bk, 1);
  for (int64_t i = 0; i < rows; ++i) {
    T* p = ts.P + i * tl.bk;
    T* ds = ts.dS + i * tl.bk;
    const int64_t nvis = lse[i] == ninf ? 0 : visible(a, q0 + i, k0, n);  // lse -inf: no key seen
    apply_mask(a, mask_b, q0 + i, k0, p, nvis);
    const T li = lse[i], Di = D[q0 + i];
#pragma omp simd
    for (int64_t j = 0; j < nvis; ++j) {
      const T pj = fast_exp(p[j] - li);
      p[j] = pj;
      ds[j] = pj * (ds[j] - Di);
    }
    std::fill(p + nvis, p + n, T(0));
    std::fill(ds + nvis, ds + n, T(0));
  }
  return true;
}

// dK, dV rows of key tile kt of batch b (every query block, in order); with dq, also dQ.
template <class T>
void key_tile_backward(const AttentionArgs& a, const Tiling& tl, int64_t b, int64_t kt, const T* D, bool with_dq, TileScratch<T>& ts) {
  const int64_t k0 = kt * tl.bk, n = std::min(tl.bk, a.S - k0), E = a.E, Ev = a.Ev;
  const T scale = static_cast<T>(a.scale);
  const Operand<T> q = at<T>(a.q, a, b), k = at<T>(a.k, a, b);
  T* dk = static_cast<T*>(a.dk) + (b * a.S + k0) * E;
  T* dv = static_cast<T*>(a.dv) + (b * a.S + k0) * Ev;
  T* dq = static_cast<T*>(a.dq) + b * a.L * E;
  const T* dO = static_cast<const T*>(a.grad_out) + b * a.L * Ev;
  bool first = true;
  for (int64_t qb = first_query_block(a, tl, k0); qb < tl.nq; ++qb) {
    if (!tile_grads<T>(a, tl, b, qb, k0, n, D + b * a.L, ts)) continue;
    const int64_t q0 = qb * tl.bq, rows = std::min(tl.bq, a.L - q0);
    const T beta = first ? T(0) : T(1);
    gemm<T>(n, Ev, rows, T(1), ts.P, 1, tl.bk, dO + q0 * Ev, Ev, 1, beta, dv, Ev, 1);             // dV += P^T dO
    gemm<T>(n, E, rows, scale, ts.dS, 1, tl.bk, q.row(q0), q.rs, q.cs, beta, dk, E, 1);           // dK += s dS^T q
    if (with_dq) gemm<T>(rows, E, n, scale, ts.dS, tl.bk, 1, k.row(k0), k.rs, k.cs, T(1), dq + q0 * E, E, 1);
    first = false;
  }
  if (first) {  // no query sees these keys
    std::fill(dk, dk + n * E, T(0));
    std::fill(dv, dv + n * Ev, T(0));
  }
}

// dQ rows of query block qb of batch b (key tiles in order, as the one-pass scheme adds them).
template <class T>
void query_block_backward(const AttentionArgs& a, const Tiling& tl, int64_t b, int64_t qb, const T* D, TileScratch<T>& ts) {
  const int64_t q0 = qb * tl.bq, rows = std::min(tl.bq, a.L - q0), E = a.E;
  const Operand<T> k = at<T>(a.k, a, b);
  T* dq = static_cast<T*>(a.dq) + (b * a.L + q0) * E;
  std::fill(dq, dq + rows * E, T(0));
  const int64_t kend = key_end(a, q0 + rows);
  for (int64_t k0 = 0; k0 < kend; k0 += tl.bk) {
    const int64_t n = std::min(tl.bk, a.S - k0);  // the whole tile, as the one-pass scheme has it
    if (!tile_grads<T>(a, tl, b, qb, k0, n, D + b * a.L, ts)) continue;
    gemm<T>(rows, E, n, static_cast<T>(a.scale), ts.dS, tl.bk, 1, k.row(k0), k.rs, k.cs, T(1), dq, E, 1);
  }
}

template <class T>
void backward(const AttentionArgs& a) {
  const Tiling tl = backward_tiling(a);
  const int64_t L = a.L, Ev = a.Ev;
  // D_i = dO_i . out_i for every row of every batch matrix: O(batch * L), not O(L * S).
  std::vector<T> D(tl.nb * L);
  parallel_for(tl.nb * L, Ev, [&](int64_t r0, int64_t r1) {
    const T* dO = static_cast<const T*>(a.grad_out);
    const T* O = static_cast<const T*>(a.out);
    for (int64_t r = r0; r < r1; ++r) {
      T d = 0;
#pragma omp simd reduction(+ : d)
      for (int64_t e = 0; e < Ev; ++e) d += dO[r * Ev + e] * O[r * Ev + e];
      D[r] = d;
    }
  });
  const int threads = get_num_threads();
  const int64_t tile_cost = tl.bq * tl.bk * (2 * a.E + 3 * a.Ev);
  const bool one_pass = threads <= 1 || (tl.nb >= threads && (tl.nb % threads == 0 || tl.nb >= 4 * threads));
  if (one_pass) {
    parallel_for(tl.nb, tl.nq * tl.nk * tile_cost, [&](int64_t b0, int64_t b1) {
      TileScratch<T> ts(tl);
      for (int64_t b = b0; b < b1; ++b) {
        T* dq = static_cast<T*>(a.dq) + b * L * a.E;
        std::fill(dq, dq + L * a.E, T(0));
        for (int64_t kt = 0; kt < tl.nk; ++kt) key_tile_backward<T>(a, tl, b, kt, D.data(), true, ts);
      }
    });
    return;
  }
  parallel_for(tl.nb * tl.nk, tl.nq * tile_cost, [&](int64_t t0, int64_t t1) {
    TileScratch<T> ts(tl);
    for (int64_t t = t0; t < t1; ++t) key_tile_backward<T>(a, tl, t / tl.nk, t % tl.nk, D.data(), false, ts);
  });
  parallel_for(tl.nb * tl.nq, tl.nk * tile_cost, [&](int64_t t0, int64_t t1) {
    TileScratch<T> ts(tl);
    for (int64_t t = t0; t < t1; ++t) query_block_backward<T>(a, tl, t / tl.nq, t % tl.nq, D.data(), ts);
  });
}

void attention_forward(const AttentionArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "scaled_dot_product_attention", [&] { forward<scalar_t>(a); });
}

void attention_backward(const AttentionArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "scaled_dot_product_attention_backward", [&] { backward<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::attention_forward_kernel, attention_forward);
PE_REGISTER_CPU_KERNEL(ops::attention_backward_kernel, attention_backward);

}  // namespace pe::cpu::PE_ISA_NS
