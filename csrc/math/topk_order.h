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

// Equal for mode() and unique runs: NaNs count as one value (they sit together, last, in
// ascending order).
template <class T>
PE_HOST_DEVICE inline bool same_value(T a, T b) {
  return a == b || (a != a && b != b);
}

}  // namespace pe::sorting
