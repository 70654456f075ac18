// A block of memory on one device, shared by every tensor viewing it. The version counter
// lives here because all views of one storage see each other's in-place writes.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace pe {

struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::shared_ptr<void> owner;  // frees memory owned elsewhere (a NumPy array's, a DLPack capsule's, a GPU's)
  bool owns_host_memory = false;  // host_alloc'd by allocate(); freed by the destructor
  std::atomic<int64_t> version{0};

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  // Fresh, uninitialised memory on `device`.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  // Memory owned elsewhere; `owner` keeps it alive (zero-copy from NumPy / DLPack).
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device,
                                       std::shared_ptr<void> owner);
};

}  // namespace pe
