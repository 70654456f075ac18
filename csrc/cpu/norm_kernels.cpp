// Batch norm and group norm (which also serves layer norm and RMS norm), forward and fused
// backward. See cpu/norm.h for how the op layer lays the tensors out.
//
// Statistics: one pass over memory per "plane" (a contiguous run of S elements that shares
// one channel), summing d = x - shift and d*d in double with a fixed number of lanes, where
// shift is the channel's (or group's) first element. Shifting removes the cancellation of
// E[x^2] - E[x]^2 when |mean| >> std. Plane partials are merged in index order, so results
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
#include "cpu/norm.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

// Independent accumulators the compiler turns into SIMD registers; a fixed count keeps the
// summation order (and so the result) the same on every machine and thread count.
constexpr int kLanes = 8;

// s = sum(x - shift), q = sum((x - shift)^2) over n contiguous elements.
template <class T>
inline void shifted_sums(const T* x, int64_t n, double shift, double& s, double& q) {
  double ls[kLanes] = {}, lq[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double d = static_cast<double>(x[i + j]) - shift;
      ls[j] += d;
      lq[j] += d * d;
    }
  double ts = 0, tq = 0;
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    ts += d;
    tq += d * d;
  }
  for (int j = 0; j < kLanes; ++j) {
    ts += ls[j];
    tq += lq[j];
  }
  s = ts;
  q = tq;
}

// sg = sum(dy), sgx = sum(dy * (x - mean)) over n contiguous elements.
template <class T>
inline void grad_sums(const T* dy, const T* x, int64_t n, double mean, double& sg, double& sgx) {
  double lg[kLanes] = {}, lx[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double g = static_cast<double>(dy[i + j]);
      lg[j] += g;
      lx[j] += g * (static_cast<double>(x[i + j]) - mean);
    }
  double tg = 0, tx = 0;
  for (; i < n; ++i) {
    const double g = static_cast<double>(dy[i]);
    tg += g;
    tx += g * (static_cast<double>(x[i]) - mean);
  }
  for (int j = 0; j < kLanes; ++j) {
    tg += lg[j];
    tx += lx[j];
  }
  sg = tg;
  sgx = tx;
}

// y = x * scale + shift over n contiguous elements (vectorizes in T).
template <class T>
inline void affine_run(const T* x, T* y, int64_t n, T scale, T shift) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

// weight/bias default to 1/0: read through these so the loops need no branches.
template <class T>
inline T param_or(const void* p, int64_t i, T dflt) {
  return p ? static_cast<const T*>(p)[i] : dflt;
}

// ---------------------------------------------------------------- batch norm
template <class T>
void batch_norm_forward_t(const BatchNormForwardArgs& a) {
  const int64_t N = a.N, C = a.C, S = a.S, P = N * C, M = N * S;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  std::vector<double> mean(C), invstd(C);
  T* rm = static_cast<T*>(a.running_mean);
  T* rv = static_cast<T*>(a.running_var);
  const int64_t rs = a.running_stride;
  if (a.training) {
    std::vector<double> part(2 * P);  // per plane (n, c): shifted sum, shifted sum of squares
    parallel_for(P, S, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        shifted_sums(x + p * S, S, static_cast<double>(x[(p % C) * S]), part[2 * p], part[2 * p + 1]);
    });
    parallel_for(C, 2 * N, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        double s = 0, q = 0;
        for (int64_t n = 0; n < N; ++n) {
          s += part[2 * (n * C + c)];
          q += part[2 * (n * C + c) + 1];
        }
        const double d = s / M, var = std::max(q / M - d * d, 0.0);
        mean[c] = static_cast<double>(x[c * S]) + d;
        invstd[c] = 1.0 / std::sqrt(var + a.eps);
        if (rm) {
          const double mom = a.momentum;
          rm[c * rs] = static_cast<T>((1 - mom) * rm[c * rs] + mom * mean[c]);
          rv[c * rs] = static_cast<T>((1 - mom) * rv[c * rs] + mom * var * M / (M - 1));
        }
      }
    });
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = static_cast<double>(rm[c * rs]);
      invstd[c] = 1.0 / std::sqrt(static_cast<double>(rv[c * rs]) + a.eps);
    }
  }
  T* sm = static_cast<T*>(a.save_mean);
  T* si = static_cast<T*>(a.save_invstd);
  std::vector<T> scale(C), shift(C);
  for (int64_t c = 0; c < C; ++c) {
    if (sm) sm[c] = static_cast<T>(mean[c]);
    if (si) si[c] = static_cast<T>(invstd[c]);
    const double sc = param_or<T>(a.weight, c, T(1)) * invstd[c];
    scale[c] = static_cast<T>(sc);
    shift[c] = static_cast<T>(param_or<T>(a.bias, c, T(0)) - mean[c] * sc);
  }
  parallel_for(P, S, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) affine_run(x + p * S, y + p * S, S, scale[p % C], shift[p % C]);
  });
}

