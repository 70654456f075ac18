// Matrix products: matmul (NumPy/PyTorch semantics), bmm, and the in-place GEMM gemm_.
#include "bindings/bind.h"
#include "cpu/gemm.h"
#include "ops/linalg.h"

namespace pe::bind {

void bind_linalg(py::module_& m) {
  m.def("matmul", &ops::matmul, py::arg("a"), py::arg("b"), release_gil(),
        "a @ b with NumPy/PyTorch rules: 1-D dot, 2-D, 1-D with 2-D, batched with broadcast batch dims");
  m.def("bmm", &ops::bmm, py::arg("a"), py::arg("b"), release_gil(), "batched product of two 3-D tensors");
  m.def("gemm_", &ops::gemm_, py::arg("c"), py::arg("a"), py::arg("b"), py::arg("alpha") = 1.0,
        py::arg("beta") = 0.0, release_gil(),
        "c = alpha * a @ b + beta * c on 2-D tensors of any strides (beta == 0 ignores c); returns c");
  // Introspection for benchmarks, and a test hook that shrinks the blocking (see ops/linalg.h).
  m.def("gemm_cache_sizes", &ops::gemm_cache_sizes);
  m.def("bf16_gemm_path", &cpu::bf16_gemm_path,
        "which kernel bfloat16 products run on this CPU now: 'avx512_bf16' (the dot-product instruction) "
        "or 'float32' (operands widened while packing)");
  m.def("_set_gemm_cache_sizes", &ops::set_gemm_cache_sizes, py::arg("l1") = 0, py::arg("l2") = 0,
        py::arg("l3") = 0);
}

}  // namespace pe::bind
