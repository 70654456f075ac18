// Where a tensor's memory lives. CUDA memory is reached only through the hooks a CUDA
// backend registers (csrc/core/allocator.h), so the core builds and runs without CUDA.
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"

namespace pe {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

  // "cpu", "cuda", "cuda:1"
  static Device parse(const std::string& s) {
    if (s == "cpu") return {};
    if (s == "cuda") return {DeviceType::CUDA, 0};
    if (s.rfind("cuda:", 0) == 0) {
      try {
        return {DeviceType::CUDA, std::stoi(s.substr(5))};
      } catch (...) {
      }
    }
    throw ValueError("unknown device '" + s + "': expected 'cpu', 'cuda' or 'cuda:N'");
  }
};

}  // namespace pe
