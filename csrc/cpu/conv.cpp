#include "cpu/conv.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>

#include "core/dispatch.h"
#include "core/parallel.h"
#include "cpu/conv_kernels.h"
#include "cpu/gemm.h"

namespace pe::cpu {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The element types. float and double have direct kernels (conv_kernels.cpp) and are their own
// accumulators. The 16-bit floats run every pass on GEMMs (cpu::gemm16 through gemm_acc): the
// operands (image, column matrix, weight, output gradient) stay 16-bit, the GEMMs sum into
// float32 (Acc = gemm_acc_t<T>), and each result element is rounded to T once, at the end.
template <class T>
constexpr bool has_direct_kernels = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class T>
constexpr bool sums_in_place = std::is_same_v<T, gemm_acc_t<T>>;

// Where a result of T accumulates: the result itself for float/double, else `buffer` (float32),
// rounded into the result by round_sums.
template <class T>
gemm_acc_t<T>* sums_of(T* result, gemm_acc_t<T>* buffer) {
  if constexpr (sums_in_place<T>)
    return result;
  else
    return buffer;
}

// A float32 sums buffer of n elements for a 16-bit T; none for float/double.
template <class T>
std::unique_ptr<gemm_acc_t<T>[]> sums_buffer(int64_t n) {
  if constexpr (sums_in_place<T>) return nullptr;
  return std::unique_ptr<gemm_acc_t<T>[]>(new gemm_acc_t<T>[n]);
}

// result = the n sums, rounded once (a no-op when the sums are the result).
template <class T>
void round_sums(int64_t n, const gemm_acc_t<T>* sums, T* result) {
  if constexpr (!sums_in_place<T>)
    for (int64_t i = 0; i < n; ++i) result[i] = static_cast<T>(sums[i]);
}

// Whether every value a gradient reads is finite. The fast gradient paths multiply zeros that
// stand for no product at all (the padding of the Shifted and direct weight gradients' junk
// grid columns, the zero-padded output gradient of the input-gradient-as-a-conv) by image or
// weight values; 0 * inf = NaN would then reach gradients PyTorch keeps finite. A non-finite
// operand takes the column-matrix paths (im2col for the weight, col2im for the input), which
// form only real products. One pass over the operand, small against the convolution itself.
template <class T>
bool all_finite(int64_t n, const T* v) {
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) finite &= std::isfinite(v[i]);
  return finite;
}

