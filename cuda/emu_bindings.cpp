// _cuda_emu: the CUDA kernels compiled for the CPU through cuda_emu.h, callable on NumPy
// arrays, so tests can check every kernel against NumPy without a GPU. Arrays are handed to
// the launchers as they are (strides in elements, any layout); broadcasting is expressed as
// stride 0, exactly as the _C glue does for tensors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "cuda/emu_selftest.h"
#include "cuda/launchers.h"
#include "ops/elementwise_math.h"

namespace py = pybind11;

namespace pe::cuda {
namespace {

DType dtype_of(const py::array& a) {
  char kind = a.dtype().kind();
  if (kind == 'f' && a.itemsize() == 4) return DType::Float32;
  if (kind == 'f' && a.itemsize() == 8) return DType::Float64;
  if (kind == 'i' && a.itemsize() == 8) return DType::Int64;
  if (kind == 'b' && a.itemsize() == 1) return DType::Bool;
  throw py::type_error("unsupported NumPy dtype '" + std::string(py::str(a.dtype())) +
                       "': expected float32, float64, int64 or bool");
}

Dims shape_of(const py::array& a) { return Dims(a.shape(), a.shape() + a.ndim()); }

std::string shape_str(const Dims& s) { return std::string(py::str(py::cast(s))); }

// `a` seen in `shape` (right-aligned; expanded dims get stride 0).
Operand operand(const py::array& a, const Dims& shape) {
  const int64_t nd = static_cast<int64_t>(shape.size()), off = nd - a.ndim();
  if (off < 0) throw py::value_error("array of shape " + shape_str(shape_of(a)) + " cannot broadcast to " + shape_str(shape));
  Dims strides(shape.size(), 0);
  for (int64_t d = 0; d < a.ndim(); ++d) {
    if (a.shape(d) == shape[d + off]) {
      if (a.strides(d) % static_cast<int64_t>(a.itemsize()) != 0) throw py::value_error("misaligned array strides");
      strides[d + off] = a.shape(d) == 1 ? 0 : a.strides(d) / static_cast<int64_t>(a.itemsize());
    } else if (a.shape(d) != 1) {
      throw py::value_error("array of shape " + shape_str(shape_of(a)) + " cannot broadcast to " + shape_str(shape));
    }
  }
  return {const_cast<void*>(a.data()), dtype_of(a), strides};
}

Operand writable(py::array& a) {
  if (!a.writeable()) throw py::value_error("destination array is read-only");
  Operand op = operand(a, shape_of(a));
  op.data = a.mutable_data();
  return op;
}

py::array new_array(const py::dtype& dt, const Dims& shape) { return py::array(dt, std::vector<py::ssize_t>(shape.begin(), shape.end())); }

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Bool: return py::dtype::of<bool>();
  }
  return py::dtype::of<float>();
}

py::array as_dtype(const py::array& a, DType d) {  // no copy (strides kept) when it matches
  return a.attr("astype")(numpy_dtype(d), py::arg("copy") = false).cast<py::array>();
}

template <class Op>
Op op_from_name(const std::string& name) {
  for (int i = 0; i < int(Op::kCount); ++i)
    if (name == ew::op_name(Op(i))) return Op(i);
  throw py::value_error("unknown elementwise op '" + name + "'");
}

// The compute dtype the op layer picks for an operand dtype (ops/elementwise_math.h).
DType compute_dtype(ew::Domain domain, DType dt, const std::string& name) {
  switch (domain) {
    case ew::Domain::All: return dt;
    case ew::Domain::Numeric:
      if (dt == DType::Bool) throw py::type_error(name + ": bool operands are not supported");
      return dt;
    case ew::Domain::BoolAsInt: return dt == DType::Bool ? DType::Int64 : dt;
    case ew::Domain::Float: return is_floating(dt) ? dt : DType::Float32;
  }
  return dt;
}

py::array unary_array(const std::string& name, const py::array& x) {
  ew::UnaryOp op = op_from_name<ew::UnaryOp>(name);
  DType t = compute_dtype(ew::op_domain(op), dtype_of(x), name);
  py::array in = as_dtype(x, t);
  Dims shape = shape_of(in);
  py::array out = new_array(numpy_dtype(ew::returns_bool(op) ? DType::Bool : t), shape);
  Operand o = writable(out), i = operand(in, shape);
  py::gil_scoped_release nogil;
  unary(int(op), shape, o, i);
  return out;
}

