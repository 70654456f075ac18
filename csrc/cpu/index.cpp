// CPU kernels of the index family (contracts in ops/index.h): bounds check, reading through
// indices (take: gather, index_select, index_take), writing through them (put: scatter_add_,
// scatter_, scatter_reduce_, index_add_, index_put_), advanced-index offsets, nonzero, tril/triu and one_hot.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>

#include "core/iter.h"
#include "math/elementwise_math.h"
#include "ops/index.h"

namespace pe::cpu {
namespace {

// Kernels that only move elements don't care what the bits mean: one instantiation per size.
template <class F>
void dispatch_by_itemsize(size_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
  }
  throw RuntimeError(str("index kernels: unsupported item size ", itemsize));
}

template <class T>
inline T& at(char* p) { return *reinterpret_cast<T*>(p); }
template <class T>
inline const T& at(const char* p) { return *reinterpret_cast<const T*>(p); }

// The strided loop over operands given in element strides.
template <int N>
StridedLoop<N> loop_over(const Shape& shape, const std::array<const ops::IndexOperand*, N>& ops,
                         const std::array<size_t, N>& itemsizes) {
  std::array<char*, N> base;
  std::array<LoopDims, N> strides;
  for (int k = 0; k < N; ++k) {
    base[k] = static_cast<char*>(ops[k]->data);
    for (int64_t s : ops[k]->strides) strides[k].push_back(s * static_cast<int64_t>(itemsizes[k]));
  }
  return StridedLoop<N>(shape, base, strides);
}

ops::IndexRangeResult index_range(const ops::IndexRangeArgs& a) {
  const int64_t* v = a.index;
  std::atomic<int64_t> first{a.n};
  parallel_for(a.n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (v[i] >= a.lo && v[i] < a.hi) continue;
      // Keep the smallest position, so the error names the same index on any thread count.
      int64_t cur = first.load();
      while (i < cur && !first.compare_exchange_weak(cur, i)) {
      }
      return;
    }
  });
  const int64_t pos = first.load();
  if (pos == a.n) return {};
  return {pos, v[pos]};
}

void take(const ops::TakeArgs& a) {
  const size_t isz = itemsize(a.dtype);
  dispatch_by_itemsize(isz, [&](auto tag) {
    using T = decltype(tag);
    const int64_t scale = a.scale * static_cast<int64_t>(sizeof(T));
    auto loop = loop_over<3>(a.shape, {&a.out, &a.x, &a.index}, {isz, isz, sizeof(int64_t)});
    loop.run([scale](char* const* p, const int64_t* s, int64_t n) {
      char* o = p[0];
      const char* xp = p[1];
      const char* ip = p[2];
      if (s[2] == 0) {  // one index for the whole run: a row of x
        const char* row = xp + at<int64_t>(ip) * scale;
        if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
          std::memcpy(o, row, static_cast<size_t>(n) * sizeof(T));
        } else {
          for (int64_t i = 0; i < n; ++i) at<T>(o + i * s[0]) = at<T>(row + i * s[1]);
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i)
        at<T>(o + i * s[0]) = at<T>(xp + i * s[1] + at<int64_t>(ip + i * s[2]) * scale);
    });
  });
}

// How put folds a value into an element (ops::PutMode); bool's sum is or, its product and.
template <class T, ops::PutMode Mode>
inline void fold(T& d, T s) {
  if constexpr (Mode == ops::PutMode::Store) {
    d = s;
  } else if constexpr (std::is_same_v<T, bool>) {
    if constexpr (Mode == ops::PutMode::Sum || Mode == ops::PutMode::Max) d = d || s;
    else d = d && s;
  } else if constexpr (Mode == ops::PutMode::Sum) {
    d = static_cast<T>(ew::add_wrapping(d, s));  // int64 wraps as PyTorch's (no UB)
  } else if constexpr (Mode == ops::PutMode::Prod) {
    d = static_cast<T>(ew::mul_wrapping(d, s));
  } else if constexpr (Mode == ops::PutMode::Max) {
    // s != s: NaN wins; a NaN already in d stays. `|` and a select, so the loop vectorizes.
    const bool take = (s > d) | (s != s);
    d = take ? s : d;
  } else {
    const bool take = (s < d) | (s != s);
    d = take ? s : d;
  }
}

