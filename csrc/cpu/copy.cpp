#include "cpu/copy.h"

#include <cstring>

#include "core/iter.h"
#include "ops/copy.h"

namespace pe::cpu {

template <class Dst, class Src>
static void copy_typed(const Tensor& dst, const Tensor& src) {
  auto loop = make_loop<2>(dst.shape(), {&dst, &src});
  loop.run([](char* const* p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(Dst) && s[1] == sizeof(Src)) {
      Dst* d = reinterpret_cast<Dst*>(p[0]);
      const Src* x = reinterpret_cast<const Src*>(p[1]);
      if constexpr (std::is_same_v<Dst, Src>) {
        std::memcpy(d, x, n * sizeof(Dst));
      } else {
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<Dst>(x[i]);
      }
      return;
    }
    char* d = p[0];
    const char* x = p[1];
    for (int64_t i = 0; i < n; ++i, d += s[0], x += s[1])
      *reinterpret_cast<Dst*>(d) = static_cast<Dst>(*reinterpret_cast<const Src*>(x));
  });
}

void copy(const Tensor& dst, const Tensor& src) {
  PE_DISPATCH_STORAGE(dst.dtype(), "copy", [&] {
    using D = scalar_t;
    PE_DISPATCH_STORAGE(src.dtype(), "copy", [&] { copy_typed<D, scalar_t>(dst, src); });
  });
}

void fill(const Tensor& dst, Scalar value) {
  PE_DISPATCH_STORAGE(dst.dtype(), "fill", [&] {
    const scalar_t v = value.to<scalar_t>();
    auto loop = make_loop<1>(dst.shape(), {&dst});
    loop.run([v](char* const* p, const int64_t* s, int64_t n) {
      char* d = p[0];
      if (s[0] == sizeof(scalar_t)) {
        scalar_t* q = reinterpret_cast<scalar_t*>(d);
        for (int64_t i = 0; i < n; ++i) q[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i, d += s[0]) *reinterpret_cast<scalar_t*>(d) = v;
      }
    });
  });
}

PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::copy_kernel, copy);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::fill_kernel, fill);

}  // namespace pe::cpu
