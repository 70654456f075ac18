// Element types. The first four are the compute types every kernel family handles; the other
// six are storage types (PyTorch's uint8, int8, int16, int32, float16, bfloat16): copy, fill and
// the index kernels move them as they are, and every other op computes in their compute dtype
// (int64 for the integers, float32 for the 16-bit floats) and stores the result back, the way
// PyTorch's CPU kernels accumulate half types in float. The numbering is ABI only: promotion
// is promote_types' table, never the enum order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "math/half_types.h"

namespace pe {

enum class DType : uint8_t {
  Bool = 0,
  Int64 = 1,
  Float32 = 2,
  Float64 = 3,
  UInt8 = 4,
  Int8 = 5,
  Int16 = 6,
  Int32 = 7,
  Float16 = 8,
  BFloat16 = 9,
};
constexpr int kNumDTypes = 10;

inline size_t itemsize(DType d) {
  switch (d) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::UInt8: return 1;
    case DType::Int8: return 1;
    case DType::Int16: return 2;
    case DType::Int32: return 4;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "?";
}

inline DType dtype_from_name(const std::string& s) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (s == dtype_name(static_cast<DType>(i))) return static_cast<DType>(i);
  // PyTorch's aliases
  if (s == "float") return DType::Float32;
  if (s == "double") return DType::Float64;
  if (s == "long") return DType::Int64;
  if (s == "int") return DType::Int32;
  if (s == "short") return DType::Int16;
  if (s == "half") return DType::Float16;
  throw TypeError("unknown dtype '" + s +
                  "': expected one of bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64");
}

inline bool is_floating(DType d) {
  return d == DType::Float32 || d == DType::Float64 || d == DType::Float16 || d == DType::BFloat16;
}
// Integer types, bool excluded.
inline bool is_integer(DType d) {
  return d == DType::Int64 || d == DType::UInt8 || d == DType::Int8 || d == DType::Int16 || d == DType::Int32;
}
// One of the four types every kernel family computes in.
inline bool is_compute_dtype(DType d) { return static_cast<int>(d) <= static_cast<int>(DType::Float64); }
// The type an op computes in for data stored as `d`: int64 for the small integers, float32 for
// the 16-bit floats, `d` itself for the compute types.
inline DType compute_dtype_of(DType d) {
  if (is_compute_dtype(d)) return d;
  return is_floating(d) ? DType::Float32 : DType::Int64;
}

// PyTorch's promote_types: bool < integers < floats; within integers the wider type, where
// uint8 with int8 needs int16 to hold both ranges; within floats the wider type, where float16
// with bfloat16 needs float32 (neither holds the other).
inline DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  if (is_floating(a) != is_floating(b)) return is_floating(a) ? a : b;
  if (is_floating(a)) {
    if (itemsize(a) == itemsize(b)) return DType::Float32;  // float16 with bfloat16
    return itemsize(a) > itemsize(b) ? a : b;
  }
  // Two different integer types: only uint8 is unsigned.
  if (a == DType::UInt8 || b == DType::UInt8) {
    DType other = a == DType::UInt8 ? b : a;
    return other == DType::Int8 ? DType::Int16 : other;
  }
  return itemsize(a) > itemsize(b) ? a : b;
}

// C++ type <-> DType.
template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<int8_t> { static constexpr DType value = DType::Int8; };
template <> struct dtype_of<int16_t> { static constexpr DType value = DType::Int16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::Float16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BFloat16; };

}  // namespace pe

// Run a generic lambda with `scalar_t` bound to the C++ type of `dt`.
//   PE_DISPATCH_FLOATING(t.dtype(), "exp", [&] { exp_kernel<scalar_t>(...); });
#define PE_DTYPE_CASE(ENUM, TYPE, ...) \
  case ::pe::DType::ENUM: {            \
    using scalar_t = TYPE;             \
    return __VA_ARGS__();              \
  }

