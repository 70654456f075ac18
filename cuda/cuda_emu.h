// Compile CUDA kernel sources two ways.
//
// Under nvcc (__CUDACC__) this header only adds the launch and shared-memory macros the
// kernel files use. Under a plain host compiler it also emulates the pieces of CUDA the
// kernels need, so that the same .cu files build with g++ and run on the CPU in tests:
//
//   * __global__/__device__/__host__/__forceinline__/__launch_bounds__/__align__ macros;
//   * dim3, and thread-local blockIdx/threadIdx/blockDim/gridDim;
//   * PE_LAUNCH(kernel, grid, block, shmem_bytes, args...): the blocks of the grid are shared out
//     among a pool of host threads (PYENGINE_EMU_THREADS, default: one per core); each host
//     thread runs one block at a time, every CUDA thread of the block as a fiber (own stack) that
//     runs until it finishes or waits at a barrier - so a kernel without barriers costs about a
//     function call per thread, and a block's threads interleave only where CUDA lets them meet;
//   * __syncthreads() = a block barrier; __syncwarp() and the warp shuffles
//     (__shfl_sync/__shfl_down_sync/__shfl_up_sync/__shfl_xor_sync) = a per-warp meeting (a
//     warp is 32 consecutive threads of the block: every lane publishes its value, meets the
//     others, reads its partner's; two alternating slot banks stand in for a second barrier);
//   * `__shared__` becomes `static thread_local`: exactly one block's shared memory, because a
//     block's fibers all run on one host thread and a host thread runs one block at a time;
//     launches are serialised process-wide (one pool);
//   * PE_DYNAMIC_SHARED(T, name): the launch's dynamic shared memory as a T*;
//   * atomicAdd on int/unsigned/int64/float/double (GCC __atomic builtins, CAS for floats):
//     blocks really run concurrently, so atomics and races between blocks are real.
//
// Kernel bugs become exceptions, not hangs: an exception thrown in any kernel thread stops
// the launch and is re-raised by PE_LAUNCH; a barrier that some threads of a block skip
// (__syncthreads under divergent control flow, an early return) is reported, and so is a
// deadlock (every live thread waiting). Launch configurations CUDA would reject (more than
// 1024 threads per block, an empty grid, over 48 KiB dynamic shared memory) throw too, so
// tests catch them before a GPU does. Sanitizer builds annotate the fiber switches (ASan's
// and TSan's fiber APIs), so ASan checks every access of every CUDA thread and TSan sees races
// between blocks running on different host threads.
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
// Host compiler: CUDA emulated with fibers.
// ------------------------------------------------------------------------------------------
#include <sys/mman.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define PE_EMU_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define PE_EMU_TSAN 1
#endif

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
// A block's threads all run on one host thread (as fibers), and each host thread runs one
// block at a time, so a thread_local static is exactly one block's shared memory.
#define __shared__ static thread_local

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

