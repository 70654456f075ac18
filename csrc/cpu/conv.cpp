#include "cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/parallel.h"
#include "cpu/gemm.h"

namespace pe::cpu {

namespace {

// Sizes every kernel derives from the shape: per-group channels, the rows of the column
// matrix (one per (c, kh, kw) tap) and the number of output positions.
struct Derived {
  int64_t cg, kg, rows, positions, in_plane;
  explicit Derived(const Conv2dShape& s)
      : cg(s.in_c / s.groups),
        kg(s.out_c / s.groups),
        rows(s.in_c / s.groups * s.k_h * s.k_w),
        positions(s.out_h * s.out_w),
        in_plane(s.in_h * s.in_w) {}
};

// A 1x1, stride-1, unpadded convolution whose output has the input's size is a plain GEMM
// on the input: no column matrix needed.
bool is_pointwise(const Conv2dShape& s) {
  return s.k_h == 1 && s.k_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
         s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w;
}

// The stride of x's (H, W) plane read as one flat run of H*W elements, or -1 when the view
// does not allow it (then the pointwise case goes through im2col like any other).
int64_t flat_plane_stride(const Conv2dShape& s) {
  const int64_t sh = s.x_strides[2], sw = s.x_strides[3];
  if (s.in_h == 1) return sw;
  if (s.in_w == 1) return sh;
  return sh == s.in_w * sw ? sw : -1;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The one walk shared by im2col and col2im: for every column-matrix row (c, kh, kw) and output
// row oh, the column run [0, OW) maps to input pixels iw = ow*stride + off. Only [lo, hi) of
// them fall inside the image; outside that (and for rows ih outside the image) it is padding.
// visit(col_run, img_run_or_null, lo, hi, img_step) is called once per (row, oh).
template <class T, class Img, class Visit>
void walk_columns(const Conv2dShape& s, T* col, Img* img, const int64_t img_strides[3], Visit visit) {
  const Derived d(s);
  const int64_t sc = img_strides[0], sh = img_strides[1], sw = img_strides[2];
  for (int64_t c = 0; c < d.cg; ++c) {
    for (int64_t r = 0; r < s.k_h; ++r) {
      for (int64_t q = 0; q < s.k_w; ++q) {
        T* dst = col + ((c * s.k_h + r) * s.k_w + q) * d.positions;
        const int64_t off_w = q * s.dil_w - s.pad_left;
        int64_t lo = off_w >= 0 ? 0 : ceil_div(-off_w, s.stride_w);
        int64_t hi = s.in_w - 1 - off_w < 0 ? 0 : (s.in_w - 1 - off_w) / s.stride_w + 1;
        lo = std::min(lo, s.out_w);
        hi = std::max(lo, std::min(hi, s.out_w));
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + r * s.dil_h;
          T* run = dst + oh * s.out_w;
          if (ih < 0 || ih >= s.in_h) {
            visit(run, static_cast<Img*>(nullptr), lo, hi, sw * s.stride_w);
          } else {
            visit(run, img + c * sc + ih * sh + (lo * s.stride_w + off_w) * sw, lo, hi, sw * s.stride_w);
          }
        }
      }
    }
  }
}

// col (rows x positions) = the input patches of one image's group (im2col). Padding reads 0.
template <class T>
void im2col(const Conv2dShape& s, const T* img, T* col) {
  const int64_t strides[3] = {s.x_strides[1], s.x_strides[2], s.x_strides[3]};
  const int64_t ow = s.out_w;
  walk_columns(s, col, img, strides, [ow](T* run, const T* src, int64_t lo, int64_t hi, int64_t step) {
    if (src == nullptr) {
      std::fill(run, run + ow, T(0));
      return;
    }
    std::fill(run, run + lo, T(0));
    if (step == 1) {
      std::memcpy(run + lo, src, sizeof(T) * (hi - lo));
    } else {
      for (int64_t i = lo; i < hi; ++i) run[i] = src[(i - lo) * step];
    }
    std::fill(run + hi, run + ow, T(0));
  });
}

// img += the column matrix scattered back onto its pixels (col2im, the adjoint of im2col);
// img is one contiguous (Cg, H, W) block.
template <class T>
void col2im_add(const Conv2dShape& s, const T* col, T* img) {
  const int64_t strides[3] = {s.in_h * s.in_w, s.in_w, 1};
  walk_columns(s, col, img, strides, [](const T* run, T* dst, int64_t lo, int64_t hi, int64_t step) {
    if (dst == nullptr) return;
    for (int64_t i = lo; i < hi; ++i) dst[(i - lo) * step] += run[i];
  });
}

// Enough slots to keep every thread busy on the weight gradient, chosen from the batch size
// alone (never the thread count) so the order of additions is fixed; fewer when the partial
// sums would take too much memory.
int64_t weight_grad_slots(int64_t batch, int64_t weight_size) {
  constexpr int64_t kMaxSlots = 8, kMaxPartialElems = int64_t(1) << 25;
  int64_t slots = std::min(batch, kMaxSlots);
  while (slots > 1 && weight_size * (slots - 1) > kMaxPartialElems) slots /= 2;
  return std::max<int64_t>(slots, 1);
}

}  // namespace

template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const Derived d(s);
  const bool pointwise = is_pointwise(s) && flat_plane_stride(s) >= 0;
  const int64_t tasks = s.batch * s.groups;
  parallel_for(tasks, d.kg * d.rows * d.positions, [&](int64_t begin, int64_t end) {
    std::unique_ptr<T[]> col(pointwise ? nullptr : new T[d.rows * d.positions]);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / s.groups, g = t % s.groups;
      const T* img = x + n * s.x_strides[0] + g * d.cg * s.x_strides[1];
      T* out = y + (n * s.out_c + g * d.kg) * d.positions;
      T beta = 0;
      if (bias != nullptr) {  // start from the bias so the GEMM adds onto it
        for (int64_t k = 0; k < d.kg; ++k) std::fill(out + k * d.positions, out + (k + 1) * d.positions, bias[g * d.kg + k]);
        beta = 1;
      }
      const T* B = img;
      int64_t rsB = s.x_strides[1], csB = flat_plane_stride(s);
      if (!pointwise) {
        im2col(s, img, col.get());
        B = col.get(), rsB = d.positions, csB = 1;
      }
      gemm<T>(d.kg, d.positions, d.rows, T(1), w + g * d.kg * d.rows, d.rows, 1, B, rsB, csB, beta, out,
              d.positions, 1);
    }
  });
}