template <class T>
bool image_finite(const Conv2dShape& s, const T* x) {
  std::atomic<bool> finite{true};
  parallel_for(s.batch * s.in_c, s.in_h * s.in_w, [&](int64_t begin, int64_t end) {
    bool mine = true;
    for (int64_t nc = begin; nc < end && mine; ++nc) {
      const T* plane = x + nc / s.in_c * s.x_strides[0] + nc % s.in_c * s.x_strides[1];
      for (int64_t h = 0; h < s.in_h; ++h)
        for (int64_t w = 0; w < s.in_w; ++w) mine &= std::isfinite(plane[h * s.x_strides[2] + w * s.x_strides[3]]);
    }
    if (!mine) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

// The stride of x's (H, W) plane read as one flat run of H*W elements, or -1 when the view
// does not allow it.
int64_t flat_plane_stride(const Conv2dShape& s) {
  const int64_t sh = s.x_strides[2], sw = s.x_strides[3];
  if (s.in_h == 1) return sw;
  if (s.in_w == 1) return sh;
  return sh == s.in_w * sw ? sw : -1;
}

// How a convolution maps onto GEMMs. Every choice depends on the shape only, never on the
// thread count.
//  - Direct:  a 1x1, stride-1, unpadded conv of an input whose (H, W) plane is one flat run:
//             the input slice is already the GEMM's right operand.
//  Every other forward runs the direct kernel of conv_kernels.cpp; the methods below then
//  only concern the gradients.
//  - Shifted: stride 1 (any kernel, padding, dilation). The input gradient is a stride-1 conv
//             too (input_grad_is_a_conv).
//             The weight gradient: the image is copied once into a zero-padded, channels-last
//             buffer (hp * wp pixels of cg channels) and the output gradient laid on a grid of
//             OH rows of wp columns (junk columns past OW zero). On that grid kernel row kh
//             reads the padded buffer shifted by kh*dil_h*wp pixels, and with channels last the
//             kW taps x cg channels of that row are one plain strided matrix: one GEMM per
//             kernel row (per tap when dil_w > 1), no column matrix.
//  - Im2col:  strided convs (and weight gradients with few taps x channels): an explicit
//             column matrix (C/g*kH*kW rows) for `chunk` images side by side, so small images
//             still give the GEMM a few hundred columns.
//  Every method but Direct reads a zero-padded copy of the image, and the Shifted and direct
//  kernels compute on grids as wide as it. Its size grows with padding and dilation alone: a
//  3-tap kernel of dilation 2**30 padded by 2**30 on a 9-pixel image gives 9 outputs from a
//  2**31-pixel buffer. When that copy would dwarf the problem (padding_dominates), the plan is
//  `unpadded`: Im2col for every pass (the forward too), with an im2col / col2im that read and
//  write the image itself and skip the taps outside it, so the scratch is the column matrix.
enum class Method { Direct, Shifted, Im2col };

// Whether the padded image (and the output grids as wide as it) would be much larger than the
// problem itself: the image, one image's column matrix and its output. Computed in double, since
// the padded extents hp x wp are each countable but their product need not be.
bool padding_dominates(const Conv2dShape& s, int64_t hp, int64_t wp) {
  constexpr double kSlack = 4, kFloor = 1 << 16;  // never for ordinary paddings, nor tiny images
  const double cg = double(s.in_c / s.groups), kg = double(s.out_c / s.groups);
  const double positions = double(s.out_h) * double(s.out_w);
  const double needed = cg * double(s.in_h) * double(s.in_w) + (cg * double(s.k_h) * double(s.k_w) + kg) * positions;
  return std::max(cg, kg) * double(hp) * double(wp) > kSlack * needed + kFloor;
}

struct Plan {
  int64_t cg, kg;         // channels per group: input, output
  int64_t rows;           // C/g * kH * kW: the weight's row length
  int64_t positions;      // output positions per image (OH * OW)
  int64_t in_plane;       // H * W
  int64_t flat_stride;    // flat_plane_stride(s)
  int64_t hp, wp;         // the padded image the patches are read from
  int64_t padded_size;    // elements of one padded image group (Shifted: with slack for the junk columns)
  int64_t grid;           // Shifted: OH * wp output columns
  int64_t taps_per_gemm;  // Shifted: kernel taps of one row one GEMM covers (kW, or 1 if dilated)
  bool unpadded;          // padding_dominates: Im2col on the image itself, no padded buffer
  Method method;
  bool exact;             // only real products: no junk columns or padding times the image (all_finite)
  int64_t chunk, chunks;  // images per GEMM, number of chunks

  // for_weight_grad: the plan of conv2d_backward_weight (see kFewRows); exact: see all_finite;
  // gemm_only: the element type has no direct kernels (has_direct_kernels), so a forward that is
  // not Direct multiplies a column matrix (Im2col).
  explicit Plan(const Conv2dShape& s, bool for_weight_grad = false, bool exact_products = false,
                bool gemm_only = false)
      : cg(s.in_c / s.groups),
        kg(s.out_c / s.groups),
        rows(s.in_c / s.groups * s.k_h * s.k_w),
        positions(s.out_h * s.out_w),
        in_plane(s.in_h * s.in_w),
        flat_stride(flat_plane_stride(s)),
        hp(std::max(s.pad_top + s.in_h, (s.out_h - 1) * s.stride_h + (s.k_h - 1) * s.dil_h + 1)),
        wp(std::max(s.pad_left + s.in_w, (s.out_w - 1) * s.stride_w + (s.k_w - 1) * s.dil_w + 1)),
        grid(0),
        taps_per_gemm(s.dil_w == 1 ? s.k_w : 1),
        unpadded(padding_dominates(s, hp, wp)),
        exact(exact_products) {
    const bool unit_stride = s.stride_h == 1 && s.stride_w == 1;
    const bool pointwise = unit_stride && s.k_h == 1 && s.k_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
                           s.out_h == s.in_h && s.out_w == s.in_w;
    method = pointwise && flat_stride >= 0 ? Method::Direct : unit_stride ? Method::Shifted : Method::Im2col;
    // A weight with few taps x channels per output channel (a first layer: 1 x 3 x 3) makes the
    // Shifted GEMMs a few columns wide; a column matrix over many images does better.
    constexpr int64_t kFewRows = 32;
    if (for_weight_grad && method == Method::Shifted && (rows < kFewRows || exact)) method = Method::Im2col;
    if (unpadded) method = Method::Im2col;  // (a pointwise conv has no padding: never unpadded)
    if (gemm_only && method != Method::Direct) method = Method::Im2col;
    // Sizes of the padded buffer: only counted when it is made (hp * wp may not be countable).
    if (!unpadded) grid = s.out_h * wp;
    padded_size = unpadded                     ? 0
                  : method == Method::Shifted ? (hp * wp + (s.k_w - 1) * s.dil_w) * cg
                                              : cg * hp * wp;
    chunk = 1;
    if (method == Method::Im2col) {
      // About this many GEMM columns amortise the GEMM's per-call packing of the weight; at
      // least a quarter of the batch in chunks keeps the threads busy.
      constexpr int64_t kTargetColumns = 128, kMinChunks = 4;
      chunk = std::max<int64_t>(1, ceil_div(kTargetColumns, std::max<int64_t>(positions, 1)));
      chunk = std::max<int64_t>(1, std::min(chunk, s.batch / kMinChunks));
    }
    chunks = ceil_div(s.batch, chunk);
  }
  int64_t images(const Conv2dShape& s, int64_t c) const { return std::min(chunk, s.batch - c * chunk); }
};

// Per-thread scratch of one kernel call: a padded image, and the Im2col column matrix and
// chunk rows, or the Shifted output grid. Each buffer has its pass's element type: the operand
// type where a GEMM reads it, the accumulator where a GEMM sums into it (for a 16-bit T the
// forward's rows and the input gradient's column matrix and padded image are float32).
// sums_in_rows: the rows hold the GEMM's sums even for a single image (a 16-bit forward).
template <class Padded, class Col = Padded, class Rows = Padded>
struct Scratch {
  std::unique_ptr<Padded[]> padded;
  std::unique_ptr<Col[]> col;
  std::unique_ptr<Rows[]> rows;
  explicit Scratch(const Plan& p, bool sums_in_rows = false) {
    if (p.method == Method::Direct) return;
    if (!p.unpadded) padded.reset(new Padded[p.padded_size]);
    if (p.method == Method::Shifted) {
      rows.reset(new Rows[p.kg * p.grid]);
    } else {
      col.reset(new Col[p.rows * p.chunk * p.positions]);
      if (p.chunk > 1 || sums_in_rows) rows.reset(new Rows[p.kg * p.chunk * p.positions]);
    }
  }
};

// dst[k, b, :] = src[k, b, :] for `rows` x `nb` runs of `len` elements, with the row (k) and
// block (b) strides of each side: moves rows between the (N, K, P) tensor layout and the
// GEMM's side-by-side layout.
template <class T>
void copy_runs(int64_t rows, int64_t nb, int64_t len, const T* src, int64_t src_rs, int64_t src_bs, T* dst,
               int64_t dst_rs, int64_t dst_bs) {
  for (int64_t k = 0; k < rows; ++k)
    for (int64_t b = 0; b < nb; ++b)
      std::memcpy(dst + k * dst_rs + b * dst_bs, src + k * src_rs + b * src_bs, len * sizeof(T));
}

// ---------------------------------------------------------------- Im2col method

// One image group (x strides) into a zero-padded, channels-first (cg, hp, wp) buffer, so the
// column-matrix loops have no bounds checks.
template <class T>
void pad_image(const Conv2dShape& s, const Plan& p, const T* img, T* padded) {
  const int64_t sc = s.x_strides[1], sh = s.x_strides[2], sw = s.x_strides[3];
  std::fill(padded, padded + p.padded_size, T(0));
  for (int64_t c = 0; c < p.cg; ++c)
    for (int64_t h = 0; h < s.in_h; ++h) {
      T* row = padded + (c * p.hp + s.pad_top + h) * p.wp + s.pad_left;
      const T* src = img + c * sc + h * sh;
      for (int64_t w = 0; w < s.in_w; ++w) row[w] = src[w * sw];
    }
}

// col (rows x positions, rows `ld` apart) = the patches of one padded image group (im2col):
// row (c, kh, kw), output row oh reads padded[c, oh*stride_h + kh*dil_h, ow*stride_w + kw*dil_w].
template <class T>
void im2col(const Conv2dShape& s, const Plan& p, const T* __restrict padded, T* __restrict col, int64_t ld) {
  const int64_t ow = s.out_w, sw = s.stride_w, row_step = s.stride_h * p.wp;
  for (int64_t c = 0; c < p.cg; ++c)
    for (int64_t r = 0; r < s.k_h; ++r)
      for (int64_t q = 0; q < s.k_w; ++q) {
        const T* src = padded + (c * p.hp + r * s.dil_h) * p.wp + q * s.dil_w;
        T* dst = col + ((c * s.k_h + r) * s.k_w + q) * ld;
        for (int64_t oh = 0; oh < s.out_h; ++oh, src += row_step, dst += ow)
          for (int64_t i = 0; i < ow; ++i) dst[i] = src[i * sw];
      }
}

// padded += the column matrix scattered back onto its pixels (col2im, im2col's adjoint).
template <class T>
void col2im_add(const Conv2dShape& s, const Plan& p, const T* __restrict col, int64_t ld, T* __restrict padded) {
  const int64_t ow = s.out_w, sw = s.stride_w, row_step = s.stride_h * p.wp;
  for (int64_t c = 0; c < p.cg; ++c)
    for (int64_t r = 0; r < s.k_h; ++r)
      for (int64_t q = 0; q < s.k_w; ++q) {
        T* dst = padded + (c * p.hp + r * s.dil_h) * p.wp + q * s.dil_w;
        const T* src = col + ((c * s.k_h + r) * s.k_w + q) * ld;
        for (int64_t oh = 0; oh < s.out_h; ++oh, dst += row_step, src += ow)
          for (int64_t i = 0; i < ow; ++i) dst[i * sw] += src[i];
      }
}

// img (contiguous cg, H, W) = the interior of a padded channels-first gradient of sums S,
// plus bias[c], rounded once to T.
template <class S, class T>
void unpad_image(const Conv2dShape& s, const Plan& p, const S* padded, const T* bias, T* img) {
  for (int64_t c = 0; c < p.cg; ++c) {
    const S b = bias ? static_cast<S>(bias[c]) : S(0);
    for (int64_t h = 0; h < s.in_h; ++h) {
      const S* src = padded + (c * p.hp + s.pad_top + h) * p.wp + s.pad_left;
      T* dst = img + (c * s.in_h + h) * s.in_w;
      for (int64_t w = 0; w < s.in_w; ++w) dst[w] = static_cast<T>(src[w] + b);
    }
  }
}

// ---------------------------------------------------------------- unpadded Im2col
// The same column matrix, read from the image itself (Plan::unpadded): a tap outside the image
// is a zero in the column matrix, and col2im adds nothing for it.

// The outputs o in [lo, hi) of one axis whose tap at kernel offset `kd` (= k * dilation) reads
// the image, i.e. 0 <= o*stride - pad + kd < in. Every sum is within the padded length, which
// the op layer has counted.
struct TapSpan {
  int64_t lo, hi;
  TapSpan(int64_t out, int64_t stride, int64_t pad, int64_t kd, int64_t in) {
    auto outputs_below = [&](int64_t limit) {  // the o >= 0 with o*stride < limit, capped at out
      return limit <= 0 ? int64_t(0) : std::min(out, (limit - 1) / stride + 1);
    };
    lo = outputs_below(pad - kd);
    hi = std::max(lo, outputs_below(in + pad - kd));
  }
};

// col (rows x positions, rows `ld` apart) = the patches of one image group (x strides).
template <class T>
void im2col_unpadded(const Conv2dShape& s, const Plan& p, const T* __restrict img, T* __restrict col, int64_t ld) {
  const int64_t sc = s.x_strides[1], sh = s.x_strides[2], sw = s.x_strides[3], ow = s.out_w;
  for (int64_t c = 0; c < p.cg; ++c)
    for (int64_t r = 0; r < s.k_h; ++r)
      for (int64_t q = 0; q < s.k_w; ++q) {
        const TapSpan hs(s.out_h, s.stride_h, s.pad_top, r * s.dil_h, s.in_h);
        const TapSpan ws(s.out_w, s.stride_w, s.pad_left, q * s.dil_w, s.in_w);
        T* dst = col + ((c * s.k_h + r) * s.k_w + q) * ld;
        std::fill(dst, dst + hs.lo * ow, T(0));
        for (int64_t oh = hs.lo; oh < hs.hi; ++oh) {
          T* row = dst + oh * ow;
          const T* src = img + c * sc + (oh * s.stride_h - (s.pad_top - r * s.dil_h)) * sh;
          const int64_t w0 = ws.lo * s.stride_w - (s.pad_left - q * s.dil_w);  // input column of output ws.lo
          std::fill(row, row + ws.lo, T(0));
          for (int64_t i = ws.lo; i < ws.hi; ++i) row[i] = src[(w0 + (i - ws.lo) * s.stride_w) * sw];
          std::fill(row + ws.hi, row + ow, T(0));
        }
        std::fill(dst + hs.hi * ow, dst + s.out_h * ow, T(0));
      }
}

// img (contiguous cg, H, W) += the column matrix scattered back onto the pixels its taps read.
template <class T>
void col2im_add_unpadded(const Conv2dShape& s, const Plan& p, const T* __restrict col, int64_t ld, T* __restrict img) {
  const int64_t ow = s.out_w;
  for (int64_t c = 0; c < p.cg; ++c)
    for (int64_t r = 0; r < s.k_h; ++r)
      for (int64_t q = 0; q < s.k_w; ++q) {
        const TapSpan hs(s.out_h, s.stride_h, s.pad_top, r * s.dil_h, s.in_h);
        const TapSpan ws(s.out_w, s.stride_w, s.pad_left, q * s.dil_w, s.in_w);
        const T* src = col + ((c * s.k_h + r) * s.k_w + q) * ld;
        const int64_t w0 = ws.lo * s.stride_w - (s.pad_left - q * s.dil_w);
        for (int64_t oh = hs.lo; oh < hs.hi; ++oh) {
          T* dst = img + (c * s.in_h + oh * s.stride_h - (s.pad_top - r * s.dil_h)) * s.in_w + w0;
          const T* row = src + oh * ow;
          for (int64_t i = ws.lo; i < ws.hi; ++i) dst[(i - ws.lo) * s.stride_w] += row[i];
        }
      }
}

// The column matrix of a chunk: nb images' patches side by side, rows `ld` apart.
template <class T>
void chunk_columns(const Conv2dShape& s, const Plan& p, const T* img0, int64_t nb, T* padded, T* col, int64_t ld) {
  for (int64_t b = 0; b < nb; ++b) {
    if (p.unpadded) {
      im2col_unpadded(s, p, img0 + b * s.x_strides[0], col + b * p.positions, ld);
      continue;
    }
    pad_image(s, p, img0 + b * s.x_strides[0], padded);
    im2col(s, p, padded, col + b * p.positions, ld);
  }
}

// y = bias + W @ columns, chunk by chunk: the forward of an unpadded plan.
template <class T>
void forward_im2col(const Conv2dShape& s, const Plan& p, const T* x, const T* w, const T* bias, T* y) {
  using Acc = gemm_acc_t<T>;
  parallel_for(p.chunks * s.groups, p.chunk * p.kg * p.rows * p.positions, [&](int64_t begin, int64_t end) {
    Scratch<T, T, Acc> scratch(p, !sums_in_place<T>);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t c = t / s.groups, g = t % s.groups, n0 = c * p.chunk, nb = p.images(s, c), cols = nb * p.positions;
      T* col = scratch.col.get();
      chunk_columns(s, p, x + n0 * s.x_strides[0] + g * p.cg * s.x_strides[1], nb, scratch.padded.get(), col, cols);
      T* out0 = y + (n0 * s.out_c + g * p.kg) * p.positions;
      // A chunk's rows go side by side, then apart; a 16-bit T's float32 sums always go to rows.
      Acc* prod = nb > 1 ? scratch.rows.get() : sums_of(out0, scratch.rows.get());
      gemm_acc(p.kg, cols, p.rows, w + g * p.kg * p.rows, p.rows, 1, col, cols, 1, Acc(0), prod, cols, 1);
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t k = 0; k < p.kg; ++k) {
          const Acc bk = bias ? static_cast<Acc>(bias[g * p.kg + k]) : Acc(0);
          const Acc* src = prod + k * cols + b * p.positions;
          T* dst = out0 + b * s.out_c * p.positions + k * p.positions;
          for (int64_t i = 0; i < p.positions; ++i) dst[i] = static_cast<T>(src[i] + bk);
        }
    }
  });
}

// ---------------------------------------------------------------- Shifted method

// One image group into the zero-padded channels-last buffer: padded[(h*wp + w)*cg + c].
template <class T>
void pad_image_channels_last(const Conv2dShape& s, const Plan& p, const T* img, T* padded) {
  const int64_t sc = s.x_strides[1], sh = s.x_strides[2], sw = s.x_strides[3];
  std::fill(padded, padded + p.padded_size, T(0));
  for (int64_t h = 0; h < s.in_h; ++h)
    for (int64_t w = 0; w < s.in_w; ++w) {
      T* dst = padded + ((s.pad_top + h) * p.wp + s.pad_left + w) * p.cg;
      const T* src = img + h * sh + w * sw;
      for (int64_t c = 0; c < p.cg; ++c) dst[c] = src[c * sc];
    }
}

// The weight gradient of the Shifted method accumulates taps-last, (K, kH, kW, cg) sums S; back
// to the weight's (K, cg, kH, kW), rounded once to T.
template <class S, class T>
void weight_from_taps_last(const Conv2dShape& s, const Plan& p, const S* in, T* w) {
  const int64_t taps = s.k_h * s.k_w;
  for (int64_t k = 0; k < s.out_c; ++k)
    for (int64_t c = 0; c < p.cg; ++c)
      for (int64_t t = 0; t < taps; ++t) w[k * p.rows + c * taps + t] = static_cast<T>(in[k * p.rows + t * p.cg + c]);
}

// Calls gemm_fn(tap, shift, taps) for each GEMM of the Shifted method: `taps` kernel taps of
// one kernel row starting at tap index `tap` (= kh*kW + kw), read from the channels-last
// padded buffer at element offset `shift`.
template <class F>
void for_each_tap_gemm(const Conv2dShape& s, const Plan& p, F gemm_fn) {
  for (int64_t r = 0; r < s.k_h; ++r)
    for (int64_t q = 0; q < s.k_w; q += p.taps_per_gemm)
      gemm_fn(r * s.k_w + q, (r * s.dil_h * p.wp + q * s.dil_w) * p.cg, p.taps_per_gemm);
}

// acc (kg x rows, taps-last) (+)= grad (on the grid, junk columns zero) @ shifted input^T.
template <class T>
void backward_weight_shifted(const Conv2dShape& s, const Plan& p, const T* grad, const T* img, gemm_acc_t<T> beta,
                             gemm_acc_t<T>* acc, Scratch<T>& scratch) {
  T* padded = scratch.padded.get();
  T* grid = scratch.rows.get();
  for (int64_t k = 0; k < p.kg; ++k)
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      T* dst = grid + k * p.grid + oh * p.wp;
      std::memcpy(dst, grad + (k * s.out_h + oh) * s.out_w, s.out_w * sizeof(T));
      std::fill(dst + s.out_w, dst + p.wp, T(0));  // junk columns add nothing
    }
  pad_image_channels_last(s, p, img, padded);
  for_each_tap_gemm(s, p, [&](int64_t tap, int64_t shift, int64_t taps) {
    gemm_acc(p.kg, taps * p.cg, p.grid, grid, p.grid, 1, padded + shift, p.cg, 1, beta, acc + tap * p.cg, p.rows,
             1);
  });
}

