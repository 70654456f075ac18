// Threads: one process-wide count used by every OpenMP region (set_num_threads), and a
// helper that splits [0, n) into contiguous chunks when the work is big enough to pay for it.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>

namespace pe {

int get_num_threads();
void set_num_threads(int n);

// Work below this many elements (or "cost units") runs on the calling thread.
constexpr int64_t kParallelGrain = 32768;

// f(begin, end) over disjoint chunks of [0, n). `cost` is the work per index. An exception
// thrown by f (a scratch allocation that fails: std::bad_alloc) must not leave an OpenMP thread,
// which would terminate the process: the first one is caught and rethrown after the region.
template <class F>
void parallel_for(int64_t n, int64_t cost_per_index, F&& f) {
  if (n <= 0) return;
  int threads = get_num_threads();
  int64_t work;  // saturates: a huge product only means "big enough to split"
  if (__builtin_mul_overflow(n, std::max<int64_t>(cost_per_index, 1), &work)) work = INT64_MAX;
  if (threads <= 1 || work < kParallelGrain || n == 1) {
    f(int64_t(0), n);
    return;
  }
  int64_t chunks = std::min<int64_t>(threads, std::max<int64_t>(1, work / kParallelGrain));
  chunks = std::min(chunks, n);
  std::exception_ptr error;
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    // n * t in 128 bits: n may count the elements of a huge broadcast view.
    int64_t begin = static_cast<int64_t>(static_cast<__int128>(n) * t / nt);
    int64_t end = static_cast<int64_t>(static_cast<__int128>(n) * (t + 1) / nt);
    try {
      if (begin < end) f(begin, end);
    } catch (...) {
#pragma omp critical(pe_parallel_for_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace pe
