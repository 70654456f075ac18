// Direct stride-1 conv2d forward (see conv_kernels.h), compiled once per ISA.
#include "cpu/conv_kernels.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm_direct.h"

namespace pe::cpu::PE_ISA_NS {

namespace {

using gemm_detail::kVectorBytes;  // the ISA's vector registers (cpu/gemm_direct.h)
using gemm_detail::Vec;
constexpr bool kWide = kVectorBytes == 64;  // 32 vector registers rather than 16

// The padded image the kernel reads, split into stride phases so every tap is a contiguous
// run: phase (a, b) holds the padded pixels (h*stride_h + a, w*stride_w + b) as a (hpp, wpp)
// plane per channel (with stride 1 there is one phase: the padded image itself). The output
// is computed on a grid of OH rows of wpp columns (the columns past OW are junk, dropped);
// tap k = (c, kh, kw), in the weight's own order, reads grid column j = oh*wpp + ow at
// offsets[k] + j. Zero borders, and slack after the last plane for the junk columns' reads.
// Columns of one stride phase of the padded image: the grid row length wpp below.
inline int64_t padded_width(const Conv2dShape& s) {
  return std::max((s.pad_left + s.in_w + s.stride_w - 1) / s.stride_w, s.out_w + (s.k_w - 1) * s.dil_w / s.stride_w);
}

template <class T>
struct Padded {
  int64_t cg, kg, taps, K, hpp, wpp, plane, cols, size;
  std::vector<int64_t> offsets;

  Padded(const Conv2dShape& s, int64_t tail)
      : cg(s.in_c / s.groups),
        kg(s.out_c / s.groups),
        taps(s.k_h * s.k_w),
        K(cg * taps),
        hpp(std::max((s.pad_top + s.in_h + s.stride_h - 1) / s.stride_h, s.out_h + (s.k_h - 1) * s.dil_h / s.stride_h)),
        wpp(padded_width(s)),
        plane(hpp * wpp),
        cols(s.out_h * wpp),
        size(s.stride_h * s.stride_w * cg * plane + (s.k_w - 1) * s.dil_w / s.stride_w + tail),
        offsets(K) {
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t r = 0; r < s.k_h; ++r)
        for (int64_t q = 0; q < s.k_w; ++q) {
          const int64_t dr = r * s.dil_h, dq = q * s.dil_w;
          const int64_t phase = (dr % s.stride_h) * s.stride_w + dq % s.stride_w;
          offsets[(c * s.k_h + r) * s.k_w + q] = (phase * cg + c) * plane + dr / s.stride_h * wpp + dq / s.stride_w;
        }
  }

  // One image group (x's strides) into buf (`size` elements).
  void fill(const Conv2dShape& s, const T* img, T* buf) const {
    const int64_t sc = s.x_strides[1], sh = s.x_strides[2], sw = s.x_strides[3];
    std::fill(buf, buf + size, T(0));
    // Phase b of a row starts at input column first[b], landing on phase column column[b].
    std::vector<int64_t> first(s.stride_w), column(s.stride_w);
    for (int64_t b = 0; b < s.stride_w; ++b) {
      first[b] = ((b - s.pad_left) % s.stride_w + s.stride_w) % s.stride_w;
      column[b] = (s.pad_left + first[b]) / s.stride_w;
    }
    // Input row h lands in phase row_phase[h], at phase row (pad_top + h) / stride_h.
    std::vector<int64_t> row_phase(s.in_h), row_at(s.in_h);
    for (int64_t h = 0; h < s.in_h; ++h) {
      row_phase[h] = (s.pad_top + h) % s.stride_h;
      row_at[h] = (s.pad_top + h) / s.stride_h * wpp;
    }
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t h = 0; h < s.in_h; ++h) {
        const int64_t a = row_phase[h];
        const T* src = img + c * sc + h * sh;
        if (s.stride_w == 1) {
          T* row = buf + (a * cg + c) * plane + row_at[h] + s.pad_left;
          if (sw == 1)
            std::memcpy(row, src, s.in_w * sizeof(T));
          else
            for (int64_t i = 0; i < s.in_w; ++i) row[i] = src[i * sw];
          continue;
        }
        for (int64_t b = 0; b < s.stride_w; ++b) {  // the input columns of phase b: first[b], + stride, ...
          T* row = buf + ((a * s.stride_w + b) * cg + c) * plane + row_at[h] + column[b];
          const int64_t count = (s.in_w - first[b] + s.stride_w - 1) / s.stride_w;
          if (s.stride_w == 2 && sw == 1)  // the common strided conv: a constant stride the compiler vectorises
            for (int64_t i = 0; i < count; ++i) row[i] = src[first[b] + 2 * i];
          else
            for (int64_t i = 0; i < count; ++i) row[i] = src[(first[b] + i * s.stride_w) * sw];
        }
      }
  }
};

