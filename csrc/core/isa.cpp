#include "core/isa.h"

#include <atomic>
#include <cstdlib>

#include "core/error.h"

namespace pe {

Isa best_supported_isa() {
#if defined(PE_MULTI_ISA) && (defined(__x86_64__) || defined(_M_X64))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Generic;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

Isa isa_from_name(const std::string& name) {
  if (name == "generic") return Isa::Generic;
  if (name == "avx2") return Isa::Avx2;
  if (name == "avx512") return Isa::Avx512;
  throw ValueError("unknown ISA '" + name + "': expected 'generic', 'avx2' or 'avx512'");
}

static Isa initial_isa() {
  Isa best = best_supported_isa();
  if (const char* env = std::getenv("PYENGINE_ISA")) {
    Isa wanted = isa_from_name(env);
    return wanted < best ? wanted : best;
  }
  return best;
}

static std::atomic<int>& isa_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_isa())};
  return slot;
}

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  Isa best = best_supported_isa();
  PE_CHECK(isa <= best, ValueError, "ISA '", isa_name(isa), "' is not supported by this CPU/build (best: '",
           isa_name(best), "')");
  isa_slot().store(static_cast<int>(isa));
}

}  // namespace pe
