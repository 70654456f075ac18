// Convolutions (conv2d forward, input gradient, weight gradient, bias gradient) as implicit
// GEMMs: the patch matrix is never built in memory; each tile of it is gathered straight from
// the image into shared memory.
//
// Every product has the same shape, out (M x cols) = A (M x R) @ B (R x cols), per group g:
//
//   forward       M = K/g out channels  cols = (n, oh, ow)  R = (c, kh, kw)  A = w     B = x patches
//   input grad    M = C/g in channels   cols = (n, ih, iw)  R = (k, kh, kw)  A = w^T   B = gy gathered
//   weight grad   M = K/g out channels  cols = (c, kh, kw)  R = (n, oh, ow)  A = gy    B = x patches^T
//
// One kernel, implicit_gemm<Problem>, runs all three: a block of 16x16 threads owns a 64x64
// tile of `out`, each thread a 4x4 register micro-tile (rows ty + 16i, columns tx + 16j, so a
// warp's stores and shared reads are consecutive). R is walked 16 at a time: the block stages a
// 64x16 slice of A and a 16x64 slice of B in shared memory (padded rows: no bank conflicts),
// the next slice already on its way to registers while the current one is multiplied. Each
// Problem says how a thread fetches its 4 A and 4 B elements. Every thread keeps the
// coordinates of the rows it loads as mixed-radix digits (c, kh, kw) / (n, oh, ow) advanced by
// 16 per step with carries, so the loop has no divisions; which thread loads what is chosen
// so that consecutive threads read consecutive addresses (coalesced) where the layout allows:
// consecutive output pixels for patches and gathered gradients, consecutive taps for weights,
// consecutive positions for gy.
//
// The input gradient gathers, for each input pixel, the output pixels whose windows cover it
// (stride-divisibility tested per element): no scatter, no atomics. A tap that reaches no output
// pixel is gathered as 0, which then multiplies the weight: 0 * inf = NaN where PyTorch (col2im)
// forms no product at all. So a weight with a non-finite value (one device reduction tells) runs
// the masked instance, which skips those products; a finite weight keeps the plain loop, whose
// zeros change nothing. (The forward's zeros are the padding's, real operands: 0 * inf = NaN
// there, as in PyTorch's reference kernels.)
//
// The weight gradient reduces over N*OH*OW; when that is long against few output tiles, it is
// split into slices (a count fixed by the shape) whose partial results are summed in slice
// order by a second kernel: deterministic, no atomics anywhere.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cmath>
#include <string>
#include <vector>

#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "ops/conv.h"

