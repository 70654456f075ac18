// Compile CUDA kernel sources two ways.
//
// Under nvcc (__CUDACC__) this header only adds the launch and shared-memory macros the
// kernel files use. Under a plain host compiler it also emulates the pieces of CUDA the
// kernels need, so that the same .cu files build with g++ and run on the CPU in tests:
//
//   * __global__/__device__/__host__/__forceinline__/__launch_bounds__/__align__ macros;
//   * dim3, and thread-local blockIdx/threadIdx/blockDim/gridDim;
//   * PE_LAUNCH(kernel, grid, block, shmem_bytes, args...): one OS thread per CUDA thread of
//     a block, spawned once per launch; the blocks of the grid run ONE AT A TIME, the threads
//     meeting at a barrier between blocks;
//   * __syncthreads() = a reusable block barrier; __syncwarp() and the warp shuffles
//     (__shfl_sync/__shfl_down_sync/__shfl_xor_sync) = a per-warp rendezvous (a warp is 32
//     consecutive threads of the block: every lane publishes its value, barrier, reads its
//     partner's; two alternating slot banks stand in for a second barrier);
//   * `__shared__` becomes `static`. That is correct only because one block runs at a time,
//     and because emulated launches are serialised process-wide (a mutex), so no two blocks
//     ever see the same `static` at once;
//   * PE_DYNAMIC_SHARED(T, name): the launch's dynamic shared memory as a T*;
//   * atomicAdd on int/unsigned/int64/float/double (GCC __atomic builtins, CAS for floats).
//
// Kernel bugs become exceptions, not hangs: an exception thrown in any kernel thread stops
// the launch and is re-raised by PE_LAUNCH; a barrier that some threads of a block skip
// (__syncthreads under divergent control flow, an early return) is reported, and so is a
// deadlock (every live thread waiting). Launch configurations CUDA would reject (more than
// 1024 threads per block, an empty grid, over 48 KiB dynamic shared memory) throw too, so
// tests catch them before a GPU does.
#pragma once

#ifdef __CUDACC__
// ------------------------------------------------------------------------------------------
// nvcc: real CUDA.
// ------------------------------------------------------------------------------------------
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace pe_cuda_launch {
// Launch-configuration errors surface at once; faults inside the kernel surface at the next
// synchronising call (the device hooks' cudaMemcpy checks its result).
inline void check(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA kernel launch failed (") + kernel + "): " + cudaGetErrorString(e));
}
}  // namespace pe_cuda_launch

