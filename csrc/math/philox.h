// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel
// random numbers: as easy as 1, 2, 3" (SC 2011): 10 rounds of a multiply-xor network over a
// 128-bit counter, keyed by a 64-bit key. Output block b of a stream depends only on
// (key, b), so any thread (or GPU lane) can produce any part of a draw on its own.
//
// Header-only and free of library calls so the CUDA backend can include it; functions are
// PE_HOST_DEVICE.
#pragma once
#include <cstdint>

#include "math/host_device.h"

namespace pe::philox {

// Round multipliers and Weyl key increments from the paper.
constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1
constexpr int kRounds = 10;

struct Block {
  uint32_t w[4];
};

PE_HOST_DEVICE inline Block philox4x32(Block ctr, uint32_t key0, uint32_t key1) {
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * ctr.w[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * ctr.w[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    ctr = Block{{hi1 ^ ctr.w[1] ^ key0, lo1, hi0 ^ ctr.w[3] ^ key1, lo0}};
  }
  return ctr;
}

// Block `index` of the stream keyed by `seed`: counter = (index, 0), key = seed.
PE_HOST_DEVICE inline Block block(uint64_t seed, uint64_t index) {
  Block ctr{{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), 0u, 0u}};
  return philox4x32(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform floats from random words.
PE_HOST_DEVICE inline float uniform_float(uint32_t w) {  // [0, 1), 24 bits
  return static_cast<float>(w >> 8) * (1.0f / 16777216.0f);
}
PE_HOST_DEVICE inline double uniform_double(uint32_t hi, uint32_t lo) {  // [0, 1), 53 bits
  const uint64_t bits = (static_cast<uint64_t>(hi) << 21) | (lo >> 11);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}
PE_HOST_DEVICE inline double uniform_open_closed(uint32_t w) {  // (0, 1]: safe for log()
  return (static_cast<double>(w) + 1.0) * (1.0 / 4294967296.0);
}
PE_HOST_DEVICE inline double uniform_open_closed(uint32_t hi, uint32_t lo) {  // (0, 1], 53 bits
  return 1.0 - uniform_double(hi, lo);
}

}  // namespace pe::philox