py::array binary_array(const std::string& name, const py::array& a, const py::array& b) {
  ew::BinaryOp op = op_from_name<ew::BinaryOp>(name);
  DType t = compute_dtype(ew::op_domain(op), promote_types(dtype_of(a), dtype_of(b)), name);
  py::array x = as_dtype(a, t), y = as_dtype(b, t);
  Dims shape = py::cast<Dims>(py::module_::import("numpy").attr("broadcast_shapes")(
      py::tuple(py::cast(shape_of(x))), py::tuple(py::cast(shape_of(y)))));
  py::array out = new_array(numpy_dtype(ew::returns_bool(op) ? DType::Bool : t), shape);
  Operand o = writable(out), p = operand(x, shape), q = operand(y, shape);
  py::gil_scoped_release nogil;
  binary(int(op), shape, o, p, q);
  return out;
}

Reduce reduce_op(const std::string& name) {
  if (name == "sum") return Reduce::Sum;
  if (name == "mean") return Reduce::Mean;
  if (name == "amax") return Reduce::Max;
  if (name == "amin") return Reduce::Min;
  if (name == "prod") return Reduce::Prod;
  if (name == "logsumexp") return Reduce::LogSumExp;
  throw py::value_error("unknown reduction '" + name + "': expected sum, mean, amax, amin, prod or logsumexp");
}

py::array reduce_array(const std::string& name, const py::array& x, std::optional<std::vector<int64_t>> dims, bool keepdim) {
  Reduce op = reduce_op(name);
  DType dt = dtype_of(x);
  const bool bool_ok = op == Reduce::Max || op == Reduce::Min;
  const bool float_only = op == Reduce::Mean || op == Reduce::LogSumExp;
  if ((dt == DType::Bool && !bool_ok) || (float_only && !is_floating(dt)))
    throw py::type_error(name + ": unsupported dtype " + dtype_name(dt));
  const int64_t nd = x.ndim();
  std::vector<bool> reduced(nd, !dims.has_value());
  if (dims)
    for (int64_t d : *dims) {
      if (d < -nd || d >= nd) throw py::index_error("dim " + std::to_string(d) + " out of range for " + std::to_string(nd) + " dims");
      int64_t w = d < 0 ? d + nd : d;
      if (reduced[w]) throw py::value_error("dim " + std::to_string(d) + " appears twice");
      reduced[w] = true;
    }
  Dims shape = shape_of(x), kept = shape, squeezed;
  for (int64_t d = 0; d < nd; ++d) {
    if (reduced[d]) kept[d] = 1;
    else squeezed.push_back(shape[d]);
  }
  py::array out = new_array(x.dtype(), kept);
  Operand o = writable(out), in = operand(x, shape);
  {
    py::gil_scoped_release nogil;
    cuda::reduce(op, shape, o, in, reduced);
  }
  return keepdim ? out : out.attr("reshape")(py::cast(squeezed)).cast<py::array>();
}

void check_float_matrices(const py::array& a, const py::array& b, DType dt) {
  if (!is_floating(dt) || dtype_of(a) != dt || dtype_of(b) != dt)
    throw py::type_error("gemm: expected float32 or float64 operands of one dtype");
}

// `a` (..., rows, cols) as a Matrix whose batch dims are seen in `batch_shape`.
Matrix matrix(const py::array& a, const Dims& batch_shape) {
  const py::ssize_t nd = a.ndim();
  Dims full = batch_shape;
  full.push_back(a.shape(nd - 2));
  full.push_back(a.shape(nd - 1));
  Operand op = operand(a, full);
  const int64_t isz = static_cast<int64_t>(a.itemsize());
  return {op.data, a.strides(nd - 2) / isz, a.strides(nd - 1) / isz, Dims(op.strides.begin(), op.strides.end() - 2)};
}

// matmul on arrays with ndim >= 2: (..., m, k) @ (..., k, n), batch dims broadcast.
py::array matmul_arrays(const py::array& a, const py::array& b) {
  DType dt = dtype_of(a);
  check_float_matrices(a, b, dt);
  if (a.ndim() < 2 || b.ndim() < 2) throw py::value_error("matmul: expected arrays with at least 2 dims");
  Dims as = shape_of(a), bs = shape_of(b);
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k) throw py::value_error("matmul: shapes " + shape_str(as) + " and " + shape_str(bs) + " do not match");
  py::array batch = py::module_::import("numpy").attr("broadcast_shapes")(
      py::tuple(py::cast(Dims(as.begin(), as.end() - 2))), py::tuple(py::cast(Dims(bs.begin(), bs.end() - 2))));
  Dims batch_shape = py::cast<Dims>(batch);
  Dims out_shape = batch_shape;
  out_shape.push_back(m);
  out_shape.push_back(n);
  py::array out = new_array(a.dtype(), out_shape);
  Matrix ma = matrix(a, batch_shape), mb = matrix(b, batch_shape), mc = matrix(out, batch_shape);
  mc.data = out.mutable_data();
  py::gil_scoped_release nogil;
  cuda::gemm(dt, batch_shape, m, n, k, 1.0, ma, mb, 0.0, mc);
  return out;
}