// A stride-1 conv's input gradient is itself a stride-1 conv: of grad_output, padded by
// dil*(k-1) - pad, with the weight flipped in kH and kW and its two channel dims swapped.
// True when that padding is not negative (always, unless pad > dil*(k-1)).
bool input_grad_is_a_conv(const Conv2dShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.pad_top <= s.dil_h * (s.k_h - 1) &&
         s.pad_left <= s.dil_w * (s.k_w - 1);
}

template <class T>
void flipped_weight(const Conv2dShape& s, const Plan& p, const T* w, T* out) {
  // out[g*cg + c, k, tap'] = w[g*kg + k, c, tap] with tap' = taps-1-tap (kH and kW both
  // reversed); out is (C, kg, kH, kW). In 16 x 16 blocks of (k, c), so both sides are read and
  // written in runs of whole kernels rather than one cache line per element.
  constexpr int64_t kBlock = 16;
  const int64_t taps = s.k_h * s.k_w;
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t k0 = 0; k0 < p.kg; k0 += kBlock)
      for (int64_t c0 = 0; c0 < p.cg; c0 += kBlock)
        for (int64_t k = k0; k < std::min(p.kg, k0 + kBlock); ++k)
          for (int64_t c = c0; c < std::min(p.cg, c0 + kBlock); ++c) {
            const T* src = w + ((g * p.kg + k) * p.cg + c) * taps;
            T* dst = out + ((g * p.cg + c) * p.kg + k) * taps;
            for (int64_t t = 0; t < taps; ++t) dst[taps - 1 - t] = src[t];
          }
}

