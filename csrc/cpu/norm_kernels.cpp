// Batch norm and group norm (which also serves layer norm and RMS norm), forward and fused
// backward. See ops/norm.h for how the op layer lays the tensors out.
//
// Statistics: one pass over memory per "plane" (a contiguous run of S elements that shares
// one channel), summing d = x - shift and d*d in vector registers, chunk by chunk into double,
// where shift is the channel's (or group's) first element. Shifting removes the cancellation
// of E[x^2] - E[x]^2 when |mean| >> std. Plane partials are merged in index order, so results
// never depend on how many threads computed them.
//
// Backward, with xhat = (x - mean) * invstd, dy the incoming gradient and w the weight,
// over the M elements that share one mean:
//   dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
//   dw = sum(dy * xhat),  db = sum(dy)
// (eval-mode batch norm uses constant statistics: dx = w * invstd * dy).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm_direct.h"  // Vec / sum_lanes: the ISA's vector registers
#include "ops/norm.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::BatchNormBackwardArgs;
using ops::BatchNormForwardArgs;
using ops::GroupNormBackwardArgs;
using ops::GroupNormForwardArgs;

using gemm_detail::sum_lanes;
using gemm_detail::Vec;

// Sums run in two vector registers of T (W lanes each) over chunks of at most kChunk elements
// (a float lane adds at most kChunk / (2 * W) <= 256 values, far below where float rounding
// would matter), and each chunk's lanes are added into double. The order is fixed by the
// data's length (and the ISA's vector width), never by the thread count.
constexpr int64_t kChunk = 2048;

// s = sum(x - shift), q = sum((x - shift)^2) over n contiguous elements. `shift` must be
// exactly representable in T (it is an element of x, or 0).
template <class T>
inline void shifted_sums(const T* x, int64_t n, double shift, double& s, double& q) {
  using V = Vec<T>;
  constexpr int W = V::W;
  const T sh = static_cast<T>(shift);
  double ts = 0, tq = 0;
  int64_t i = 0;
  while (i + W <= n) {
    const int64_t end = std::min(n, i + kChunk);
    typename V::type s0 = {}, s1 = {}, q0 = {}, q1 = {};
    for (; i + 2 * W <= end; i += 2 * W) {
      const typename V::type d0 = V::load(x + i) - sh, d1 = V::load(x + i + W) - sh;
      s0 += d0;
      q0 += d0 * d0;
      s1 += d1;
      q1 += d1 * d1;
    }
    for (; i + W <= end; i += W) {
      const typename V::type d0 = V::load(x + i) - sh;
      s0 += d0;
      q0 += d0 * d0;
    }
    ts += static_cast<double>(sum_lanes<T>(s0 + s1));
    tq += static_cast<double>(sum_lanes<T>(q0 + q1));
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    ts += d;
    tq += d * d;
  }
  s = ts;
  q = tq;
}

template <class T, bool Weighted>
inline void grad_sums_impl(const T* dy, const T* w, const T* x, int64_t n, double mean, double& sg,
                           double& sgx) {
  using V = Vec<T>;
  constexpr int W = V::W;
  const T m = static_cast<T>(mean);
  const auto load_g = [&](int64_t i) {
    return Weighted ? V::load(dy + i) * V::load(w + i) : V::load(dy + i);
  };
  double tg = 0, tx = 0;
  int64_t i = 0;
  while (i + W <= n) {
    const int64_t end = std::min(n, i + kChunk);
    typename V::type g0 = {}, g1 = {}, x0 = {}, x1 = {};
    for (; i + 2 * W <= end; i += 2 * W) {
      const typename V::type a = load_g(i), b = load_g(i + W);
      g0 += a;
      x0 += a * (V::load(x + i) - m);
      g1 += b;
      x1 += b * (V::load(x + i + W) - m);
    }
    for (; i + W <= end; i += W) {
      const typename V::type a = load_g(i);
      g0 += a;
      x0 += a * (V::load(x + i) - m);
    }
    tg += static_cast<double>(sum_lanes<T>(g0 + g1));
    tx += static_cast<double>(sum_lanes<T>(x0 + x1));
  }
  for (; i < n; ++i) {
    const double g = static_cast<double>(dy[i]) * (Weighted ? static_cast<double>(w[i]) : 1.0);
    tg += g;
    tx += g * (static_cast<double>(x[i]) - static_cast<double>(m));
  }
  sg = tg;
  sgx = tx;
}