// ---- fiber contexts -------------------------------------------------------------------------
// A suspended fiber is its stack pointer. On x86-64 the switch saves the callee-saved registers
// on the old stack and pops them from the new one (no system call, unlike swapcontext, which
// saves the signal mask: that syscall was most of an emulated thread's cost). Other machines use
// ucontext.
#if defined(__x86_64__)
struct Context {
  void* sp = nullptr;
};
extern "C" void pe_emu_switch(void** save_sp, void* load_sp);  // cuda/cuda_emu.cpp
inline void switch_context(Context& save, const Context& load) { pe_emu_switch(&save.sp, load.sp); }
// A fresh context that starts `entry` (which must never return) on [stack, stack + size).
inline void make_context(Context& c, unsigned char* stack, size_t size, void (*entry)()) {
  auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t(15);
  auto* slots = reinterpret_cast<void**>(top);
  slots[-1] = nullptr;                           // entry's (unused) return address: rsp = 8 mod 16
  slots[-2] = reinterpret_cast<void*>(entry);    // popped by `ret`
  for (int r = 3; r <= 8; ++r) slots[-r] = nullptr;  // rbp rbx r12..r15
  c.sp = slots - 8;
}
#else
struct Context {
  ucontext_t uc;
};
inline void switch_context(Context& save, const Context& load) { swapcontext(&save.uc, &load.uc); }
inline void make_context(Context& c, unsigned char* stack, size_t size, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
#endif

// A fiber's stack: its own mapping with an inaccessible guard page below it, so a kernel whose
// frames outgrow the stack faults at once, where it happens, instead of silently writing over
// whatever the heap had put next to it (sanitizer builds' frames are several times larger).
class FiberStack {
 public:
  explicit FiberStack(size_t bytes) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes + kGuard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    base_ = static_cast<unsigned char*>(p);
    mprotect(base_, kGuard, PROT_NONE);
  }
  ~FiberStack() {
#ifdef PE_EMU_ASAN
    // ASan does not clear the shadow of unmapped memory: the redzones of frames that ran here
    // would poison whatever is mapped at these addresses next (false stack-buffer-overflows).
    __asan_unpoison_memory_region(bottom(), bytes_);
#endif
    munmap(base_, bytes_ + kGuard);
  }
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  unsigned char* bottom() const { return base_ + kGuard; }  // the lowest usable byte

 private:
  static constexpr size_t kGuard = 4096;
  unsigned char* base_ = nullptr;
  size_t bytes_;
};

// A launch's kernel with its arguments bound: run(t) is CUDA thread t of the current block.
using ThreadBody = std::function<void()>;

// One host thread's engine: runs whole blocks, each CUDA thread of a block as a fiber (its own
// stack), switching only where CUDA threads must meet: __syncthreads(), __syncwarp()
// and the shuffles. A kernel without barriers costs one fiber start per thread.
class BlockRunner {
 public:
#if defined(PE_EMU_ASAN) || defined(PE_EMU_TSAN)
  static constexpr size_t kStackBytes = 1024 * 1024;  // instrumented frames are larger (pages are
#else                                                 // committed only as they are touched)
  static constexpr size_t kStackBytes = 256 * 1024;  // per CUDA thread; kernels keep small frames
#endif

  BlockRunner() = default;
  BlockRunner(const BlockRunner&) = delete;
  BlockRunner& operator=(const BlockRunner&) = delete;
#ifdef PE_EMU_TSAN
  // A host thread that ran kernels and exits (a Python thread) returns its fibers' TSan state;
  // without this every such thread leaked up to 1,024 TSan thread contexts for good.
  ~BlockRunner() {
    for (auto& f : fibers_)
      if (f.tsan) __tsan_destroy_fiber(f.tsan);
  }
#endif

