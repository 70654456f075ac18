"""pyengine.futures: PyTorch's torch.futures.Future - a value that will exist later, and the
callbacks that run once it does (what a DDP communication hook returns).

A Future is completed with set_result / set_exception. One made by Work.get_future() is
completed by its collective instead; nothing runs a collective in the background here (MPI
progresses when it is asked), so such a future makes progress - and runs its then() callbacks -
whenever it, or a future chained from it, is waited on or asked done()."""
import threading
import traceback
import warnings
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Future"]


class Future(Generic[T]):
    """A value (or an error) that a later set_result / set_exception provides.

    wait() blocks until it is there and returns it (or raises the error); then(callback) returns
    a new Future of callback(this future), run once this one is complete; add_done_callback
    runs a callback without making a future. `Future[Tensor]` is the type a DDP communication
    hook returns."""

    def __init__(self, *, devices=None):
        self._lock = threading.Lock()
        self._completed = threading.Event()
        self._value = None
        self._error = None
        self._callbacks = []  # fn(self), run once on completion, in registration order
        # advance(block): what completes this future without a set_result call - polls (or, with
        # block=True, waits for) the collective or the parent future behind it. None: only
        # set_result / set_exception complete it.
        self._advance = None

    # ----- completing -----
    def set_result(self, result):
        """Complete this future with `result`, and run its callbacks. A future completes once."""
        if not self._complete(result, None):
            raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future can "
                               "only be marked completed once.")

    def set_exception(self, result):
        """Complete this future with the error `result` (an Exception): wait() and value() raise it."""
        if not isinstance(result, BaseException):
            raise AssertionError(f"{result!r} is of type {type(result)}, not an Exception.")
        if not self._complete(None, result):
            raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future can "
                               "only be marked completed once.")

    def _complete(self, value, error):
        """Set the outcome and run the callbacks (outside the lock: a callback may chain futures);
        False when the future was already complete."""
        with self._lock:
            if self._completed.is_set():
                return False
            self._value, self._error = value, error
            self._completed.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)
        return True

    # ----- reading -----
    def done(self):
        """True once this future has a value or an error (it does not block)."""
        self._progress(block=False)
        return self._completed.is_set()

    def wait(self):
        """Block until this future is complete; its value, or raise its error."""
        self._progress(block=True)
        self._completed.wait()
        return self.value()

    def value(self):
        """The value of a completed future (raises its error; a RuntimeError if it is not complete
        yet: call wait(), or read it inside a then() callback)."""
        if not self.done():
            raise RuntimeError("Future.value(): the future is not completed yet; call wait() first, or read the value "
                               "inside a callback passed to then()")
        if self._error is not None:
            raise self._error
        return self._value

    def _progress(self, block):
        if self._advance is not None and not self._completed.is_set():
            self._advance(block)

    # ----- chaining -----
    def then(self, callback):
        """A new Future that completes with callback(this future) once this one is complete (at
        once if it already is). An error raised by the callback - reading the value of a future
        that failed, say - completes the new future with a RuntimeError naming it, as PyTorch's."""
        if not callable(callback):
            raise TypeError(f"Future.then: callback must be callable, got {type(callback).__name__}")
        child = Future()
        child._advance = self._progress  # waiting on the child drives this future

        def run(parent):
            try:
                result = callback(parent)
            except Exception as e:  # noqa: BLE001 - the child future carries it
                error = RuntimeError(f"Got the following error when running the callback: {type(e).__name__}: {e}")
                error.__cause__ = e
                child._complete(None, error)
            else:
                child._complete(result, None)
        self._on_completion(run)
        return child

    def add_done_callback(self, callback):
        """Run callback(this future) once it is complete (at once if it already is). The callback's
        return value is dropped; an error it raises is reported as a warning, as PyTorch logs it."""
        if not callable(callback):
            raise TypeError(f"Future.add_done_callback: callback must be callable, got {type(callback).__name__}")

        def run(fut):
            try:
                callback(fut)
            except Exception as e:  # noqa: BLE001 - nothing waits on a done-callback to receive it
                warnings.warn(f"Got the following error when running the callback: {type(e).__name__}: {e}\n"
                              f"{traceback.format_exc()}", RuntimeWarning, stacklevel=2)
        self._on_completion(run)

    def _on_completion(self, fn):
        with self._lock:
            if not self._completed.is_set():
                self._callbacks.append(fn)
                return
        fn(self)

    @classmethod
    def _of_request(cls, is_completed, wait, result):
        """A future completed by something that only progresses when asked (a collective's Work):
        is_completed() polls it, wait() blocks until it is done (raising its error), result()
        is the value once it is."""
        fut = cls()

        def advance(block):
            if not block and not is_completed():
                return
            try:
                wait()
                value = result()
            except Exception as e:  # noqa: BLE001 - the future carries it
                fut._complete(None, e)
            else:
                fut._complete(value, None)
        fut._advance = advance
        return fut

    def __repr__(self):
        state = "done" if self._completed.is_set() else "pending"
        return f"pyengine.futures.Future({state})"
