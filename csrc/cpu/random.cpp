// CPU random fills: Philox blocks split over threads, each turned into elements by
// philox::emit (math/philox.h, shared with cuda/random.cu). Element i depends only on
// (seed, offset, i), so the thread count never changes a draw.
#include <algorithm>
#include <atomic>

#include "core/parallel.h"
#include "math/multinomial_math.h"
#include "ops/random.h"

namespace pe::cpu {
namespace {

template <class T>
void fill_blocks(const ops::RandomArgs& a) {
  T* data = static_cast<T*>(a.out);
  const int64_t per = philox::elements_per_block(a.draw.dist, a.dtype == DType::Float64);
  const int64_t blocks = (a.n + per - 1) / per;
  parallel_for(blocks, 16 * per, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const philox::Block blk = philox::block(a.seed, a.offset + static_cast<uint64_t>(b));
      philox::emit(a.draw, blk, data + b * per, static_cast<int>(std::min<int64_t>(per, a.n - b * per)));
    }
  });
}

void random_fill(const ops::RandomArgs& a) {
  PE_DISPATCH_ALL(a.dtype, "random fill", [&] { fill_blocks<scalar_t>(a); });
}

template <class T>
bool bernoulli_blocks(const ops::BernoulliArgs& a) {
  const T* p = static_cast<const T*>(a.p);
  T* out = static_cast<T*>(a.out);
  const int64_t per = philox::elements_per_block(philox::Dist::Bernoulli, a.dtype == DType::Float64);
  const int64_t blocks = (a.n + per - 1) / per;
  std::atomic<bool> ok{true};
  parallel_for(blocks, 16 * per, [&](int64_t begin, int64_t end) {
    bool chunk_ok = true;
    for (int64_t b = begin; b < end; ++b) {
      const philox::Block blk = philox::block(a.seed, a.offset + static_cast<uint64_t>(b));
      chunk_ok &= philox::emit_bernoulli(blk, p + b * per, out + b * per,
                                         static_cast<int>(std::min<int64_t>(per, a.n - b * per)));
    }
    if (!chunk_ok) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

bool bernoulli(const ops::BernoulliArgs& a) {
  if (a.dtype == DType::Float64) return bernoulli_blocks<double>(a);
  return bernoulli_blocks<float>(a);
}

template <class T>
void multinomial_rows(const ops::MultinomialArgs& a) {
  const T* probs = static_cast<const T*>(a.probs);
  const int64_t per_row = philox::multinomial_blocks(a.n, a.k, a.replacement);
  parallel_for(a.rows, 4 * (a.n + a.k), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      philox::multinomial_row(probs + r * a.n, a.n, a.k, a.replacement, a.scratch + r * a.n, a.out + r * a.k, a.seed,
                              a.offset + static_cast<uint64_t>(r * per_row));
  });
}

void multinomial(const ops::MultinomialArgs& a) {
  if (a.dtype == DType::Float64) multinomial_rows<double>(a);
  else multinomial_rows<float>(a);
}

}  // namespace

PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::random_kernel, random_fill);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::multinomial_kernel, multinomial);
PE_REGISTER_CPU_KERNEL_ANY_ISA(ops::bernoulli_kernel, bernoulli);

}  // namespace pe::cpu