namespace pe::cuda {
namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int kThreadsX = 16, kThreadsY = 16, kThreads = kThreadsX * kThreadsY;
constexpr int kMicro = kTileM / kThreadsY;  // 4x4 outputs per thread; also loads per thread per tile
static_assert(kTileM * kTileK == kMicro * kThreads && kTileN * kTileK == kMicro * kThreads, "4 loads per thread");

// A mixed-radix index (hi, mid, lo), lo fastest, with the radices of mid and lo given at each
// call. advance() adds a step that was split the same way; the step's mid and lo digits are
// below their radices, so one carry per digit suffices.
struct Digits {
  int64_t hi;
  int mid, lo;
};

__host__ __device__ __forceinline__ Digits split(int64_t v, int mid_n, int lo_n) {
  if (mid_n <= 0 || lo_n <= 0) return {0, 0, 0};  // an empty reduction: never advanced, never read
  const int64_t hi_n = int64_t(mid_n) * lo_n, rest = v % hi_n;
  return {v / hi_n, int(rest / lo_n), int(rest % lo_n)};
}

__device__ __forceinline__ void advance(Digits& d, const Digits& step, int mid_n, int lo_n) {
  d.lo += step.lo;
  const int carry_lo = d.lo >= lo_n;
  d.lo -= carry_lo * lo_n;
  d.mid += step.mid + carry_lo;
  const int carry_mid = d.mid >= mid_n;
  d.mid -= carry_mid * mid_n;
  d.hi += step.hi + carry_mid;
}

// The convolution's geometry for the kernels. Spatial sizes, taps and per-group channel counts
// are ints (the launcher checks they fit with room for sums of two); element counts and
// offsets are int64.
struct Geometry {
  int64_t batch;
  int groups, cg, kg;  // channels per group: input, output
  int in_h, in_w, out_h, out_w, k_h, k_w;
  int stride_h, stride_w, pad_top, pad_left, dil_h, dil_w;
  int64_t xs[4];  // element strides of x (N, C, H, W)
  __host__ __device__ int64_t in_c() const { return int64_t(cg) * groups; }
  __host__ __device__ int64_t out_c() const { return int64_t(kg) * groups; }
};

// Fields shared by the three problems: the product's sizes, and the reduction range one block
// covers (slice `s` of the weight gradient's split reduction: [s * slice_len, ...)).
struct GemmSizes {
  int64_t m, cols, r;  // out is (m x cols) per group, reduced over r
  int64_t slice_len;   // multiple of kTileK; >= r when not split
  int slices;
};

// ---------------------------------------------------------------- forward: y = w @ patches(x)
template <class T_>
struct Forward {
  using T = T_;
  static constexpr bool kBKFast = false;  // B tile loaded with consecutive threads on columns
  static constexpr bool kMasked = false;  // every zero it gathers is the padding's (a real operand)
  Geometry geo;
  GemmSizes sz;
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  Digits tap_step;  // kTileK taps as (c, kh, kw)
  // per-thread state
  const T* a_row[kMicro];
  bool a_ok[kMicro];
  int a_r;
  const T* b_img;
  int b_ih0, b_iw0;
  bool b_ok;
  Digits b_tap[kMicro];

  __device__ void start(int g, int64_t m0, int64_t n0, int64_t k0, int tid) {
    for (int i = 0; i < kMicro; ++i) {
      const int64_t m = m0 + tid / kTileK + i * (kThreads / kTileK);
      a_ok[i] = m < sz.m;
      a_row[i] = w + (int64_t(g) * geo.kg + (a_ok[i] ? m : 0)) * sz.r;
    }
    a_r = int(k0) + tid % kTileK;
    const int64_t col = n0 + tid % kTileN, plane = int64_t(geo.out_h) * geo.out_w;
    b_ok = col < sz.cols;
    const int64_t n = b_ok ? col / plane : 0, p = b_ok ? col % plane : 0;
    b_img = x + n * geo.xs[0] + int64_t(g) * geo.cg * geo.xs[1];
    b_ih0 = int(p / geo.out_w) * geo.stride_h - geo.pad_top;
    b_iw0 = int(p % geo.out_w) * geo.stride_w - geo.pad_left;
    for (int i = 0; i < kMicro; ++i) b_tap[i] = split(k0 + tid / kTileN + i * (kThreads / kTileN), geo.k_h, geo.k_w);
  }

  __device__ void fetch(T (&a)[kMicro], T (&b)[kMicro]) {
    for (int i = 0; i < kMicro; ++i) a[i] = a_ok[i] && a_r < sz.r ? a_row[i][a_r] : T(0);
    a_r += kTileK;
    for (int i = 0; i < kMicro; ++i) {
      const Digits& t = b_tap[i];
      const int ih = b_ih0 + t.mid * geo.dil_h, iw = b_iw0 + t.lo * geo.dil_w;
      const bool ok = b_ok && t.hi < geo.cg && ih >= 0 && ih < geo.in_h && iw >= 0 && iw < geo.in_w;
      b[i] = ok ? b_img[t.hi * geo.xs[1] + ih * geo.xs[2] + iw * geo.xs[3]] : T(0);
      advance(b_tap[i], tap_step, geo.k_h, geo.k_w);
    }
  }

