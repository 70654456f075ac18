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
#include "math/half_types.h"

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
  // An int beyond a narrower integer type's range (1000 into int8) is the same error.
  template <class T>
  T to_checked(const char* op) const {
    bool fits = true;
    if (kind == Kind::Float && !std::is_same<T, bool>::value) {
      if constexpr (std::is_integral<T>::value) {
        // [min, max + 1) for a signed type, [0, max + 1) for uint8: every bound is an exact double.
        fits = d >= static_cast<double>(std::numeric_limits<T>::min()) &&
               d < 2.0 * static_cast<double>(std::numeric_limits<T>::max() / 2 + 1);
      } else if constexpr (sizeof(T) < sizeof(double)) {
        fits = !std::isfinite(d) || std::fabs(d) <= largest_finite<T>();
      }
    } else if (kind == Kind::Int && std::is_integral<T>::value && !std::is_same<T, bool>::value &&
               sizeof(T) < sizeof(int64_t)) {
      // PyTorch lets an int down to -max wrap into an unsigned type (full(-1, uint8) is 255).
      const int64_t max = static_cast<int64_t>(std::numeric_limits<T>::max());
      fits = i <= max && i >= (std::is_signed<T>::value ? static_cast<int64_t>(std::numeric_limits<T>::min()) : -max);
    }
    PE_CHECK(fits, RuntimeError, op, ": value ", str(), " cannot be converted to the tensor's dtype without overflow");
    return to<T>();
  }

  // The largest finite value of a floating type, the 16-bit storage types included.
  template <class T>
  static double largest_finite() {
    if constexpr (std::is_same<T, Half>::value) return 65504.0;
    else if constexpr (std::is_same<T, BFloat16>::value) return static_cast<double>(BFloat16::from_bits(0x7f7f));
    else return static_cast<double>(std::numeric_limits<T>::max());
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
