// Kernel tables: how an op body reaches the kernel of the tensor's device without a device `if`.
//
// Each op family declares, in its op header (csrc/ops/<family>.h), its raw-pointer argument
// structs and one KernelSlot per kernel:
//
//     inline KernelSlot<void (*)(const PoolArgs&)> max_pool_forward_kernel{"max_pool2d"};
//
// and each backend fills the slots it implements from its own files, with one line per kernel:
//
//     PE_REGISTER_CPU_KERNEL(max_pool_forward_kernel, max_pool2d_forward);  // csrc/cpu/*_kernels.cpp
//     PE_REGISTER_CUDA_KERNEL(max_pool_forward_kernel, max_pool_forward);    // cuda/*.cu
//
// The op body validates, allocates, and ends in `max_pool_forward_kernel(x.device(), args)`.
// An empty slot raises the one RuntimeError "max_pool2d is not implemented for CUDA tensors".
//
// The CPU side of a slot is BLIS's per-architecture context: a kernel file compiled once per
// instruction set (csrc/cpu/*_kernels.cpp, see core/isa.h) registers each build in its own
// column, and a call takes the column of the active ISA, falling back to the generic build (the
// reference behind every slot). Slots are constant-initialised, so registration from static
// initialisers (run when the module loads, before any op) never sees an unconstructed slot.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "core/device.h"
#include "core/error.h"
#include "core/isa.h"

namespace pe {

template <class Fn>
class KernelSlot {
 public:
  explicit constexpr KernelSlot(const char* op_name) : name_(op_name) {}
  KernelSlot(const KernelSlot&) = delete;
  KernelSlot& operator=(const KernelSlot&) = delete;

  void set_cpu(Isa isa, Fn fn) {
    cpu_[static_cast<int>(isa)] = fn;
    record_slot(this, name_, [](const void* self) { return static_cast<const KernelSlot*>(self)->cuda_ != nullptr; });
  }
  void set_cuda(Fn fn) { cuda_ = fn; }

  // The kernel for `device` (the active ISA's build on the CPU), or the RuntimeError.
  Fn get(Device device) const {
    Fn fn = nullptr;
    if (device.is_cuda()) {
      fn = cuda_;
      if (fn != nullptr) select_cuda_device(device.index);
    } else {
      fn = cpu_[static_cast<int>(active_isa())];
      if (fn == nullptr) fn = cpu_[0];
    }
    PE_CHECK(fn != nullptr, RuntimeError, name_, " is not implemented for ", device.is_cuda() ? "CUDA" : "CPU",
             " tensors");
    return fn;
  }

  template <class... Args>
  decltype(auto) operator()(Device device, Args&&... args) const {
    return get(device)(std::forward<Args>(args)...);
  }

 private:
  const char* name_;
  Fn cpu_[3] = {nullptr, nullptr, nullptr};  // indexed by Isa: generic, avx2, avx512
  Fn cuda_ = nullptr;
};

// Every slot with a CPU kernel, recorded as it registers (core/dispatch.cpp), so a test can list
// the ops that still lack a CUDA kernel: (op name, has a CUDA kernel), one entry per slot.
void record_slot(const void* slot, const char* name, bool (*has_cuda)(const void* slot));
std::vector<std::pair<std::string, bool>> kernel_slots();

}  // namespace pe

#define PE_DISPATCH_CONCAT_(a, b) a##b
#define PE_DISPATCH_CONCAT(a, b) PE_DISPATCH_CONCAT_(a, b)

// Inside a csrc/cpu/*_kernels.cpp (compiled once per ISA, PE_ISA_INDEX names the build).
#define PE_REGISTER_CPU_KERNEL(slot, fn)                                                    \
  static const bool PE_DISPATCH_CONCAT(pe_registered_cpu_, __LINE__) =                       \
      (slot.set_cpu(static_cast<::pe::Isa>(PE_ISA_INDEX), fn), true)

// A CPU kernel that is not built per ISA (one build serves every column).
#define PE_REGISTER_CPU_KERNEL_ANY_ISA(slot, fn) \
  static const bool PE_DISPATCH_CONCAT(pe_registered_cpu_, __LINE__) = (slot.set_cpu(::pe::Isa::Generic, fn), true)

// Inside a cuda/*.cu (compiled by nvcc, or by the host compiler for the emulated GPU).
#define PE_REGISTER_CUDA_KERNEL(slot, fn) \
  static const bool PE_DISPATCH_CONCAT(pe_registered_cuda_, __LINE__) = (slot.set_cuda(fn), true)
