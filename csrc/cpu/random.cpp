#include "cpu/random.h"

#include <cmath>

#include "core/parallel.h"
#include "math/philox.h"

namespace pe::cpu {

namespace {

// Elements one Philox block (four 32-bit words) yields. float64 and randint take two words
// per element; Box-Muller turns each pair of words into two normals.
int elements_per_block(Dist dist, DType dtype) {
  if (dist == Dist::Randint) return 2;
  if (dist == Dist::Bernoulli) return 4;
  return dtype == DType::Float64 ? 2 : 4;
}

// emit(block, dst, count): write `count` (<= E) elements made from one block.
template <class T, class Emit>
void fill_blocks(const Tensor& out, Dist dist, uint64_t seed, uint64_t offset, Emit emit) {
  T* data = out.data<T>();
  const int64_t n = out.numel();
  const int64_t per = elements_per_block(dist, out.dtype());
  const int64_t blocks = (n + per - 1) / per;
  parallel_for(blocks, 16 * per, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const philox::Block blk = philox::block(seed, offset + static_cast<uint64_t>(b));
      emit(blk, data + b * per, static_cast<int>(std::min<int64_t>(per, n - b * per)));
    }
  });
}

constexpr double kTwoPi = 6.283185307179586476925286766559;

// Box-Muller: two independent uniforms give two independent standard normals.
inline void box_muller(double u_radius, double u_angle, double& z0, double& z1) {
  const double r = std::sqrt(-2.0 * std::log(u_radius));  // u_radius in (0, 1]
  z0 = r * std::cos(kTwoPi * u_angle);
  z1 = r * std::sin(kTwoPi * u_angle);
}

}  // namespace

int64_t philox_blocks(Dist dist, DType dtype, int64_t n) {
  const int64_t per = elements_per_block(dist, dtype);
  return (n + per - 1) / per;
}

void fill_uniform(const Tensor& out, double low, double high, uint64_t seed, uint64_t offset) {
  const double span = high - low;
  if (out.dtype() == DType::Float32) {
    fill_blocks<float>(out, Dist::Uniform, seed, offset, [=](const philox::Block& b, float* d, int k) {
      for (int e = 0; e < k; ++e) d[e] = static_cast<float>(low + span * philox::uniform_float(b.w[e]));
    });
  } else {
    fill_blocks<double>(out, Dist::Uniform, seed, offset, [=](const philox::Block& b, double* d, int k) {
      for (int e = 0; e < k; ++e) d[e] = low + span * philox::uniform_double(b.w[2 * e], b.w[2 * e + 1]);
    });
  }
}

void fill_normal(const Tensor& out, double mean, double std, uint64_t seed, uint64_t offset) {
  if (out.dtype() == DType::Float32) {
    fill_blocks<float>(out, Dist::Normal, seed, offset, [=](const philox::Block& b, float* d, int k) {
      double z[4];
      box_muller(philox::uniform_open_closed(b.w[0]), philox::uniform_float(b.w[1]), z[0], z[1]);
      box_muller(philox::uniform_open_closed(b.w[2]), philox::uniform_float(b.w[3]), z[2], z[3]);
      for (int e = 0; e < k; ++e) d[e] = static_cast<float>(mean + std * z[e]);
    });
  } else {
    fill_blocks<double>(out, Dist::Normal, seed, offset, [=](const philox::Block& b, double* d, int k) {
      double z[2];
      box_muller(philox::uniform_open_closed(b.w[0], b.w[1]), philox::uniform_double(b.w[2], b.w[3]), z[0], z[1]);
      for (int e = 0; e < k; ++e) d[e] = mean + std * z[e];
    });
  }
}

void fill_randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t offset) {
  // Multiply-shift maps a 64-bit word onto [0, range); the bias is at most range / 2^64.
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  PE_DISPATCH_ALL(out.dtype(), "randint", [&] {
    fill_blocks<scalar_t>(out, Dist::Randint, seed, offset, [=](const philox::Block& b, scalar_t* d, int k) {
      for (int e = 0; e < k; ++e) {
        const uint64_t word = (static_cast<uint64_t>(b.w[2 * e]) << 32) | b.w[2 * e + 1];
        const uint64_t r = static_cast<uint64_t>((static_cast<unsigned __int128>(word) * range) >> 64);
        d[e] = static_cast<scalar_t>(static_cast<int64_t>(static_cast<uint64_t>(low) + r));
      }
    });
  });
}

void fill_bernoulli(const Tensor& out, double p, uint64_t seed, uint64_t offset) {
  PE_DISPATCH_ALL(out.dtype(), "bernoulli", [&] {
    fill_blocks<scalar_t>(out, Dist::Bernoulli, seed, offset, [=](const philox::Block& b, scalar_t* d, int k) {
      for (int e = 0; e < k; ++e) d[e] = static_cast<scalar_t>(b.w[e] * (1.0 / 4294967296.0) < p);
    });
  });
}

}  // namespace pe::cpu