// sg = sum(dy), sgx = sum(dy * (x - mean)) over n contiguous elements (mean a value of T);
// with a weight w (n elements), dy * w takes the place of dy.
template <class T>
inline void grad_sums(const T* dy, const T* w, const T* x, int64_t n, double mean, double& sg, double& sgx) {
  if (w) {
    grad_sums_impl<T, true>(dy, w, x, n, mean, sg, sgx);
  } else {
    grad_sums_impl<T, false>(dy, w, x, n, mean, sg, sgx);
  }
}

// y = x * scale + shift over n contiguous elements (vectorizes in T).
template <class T>
inline void affine_run(const T* x, T* y, int64_t n, T scale, T shift) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

// An optional per-channel parameter: weight defaults to 1, bias to 0 when absent (null).
template <class T>
inline T param_or(const void* p, int64_t i, T dflt) {
  return p ? static_cast<const T*>(p)[i] : dflt;
}

// ---------------------------------------------------------------- batch norm
// Three schedules with identical arithmetic (each plane's sums, merged in n order), so the
// result never depends on which one runs:
//  - whole channels per thread (at least as many channels as threads, long planes): a thread sums a
//    channel's N planes and normalises them right away, while they are still in cache (one
//    trip to memory instead of two);
//  - split planes (fewer channels than threads): all planes summed in parallel, then merged,
//    then normalised in a second parallel pass;
//  - columns (S == 1, input (N, C)): a plane is one element, so rows are swept with the loop
//    over channels innermost (vectorized), each channel's sums accumulating in n order.
// Whole channels need planes long enough (>= 256 elements) that hopping from one plane to the
// next (C * S elements apart) does not defeat the hardware prefetcher; short planes are read in
// memory order instead.
inline bool whole_channels_per_thread(int64_t C, int64_t S) { return C >= get_num_threads() && S >= 256; }

// f(p, c) for planes p in [b, e) of an (N, C, S) tensor (p = n * C + c), without a division
// per plane.
template <class F>
inline void for_planes(int64_t b, int64_t e, int64_t C, F&& f) {
  for (int64_t p = b, c = b % C; p < e; ++p) {
    f(p, c);
    if (++c == C) c = 0;
  }
}

