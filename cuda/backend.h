// The CUDA backend as _C sees it (only compiled with PE_WITH_CUDA): installs the device hooks
// and the op table, and answers device queries for bind_cuda.cpp.
#pragma once
#include <cstddef>
#include <string>
#include <utility>

namespace pe::cuda {

// Fills pe::cuda_hooks() (device.cu) and pe::ops::cuda_ops() (cuda_ops.cpp). Touches no
// driver: safe on machines without a GPU or a driver.
void install_backend();
void register_ops();  // cuda_ops.cpp

// Device queries; each raises pe::RuntimeError naming the index when it is not a usable device.
int device_count();  // 0 on any error (no driver, no device)
std::string device_name(int index);
std::pair<int, int> device_capability(int index);
std::pair<size_t, size_t> memory_info(int index);  // (free, total) bytes
void set_device(int index);
void synchronize(int index);

}  // namespace pe::cuda
