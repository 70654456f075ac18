// The emulated GPU's device side (PYENGINE_CUDA=EMU): the same entry points as device.cpp, with
// host memory standing in for device memory and memcpy for the CUDA copies. One device,
// "cuda:0". Everything above these hooks - storages, the op layer's device branches, the glue
// and the kernels in cuda/*.cu (run on CPU threads by cuda_emu.h) - is the code a real GPU runs.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "core/allocator.h"
#include "core/error.h"
#include "cuda/backend.h"

namespace pe::cuda {
namespace {

void check_index(int index) {
  PE_CHECK(index == 0, RuntimeError, "CUDA device index ", index,
           " out of range: this machine has 1 CUDA device(s) (the emulated GPU)");
}

bool available() { return true; }

void* alloc(size_t nbytes, int index) {
  check_index(index);
  // 256-byte aligned like cudaMalloc, so alignment assumptions of kernels hold here too.
  const size_t rounded = (nbytes + 255) / 256 * 256;
  void* p = std::aligned_alloc(256, rounded == 0 ? 256 : rounded);
  PE_CHECK(p != nullptr, MemoryError, "CUDA out of memory: could not allocate ", nbytes,
           " bytes on cuda:", index, " (emulated GPU)");
  return p;
}

void free_memory(void* p, int) { std::free(p); }

void copy_bytes(void* dst, const void* src, size_t nbytes, int index) {
  check_index(index);
  if (nbytes) std::memcpy(dst, src, nbytes);
}

}  // namespace

int device_count() { return 1; }

void set_device(int index) { check_index(index); }

std::string device_name(int index) {
  check_index(index);
  return "pyengine emulated GPU (CUDA kernels on CPU threads)";
}

std::pair<int, int> device_capability(int index) {
  check_index(index);
  return {9, 0};  // the emulator runs what sm_90 code may use: warp shuffles, atomics, 48 KiB smem
}

std::pair<size_t, size_t> memory_info(int index) {
  check_index(index);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return {static_cast<size_t>(sysconf(_SC_AVPHYS_PAGES)) * page, static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * page};
}

void synchronize(int index) { check_index(index); }  // emulated launches finish before they return

// Emulated launches finish before they return, so an event is done as soon as it is recorded.
// A non-null token, so callers can tell "recorded" from "none".
void* record_event(int index) {
  check_index(index);
  static char token;
  return &token;
}
bool event_done(void*) { return true; }
void destroy_event(void*) {}

bool is_emulated() { return true; }

void install_backend() {
  DeviceHooks& h = cuda_hooks();
  h.available = &available;
  h.device_count = &device_count;
  h.alloc = &alloc;
  h.free = &free_memory;
  h.copy_to_device = &copy_bytes;
  h.copy_to_host = &copy_bytes;
  h.copy_device = &copy_bytes;
  h.set_device = &set_device;
}

}  // namespace pe::cuda