// ---------------------------------------------------------------- forward

// The weight (K, C/g*kH*kW) per group in panels of `width` output channels, tap-major:
// packed[g][panel][tap][i] = w[g*kg + panel*width + i][tap], zero rows past kg. Taps go in
// blocks of 16, so each weight row is read in cache-line runs (one tap of `width` rows at a
// time would touch a new line per element on a large weight).
template <class T>
std::unique_ptr<T[]> pack_channel_panels(const Conv2dShape& s, const T* w, int64_t width) {
  constexpr int64_t kTapBlock = 16;
  const int64_t kg = s.out_c / s.groups, K = s.in_c / s.groups * s.k_h * s.k_w;
  const int64_t panels = (kg + width - 1) / width;
  std::unique_ptr<T[]> packed(new T[s.groups * panels * K * width]);
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t pn = 0; pn < panels; ++pn) {
      T* dst = packed.get() + (g * panels + pn) * K * width;
      for (int64_t k0 = 0; k0 < K; k0 += kTapBlock)
        for (int64_t i = 0; i < width; ++i) {
          const int64_t row = pn * width + i, k1 = std::min(K, k0 + kTapBlock);
          const T* src = w + (g * kg + row) * K;
          for (int64_t k = k0; k < k1; ++k) dst[k * width + i] = row < kg ? src[k] : T(0);
        }
    }
  return packed;
}


// Output channels per register tile: kRows x 2 vector accumulators, plus 2 vectors of input
// and a broadcast, fit the register file. A tile two thirds that height serves channel
// counts that are multiples of it (16, 32, 64) without padding rows.
constexpr int kRows = kWide ? 12 : 6;
constexpr int kShortRows = kRows * 2 / 3;

// out (R x 2W, row stride ldo) (+)= sum over k of a[k*R + i] * base[offsets[k] + j].
// Not inlined: inside the caller's loops the compiler ran out of registers and kept the tile's
// pointers on the stack (measured 20% slower with 16 channels).
template <class T, int R>
__attribute__((noinline)) void forward_tile(int64_t K, const T* __restrict a, const T* __restrict base,
                         const int64_t* __restrict offsets, T* __restrict out, int64_t ldo, bool accumulate) {
  using V = Vec<T>;
  constexpr int W = V::W;
  typename V::type acc0[R], acc1[R];
  for (int i = 0; i < R; ++i) {
    acc0[i] = accumulate ? V::load(out + i * ldo) : typename V::type{};
    acc1[i] = accumulate ? V::load(out + i * ldo + W) : typename V::type{};
  }
  for (int64_t k = 0; k < K; ++k, a += R) {
    const T* b = base + offsets[k];
    const typename V::type b0 = V::load(b), b1 = V::load(b + W);
    for (int i = 0; i < R; ++i) {
      acc0[i] += a[i] * b0;
      acc1[i] += a[i] * b1;
    }
  }
  for (int i = 0; i < R; ++i) {
    V::store(out + i * ldo, acc0[i]);
    V::store(out + i * ldo + W, acc1[i]);
  }
}

