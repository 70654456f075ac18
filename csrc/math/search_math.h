// Binary search of searchsorted/bucketize, one definition for both backends, with PyTorch's
// comparisons (aten/native/BucketizationUtils.h): left = the first p with !(b[p] < v) written
// as b[p] >= v, right = the first p with b[p] > v. A NaN value compares false with every
// boundary, so it lands after all of them (n), as in PyTorch; NaN boundaries sort last.
#pragma once
#include <cstdint>

#include "math/host_device.h"

namespace pe::sorting {

// b: one row of n boundaries; sorter (may be null): the row's ascending order.
template <class T>
PE_HOST_DEVICE inline int64_t search_row(const T* b, const int64_t* sorter, int64_t n, T v, bool right) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = lo + ((hi - lo) >> 1);
    const T bm = sorter ? b[sorter[mid]] : b[mid];
    const bool go_right = right ? !(bm > v) : !(bm >= v);
    if (go_right) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

}  // namespace pe::sorting
