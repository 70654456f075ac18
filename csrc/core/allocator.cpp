#include "core/allocator.h"

#include <cstdlib>
#include <new>

namespace pe {

DeviceHooks& cuda_hooks() {
  static DeviceHooks hooks;
  return hooks;
}

bool cuda_available() {
  auto& h = cuda_hooks();
  return h.available && h.available();
}

void check_device(Device d) {
  if (d.is_cpu()) return;
  auto& h = cuda_hooks();
  if (!h.available)
    throw RuntimeError("CUDA device '" + d.str() + "' requested, but pyengine was built without CUDA");
  if (!h.available())
    throw RuntimeError("CUDA device '" + d.str() +
                       "' requested, but no CUDA GPU is available (pyengine.cuda.is_available() is False)");
  int n = h.device_count();
  PE_CHECK(d.index >= 0 && d.index < n, RuntimeError, "CUDA device index ", d.index,
           " out of range: this machine has ", n, " CUDA device(s)");
}

void* host_alloc(size_t nbytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; never ask for 0 bytes.
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw RuntimeError(str("out of memory: could not allocate ", nbytes, " bytes on the CPU"));
  return p;
}

void host_free(void* p) { std::free(p); }

}  // namespace pe
