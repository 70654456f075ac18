"""The multi-process DataLoader iterator: worker processes fetch batches (see _worker.py for the
protocol), the main process hands out indices round-robin, keeps prefetch_factor batches per
worker in flight and puts the results back in order.

The task bookkeeping follows PyTorch's _MultiProcessingDataLoaderIter, so batches come in the
same order as PyTorch's (also for IterableDatasets, where the workers take turns). Waiting for
a batch never blocks for long: every _POLL_INTERVAL seconds the workers are checked, so a dead
worker is a RuntimeError naming its pid and exit code, and `timeout` bounds the wait.
"""
import itertools
import multiprocessing
import os
import pickle
import queue
import signal
import time
import weakref

from ._worker import _RESUMED, ExceptionWrapper, _IterableEnd, _Resume, worker_loop

_POLL_INTERVAL = 0.5


def _shutdown(workers, index_queues, result_queue, done_event, grace=5.0):
    """Stop the workers (asking first, then terminating those not stopped within `grace`
    seconds) and close the queues."""
    done_event.set()
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + grace
    for w in workers:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
        if w.is_alive():
            w.terminate()
            w.join(timeout=1.0)
    # The index queues' feeder threads finish now (their readers are gone, so nothing can block
    # them), not at some later moment when their pipes' descriptor numbers may belong to the
    # queues of the next loader.
    for q in index_queues:
        q.close()
        q.join_thread()
    result_queue.close()


def _death_note(worker):
    code = worker.exitcode
    if code is not None and code < 0:
        try:
            return f"pid {worker.pid}: killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"pid {worker.pid}: killed by signal {-code}"
    return f"pid {worker.pid}: exit code {code}"


class MultiProcessIter:
    """One pass over a DataLoader with num_workers > 0 (reused across passes with persistent_workers)."""

    def __init__(self, loader):
        from .sampler import _RandomSource
        self._loader = loader
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._in_order = loader.in_order
        self._persistent = loader.persistent_workers
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        base_seed = int(_RandomSource(loader.generator).for_pass().integers(0, 2 ** 62))

        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues, self._workers = [], []
        for worker_id in range(self._num_workers):
            index_queue = ctx.Queue()
            worker = ctx.Process(
                target=worker_loop, daemon=True,
                args=(loader.dataset, loader._iterable, index_queue, self._result_queue, self._done_event,
                      loader._auto_collation, loader.collate_fn, loader.batch_size, loader.drop_last,
                      base_seed + worker_id, loader.worker_init_fn, worker_id, self._num_workers, os.getpid()))
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._index_queues, self._result_queue,
                                           self._done_event)
        self._start_pass()

    def _start_pass(self):
        self._sampler_iter = iter(self._loader._index_sampler)
        self._send_idx = 0  # the next task id to hand out
        self._rcvd_idx = 0  # the next task id to return
        self._task_info = {}  # task id -> (worker id,) while in flight, (worker id, data) once back early
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch):
            self._try_put_index()

    def reset(self):
        """Start a new pass with the same (persistent) workers: they restart their iterators,
        and whatever the previous pass left in flight is drained first."""
        for q in self._index_queues:
            q.put(_Resume())
        waiting = self._num_workers
        while waiting:
            task_id, _ = self._get_data(all_workers=True)
            if task_id == _RESUMED:
                waiting -= 1
        self._start_pass()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _try_put_index(self):
        if self._tasks_outstanding >= self._prefetch:
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next worker that still has data
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def __next__(self):
        while True:
            # skip the tasks of workers that ran out of data (IterableDataset)
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._workers_status[info[0]]):
                    break
                self._task_info.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._finalizer()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:  # it came back earlier
                data = self._task_info.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process(data)

            task_id, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableEnd):
                self._workers_status[data.worker_id] = False
                if not self._persistent:
                    self._index_queues[data.worker_id].put(None)
                self._try_put_index()
                continue
            if task_id != self._rcvd_idx and self._in_order:
                self._task_info[task_id] += (data,)  # early: keep it until its turn
                continue
            del self._task_info[task_id]
            if task_id == self._rcvd_idx:
                self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _get_data(self, all_workers=False):
        """The next (task id, data) from the result queue, checking on the workers while waiting."""
        start = time.monotonic()
        while True:
            wait = _POLL_INTERVAL
            if self._timeout > 0:
                wait = max(0.0, min(wait, self._timeout - (time.monotonic() - start)))
            try:
                task_id, payload = self._result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [w for i, w in enumerate(self._workers)
                        if (all_workers or self._workers_status[i]) and not w.is_alive()]
                if dead:
                    self._abort()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(str(w.pid) for w in dead)}) exited "
                                       f"unexpectedly ({'; '.join(_death_note(w) for w in dead)})") from None
                if self._timeout > 0 and time.monotonic() - start >= self._timeout:
                    self._abort()
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
                continue
            except (OSError, ValueError, EOFError) as e:  # the queue was closed under us
                raise RuntimeError(f"DataLoader worker queue failed: {e}") from e
            return task_id, pickle.loads(payload)

    def _abort(self):
        """Shut down at once, without waiting for workers that may be stuck in user code."""
        state = self._finalizer.detach()
        if state is not None:
            _shutdown(*state[2], grace=0.0)

    def __del__(self):
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()
