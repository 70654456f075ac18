// Scaled dot-product attention, fused:
//
//     out = softmax(scale * q k^T + mask) v          q: (..., L, E), k: (..., S, E), v: (..., S, Ev)
//
// computed a tile of keys at a time with an online softmax (running row max m and row sum l,
// rescaling the partial output when the max grows), so the (L, S) score matrix is never
// materialised: working memory is O(tile), not O(L * S). The forward saves one number per query
// row, lse = m + log(l) (the log of the softmax denominator), and the backward recomputes each
// tile of probabilities from it, P = exp(scale * q k^T + mask - lse), as FlashAttention does.
//
// Device-neutral: validates, broadcasts, allocates and ends in one kernel slot per direction.
// Dropout, attention weights and gradients for the mask itself take the plain (composed) path in
// Python (pyengine/nn/_attention_fns.py); this family is the path without them.
#pragma once
#include <cstdint>
#include <optional>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

using OptTensor = std::optional<Tensor>;

// ---------------------------------------------------------------- the op layer
// q (..., L, E), k (..., S, E), v (..., S, Ev): float32 or float64, one dtype, one device, at
// least 2-d; the batch dims (...) broadcast against each other (and the mask's). mask, optional,
// broadcastable to (batch..., L, S): bool (true = the key takes part) or q's dtype (added to the
// scores). causal: query i sees keys j <= i (top-left aligned: tril(ones(L, S)), as PyTorch);
// causal with a mask is an error. scale: the factor on q k^T (Python passes 1/sqrt(E) by default).
//
// A query row that sees no key (every key masked out, or S == 0) gives zeros and lse = -inf, as
// PyTorch 2.13 does; its gradients are zeros too.
struct AttentionForward {
  Tensor out;  // (batch..., L, Ev), contiguous
  Tensor lse;  // (batch..., L), contiguous, q's dtype: log of each row's softmax denominator
};
AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const OptTensor& mask,
                                   bool causal, double scale);

// The gradients of q, k and v over the BROADCAST batch shape (contiguous): dq (batch..., L, E),
// dk (batch..., S, E), dv (batch..., S, Ev). The Python layer sums broadcast dims back to each
// input's shape. `saved` is what attention_forward returned for the same arguments.
struct AttentionGrads {
  Tensor dq, dk, dv;
};
AttentionGrads attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const OptTensor& mask, bool causal, double scale, const AttentionForward& saved);

// ---------------------------------------------------------------- kernels
// Every operand is a stack of matrices, one per index of the broadcast batch shape: a pointer,
// one stride per batch dim (0 where the operand is broadcast) and a row and a column stride, in
// elements. Strided, transposed and broadcast views are read in place.
struct AttentionMatrix {
  const void* data = nullptr;
  Shape batch_strides;     // same length as AttentionArgs::batch_shape
  int64_t row_stride = 0;  // along L (q, out, grad_out, mask rows) or S (k, v)
  int64_t col_stride = 1;  // along E / Ev (mask: along S)
};

enum class AttentionMaskKind : uint8_t { None, Bool, Additive };

struct AttentionArgs {
  DType dtype = DType::Float32;  // q, k, v, an additive mask, out, lse and every gradient
  Shape batch_shape;             // the broadcast batch dims (may be empty: one matrix)
  int64_t L = 0, S = 0, E = 0, Ev = 0;
  double scale = 1.0;
  bool causal = false;
  AttentionMaskKind mask_kind = AttentionMaskKind::None;
  AttentionMatrix q, k, v;  // (L, E), (S, E), (S, Ev)
  AttentionMatrix mask;     // (L, S); data null when mask_kind is None; bool masks are uint8 0/1

  // Forward: written, contiguous over (batch..., L, Ev) and (batch..., L).
  // Backward: read (what the forward wrote for the same arguments).
  void* out = nullptr;
  void* lse = nullptr;

  // Backward only. grad_out: contiguous (batch..., L, Ev). dq, dk, dv: written, contiguous over
  // the broadcast batch shape: (batch..., L, E), (batch..., S, E), (batch..., S, Ev).
  const void* grad_out = nullptr;
  void* dq = nullptr;
  void* dk = nullptr;
  void* dv = nullptr;
};

// Kernel contract: dtype float32/float64; L, E, Ev >= 1 and at least one batch matrix (the op
// layer returns early on empty shapes and handles S == 0 itself); outputs do not overlap inputs;
// pointers on the slot's device. Scores s_ij = scale * (q_i . k_j) + mask_ij, where a false bool
// mask entry or causal j > i excludes the key (an additive -inf does too, through the math).
// Forward: out_i = sum_j softmax_j(s_i) v_j, lse_i = max_j s_ij + log(sum_j exp(s_ij - max));
// a row with no visible key: out_i = 0, lse_i = -inf. A NaN score makes its row NaN.
// Backward, with P_ij = exp(s_ij - lse_i) (0 for excluded keys and for rows with lse = -inf),
// dO = grad_out and D_i = dO_i . out_i:
//   dv_j = sum_i P_ij dO_i,  dP_ij = dO_i . v_j,  dS_ij = P_ij (dP_ij - D_i),
//   dq_i = scale * sum_j dS_ij k_j,  dk_j = scale * sum_i dS_ij q_i.
// Kernels tile over keys (and queries) and never allocate O(L * S). On the CPU the result does
// not depend on the thread count (each output element is summed in a fixed order).
inline KernelSlot<void (*)(const AttentionArgs&)> attention_forward_kernel{"scaled_dot_product_attention"};
inline KernelSlot<void (*)(const AttentionArgs&)> attention_backward_kernel{
    "scaled_dot_product_attention_backward"};

}  // namespace pe::ops
