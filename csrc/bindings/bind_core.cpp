// TensorImpl (the C++ tensor as Python sees it), NumPy exchange, creation, copies, views,
// threads and ISA control.
#include <pybind11/numpy.h>

#include "bindings/bind.h"
#include "core/allocator.h"
#include "core/isa.h"
#include "core/parallel.h"
#include "cpu/isa_probe.h"
#include "ops/copy.h"
#include "ops/view.h"

namespace pe::bind {

DType parse_dtype(const py::object& obj) {
  if (py::isinstance<py::str>(obj)) return dtype_from_name(obj.cast<std::string>());
  throw TypeError(str("expected a dtype name such as 'float32', got ", std::string(py::str(py::type::of(obj)))));
}

static py::tuple to_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
  return t;
}

static DType dtype_of_numpy(const py::array& a) {
  const char kind = a.dtype().kind();
  const size_t size = a.itemsize();
  for (int i = 0; i < kNumDTypes; ++i) {
    const DType d = static_cast<DType>(i);
    if (d == DType::BFloat16 || itemsize(d) != size) continue;  // NumPy has no bfloat16
    const char k = d == DType::Bool ? 'b' : d == DType::UInt8 ? 'u' : is_floating(d) ? 'f' : 'i';
    if (k == kind) return d;
  }
  throw TypeError(str("from_numpy: unsupported NumPy dtype '", std::string(py::str(a.dtype())),
                      "': expected bool, uint8, int8, int16, int32, int64, float16, float32 or float64"));
}

static py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Bool: return py::dtype::of<bool>();
    case DType::UInt8: return py::dtype::of<uint8_t>();
    case DType::Int8: return py::dtype::of<int8_t>();
    case DType::Int16: return py::dtype::of<int16_t>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::Float16: return py::dtype("float16");
    case DType::BFloat16: break;
  }
  // PyTorch's message for the same call.
  throw TypeError("Got unsupported ScalarType BFloat16: NumPy has no bfloat16; convert first, e.g. t.float().numpy()");
}

// Zero-copy: the tensor's storage keeps the array alive (releasing it under the GIL).
static Tensor from_numpy(py::array a) {
  DType dt = dtype_of_numpy(a);
  // Zero-copy cannot reinterpret bytes: a byte-swapped array ('>f4' on x86) would be read as
  // garbage. PyTorch refuses it the same way; pe.tensor / pe.as_tensor convert it instead.
  PE_CHECK(a.dtype().attr("isnative").cast<bool>(), ValueError, "from_numpy: the array's dtype ",
           std::string(py::str(a.dtype().attr("str"))),
           " has a byte order different from the native one and cannot be shared without copying; use "
           "pyengine.tensor(a) or a.astype(a.dtype.newbyteorder('='))");
  // A tensor sharing a read-only array could be written through (into a read-only mapping: a
  // crash). PyTorch only warns; we refuse, and pe.tensor / pe.as_tensor copy instead.
  PE_CHECK(a.writeable(), ValueError,
           "from_numpy: the array is read-only (flags.writeable is False) and a tensor sharing it could be "
           "written to; pass a.copy(), or use pyengine.tensor(a) or pyengine.as_tensor(a), which copy it");
  int64_t isz = static_cast<int64_t>(itemsize(dt));
  Shape shape(a.ndim()), strides(a.ndim());
  int64_t extent = 1;  // elements from data() to the last element, inclusive
  bool empty = false;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    shape[i] = a.shape(i);
    int64_t bs = a.strides(i);
    PE_CHECK(bs >= 0, ValueError, "from_numpy: arrays with negative strides are not supported (stride ", bs,
             " in dimension ", i, "); pass a copy, e.g. np.ascontiguousarray(a)");
    PE_CHECK(bs % isz == 0, ValueError, "from_numpy: stride ", bs, " bytes is not a multiple of the item size ",
             isz);
    strides[i] = bs / isz;
    if (shape[i] == 0) empty = true;
    extent += (shape[i] - 1) * strides[i];
  }
  if (empty) extent = 0;
  auto* keep = new py::object(a);
  std::shared_ptr<void> owner(keep, [](void* p) {
    with_gil_unless_exiting([p] { delete static_cast<py::object*>(p); });
  });
  auto storage = Storage::wrap(a.mutable_data(), static_cast<size_t>(extent * isz), Device{}, owner);
  return Tensor(storage, shape, strides, 0, dt);
}

// Zero-copy for any CPU tensor: NumPy handles arbitrary (non-negative) strides.
static py::array to_numpy(const Tensor& t) {
  PE_CHECK(t.device().is_cpu(), TypeError, "can't convert ", t.device().str(),
           " tensor to numpy: copy it to the CPU first with .cpu()");
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides(t.ndim());
  if (t.numel() > 0)  // an empty tensor's strides may overflow in bytes; NumPy takes 0 for them
    for (int64_t i = 0; i < t.ndim(); ++i) strides[i] = t.strides()[i] * static_cast<int64_t>(t.itemsize());
  auto* keep = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(numpy_dtype(t.dtype()), shape, strides, t.raw_data(), base);
}

// True when `t` is the only view of memory that pyengine allocated itself, and covers all of it
// with contiguous strides. Autograd then adopts such a gradient as a leaf's .grad instead of
// copying it: no other tensor (nor a NumPy array or DLPack consumer) can see the buffer.
static bool sole_dense_owner(const Tensor& t) {
  const auto& s = t.storage();
  return s.use_count() == 1 && s->owns_host_memory && t.offset() == 0 &&
         t.is_contiguous() && static_cast<size_t>(t.numel()) * t.itemsize() == s->nbytes;
}

