// The order topk ranks elements in, one definition for both backends: by value (descending for
// largest=True, ascending otherwise), NaN counted above every number (as PyTorch: first when
// largest, last when smallest), equal values by ascending index, so the order is total and
// the result deterministic whatever the kernel's thread count.
#pragma once
#include <cstdint>

#include "math/host_device.h"

namespace pe::sorting {

template <class T>
PE_HOST_DEVICE inline bool topk_before(T va, int64_t ia, T vb, int64_t ib, bool largest) {
  const bool na = va != va, nb = vb != vb;  // always false for int64
  if (na || nb) {
    if (na != nb) return largest ? na : nb;
    return ia < ib;
  }
  if (va != vb) return largest ? va > vb : va < vb;
  return ia < ib;
}

// The rank of the median in ascending order (NaN last) of a row of n elements with `nans` NaNs:
// the lower middle; with a NaN, median() takes the first NaN and nanmedian() the lower middle
// of the numbers (the first NaN when there are none).
PE_HOST_DEVICE inline int64_t median_rank(int64_t n, int64_t nans, bool ignore_nan) {
  if (ignore_nan) return nans == n ? 0 : (n - nans - 1) / 2;
  return nans > 0 ? n - nans : (n - 1) / 2;
}

// Equal for mode() and unique runs: NaNs count as one value (they sit together, last, in
// ascending order).
template <class T>
PE_HOST_DEVICE inline bool same_value(T a, T b) {
  return a == b || (a != a && b != b);
}

}  // namespace pe::sorting