template <class T>
void batch_norm_forward_t(const BatchNormForwardArgs& a) {
  const int64_t N = a.N, C = a.C, S = a.S, P = N * C, M = N * S;
  const int64_t ms = a.running_mean_stride, vs = a.running_var_stride;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  T* rm = static_cast<T*>(a.running_mean);
  T* rv = static_cast<T*>(a.running_var);
  std::vector<T> scale(C), shift(C);  // y = x * scale[c] + shift[c]

  // Channel c's statistics from its merged shifted sums (training) or from the running
  // stats (eval): saved for backward, the running stats updated, scale/shift set.
  const auto finish_channel = [&](int64_t c, double s, double q) {
    double mean, invstd;
    if (a.training) {
      const double d = s / M, var = std::max(q / M - d * d, 0.0);
      mean = static_cast<double>(x[c * S]) + d;
      invstd = 1.0 / std::sqrt(var + a.eps);
      if (rm) {
        const double mom = a.momentum;
        rm[c * ms] = static_cast<T>((1 - mom) * rm[c * ms] + mom * mean);
        rv[c * vs] = static_cast<T>((1 - mom) * rv[c * vs] + mom * var * M / (M - 1));
      }
    } else {
      mean = static_cast<double>(rm[c * ms]);
      invstd = 1.0 / std::sqrt(static_cast<double>(rv[c * vs]) + a.eps);
    }
    const T mean_t = static_cast<T>(mean), invstd_t = static_cast<T>(invstd);
    static_cast<T*>(a.save_mean)[c] = mean_t;
    static_cast<T*>(a.save_invstd)[c] = invstd_t;
    const double sc = param_or<T>(a.weight, c, T(1)) * static_cast<double>(invstd_t);
    scale[c] = static_cast<T>(sc);
    shift[c] = static_cast<T>(param_or<T>(a.bias, c, T(0)) - static_cast<double>(mean_t) * sc);
  };
  const auto normalise_plane = [&](int64_t p, int64_t c) {
    affine_run(x + p * S, y + p * S, S, scale[c], shift[c]);
  };
  // Merge a channel's plane sums (pairs `step` doubles apart) in n order.
  const auto channel_sums = [&](const double* part, int64_t step, double& s, double& q) {
    s = 0, q = 0;
    for (int64_t n = 0; n < N; ++n) {
      s += part[n * step];
      q += part[n * step + 1];
    }
  };

  if (S == 1) {
    parallel_for(C, 3 * N, [&](int64_t b, int64_t e) {
      const int64_t w = e - b;
      std::vector<double> s(w, 0.0), q(w, 0.0);
      if (a.training)
        for (int64_t n = 0; n < N; ++n) {
          const T* row = x + n * C + b;
          for (int64_t j = 0; j < w; ++j) {
            const double d = static_cast<double>(row[j]) - static_cast<double>(x[b + j]);
            s[j] += d;
            q[j] += d * d;
          }
        }
      for (int64_t j = 0; j < w; ++j) finish_channel(b + j, s[j], q[j]);
      for (int64_t n = 0; n < N; ++n) {
        const T* row = x + n * C;
        T* out = y + n * C;
        for (int64_t c = b; c < e; ++c) out[c] = row[c] * scale[c] + shift[c];
      }
    });
    return;
  }
  if (whole_channels_per_thread(C, S)) {
    parallel_for(C, 3 * M, [&](int64_t b, int64_t e) {
      std::vector<double> part(a.training ? 2 * N : 0);  // this channel's plane sums
      for (int64_t c = b; c < e; ++c) {
        double s = 0, q = 0;
        if (a.training) {
          const double sh = static_cast<double>(x[c * S]);
          for (int64_t n = 0; n < N; ++n) shifted_sums(x + (n * C + c) * S, S, sh, part[2 * n], part[2 * n + 1]);
          channel_sums(part.data(), 2, s, q);
        }
        finish_channel(c, s, q);
        for (int64_t n = 0; n < N; ++n) normalise_plane(n * C + c, c);
      }
    });
    return;
  }
  std::vector<double> part(a.training ? 2 * P : 0);  // per plane: shifted sum, sum of squares
  if (a.training)
    parallel_for(P, S, [&](int64_t b, int64_t e) {
      for_planes(b, e, C, [&](int64_t p, int64_t c) {
        shifted_sums(x + p * S, S, static_cast<double>(x[c * S]), part[2 * p], part[2 * p + 1]);
      });
    });
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, q = 0;
    if (a.training) channel_sums(part.data() + 2 * c, 2 * C, s, q);
    finish_channel(c, s, q);
  }
  parallel_for(P, 2 * S, [&](int64_t b, int64_t e) { for_planes(b, e, C, normalise_plane); });
}

