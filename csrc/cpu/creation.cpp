#include "cpu/creation.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/parallel.h"

namespace pe::cpu {

void arange(const Tensor& out, double start, double step) {
  PE_DISPATCH_NUMERIC(out.dtype(), "arange", [&] {
    scalar_t* o = out.data<scalar_t>();
    parallel_for(out.numel(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = static_cast<scalar_t>(start + static_cast<double>(i) * step);
    });
  });
}

void linspace(const Tensor& out, double start_d, double end_d) {
  const int64_t steps = out.numel();
  PE_DISPATCH_NUMERIC(out.dtype(), "linspace", [&] {
    // As PyTorch: the arithmetic runs in the output type for floats and in double for
    // integers; the first half counts up from start, the second half down from end.
    using step_t = std::conditional_t<std::is_integral_v<scalar_t>, double, scalar_t>;
    const scalar_t start = static_cast<scalar_t>(start_d), end = static_cast<scalar_t>(end_d);
    const step_t step = (static_cast<step_t>(end) - static_cast<step_t>(start)) / static_cast<step_t>(steps - 1);
    const int64_t halfway = steps / 2;
    scalar_t* o = out.data<scalar_t>();
    parallel_for(steps, 1, [&](int64_t begin, int64_t stop) {
      for (int64_t i = begin; i < stop; ++i)
        o[i] = i < halfway ? static_cast<scalar_t>(start + step * static_cast<step_t>(i))
                           : static_cast<scalar_t>(end - step * static_cast<step_t>(steps - i - 1));
    });
  });
}

void eye(const Tensor& out) {
  const int64_t n = out.size(0), m = out.size(1);
  PE_DISPATCH_ALL(out.dtype(), "eye", [&] {
    scalar_t* o = out.data<scalar_t>();
    std::memset(o, 0, static_cast<size_t>(n * m) * sizeof(scalar_t));
    for (int64_t i = 0; i < std::min(n, m); ++i) o[i * m + i] = scalar_t(1);
  });
}

}  // namespace pe::cpu
