// Element types. The enum order is the promotion order (bool < int64 < float32 < float64),
// so promoting two tensor dtypes is a max.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace pe {

enum class DType : uint8_t { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };

inline size_t itemsize(DType d) {
  switch (d) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

inline DType dtype_from_name(const std::string& s) {
  if (s == "float32" || s == "float") return DType::Float32;
  if (s == "float64" || s == "double") return DType::Float64;
  if (s == "int64" || s == "long") return DType::Int64;
  if (s == "bool") return DType::Bool;
  throw TypeError("unknown dtype '" + s + "': expected one of float32, float64, int64, bool");
}

inline bool is_floating(DType d) { return d == DType::Float32 || d == DType::Float64; }
inline DType promote_types(DType a, DType b) { return a < b ? b : a; }

// C++ type <-> DType.
template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

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

#define PE_DISPATCH_ALL(dt, NAME, ...)                  \
  [&] {                                                 \
    switch (dt) {                                       \
      PE_DTYPE_CASE(Float32, float, __VA_ARGS__)        \
      PE_DTYPE_CASE(Float64, double, __VA_ARGS__)       \
      PE_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)        \
      PE_DTYPE_CASE(Bool, bool, __VA_ARGS__)            \
    }                                                   \
    throw ::pe::TypeError(::pe::str(NAME, ": bad dtype")); \
  }()
