#include "cpu/index.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "core/iter.h"

namespace pe::cpu {

// Kernels that only move elements don't care what the bits mean: one instantiation per size.
template <class F>
static void dispatch_by_itemsize(size_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: return f(uint8_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
  }
  throw RuntimeError(str("index kernels: unsupported item size ", itemsize));
}

template <class T>
static inline T& at(char* p) { return *reinterpret_cast<T*>(p); }
template <class T>
static inline const T& at(const char* p) { return *reinterpret_cast<const T*>(p); }

void take(const Tensor& out, const Tensor& x, const Tensor& idx, int64_t scale) {
  dispatch_by_itemsize(out.itemsize(), [&](auto tag) {
    using T = decltype(tag);
    auto loop = make_loop<3>(out.shape(), {&out, &x, &idx});
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

template <class T, bool Accumulate>
static void put_typed(const Tensor& x, const Tensor& src, const Tensor& idx, int64_t scale, int64_t steps,
                      int64_t src_step, int64_t idx_step) {
  auto apply = [](char* dst, const char* v) {
    if constexpr (Accumulate)
      at<T>(dst) = static_cast<T>(at<T>(dst) + at<T>(v));
    else
      at<T>(dst) = at<T>(v);
  };
  auto loop = make_loop<3>(x.shape(), {&x, &src, &idx});
  loop.run(
      [&](char* const* p, const int64_t* s, int64_t n) {
        // j outermost so a run of p walks memory in order for each j.
        for (int64_t j = 0; j < steps; ++j) {
          const char* sp = p[1] + j * src_step;
          const char* ip = p[2] + j * idx_step;
          if (s[2] == 0) {
            char* dst = p[0] + at<int64_t>(ip) * scale;
            for (int64_t i = 0; i < n; ++i) apply(dst + i * s[0], sp + i * s[1]);
          } else {
            for (int64_t i = 0; i < n; ++i) apply(p[0] + i * s[0] + at<int64_t>(ip + i * s[2]) * scale, sp + i * s[1]);
          }
        }
      },
      steps);
}

void put(const Tensor& x, const Tensor& src, const Tensor& idx, int64_t scale, int64_t steps, int64_t src_step,
         int64_t idx_step, bool accumulate) {
  if (steps <= 0) return;
  PE_DISPATCH_ALL(x.dtype(), "put", [&] {
    if (accumulate)
      put_typed<scalar_t, true>(x, src, idx, scale, steps, src_step, idx_step);
    else
      put_typed<scalar_t, false>(x, src, idx, scale, steps, src_step, idx_step);
  });
}

int64_t first_out_of_range(const Tensor& index, int64_t lo, int64_t hi) {
  const int64_t* v = index.data<int64_t>();
  const int64_t n = index.numel();
  std::atomic<int64_t> first{n};
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (v[i] >= lo && v[i] < hi) continue;
      // Keep the smallest position, so the error names the same index on any thread count.
      int64_t cur = first.load();
      while (i < cur && !first.compare_exchange_weak(cur, i)) {
      }
      return;
    }
  });
  return first.load() == n ? -1 : first.load();
}

int64_t max_value(const Tensor& index) {
  const int64_t* v = index.data<int64_t>();
  return *std::max_element(v, v + index.numel());
}

void add_index_offsets(const Tensor& offsets, const Tensor& index, int64_t size, int64_t stride) {
  auto loop = make_loop<2>(offsets.shape(), {&offsets, &index});
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
static void walk_row_major(const Tensor& x, int64_t begin, int64_t end, F&& f) {
  const int64_t nd = x.ndim();
  const int64_t isz = static_cast<int64_t>(x.itemsize());
  std::vector<int64_t> idx(nd);
  const char* p = static_cast<const char*>(x.raw_data());
  int64_t rem = begin;
  for (int64_t d = nd - 1; d >= 0; --d) {
    idx[d] = rem % x.shape()[d];
    rem /= x.shape()[d];
    p += idx[d] * x.strides()[d] * isz;
  }
  for (int64_t i = begin; i < end; ++i) {
    f(p, idx.data());
    for (int64_t d = nd - 1; d >= 0; --d) {  // odometer step
      p += x.strides()[d] * isz;
      if (++idx[d] < x.shape()[d]) break;
      p -= x.strides()[d] * isz * x.shape()[d];
      idx[d] = 0;
    }
  }
}

template <class F>
static void for_each_nonzero_chunk(const Tensor& x, F&& f) {
  const int64_t n = x.numel();
  const int64_t chunks = (n + kNonzeroChunk - 1) / kNonzeroChunk;
  parallel_for(chunks, kNonzeroChunk, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) f(c, c * kNonzeroChunk, std::min(n, (c + 1) * kNonzeroChunk));
  });
}