  // Runs block `block` of the launch; throws what a kernel thread threw, or a logic_error for a
  // broken barrier (divergent __syncthreads, deadlock).
  void run_block(const ThreadBody& body, dim3 grid, dim3 block, dim3 block_index, size_t shmem) {
    nthreads_ = static_cast<int>(block.x * block.y * block.z);
    ensure_fibers(nthreads_);
    if (shared_.size() < shmem + 16) shared_.assign(shmem + 16, 0);
    body_ = &body;
    grid_ = grid, block_ = block, block_index_ = block_index;
    error_ = nullptr;
    block_barrier_ = Barrier{nthreads_};
    const int nwarps = (nthreads_ + warpSize - 1) / warpSize;
    warp_barriers_.assign(nwarps, Barrier{});
    for (int w = 0; w < nwarps; ++w) warp_barriers_[w].count = std::min(warpSize, nthreads_ - w * warpSize);
    for (int t = 0; t < nthreads_; ++t) {
      Fiber& f = fibers_[t];
      f.state = kReady;
      f.waiting = nullptr;
      f.bank = 0;
      make_context(f.ctx, f.stack->bottom(), kStackBytes, &BlockRunner::fiber_entry);
#ifdef PE_EMU_TSAN
      if (!f.tsan) f.tsan = __tsan_create_fiber(0);
#endif
    }
    current() = this;
    blockDim = block, gridDim = grid, blockIdx = block_index;
    schedule();
    current() = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

  // __syncthreads(): every thread of the block.
  void sync_block() { arrive(block_barrier_, "__syncthreads()"); }
  void sync_warp() { arrive(warp_barriers_[me_ / warpSize], "a warp-synchronous operation"); }

  // Shuffle: publish my value, meet my warp, read lane `src` (my own value when `src` is out of
  // the warp or names a lane that does not exist). Slots alternate between two banks, so one
  // meeting per shuffle suffices: a lane writes a bank again only after the next shuffle's
  // meeting, which every lane reaches after reading that bank.
  template <class T>
  T shuffle(T value, int src_lane_in_warp) {
    static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 16, "shuffle: type too large");
    Fiber& mine = fibers_[me_];
    const int bank = mine.bank;
    mine.bank ^= 1;
    std::memcpy(mine.slot[bank], &value, sizeof(T));
    sync_warp();
    const int src = me_ / warpSize * warpSize + src_lane_in_warp;
    T out = value;
    if (src_lane_in_warp >= 0 && src_lane_in_warp < warpSize && src < nthreads_)
      std::memcpy(&out, fibers_[src].slot[bank], sizeof(T));
    return out;
  }

  void* dynamic_shared() { return shared_.data(); }

  static BlockRunner*& current() {  // the runner of the calling host thread, while it runs a block
    static thread_local BlockRunner* runner = nullptr;
    return runner;
  }

 private:
  enum State { kReady, kWaiting, kDone };
  struct Barrier {
    int count = 0, arrived = 0;
    unsigned generation = 0;
  };
  struct Fiber {
    Context ctx;
    std::unique_ptr<FiberStack> stack;
    State state = kReady;
    Barrier* waiting = nullptr;  // the barrier a waiting fiber is parked at
    unsigned generation = 0;     // ... and that barrier's generation when it arrived
    int bank = 0;                // shuffle bank of the next shuffle
    alignas(16) unsigned char slot[2][16];
#ifdef PE_EMU_TSAN
    void* tsan = nullptr;
#endif
  };

  void ensure_fibers(int n) {
    if (static_cast<int>(fibers_.size()) >= n) return;
    std::vector<Fiber> more(n);
    for (size_t i = 0; i < fibers_.size(); ++i) {
      more[i].stack = std::move(fibers_[i].stack);
#ifdef PE_EMU_TSAN
      more[i].tsan = fibers_[i].tsan;  // kept: TSan's fiber state is created once per fiber
#endif
    }
    for (auto& f : more)
      if (!f.stack) f.stack.reset(new FiberStack(kStackBytes));
    fibers_ = std::move(more);  // (TSan fibers for the new ones are created lazily in run_block)
  }

  static void fiber_entry() {
    BlockRunner* r = current();
#ifdef PE_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &r->sched_stack_bottom_, &r->sched_stack_size_);
#endif
    try {
      (*r->body_)();
    } catch (...) {
      if (!r->error_) r->error_ = std::current_exception();
    }
    r->fibers_[r->me_].state = kDone;
    r->switch_to_scheduler(true);
  }

  // Round-robin over the fibers until all are done: a fiber runs until it finishes or parks at
  // a barrier that its arrival did not complete; a pass that resumes nobody is a deadlock.
  void schedule() {
    int done = 0;
    while (done < nthreads_ && !error_) {
      bool progressed = false;
      for (int t = 0; t < nthreads_ && !error_; ++t) {
        Fiber& f = fibers_[t];
        if (f.state == kDone) continue;
        if (f.state == kWaiting && f.waiting->generation == f.generation) continue;
        f.state = kReady;
        me_ = t;
        threadIdx = dim3(t % block_.x, t / block_.x % block_.y, t / (block_.x * block_.y));
        switch_to(f);
        progressed = true;
        if (f.state == kDone) ++done;
      }
      if (!progressed && !error_) report_stuck();
    }
  }

