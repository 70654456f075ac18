// Run-time choice of the instruction set for hot kernels. Each csrc/cpu/*_kernels.cpp is
// compiled once per ISA into pe::cpu::<isa>; PE_ISA_CALL picks the best one this CPU has.
// The environment variable PYENGINE_ISA (generic, avx2, avx512) caps the choice, and
// set_isa() changes it at run time, so tests exercise every path the machine can run.
#pragma once
#include <string>

namespace pe {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

Isa best_supported_isa();  // what this CPU (and build) can run
Isa active_isa();          // what kernels use now
void set_isa(Isa isa);     // ValueError if the CPU cannot run it
const char* isa_name(Isa isa);
Isa isa_from_name(const std::string& name);

}  // namespace pe

#if defined(PE_MULTI_ISA)
#define PE_FOR_EACH_ISA(X) X(generic) X(avx2) X(avx512)
#define PE_ISA_CALL(fn, ...)                                                   \
  (::pe::active_isa() == ::pe::Isa::Avx512 ? ::pe::cpu::avx512::fn(__VA_ARGS__) \
   : ::pe::active_isa() == ::pe::Isa::Avx2 ? ::pe::cpu::avx2::fn(__VA_ARGS__)   \
                                           : ::pe::cpu::generic::fn(__VA_ARGS__))
#else
#define PE_FOR_EACH_ISA(X) X(generic)
#define PE_ISA_CALL(fn, ...) (::pe::cpu::generic::fn(__VA_ARGS__))
#endif