// Enough slots to keep every thread busy on the weight gradient, chosen from the shape alone
// (never the thread count) so the order of additions is fixed; fewer when the partial sums
// would take too much memory.
int64_t weight_grad_slots(int64_t chunks, int64_t weight_size) {
  constexpr int64_t kMaxSlots = 8, kMaxPartialElems = int64_t(1) << 25;
  int64_t slots = std::min(chunks, kMaxSlots);
  while (slots > 1 && weight_size * (slots - 1) > kMaxPartialElems) slots /= 2;
  return std::max<int64_t>(slots, 1);
}

// first += the partial sums of slots 1..slots-1 (`size` elements each), in slot order.
template <class T>
void add_slots(int64_t slots, int64_t size, const T* partial, T* first) {
  if (slots <= 1) return;
  parallel_for(size, slots, [&](int64_t begin, int64_t end) {
    for (int64_t slot = 1; slot < slots; ++slot) {
      const T* q = partial + (slot - 1) * size;
      for (int64_t i = begin; i < end; ++i) first[i] += q[i];
    }
  });
}

// The direct weight gradient (conv_kernels.cpp) reads the taps from the padded image as the
// forward does, with no GEMM and no column matrix: its grid kernel for few output channels,
// its channel-vector kernel for many. It wins up to 32 output channels per group, and beyond
// on small images while the weight stays small: its per-slot sums are weight-sized and live
// in L2, and it walks the image's channel planes for every tap tile. On large images or past
// about 1 MiB of weight the GEMMs on packed panels win (measured: 64 channels at 56x56, 256 at
// 7x7). A plain 1x1 conv reads its input in place as a GEMM operand.
template <class T>
bool use_direct_weight_grad(const Plan& p) {
  constexpr int64_t kMaxDirectChannels = 32, kMaxPositions = 1024, kMaxWeightBytes = int64_t(1) << 20;
  if (p.method == Method::Direct || p.exact || p.unpadded) return false;
  return p.kg <= kMaxDirectChannels ||
         (p.positions <= kMaxPositions && p.kg * p.rows * static_cast<int64_t>(sizeof(T)) <= kMaxWeightBytes);
}

}  // namespace