template <class T, ops::PutMode Mode>
void put_typed(const ops::PutArgs& a) {
  const int64_t scale = a.scale * static_cast<int64_t>(sizeof(T));
  const int64_t src_step = a.src_step * static_cast<int64_t>(sizeof(T));
  const int64_t idx_step = a.index_step * static_cast<int64_t>(sizeof(int64_t));
  const int64_t steps = a.steps;
  constexpr int64_t kItem = sizeof(T);
  auto loop = loop_over<3>(a.shape, {&a.x, &a.src, &a.index}, {sizeof(T), sizeof(T), sizeof(int64_t)});
  loop.run(
      [&](char* const* p, const int64_t* s, int64_t n) {
        // j outermost so a run of p walks memory in order for each j.
        for (int64_t j = 0; j < steps; ++j) {
          const char* sp = p[1] + j * src_step;
          const char* ip = p[2] + j * idx_step;
          if (s[2] == 0 && s[0] == kItem && s[1] == kItem) {  // one index for a contiguous row: vectorizes
            T* dst = reinterpret_cast<T*>(p[0] + at<int64_t>(ip) * scale);
            const T* v = reinterpret_cast<const T*>(sp);
            for (int64_t i = 0; i < n; ++i) fold<T, Mode>(dst[i], v[i]);
          } else if (s[2] == 0) {
            char* dst = p[0] + at<int64_t>(ip) * scale;
            for (int64_t i = 0; i < n; ++i) fold<T, Mode>(at<T>(dst + i * s[0]), at<T>(sp + i * s[1]));
          } else {
            for (int64_t i = 0; i < n; ++i)
              fold<T, Mode>(at<T>(p[0] + i * s[0] + at<int64_t>(ip + i * s[2]) * scale), at<T>(sp + i * s[1]));
          }
        }
      },
      steps);
}

void put(const ops::PutArgs& a) {
  if (a.steps <= 0) return;
  if (a.mode == ops::PutMode::Store)  // a plain store moves bits: every dtype, by its size
    return dispatch_by_itemsize(itemsize(a.dtype), [&](auto tag) { put_typed<decltype(tag), ops::PutMode::Store>(a); });
  PE_DISPATCH_ALL(a.dtype, "put", [&] {
    switch (a.mode) {
      case ops::PutMode::Store: return put_typed<scalar_t, ops::PutMode::Store>(a);
      case ops::PutMode::Sum: return put_typed<scalar_t, ops::PutMode::Sum>(a);
      case ops::PutMode::Prod: return put_typed<scalar_t, ops::PutMode::Prod>(a);
      case ops::PutMode::Max: return put_typed<scalar_t, ops::PutMode::Max>(a);
      case ops::PutMode::Min: return put_typed<scalar_t, ops::PutMode::Min>(a);
    }
  });
}

void index_offsets(const ops::IndexOffsetArgs& a) {
  const ops::IndexOperand offsets{a.offsets, contiguous_strides(a.shape)};
  auto loop = loop_over<2>(a.shape, {&offsets, &a.index}, {sizeof(int64_t), sizeof(int64_t)});
  const int64_t size = a.size, stride = a.stride;
  loop.run([size, stride](char* const* p, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = at<int64_t>(p[1] + i * s[1]);
      at<int64_t>(p[0] + i * s[0]) += (k < 0 ? k + size : k) * stride;
    }
  });
}

// ---- nonzero ----

// Chunks of the row-major order are fixed (not per thread), so both passes agree.
constexpr int64_t kNonzeroChunk = 1 << 16;

// f(element pointer, multi-index) for the row-major positions [begin, end) of x.
template <class F>
void walk_row_major(const ops::NonzeroArgs& a, int64_t begin, int64_t end, F&& f) {
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  const int64_t isz = static_cast<int64_t>(itemsize(a.dtype));
  const Shape& shape = a.shape;
  const Shape& strides = a.x.strides;
  std::vector<int64_t> idx(nd);
  const char* p = static_cast<const char*>(a.x.data);
  int64_t rem = begin;
  for (int64_t d = nd - 1; d >= 0; --d) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
    p += idx[d] * strides[d] * isz;
  }
  for (int64_t i = begin; i < end; ++i) {
    f(p, idx.data());
    for (int64_t d = nd - 1; d >= 0; --d) {  // odometer step
      p += strides[d] * isz;
      if (++idx[d] < shape[d]) break;
      p -= strides[d] * isz * shape[d];
      idx[d] = 0;
    }
  }
}