std::vector<int64_t> nonzero_counts(const Tensor& x) {
  std::vector<int64_t> counts((x.numel() + kNonzeroChunk - 1) / kNonzeroChunk, 0);
  PE_DISPATCH_ALL(x.dtype(), "nonzero", [&] {
    for_each_nonzero_chunk(x, [&](int64_t c, int64_t begin, int64_t end) {
      int64_t k = 0;
      walk_row_major(x, begin, end, [&](const char* e, const int64_t*) { k += at<scalar_t>(e) != scalar_t(0); });
      counts[c] = k;
    });
  });
  return counts;
}

void nonzero_fill(const Tensor& out, const Tensor& x, const std::vector<int64_t>& counts) {
  std::vector<int64_t> start(counts.size(), 0);
  for (size_t c = 1; c < counts.size(); ++c) start[c] = start[c - 1] + counts[c - 1];
  const int64_t nd = x.ndim();
  int64_t* o = out.data<int64_t>();
  PE_DISPATCH_ALL(x.dtype(), "nonzero", [&] {
    for_each_nonzero_chunk(x, [&](int64_t c, int64_t begin, int64_t end) {
      int64_t* row = o + start[c] * nd;
      walk_row_major(x, begin, end, [&](const char* e, const int64_t* idx) {
        if (at<scalar_t>(e) == scalar_t(0)) return;
        std::copy(idx, idx + nd, row);
        row += nd;
      });
    });
  });
}

// ---- tril / triu ----

void tril_triu(const Tensor& out, const Tensor& x, int64_t diagonal, bool upper) {
  if (out.numel() == 0) return;
  const int64_t rows = x.size(-2), cols = x.size(-1);
  // Loop over rows (all dims but the last); the row number i comes from the position in
  // the contiguous output.
  Shape row_shape(x.shape().begin(), x.shape().end() - 1);
  Tensor out_rows = out.as_strided(row_shape, Shape(out.strides().begin(), out.strides().end() - 1), out.offset());
  Tensor x_rows = x.as_strided(row_shape, Shape(x.strides().begin(), x.strides().end() - 1), x.offset());
  const int64_t isz = static_cast<int64_t>(x.itemsize());
  const int64_t row_bytes = cols * isz, x_col = x.stride(-1) * isz;
  char* const out_base = static_cast<char*>(out.raw_data());
  dispatch_by_itemsize(x.itemsize(), [&](auto tag) {
    using T = decltype(tag);
    auto loop = make_loop<2>(row_shape, {&out_rows, &x_rows});
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
            for (int64_t j = lo; j < hi; ++j) at<T>(o + j * isz) = at<T>(xr + j * x_col);
          }
        },
        cols);
  });
}

void one_hot(const Tensor& out, const Tensor& idx, int64_t classes) {
  const int64_t* v = idx.data<int64_t>();
  int64_t* o = out.data<int64_t>();
  parallel_for(idx.numel(), classes, [&](int64_t begin, int64_t end) {
    std::memset(o + begin * classes, 0, static_cast<size_t>((end - begin) * classes) * sizeof(int64_t));
    for (int64_t i = begin; i < end; ++i) o[i * classes + v[i]] = 1;
  });
}

}  // namespace pe::cpu
