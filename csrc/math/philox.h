// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel
// random numbers: as easy as 1, 2, 3" (SC 2011): 10 rounds of a multiply-xor network over a
// 128-bit counter, keyed by a 64-bit key. Output block b of a stream depends only on
// (key, b), so any thread (or GPU lane) can produce any part of a draw on its own.
//
// Header-only so the CUDA backend can include it; functions are PE_HOST_DEVICE. The second
// half turns blocks into the elements of each distribution, written once for both backends:
// the same (seed, offset) gives the same numbers on the CPU and on a GPU.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "math/host_device.h"

namespace pe::philox {

// Round multipliers and Weyl key increments from the paper.
constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1
constexpr int kRounds = 10;

struct Block {
  uint32_t w[4];
};

PE_HOST_DEVICE inline Block philox4x32(Block ctr, uint32_t key0, uint32_t key1) {
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * ctr.w[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * ctr.w[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    ctr = Block{{hi1 ^ ctr.w[1] ^ key0, lo1, hi0 ^ ctr.w[3] ^ key1, lo0}};
  }
  return ctr;
}

// Block `index` of the stream keyed by `seed`: counter = (index, 0), key = seed.
PE_HOST_DEVICE inline Block block(uint64_t seed, uint64_t index) {
  Block ctr{{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), 0u, 0u}};
  return philox4x32(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform floats from random words.
PE_HOST_DEVICE inline float uniform_float(uint32_t w) {  // [0, 1), 24 bits
  return static_cast<float>(w >> 8) * (1.0f / 16777216.0f);
}
PE_HOST_DEVICE inline double uniform_double(uint32_t hi, uint32_t lo) {  // [0, 1), 53 bits
  const uint64_t bits = (static_cast<uint64_t>(hi) << 21) | (lo >> 11);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}
PE_HOST_DEVICE inline double uniform_open_closed(uint32_t w) {  // (0, 1]: safe for log()
  return (static_cast<double>(w) + 1.0) * (1.0 / 4294967296.0);
}
PE_HOST_DEVICE inline double uniform_open_closed(uint32_t hi, uint32_t lo) {  // (0, 1], 53 bits
  return 1.0 - uniform_double(hi, lo);
}

// ----- distributions -------------------------------------------------------------------------
//
// A draw of n elements reads blocks offset, offset + 1, ... of the stream keyed by the seed;
// element i takes its words from block offset + i / E, where E (elements per block) depends on
// the distribution and dtype. So element i depends only on (seed, offset, i), never on how
// threads split the work.

enum class Dist { Uniform, Normal, Randint, Bernoulli };

// A distribution and its parameters. Uniform: [a, a + span); Normal: mean a, std span;
// Bernoulli: 1 with probability a; Randint: low + [0, range).
struct Draw {
  Dist dist = Dist::Uniform;
  double a = 0, span = 1;
  int64_t low = 0;
  uint64_t range = 1;
};

// float64 and randint take two words per element; Box-Muller turns each pair of words into
// two normals.
PE_HOST_DEVICE inline int elements_per_block(Dist dist, bool is_double) {
  if (dist == Dist::Randint) return 2;
  if (dist == Dist::Bernoulli) return 4;
  return is_double ? 2 : 4;
}

// a * b + c rounded twice, never fused: nvcc would contract it into an FMA (one rounding),
// and the GPU's numbers would drift from the CPU's.
PE_HOST_DEVICE inline double mul_add_unfused(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(__dmul_rn(a, b), c);
#else
  return a * b + c;
#endif
}

// The high 64 bits of a 64 x 64-bit product.
PE_HOST_DEVICE inline uint64_t mul_hi64(uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#endif
}

constexpr double kTwoPi = 6.283185307179586476925286766559;

// Box-Muller: two independent uniforms give two independent standard normals.
PE_HOST_DEVICE inline void box_muller(double u_radius, double u_angle, double& z0, double& z1) {
  const double r = std::sqrt(-2.0 * std::log(u_radius));  // u_radius in (0, 1]
  z0 = r * std::cos(kTwoPi * u_angle);
  z1 = r * std::sin(kTwoPi * u_angle);
}

// Writes the `count` (<= elements_per_block) elements of type T that block `b` yields.
// 1 with probability p: the word as a uniform in [0, 1) (32 bits) below p. p = 0 never, p = 1 always.
PE_HOST_DEVICE inline bool bernoulli_word(uint32_t w, double p) { return w * (1.0 / 4294967296.0) < p; }

// Uniform and Normal need a floating T; Randint and Bernoulli take any (bool included).
template <class T>
PE_HOST_DEVICE inline void emit(const Draw& d, const Block& b, T* dst, int count) {
  constexpr bool kDouble = std::is_same<T, double>::value;
  if constexpr (std::is_floating_point<T>::value) {
    if (d.dist == Dist::Uniform) {
      for (int e = 0; e < count; ++e)
        dst[e] = static_cast<T>(mul_add_unfused(
            d.span, kDouble ? uniform_double(b.w[2 * e], b.w[2 * e + 1]) : double(uniform_float(b.w[e])), d.a));
      return;
    }
    if (d.dist == Dist::Normal) {
      double z[4];
      if (kDouble) {
        box_muller(uniform_open_closed(b.w[0], b.w[1]), uniform_double(b.w[2], b.w[3]), z[0], z[1]);
      } else {
        box_muller(uniform_open_closed(b.w[0]), uniform_float(b.w[1]), z[0], z[1]);
        box_muller(uniform_open_closed(b.w[2]), uniform_float(b.w[3]), z[2], z[3]);
      }
      for (int e = 0; e < count; ++e) dst[e] = static_cast<T>(mul_add_unfused(d.span, z[e], d.a));
      return;
    }
  }
  if (d.dist == Dist::Randint) {
    // Multiply-shift maps a 64-bit word onto [0, range); the bias is at most range / 2^64.
    for (int e = 0; e < count; ++e) {
      const uint64_t word = (static_cast<uint64_t>(b.w[2 * e]) << 32) | b.w[2 * e + 1];
      const uint64_t r = mul_hi64(word, d.range);
      dst[e] = static_cast<T>(static_cast<int64_t>(static_cast<uint64_t>(d.low) + r));
    }
  } else if (d.dist == Dist::Bernoulli) {
    for (int e = 0; e < count; ++e) dst[e] = static_cast<T>(bernoulli_word(b.w[e], d.a));
  }
}

// Bernoulli with one probability per element (pe.bernoulli(p)): the scalar draw's rule and
// stream layout (4 elements per block), with p[e] in place of the one p, so a tensor full of p
// draws exactly what bernoulli_(p) draws. Returns false when some p[e] is NaN or outside
// [0, 1] (those elements are written 0).
template <class T>
PE_HOST_DEVICE inline bool emit_bernoulli(const Block& b, const T* p, T* dst, int count) {
  bool ok = true;
  for (int e = 0; e < count; ++e) {
    const double prob = static_cast<double>(p[e]);
    const bool valid = prob >= 0.0 && prob <= 1.0;  // false for NaN too
    ok = ok && valid;
    dst[e] = static_cast<T>(valid && bernoulli_word(b.w[e], prob));
  }
  return ok;
}

}  // namespace pe::philox