#define PE_DISPATCH_FLOATING(dt, NAME, ...)                                              \
  [&] {                                                                                  \
    switch (dt) {                                                                        \
      PE_DTYPE_CASE(Float32, float, __VA_ARGS__)                                         \
      PE_DTYPE_CASE(Float64, double, __VA_ARGS__)                                        \
      default:                                                                           \
        throw ::pe::TypeError(::pe::str(NAME, ": expected a floating dtype (float32 or " \
                                              "float64), got ", ::pe::dtype_name(dt)));  \
    }                                                                                    \
  }()

// The floating dtypes, float16/bfloat16 included: kernels that take the 16-bit floats as they
// are and compute in float32 (optimizer steps, the CPU convolutions).
#define PE_DISPATCH_FLOATING_AND_HALF(dt, NAME, ...)                                            \
  [&] {                                                                                        \
    switch (dt) {                                                                              \
      PE_DTYPE_CASE(Float32, float, __VA_ARGS__)                                               \
      PE_DTYPE_CASE(Float64, double, __VA_ARGS__)                                              \
      PE_DTYPE_CASE(Float16, ::pe::Half, __VA_ARGS__)                                          \
      PE_DTYPE_CASE(BFloat16, ::pe::BFloat16, __VA_ARGS__)                                     \
      default:                                                                                 \
        throw ::pe::TypeError(::pe::str(NAME, ": expected a floating dtype (float32, float64, " \
                                              "float16 or bfloat16), got ", ::pe::dtype_name(dt))); \
    }                                                                                          \
  }()

#define PE_DISPATCH_NUMERIC(dt, NAME, ...)                                                 \
  [&] {                                                                                    \
    switch (dt) {                                                                          \
      PE_DTYPE_CASE(Float32, float, __VA_ARGS__)                                           \
      PE_DTYPE_CASE(Float64, double, __VA_ARGS__)                                          \
      PE_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                                           \
      default:                                                                             \
        throw ::pe::TypeError(::pe::str(NAME, ": expected a numeric dtype (float32, "      \
                                              "float64 or int64), got ", ::pe::dtype_name(dt))); \
    }                                                                                      \
  }()

#define PE_DISPATCH_ALL(dt, NAME, ...)                                                  \
  [&] {                                                                                 \
    switch (dt) {                                                                       \
      PE_DTYPE_CASE(Float32, float, __VA_ARGS__)                                        \
      PE_DTYPE_CASE(Float64, double, __VA_ARGS__)                                       \
      PE_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                                        \
      PE_DTYPE_CASE(Bool, bool, __VA_ARGS__)                                            \
      default: break;                                                                   \
    }                                                                                   \
    throw ::pe::TypeError(::pe::str(NAME, ": expected a compute dtype (bool, int64, float32 or " \
                                          "float64), got ", ::pe::dtype_name(dt)));     \
  }()

// Every dtype, the storage-only ones included: for kernels that only move or convert values
// (copy, fill, scalar conversion).
#define PE_DISPATCH_STORAGE(dt, NAME, ...)                                   \
  [&] {                                                                      \
    switch (dt) {                                                            \
      PE_DTYPE_CASE(Float32, float, __VA_ARGS__)                             \
      PE_DTYPE_CASE(Float64, double, __VA_ARGS__)                            \
      PE_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                             \
      PE_DTYPE_CASE(Bool, bool, __VA_ARGS__)                                 \
      PE_DTYPE_CASE(UInt8, uint8_t, __VA_ARGS__)                             \
      PE_DTYPE_CASE(Int8, int8_t, __VA_ARGS__)                               \
      PE_DTYPE_CASE(Int16, int16_t, __VA_ARGS__)                             \
      PE_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)                             \
      PE_DTYPE_CASE(Float16, ::pe::Half, __VA_ARGS__)                        \
      PE_DTYPE_CASE(BFloat16, ::pe::BFloat16, __VA_ARGS__)                   \
    }                                                                        \
    throw ::pe::TypeError(::pe::str(NAME, ": bad dtype"));                  \
  }()