  __device__ void store(int g, int64_t m, int64_t col, int, T v) const {
    const int64_t plane = int64_t(geo.out_h) * geo.out_w, n = col / plane, p = col % plane;
    const int64_t k = int64_t(g) * geo.kg + m;
    y[(n * geo.out_c() + k) * plane + p] = bias ? v + bias[k] : v;
  }
};

// ---------------------------------------------------------------- input gradient: gx = w^T @ gather(gy)
// Masked_: fetch also says which B elements are real (b_live), and the GEMM loop skips the
// products of the others instead of multiplying their zeros (see the top of the file).
template <class T_, bool Masked_>
struct InputGrad {
  using T = T_;
  static constexpr bool kBKFast = false;
  static constexpr bool kMasked = Masked_;
  Geometry geo;
  GemmSizes sz;
  const T* gy;
  const T* w;
  const T* bias;  // (C,) or null
  T* gx;
  Digits tap_step;  // kTileK taps as (k, kh, kw)
  int taps;         // kH * kW
  // per-thread state
  const T* a_col[kMicro];  // w[g*kg + k][c][...] for this thread's channels c, at k = 0
  bool a_ok[kMicro];
  int a_k, a_t;            // this thread's A tap as (k, kh*kW + kw)
  int a_k_step, a_t_step;  // kTileK taps as (k, t)
  const T* b_img;          // gy[n, g*kg]
  int b_h, b_w;            // ih + pad_top, iw + pad_left
  bool b_ok;
  Digits b_tap[kMicro];
  bool b_live[kMicro];  // Masked_: whether b[i] of the last fetch is a real tap

  __device__ void start(int g, int64_t m0, int64_t n0, int64_t k0, int tid) {
    const int64_t wk = int64_t(geo.cg) * taps;  // one output channel of w
    for (int i = 0; i < kMicro; ++i) {
      const int64_t c = m0 + tid / kTileK + i * (kThreads / kTileK);
      a_ok[i] = c < sz.m;
      a_col[i] = w + int64_t(g) * geo.kg * wk + (a_ok[i] ? c : 0) * taps;
    }
    const int64_t r = k0 + tid % kTileK;
    a_k = int(r / taps), a_t = int(r % taps);
    a_k_step = kTileK / taps, a_t_step = kTileK % taps;
    const int64_t col = n0 + tid % kTileN, plane = int64_t(geo.in_h) * geo.in_w;
    b_ok = col < sz.cols;
    const int64_t n = b_ok ? col / plane : 0, p = b_ok ? col % plane : 0;
    const int64_t out_plane = int64_t(geo.out_h) * geo.out_w;
    b_img = gy + (n * geo.out_c() + int64_t(g) * geo.kg) * out_plane;
    b_h = int(p / geo.in_w) + geo.pad_top;
    b_w = int(p % geo.in_w) + geo.pad_left;
    for (int i = 0; i < kMicro; ++i) b_tap[i] = split(k0 + tid / kTileN + i * (kThreads / kTileN), geo.k_h, geo.k_w);
  }

  __device__ void fetch(T (&a)[kMicro], T (&b)[kMicro]) {
    const int64_t wk = int64_t(geo.cg) * taps;
    for (int i = 0; i < kMicro; ++i) a[i] = a_ok[i] && a_k < geo.kg ? a_col[i][a_k * wk + a_t] : T(0);
    a_t += a_t_step;
    const int carry = a_t >= taps;
    a_t -= carry * taps;
    a_k += a_k_step + carry;
    const int64_t out_plane = int64_t(geo.out_h) * geo.out_w;
    for (int i = 0; i < kMicro; ++i) {
      const Digits& t = b_tap[i];
      // Output pixel (oh, ow) reads this input pixel through tap (kh, kw) when
      // oh*stride_h + kh*dil_h == ih + pad_top (likewise w).
      const int dh = b_h - t.mid * geo.dil_h, dw = b_w - t.lo * geo.dil_w;
      const int oh = dh / geo.stride_h, ow = dw / geo.stride_w;
      const bool ok = b_ok && t.hi < geo.kg && dh >= 0 && dw >= 0 && oh * geo.stride_h == dh &&
                      ow * geo.stride_w == dw && oh < geo.out_h && ow < geo.out_w;
      b[i] = ok ? b_img[t.hi * out_plane + int64_t(oh) * geo.out_w + ow] : T(0);
      b_live[i] = ok;
      advance(b_tap[i], tap_step, geo.k_h, geo.k_w);
    }
  }

