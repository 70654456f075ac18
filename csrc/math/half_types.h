// The 16-bit floating types: float16 (IEEE binary16) and bfloat16 (the top half of a float32).
// They are storage types: kernels compute in float and round once when they store, as PyTorch's
// CPU kernels do, so a single op on float16 is correctly rounded (float has more than twice
// float16's precision, so rounding twice never differs from rounding once for + - * / sqrt).
// Conversions round to nearest, ties to even; NaN stays NaN (quiet), overflow becomes infinity.
// Written with integer bit operations only, so the same code runs on the host and under nvcc.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "math/host_device.h"

namespace pe {

namespace half_bits {

PE_HOST_DEVICE inline uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

PE_HOST_DEVICE inline float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

// binary16 -> float: exact (every float16 is a float).
PE_HOST_DEVICE inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent == 0) {
    if (mantissa == 0) return bits_float(sign);  // +-0
    // Subnormal: normalise the mantissa into float's wider exponent range.
    exponent = 127 - 15 + 1;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= 0x3ffu;
    return bits_float(sign | (exponent << 23) | (mantissa << 13));
  }
  return bits_float(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

// float -> binary16, round to nearest even.
PE_HOST_DEVICE inline uint16_t float_to_half(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u)  // inf stays inf; NaN keeps its top payload bits and stays quiet
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? (0x200u | ((abs >> 13) & 0x3ffu)) : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds beyond 65504: inf
  if (abs < 0x38800000u) {
    // Below float16's smallest normal (2**-14): a subnormal multiple of 2**-24. Adding 0.5
    // makes the float addition itself round the value to that grid, ties to even.
    const float rounded = bits_float(abs) + 0.5f;
    return static_cast<uint16_t>(sign | (float_bits(rounded) - 0x3f000000u));
  }
  // Normal: drop 13 mantissa bits, rounding to nearest even; a carry into the exponent is right.
  const uint32_t odd = (abs >> 13) & 1u;
  const uint32_t rebiased = abs - ((127u - 15u) << 23);
  return static_cast<uint16_t>(sign | ((rebiased + 0xfffu + odd) >> 13));
}

PE_HOST_DEVICE inline float bfloat16_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

// float -> bfloat16: keep the top 16 bits, rounding to nearest even; NaN stays a quiet NaN.
PE_HOST_DEVICE inline uint16_t float_to_bfloat16(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  const uint32_t odd = (u >> 16) & 1u;
  return static_cast<uint16_t>((u + 0x7fffu + odd) >> 16);
}

}  // namespace half_bits

// A 16-bit float type converting through float (kBrain: bfloat16, else float16). Arithmetic is
// deliberately absent: kernels convert to float, compute, and store (the compute-dtype rule of
// csrc/ops).
template <bool kBrain>
struct Float16Storage {
  uint16_t bits = 0;

  static PE_HOST_DEVICE uint16_t from_float(float f) {
    return kBrain ? half_bits::float_to_bfloat16(f) : half_bits::float_to_half(f);
  }
  static PE_HOST_DEVICE float to_float(uint16_t b) {
    return kBrain ? half_bits::bfloat16_to_float(b) : half_bits::half_to_float(b);
  }

  Float16Storage() = default;
  // From any arithmetic value, through float (as PyTorch's c10::Half and c10::BFloat16 do).
  template <class T, class = std::enable_if_t<std::is_arithmetic<T>::value>>
  PE_HOST_DEVICE explicit Float16Storage(T v) : bits(from_float(static_cast<float>(v))) {}
  // From the other 16-bit float, through float.
  PE_HOST_DEVICE explicit Float16Storage(Float16Storage<!kBrain> v) : bits(from_float(static_cast<float>(v))) {}

  PE_HOST_DEVICE operator float() const { return to_float(bits); }
  // To any other arithmetic type, through float: a static_cast<int64_t>(h) truncates like a float.
  template <class T, class = std::enable_if_t<std::is_arithmetic<T>::value && !std::is_same<T, float>::value>>
  PE_HOST_DEVICE explicit operator T() const {
    return static_cast<T>(to_float(bits));
  }

  static PE_HOST_DEVICE Float16Storage from_bits(uint16_t b) {
    Float16Storage h;
    h.bits = b;
    return h;
  }
};

using Half = Float16Storage<false>;
using BFloat16 = Float16Storage<true>;

static_assert(sizeof(Half) == 2 && sizeof(BFloat16) == 2, "16-bit floats must be 2 bytes");

}  // namespace pe
