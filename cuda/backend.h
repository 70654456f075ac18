// The CUDA backend as _C sees it (only compiled with PE_WITH_CUDA): installs the device hooks
// and answers device queries for bind_cuda.cpp. Implemented by device.cpp (the CUDA runtime) or
// device_emu.cpp (the emulated GPU). The kernels register themselves in the op families'
// kernel slots (core/dispatch.h) when the module loads.
#pragma once
#include <cstddef>
#include <string>
#include <utility>

namespace pe::cuda {

// Fills pe::cuda_hooks(). Touches no driver: safe on machines without a GPU or a driver.
void install_backend();
bool is_emulated();  // true in the PYENGINE_CUDA=EMU build

// Device queries; each raises pe::RuntimeError naming the index when it is not a usable device.
int device_count();  // 0 on any error (no driver, no device)
std::string device_name(int index);
std::pair<int, int> device_capability(int index);
std::pair<size_t, size_t> memory_info(int index);  // (free, total) bytes
void set_device(int index);
void synchronize(int index);

// A marker on cuda:<index>'s default stream (the stream every pyengine kernel and a collective
// library such as NCCL run on): done once everything enqueued before it has finished. Lets a
// waiting host poll - against a timeout - instead of blocking in cudaDeviceSynchronize.
void* record_event(int index);
bool event_done(void* event);     // raises pe::RuntimeError on an error other than "not ready"
void destroy_event(void* event);  // never throws

}  // namespace pe::cuda