template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  using Acc = gemm_acc_t<T>;
  const Plan p(s, false, false, !has_direct_kernels<T>);
  if (p.method != Method::Direct) {
    // Every forward but a plain 1x1 runs the direct kernel (conv_kernels.cpp): no GEMM, no
    // column matrix; strided convs read a stride-phase split of the padded image. An unpadded
    // plan, and the 16-bit floats (no direct kernel), multiply a column matrix instead.
    if constexpr (has_direct_kernels<T>)
      if (!p.unpadded) return PE_ISA_CALL(conv2d_forward_direct, s, x, w, bias, y);
    return forward_im2col(s, p, x, w, bias, y);
  }
  // 1x1, stride 1, unpadded: y[n, group] = bias + W_group @ x[n, group], the input read in place.
  parallel_for(s.batch * s.groups, p.kg * p.rows * p.positions, [&](int64_t begin, int64_t end) {
    const auto buffer = sums_buffer<T>(p.kg * p.positions);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / s.groups, g = t % s.groups;
      const T* img = x + n * s.x_strides[0] + g * p.cg * s.x_strides[1];
      T* out = y + (n * s.out_c + g * p.kg) * p.positions;
      Acc* sums = sums_of(out, buffer.get());
      Acc beta = 0;
      if (bias != nullptr) {  // start from the bias so the GEMM adds onto it
        for (int64_t k = 0; k < p.kg; ++k)
          std::fill(sums + k * p.positions, sums + (k + 1) * p.positions, static_cast<Acc>(bias[g * p.kg + k]));
        beta = 1;
      }
      gemm_acc(p.kg, p.positions, p.rows, w + g * p.kg * p.rows, p.rows, 1, img, s.x_strides[1], p.flat_stride, beta,
               sums, p.positions, 1);
      round_sums(p.kg * p.positions, sums, out);
    }
  });
}