  __device__ void store(int g, int64_t m, int64_t col, int, T v) const {
    const int64_t plane = int64_t(geo.in_h) * geo.in_w, n = col / plane, p = col % plane;
    const int64_t c = int64_t(g) * geo.cg + m;
    gx[(n * geo.in_c() + c) * plane + p] = bias ? v + bias[c] : v;
  }
};

// ---------------------------------------------------------------- weight gradient: gw = gy @ patches(x)^T
template <class T_>
struct WeightGrad {
  using T = T_;
  static constexpr bool kBKFast = true;  // B tile loaded with consecutive threads on positions
  static constexpr bool kMasked = false;
  Geometry geo;
  GemmSizes sz;
  const T* gy;
  const T* x;
  T* out;           // gw, or slices x |gw| partial results
  Digits pos_step;  // kTileK positions as (n, oh, ow)
  // per-thread state: one position (n, oh, ow) shared by this thread's A and B loads
  Digits pos;
  const T* a_chan[kMicro];  // gy[0, g*kg + k] for this thread's output channels k
  bool a_ok[kMicro];
  int64_t b_off[kMicro];  // x offset of this thread's taps (c, kh, kw), within an image
  int b_dh[kMicro], b_dw[kMicro];
  bool b_ok[kMicro];

  __device__ void start(int g, int64_t m0, int64_t n0, int64_t k0, int tid) {
    const int64_t plane = int64_t(geo.out_h) * geo.out_w;
    for (int i = 0; i < kMicro; ++i) {
      const int64_t k = m0 + tid / kTileK + i * (kThreads / kTileK);
      a_ok[i] = k < sz.m;
      a_chan[i] = gy + (int64_t(g) * geo.kg + (a_ok[i] ? k : 0)) * plane;
      const int64_t r = n0 + tid / kTileK + i * (kThreads / kTileK);
      b_ok[i] = r < sz.cols;
      const Digits t = split(b_ok[i] ? r : 0, geo.k_h, geo.k_w);
      b_dh[i] = t.mid * geo.dil_h - geo.pad_top;
      b_dw[i] = t.lo * geo.dil_w - geo.pad_left;
      b_off[i] = (int64_t(g) * geo.cg + t.hi) * geo.xs[1];
    }
    pos = split(k0 + tid % kTileK, geo.out_h, geo.out_w);
  }

  __device__ void fetch(T (&a)[kMicro], T (&b)[kMicro]) {
    const bool live = pos.hi < geo.batch;
    const int64_t plane = int64_t(geo.out_h) * geo.out_w;
    const int64_t a_off = pos.hi * geo.out_c() * plane + int64_t(pos.mid) * geo.out_w + pos.lo;
    for (int i = 0; i < kMicro; ++i) a[i] = live && a_ok[i] ? a_chan[i][a_off] : T(0);
    const int ih0 = pos.mid * geo.stride_h, iw0 = pos.lo * geo.stride_w;
    const T* img = x + (live ? pos.hi : 0) * geo.xs[0];
    for (int i = 0; i < kMicro; ++i) {
      const int ih = ih0 + b_dh[i], iw = iw0 + b_dw[i];
      const bool ok = live && b_ok[i] && ih >= 0 && ih < geo.in_h && iw >= 0 && iw < geo.in_w;
      b[i] = ok ? img[b_off[i] + ih * geo.xs[2] + iw * geo.xs[3]] : T(0);
    }
    advance(pos, pos_step, geo.out_h, geo.out_w);
  }

