#include "core/allocator.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace pe {

DeviceHooks& cuda_hooks() {
  static DeviceHooks hooks;
  return hooks;
}

bool cuda_available() {
  auto& h = cuda_hooks();
  return h.available && h.available();
}

namespace {
thread_local int current_device = 0;
}

void select_cuda_device(int index) {
  auto& h = cuda_hooks();
  if (h.set_device) h.set_device(index);
  current_device = index;
}

int current_cuda_device() { return current_device; }

void check_device(Device d) {
  if (d.is_cpu()) return;
  auto& h = cuda_hooks();
  if (!h.available)
    throw RuntimeError("CUDA device '" + d.str() + "' requested, but pyengine was built without CUDA");
  if (!h.available())
    throw RuntimeError("CUDA device '" + d.str() +
                       "' requested, but no CUDA GPU is available (pyengine.cuda.is_available() is False)");
  int n = h.device_count();
  PE_CHECK(d.index >= 0 && d.index < n, RuntimeError, "CUDA device index ", d.index,
           " out of range: this machine has ", n, " CUDA device(s)");
}

// Small blocks are recycled through per-thread free lists, one per power-of-two size class.
// aligned_alloc takes glibc's slow memalign path on every call (no fast per-thread cache),
// and that cost dominated ops on tiny tensors. Big blocks go to the big-block cache below; each
// list is capped, so the cache holds at most about 2 MiB per thread.
namespace {

constexpr size_t kSmallestClass = kAlignment;  // 64 B
constexpr int kNumClasses = 9;                  // 64 B .. 16 KiB
constexpr size_t kBlocksPerClass = 64;

size_t rounded_size(size_t nbytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; never ask for 0 bytes.
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  return rounded == 0 ? kAlignment : rounded;
}

// The size class holding `rounded` bytes, or -1 for blocks too big to cache.
int size_class(size_t rounded) {
  size_t bytes = kSmallestClass;
  for (int c = 0; c < kNumClasses; ++c, bytes *= 2)
    if (rounded <= bytes) return c;
  return -1;
}

size_t class_bytes(int c) { return kSmallestClass << c; }

struct BlockCache {
  std::vector<void*> free_blocks[kNumClasses];
  ~BlockCache() {
    for (auto& list : free_blocks)
      for (void* p : list) std::free(p);
  }
};

// The cache is reached through a plain pointer, which stays readable while the thread shuts
// down: a block freed after the cache is gone (a tensor dropped by a later destructor) simply
// goes back to the system.
thread_local BlockCache* t_cache = nullptr;
thread_local bool t_cache_gone = false;

struct CacheOwner {
  ~CacheOwner() {
    delete t_cache;
    t_cache = nullptr;
    t_cache_gone = true;
  }
};
thread_local CacheOwner t_cache_owner;

BlockCache* thread_cache() {
  if (t_cache || t_cache_gone) return t_cache;
  (void)&t_cache_owner;  // constructs the owner, which frees the cache at thread exit
  t_cache = new BlockCache;
  return t_cache;
}

// Big blocks (above the size classes) are kept in one process-wide cache keyed by their exact
// page-rounded size, up to kBigCacheBytes in all. glibc hands big requests to mmap and gives
// them back to the system on free, so a loop that allocates the same large activations every
// step (a recurrent layer's per-step values, conv workspaces) would otherwise page-fault fresh
// zeroed memory each time; with the cache the same blocks come back. Sanitizer builds skip it,
// so use-after-free of big blocks stays visible.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kBigCacheBytes = 0;
#else
constexpr size_t kBigCacheBytes = size_t(256) << 20;
#endif
constexpr size_t kPage = 4096;

struct BigBlockCache {
  std::mutex mutex;
  std::multimap<size_t, void*> blocks;  // size -> block
  size_t bytes = 0;
};

BigBlockCache& big_cache() {
  static BigBlockCache* cache = new BigBlockCache;  // never destroyed: frees may come at exit
  return *cache;
}

void* take_big_block(size_t rounded) {
  if (kBigCacheBytes == 0) return nullptr;
  BigBlockCache& c = big_cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.blocks.find(rounded);
  if (it == c.blocks.end()) return nullptr;
  void* p = it->second;
  c.blocks.erase(it);
  c.bytes -= rounded;
  return p;
}

bool keep_big_block(void* p, size_t rounded) {
  BigBlockCache& c = big_cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.bytes + rounded > kBigCacheBytes) return false;
  c.blocks.emplace(rounded, p);
  c.bytes += rounded;
  return true;
}

}  // namespace

void* host_alloc(size_t nbytes) {
  // Tensor sizes are checked to fit int64; anything bigger cannot be rounded up without wrapping.
  if (nbytes > static_cast<size_t>(INT64_MAX))
    throw MemoryError(str("out of memory: could not allocate ", nbytes, " bytes on the CPU"));
  size_t rounded = rounded_size(nbytes);
  int c = size_class(rounded);
  if (c >= 0) {
    rounded = class_bytes(c);
    if (BlockCache* cache = thread_cache(); cache && !cache->free_blocks[c].empty()) {
      void* p = cache->free_blocks[c].back();
      cache->free_blocks[c].pop_back();
      return p;
    }
  } else {
    rounded = (rounded + kPage - 1) / kPage * kPage;
    if (void* p = take_big_block(rounded)) return p;
  }
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw MemoryError(str("out of memory: could not allocate ", nbytes, " bytes on the CPU"));
  return p;
}

void host_free(void* p, size_t nbytes) {
  const size_t rounded = rounded_size(nbytes);
  int c = size_class(rounded);
  if (c >= 0) {
    BlockCache* cache = thread_cache();
    if (cache && cache->free_blocks[c].size() < kBlocksPerClass) {
      cache->free_blocks[c].push_back(p);
      return;
    }
  } else if (keep_big_block(p, (rounded + kPage - 1) / kPage * kPage)) {
    return;
  }
  std::free(p);
}

}  // namespace pe