static Shape as_shape(const py::object& o) { return to_shape(o, "", "size"); }

void bind_core(py::module_& m) {
  py::class_<Tensor>(m, "TensorImpl")
      .def_property_readonly("shape", [](const Tensor& t) { return to_tuple(t.shape()); })
      .def_property_readonly("strides", [](const Tensor& t) { return to_tuple(t.strides()); })
      .def_property_readonly("offset", &Tensor::offset)
      .def_property_readonly("dtype", [](const Tensor& t) { return dtype_name(t.dtype()); })
      .def_property_readonly("device", [](const Tensor& t) { return t.device().str(); })
      .def_property_readonly("ndim", &Tensor::ndim)
      .def_property_readonly("numel", &Tensor::numel)
      .def_property_readonly("itemsize", &Tensor::itemsize)
      .def_property_readonly("version", &Tensor::version)
      .def_property_readonly("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def_property_readonly("storage_ptr",
                             [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.storage()->data); })
      .def_property_readonly("storage_nbytes", [](const Tensor& t) { return t.storage()->nbytes; })
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("sole_dense_owner", &sole_dense_owner)
      .def("bump_version", &Tensor::bump_version)
      .def("numpy", &to_numpy);

  m.def("from_numpy", &from_numpy, py::arg("array"));
  m.def("empty", [](const py::object& shape, const py::object& dtype, const std::string& device) {
    return Tensor::empty(as_shape(shape), parse_dtype(dtype), Device::parse(device));
  }, py::arg("shape"), py::arg("dtype") = "float32", py::arg("device") = "cpu");
  m.def("full", [](const py::object& shape, Scalar value, const py::object& dtype, const std::string& device) {
    Shape s = as_shape(shape);
    DType dt = parse_dtype(dtype);
    Device dev = Device::parse(device);
    ReleaseGil nogil;
    return ops::full(s, value, dt, dev);
  }, py::arg("shape"), py::arg("value"), py::arg("dtype") = "float32", py::arg("device") = "cpu");

  m.def("copy_", &ops::copy_, py::arg("dst"), py::arg("src"), release_gil());
  m.def("fill_", &ops::fill_, py::arg("dst"), py::arg("value"), release_gil());
  m.def("contiguous", &ops::contiguous, release_gil());
  m.def("clone", &ops::clone, release_gil());
  m.def("to_dtype", [](const Tensor& t, const py::object& dtype) {
    DType dt = parse_dtype(dtype);
    ReleaseGil nogil;
    return ops::to_dtype(t, dt);
  });
  m.def("to_device", [](const Tensor& t, const std::string& device) {
    Device d = Device::parse(device);
    ReleaseGil nogil;
    return ops::to_device(t, d);
  });
  m.def("promote_types", [](const py::object& a, const py::object& b) {
    return dtype_name(promote_types(parse_dtype(a), parse_dtype(b)));
  });

  // Views
  m.def("broadcast_shapes", &ops::broadcast_shapes);
  m.def("as_strided", &ops::as_strided, py::arg("t"), py::arg("shape"), py::arg("strides"), py::arg("offset"));
  m.def("view", &ops::view);
  m.def("view_dtype", [](const Tensor& t, const py::object& dtype) { return ops::view_dtype(t, parse_dtype(dtype)); });
  m.def("reshape", &ops::reshape, release_gil());
  m.def("permute", &ops::permute);
  m.def("transpose", &ops::transpose);
  m.def("expand", &ops::expand);
  m.def("unsqueeze", &ops::unsqueeze);
  m.def("squeeze", &ops::squeeze, py::arg("t"), py::arg("dim") = py::none());
  m.def("flatten", &ops::flatten, py::arg("t"), py::arg("start_dim") = 0, py::arg("end_dim") = -1,
        release_gil());
  m.def("slice", &ops::slice, py::arg("t"), py::arg("dim"), py::arg("start"), py::arg("stop"), py::arg("step") = 1);
  m.def("select", &ops::select);
  m.def("diagonal", &ops::diagonal, py::arg("t"), py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1);

  // Threads and instruction sets
  m.def("set_num_threads", [](const py::object& n) {
    const int64_t v = to_int64(n, "set_num_threads", "num_threads");
    PE_CHECK(v >= 1 && v <= INT32_MAX, ValueError, "set_num_threads: expected a positive number of threads, got ", v,
             " (at most ", INT32_MAX, ")");
    set_num_threads(static_cast<int>(v));
  }, py::arg("num_threads"));
  m.def("get_num_threads", &get_num_threads);
  m.def("active_isa", [] { return isa_name(active_isa()); });
  m.def("kernel_isa", [] { return PE_ISA_CALL(compiled_isa); });
  m.def("best_isa", [] { return isa_name(best_supported_isa()); });
  m.def("set_isa", [](const std::string& name) { set_isa(isa_from_name(name)); });

  m.def("cuda_is_available", [] {
    try {
      return cuda_available();
    } catch (...) {
      return false;  // any failure asking the driver means "no CUDA"
    }
  });
  m.def("cuda_device_count", [] { return cuda_available() ? cuda_hooks().device_count() : 0; });
  m.def("cuda_built", [] { return cuda_hooks().available != nullptr; });
}

}  // namespace pe::bind