template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* gy, const T* w, const T* bias, T* gx) {
  using Acc = gemm_acc_t<T>;
  const Plan p(s);
  // (An unpadded plan's gradient-as-a-conv would pad grad_output by about as much: col2im.)
  if (p.method != Method::Direct && !p.unpadded && input_grad_is_a_conv(s) && all_finite(s.out_c * p.rows, w)) {
    Conv2dShape t = s;  // the conv of grad_output that gives grad_input
    t.in_c = s.out_c, t.in_h = s.out_h, t.in_w = s.out_w;
    t.out_c = s.in_c, t.out_h = s.in_h, t.out_w = s.in_w;
    t.pad_top = s.dil_h * (s.k_h - 1) - s.pad_top, t.pad_left = s.dil_w * (s.k_w - 1) - s.pad_left;
    t.x_strides[0] = s.out_c * p.positions, t.x_strides[1] = p.positions, t.x_strides[2] = s.out_w, t.x_strides[3] = 1;
    std::unique_ptr<T[]> flipped(new T[s.out_c * p.rows]);
    flipped_weight(s, p, w, flipped.get());
    conv2d_forward(t, gy, flipped.get(), bias, gx);
    return;
  }
  parallel_for(p.chunks * s.groups, p.chunk * p.kg * p.rows * p.positions, [&](int64_t begin, int64_t end) {
    // The column matrix and the padded gradient hold the GEMM's sums; the rows gather grad_output.
    Scratch<Acc, Acc, T> scratch(p);
    const auto image_sums = sums_buffer<T>(p.cg * p.in_plane);  // one image's (Direct, unpadded)
    for (int64_t t = begin; t < end; ++t) {
      const int64_t c = t / s.groups, g = t % s.groups, n0 = c * p.chunk, nb = p.images(s, c), cols = nb * p.positions;
      const T* grad = gy + (n0 * s.out_c + g * p.kg) * p.positions;
      const T* wg = w + g * p.kg * p.rows;  // read transposed: (rows x kg), rs 1, cs rows
      const T* bias_g = bias ? bias + g * p.cg : nullptr;
      T* img0 = gx + (n0 * s.in_c + g * p.cg) * p.in_plane;
      // img's sums = bias[c] in every pixel of channel c.
      auto start_from_bias = [&](Acc* img) {
        for (int64_t ch = 0; ch < p.cg; ++ch)
          std::fill(img + ch * p.in_plane, img + (ch + 1) * p.in_plane, bias_g ? static_cast<Acc>(bias_g[ch]) : Acc(0));
      };
      if (p.method == Method::Direct) {  // gx = bias + W^T @ grad, straight into gx (contiguous)
        Acc* sums = sums_of(img0, image_sums.get());
        start_from_bias(sums);
        gemm_acc(p.cg, p.in_plane, p.kg, wg, 1, p.rows, grad, cols, 1, Acc(1), sums, p.in_plane, 1);
        round_sums(p.cg * p.in_plane, sums, img0);
        continue;
      }
      // Im2col (or a Shifted plan whose input gradient is no conv): columns, then col2im.
      if (nb > 1) {  // gather the chunk's gradient rows side by side
        copy_runs(p.kg, nb, p.positions, grad, p.positions, s.out_c * p.positions, scratch.rows.get(), cols,
                  p.positions);
        grad = scratch.rows.get();
      }
      std::unique_ptr<Acc[]> col_own, pad_own;
      Acc* col = scratch.col.get();
      Acc* padded = scratch.padded.get();
      if (col == nullptr) {  // a Shifted plan's scratch has no column matrix
        col_own.reset(new Acc[p.rows * cols]);
        pad_own.reset(new Acc[p.cg * p.hp * p.wp]);
        col = col_own.get(), padded = pad_own.get();
      }
      gemm_acc(p.rows, cols, p.kg, wg, 1, p.rows, grad, cols, 1, Acc(0), col, cols, 1);
      for (int64_t b = 0; b < nb && p.unpadded; ++b) {  // straight into gx, from the bias
        T* img = img0 + b * s.in_c * p.in_plane;
        Acc* sums = sums_of(img, image_sums.get());
        start_from_bias(sums);
        col2im_add_unpadded(s, p, col + b * p.positions, cols, sums);
        round_sums(p.cg * p.in_plane, sums, img);
      }
      for (int64_t b = 0; b < nb && !p.unpadded; ++b) {
        std::fill(padded, padded + p.cg * p.hp * p.wp, Acc(0));
        col2im_add(s, p, col + b * p.positions, cols, padded);
        unpad_image(s, p, padded, bias_g, img0 + b * s.in_c * p.in_plane);
      }
    }
  });
}

