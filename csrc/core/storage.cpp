#include "core/storage.h"

#include "core/allocator.h"

namespace pe {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  auto s = std::make_shared<Storage>();
  s->nbytes = nbytes;
  s->device = device;
  if (device.is_cpu()) {
    // Freed by ~Storage, not through `owner`: one allocation fewer per tensor.
    s->data = host_alloc(nbytes);
    s->owns_host_memory = true;
  } else {
    check_device(device);
    int index = device.index;
    void* p = cuda_hooks().alloc(nbytes, index);
    s->data = p;
    s->owner = std::shared_ptr<void>(p, [index](void* q) { cuda_hooks().free(q, index); });
  }
  return s;
}

Storage::~Storage() {
  if (owns_host_memory) host_free(data, nbytes);
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device,
                                       std::shared_ptr<void> owner) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->device = device;
  s->owner = std::move(owner);
  return s;
}

}  // namespace pe
