// The values of arange and linspace, one formula for both backends (PyTorch's).
#pragma once
#include <cstdint>
#include <type_traits>

#include "math/host_device.h"

namespace pe::creation {

// arange's i-th value. Floats: computed in double, then converted. int64: exact, never through
// double (so bounds beyond 2**53 stay exact), in wrapping uint64 arithmetic: the true value lies
// between start and end, so it fits in int64 even where i * step alone does not.
template <class T>
PE_HOST_DEVICE inline T arange_value(double start, double step, int64_t int_start, int64_t int_step, int64_t i) {
  if constexpr (std::is_same<T, int64_t>::value) {
    return static_cast<int64_t>(static_cast<uint64_t>(int_start) +
                                static_cast<uint64_t>(i) * static_cast<uint64_t>(int_step));
  } else {
    return static_cast<T>(start + static_cast<double>(i) * step);
  }
}

// linspace with steps >= 2: the arithmetic runs in the output type for floats and in double for
// integers; the first half counts up from start, the second half down from end, so both ends
// are exact.
template <class T>
struct Linspace {
  using step_t = std::conditional_t<std::is_integral<T>::value, double, T>;
  T start, end;
  step_t step;
  int64_t steps;

  PE_HOST_DEVICE Linspace(double start_d, double end_d, int64_t n)
      : start(static_cast<T>(start_d)),
        end(static_cast<T>(end_d)),
        step((static_cast<step_t>(end) - static_cast<step_t>(start)) / static_cast<step_t>(n - 1)),
        steps(n) {}

  PE_HOST_DEVICE T operator()(int64_t i) const {
    return i < steps / 2 ? static_cast<T>(start + step * static_cast<step_t>(i))
                         : static_cast<T>(end - step * static_cast<step_t>(steps - i - 1));
  }
};

}  // namespace pe::creation
