// The steps of the scan family, one definition for both backends (csrc/cpu/scan_kernels.cpp,
// cuda/scan.cu): the running sum, product and log-sum-exp, and the running max/min with the
// index that holds it. Every step is associative, so the GPU may combine partial scans in a
// tree and get the CPU's result up to floating-point rounding (exactly, for cummax/cummin).
#pragma once
#include <cmath>
#include <cstdint>

#include "math/host_device.h"

namespace pe::scan {

enum class ScanOp : int { Sum, Prod, LogSumExp, Max, Min };

// log(exp(a) + exp(b)) without overflow (PyTorch's _log_add_exp_helper): equal infinities stay
// as they are (-inf + -inf = -inf, inf + inf = inf), a NaN on either side gives NaN.
template <class T>
PE_HOST_DEVICE inline T log_add_exp(T a, T b) {
  if (a != a || b != b) return a + b;
  const T lo = a < b ? a : b, hi = a < b ? b : a;
  if (lo == hi && !std::isfinite(lo)) return a;
  return hi + std::log1p(std::exp(lo - hi));
}

// cummax/cummin: does the later element b (at a later index) take over from the running
// extremum a? PyTorch's rule: a NaN always does, nothing replaces a NaN but another NaN, and
// an equal value does (so ties report the last index).
template <class T>
PE_HOST_DEVICE inline bool extremum_takes_over(T a, T b, bool is_max) {
  if (b != b) return true;
  if (a != a) return false;
  return is_max ? b >= a : b <= a;
}

}  // namespace pe::scan