  __device__ void store(int g, int64_t m, int64_t col, int slice, T v) const {
    const int64_t size = geo.out_c() * sz.cols;
    out[slice * size + (int64_t(g) * geo.kg + m) * sz.cols + col] = v;
  }
};

// ---------------------------------------------------------------- the shared GEMM loop
template <class P>
__global__ void __launch_bounds__(kThreads) implicit_gemm(P p) {
  using T = typename P::T;
  static_assert(!P::kMasked || !P::kBKFast, "b_mask is laid out like a column-fast b_tile");
  __shared__ T a_tile[kTileK][kTileM + 1];  // k-major; +1: the loads' column writes hit distinct banks
  __shared__ T b_tile[kTileK][kTileN + 1];
  __shared__ bool b_mask[P::kMasked ? kTileK : 1][P::kMasked ? kTileN : 1];  // P::kMasked: b_tile's real taps
  const int tid = threadIdx.x, tx = tid % kThreadsX, ty = tid / kThreadsX;
  const int64_t tiles_m = (p.sz.m + kTileM - 1) / kTileM, planes = int64_t(p.geo.groups) * p.sz.slices;
  for (int64_t z = blockIdx.z; z < planes; z += gridDim.z) {
    const int g = int(z % p.geo.groups), slice = int(z / p.geo.groups);
    const int64_t k_begin = slice * p.sz.slice_len;
    const int64_t k_end = k_begin + p.sz.slice_len < p.sz.r ? k_begin + p.sz.slice_len : p.sz.r;
    for (int64_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
      const int64_t m0 = tm * kTileM, n0 = int64_t(blockIdx.x) * kTileN;
      P st = p;
      st.start(g, m0, n0, k_begin, tid);
      T acc[kMicro][kMicro] = {};
      T a[kMicro], b[kMicro];
      if (k_begin < k_end) st.fetch(a, b);
      for (int64_t k0 = k_begin; k0 < k_end; k0 += kTileK) {
        for (int i = 0; i < kMicro; ++i) {
          a_tile[tid % kTileK][tid / kTileK + i * (kThreads / kTileK)] = a[i];
          if (P::kBKFast)
            b_tile[tid % kTileK][tid / kTileK + i * (kThreads / kTileK)] = b[i];
          else
            b_tile[tid / kTileN + i * (kThreads / kTileN)][tid % kTileN] = b[i];
          if constexpr (P::kMasked) b_mask[tid / kTileN + i * (kThreads / kTileN)][tid % kTileN] = st.b_live[i];
        }
        __syncthreads();
        if (k0 + kTileK < k_end) st.fetch(a, b);  // the next slice loads while this one computes
        for (int kk = 0; kk < kTileK; ++kk) {
          T av[kMicro], bv[kMicro];
          for (int i = 0; i < kMicro; ++i) av[i] = a_tile[kk][ty + i * kThreadsY];
          for (int j = 0; j < kMicro; ++j) bv[j] = b_tile[kk][tx + j * kThreadsX];
          if constexpr (P::kMasked) {  // no product for a missing tap, whatever the weight
            bool live[kMicro];
            for (int j = 0; j < kMicro; ++j) live[j] = b_mask[kk][tx + j * kThreadsX];
            for (int i = 0; i < kMicro; ++i)
              for (int j = 0; j < kMicro; ++j)
                if (live[j]) acc[i][j] += av[i] * bv[j];
          } else {
            for (int i = 0; i < kMicro; ++i)
              for (int j = 0; j < kMicro; ++j) acc[i][j] += av[i] * bv[j];
          }
        }
        __syncthreads();  // the tiles are overwritten by the next step
      }
      for (int i = 0; i < kMicro; ++i)
        for (int j = 0; j < kMicro; ++j) {
          const int64_t m = m0 + ty + i * kThreadsY, col = n0 + tx + j * kThreadsX;
          if (m < p.sz.m && col < p.sz.cols) st.store(g, m, col, slice, acc[i][j]);
        }
    }
  }
}

// out[i] = the sum of the `slices` partial results part[s * size + i], in slice order.
template <class T>
__global__ void sum_slices(const T* part, int slices, int64_t size, T* out) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < size; i += int64_t(gridDim.x) * blockDim.x) {
    T s = part[i];
    for (int k = 1; k < slices; ++k) s += part[k * size + i];
    out[i] = s;
  }
}

