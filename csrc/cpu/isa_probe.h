#pragma once
#include "core/isa.h"

#define PE_DECLARE_ISA_PROBE(isa) \
  namespace pe::cpu::isa {        \
  const char* compiled_isa();     \
  }
PE_FOR_EACH_ISA(PE_DECLARE_ISA_PROBE)
#undef PE_DECLARE_ISA_PROBE
