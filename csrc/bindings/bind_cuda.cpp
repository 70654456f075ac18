// CUDA device information. Every query first checks that cuda:<index> is usable
// (pe::check_device); without CUDA, at build time or at run time, that raises RuntimeError,
// so the module imports and answers cleanly on machines with no GPU and no driver.
#include "bindings/bind.h"
#include "core/allocator.h"

#include "core/dispatch.h"

#ifdef PE_WITH_CUDA
#include "cuda/backend.h"
#endif
#ifdef PE_CUDA_EMULATED
#include "cuda/emu_selftest.h"
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
  ReleaseGil nogil;
  cuda::synchronize(i);
}
void set_device(int i) { cuda::set_device(i); }
// Events travel to Python as integers (the handle's address): pyengine.distributed polls them.
uintptr_t record_event(int i) {
  require(i);
  return reinterpret_cast<uintptr_t>(cuda::record_event(i));
}
bool event_done(uintptr_t event) { return cuda::event_done(reinterpret_cast<void*>(event)); }
void destroy_event(uintptr_t event) { cuda::destroy_event(reinterpret_cast<void*>(event)); }
#else
// Built without CUDA: require() always throws.
std::string device_name(int i) { return require(i), std::string(); }
py::tuple device_capability(int i) { return require(i), py::tuple(); }
py::tuple memory_info(int i) { return require(i), py::tuple(); }
void synchronize(int i) { require(i); }
void set_device(int) {}
uintptr_t record_event(int i) { return require(i), 0; }
bool event_done(uintptr_t) { throw RuntimeError("pyengine was built without CUDA: there are no CUDA events"); }
void destroy_event(uintptr_t) {}
#endif

#ifdef PE_CUDA_EMULATED
// The emulator's own machinery (barriers, shuffles, atomics, errors), on host arrays: in the
// emulated build device memory is host memory. Emulated build only.
py::array_t<double> f64(const py::array& x) { return py::array_t<double, py::array::c_style | py::array::forcecast>(x); }

void bind_emu_selftest(py::module_& m) {
  namespace st = cuda::selftest;
  m.def("block_reverse", [](const py::array& x, int block) {
    auto in = f64(x);
    py::array_t<double> out(in.size());
    st::block_reverse(out.mutable_data(), in.data(), in.size(), block);
    return out;
  });
  m.def("warp_sums", [](const py::array& x) {
    auto in = f64(x);
    py::array_t<double> down(in.size()), butterfly(in.size());
    st::warp_sums(down.mutable_data(), butterfly.mutable_data(), in.data(), static_cast<int>(in.size()));
    return py::make_tuple(down, butterfly);
  });
  m.def("atomic_count", [](double value, int grid, int block) {
    int64_t count = 0;
    double total = 0;
    st::atomic_count(&count, &total, value, grid, block);
    return py::make_tuple(count, total);
  });
  m.def("throw_in_thread", &st::throw_in_thread, release_gil());
  m.def("divergent_barrier", &st::divergent_barrier, release_gil());
  m.def("launch_with", &st::launch_with, release_gil());
}
#endif

}  // namespace

void bind_cuda(py::module_& m) {
#ifdef PE_WITH_CUDA
  cuda::install_backend();  // fills the device hooks; asks no driver
  m.def("cuda_is_emulated", [] { return cuda::is_emulated(); });
#else
  m.def("cuda_is_emulated", [] { return false; });
#endif
#ifdef PE_CUDA_EMULATED
  py::module_ st = m.def_submodule("emu_selftest", "the CUDA emulator's self-test kernels (emulated build only)");
  bind_emu_selftest(st);
#endif
  // (op name, has a CUDA kernel) for every kernel slot: what device="cuda" cannot run yet.
  m.def("kernel_slots", &kernel_slots);
  m.def("cuda_device_name", &device_name, py::arg("index") = 0);
  m.def("cuda_device_capability", &device_capability, py::arg("index") = 0, "(major, minor)");
  m.def("cuda_memory_info", &memory_info, py::arg("index") = 0, "(free, total) bytes");
  m.def("cuda_synchronize", &synchronize, py::arg("index") = 0);
  m.def("cuda_set_device", [](int i) { require(i), set_device(i); }, py::arg("index"),
        "make cuda:<index> this thread's current device (what a library such as NCCL takes as its device)");
  m.def("cuda_record_event", &record_event, py::arg("index"),
        "an event on the device's default stream, after everything enqueued so far (a handle)");
  m.def("cuda_event_done", &event_done, py::arg("event"), "whether the work before the event has finished");
  m.def("cuda_destroy_event", &destroy_event, py::arg("event"));
}

}  // namespace pe::bind
