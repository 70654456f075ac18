// Memory for storages: 64-byte aligned host memory, and device memory through hooks that a
// CUDA backend installs at load time (none installed = "no CUDA": a clear error, never a crash).
#pragma once
#include <cstddef>

#include "core/device.h"

namespace pe {

constexpr size_t kAlignment = 64;

struct DeviceHooks {
  bool (*available)() = nullptr;             // a usable GPU is present
  int (*device_count)() = nullptr;
  void* (*alloc)(size_t nbytes, int index) = nullptr;
  void (*free)(void* ptr, int index) = nullptr;
  // dst/src kinds: host<->device, device<->device; `sync` after the copy.
  void (*copy_to_device)(void* dst, const void* src, size_t nbytes, int index) = nullptr;
  void (*copy_to_host)(void* dst, const void* src, size_t nbytes, int index) = nullptr;
  void (*copy_device)(void* dst, const void* src, size_t nbytes, int index) = nullptr;
  void (*set_device)(int index) = nullptr;  // make cuda:index current for this host thread
};

DeviceHooks& cuda_hooks();
bool cuda_available();   // hooks installed and a device present
void check_device(Device d);  // throws RuntimeError if d cannot be used
// Makes cuda:index current on this thread (kernel slots call it before a CUDA kernel), and the
// index that launchers allocate scratch memory on.
void select_cuda_device(int index);
int current_cuda_device();

// 64-byte aligned host memory. Small blocks are recycled per thread, so host_free must get the
// same `nbytes` that host_alloc was asked for.
void* host_alloc(size_t nbytes);
void host_free(void* p, size_t nbytes);

}  // namespace pe