template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* gy, const T* w, const T* bias, T* gx) {
  const Derived d(s);
  const bool pointwise = is_pointwise(s);  // gx is contiguous, so its plane is always flat
  const int64_t tasks = s.batch * s.groups;
  parallel_for(tasks, d.kg * d.rows * d.positions, [&](int64_t begin, int64_t end) {
    std::unique_ptr<T[]> col(pointwise ? nullptr : new T[d.rows * d.positions]);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / s.groups, g = t % s.groups;
      const T* grad = gy + (n * s.out_c + g * d.kg) * d.positions;
      const T* wg = w + g * d.kg * d.rows;  // read transposed: (rows x kg), rs 1, cs rows
      T* img = gx + (n * s.in_c + g * d.cg) * d.in_plane;
      for (int64_t c = 0; c < d.cg; ++c)
        std::fill(img + c * d.in_plane, img + (c + 1) * d.in_plane, bias ? bias[g * d.cg + c] : T(0));
      if (pointwise) {
        gemm<T>(d.cg, d.in_plane, d.kg, T(1), wg, 1, d.rows, grad, d.positions, 1, T(1), img, d.in_plane, 1);
      } else {
        gemm<T>(d.rows, d.positions, d.kg, T(1), wg, 1, d.rows, grad, d.positions, 1, T(0), col.get(),
                d.positions, 1);
        col2im_add(s, col.get(), img);
      }
    }
  });
}

template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* gy, const T* x, T* gw) {
  const Derived d(s);
  const int64_t wsize = s.out_c * d.rows;
  if (s.batch == 0) {
    std::fill(gw, gw + wsize, T(0));
    return;
  }
  const bool pointwise = is_pointwise(s) && flat_plane_stride(s) >= 0;
  const int64_t slots = weight_grad_slots(s.batch, wsize);
  // Slot 0 accumulates straight into gw; the others into partial buffers added at the end.
  std::unique_ptr<T[]> partial(slots > 1 ? new T[(slots - 1) * wsize] : nullptr);
  parallel_for(slots, s.batch / slots * wsize * d.positions, [&](int64_t begin, int64_t end) {
    std::unique_ptr<T[]> col(pointwise ? nullptr : new T[d.rows * d.positions]);
    for (int64_t slot = begin; slot < end; ++slot) {
      T* acc = slot == 0 ? gw : partial.get() + (slot - 1) * wsize;
      for (int64_t n = slot; n < s.batch; n += slots) {
        const T beta = n == slot ? T(0) : T(1);
        for (int64_t g = 0; g < s.groups; ++g) {
          const T* grad = gy + (n * s.out_c + g * d.kg) * d.positions;
          const T* img = x + n * s.x_strides[0] + g * d.cg * s.x_strides[1];
          // gw_g (kg x rows) += grad (kg x P) @ patches^T (P x rows)
          const T* B = img;
          int64_t rsB = flat_plane_stride(s), csB = s.x_strides[1];
          if (!pointwise) {
            im2col(s, img, col.get());
            B = col.get(), rsB = 1, csB = d.positions;
          }
          gemm<T>(d.kg, d.rows, d.positions, T(1), grad, d.positions, 1, B, rsB, csB, beta, acc + g * d.kg * d.rows,
                  d.rows, 1);
        }
      }
    }
  });
  if (slots > 1) {
    const T* part = partial.get();
    parallel_for(wsize, slots, [&](int64_t begin, int64_t end) {
      for (int64_t slot = 1; slot < slots; ++slot) {
        const T* p = part + (slot - 1) * wsize;
        for (int64_t i = begin; i < end; ++i) gw[i] += p[i];
      }
    });
  }
}

template <class T>
void channel_sum(int64_t n, int64_t c, int64_t p, const T* y, T* out) {
  parallel_for(c, n * p, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      double acc = 0;  // double even for float32: a bias gradient sums N*H*W terms
      for (int64_t i = 0; i < n; ++i) {
        const T* row = y + (i * c + ch) * p;
        for (int64_t j = 0; j < p; ++j) acc += row[j];
      }
      out[ch] = static_cast<T>(acc);
    }
  });
}

#define PE_CONV_INSTANTIATE(T)                                                                    \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);          \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, const T*, T*);   \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);            \
  template void channel_sum<T>(int64_t, int64_t, int64_t, const T*, T*);
PE_CONV_INSTANTIATE(float)
PE_CONV_INSTANTIATE(double)
#undef PE_CONV_INSTANTIATE

}  // namespace pe::cpu
