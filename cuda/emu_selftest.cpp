// Kernels that exercise the CUDA emulation (see emu_selftest.h). Written as CUDA; host-only
// because one of them throws, which only the emulation can observe.
#include "cuda/emu_selftest.h"

#include <stdexcept>
#include <string>

#include "cuda/cuda_emu.h"

namespace pe::cuda::selftest {
namespace {

__global__ void reverse_kernel(double* y, const double* x, int64_t n) {
  PE_DYNAMIC_SHARED(double, chunk);
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t base = int64_t(blockIdx.x) * blockDim.x;
  int64_t len = n - base < blockDim.x ? n - base : blockDim.x;  // the last chunk may be short
  if (i < n) chunk[threadIdx.x] = x[i];
  __syncthreads();  // every value written before any is read
  if (i < n) y[i] = chunk[len - 1 - threadIdx.x];
}

__global__ void warp_sums_kernel(double* out_down, double* out_xor, const double* x) {
  double v = x[threadIdx.x], down = v, butterfly = v;
  for (int d = warpSize / 2; d > 0; d /= 2) down += __shfl_down_sync(0xffffffffu, down, d);
  for (int d = 1; d < warpSize; d *= 2) butterfly += __shfl_xor_sync(0xffffffffu, butterfly, d);
  out_down[threadIdx.x] = down;
  out_xor[threadIdx.x] = butterfly;
}

__global__ void atomic_kernel(unsigned long long* count, double* total, double value) {
  atomicAdd(count, 1ull);
  atomicAdd(total, value);
}

__global__ void throw_kernel(int bad) {
  if (int(threadIdx.x) == bad) throw std::runtime_error("kernel thread " + std::to_string(bad) + " failed");
  __syncthreads();
}

__global__ void divergent_kernel(int) {
  if (threadIdx.x == 0) return;
  __syncthreads();
}

__global__ void empty_kernel(int) {}

}  // namespace

void block_reverse(double* y, const double* x, int64_t n, int block) {
  if (n == 0) return;
  unsigned blocks = static_cast<unsigned>((n + block - 1) / block);
  PE_LAUNCH(reverse_kernel, blocks, block, block * sizeof(double), y, x, n);
}

void warp_sums(double* out_down, double* out_xor, const double* x, int threads) {
  PE_LAUNCH(warp_sums_kernel, 1, threads, 0, out_down, out_xor, x);
}

void atomic_count(int64_t* count, double* total, double value, int grid, int block) {
  PE_LAUNCH(atomic_kernel, grid, block, 0, reinterpret_cast<unsigned long long*>(count), total, value);
}

void throw_in_thread(int threads, int bad) { PE_LAUNCH(throw_kernel, 1, threads, 0, bad); }

void divergent_barrier(int threads) { PE_LAUNCH(divergent_kernel, 1, threads, 0, 0); }

void launch_with(int threads) { PE_LAUNCH(empty_kernel, 1, threads, 0, 0); }

}  // namespace pe::cuda::selftest
