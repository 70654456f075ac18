#include "core/dispatch.h"

#include <algorithm>
#include <mutex>

namespace pe {
namespace {

struct SlotRecord {
  const void* slot;
  const char* name;
  bool (*has_cuda)(const void*);
};

// Filled by static initialisers while the module loads; read later by a test.
std::vector<SlotRecord>& records() {
  static std::vector<SlotRecord> r;
  return r;
}
std::mutex& records_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void record_slot(const void* slot, const char* name, bool (*has_cuda)(const void*)) {
  std::lock_guard<std::mutex> lk(records_mutex());
  auto& r = records();
  if (std::none_of(r.begin(), r.end(), [&](const SlotRecord& e) { return e.slot == slot; }))
    r.push_back({slot, name, has_cuda});
}

std::vector<std::pair<std::string, bool>> kernel_slots() {
  std::lock_guard<std::mutex> lk(records_mutex());
  std::vector<std::pair<std::string, bool>> out;
  for (const SlotRecord& e : records()) out.emplace_back(e.name, e.has_cuda(e.slot));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pe
