// A growable array of int64_t that keeps its first N elements inline. The set-up of every
// elementwise loop builds several (shape, per-operand strides, a multi-index); with
// std::vector each was a heap allocation, which dominated ops on tiny tensors.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pe {

template <size_t N>
class SmallDims {
 public:
  SmallDims() = default;
  SmallDims(size_t n, int64_t value) { resize(n, value); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return heap_.empty() ? inline_ : heap_.data(); }
  const int64_t* data() const { return heap_.empty() ? inline_ : heap_.data(); }
  int64_t& operator[](size_t i) { return data()[i]; }
  int64_t operator[](size_t i) const { return data()[i]; }
  int64_t& back() { return data()[size_ - 1]; }
  int64_t back() const { return data()[size_ - 1]; }

  void push_back(int64_t v) {
    if (heap_.empty() && size_ < N) {
      inline_[size_++] = v;
      return;
    }
    if (heap_.empty()) heap_.assign(inline_, inline_ + size_);  // spill once, then stay on the heap
    heap_.push_back(v);
    ++size_;
  }

  void resize(size_t n, int64_t value) {
    while (size_ > n) pop_back();
    while (size_ < n) push_back(value);
  }

  void pop_back() {
    if (!heap_.empty()) heap_.pop_back();
    --size_;
  }

 private:
  int64_t inline_[N] = {};
  std::vector<int64_t> heap_;
  size_t size_ = 0;
};

}  // namespace pe