template <class T, int R>
void forward_rows(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  constexpr int NR = 2 * Vec<T>::W;
  constexpr int64_t kc = 16384 / (NR * sizeof(T));  // taps per block: 16 KiB of input rows
  const Padded<T> pad(s, NR);
  const int64_t K = pad.K, kg = pad.kg, positions = s.out_h * s.out_w;
  const int64_t ldg = (pad.cols + NR - 1) / NR * NR;  // grid row length, whole tiles
  const int64_t panels = (kg + R - 1) / R;
  // The weight, per group, in panels of R output channels: packed[panel][k][i], zero rows past kg.
  std::unique_ptr<T[]> packed = pack_channel_panels(s, w, R);
  // Tasks: (image, group) pairs, each cut into column ranges when there are fewer pairs than
  // threads (a single image at inference). A tile's result does not depend on the cut.
  const int64_t pairs = s.batch * s.groups, tiles = ldg / NR;
  const int64_t cuts = std::min(tiles, std::max<int64_t>(1, (get_num_threads() + pairs - 1) / pairs));
  parallel_for(pairs * cuts, kg * K * positions / cuts, [&](int64_t begin, int64_t end) {
    std::unique_ptr<T[]> buf(new T[pad.size]), grid(new T[panels * R * ldg]);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / cuts / s.groups, g = t / cuts % s.groups, cut = t % cuts;
      const int64_t j0 = tiles * cut / cuts * NR, j1 = tiles * (cut + 1) / cuts * NR;
      pad.fill(s, x + n * s.x_strides[0] + g * pad.cg * s.x_strides[1], buf.get());
      const T* a_group = packed.get() + g * panels * K * R;
      if (K == 0) std::fill(grid.get(), grid.get() + panels * R * ldg, T(0));  // no input channels
      // Blocks of kc taps: a tile's input rows (kc x NR) stay in L1 while every panel of
      // output channels uses them.
      for (int64_t k0 = 0; k0 < K; k0 += kc)
        for (int64_t j = j0; j < j1; j += NR)
          for (int64_t pn = 0; pn < panels; ++pn)
            forward_tile<T, R>(std::min(kc, K - k0), a_group + (pn * K + k0) * R, buf.get() + j,
                               pad.offsets.data() + k0, grid.get() + pn * R * ldg + j, ldg, k0 > 0);
      T* out = y + (n * s.out_c + g * kg) * positions;
      for (int64_t k = 0; k < kg; ++k) {  // keep the valid columns of this cut's grid rows, add the bias
        const T b = bias ? bias[g * kg + k] : T(0);
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          const int64_t lo = std::max<int64_t>(0, j0 - oh * pad.wpp), hi = std::min(s.out_w, j1 - oh * pad.wpp);
          const T* src = grid.get() + k * ldg + oh * pad.wpp;
          T* dst = out + (k * s.out_h + oh) * s.out_w;
          for (int64_t i = lo; i < hi; ++i) dst[i] = src[i] + b;
        }
      }
    }
  });
}

// ---------------------------------------------------------------- channel-vector kernels
//
// On small images the grid above wastes work: a 7x7 output sits on a 7 x 9 grid rounded up to
// 64 columns, so a quarter of the multiply-adds land on junk columns. With many output
// channels the register tile can run along the channels instead: P output positions (any
// positions, listed by their grid column) x V vectors of output channels. Per tap it loads
// V weight vectors and broadcasts one input value per position, so only real positions are
// computed. The weight gradient is the same sum read the other way round: TT taps x V
// vectors of output channels, summed over positions, with the output gradient transposed
// to (positions, channels) so a vector of channels is one load.
//
// P + V loads feed P x V multiply-adds (TT + V for TT x V): the tiles below keep the FMA
// units busy and fit the register file (32 vector registers with AVX-512, 16 otherwise).
constexpr int kCvWideVectors = kWide ? 4 : 2;  // the taller tile: 64 (AVX-512) or 2 vectors of channels
constexpr int kCvPositions = 6;
constexpr int kCvNarrowPositions = kWide ? 12 : 6;  // positions of the 2-vector tile
constexpr int kCvTaps = 6;

// out (P rows ldo apart, V*W channels each) (+)= sum over k of x[p][offsets[k]] * a[k][:].
template <class T, int V, int P>
inline void cv_forward_tile(int64_t K, const T* __restrict a, const T* const* __restrict xs,
                            const int64_t* __restrict offsets, T* __restrict out, int64_t ldo, bool accumulate) {
  using Vt = Vec<T>;
  constexpr int W = Vt::W;
  typename Vt::type acc[P][V];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < V; ++v) acc[p][v] = accumulate ? Vt::load(out + p * ldo + v * W) : typename Vt::type{};
  for (int64_t k = 0; k < K; ++k, a += V * W) {
    typename Vt::type wv[V];
    for (int v = 0; v < V; ++v) wv[v] = Vt::load(a + v * W);
    const int64_t off = offsets[k];
    for (int p = 0; p < P; ++p) {
      const T xv = xs[p][off];
      for (int v = 0; v < V; ++v) acc[p][v] += xv * wv[v];
    }
  }
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < V; ++v) Vt::store(out + p * ldo + v * W, acc[p][v]);
}

