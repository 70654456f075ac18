// DLPack exchange, zero-copy both ways: to_dlpack(t) -> "dltensor" capsule, from_dlpack(capsule
// or object with __dlpack__), and TensorImpl.__dlpack__ / __dlpack_device__ so that
// np.from_dlpack and torch.from_dlpack accept our tensors directly.
//
// Ownership follows the DLPack capsule protocol: a consumer renames the capsule to
// "used_dltensor" and calls the producer's deleter when it is done; the capsule's own
// destructor frees an export that nobody consumed.
#include "bindings/bind.h"
#include "bindings/dlpack.h"
#include "core/allocator.h"

namespace pe::bind {

namespace {

constexpr const char* kCapsuleName = "dltensor";
constexpr const char* kUsedCapsuleName = "used_dltensor";

// What an exported capsule owns: the tensor (and so its storage) and the shape/stride arrays
// the DLTensor points into.
struct Export {
  Tensor tensor;
  Shape shape, strides;
  DLManagedTensor managed{};
};

void delete_export(DLManagedTensor* self) { delete static_cast<Export*>(self->manager_ctx); }

void capsule_destructor(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, kCapsuleName)) return;  // consumed: the consumer owns it now
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kCapsuleName));
  if (managed && managed->deleter) managed->deleter(managed);
}

// DLPack's (code, bits) for each dtype; bool is DLPack's own kDLBool.
DLDataType to_dl_dtype(DType d) {
  const uint8_t bits = static_cast<uint8_t>(8 * itemsize(d));
  switch (d) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::Int8:
    case DType::Int16:
    case DType::Int32:
    case DType::Int64: return {kDLInt, bits, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
    case DType::Float16:
    case DType::Float32:
    case DType::Float64: return {kDLFloat, bits, 1};
  }
  return {kDLFloat, 32, 1};
}

DType from_dl_dtype(DLDataType t) {
  PE_CHECK(t.lanes == 1, TypeError, "from_dlpack: vector dtypes (lanes=", t.lanes, ") are not supported");
  for (int i = 0; i < kNumDTypes; ++i) {
    const DLDataType d = to_dl_dtype(static_cast<DType>(i));
    if (d.code == t.code && d.bits == t.bits) return static_cast<DType>(i);
  }
  throw TypeError(str("from_dlpack: unsupported DLPack dtype (code ", int(t.code), ", bits ", int(t.bits),
                      "): expected bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32 or float64"));
}

DLDevice to_dl_device(Device d) {
  if (d.is_cuda()) return {kDLCUDA, d.index};
  return {kDLCPU, 0};
}

Device from_dl_device(DLDevice d) {
  // Pinned host memory is ordinary CPU memory to us.
  if (d.device_type == kDLCPU || d.device_type == kDLCUDAHost) return {};
  if (d.device_type == kDLCUDA) {
    Device dev{DeviceType::CUDA, d.device_id};
    check_device(dev);
    return dev;
  }
  throw TypeError(str("from_dlpack: unsupported DLPack device type ", int(d.device_type),
                      ": expected CPU (1) or CUDA (2)"));
}

