// exp (and sigmoid and tanh built on it) for the CPU kernels in plain arithmetic the compiler
// vectorises (std::exp is one scalar libm call per element). Included by per-ISA kernel files,
// so each build gets its own vector code; CUDA keeps the shared functors of
// math/elementwise_math.h.
//
// exp(x) = 2^k * exp(r): k = x / ln 2 rounded to nearest (adding and subtracting 1.5 * 2^mantissa
// rounds without a floor call, which SSE2 lacks), r = x - k ln 2 with ln 2 split in a short
// high part (k * high is exact) and a low part, so |r| <= ln(2)/2 to full precision. exp(r) is
// Cephes' minimax polynomial (float32) or Pade form (float64), about 1 ulp. 2^k is built from
// exponent bits in two halves, 2^(k/2) * 2^(k - k/2), so the results that overflow to inf or
// fall into the denormals come out right (one rounding, in the last multiply). x is clamped
// first so k stays small; beyond the clamp the multiply still gives inf or 0. NaN stays NaN.
//
// Everything here lives in the including ISA's namespace with internal linkage, so the
// AVX-512 build of a function never stands in for the generic one at link time.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace pe::cpu::PE_ISA_NS {
namespace {

// The shifts run on unsigned values: k outside the range (from a NaN input, whose result the
// caller replaces) must not be a signed-shift overflow.
inline float pow2_f32(int32_t k) {  // 2^k for -126 <= k <= 127
  const uint32_t bits = static_cast<uint32_t>(k + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline double pow2_f64(int64_t k) {  // 2^k for -1022 <= k <= 1023
  const uint64_t bits = static_cast<uint64_t>(k + 1023) << 52;
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

// e^r for the reduced argument |r| <= ln(2)/2 (Cephes' expf polynomial); the callers scale by 2^k.
inline float exp_reduced_f32(float r) {
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  return p;
}

inline float fast_exp(float x) {
  const float xc = std::min(std::max(x, -104.0f), 89.0f);  // e^-104 underflows to 0, e^89 overflows
  constexpr float kRound = 12582912.0f;                    // 1.5 * 2^23
  const float k = (xc * 1.44269504088896341f + kRound) - kRound;
  const float r = (xc - k * 0.693359375f) + k * 2.12194440e-4f;
  const float p = exp_reduced_f32(r);
  const int32_t ki = static_cast<int32_t>(k), half = ki >> 1;
  const float y = p * pow2_f32(half) * pow2_f32(ki - half);
  return x != x ? x : y;
}

inline double fast_exp(double x) {
  const double xc = std::min(std::max(x, -746.0), 710.0);  // e^-746 underflows to 0, e^710 overflows
  constexpr double kRound = 6755399441055744.0;             // 1.5 * 2^52
  const double k = (xc * 1.4426950408889634073599 + kRound) - kRound;
  const double r = (xc - k * 6.93145751953125e-1) - k * 1.42860682030941723212e-6;
  const double rr = r * r;
  const double px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr +
                         9.99999999999999999910e-1);
  const double qx = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr +
                     2.27265548208155028766e-1) * rr + 2.00000000000000000009e0;
  const double e = 1.0 + 2.0 * (px / (qx - px));
  const int64_t ki = static_cast<int64_t>(k), half = ki >> 1;
  const double y = e * pow2_f64(half) * pow2_f64(ki - half);
  return x != x ? x : y;
}

// exp(x) for x <= 0 (or NaN), as softmax numerators need it (scores minus their running max):
// no overflow side, and results below FLT_MIN (x < -87) flushed to 0 instead of rounded into
// the denormals, so 2^k is one exponent build and one multiply; t = x log2(e) + 1.5 * 2^23
// holds k in its low mantissa bits. Same polynomial (and accuracy) as fast_exp. float64 takes
// fast_exp itself.
inline float fast_exp_nonpositive(float x) {
  const float xc = std::max(x, -87.0f);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23, bits 0x4B400000
  const float t = xc * 1.44269504088896341f + kRound;
  const float k = t - kRound;
  const float r = (xc - k * 0.693359375f) + k * 2.12194440e-4f;
  const float p = exp_reduced_f32(r);
  int32_t tb;
  std::memcpy(&tb, &t, sizeof tb);
  const float y = p * pow2_f32(tb - 0x4B400000);  // k in [-126, 0]
  return x < -87.0f ? 0.0f : (x != x ? x : y);
}

inline double fast_exp_nonpositive(double x) { return fast_exp(x); }

// sigmoid as the shared functor computes it (1 / (1 + e^-x), or e^x / (1 + e^x) for x < 0 so
// the far negative tail keeps its tiny values instead of 0), with the vectorised exp.
template <class T>
inline T fast_sigmoid(T x) {
  const T e = fast_exp(-std::abs(x));
  const T s = T(1) / (T(1) + e);
  return x >= T(0) ? s : e * s;
}

// tanh: for |x| < 0.625 Cephes' odd polynomial (float32) or rational form (float64) in x^2,
// where 1 - 2/(e^2|x| + 1) would cancel; beyond, that form with the vectorised exp (the sign
// put back). Both branches are computed and one is selected, so the loop stays vector code.
inline float fast_tanh(float x) {
  const float z = std::abs(x), s = x * x;
  const float small = ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s +
                        1.33314422036e-1f) * s - 3.33332819422e-1f) * s * x + x;
  const float large = 1.0f - 2.0f / (fast_exp(2.0f * z) + 1.0f);
  return x == 0.0f ? x : z < 0.625f ? small : (x < 0.0f ? -large : large);  // -0 stays -0
}

inline double fast_tanh(double x) {
  const double z = std::abs(x), s = x * x;
  const double p = (-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s - 1.61468768441708447952e3;
  const double q = ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s + 4.84406305325125486048e3;
  const double small = x + x * s * (p / q);
  const double large = 1.0 - 2.0 / (fast_exp(2.0 * z) + 1.0);
  return x == 0.0 ? x : z < 0.625 ? small : (x < 0.0 ? -large : large);  // -0 stays -0
}

}  // namespace
}  // namespace pe::cpu::PE_ISA_NS