  [[noreturn]] void report_stuck() {
    bool some_done = false;
    for (int t = 0; t < nthreads_; ++t) some_done = some_done || fibers_[t].state == kDone;
    const std::string where = "(" + std::to_string(block_index_.x) + ", " + std::to_string(block_index_.y) + ", " +
                              std::to_string(block_index_.z) + ")";
    throw std::logic_error(
        some_done ? "emulated CUDA kernel: __syncthreads() was not reached by every thread of block " + where +
                        " (a barrier inside divergent code, or an early return before it)"
                  : "emulated CUDA kernel deadlocked in block " + where +
                        ": every thread waits at a barrier that cannot complete (threads of one warp or block "
                        "at different barriers)");
  }

  void arrive(Barrier& b, const char*) {
    Fiber& f = fibers_[me_];
    if (++b.arrived == b.count) {  // last one in: release the others, carry on
      b.arrived = 0;
      ++b.generation;
    } else {
      f.state = kWaiting;
      f.waiting = &b;
      f.generation = b.generation;
      switch_to_scheduler(false);
    }
  }

  void switch_to(Fiber& f) {
#ifdef PE_EMU_TSAN
    __tsan_switch_to_fiber(f.tsan, 0);
#endif
#ifdef PE_EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f.stack->bottom(), kStackBytes);
#endif
    switch_context(scheduler_, f.ctx);
#ifdef PE_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  }

  void switch_to_scheduler(bool finished) {
#ifdef PE_EMU_TSAN
    __tsan_switch_to_fiber(sched_tsan_, 0);
#endif
#ifdef PE_EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(finished ? nullptr : &fake, sched_stack_bottom_, sched_stack_size_);
#endif
    if (finished) {
      Context dead;  // never resumed
      switch_context(dead, scheduler_);
    } else {
      switch_context(fibers_[me_].ctx, scheduler_);
#ifdef PE_EMU_ASAN
      __sanitizer_finish_switch_fiber(fake, &sched_stack_bottom_, &sched_stack_size_);
#endif
    }
  }

  std::vector<Fiber> fibers_;
  std::vector<unsigned char> shared_;
  Context scheduler_;
  const ThreadBody* body_ = nullptr;
  dim3 grid_, block_, block_index_;
  int nthreads_ = 0, me_ = 0;
  std::exception_ptr error_;
  Barrier block_barrier_;
  std::vector<Barrier> warp_barriers_;
#ifdef PE_EMU_ASAN
  const void* sched_stack_bottom_ = nullptr;
  size_t sched_stack_size_ = 0;
#endif
#ifdef PE_EMU_TSAN
  void* sched_tsan_ = __tsan_get_current_fiber();
#endif
};

// Host threads that run the blocks of a launch in parallel, each with its own BlockRunner.
// The launching thread takes part; the helpers are started once and kept.
class Pool {
 public:
  static Pool& instance() {
    static Pool* pool = new Pool;  // never destroyed: threads may outlive static destructors
    return *pool;
  }

  // Calls work(worker) on `n` workers (the caller is worker 0) and waits for all of them.
  void run(int n, const std::function<void(int)>& work) {
    n = std::max(1, std::min(n, size()));
    {
      std::lock_guard<std::mutex> lk(m_);
      work_ = &work;
      pending_ = n - 1;
      active_ = n - 1;
      ++generation_;
    }
    cv_.notify_all();
    work(0);
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [&] { return pending_ == 0; });
    work_ = nullptr;
  }

  int size() const { return static_cast<int>(threads_.size()) + 1; }