template <class T>
void batch_norm_backward_t(const BatchNormBackwardArgs& a) {
  const int64_t N = a.N, C = a.C, S = a.S, P = N * C, M = N * S;
  const T* dy = static_cast<const T*>(a.grad);
  const T* x = static_cast<const T*>(a.x);
  const T* mean = static_cast<const T*>(a.mean);
  const T* invstd = static_cast<const T*>(a.invstd);
  std::vector<double> sg(C, 0.0), sgx(C, 0.0);
  const bool need_sums = a.training || a.grad_weight || a.grad_bias;
  if (need_sums) {
    std::vector<double> part(2 * P);  // per plane: sum(dy), sum(dy * (x - mean))
    parallel_for(P, 2 * S, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        grad_sums(dy + p * S, x + p * S, S, static_cast<double>(mean[p % C]), part[2 * p], part[2 * p + 1]);
    });
    for (int64_t n = 0; n < N; ++n)  // fixed order: plane 0, 1, ... of each channel
      for (int64_t c = 0; c < C; ++c) {
        sg[c] += part[2 * (n * C + c)];
        sgx[c] += part[2 * (n * C + c) + 1];
      }
  }
  if (a.grad_weight)
    for (int64_t c = 0; c < C; ++c) static_cast<T*>(a.grad_weight)[c] = static_cast<T>(sgx[c] * invstd[c]);
  if (a.grad_bias)
    for (int64_t c = 0; c < C; ++c) static_cast<T*>(a.grad_bias)[c] = static_cast<T>(sg[c]);
  if (!a.grad_input) return;
  // dx = k1 * dy + k2 * x + k3 per channel.
  std::vector<T> k1(C), k2(C), k3(C);
  for (int64_t c = 0; c < C; ++c) {
    const double inv = invstd[c], w = param_or<T>(a.weight, c, T(1));
    double c1 = w * inv, c2 = 0, c3 = 0;
    if (a.training) {
      c2 = -w * inv * inv * inv * sgx[c] / M;
      c3 = -w * inv * sg[c] / M - c2 * static_cast<double>(mean[c]);
    }
    k1[c] = static_cast<T>(c1);
    k2[c] = static_cast<T>(c2);
    k3[c] = static_cast<T>(c3);
  }
  T* dx = static_cast<T*>(a.grad_input);
  parallel_for(P, 2 * S, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t c = p % C;
      const T c1 = k1[c], c2 = k2[c], c3 = k3[c];
      const T* g = dy + p * S;
      const T* xp = x + p * S;
      T* o = dx + p * S;
      for (int64_t i = 0; i < S; ++i) o[i] = c1 * g[i] + c2 * xp[i] + c3;
    }
  });
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
    std::vector<double> ds(Cg), db(Cg);  // per channel of the group: sum(dy * (x - mu)), sum(dy)
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* bw = need_params ? pw.data() + blk * C : nullptr;
      double* bb = need_params ? pb.data() + blk * C : nullptr;
      for (int64_t n = N * blk / blocks; n < N * (blk + 1) / blocks; ++n)
        for (int64_t g = 0; g < G; ++g) {
          const int64_t q = n * G + g, c0 = g * Cg;
          const T* gp = dy + q * D;
          const T* xp = x + q * D;
          const double mu = mean ? static_cast<double>(mean[q]) : 0.0;
          const double r = static_cast<double>(rstd[q]);
          double sum_a = 0, sum_b = 0;  // sum(w * dy * (x - mu)), sum(w * dy) over the group
          if (S == 1) {
            for (int64_t c = 0; c < Cg; ++c) {
              const double gv = static_cast<double>(gp[c]);
              ds[c] = gv * (static_cast<double>(xp[c]) - mu);
              db[c] = gv;
            }
          } else {
            for (int64_t c = 0; c < Cg; ++c) grad_sums(gp + c * S, xp + c * S, S, mu, db[c], ds[c]);
          }
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

}  // namespace

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

}  // namespace pe::cpu::PE_ISA_NS
