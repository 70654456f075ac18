// The values of arange and linspace, one formula for both backends (PyTorch's).
#pragma once
#include <cstdint>
#include <type_traits>

#include "math/host_device.h"

namespace pe::creation {

// arange: computed in double, then converted.
template <class T>
PE_HOST_DEVICE inline T arange_value(double start, double step, int64_t i) {
  return static_cast<T>(start + static_cast<double>(i) * step);
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