 private:
  Pool() {
    const char* env = std::getenv("PYENGINE_EMU_THREADS");
    int n = env ? std::atoi(env) : static_cast<int>(std::thread::hardware_concurrency());
    n = std::max(1, std::min(n, 64));
    for (int i = 1; i < n; ++i) {
      std::thread th([this, i] { loop(i); });
      th.detach();
      threads_.push_back(i);
    }
  }

  void loop(int me) {
    unsigned seen = 0;
    for (;;) {
      const std::function<void(int)>* work;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        if (active_ <= 0) continue;
        --active_;
        work = work_;
      }
      (*work)(me);
      std::lock_guard<std::mutex> lk(m_);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::vector<int> threads_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* work_ = nullptr;
  int pending_ = 0, active_ = 0;
  unsigned generation_ = 0;
};

// The calling host thread's block engine (one per host thread, shared by every kernel).
inline BlockRunner& thread_runner() {
  static thread_local BlockRunner runner;
  return runner;
}

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
// types once, as CUDA does, and every CUDA thread calls the kernel with its own copy. Blocks
// are shared out among the pool's host threads; launches are serialised process-wide (one
// pool), and the first error of any block stops the launch and is rethrown here.
template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shmem, const char* name, Args&&... args) {
  check_config(name, grid, block, shmem);
  const std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  const ThreadBody body = [&] { std::apply(kernel, params); };  // the kernel copies (by-value params)
  const uint64_t nblocks = uint64_t(grid.x) * grid.y * grid.z;
  std::lock_guard<std::mutex> serial(launch_mutex());
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_m;
  Pool::instance().run(static_cast<int>(std::min<uint64_t>(nblocks, 64)), [&](int) {
    BlockRunner& runner = thread_runner();
    for (uint64_t b; !failed.load(std::memory_order_relaxed) && (b = next.fetch_add(1)) < nblocks;) {
      const dim3 index(static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                       static_cast<unsigned>(b / (uint64_t(grid.x) * grid.y)));
      try {
        runner.run_block(body, grid, block, index, shmem);
      } catch (...) {
        std::lock_guard<std::mutex> lk(error_m);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  });
  if (error) std::rethrow_exception(error);
}

inline BlockRunner& current_block() {
  BlockRunner* r = BlockRunner::current();
  if (!r) throw std::logic_error("CUDA device function called outside an emulated kernel launch");
  return *r;
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

#define PE_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::pe_emu::current_block().dynamic_shared())

inline void __syncthreads() { ::pe_emu::current_block().sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::pe_emu::current_block().sync_warp(); }
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
  return ::pe_emu::current_block().shuffle(value, base + ((src_lane % width) + width) % width);
}
template <class T>
T __shfl_down_sync(unsigned, T value, unsigned delta, int width = warpSize) {
  int lane = pe_emu_lane(), src = lane + static_cast<int>(delta);
  if (src / width != lane / width) src = lane;  // past the segment: keep my own value
  return ::pe_emu::current_block().shuffle(value, src);
}
template <class T>
T __shfl_up_sync(unsigned, T value, unsigned delta, int width = warpSize) {
  int lane = pe_emu_lane(), src = lane - static_cast<int>(delta);
  if (src < lane / width * width) src = lane;
  return ::pe_emu::current_block().shuffle(value, src);
}
template <class T>
T __shfl_xor_sync(unsigned, T value, int lane_mask, int width = warpSize) {
  int lane = pe_emu_lane(), src = lane ^ lane_mask;
  if (src / width != lane / width) src = lane;
  return ::pe_emu::current_block().shuffle(value, src);
}

inline int atomicAdd(int* a, int v) { return ::pe_emu::atomic_add(a, v); }
inline unsigned atomicAdd(unsigned* a, unsigned v) { return ::pe_emu::atomic_add(a, v); }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) { return ::pe_emu::atomic_add(a, v); }
inline float atomicAdd(float* a, float v) { return ::pe_emu::atomic_add(a, v); }
inline double atomicAdd(double* a, double v) { return ::pe_emu::atomic_add(a, v); }

#endif  // __CUDACC__