// out[ch] = the sum over n and p of in[n, ch, p]: one block per channel (grid-stride), summed
// in double per thread, then warp shuffles and one partial per warp. Fixed order: deterministic.
template <class T>
__global__ void __launch_bounds__(kThreads) channel_sum(const T* in, int64_t n, int64_t c, int64_t p, T* out) {
  __shared__ double partial[kThreads / 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    double s = 0;
    for (int64_t i = threadIdx.x; i < n * p; i += kThreads) {
      const int64_t img = i / p;
      s += double(in[(img * c + ch) * p + (i - img * p)]);
    }
    for (int d = 16; d > 0; d /= 2) s += __shfl_down_sync(0xffffffffu, s, d);
    if (lane == 0) partial[warp] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
      double total = 0;
      for (int k = 0; k < kThreads / 32; ++k) total += partial[k];
      out[ch] = T(total);
    }
    __syncthreads();  // `partial` is reused by the next channel
  }
}

// *flag becomes non-zero when some v[i] (i < n) is not finite; left as it is otherwise. Each
// thread that saw one adds 1 atomically: plain stores of the same value from many threads would
// be a data race (harmless on a GPU, undefined in C++, and TSan runs these kernels on host threads).
template <class T>
__global__ void flag_non_finite(const T* v, int64_t n, int* flag) {
  bool finite = true;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    finite &= std::isfinite(v[i]);
  if (!finite) atomicAdd(flag, 1);
}

// ---------------------------------------------------------------- launchers

// Sizes of the convolution the kernels run, narrowed to int, each named as the user's op names
// it (ops::ConvCall): the kernels run a transposed conv's adjoint, whose input is that op's
// output, and a 1-D op's width is its length.
struct Narrow {
  const ops::ConvCall& call;
  std::string side(bool conv_input) const { return conv_input != call.transposed ? "input" : "output"; }
  std::string axis(bool height) const { return height ? "height" : call.one_d ? "length" : "width"; }
  int operator()(int64_t v, const std::string& what) const {
    // Room for the sum of two such values in an int (coordinates plus tap offsets).
    constexpr int64_t kMax = int64_t(1) << 29;
    if (v < 0 || v > kMax)
      throw RuntimeError(call.name + " on CUDA: " + what + " = " + std::to_string(v) +
                         " is too large for the CUDA kernels (at most 2**29)");
    return int(v);
  }
};

Geometry geometry(const ops::Conv2dArgs& a) {
  const ops::Conv2dShape& s = a.shape;
  const Narrow narrow{a.call};
  const std::string in = narrow.side(true), out = narrow.side(false), h = narrow.axis(true), w = narrow.axis(false);
  Geometry g{};
  g.batch = s.batch;
  g.groups = narrow(s.groups, "groups");
  g.cg = narrow(s.in_c / s.groups, in + " channels per group");
  g.kg = narrow(s.out_c / s.groups, out + " channels per group");
  g.in_h = narrow(s.in_h, in + " " + h), g.in_w = narrow(s.in_w, in + " " + w);
  g.out_h = narrow(s.out_h, out + " " + h), g.out_w = narrow(s.out_w, out + " " + w);
  g.k_h = narrow(s.k_h, "kernel " + h), g.k_w = narrow(s.k_w, "kernel " + w);
  g.stride_h = narrow(s.stride_h, "stride"), g.stride_w = narrow(s.stride_w, "stride");
  g.pad_top = narrow(s.pad_top, "padding"), g.pad_left = narrow(s.pad_left, "padding");
  g.dil_h = narrow(s.dil_h, "dilation"), g.dil_w = narrow(s.dil_w, "dilation");
  narrow(s.out_h * s.stride_h, out + " " + h + " x stride"), narrow(s.out_w * s.stride_w, out + " " + w + " x stride");
  narrow(s.k_h * s.dil_h, "kernel " + h + " x dilation"), narrow(s.k_w * s.dil_w, "kernel " + w + " x dilation");
  narrow(s.in_h + s.pad_top, in + " " + h + " + padding"), narrow(s.in_w + s.pad_left, in + " " + w + " + padding");
  for (int d = 0; d < 4; ++d) g.xs[d] = s.x_strides[d];
  return g;
}