// The buffer column of each output position of `nb` images whose padded buffers lie
// `image_step` apart (oh*wpp + ow in image b's buffer), padded to whole tiles of P by
// repeating the last position (the extra rows of a tile are computed and dropped).
inline std::vector<int64_t> position_columns(const Conv2dShape& s, int64_t wpp, int64_t nb, int64_t image_step,
                                             int64_t multiple) {
  const int64_t positions = s.out_h * s.out_w, total = nb * positions;
  std::vector<int64_t> cols((total + multiple - 1) / multiple * multiple);
  for (int64_t q = 0; q < static_cast<int64_t>(cols.size()); ++q) {
    const int64_t i = std::min(q, total - 1), b = i / positions, p = i % positions;
    cols[q] = b * image_step + p / s.out_w * wpp + p % s.out_w;
  }
  return cols;
}

template <class T, int V, int P>
void forward_channel_vectors(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  constexpr int VW = V * Vec<T>::W;
  constexpr int64_t kMaxTaps = 32768 / (VW * sizeof(T));  // taps per block: 32 KiB of weights stay in L1
  const Padded<T> pad(s, 0);                             // only real positions are read: no slack
  const int64_t K = pad.K, kg = pad.kg, positions = s.out_h * s.out_w;
  const int64_t k_blocks = std::max<int64_t>(1, (K + kMaxTaps - 1) / kMaxTaps);
  const int64_t kc = std::max<int64_t>(1, (K + k_blocks - 1) / k_blocks);  // equal blocks, no short last one
  const int64_t blocks = (kg + VW - 1) / VW, ldo = blocks * VW;
  // Small images are taken a few at a time, so a tile's worth of padding positions is spread
  // over more real ones; enough chunks are left to keep every thread busy.
  constexpr int64_t kMinPositions = 24 * P;
  const int64_t threads = get_num_threads();
  int64_t nb = std::max<int64_t>(1, (kMinPositions + positions - 1) / std::max<int64_t>(positions, 1));
  nb = std::max<int64_t>(1, std::min(nb, s.batch / (2 * threads)));
  const std::vector<int64_t> cols = position_columns(s, pad.wpp, nb, pad.size, P);
  const int64_t tiles = static_cast<int64_t>(cols.size()) / P;
  // The weight, per group, in blocks of VW output channels: packed[block][k][c], zero past kg.
  std::unique_ptr<T[]> packed = pack_channel_panels(s, w, VW);
  // Tasks: (image chunk, group) pairs, cut into tile ranges when there are fewer than threads.
  const int64_t chunks = (s.batch + nb - 1) / nb, pairs = chunks * s.groups;
  const int64_t cuts = std::min(tiles, std::max<int64_t>(1, (threads + pairs - 1) / pairs));
  parallel_for(pairs * cuts, kg * K * positions * nb / cuts, [&](int64_t begin, int64_t end) {
    std::unique_ptr<T[]> buf(new T[nb * pad.size]), acc(new T[tiles * P * ldo]());
    for (int64_t t = begin; t < end; ++t) {
      const int64_t chunk = t / cuts / s.groups, g = t / cuts % s.groups, cut = t % cuts;
      const int64_t n0 = chunk * nb, count = std::min(nb, s.batch - n0);
      // Tiles past this chunk's last image (a short last chunk) are skipped.
      const int64_t last = count * positions - 1, live = last / P + 1;
      const int64_t t0 = live * cut / cuts, t1 = live * (cut + 1) / cuts;
      for (int64_t b = 0; b < count; ++b)
        pad.fill(s, x + (n0 + b) * s.x_strides[0] + g * pad.cg * s.x_strides[1], buf.get() + b * pad.size);
      const T* a_group = packed.get() + g * blocks * K * VW;
      if (K == 0) std::fill(acc.get(), acc.get() + tiles * P * ldo, T(0));  // no input channels
      for (int64_t k0 = 0; k0 < K; k0 += kc)
        for (int64_t b = 0; b < blocks; ++b)
          for (int64_t tile = t0; tile < t1; ++tile) {
            const T* xs[P];
            for (int p = 0; p < P; ++p) xs[p] = buf.get() + cols[std::min(tile * P + p, last)];
            cv_forward_tile<T, V, P>(std::min(kc, K - k0), a_group + (b * K + k0) * VW, xs, pad.offsets.data() + k0,
                                     acc.get() + tile * P * ldo + b * VW, ldo, k0 > 0);
          }
      // Channels-last tile rows back to (K, OH, OW) per image, plus the bias.
      const int64_t q0 = t0 * P, q1 = std::min(count * positions, t1 * P);
      for (int64_t b = q0 / positions; b * positions < q1; ++b) {
        const int64_t p0 = std::max(q0 - b * positions, int64_t(0)), p1 = std::min(q1 - b * positions, positions);
        const T* src = acc.get() + b * positions * ldo;
        T* out = y + ((n0 + b) * s.out_c + g * kg) * positions;
        constexpr int64_t kBlock = 16;  // 16 tile rows stay in L1 while every channel reads them
        for (int64_t q0 = p0; q0 < p1; q0 += kBlock) {
          const int64_t q1 = std::min(p1, q0 + kBlock);
          for (int64_t k = 0; k < kg; ++k) {
            const T bk = bias ? bias[g * kg + k] : T(0);
            for (int64_t p = q0; p < q1; ++p) out[k * positions + p] = src[p * ldo + k] + bk;
          }
        }
      }
    }
  });
}

