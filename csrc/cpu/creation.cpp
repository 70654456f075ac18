// CPU kernels that fill a fresh contiguous tensor with a structured pattern (contracts in
// ops/index.h; the arange/linspace values come from math/creation_math.h).
#include <algorithm>
#include <cstring>

#include "core/parallel.h"
#include "math/creation_math.h"
#include "ops/index.h"

namespace pe::cpu {
namespace {

void arange(const ops::ArangeArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "arange", [&] {
    scalar_t* o = static_cast<scalar_t*>(a.out);
    parallel_for(a.n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = creation::arange_value<scalar_t>(a.start, a.step, a.int_start, a.int_step, i);
    });
  });
}

void linspace(const ops::LinspaceArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "linspace", [&] {
    const creation::Linspace<scalar_t> value(a.start, a.end, a.n);
    scalar_t* o = static_cast<scalar_t*>(a.out);
    parallel_for(a.n, 1, [&](int64_t begin, int64_t stop) {
      for (int64_t i = begin; i < stop; ++i) o[i] = value(i);
    });
  });
}

void eye(const ops::EyeArgs& a) {
  const int64_t n = a.n, m = a.m;
  PE_DISPATCH_ALL(a.dtype, "eye", [&] {
    scalar_t* o = static_cast<scalar_t*>(a.out);
    std::memset(o, 0, static_cast<size_t>(n * m) * sizeof(scalar_t));
    for (int64_t i = 0; i < std::min(n, m); ++i) o[i * m + i] = scalar_t(1);
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::arange_kernel, arange);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::linspace_kernel, linspace);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::eye_kernel, eye);

}  // namespace pe::cpu
