// Typed errors. The core and the op table throw these; the bindings translate them to the
// Python exception of the same name. Messages name what was expected and what came.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pe {

struct ValueError : std::runtime_error { using std::runtime_error::runtime_error; };
struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct IndexError : std::runtime_error { using std::runtime_error::runtime_error; };
struct RuntimeError : std::runtime_error { using std::runtime_error::runtime_error; };
// An op that has no kernel for a dtype PyTorch also refuses (bitwise ops on floats); Python's
// NotImplementedError is a RuntimeError, and so is this one.
struct NotImplementedError : RuntimeError { using RuntimeError::RuntimeError; };
// An allocation that failed (the message names the bytes asked for and what they were for).
struct MemoryError : std::runtime_error { using std::runtime_error::runtime_error; };

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... R>
void append(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Concatenate any streamable values into one message.
template <class... A>
std::string str(const A&... a) {
  std::ostringstream os;
  detail::append(os, a...);
  return os.str();
}

// "(2, 3)" - shapes in messages read like Python tuples.
inline std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ",";
  os << ")";
  return os.str();
}

}  // namespace pe

#define PE_CHECK(cond, ErrType, ...) \
  do {                               \
    if (!(cond)) throw ::pe::ErrType(::pe::str(__VA_ARGS__)); \
  } while (0)