// Multiply-adds that land on real outputs, as a share of those a kernel computes.
inline double grid_efficiency(const Conv2dShape& s, int64_t wpp, int64_t tile_cols, int64_t rows, int64_t kg) {
  const int64_t grid = (s.out_h * wpp + tile_cols - 1) / tile_cols * tile_cols;
  const int64_t padded_rows = (kg + rows - 1) / rows * rows;
  return double(s.out_h * s.out_w) / double(std::max<int64_t>(grid, 1)) * double(kg) / double(padded_rows);
}

inline double channel_vector_efficiency(const Conv2dShape& s, int64_t positions_per_tile, int64_t vw, int64_t kg) {
  const int64_t positions = s.out_h * s.out_w;
  const int64_t padded = (positions + positions_per_tile - 1) / positions_per_tile * positions_per_tile;
  const int64_t padded_channels = (kg + vw - 1) / vw * vw;
  return double(positions) / double(std::max<int64_t>(padded, 1)) * double(kg) / double(padded_channels);
}

// Enough output channels for the channel-vector tile to be compute-bound (two vectors, the
// smaller tile), enough taps to amortise a tile's set-up and the final transposition, and a
// clearly better share of real work than the grid.
template <class T>
bool use_channel_vectors(const Conv2dShape& s, int64_t kg, int64_t wpp, double grid_share) {
  constexpr int W = Vec<T>::W;
  constexpr int64_t kMinTaps = 64;
  if (kg < 2 * W || s.in_c / s.groups * s.k_h * s.k_w < kMinTaps) return false;
  const int V = kg > 2 * W ? kCvWideVectors : 2;
  const int P = V == 2 ? kCvNarrowPositions : kCvPositions;
  return channel_vector_efficiency(s, P, V * W, kg) > grid_share + 0.05;
}

// The tile height that pads the fewest output channels (the taller one on a tie), or the
// channel-vector kernel where the grid wastes more.
template <class T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  constexpr int W = Vec<T>::W, NR = 2 * W;
  const int64_t kg = s.out_c / s.groups;
  const int64_t pad_tall = (kRows - kg % kRows) % kRows, pad_short = (kShortRows - kg % kShortRows) % kShortRows;
  const int rows = pad_short < pad_tall ? kShortRows : kRows;
  const int64_t wpp = padded_width(s);
  if (use_channel_vectors<T>(s, kg, wpp, grid_efficiency(s, wpp, NR, rows, kg))) {
    if (kg > 2 * W)
      return forward_channel_vectors<T, kCvWideVectors, kCvPositions>(s, x, w, bias, y);
    return forward_channel_vectors<T, 2, kCvNarrowPositions>(s, x, w, bias, y);
  }
  if (kg == 1)  // depthwise: a taller tile would be all padding
    forward_rows<T, 1>(s, x, w, bias, y);
  else if (rows == kShortRows)
    forward_rows<T, kShortRows>(s, x, w, bias, y);
  else
    forward_rows<T, kRows>(s, x, w, bias, y);
}

