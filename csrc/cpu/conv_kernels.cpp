// Direct stride-1 conv2d forward (see conv_kernels.h), compiled once per ISA.
#include "cpu/conv_kernels.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/parallel.h"

namespace pe::cpu::PE_ISA_NS {

namespace {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX2__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif
// Output channels per register tile: kRows x 2 vector accumulators, plus 2 vectors of input
// and a broadcast, fit the register file (32 vector registers with AVX-512, 16 otherwise).
// A tile of two thirds the height serves channel counts that are multiples of it (16, 32, 64)
// without padding rows.
constexpr int kRows = kVectorBytes == 64 ? 12 : 6;
constexpr int kShortRows = kRows * 2 / 3;

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(kVectorBytes)));
  typedef T unaligned __attribute__((vector_size(kVectorBytes), aligned(sizeof(T)), may_alias));
  static constexpr int W = kVectorBytes / sizeof(T);
  static type load(const T* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(T* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
};

// out (kRows x 2W, row stride ldo) (+)= sum over k of a[k*kRows + i] * base[offsets[k] + j].
template <class T, int kRows>
inline void tile(int64_t K, const T* __restrict a, const T* __restrict base, const int64_t* __restrict offsets,
                 T* __restrict out, int64_t ldo, bool accumulate) {
  using V = Vec<T>;
  constexpr int W = V::W;
  typename V::type acc0[kRows], acc1[kRows];
  for (int i = 0; i < kRows; ++i) {
    acc0[i] = accumulate ? V::load(out + i * ldo) : typename V::type{};
    acc1[i] = accumulate ? V::load(out + i * ldo + W) : typename V::type{};
  }
  for (int64_t k = 0; k < K; ++k, a += kRows) {
    const T* b = base + offsets[k];
    const typename V::type b0 = V::load(b), b1 = V::load(b + W);
    for (int i = 0; i < kRows; ++i) {
      acc0[i] += a[i] * b0;
      acc1[i] += a[i] * b1;
    }
  }
  for (int i = 0; i < kRows; ++i) {
    V::store(out + i * ldo, acc0[i]);
    V::store(out + i * ldo + W, acc1[i]);
  }
}

template <class T, int kRows>
void forward_rows(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  constexpr int NR = 2 * Vec<T>::W;
  const int64_t cg = s.in_c / s.groups, kg = s.out_c / s.groups, taps = s.k_h * s.k_w, K = cg * taps;
  const int64_t hp = std::max(s.pad_top + s.in_h, s.out_h + (s.k_h - 1) * s.dil_h);
  const int64_t wp = std::max(s.pad_left + s.in_w, s.out_w + (s.k_w - 1) * s.dil_w);
  const int64_t plane = hp * wp, positions = s.out_h * s.out_w;
  const int64_t cols = s.out_h * wp, ldg = (cols + NR - 1) / NR * NR;  // grid columns, rounded to tiles
  const int64_t panels = (kg + kRows - 1) / kRows;
  constexpr int64_t kc = 16384 / (NR * sizeof(T));  // taps per block: 16 KiB of input rows
  // The tiles of the last columns read up to NR - 1 elements past the last tap's run.
  const int64_t padded_size = cg * plane + (s.k_w - 1) * s.dil_w + NR;

  // Tap k = (c, kh, kw), in the weight's own order, reads the padded image at offsets[k] + j.
  std::unique_ptr<int64_t[]> offsets(new int64_t[K]);
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t r = 0; r < s.k_h; ++r)
      for (int64_t q = 0; q < s.k_w; ++q) offsets[(c * s.k_h + r) * s.k_w + q] = c * plane + r * s.dil_h * wp + q * s.dil_w;
  // The weight, per group, in panels of kRows output channels: packed[panel][k][i], zero rows past kg.
  std::unique_ptr<T[]> packed(new T[s.groups * panels * K * kRows]);
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t pn = 0; pn < panels; ++pn) {
      T* dst = packed.get() + (g * panels + pn) * K * kRows;
      for (int64_t k = 0; k < K; ++k)
        for (int i = 0; i < kRows; ++i) {
          const int64_t row = pn * kRows + i;
          dst[k * kRows + i] = row < kg ? w[(g * kg + row) * K + k] : T(0);
        }
    }

  const int64_t sc = s.x_strides[1], sh = s.x_strides[2], sw = s.x_strides[3];
  parallel_for(s.batch * s.groups, kg * K * positions, [&](int64_t begin, int64_t end) {
    std::unique_ptr<T[]> padded(new T[padded_size]), grid(new T[panels * kRows * ldg]);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / s.groups, g = t % s.groups;
      const T* img = x + n * s.x_strides[0] + g * cg * sc;
      T* buf = padded.get();
      std::fill(buf, buf + padded_size, T(0));
      for (int64_t c = 0; c < cg; ++c)
        for (int64_t h = 0; h < s.in_h; ++h) {
          T* row = buf + c * plane + (s.pad_top + h) * wp + s.pad_left;
          const T* src = img + c * sc + h * sh;
          if (sw == 1)
            std::memcpy(row, src, s.in_w * sizeof(T));
          else
            for (int64_t i = 0; i < s.in_w; ++i) row[i] = src[i * sw];
        }
      const T* a_group = packed.get() + g * panels * K * kRows;
      // Blocks of kc taps: a tile's input rows (kc x NR) stay in L1 while every panel of
      // output channels uses them.
      for (int64_t k0 = 0; k0 < K; k0 += kc)
        for (int64_t j = 0; j < cols; j += NR)
          for (int64_t pn = 0; pn < panels; ++pn)
            tile<T, kRows>(std::min(kc, K - k0), a_group + (pn * K + k0) * kRows, buf + j, offsets.get() + k0,
                 grid.get() + pn * kRows * ldg + j, ldg, k0 > 0);
      T* out = y + (n * s.out_c + g * kg) * positions;
      for (int64_t k = 0; k < kg; ++k) {  // keep the OW valid columns of each grid row, add the bias
        const T b = bias ? bias[g * kg + k] : T(0);
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          const T* src = grid.get() + k * ldg + oh * wp;
          T* dst = out + (k * s.out_h + oh) * s.out_w;
          for (int64_t i = 0; i < s.out_w; ++i) dst[i] = src[i] + b;
        }
      }
    }
  });
}

// The tile height that pads the fewest output channels (the taller one on a tie).
template <class T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t kg = s.out_c / s.groups;
  const int64_t pad_tall = (kRows - kg % kRows) % kRows, pad_short = (kShortRows - kg % kShortRows) % kShortRows;
  if (pad_short < pad_tall)
    forward_rows<T, kShortRows>(s, x, w, bias, y);
  else
    forward_rows<T, kRows>(s, x, w, bias, y);
}

}  // namespace

void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  forward(s, x, w, bias, y);
}
void conv2d_forward_direct(const Conv2dShape& s, const double* x, const double* w, const double* bias, double* y) {
  forward(s, x, w, bias, y);
}

}  // namespace pe::cpu::PE_ISA_NS
