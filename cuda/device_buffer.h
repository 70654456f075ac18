// Scratch memory on the current CUDA device for launchers (per-launch tables, converted
// operands, partial sums), through the device hooks, so it works the same on a GPU and on the
// emulated GPU. Freed when it goes out of scope. Host code only.
#pragma once
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "core/allocator.h"

namespace pe::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(int64_t nbytes) : device_(current_cuda_device()) {
    if (nbytes > 0) ptr_ = cuda_hooks().alloc(static_cast<size_t>(nbytes), device_);
  }
  // A device copy of a host vector (kernel lookup tables).
  template <class T>
  static DeviceBuffer upload(const std::vector<T>& host) {
    DeviceBuffer b(static_cast<int64_t>(host.size() * sizeof(T)));
    if (!host.empty()) cuda_hooks().copy_to_device(b.ptr_, host.data(), host.size() * sizeof(T), b.device_);
    return b;
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), device_(o.device_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(device_, o.device_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_) cuda_hooks().free(ptr_, device_);
  }

  void* get() const { return ptr_; }
  template <class T>
  T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
  int device_ = 0;
};

}  // namespace pe::cuda