template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* gy, const T* x, T* gw) {
  using Acc = gemm_acc_t<T>;
  const Plan p(s, true, !image_finite(s, x));
  const int64_t wsize = s.out_c * p.rows;
  if (s.batch == 0) {
    std::fill(gw, gw + wsize, T(0));
    return;
  }
  if constexpr (has_direct_kernels<T>) {
    if (use_direct_weight_grad<T>(p)) {
      // Slot i sums images i, i + slots, ... (conv_kernels.cpp); the slots are added in order.
      const int64_t slots = weight_grad_slots(s.batch, wsize);
      std::unique_ptr<T[]> partial(new T[(slots - 1) * wsize]);
      parallel_for(slots, ceil_div(s.batch, slots) * wsize * p.positions, [&](int64_t begin, int64_t end) {
        for (int64_t slot = begin; slot < end; ++slot)
          PE_ISA_CALL(conv2d_backward_weight_direct, s, gy, x, slot, slots,
                      slot == 0 ? gw : partial.get() + (slot - 1) * wsize);
      });
      add_slots(slots, wsize, partial.get(), gw);
      return;
    }
  }
  const int64_t slots = weight_grad_slots(p.chunks, wsize);
  // Slot 0 accumulates into `first`: gw itself, or a buffer past the other slots' partial sums
  // (taps-last for Shifted; float32 sums for a 16-bit T, rounded into gw at the end).
  const bool first_apart = p.method == Method::Shifted || !sums_in_place<T>;
  std::unique_ptr<Acc[]> partial(new Acc[(slots - 1 + first_apart) * wsize]);
  Acc* tail = partial.get() + (slots - 1) * wsize;
  Acc* first = p.method == Method::Shifted ? tail : sums_of(gw, tail);
  const int64_t chunks_per_slot = ceil_div(p.chunks, slots);
  parallel_for(slots, chunks_per_slot * p.chunk * wsize * p.positions, [&](int64_t begin, int64_t end) {
    Scratch<T> scratch(p);
    for (int64_t slot = begin; slot < end; ++slot) {
      Acc* acc = slot == 0 ? first : partial.get() + (slot - 1) * wsize;
      for (int64_t c = slot; c < p.chunks; c += slots) {
        const int64_t n0 = c * p.chunk, nb = p.images(s, c), cols = nb * p.positions;
        const Acc beta = c == slot ? Acc(0) : Acc(1);
        for (int64_t g = 0; g < s.groups; ++g) {
          const T* grad = gy + (n0 * s.out_c + g * p.kg) * p.positions;
          const T* img = x + n0 * s.x_strides[0] + g * p.cg * s.x_strides[1];
          Acc* acc_g = acc + g * p.kg * p.rows;
          if (p.method == Method::Shifted) {
            backward_weight_shifted(s, p, grad, img, beta, acc_g, scratch);
            continue;
          }
          if (nb > 1) {
            copy_runs(p.kg, nb, p.positions, grad, p.positions, s.out_c * p.positions, scratch.rows.get(), cols,
                      p.positions);
            grad = scratch.rows.get();
          }
          // gw_g (kg x rows) += grad (kg x cols) @ patches^T (cols x rows)
          const T* B = img;
          int64_t rsB = p.flat_stride, csB = s.x_strides[1];
          if (p.method == Method::Im2col) {
            chunk_columns(s, p, img, nb, scratch.padded.get(), scratch.col.get(), cols);
            B = scratch.col.get(), rsB = 1, csB = cols;
          }
          gemm_acc(p.kg, p.rows, cols, grad, cols, 1, B, rsB, csB, beta, acc_g, p.rows, 1);
        }
      }
    }
  });
  add_slots(slots, wsize, partial.get(), first);
  if (p.method == Method::Shifted)
    weight_from_taps_last(s, p, first, gw);
  else
    round_sums(wsize, first, gw);
}