// Launches implicit_gemm for problem `p` (its sizes set): one block per 64x64 output tile per
// group and slice.
template <class P>
void launch(const P& p, const ops::ConvCall& call) {
  const int64_t tiles_n = (p.sz.cols + kTileN - 1) / kTileN, tiles_m = (p.sz.m + kTileM - 1) / kTileM;
  const int64_t planes = int64_t(p.geo.groups) * p.sz.slices;
  if (tiles_n == 0 || tiles_m == 0) return;
  if (tiles_n > INT_MAX) throw RuntimeError(call.name + " on CUDA: too many output columns for one launch");
  const dim3 grid(unsigned(tiles_n), unsigned(tiles_m < 65535 ? tiles_m : 65535), unsigned(planes < 65535 ? planes : 65535));
  auto* kernel = &implicit_gemm<P>;
  PE_LAUNCH(kernel, grid, dim3(kThreads), 0, p);
}

Digits tile_step(int mid_n, int lo_n) { return split(kTileK, mid_n, lo_n); }

template <class T>
void forward(const ops::Conv2dArgs& a) {
  Forward<T> p{};
  p.geo = geometry(a);
  const Narrow narrow{a.call};
  p.sz = {p.geo.kg, a.shape.batch * p.geo.out_h * p.geo.out_w,
          narrow(int64_t(p.geo.cg) * p.geo.k_h * p.geo.k_w, "channels per group x kernel size"), 0, 1};
  p.sz.slice_len = p.sz.r;
  p.x = static_cast<const T*>(a.x), p.w = static_cast<const T*>(a.w), p.bias = static_cast<const T*>(a.bias);
  p.y = static_cast<T*>(a.out);
  p.tap_step = tile_step(p.geo.k_h, p.geo.k_w);
  launch(p, a.call);
}

// Whether the n values at device pointer v are all finite: one grid-stride pass, one int back.
template <class T>
bool all_finite(const T* v, int64_t n) {
  if (n == 0) return true;
  DeviceBuffer flag = DeviceBuffer::upload(std::vector<int>{0});
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  PE_LAUNCH(flag_non_finite<T>, dim3(unsigned(blocks)), dim3(kThreads), 0, v, n, flag.as<int>());
  int bad = 0;
  cuda_hooks().copy_to_host(&bad, flag.get(), sizeof(int), current_cuda_device());
  return bad == 0;
}

template <class T, bool Masked>
void input_grad(const ops::Conv2dArgs& a) {
  InputGrad<T, Masked> p{};
  p.geo = geometry(a);
  const Narrow narrow{a.call};
  const int taps = narrow(int64_t(p.geo.k_h) * p.geo.k_w, "kernel size");
  p.taps = std::max(taps, 1);  // a divisor; with no taps nothing is read
  p.sz = {p.geo.cg, a.shape.batch * p.geo.in_h * p.geo.in_w,
          narrow(int64_t(p.geo.kg) * taps, "channels per group x kernel size"), 0, 1};
  p.sz.slice_len = p.sz.r;
  p.gy = static_cast<const T*>(a.gy), p.w = static_cast<const T*>(a.w), p.bias = static_cast<const T*>(a.bias);
  p.gx = static_cast<T*>(a.out);
  p.tap_step = tile_step(p.geo.k_h, p.geo.k_w);
  launch(p, a.call);
}