// ---------------------------------------------------------------- weight gradient

// gw[k, tap] = sum over images and grid columns j of gy[k, j] * buf[offsets[tap] + j]: the
// forward's sum read the other way round (junk grid columns hold a zero gradient). A register
// tile is kGradRows output channels x kGradTaps taps, each a vector accumulator over grid
// columns: per vector of columns it loads kGradRows gradient vectors and one input vector
// per tap. The vector sums live in memory across column blocks and images and are reduced
// horizontally once at the end. Small images are taken a few at a time (each its own padded
// buffer and gradient grid), so one tile runs over a few hundred columns before it stores.
constexpr int kGradRows = 4;
constexpr int kGradTaps = kWide ? 6 : 3;

// vacc (R rows ldv apart, TT vectors each) += the tile's sums over nb images of n columns;
// image b's gradient rows start at g + b*gstep (rows ldg apart), its buffer at base + b*bstep.
template <class T, int R, int TT>
inline void weight_grad_tile(int64_t nb, int64_t n, const T* __restrict g, int64_t ldg, int64_t gstep,
                             const T* __restrict base, int64_t bstep, const int64_t* __restrict offsets,
                             T* __restrict vacc, int64_t ldv) {
  using V = Vec<T>;
  constexpr int W = V::W;
  typename V::type acc[R][TT];
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < TT; ++t) acc[i][t] = V::load(vacc + i * ldv + t * W);
  for (int64_t img = 0; img < nb; ++img, g += gstep, base += bstep) {
    const T* b[TT];
    for (int t = 0; t < TT; ++t) b[t] = base + offsets[t];
    for (int64_t j = 0; j < n; j += W) {
      typename V::type gv[R];
      for (int i = 0; i < R; ++i) gv[i] = V::load(g + i * ldg + j);
      for (int t = 0; t < TT; ++t) {
        const typename V::type x = V::load(b[t] + j);
        for (int i = 0; i < R; ++i) acc[i][t] += gv[i] * x;
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < TT; ++t) V::store(vacc + i * ldv + t * W, acc[i][t]);
}

template <class T, int R>
void weight_grad_grid(const Conv2dShape& s, const T* gy, const T* x, int64_t n0, int64_t step, T* gw) {
  constexpr int W = Vec<T>::W, TT = kGradTaps;
  // Columns per block: the tile's R gradient rows (8 KiB) and TT input runs stay in L1.
  constexpr int64_t kColBlock = 8192 / (R * sizeof(T)) / W * W;
  const Padded<T> pad(s, W);
  const int64_t K = pad.K, kg = pad.kg, panels = (kg + R - 1) / R;
  const int64_t Kp = (K + TT - 1) / TT * TT;  // taps past K read offset 0 and are dropped
  const int64_t ldg = (pad.cols + W - 1) / W * W;
  // Images per pass: enough to fill a column block, no more than this call's images.
  const int64_t mine = n0 < s.batch ? (s.batch - n0 + step - 1) / step : 0;
  const int64_t nb = std::max<int64_t>(1, std::min(mine, kColBlock / std::max<int64_t>(ldg, 1)));
  const int64_t row = nb * ldg;  // a gradient grid row: nb images side by side
  std::vector<int64_t> offsets(pad.offsets);
  offsets.resize(Kp, 0);
  // Gradient rows on the grid: rows past kg, junk columns and missing images stay zero.
  std::unique_ptr<T[]> buf(new T[nb * pad.size]), grid(new T[panels * R * row]());
  std::unique_ptr<T[]> vacc(new T[s.groups * panels * R * Kp * W]());
  const int64_t positions = s.out_h * s.out_w;
  for (int64_t m0 = 0; m0 < mine; m0 += nb)
    for (int64_t g = 0; g < s.groups; ++g) {
      const int64_t count = std::min(nb, mine - m0);
      for (int64_t b = 0; b < count; ++b) {
        const int64_t n = n0 + (m0 + b) * step;
        pad.fill(s, x + n * s.x_strides[0] + g * pad.cg * s.x_strides[1], buf.get() + b * pad.size);
        const T* grad = gy + (n * s.out_c + g * kg) * positions;
        for (int64_t k = 0; k < kg; ++k)
          for (int64_t oh = 0; oh < s.out_h; ++oh)
            std::memcpy(grid.get() + k * row + b * ldg + oh * pad.wpp, grad + (k * s.out_h + oh) * s.out_w,
                        s.out_w * sizeof(T));
      }
      T* vg = vacc.get() + g * panels * R * Kp * W;
      for (int64_t j0 = 0; j0 < ldg; j0 += kColBlock) {
        const int64_t len = std::min(kColBlock, ldg - j0);
        for (int64_t pn = 0; pn < panels; ++pn)
          for (int64_t t0 = 0; t0 < Kp; t0 += TT)
            weight_grad_tile<T, R, TT>(count, len, grid.get() + pn * R * row + j0, row, ldg, buf.get() + j0, pad.size,
                                       offsets.data() + t0, vg + (pn * R * Kp + t0) * W, Kp * W);
      }
    }
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t k = 0; k < kg; ++k)
      for (int64_t t = 0; t < K; ++t) {
        const T* v = vacc.get() + ((g * panels * R + k) * Kp + t) * W;
        T sum = 0;
        for (int l = 0; l < W; ++l) sum += v[l];
        gw[(g * kg + k) * K + t] = sum;
      }
}

