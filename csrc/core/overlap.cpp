#include "core/overlap.h"

#include <cstdint>
#include <utility>

#include "core/error.h"
#include "core/iter.h"

namespace pe {

void check_no_internal_overlap(const char* op, const Tensor& t) {
  for (int64_t d = 0; d < t.ndim(); ++d)
    PE_CHECK(t.shape()[d] <= 1 || t.strides()[d] != 0, RuntimeError, op,
             ": unsupported operation: more than one element of the written-to tensor refers to a single memory "
             "location (shape ", shape_str(t.shape()), ", strides ", shape_str(t.strides()), ": dimension ", d,
             " has stride 0). Please clone() the tensor before performing the operation.");
}

namespace {

// [first byte, one past the last byte) a non-empty view can touch (strides are >= 0).
std::pair<uintptr_t, uintptr_t> byte_span(const Tensor& t) {
  uintptr_t lo = reinterpret_cast<uintptr_t>(t.raw_data());
  int64_t last = 0;
  for (int64_t d = 0; d < t.ndim(); ++d) last += (t.shape()[d] - 1) * t.strides()[d];
  return {lo, lo + static_cast<uintptr_t>((last + 1) * static_cast<int64_t>(t.itemsize()))};
}

}  // namespace

bool shares_memory(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0 || b.numel() == 0) return false;
  auto [alo, ahi] = byte_span(a);
  auto [blo, bhi] = byte_span(b);
  return alo < bhi && blo < ahi;
}

bool unsafe_overlap(const Tensor& out, const Tensor& in, const Shape& shape) {
  if (!shares_memory(out, in)) return false;
  bool same_view = out.raw_data() == in.raw_data() && out.itemsize() == in.itemsize() &&
                   broadcast_byte_strides(out, shape) == broadcast_byte_strides(in, shape);
  return !same_view;
}

}  // namespace pe
