// Compiled once per ISA like every *_kernels.cpp: reports which build of the kernels ran, so
// tests can check that PYENGINE_ISA / set_isa really switch the code path.
#include "cpu/isa_probe.h"

namespace pe::cpu::PE_ISA_NS {

const char* compiled_isa() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#else
  return "generic";
#endif
}

}  // namespace pe::cpu::PE_ISA_NS
