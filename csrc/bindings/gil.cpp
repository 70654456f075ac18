// ReleaseGil's exit path (see bind.h): a thread that finishes a kernel while the interpreter shuts
// down waits here until the process ends, holding no lock and touching nothing Python owns.
#include <unistd.h>

#include "bindings/bind.h"

namespace pe::bind {

void ReleaseGil::park_forever() {
  for (;;) pause();  // returns only after a signal handler ran; wait again
}

}  // namespace pe::bind
