// A Python number on its way to a kernel: bool, int64 or double, kept as it came until it is
// converted once to the dtype that uses it. An int64 above 2**53 never passes through double
// (full, fill_, x[i] = v, arange), so it arrives exact.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "core/error.h"

namespace pe {

struct Scalar {
  enum class Kind : uint8_t { Bool, Int, Float };

  Kind kind = Kind::Float;
  bool b = false;
  int64_t i = 0;
  double d = 0.0;

  Scalar() = default;
  Scalar(bool v) : kind(Kind::Bool), b(v) {}
  Scalar(int v) : kind(Kind::Int), i(v) {}
  Scalar(long v) : kind(Kind::Int), i(v) {}
  Scalar(long long v) : kind(Kind::Int), i(v) {}
  Scalar(double v) : kind(Kind::Float), d(v) {}

  bool is_floating() const { return kind == Kind::Float; }
  bool is_integral() const { return kind != Kind::Float; }  // bool counts, as in PyTorch

  // The value converted to T (C++'s conversion: floats truncate toward zero for integers).
  template <class T>
  T to() const {
    switch (kind) {
      case Kind::Bool: return static_cast<T>(b);
      case Kind::Int: return static_cast<T>(i);
      case Kind::Float: break;
    }
    return static_cast<T>(d);
  }

  // to<T>() for a value stored into a tensor of T (fill_, full): like PyTorch, a float that T
  // cannot hold (NaN or out of range for an integer, finite beyond float's range for float32) is
  // a RuntimeError naming `op` and the value, instead of undefined behaviour.
  template <class T>
  T to_checked(const char* op) const {
    if (kind == Kind::Float && !std::is_same<T, bool>::value) {
      bool fits = true;
      if constexpr (std::is_integral<T>::value) {
        // [-2**63, 2**63) for int64: both bounds are exact doubles.
        fits = d >= static_cast<double>(std::numeric_limits<T>::min()) &&
               d < -2.0 * static_cast<double>(std::numeric_limits<T>::min() / 2);
      } else if constexpr (sizeof(T) < sizeof(double)) {
        fits = !std::isfinite(d) || std::fabs(d) <= static_cast<double>(std::numeric_limits<T>::max());
      }
      PE_CHECK(fits, RuntimeError, op, ": value ", str(),
               " cannot be converted to the tensor's dtype without overflow");
    }
    return to<T>();
  }

  std::string str() const {
    switch (kind) {
      case Kind::Bool: return b ? "True" : "False";
      case Kind::Int: return pe::str(i);
      case Kind::Float: break;
    }
    return pe::str(d);
  }
};

}  // namespace pe
