// CUDA device information. Every query first checks that cuda:<index> is usable
// (pe::check_device); without CUDA, at build time or at run time, that raises RuntimeError,
// so the module imports and answers cleanly on machines with no GPU and no driver.
#include "bindings/bind.h"
#include "core/allocator.h"

#ifdef PE_WITH_CUDA
#include "cuda/backend.h"
#endif

namespace pe::bind {
namespace {

void require(int index) { check_device(Device{DeviceType::CUDA, index}); }

#ifdef PE_WITH_CUDA
std::string device_name(int i) { return require(i), cuda::device_name(i); }
py::tuple device_capability(int i) {
  require(i);
  auto [major, minor] = cuda::device_capability(i);
  return py::make_tuple(major, minor);
}
py::tuple memory_info(int i) {
  require(i);
  auto [free_bytes, total] = cuda::memory_info(i);
  return py::make_tuple(free_bytes, total);
}
void synchronize(int i) {
  require(i);
  py::gil_scoped_release nogil;
  cuda::synchronize(i);
}
#else
// Built without CUDA: require() always throws.
std::string device_name(int i) { return require(i), std::string(); }
py::tuple device_capability(int i) { return require(i), py::tuple(); }
py::tuple memory_info(int i) { return require(i), py::tuple(); }
void synchronize(int i) { require(i); }
#endif

}  // namespace

void bind_cuda(py::module_& m) {
#ifdef PE_WITH_CUDA
  cuda::install_backend();  // fills the device hooks and the CUDA op table; asks no driver
#endif
  m.def("cuda_device_name", &device_name, py::arg("index") = 0);
  m.def("cuda_device_capability", &device_capability, py::arg("index") = 0, "(major, minor)");
  m.def("cuda_memory_info", &memory_info, py::arg("index") = 0, "(free, total) bytes");
  m.def("cuda_synchronize", &synchronize, py::arg("index") = 0);
}

}  // namespace pe::bind