// c = alpha * a @ b + beta * c on 2-D arrays (any strides), in place.
void gemm_arrays(py::array c, const py::array& a, const py::array& b, double alpha, double beta) {
  DType dt = dtype_of(c);
  check_float_matrices(a, b, dt);
  if (a.ndim() != 2 || b.ndim() != 2 || c.ndim() != 2) throw py::value_error("gemm: expected 2-D arrays");
  int64_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  if (b.shape(0) != k || c.shape(0) != m || c.shape(1) != n)
    throw py::value_error("gemm: shapes " + shape_str(shape_of(a)) + " @ " + shape_str(shape_of(b)) + " -> " +
                          shape_str(shape_of(c)) + " do not match");
  writable(c);
  Matrix ma = matrix(a, {}), mb = matrix(b, {}), mc = matrix(c, {});
  mc.data = c.mutable_data();
  py::gil_scoped_release nogil;
  cuda::gemm(dt, {}, m, n, k, alpha, ma, mb, beta, mc);
}

py::array_t<double> contiguous_f64(const py::array& x) {
  return py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(x);
}

}  // namespace
}  // namespace pe::cuda

PYBIND11_MODULE(_cuda_emu, m) {
  using namespace pe::cuda;
  m.doc() = "pyengine's CUDA kernels compiled for the CPU through cuda/cuda_emu.h (tests only)";

  m.def("copy", [](py::array dst, const py::array& src) {
    Operand d = writable(dst), s = operand(src, shape_of(dst));
    py::gil_scoped_release nogil;
    copy(shape_of(dst), d, s);
  }, py::arg("dst"), py::arg("src"), "dst[...] = src (broadcast, converted to dst's dtype)");
  m.def("fill", [](py::array dst, double value) {
    Operand d = writable(dst);
    py::gil_scoped_release nogil;
    fill(shape_of(dst), d, value);
  }, py::arg("dst"), py::arg("value"));
  m.def("unary", &unary_array, py::arg("op"), py::arg("x"), "op: a name from PE_UNARY_OPS, e.g. 'exp'");
  m.def("binary", &binary_array, py::arg("op"), py::arg("a"), py::arg("b"), "op: a name from PE_BINARY_OPS; broadcasts");
  m.def("reduce", &reduce_array, py::arg("op"), py::arg("x"), py::arg("dims") = py::none(), py::arg("keepdim") = false,
        "op: sum, mean, amax, amin, prod or logsumexp over `dims` (None = all); amax/amin on bool = any/all");
  m.def("matmul", &matmul_arrays, py::arg("a"), py::arg("b"));
  m.def("gemm", &gemm_arrays, py::arg("c"), py::arg("a"), py::arg("b"), py::arg("alpha") = 1.0, py::arg("beta") = 0.0);

  // The emulation's own machinery.
  m.def("block_reverse", [](const py::array& x, int block) {
    auto in = contiguous_f64(x);
    py::array_t<double> out(in.size());
    selftest::block_reverse(out.mutable_data(), in.data(), in.size(), block);
    return out;
  });
  m.def("warp_sums", [](const py::array& x) {
    auto in = contiguous_f64(x);
    py::array_t<double> down(in.size()), butterfly(in.size());
    selftest::warp_sums(down.mutable_data(), butterfly.mutable_data(), in.data(), static_cast<int>(in.size()));
    return py::make_tuple(down, butterfly);
  });
  m.def("atomic_count", [](double value, int grid, int block) {
    int64_t count = 0;
    double total = 0;
    selftest::atomic_count(&count, &total, value, grid, block);
    return py::make_tuple(count, total);
  });
  m.def("throw_in_thread", &selftest::throw_in_thread, py::call_guard<py::gil_scoped_release>());
  m.def("divergent_barrier", &selftest::divergent_barrier, py::call_guard<py::gil_scoped_release>());
  m.def("launch_with", &selftest::launch_with, py::call_guard<py::gil_scoped_release>());
}