#define PE_LAUNCH(kernel, grid, block, shmem, ...)            \
  do {                                                        \
    kernel<<<(grid), (block), (shmem)>>>(__VA_ARGS__);        \
    ::pe_cuda_launch::check(#kernel);                         \
  } while (0)

#define PE_DYNAMIC_SHARED(T, name)                             \
  extern __shared__ __align__(16) unsigned char pe_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(pe_dynamic_smem_)

#else
// ------------------------------------------------------------------------------------------
// Host compiler: CUDA emulated with threads.
// ------------------------------------------------------------------------------------------
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline thread_local dim3 threadIdx{0, 0, 0};
inline thread_local dim3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

namespace pe_emu {

// Thrown into the other threads of a launch once one has failed, to unwind them.
struct Aborted {};

class Launch {
 public:
  Launch(dim3 grid, dim3 block, size_t shmem)
      : grid_(grid), block_(block), nthreads_(block.x * block.y * block.z), live_(nthreads_) {
    block_barrier_.count = nthreads_;
    int nwarps = (nthreads_ + warpSize - 1) / warpSize;
    warp_barriers_ = std::make_unique<Barrier[]>(nwarps);
    for (int w = 0; w < nwarps; ++w) warp_barriers_[w].count = std::min(warpSize, nthreads_ - w * warpSize);
    lanes_.resize(nthreads_);
    shared_.resize((shmem + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t) + 1);
  }

  template <class Kernel, class Params>
  void run(Kernel kernel, const Params& params) {
    std::vector<std::thread> threads;
    threads.reserve(nthreads_);
    try {
      for (int t = 0; t < nthreads_; ++t)
        threads.emplace_back([this, t, kernel, &params] { thread_main(t, kernel, params); });
    } catch (...) {  // could not start every thread: stop the ones that did
      {
        std::lock_guard<std::mutex> lk(m_);
        live_ = static_cast<int>(threads.size());
        abort_locked(std::current_exception());
      }
      for (auto& th : threads) th.join();
      std::rethrow_exception(error_);
    }
    for (auto& th : threads) th.join();
    if (error_) std::rethrow_exception(error_);
  }

  // __syncthreads(): every thread of the block, at the same kind of barrier.
  enum Tag { kSyncThreads = 1, kBlockEnd = 2 };
  void sync_block(Tag tag) { arrive(block_barrier_, tag); }
  void sync_warp() { arrive(warp_barriers_[my_thread() / warpSize], 0); }

  // Shuffle: publish my value, meet my warp, read lane `src` (my own value when `src` is out
  // of the warp or names a lane that does not exist). The slots alternate between two banks,
  // so one barrier per shuffle suffices: a lane writes a bank again only after the next
  // shuffle's barrier, which every lane reaches after reading that bank.
  template <class T>
  T shuffle(T value, int src_lane_in_warp) {
    static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= sizeof(Slot::bytes[0]), "shuffle: type too large");
    const int me = my_thread(), warp_base = me / warpSize * warpSize;
    Slot& mine = lanes_[me];
    const int bank = mine.bank;
    mine.bank ^= 1;
    std::memcpy(mine.bytes[bank], &value, sizeof(T));
    sync_warp();
    const int src = warp_base + src_lane_in_warp;
    T out = value;
    if (src_lane_in_warp >= 0 && src_lane_in_warp < warpSize && src < nthreads_)
      std::memcpy(&out, lanes_[src].bytes[bank], sizeof(T));
    return out;
  }

  void* dynamic_shared() { return shared_.data(); }

  static Launch*& current() {  // the launch the calling kernel thread belongs to
    static thread_local Launch* launch = nullptr;
    return launch;
  }

 private:
  struct Barrier {
    std::condition_variable cv;
    int count = 0, arrived = 0, tag = 0;
    unsigned generation = 0;
  };
  struct Slot {
    alignas(16) unsigned char bytes[2][16];  // two banks (see shuffle)
    int bank = 0;                            // the bank this lane's next shuffle uses
  };

  int my_thread() const { return static_cast<int>(threadIdx.x + block_.x * (threadIdx.y + block_.y * threadIdx.z)); }

  template <class Kernel, class Params>
  void thread_main(int t, Kernel kernel, const Params& params) {
    current() = this;
    blockDim = block_;
    gridDim = grid_;
    threadIdx = dim3(t % block_.x, t / block_.x % block_.y, t / (block_.x * block_.y));
    try {
      for (unsigned bz = 0; bz < grid_.z; ++bz)
        for (unsigned by = 0; by < grid_.y; ++by)
          for (unsigned bx = 0; bx < grid_.x; ++bx) {
            blockIdx = dim3(bx, by, bz);
            std::apply(kernel, params);  // kernel parameters are by value: a copy per thread
            sync_block(kBlockEnd);       // the next block reuses the `static` shared memory
          }
    } catch (const Aborted&) {
    } catch (...) {
      std::lock_guard<std::mutex> lk(m_);
      abort_locked(std::current_exception());
    }
    std::lock_guard<std::mutex> lk(m_);
    --live_;
    if (live_ > 0 && waiting_ == live_ && !aborted_)
      abort_locked(std::make_exception_ptr(std::logic_error(
          "emulated CUDA kernel deadlocked: a thread finished while the others wait at a barrier")));
    current() = nullptr;
  }

  void arrive(Barrier& b, int tag) {
    std::unique_lock<std::mutex> lk(m_);
    if (aborted_) throw Aborted{};
    if (b.arrived == 0) {
      b.tag = tag;
    } else if (b.tag != tag) {
      abort_locked(std::make_exception_ptr(std::logic_error(
          "emulated CUDA kernel: __syncthreads() was not reached by every thread of block (" +
          std::to_string(blockIdx.x) + ", " + std::to_string(blockIdx.y) + ", " + std::to_string(blockIdx.z) +
          ") (a barrier inside divergent code, or an early return before it)")));
      throw Aborted{};
    }
    if (++b.arrived == b.count) {  // last one in releases the others
      b.arrived = 0;
      ++b.generation;
      waiting_ -= b.count - 1;
      b.cv.notify_all();
      return;
    }
    unsigned generation = b.generation;
    if (++waiting_ == live_) {
      abort_locked(std::make_exception_ptr(std::logic_error(
          "emulated CUDA kernel deadlocked: every thread waits at a barrier that cannot complete "
          "(threads of one warp or block at different barriers)")));
      throw Aborted{};
    }
    b.cv.wait(lk, [&] { return b.generation != generation || aborted_; });
    if (aborted_) throw Aborted{};
  }

  // Records the first error and wakes every waiting thread. Call with m_ held.
  void abort_locked(std::exception_ptr e) {
    if (!error_) error_ = e;
    aborted_ = true;
    block_barrier_.cv.notify_all();
    for (int w = 0; w < (nthreads_ + warpSize - 1) / warpSize; ++w) warp_barriers_[w].cv.notify_all();
  }

  dim3 grid_, block_;
  int nthreads_;
  std::mutex m_;
  int live_;         // threads that have not finished
  int waiting_ = 0;  // threads blocked at some barrier
  bool aborted_ = false;
  std::exception_ptr error_;
  Barrier block_barrier_;
  std::unique_ptr<Barrier[]> warp_barriers_;
  std::vector<Slot> lanes_;
  std::vector<std::max_align_t> shared_;
};

inline std::mutex& launch_mutex() {
  static std::mutex m;
  return m;
}

inline void check_config(const char* name, dim3 grid, dim3 block, size_t shmem) {
  auto fail = [&](const std::string& why) {
    throw std::runtime_error(std::string("CUDA kernel launch failed (") + name + "): invalid configuration argument: " + why);
  };
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) fail("empty grid");
  if (grid.x > 0x7fffffffu) fail("gridDim.x must be at most 2^31 - 1");
  if (grid.y > 65535 || grid.z > 65535) fail("gridDim.y and gridDim.z must be at most 65535");
  if (block.x == 0 || block.y == 0 || block.z == 0) fail("empty block");
  if (block.z > 64 || block.x > 1024 || block.y > 1024) fail("blockDim exceeds (1024, 1024, 64)");
  if (uint64_t(block.x) * block.y * block.z > 1024) fail("more than 1024 threads per block");
  if (shmem > 48 * 1024) fail("more than 48 KiB of dynamic shared memory (" + std::to_string(shmem) + " bytes)");
}

