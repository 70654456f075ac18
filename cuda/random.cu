// Random fills on the GPU: one thread per Philox block (grid-stride), each writing the
// elements that block yields with philox::emit, the same code the CPU runs (math/philox.h), so
// a (seed, offset) gives the CPU's numbers. Nothing is copied from the host.
#include <vector>

#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "cuda/strided.h"
#include "math/multinomial_math.h"
#include "math/philox.h"
#include "ops/random.h"

namespace pe::cuda {
namespace {

template <class T>
__global__ void random_kernel(T* out, int64_t n, int64_t blocks, int per, uint64_t seed, uint64_t offset,
                              philox::Draw draw) {
  PE_GRID_STRIDE_LOOP(b, blocks) {
    const philox::Block blk = philox::block(seed, offset + static_cast<uint64_t>(b));
    const int64_t left = n - b * per;
    philox::emit(draw, blk, out + b * per, static_cast<int>(left < per ? left : per));
  }
}

void random_fill(const ops::RandomArgs& a) {
  const int per = philox::elements_per_block(a.draw.dist, a.dtype == DType::Float64);
  const int64_t blocks = (a.n + per - 1) / per;
  PE_DISPATCH_ALL(a.dtype, "random fill", [&] {
    auto* k = &random_kernel<scalar_t>;
    PE_LAUNCH(k, blocks_for(blocks), kThreads, 0, static_cast<scalar_t*>(a.out), a.n, blocks, per, a.seed, a.offset,
              a.draw);
  });
}

// Per-element probabilities: the same block-per-thread walk; an invalid p raises `bad`.
template <class T>
__global__ void bernoulli_kernel(T* out, const T* p, int64_t n, int64_t blocks, uint64_t seed, uint64_t offset,
                                 int* bad) {
  PE_GRID_STRIDE_LOOP(b, blocks) {
    const philox::Block blk = philox::block(seed, offset + static_cast<uint64_t>(b));
    const int64_t left = n - b * 4;
    if (!philox::emit_bernoulli(blk, p + b * 4, out + b * 4, static_cast<int>(left < 4 ? left : 4))) *bad = 1;
  }
}

template <class T>
bool bernoulli_t(const ops::BernoulliArgs& a) {
  const int64_t blocks = (a.n + 3) / 4;  // philox::elements_per_block(Bernoulli) == 4 for every dtype
  DeviceBuffer flag = DeviceBuffer::upload(std::vector<int>{0});
  auto* k = &bernoulli_kernel<T>;
  PE_LAUNCH(k, blocks_for(blocks), kThreads, 0, static_cast<T*>(a.out), static_cast<const T*>(a.p), a.n, blocks,
            a.seed, a.offset, flag.as<int>());
  int bad = 0;
  cuda_hooks().copy_to_host(&bad, flag.get(), sizeof(int), current_cuda_device());
  return bad == 0;
}

bool bernoulli(const ops::BernoulliArgs& a) {
  if (a.dtype == DType::Float64) return bernoulli_t<double>(a);
  return bernoulli_t<float>(a);
}

// One thread per row, each running the CPU's row function (math/multinomial_math.h).
template <class T>
__global__ void multinomial_kernel(const T* probs, int64_t* out, double* scratch, int64_t rows, int64_t n, int64_t k,
                                   bool replacement, uint64_t seed, uint64_t offset, int64_t per_row) {
  PE_GRID_STRIDE_LOOP(r, rows) {
    philox::multinomial_row(probs + r * n, n, k, replacement, scratch + r * n, out + r * k, seed,
                            offset + static_cast<uint64_t>(r * per_row));
  }
}

template <class T>
void multinomial_t(const ops::MultinomialArgs& a) {
  const int64_t per_row = philox::multinomial_blocks(a.n, a.k, a.replacement);
  auto* k = &multinomial_kernel<T>;
  PE_LAUNCH(k, blocks_for(a.rows), kThreads, 0, static_cast<const T*>(a.probs), a.out, a.scratch, a.rows, a.n, a.k,
            a.replacement, a.seed, a.offset, per_row);
}

void multinomial(const ops::MultinomialArgs& a) {
  if (a.dtype == DType::Float64) multinomial_t<double>(a);
  else multinomial_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::random_kernel, random_fill);
PE_REGISTER_CUDA_KERNEL(ops::multinomial_kernel, multinomial);
PE_REGISTER_CUDA_KERNEL(ops::bernoulli_kernel, bernoulli);

}  // namespace pe::cuda