template <class T>
void batch_norm_backward_t(const BatchNormBackwardArgs& a) {
  const int64_t N = a.N, C = a.C, S = a.S, P = N * C, M = N * S;
  const T* dy = static_cast<const T*>(a.grad);
  const T* x = static_cast<const T*>(a.x);
  const T* mean = static_cast<const T*>(a.mean);
  const T* invstd = static_cast<const T*>(a.invstd);
  T* dx = static_cast<T*>(a.grad_input);
  T* gw = static_cast<T*>(a.grad_weight);
  T* gb = static_cast<T*>(a.grad_bias);
  const bool need_sums = a.training || gw || gb;
  std::vector<T> k1(C), k2(C), k3(C);  // dx = k1[c] * dy + k2[c] * x + k3[c]
  const auto finish_channel = [&](int64_t c, double sg, double sgx) {
    const double inv = invstd[c], w = param_or<T>(a.weight, c, T(1));
    if (gw) gw[c] = static_cast<T>(sgx * inv);
    if (gb) gb[c] = static_cast<T>(sg);
    double c2 = 0, c3 = 0;
    if (a.training) {
      c2 = -w * inv * inv * inv * sgx / M;
      c3 = -w * inv * sg / M - c2 * static_cast<double>(mean[c]);
    }
    k1[c] = static_cast<T>(w * inv);
    k2[c] = static_cast<T>(c2);
    k3[c] = static_cast<T>(c3);
  };
  const auto input_grad_plane = [&](int64_t p, int64_t c) {
    const T c1 = k1[c], c2 = k2[c], c3 = k3[c];
    const T* g = dy + p * S;
    const T* xp = x + p * S;
    T* o = dx + p * S;
    for (int64_t i = 0; i < S; ++i) o[i] = c1 * g[i] + c2 * xp[i] + c3;
  };
  const auto plane_sums = [&](int64_t p, int64_t c, double* out) {
    grad_sums<T>(dy + p * S, nullptr, x + p * S, S, static_cast<double>(mean[c]), out[0], out[1]);
  };
  // Merge a channel's plane sums (pairs `step` doubles apart) in n order.
  const auto channel_sums = [&](const double* part, int64_t step, double& sg, double& sgx) {
    sg = 0, sgx = 0;
    for (int64_t n = 0; n < N; ++n) {
      sg += part[n * step];
      sgx += part[n * step + 1];
    }
  };

  if (S == 1) {  // see batch_norm_forward_t
    parallel_for(C, 5 * N, [&](int64_t b, int64_t e) {
      const int64_t w = e - b;
      std::vector<double> sg(w, 0.0), sgx(w, 0.0);
      if (need_sums)
        for (int64_t n = 0; n < N; ++n) {
          const T* g = dy + n * C + b;
          const T* xr = x + n * C + b;
          for (int64_t j = 0; j < w; ++j) {
            const double gv = static_cast<double>(g[j]);
            sg[j] += gv;
            sgx[j] += gv * (static_cast<double>(xr[j]) - static_cast<double>(mean[b + j]));
          }
        }
      for (int64_t j = 0; j < w; ++j) finish_channel(b + j, sg[j], sgx[j]);
      if (dx)
        for (int64_t n = 0; n < N; ++n) {
          const T* g = dy + n * C;
          const T* xr = x + n * C;
          T* o = dx + n * C;
          for (int64_t c = b; c < e; ++c) o[c] = k1[c] * g[c] + k2[c] * xr[c] + k3[c];
        }
    });
    return;
  }
  if (whole_channels_per_thread(C, S)) {
    parallel_for(C, 5 * M, [&](int64_t b, int64_t e) {
      std::vector<double> part(need_sums ? 2 * N : 0);  // this channel's plane sums
      for (int64_t c = b; c < e; ++c) {
        double sg = 0, sgx = 0;
        if (need_sums) {
          for (int64_t n = 0; n < N; ++n) plane_sums(n * C + c, c, part.data() + 2 * n);
          channel_sums(part.data(), 2, sg, sgx);
        }
        finish_channel(c, sg, sgx);
        if (dx)
          for (int64_t n = 0; n < N; ++n) input_grad_plane(n * C + c, c);
      }
    });
    return;
  }
  std::vector<double> part(need_sums ? 2 * P : 0);  // per plane: sum(dy), sum(dy * (x - mean))
  if (need_sums)
    parallel_for(P, 2 * S, [&](int64_t b, int64_t e) {
      for_planes(b, e, C, [&](int64_t p, int64_t c) { plane_sums(p, c, part.data() + 2 * p); });
    });
  for (int64_t c = 0; c < C; ++c) {
    double sg = 0, sgx = 0;
    if (need_sums) channel_sums(part.data() + 2 * c, 2 * C, sg, sgx);
    finish_channel(c, sg, sgx);
  }
  if (dx) parallel_for(P, 3 * S, [&](int64_t b, int64_t e) { for_planes(b, e, C, input_grad_plane); });
}

