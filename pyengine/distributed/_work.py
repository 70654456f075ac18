"""Work: the handle of a collective in flight, and the one place that waits for it.

Every collective - blocking or not - is started as non-blocking MPI requests (or NCCL calls on
the GPU's stream, with an event after them) and finished here, by polling them against the
process group's timeout. A rank that failed, hung or called another
collective therefore makes the others raise DistBackendError after the timeout instead of
waiting forever inside MPI (MPI's blocking calls cannot be interrupted)."""
import time


class DistError(RuntimeError):
    """A failure of pyengine.distributed (PyTorch's torch.distributed.DistError)."""
    __module__ = "pyengine.distributed"


class DistBackendError(DistError):
    """The communication backend failed: a timeout, or ranks that disagree about a collective."""
    __module__ = "pyengine.distributed"


# Polling: spin first (a collective between local ranks completes in microseconds), then sleep
# in growing steps so a rank waiting for a slow peer leaves the core to it.
_SPINS = 200
_MAX_SLEEP = 1e-3


class Work:
    """A collective started with async_op=True (PyTorch's Work): wait() blocks until it is done
    on this rank - raising DistBackendError after the process group's timeout - and then its
    results are in the tensors given; is_completed() asks without blocking.

    A collective may run in steps: `then` is called when the current requests are done and
    returns the next (requests, then) pair, or None when the work is finished (a staged copy
    written back, a received header followed by its payload)."""

    def __init__(self, what, requests, timeout, then=None, result=None, buffers=(), writes=True):
        self._what = what
        self._writes = writes  # the result tensors were written: their autograd version moves, as in-place ops do
        self._buffers = buffers  # every array MPI reads or writes stays alive until the work is done
        self._requests = list(requests)
        self._timeout = timeout
        self._then = then
        self._result = result
        self._done = False
        self._error = None
        self._finally = []  # run once every step is done (results copied out of scratch memory)
        self.on_timeout = None  # called before the timeout is raised (NCCL: abort the communicator)
        self._together = ()  # works of one batch, advanced whichever of them is waited on

    def is_completed(self):
        return self._poll()

    def is_success(self):
        return self._done and self._error is None

    def exception(self):
        return self._error

    def result(self):
        """The output tensors, once wait() has returned."""
        return self._result

    def get_future(self):
        """A pyengine.futures.Future of the list of this collective's result tensors (PyTorch's
        Work.get_future; an all_reduce's: [tensor]). No thread completes a collective here: the
        future progresses when it, or a future chained from it with then(), is waited on or asked
        done(), and a failed collective makes wait() raise its error."""
        from ..futures import Future
        return Future._of_request(self.is_completed, self.wait, lambda: list(self._result or ()))

    def wait(self, timeout=None):
        """Block until this collective is done on this rank; True. timeout (a timedelta or
        seconds) overrides the process group's."""
        limit = self._timeout if timeout is None else getattr(timeout, "total_seconds", lambda: timeout)()
        deadline = time.monotonic() + limit
        spins = 0
        while not self._poll():
            spins += 1
            if spins > _SPINS:
                if time.monotonic() > deadline:
                    if self.on_timeout is not None:
                        self.on_timeout()
                    self._error = DistBackendError(
                        f"pyengine.distributed: {self._what} timed out after {limit:g} s on this rank: another "
                        f"rank did not take part (it failed, hung, or called a different collective)")
                    raise self._error
                time.sleep(min(_MAX_SLEEP, 1e-5 * (spins - _SPINS)))
        if self._error is not None:
            raise self._error
        return True

    def _poll(self):
        """Advance this work and those of its batch: True once this one is done."""
        for other in self._together:
            if other is not self:
                other._advance()
        return self._advance()

    def _advance(self):
        """Advance: True once every step is done. A step's error is kept and raised by wait().
        A request is anything with Test(): mpi4py's requests, the NCCL backend's events."""
        while not self._done:
            try:
                if not all(r.Test() for r in self._requests):
                    return False
                then, self._then = self._then, None
                if then is not None:
                    step = then()
                    self._requests, self._then = step if step is not None else ([], None)
                    continue
                for final in self._finally:
                    final()
                if self._writes:
                    for t in self._result or ():
                        t._impl.bump_version()
            except Exception as e:  # noqa: BLE001 - reported by wait()
                self._error = e
            self._done = True
        return True

    @staticmethod
    def batch(works):
        """Tie works together: waiting on one advances all (a receive's second step - its payload
        after its header - is posted even while its batch's send is the one being waited on)."""
        works = list(works)
        for w in works:
            w._together = works
        return works

    def add_final(self, fn):
        """Run fn() after the last step (not when an earlier step failed)."""
        self._finally.append(fn)
        return self
