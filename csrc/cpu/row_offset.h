// Row addressing shared by the CPU kernels that see a tensor as ROWS along one dim (softmax,
// topk): the element offset of row r, row-major over the kept dims, for one operand's strides.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace pe::cpu {

inline int64_t row_offset(int64_t r, const Shape& shape, const Shape& strides) {
  int64_t off = 0;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0 && r > 0; --d) {
    off += (r % shape[d]) * strides[d];
    r /= shape[d];
  }
  return off;
}

}  // namespace pe::cpu