template <class T>
void channel_sum(int64_t n, int64_t c, int64_t p, const T* y, T* out) {
  parallel_for(c, n * p, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      // Double even for float32 (a bias gradient sums N*H*W terms), in independent lanes: one
      // chain of dependent adds would run at the adder's latency, not its throughput.
      constexpr int kLanes = 8;
      double lane[kLanes] = {};
      for (int64_t i = 0; i < n; ++i) {
        const T* row = y + (i * c + ch) * p;
        int64_t j = 0;
        for (; j + kLanes <= p; j += kLanes)
          for (int l = 0; l < kLanes; ++l) lane[l] += row[j + l];
        for (; j < p; ++j) lane[0] += row[j];
      }
      for (int w = kLanes / 2; w > 0; w /= 2)
        for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
      out[ch] = static_cast<T>(lane[0]);
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
PE_CONV_INSTANTIATE(BFloat16)
PE_CONV_INSTANTIATE(Half)
#undef PE_CONV_INSTANTIATE

// ---------------------------------------------------------------- kernel slots
// Thin adapters from the op family's raw-pointer arguments (ops/conv.h) to the templates
// above, which pick the ISA build of their inner kernels themselves (PE_ISA_CALL): one
// registration serves every ISA column.
namespace {

void forward_slot(const ops::Conv2dArgs& a) {
  PE_DISPATCH_FLOATING_AND_HALF(a.dtype, "conv2d", [&] {
    conv2d_forward<scalar_t>(a.shape, static_cast<const scalar_t*>(a.x), static_cast<const scalar_t*>(a.w),
                             static_cast<const scalar_t*>(a.bias), static_cast<scalar_t*>(a.out));
  });
}

void input_grad_slot(const ops::Conv2dArgs& a) {
  PE_DISPATCH_FLOATING_AND_HALF(a.dtype, "conv2d input gradient", [&] {
    conv2d_backward_input<scalar_t>(a.shape, static_cast<const scalar_t*>(a.gy), static_cast<const scalar_t*>(a.w),
                                    static_cast<const scalar_t*>(a.bias), static_cast<scalar_t*>(a.out));
  });
}

void weight_grad_slot(const ops::Conv2dArgs& a) {
  PE_DISPATCH_FLOATING_AND_HALF(a.dtype, "conv2d weight gradient", [&] {
    conv2d_backward_weight<scalar_t>(a.shape, static_cast<const scalar_t*>(a.gy), static_cast<const scalar_t*>(a.x),
                                     static_cast<scalar_t*>(a.out));
  });
}

void bias_grad_slot(const ops::ChannelSumArgs& a) {
  PE_DISPATCH_FLOATING_AND_HALF(a.dtype, "conv bias gradient", [&] {
    channel_sum<scalar_t>(a.n, a.c, a.p, static_cast<const scalar_t*>(a.in), static_cast<scalar_t*>(a.out));
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::conv2d_forward_kernel, forward_slot);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::conv2d_input_grad_kernel, input_grad_slot);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::conv2d_weight_grad_kernel, weight_grad_slot);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::conv_bias_grad_kernel, bias_grad_slot);

}  // namespace pe::cpu