// ---------------------------------------------------------------- group norm
template <class T>
void group_norm_forward_t(const GroupNormForwardArgs& a) {
  const int64_t G = a.G, Cg = a.C / G, S = a.S, D = Cg * S, groups = a.N * G;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  T* mean_out = static_cast<T*>(a.mean);
  T* rstd_out = static_cast<T*>(a.rstd);
  parallel_for(groups, 2 * D, [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; ++q) {
      const T* xp = x + q * D;  // group q = (n, g) is contiguous: (n*C + g*Cg)*S = q*D
      T* yp = y + q * D;
      const double shift = a.subtract_mean ? static_cast<double>(xp[0]) : 0.0;
      double s, sq;
      shifted_sums(xp, D, shift, s, sq);
      double mu = 0, var;
      if (a.subtract_mean) {
        const double d = s / D;
        mu = shift + d;
        var = std::max(sq / D - d * d, 0.0);
      } else {
        var = sq / D;  // mean of squares
      }
      const double r = 1.0 / std::sqrt(var + a.eps);
      if (mean_out) mean_out[q] = static_cast<T>(mu);
      rstd_out[q] = static_cast<T>(r);
      const int64_t c0 = (q % G) * Cg;
      if (S == 1) {  // layer / RMS norm: affine per element of the row
        const T mu_t = static_cast<T>(mu), r_t = static_cast<T>(r);
        const T* w = a.weight ? static_cast<const T*>(a.weight) + c0 : nullptr;
        const T* bb = a.bias ? static_cast<const T*>(a.bias) + c0 : nullptr;
        if (w && bb)
          for (int64_t i = 0; i < D; ++i) yp[i] = (xp[i] - mu_t) * r_t * w[i] + bb[i];
        else if (w)
          for (int64_t i = 0; i < D; ++i) yp[i] = (xp[i] - mu_t) * r_t * w[i];
        else
          for (int64_t i = 0; i < D; ++i) yp[i] = (xp[i] - mu_t) * r_t;
      } else {
        for (int64_t c = 0; c < Cg; ++c) {
          const double sc = param_or<T>(a.weight, c0 + c, T(1)) * r;
          const double sh = param_or<T>(a.bias, c0 + c, T(0)) - mu * sc;
          affine_run(xp + c * S, yp + c * S, S, static_cast<T>(sc), static_cast<T>(sh));
        }
      }
    }
  });
}

// dst += acc (in double), acc = 0.
template <class T>
inline void flush(std::vector<T>& acc_w, std::vector<T>& acc_b, double* dst_w, double* dst_b) {
  for (size_t c = 0; c < acc_w.size(); ++c) {
    dst_w[c] += static_cast<double>(acc_w[c]);
    dst_b[c] += static_cast<double>(acc_b[c]);
    acc_w[c] = acc_b[c] = T(0);
  }
}