template <class T>
void weight_grad(const ops::Conv2dArgs& a) {
  WeightGrad<T> p{};
  p.geo = geometry(a);
  const Narrow narrow{a.call};
  const int64_t positions = a.shape.batch * p.geo.out_h * p.geo.out_w;
  p.sz = {p.geo.kg, narrow(int64_t(p.geo.cg) * p.geo.k_h * p.geo.k_w, "channels per group x kernel size"), positions, 0, 1};
  // Split the reduction while the output tiles alone leave the GPU idle: about kTargetBlocks
  // blocks, each reducing at least kMinSteps tiles of positions. The split depends on the
  // shape only, so the order of additions, and the result, are fixed.
  constexpr int64_t kTargetBlocks = 256, kMinSteps = 8, kMaxSlices = 64;
  const int64_t out_blocks =
      ((p.sz.m + kTileM - 1) / kTileM) * ((p.sz.cols + kTileN - 1) / kTileN) * p.geo.groups;
  const int64_t steps = (positions + kTileK - 1) / kTileK;
  int64_t slices = (kTargetBlocks + out_blocks - 1) / out_blocks;
  slices = std::max<int64_t>(1, std::min({slices, steps / kMinSteps, kMaxSlices}));
  p.sz.slice_len = std::max<int64_t>(1, (steps + slices - 1) / slices) * kTileK;
  p.sz.slices = int(std::max<int64_t>(1, (positions + p.sz.slice_len - 1) / p.sz.slice_len));
  p.gy = static_cast<const T*>(a.gy), p.x = static_cast<const T*>(a.x);
  p.pos_step = tile_step(p.geo.out_h, p.geo.out_w);
  const int64_t size = p.geo.out_c() * p.sz.cols;
  DeviceBuffer partial;
  if (p.sz.slices > 1) partial = DeviceBuffer(int64_t(p.sz.slices) * size * int64_t(sizeof(T)));
  p.out = p.sz.slices > 1 ? partial.as<T>() : static_cast<T*>(a.out);
  launch(p, a.call);
  if (p.sz.slices > 1) {
    const int64_t blocks = std::min<int64_t>((size + kThreads - 1) / kThreads, 4096);
    PE_LAUNCH(sum_slices<T>, dim3(unsigned(blocks)), dim3(kThreads), 0, partial.as<T>(), p.sz.slices, size,
              static_cast<T*>(a.out));
  }
}

template <class T>
void bias_grad(const ops::ChannelSumArgs& a) {
  const int64_t blocks = std::min<int64_t>(a.c, 65535);
  PE_LAUNCH(channel_sum<T>, dim3(unsigned(blocks)), dim3(kThreads), 0, static_cast<const T*>(a.in), a.n, a.c, a.p,
            static_cast<T*>(a.out));
}

void forward_slot(const ops::Conv2dArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "conv2d", [&] { forward<scalar_t>(a); });
}
void input_grad_slot(const ops::Conv2dArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "conv2d input gradient", [&] {
    const ops::Conv2dShape& s = a.shape;
    const bool finite = all_finite(static_cast<const scalar_t*>(a.w), s.out_c * (s.in_c / s.groups) * s.k_h * s.k_w);
    finite ? input_grad<scalar_t, false>(a) : input_grad<scalar_t, true>(a);
  });
}
void weight_grad_slot(const ops::Conv2dArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "conv2d weight gradient", [&] { weight_grad<scalar_t>(a); });
}
void bias_grad_slot(const ops::ChannelSumArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "conv bias gradient", [&] { bias_grad<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::conv2d_forward_kernel, forward_slot);
PE_REGISTER_CUDA_KERNEL(ops::conv2d_input_grad_kernel, input_grad_slot);
PE_REGISTER_CUDA_KERNEL(ops::conv2d_weight_grad_kernel, weight_grad_slot);
PE_REGISTER_CUDA_KERNEL(ops::conv_bias_grad_kernel, bias_grad_slot);

}  // namespace pe::cuda
