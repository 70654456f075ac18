// Philox random numbers: seeding, rand/randn/randint, in-place uniform_/normal_/bernoulli_.
#include "bindings/bind.h"
#include "ops/random.h"

namespace pe::bind {

namespace {

// Seeds are any Python int; like PyTorch, negative ones wrap modulo 2^64.
uint64_t as_seed(const py::int_& v) {
  uint64_t s = PyLong_AsUnsignedLongLongMask(v.ptr());
  if (PyErr_Occurred()) throw py::error_already_set();
  return s;
}

Shape as_shape(const py::object& o) { return to_shape(o, "", "size"); }

}  // namespace

void bind_random(py::module_& m) {
  using ops::Generator;
  // pe.Generator's engine: a Philox stream (seed, offset). The default generator is the same
  // object every time (its lifetime is the process's, so the holder does not own it).
  py::class_<Generator, std::shared_ptr<Generator>>(m, "Generator")
      .def(py::init([](const py::int_& seed) { return std::make_shared<Generator>(as_seed(seed)); }),
           py::arg("seed") = py::int_(ops::kDefaultSeed))
      .def("manual_seed", [](Generator& g, const py::int_& seed) { g.manual_seed(as_seed(seed)); }, py::arg("seed"))
      .def("state", &Generator::state)
      .def("set_state", [](Generator& g, const py::int_& seed, const py::int_& offset) {
        g.set_state(as_seed(seed), as_seed(offset));
      }, py::arg("seed"), py::arg("offset"));
  m.def("default_generator", [] { return std::shared_ptr<Generator>(&ops::default_generator(), [](Generator*) {}); });

  m.def("manual_seed", [](const py::int_& seed) { ops::manual_seed(as_seed(seed)); }, py::arg("seed"));
  m.def("seed_state", &ops::seed_state);
  m.def("set_seed_state", [](const py::int_& seed, const py::int_& offset) {
    ops::set_seed_state(as_seed(seed), as_seed(offset));
  }, py::arg("seed"), py::arg("offset"));

  for (auto [name, f] : {std::pair{"rand", &ops::rand}, std::pair{"randn", &ops::randn}}) {
    m.def(name, [f = f](const py::object& shape, const py::object& dtype, const std::string& device, Generator* gen) {
      Shape s = as_shape(shape);
      DType dt = parse_dtype(dtype);
      Device dev = Device::parse(device);
      ReleaseGil nogil;
      return f(s, dt, dev, gen);
    }, py::arg("shape"), py::arg("dtype") = "float32", py::arg("device") = "cpu", py::arg("generator") = py::none());
  }
  m.def("randint", [](const py::object& low_, const py::object& high_, const py::object& shape,
                      const py::object& dtype, const std::string& device, Generator* gen) {
    const int64_t low = to_int64(low_, "randint", "low"), high = to_int64(high_, "randint", "high");
    Shape s = as_shape(shape);
    DType dt = parse_dtype(dtype);
    Device dev = Device::parse(device);
    ReleaseGil nogil;
    return ops::randint(low, high, s, dt, dev, gen);
  }, py::arg("low"), py::arg("high"), py::arg("shape"), py::arg("dtype") = "int64", py::arg("device") = "cpu",
     py::arg("generator") = py::none());

  m.def("uniform_", &ops::uniform_, py::arg("t"), py::arg("low") = 0.0, py::arg("high") = 1.0,
        py::arg("generator") = py::none(), release_gil());
  m.def("normal_", &ops::normal_, py::arg("t"), py::arg("mean") = 0.0, py::arg("std") = 1.0,
        py::arg("generator") = py::none(), release_gil());
  m.def("bernoulli_", &ops::bernoulli_, py::arg("t"), py::arg("p") = 0.5, py::arg("generator") = py::none(),
        release_gil());
  m.def("bernoulli", &ops::bernoulli, py::arg("p"), py::arg("generator") = py::none(), release_gil(),
        "a 0/1 draw per element of p (float32/float64): 1 with probability p[i]; p's dtype and shape");
  m.def("multinomial", &ops::multinomial, py::arg("probs"), py::arg("num_samples"), py::arg("replacement") = false,
        py::arg("generator") = py::none(), release_gil(),
        "num_samples category indices (int64) per row of the 1-d or 2-d weights probs");
}

}  // namespace pe::bind