template <class F>
void for_each_nonzero_chunk(int64_t n, F&& f) {
  const int64_t chunks = (n + kNonzeroChunk - 1) / kNonzeroChunk;
  parallel_for(chunks, kNonzeroChunk, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) f(c, c * kNonzeroChunk, std::min(n, (c + 1) * kNonzeroChunk));
  });
}

void nonzero(const ops::NonzeroArgs& a) {
  const int64_t numel = shape_numel(a.shape);
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  std::vector<int64_t> start((numel + kNonzeroChunk - 1) / kNonzeroChunk + 1, 0);
  PE_DISPATCH_ALL(a.dtype, "nonzero", [&] {
    for_each_nonzero_chunk(numel, [&](int64_t c, int64_t begin, int64_t end) {
      int64_t k = 0;
      walk_row_major(a, begin, end, [&](const char* e, const int64_t*) { k += at<scalar_t>(e) != scalar_t(0); });
      start[c + 1] = k;
    });
    for (size_t c = 1; c < start.size(); ++c) start[c] += start[c - 1];  // prefix sums
    int64_t* o = a.allocate(start.back());
    if (start.back() == 0 || nd == 0) return;
    for_each_nonzero_chunk(numel, [&](int64_t c, int64_t begin, int64_t end) {
      int64_t* row = o + start[c] * nd;
      walk_row_major(a, begin, end, [&](const char* e, const int64_t* idx) {
        if (at<scalar_t>(e) == scalar_t(0)) return;
        std::copy(idx, idx + nd, row);
        row += nd;
      });
    });
  });
}

// ---- tril / triu, one_hot ----

void triangle(const ops::TriangleArgs& a) {
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  const int64_t rows = a.shape[nd - 2], cols = a.shape[nd - 1];
  // Loop over rows (all dims but the last); the row number i comes from the position in the
  // contiguous output.
  Shape row_shape(a.shape.begin(), a.shape.end() - 1);
  const size_t isz = itemsize(a.dtype);
  Shape out_strides = contiguous_strides(a.shape);
  out_strides.pop_back();
  const ops::IndexOperand out_rows{a.out, out_strides};
  const ops::IndexOperand x_rows{a.x.data, Shape(a.x.strides.begin(), a.x.strides.end() - 1)};
  const int64_t row_bytes = cols * static_cast<int64_t>(isz), x_col = a.x.strides[nd - 1] * static_cast<int64_t>(isz);
  char* const out_base = static_cast<char*>(a.out);
  const int64_t diagonal = a.diagonal;
  const bool upper = a.upper;
  dispatch_by_itemsize(isz, [&](auto tag) {
    using T = decltype(tag);
    auto loop = loop_over<2>(row_shape, {&out_rows, &x_rows}, {isz, isz});
    loop.run(
        [&](char* const* p, const int64_t* s, int64_t n) {
          for (int64_t r = 0; r < n; ++r) {
            char* o = p[0] + r * s[0];
            const char* xr = p[1] + r * s[1];
            const int64_t i = ((o - out_base) / row_bytes) % rows;
            // Columns kept: tril j <= i + diagonal, triu j >= i + diagonal.
            int64_t lo = upper ? std::clamp<int64_t>(i + diagonal, 0, cols) : 0;
            int64_t hi = upper ? cols : std::clamp<int64_t>(i + diagonal + 1, 0, cols);
            std::memset(o, 0, static_cast<size_t>(row_bytes));
            for (int64_t j = lo; j < hi; ++j) at<T>(o + j * sizeof(T)) = at<T>(xr + j * x_col);
          }
        },
        cols);
  });
}

void one_hot(const ops::OneHotArgs& a) {
  const int64_t* v = a.index;
  int64_t* o = a.out;
  const int64_t classes = a.classes;
  parallel_for(a.n, classes, [&](int64_t begin, int64_t end) {
    std::memset(o + begin * classes, 0, static_cast<size_t>((end - begin) * classes) * sizeof(int64_t));
    for (int64_t i = begin; i < end; ++i) o[i * classes + v[i]] = 1;
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::index_range_kernel, index_range);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::take_kernel, take);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::put_kernel, put);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::index_offsets_kernel, index_offsets);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::nonzero_kernel, nonzero);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::triangle_kernel, triangle);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::one_hot_kernel, one_hot);

}  // namespace pe::cpu