// acc (TT rows lda apart, V*W channels each) += sum over positions q of
// x[offsets[t] + cols[q]] * gyt[q][:] (gyt rows ldk apart).
template <class T, int V, int TT>
inline void cv_weight_grad_tile(int64_t n, const T* __restrict gyt, int64_t ldk, const T* __restrict base,
                                const int64_t* __restrict cols, const int64_t* __restrict offsets,
                                T* __restrict acc_out, int64_t lda) {
  using Vt = Vec<T>;
  constexpr int W = Vt::W;
  typename Vt::type acc[TT][V];
  for (int t = 0; t < TT; ++t)
    for (int v = 0; v < V; ++v) acc[t][v] = Vt::load(acc_out + t * lda + v * W);
  int64_t off[TT];
  for (int t = 0; t < TT; ++t) off[t] = offsets[t];
  for (int64_t q = 0; q < n; ++q) {
    typename Vt::type gv[V];
    for (int v = 0; v < V; ++v) gv[v] = Vt::load(gyt + q * ldk + v * W);
    const T* xq = base + cols[q];
    for (int t = 0; t < TT; ++t) {
      const T xv = xq[off[t]];
      for (int v = 0; v < V; ++v) acc[t][v] += xv * gv[v];
    }
  }
  for (int t = 0; t < TT; ++t)
    for (int v = 0; v < V; ++v) Vt::store(acc_out + t * lda + v * W, acc[t][v]);
}

// dst[p * ldd + k] = src[k * cols + p] for k < rows, p < cols, in blocks of 16 columns so the
// destination rows being written stay in L1 (column by column, every store hit a new line).
template <class T>
void transpose_block_rows(int64_t rows, int64_t cols, const T* src, T* dst, int64_t ldd) {
  constexpr int64_t kBlock = 16;
  for (int64_t p0 = 0; p0 < cols; p0 += kBlock) {
    const int64_t p1 = std::min(cols, p0 + kBlock);
    for (int64_t k = 0; k < rows; ++k)
      for (int64_t p = p0; p < p1; ++p) dst[p * ldd + k] = src[k * cols + p];
  }
}