// The emulated <<<grid, block, shmem>>>: arguments are converted to the kernel's parameter
// types once, as CUDA does, and every thread calls the kernel with its own copy.
template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shmem, const char* name, Args&&... args) {
  check_config(name, grid, block, shmem);
  std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  std::lock_guard<std::mutex> serial(launch_mutex());  // `__shared__` statics: one launch at a time
  Launch(grid, block, shmem).run(kernel, params);
}

inline Launch& current_launch() {
  Launch* l = Launch::current();
  if (!l) throw std::logic_error("CUDA device function called outside an emulated kernel launch");
  return *l;
}

template <class T>
T atomic_add(T* address, T value) {
  if constexpr (std::is_integral<T>::value) {
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
  } else {
    T old, desired;
    __atomic_load(address, &old, __ATOMIC_RELAXED);
    do {
      desired = old + value;
    } while (!__atomic_compare_exchange(address, &old, &desired, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
  }
}

}  // namespace pe_emu

#define PE_LAUNCH(kernel, grid, block, shmem, ...) \
  ::pe_emu::launch(kernel, dim3(grid), dim3(block), size_t(shmem), #kernel, __VA_ARGS__)

#define PE_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::pe_emu::current_launch().dynamic_shared())

inline void __syncthreads() { ::pe_emu::current_launch().sync_block(::pe_emu::Launch::kSyncThreads); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::pe_emu::current_launch().sync_warp(); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// Shuffles within a warp (the mask is not emulated: every lane of the warp must take part,
// which is what the kernels do). `width` splits the warp into independent segments.
inline int pe_emu_lane() {
  unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  return static_cast<int>(t % warpSize);
}
template <class T>
T __shfl_sync(unsigned, T value, int src_lane, int width = warpSize) {
  int lane = pe_emu_lane(), base = lane / width * width;
  return ::pe_emu::current_launch().shuffle(value, base + ((src_lane % width) + width) % width);
}
template <class T>
T __shfl_down_sync(unsigned, T value, unsigned delta, int width = warpSize) {
  int lane = pe_emu_lane(), src = lane + static_cast<int>(delta);
  if (src / width != lane / width) src = lane;  // past the segment: keep my own value
  return ::pe_emu::current_launch().shuffle(value, src);
}
template <class T>
T __shfl_up_sync(unsigned, T value, unsigned delta, int width = warpSize) {
  int lane = pe_emu_lane(), src = lane - static_cast<int>(delta);
  if (src < lane / width * width) src = lane;
  return ::pe_emu::current_launch().shuffle(value, src);
}
template <class T>
T __shfl_xor_sync(unsigned, T value, int lane_mask, int width = warpSize) {
  int lane = pe_emu_lane(), src = lane ^ lane_mask;
  if (src / width != lane / width) src = lane;
  return ::pe_emu::current_launch().shuffle(value, src);
}

inline int atomicAdd(int* a, int v) { return ::pe_emu::atomic_add(a, v); }
inline unsigned atomicAdd(unsigned* a, unsigned v) { return ::pe_emu::atomic_add(a, v); }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) { return ::pe_emu::atomic_add(a, v); }
inline float atomicAdd(float* a, float v) { return ::pe_emu::atomic_add(a, v); }
inline double atomicAdd(double* a, double v) { return ::pe_emu::atomic_add(a, v); }

#endif  // __CUDACC__
