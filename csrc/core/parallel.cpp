#include "core/parallel.h"

#include <atomic>

#include "core/error.h"

namespace pe {

static std::atomic<int> g_num_threads{0};

int get_num_threads() {
  int n = g_num_threads.load();
  return n > 0 ? n : omp_get_max_threads();
}

void set_num_threads(int n) {
  PE_CHECK(n >= 1, ValueError, "set_num_threads: expected a positive number of threads, got ", n);
  g_num_threads.store(n);
}

}  // namespace pe