// The channel-vector weight gradient (see the channel-vector kernels above): images n0,
// n0 + step, ... a few at a time (each its padded buffer, and the output gradient transposed to
// (positions, channels)), so the sums (taps x channels, in memory between tile calls) are
// loaded and stored once per few hundred positions; blocks of positions whose gradient rows
// stay in L1 run through every tap tile. Written to gw (overwritten) at the end.
template <class T, int V, int TT>
void weight_grad_channel_vectors(const Conv2dShape& s, const T* gy, const T* x, int64_t n0, int64_t step, T* gw) {
  constexpr int VW = V * Vec<T>::W;
  const Padded<T> pad(s, 0);
  const int64_t K = pad.K, kg = pad.kg, positions = s.out_h * s.out_w;
  const int64_t blocks = (kg + VW - 1) / VW, ldk = blocks * VW;
  const int64_t Kp = (K + TT - 1) / TT * TT;  // taps past K read offset 0 and are dropped
  // Positions per block: a block's gradient rows of one channel block (VW each) stay in L1.
  const int64_t pos_block = 16384 / (VW * static_cast<int64_t>(sizeof(T)));
  constexpr int64_t kMinPositions = 512;
  const int64_t mine = n0 < s.batch ? (s.batch - n0 + step - 1) / step : 0;
  const int64_t nb = std::max<int64_t>(1, std::min(mine, kMinPositions / std::max<int64_t>(positions, 1)));
  std::vector<int64_t> offsets(pad.offsets);
  offsets.resize(Kp, 0);
  const std::vector<int64_t> cols = position_columns(s, pad.wpp, nb, pad.size, 1);
  std::unique_ptr<T[]> buf(new T[nb * pad.size]), gyt(new T[nb * positions * ldk]());  // channels past kg stay zero
  std::unique_ptr<T[]> acc(new T[s.groups * blocks * Kp * VW]());
  for (int64_t m0 = 0; m0 < mine; m0 += nb)
    for (int64_t g = 0; g < s.groups; ++g) {
      const int64_t count = std::min(nb, mine - m0), total = count * positions;
      for (int64_t b = 0; b < count; ++b) {
        const int64_t n = n0 + (m0 + b) * step;
        pad.fill(s, x + n * s.x_strides[0] + g * pad.cg * s.x_strides[1], buf.get() + b * pad.size);
        transpose_block_rows(kg, positions, gy + (n * s.out_c + g * kg) * positions, gyt.get() + b * positions * ldk,
                             ldk);
      }
      for (int64_t q0 = 0; q0 < total; q0 += pos_block)
        for (int64_t blk = 0; blk < blocks; ++blk)
          for (int64_t t0 = 0; t0 < Kp; t0 += TT)
            cv_weight_grad_tile<T, V, TT>(std::min(pos_block, total - q0), gyt.get() + q0 * ldk + blk * VW, ldk,
                                          buf.get(), cols.data() + q0, offsets.data() + t0,
                                          acc.get() + ((g * blocks + blk) * Kp + t0) * VW, VW);
    }
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t k = 0; k < kg; ++k)
      for (int64_t t = 0; t < K; ++t)
        gw[(g * kg + k) * K + t] = acc[((g * blocks + k / VW) * Kp + t) * VW + k % VW];
}

// The channel-vector kernel where the output channels fill its vectors and the grid would
// waste work (the forward's rule); the grid kernel otherwise.
template <class T>
void weight_grad(const Conv2dShape& s, const T* gy, const T* x, int64_t n0, int64_t step, T* gw) {
  constexpr int W = Vec<T>::W;
  const int64_t kg = s.out_c / s.groups;
  const int64_t wpp = padded_width(s);
  if (use_channel_vectors<T>(s, kg, wpp, grid_efficiency(s, wpp, W, kGradRows, kg))) {
    if (kg > 2 * W) return weight_grad_channel_vectors<T, kCvWideVectors, kCvTaps>(s, gy, x, n0, step, gw);
    return weight_grad_channel_vectors<T, 2, kCvTaps>(s, gy, x, n0, step, gw);
  }
  if (kg == 1)  // depthwise: one output channel per group, a one-row tile
    return weight_grad_grid<T, 1>(s, gy, x, n0, step, gw);
  weight_grad_grid<T, kGradRows>(s, gy, x, n0, step, gw);
}

}  // namespace

void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  forward(s, x, w, bias, y);
}
void conv2d_forward_direct(const Conv2dShape& s, const double* x, const double* w, const double* bias, double* y) {
  forward(s, x, w, bias, y);
}

void conv2d_backward_weight_direct(const Conv2dShape& s, const float* gy, const float* x, int64_t n0, int64_t step,
                                   float* gw) {
  weight_grad(s, gy, x, n0, step, gw);
}
void conv2d_backward_weight_direct(const Conv2dShape& s, const double* gy, const double* x, int64_t n0, int64_t step,
                                   double* gw) {
  weight_grad(s, gy, x, n0, step, gw);
}

}  // namespace pe::cpu::PE_ISA_NS
