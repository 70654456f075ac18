// embedding_bag: each bag's weight rows reduced by sum, mean or max in one fused kernel, and its
// one fused backward (PyTorch's semantics, the layout of torch.nn.functional.embedding_bag with
// a 1-D input). Device-neutral: validates everything (dtypes, shapes, devices, every index and
// offset value, on their device) before any kernel runs, allocates, ends in one slot call.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/host_device.h"

namespace pe::ops {

// Bag b holds the entries offsets[b] .. end(b) - 1 of `indices`, where end(b) = offsets[b + 1]
// and, for the last offset without include_last_offset, end = n (torch's rule). bags = m - 1
// with include_last_offset, else m (m = offsets.numel()). Entries past the last bag's end
// belong to no bag. Raises torch's messages: IndexError "index 12 is out of range for an
// embedding table of 7 rows", RuntimeError for offsets[0] != 0 and offsets[-1] > n, ValueError
// for decreasing offsets; TypeError / ValueError for dtypes, shapes and devices.
void embedding_bag_check(const Tensor& weight, const Tensor& indices, const Tensor& offsets,
                         bool include_last_offset, const std::optional<Tensor>& per_sample_weights);

// -> (out (bags, D), max_indices (bags, D) int64: the weight row of each maximum, first one on
// ties, -1 for a bag with no non-padding entry; an undefined Tensor unless mode == "max").
// mode: "sum" | "mean" | "max"; padding_idx in [0, V) or -1 for none: its entries are skipped
// (mean divides by the non-padding count; empty bags give zeros). per_sample_weights (n,) of
// the weight's dtype, sum mode only: entry e's row is scaled by it.
std::pair<Tensor, Tensor> embedding_bag_forward(const Tensor& weight, const Tensor& indices, const Tensor& offsets,
                                                bool include_last_offset,
                                                const std::optional<Tensor>& per_sample_weights,
                                                const std::string& mode, int64_t padding_idx);

// -> (grad_weight (num_weights, D), grad_per_sample_weights (n,) or undefined). grad: (bags, D).
// max mode needs forward's max_indices; scale_grad_by_freq divides row v's gradient by how often
// v occurs in the bags (sum/mean). grad_per_sample_weights[e] = sum_d grad[bag(e), d] *
// weight[indices[e], d] (0 for padding entries and entries in no bag); computed when `weight`
// is given (sum mode with per_sample_weights only).
std::pair<Tensor, Tensor> embedding_bag_backward(const Tensor& grad, const Tensor& indices, const Tensor& offsets,
                                                 bool include_last_offset,
                                                 const std::optional<Tensor>& per_sample_weights,
                                                 const std::string& mode, int64_t padding_idx,
                                                 const std::optional<Tensor>& max_indices, int64_t num_weights,
                                                 bool scale_grad_by_freq, const std::optional<Tensor>& weight);

// ---------------------------------------------------------------- kernels
// Contract: every pointer is on the slot's device and contiguous; the op layer has checked that
// every indices[e] is in [0, num_weights), offsets[0] == 0, offsets are non-decreasing and
// offsets[m - 1] <= n; bags >= 0, dim >= 0. dtype float32 or float64 (weight, out, grad,
// per_sample_weights). Bag b's entries: [offsets[b], b + 1 < m ? offsets[b + 1] : n).
enum class BagMode : int { Sum = 0, Mean = 1, Max = 2 };

struct EmbeddingBagArgs {
  DType dtype = DType::Float32;
  BagMode mode = BagMode::Sum;
  int64_t num_weights = 0, dim = 0;
  const int64_t* indices = nullptr;
  int64_t n = 0;
  const int64_t* offsets = nullptr;
  int64_t m = 0, bags = 0;
  int64_t padding_idx = -1;               // -1: none
  const void* per_sample_weights = nullptr;  // null or n values (sum mode)
  // forward: reads weight, writes every element of out (bags, D) and, in max mode, max_indices.
  const void* weight = nullptr;
  void* out = nullptr;
  int64_t* max_indices = nullptr;
  // backward: reads grad (bags, D) (and max_indices in max mode), writes every element of
  // grad_weight (num_weights, D) and, when non-null, grad_psw (n,) (then weight is given).
  const void* grad = nullptr;
  void* grad_weight = nullptr;
  void* grad_psw = nullptr;
  bool scale_grad_by_freq = false;
};

PE_HOST_DEVICE inline int64_t bag_end(const int64_t* offsets, int64_t m, int64_t n, int64_t b) {
  return b + 1 < m ? offsets[b + 1] : n;
}

// The offsets' checks, on their device (contiguous int64, m >= 1 values): the first and last
// value, and the first i with offsets[i] > offsets[i + 1] (-1 if none) with both values.
struct BagOffsetsCheck {
  int64_t first = 0, last = 0;
  int64_t decrease = -1, left = 0, right = 0;
};
inline KernelSlot<BagOffsetsCheck (*)(const int64_t* offsets, int64_t m)> bag_offsets_check_kernel{
    "embedding_bag offsets check"};
inline KernelSlot<void (*)(const EmbeddingBagArgs&)> embedding_bag_forward_kernel{"embedding_bag"};
// CPU: deterministic and thread-count independent (per table row, its entries in index order).
// CUDA: atomicAdd into grad_weight (float sums may round differently run to run, like
// scatter_add); grad_psw is exact per entry.
inline KernelSlot<void (*)(const EmbeddingBagArgs&)> embedding_bag_backward_kernel{"embedding_bag backward"};

}  // namespace pe::ops
