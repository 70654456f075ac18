// Memory overlap of views, for every op that writes into an existing tensor (in-place ops, out=,
// copy_, index writes, random fills): the one place that decides when a write is refused and
// when it must go through a temporary.
#pragma once
#include "core/tensor.h"

namespace pe {

// Throws PyTorch's RuntimeError when several elements of `t` are one memory location (a
// dimension of size > 1 with stride 0, i.e. an expanded view): writing element-wise results
// there would keep an arbitrary one of them. `op` names the operation in the message.
// (PyTorch's has_internal_overlap == YES; other self-overlapping strides it does not detect
// either, and neither do we.)
void check_no_internal_overlap(const char* op, const Tensor& t);

// Whether the byte ranges of two views intersect: conservative (interleaved views that never
// touch the same element still count), which only costs a temporary.
bool shares_memory(const Tensor& a, const Tensor& b);

// True when writing `out` (seen with broadcast shape `shape`) element by element could change an
// element of `in` that is still to be read: they share memory but are not the very same view
// (same-index aliasing, as in x.add_(y) with out = x, is safe because each element is read
// before it is written). Such writes go through a temporary.
bool unsafe_overlap(const Tensor& out, const Tensor& in, const Shape& shape);

}  // namespace pe