py::capsule to_dlpack(const Tensor& t) {
  auto* e = new Export{t, t.shape(), t.strides()};
  DLTensor& dl = e->managed.dl_tensor;
  dl.data = t.raw_data();
  dl.device = to_dl_device(t.device());
  dl.ndim = static_cast<int32_t>(t.ndim());
  dl.dtype = to_dl_dtype(t.dtype());
  dl.shape = e->shape.data();
  dl.strides = e->strides.data();
  dl.byte_offset = 0;
  e->managed.manager_ctx = e;
  e->managed.deleter = delete_export;
  PyObject* capsule = PyCapsule_New(&e->managed, kCapsuleName, capsule_destructor);
  if (!capsule) {
    delete e;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(capsule);
}

Tensor from_capsule(const py::object& capsule) {
  PyObject* cap = capsule.ptr();
  PE_CHECK(PyCapsule_CheckExact(cap), TypeError, "from_dlpack: __dlpack__() returned ",
           std::string(py::str(py::type::of(capsule).attr("__name__"))), ", expected a PyCapsule");
  const char* name = PyCapsule_GetName(cap);
  PE_CHECK(!(name && std::string(name) == kUsedCapsuleName), ValueError,
           "from_dlpack: this DLPack capsule was already consumed (each capsule can be imported once)");
  PE_CHECK(PyCapsule_IsValid(cap, kCapsuleName), TypeError, "from_dlpack: expected a capsule named 'dltensor', got '",
           name ? name : "", "'");
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, kCapsuleName));
  const DLTensor& dl = managed->dl_tensor;

  // Validate everything before taking ownership: on error the capsule stays unconsumed.
  const DType dtype = from_dl_dtype(dl.dtype);
  const Device device = from_dl_device(dl.device);
  PE_CHECK(dl.ndim >= 0, ValueError, "from_dlpack: negative ndim ", dl.ndim);
  Shape shape(dl.shape, dl.shape + dl.ndim);
  Shape strides = dl.strides ? Shape(dl.strides, dl.strides + dl.ndim) : contiguous_strides(shape);
  int64_t extent = 1;  // elements from the first to the last, inclusive
  for (int32_t d = 0; d < dl.ndim; ++d) {
    PE_CHECK(shape[d] >= 0, ValueError, "from_dlpack: negative size in shape ", shape_str(shape));
    PE_CHECK(strides[d] >= 0 || shape[d] <= 1, ValueError, "from_dlpack: negative strides are not supported (strides ",
             shape_str(strides), ")");
    if (shape[d] <= 1) strides[d] = std::max<int64_t>(strides[d], 0);
    extent += (shape[d] - 1) * strides[d];
  }
  if (shape_numel(shape) == 0) extent = 0;

  std::shared_ptr<void> owner(managed, [](void* p) {
    auto* m = static_cast<DLManagedTensor*>(p);
    if (!m->deleter) return;
    with_gil_unless_exiting([m] { m->deleter(m); });  // producers such as NumPy release Python objects
  });
  PyCapsule_SetName(cap, kUsedCapsuleName);
  void* data = static_cast<char*>(dl.data) + dl.byte_offset;
  auto storage = Storage::wrap(data, static_cast<size_t>(extent) * itemsize(dtype), device, std::move(owner));
  return Tensor(std::move(storage), shape, strides, 0, dtype);
}

Tensor from_dlpack(const py::object& obj) {
  if (PyCapsule_CheckExact(obj.ptr())) return from_capsule(obj);
  PE_CHECK(py::hasattr(obj, "__dlpack__"), TypeError, "from_dlpack: expected a DLPack capsule or an object with "
           "__dlpack__, got ", std::string(py::str(py::type::of(obj).attr("__name__"))));
  return from_capsule(obj.attr("__dlpack__")());
}

}  // namespace

void bind_dlpack(py::module_& m) {
  m.def("to_dlpack", &to_dlpack, py::arg("t"));
  m.def("from_dlpack", &from_dlpack, py::arg("obj"));

  // The array-API protocol on TensorImpl. Keyword arguments (stream, max_version, dl_device,
  // copy) are accepted and ignored: the answer is always the unversioned zero-copy capsule,
  // which consumers asking for a newer version still take.
  py::object cls = m.attr("TensorImpl");
  cls.attr("__dlpack__") = py::cpp_function(
      [](const Tensor& t, const py::kwargs&) { return to_dlpack(t); }, py::name("__dlpack__"),
      py::is_method(cls));
  cls.attr("__dlpack_device__") = py::cpp_function(
      [](const Tensor& t) {
        DLDevice d = to_dl_device(t.device());
        return py::make_tuple(static_cast<int>(d.device_type), d.device_id);
      },
      py::name("__dlpack_device__"), py::is_method(cls));
}

}  // namespace pe::bind
