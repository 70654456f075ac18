// CUDA devices and memory for the core: the hooks behind pe::cuda_hooks(), and the device
// queries bind_cuda.cpp exposes. Host code only (the CUDA runtime API): compiled by the same C++
// compiler as the rest of _C, not by nvcc, so the core's inline helpers (pe::str, the error
// types) are instantiated by one compiler only.
//
// "Is there CUDA?" must never crash or throw: on a machine without a driver or a GPU, any
// error from cudaGetDeviceCount means zero devices, and nothing else is ever called.
#include <cuda_runtime.h>

#include "core/allocator.h"
#include "core/error.h"
#include "cuda/backend.h"

namespace pe::cuda {
namespace {

int query_device_count() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear it: no CUDA is a normal answer, not a pending error
    return 0;
  }
  return n;
}

// The message is built only on failure: set_device runs before every CUDA kernel.
template <class... What>
void check(cudaError_t e, const What&... what) {
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw RuntimeError(str("CUDA error while ", what..., ": ", cudaGetErrorString(e)));
  }
}

void check_index(int index) {
  int n = device_count();
  PE_CHECK(index >= 0 && index < n, RuntimeError, "CUDA device index ", index, " out of range: this machine has ",
           n, " CUDA device(s)");
}

bool available() { return device_count() > 0; }

void* alloc(size_t nbytes, int index) {
  set_device(index);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, nbytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw MemoryError(str("CUDA out of memory: could not allocate ", nbytes, " bytes on cuda:", index, " (",
                           cudaGetErrorString(e), ")"));
  }
  return p;
}

// Runs from storage destructors, possibly at exit after the runtime has shut down: never
// throws, errors are dropped.
void free_memory(void* p, int index) {
  if (!p) return;
  if (cudaSetDevice(index) == cudaSuccess) cudaFree(p);
  cudaGetLastError();
}

void copy_to_device(void* dst, const void* src, size_t nbytes, int index) {
  set_device(index);
  check(cudaMemcpy(dst, src, nbytes, cudaMemcpyHostToDevice), "copying ", nbytes, " bytes to cuda:", index);
}

void copy_to_host(void* dst, const void* src, size_t nbytes, int index) {
  set_device(index);
  check(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToHost), "copying ", nbytes, " bytes from cuda:", index);
}

void copy_device(void* dst, const void* src, size_t nbytes, int index) {
  set_device(index);
  // cudaMemcpyDefault: unified addressing finds both ends, also across devices.
  check(cudaMemcpy(dst, src, nbytes, cudaMemcpyDefault), "copying ", nbytes, " bytes on cuda:", index);
}

}  // namespace

int device_count() {
  static const int n = query_device_count();  // the first call loads the driver: ask once
  return n;
}

void set_device(int index) {
  check_index(index);
  check(cudaSetDevice(index), "selecting cuda:", index);
}

std::string device_name(int index) {
  check_index(index);
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, index), "querying cuda:", index);
  return prop.name;
}

std::pair<int, int> device_capability(int index) {
  check_index(index);
  int major = 0, minor = 0;
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, index), "querying the compute capability");
  check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, index), "querying the compute capability");
  return {major, minor};
}

std::pair<size_t, size_t> memory_info(int index) {
  set_device(index);
  size_t free_bytes = 0, total = 0;
  check(cudaMemGetInfo(&free_bytes, &total), "querying memory of cuda:", index);
  return {free_bytes, total};
}

void synchronize(int index) {
  set_device(index);
  check(cudaDeviceSynchronize(), "synchronizing cuda:", index);
}

void* record_event(int index) {
  set_device(index);
  cudaEvent_t event = nullptr;
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "creating an event on cuda:", index);
  cudaError_t e = cudaEventRecord(event, 0);  // 0: the legacy default stream, pyengine's only stream
  if (e != cudaSuccess) cudaEventDestroy(event);
  check(e, "recording an event on cuda:", index);
  return event;
}

bool event_done(void* event) {
  cudaError_t e = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (e == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  check(e, "waiting for an event");
  return true;
}

void destroy_event(void* event) {
  if (event) cudaEventDestroy(static_cast<cudaEvent_t>(event));
  cudaGetLastError();
}

void install_backend() {
  DeviceHooks& h = cuda_hooks();
  h.available = &available;
  h.device_count = &device_count;
  h.alloc = &alloc;
  h.free = &free_memory;
  h.copy_to_device = &copy_to_device;
  h.copy_to_host = &copy_to_host;
  h.copy_device = &copy_device;
  h.set_device = &set_device;
}

bool is_emulated() { return false; }

}  // namespace pe::cuda
