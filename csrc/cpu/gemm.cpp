// cpu::gemm: picks the ISA build of the float kernels, runs int64 on the plain loop, and reads
// the cache sizes the blocking is computed from.
#include "cpu/gemm.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>

#include "core/parallel.h"
#include "cpu/gemm_direct.h"
#include "cpu/gemm_kernels.h"

namespace pe::cpu {

namespace {

// "32K" / "1024K" / "36M" as found in /sys/devices/system/cpu/cpu0/cache/index*/size.
int64_t parse_cache_size(const std::string& s) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(s, &used);
    char unit = used < s.size() ? s[used] : ' ';
    if (unit == 'K') v <<= 10;
    if (unit == 'M') v <<= 20;
    return v;
  } catch (...) {
    return 0;
  }
}

// sysconf first (glibc reads cpuid); VMs and other libcs often answer 0 there, so the sysfs
// tree is the second source, and plausible sizes for a current x86 core the last.
CacheSizes read_cache_sizes() {
  CacheSizes c;
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  c.l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  c.l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  c.l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  for (int index = 0; index < 8; ++index) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_f(dir + "level"), type_f(dir + "type"), size_f(dir + "size");
    int level = 0;
    std::string type, size;
    if (!(level_f >> level) || !(type_f >> type) || !(size_f >> size)) continue;
    if (type == "Instruction") continue;
    int64_t bytes = parse_cache_size(size);
    if (level == 1 && c.l1 <= 0) c.l1 = bytes;
    if (level == 2 && c.l2 <= 0) c.l2 = bytes;
    if (level == 3 && c.l3 <= 0) c.l3 = bytes;
  }
  if (c.l1 < (8 << 10) || c.l1 > (1 << 20)) c.l1 = 32 << 10;
  if (c.l2 < (64 << 10) || c.l2 > (64 << 20)) c.l2 = 512 << 10;
  if (c.l3 < c.l2) c.l3 = std::max<int64_t>(c.l2, 8 << 20);
  return c;
}

}  // namespace

namespace {
std::atomic<int64_t> g_l1{0}, g_l2{0}, g_l3{0};  // overrides from set_cache_sizes (0: none)
}

CacheSizes cache_sizes() {
  static const CacheSizes os_sizes = read_cache_sizes();
  CacheSizes c{g_l1.load(), g_l2.load(), g_l3.load()};
  return c.l1 > 0 ? c : os_sizes;
}

void set_cache_sizes(const CacheSizes& sizes) {
  g_l2.store(sizes.l2);
  g_l3.store(sizes.l3);
  g_l1.store(sizes.l1);
}

template <>
void gemm<float>(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsA, int64_t csA,
                 const float* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC) {
  PE_ISA_CALL(gemm_f32, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

template <>
void gemm<double>(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsA, int64_t csA,
                  const double* B, int64_t rsB, int64_t csB, double beta, double* C, int64_t rsC,
                  int64_t csC) {
  PE_ISA_CALL(gemm_f64, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

bool bf16_dot_supported() {
#if defined(PE_BF16_DOT)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
  }();
  return has;
#else
  return false;
#endif
}

namespace {
// The dot-product kernel is an AVX-512 kernel: a lower ISA choice (PYENGINE_ISA, set_isa)
// turns it off with the rest.
bool use_bf16_dot() { return active_isa() == Isa::Avx512 && bf16_dot_supported(); }
}  // namespace

const char* bf16_gemm_path() { return use_bf16_dot() ? "avx512_bf16" : "float32"; }

void gemm16(int64_t M, int64_t N, int64_t K, float alpha, const BFloat16* A, int64_t rsA, int64_t csA,
            const BFloat16* B, int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC) {
#if defined(PE_BF16_DOT)
  if (use_bf16_dot())
    return avx512bf16::gemm_bf16_dot(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
#endif
  PE_ISA_CALL(gemm_bf16_widen, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

void gemm16(int64_t M, int64_t N, int64_t K, float alpha, const Half* A, int64_t rsA, int64_t csA, const Half* B,
            int64_t rsB, int64_t csB, float beta, float* C, int64_t rsC, int64_t csC) {
  PE_ISA_CALL(gemm_f16_widen, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

// Integers: exact, so no blocking games; the row-wise loop is correct for any strides.
template <>
void gemm<int64_t>(int64_t M, int64_t N, int64_t K, int64_t alpha, const int64_t* A, int64_t rsA,
                   int64_t csA, const int64_t* B, int64_t rsB, int64_t csB, int64_t beta, int64_t* C,
                   int64_t rsC, int64_t csC) {
  if (M <= 0 || N <= 0) return;
  if (K == 0 || alpha == 0) return gemm_detail::scale_c(M, N, beta, C, rsC, csC);
  int threads = omp_in_parallel() ? 1 : get_num_threads();
  gemm_detail::gemm_direct(threads, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
}

}  // namespace pe::cpu
