// A tensor is a view: (storage, shape, strides, offset, dtype). Strides and offset count
// elements, not bytes. Every view op only makes a new Tensor over the same storage.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/storage.h"

namespace pe {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
// Wrap a possibly negative dim into [0, ndim); IndexError names the valid range.
int64_t wrap_dim(int64_t dim, int64_t ndim);
class Tensor;
// RuntimeError "<op>: expected all tensors on the same device, got <a_name> on cuda:0 and
// <b_name> on cpu" unless a and b share a device: the one device check of every op family.
void check_same_device(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name);

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  // Uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype, Device device = {});

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t size(int64_t dim) const { return shape_[wrap_dim(dim, ndim())]; }
  int64_t stride(int64_t dim) const { return strides_[wrap_dim(dim, ndim())]; }
  size_t itemsize() const { return pe::itemsize(dtype_); }
  bool is_contiguous() const;

  const std::shared_ptr<Storage>& storage() const { return storage_; }
  void* raw_data() const { return static_cast<char*>(storage_->data) + offset_ * itemsize(); }
  template <class T>
  T* data() const { return static_cast<T*>(storage_->data) + offset_; }

  // In-place writes bump the storage's version; autograd compares versions of saved tensors.
  int64_t version() const { return storage_->version.load(); }
  void bump_version() const { storage_->version.fetch_add(1); }

  // Same storage, new geometry (the caller has checked that it stays inside the storage).
  Tensor as_strided(Shape shape, Shape strides, int64_t offset) const;

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::Float32;
};

}  // namespace pe