template <class T>
void group_norm_backward_t(const GroupNormBackwardArgs& a) {
  const int64_t N = a.N, C = a.C, G = a.G, Cg = C / G, S = a.S, D = Cg * S;
  const T* dy = static_cast<const T*>(a.grad);
  const T* x = static_cast<const T*>(a.x);
  const T* mean = static_cast<const T*>(a.mean);
  const T* rstd = static_cast<const T*>(a.rstd);
  T* dx = static_cast<T*>(a.grad_input);
  const bool need_params = a.grad_weight || a.grad_bias;
  // Samples are split into a fixed number of blocks (never the thread count); each block sums
  // its weight/bias gradient into its own row, and the rows are merged in order afterwards.
  const int64_t blocks = std::min<int64_t>(N, 64);
  std::vector<double> pw(need_params ? blocks * C : 0, 0.0), pb(need_params ? blocks * C : 0, 0.0);
  parallel_for(blocks, (N / std::max<int64_t>(blocks, 1)) * C * S * 3, [&](int64_t b0, int64_t b1) {
    std::vector<double> ds(S == 1 ? 0 : Cg), db(S == 1 ? 0 : Cg);  // per channel: sum(dy*(x-mu)), sum(dy)
    // S == 1: weight/bias gradients gather in T registers-friendly arrays, flushed into the
    // block's double row every kFlushRows rows (at fixed rows, so the order stays fixed).
    constexpr int64_t kFlushRows = 32;
    const bool rows = S == 1 && need_params;
    std::vector<T> acc_w(rows ? C : 0), acc_b(rows ? C : 0);
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* bw = need_params ? pw.data() + blk * C : nullptr;
      double* bb = need_params ? pb.data() + blk * C : nullptr;
      const int64_t n0 = N * blk / blocks, n1 = N * (blk + 1) / blocks;
      for (int64_t n = n0; n < n1; ++n) {
        if (rows && (n - n0) % kFlushRows == 0 && n > n0) flush(acc_w, acc_b, bw, bb);
        for (int64_t g = 0; g < G; ++g) {
          const int64_t q = n * G + g, c0 = g * Cg;
          const T* gp = dy + q * D;
          const T* xp = x + q * D;
          const double mu = mean ? static_cast<double>(mean[q]) : 0.0;
          const double r = static_cast<double>(rstd[q]);
          double sum_a = 0, sum_b = 0;  // sum(w * dy * (x - mu)), sum(w * dy) over the group
          if (S == 1) {  // layer / RMS norm: one element per channel, weight per element
            const T* w = a.weight ? static_cast<const T*>(a.weight) + c0 : nullptr;
            grad_sums(gp, w, xp, D, mu, sum_b, sum_a);
            if (need_params) {
              const T mu_t = static_cast<T>(mu), r_t = static_cast<T>(r);
              T* aw = acc_w.data() + c0;
              T* ab = acc_b.data() + c0;
              for (int64_t c = 0; c < Cg; ++c) {
                aw[c] += gp[c] * (xp[c] - mu_t) * r_t;
                ab[c] += gp[c];
              }
            }
          } else {
            for (int64_t c = 0; c < Cg; ++c) grad_sums<T>(gp + c * S, nullptr, xp + c * S, S, mu, db[c], ds[c]);
            for (int64_t c = 0; c < Cg; ++c) {
              const double w = param_or<T>(a.weight, c0 + c, T(1));
              sum_a += w * ds[c];
              sum_b += w * db[c];
            }
            if (need_params)
              for (int64_t c = 0; c < Cg; ++c) {
                bw[c0 + c] += ds[c] * r;
                bb[c0 + c] += db[c];
              }
          }
          if (!dx) continue;
          // dx = r * w * dy - A * (x - mu) - B
          const double A = r * r * r * sum_a / D;
          const double B = a.subtract_mean ? r * sum_b / D : 0.0;
          const T A_t = static_cast<T>(A), mu_t = static_cast<T>(mu);
          T* o = dx + q * D;
          const T B_t = static_cast<T>(B);
          if (S == 1 && a.weight) {  // layer norm: per-element weight, one vectorizable loop
            const T* w = static_cast<const T*>(a.weight) + c0;
            const T r_t = static_cast<T>(r);
            for (int64_t i = 0; i < Cg; ++i) o[i] = r_t * w[i] * gp[i] - A_t * (xp[i] - mu_t) - B_t;
            continue;
          }
          for (int64_t c = 0; c < Cg; ++c) {
            const T k = static_cast<T>(r * param_or<T>(a.weight, c0 + c, T(1)));
            const T* gc = gp + c * S;
            const T* xc = xp + c * S;
            T* oc = o + c * S;
            for (int64_t i = 0; i < S; ++i) oc[i] = k * gc[i] - A_t * (xc[i] - mu_t) - B_t;
          }
        }
      }
      if (rows) flush(acc_w, acc_b, bw, bb);
    }
  });
  if (!need_params) return;
  T* gw = static_cast<T*>(a.grad_weight);
  T* gb = static_cast<T*>(a.grad_bias);
  for (int64_t c = 0; c < C; ++c) {
    double sw = 0, sb = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      sw += pw[blk * C + c];
      sb += pb[blk * C + c];
    }
    if (gw) gw[c] = static_cast<T>(sw);
    if (gb) gb[c] = static_cast<T>(sb);
  }
}

void batch_norm_forward(const BatchNormForwardArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "batch_norm", [&] { batch_norm_forward_t<scalar_t>(a); });
}
void batch_norm_backward(const BatchNormBackwardArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "batch_norm_backward", [&] { batch_norm_backward_t<scalar_t>(a); });
}
void group_norm_forward(const GroupNormForwardArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "group_norm", [&] { group_norm_forward_t<scalar_t>(a); });
}
void group_norm_backward(const GroupNormBackwardArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "group_norm_backward", [&] { group_norm_backward_t<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::batch_norm_forward_kernel, batch_norm_forward);
PE_REGISTER_CPU_KERNEL(ops::batch_norm_backward_kernel, batch_norm_backward);
PE_REGISTER_CPU_KERNEL(ops::group_norm_forward_kernel, group_norm_forward);
PE_REGISTER_CPU_KERNEL(ops::group_norm_backward_kernel, group_norm_backward);

}  // namespace pe::cpu::PE_ISA_NS
