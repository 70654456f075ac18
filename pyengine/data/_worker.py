"""What runs inside a DataLoader worker process: the fetch loop, get_worker_info(), and the
wrapper that carries a worker's exception (with its traceback) back to the main process.

Protocol (the main side is in _multiprocess.py). The main process puts (task_id, index) on a
worker's own index queue - index is a list of sample indices (a batch), one index (batch_size
None), or None for an IterableDataset (take the next batch from the worker's iterator) - and
the worker answers on the shared result queue with (task_id, pickled data), where data is the
batch, an ExceptionWrapper, or _IterableEnd when its share of an IterableDataset is exhausted.
_Resume (persistent workers, next epoch) restarts an iterable dataset's iterator and is answered
with (_RESUMED, None); None stops the worker (done_event set: the loader is shutting down).
"""
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

# Seconds between checks that the main process is still alive while a worker waits for work.
_STATUS_CHECK_INTERVAL = 1.0

_worker_info = None


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker knows about itself (torch.utils.data.get_worker_info())."""
    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """In a DataLoader worker process: its WorkerInfo (id, num_workers, seed, and its copy of the
    dataset - use it to shard an IterableDataset); in the main process: None."""
    return _worker_info


class _IterableEnd:
    """A worker's answer once its iterator of an IterableDataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _Resume:
    """Sent to persistent workers at the start of an epoch: restart the dataset's iterator."""


_RESUMED = -1  # the task id of a worker's answer to _Resume


class ExceptionWrapper:
    """An exception caught in a worker, re-raised in the main process with the worker's traceback."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyError(msg)  # KeyError quotes its message; keep the traceback readable
        try:
            exception = self.exc_type(msg)
        except Exception:  # an exception type that needs other arguments
            raise RuntimeError(msg) from None
        raise exception


def _seed_worker(seed):
    """Each worker gets its own seed for pyengine, random and NumPy's global generator."""
    import pyengine
    pyengine.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)


def _fetch(dataset, index, auto_collation, collate_fn):
    """The samples at `index` (a list when batching), collated."""
    from .dataloader import _fetch_map_batch
    if not auto_collation:
        return collate_fn(dataset[index])
    return _fetch_map_batch(dataset, index, collate_fn)


def _next_iterable_batch(it, batch_size, drop_last, auto_collation, collate_fn):
    """The next batch from the worker's iterator of an IterableDataset, or None when exhausted."""
    if not auto_collation:
        try:
            return collate_fn(next(it))
        except StopIteration:
            return None
    batch = []
    for sample in it:
        batch.append(sample)
        if len(batch) == batch_size:
            break
    if not batch or (drop_last and len(batch) < batch_size):
        return None
    return collate_fn(batch)


def _pickled(data, worker_id):
    """data pickled here, not in the queue's feeder thread, so that a batch that cannot be pickled
    becomes an error the main process sees instead of a batch that never arrives."""
    try:
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        if isinstance(data, ExceptionWrapper):  # an exception class the main process could not import
            data.exc_type = RuntimeError
            return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        return pickle.dumps(ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id} "
                                             "(pickling the batch for the main process)"))


def worker_loop(dataset, iterable, index_queue, result_queue, done_event, auto_collation, collate_fn, batch_size,
                drop_last, seed, init_fn, worker_id, num_workers, parent_pid):
    """The body of one worker process."""
    global _worker_info
    import os

    import pyengine
    pyengine.set_num_threads(1)  # one thread per worker, as in PyTorch; also keeps OpenMP fork-safe
    _seed_worker(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)

    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")

    it = None
    exhausted = False
    while True:
        try:
            task = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
        except queue.Empty:
            if os.getppid() != parent_pid:  # the main process is gone: nobody will read our results
                result_queue.cancel_join_thread()
                return
            continue
        if task is None:
            break
        if isinstance(task, _Resume):
            it, exhausted = None, False
            result_queue.put((_RESUMED, pickle.dumps(None)))  # after every result of the previous pass
            continue
        task_id, index = task
        if init_error is not None:
            data = init_error
        elif iterable and exhausted:
            data = _IterableEnd(worker_id)
        else:
            try:
                if iterable:
                    if it is None:
                        it = iter(dataset)
                    data = _next_iterable_batch(it, batch_size, drop_last, auto_collation, collate_fn)
                    if data is None:
                        data, exhausted = _IterableEnd(worker_id), True
                else:
                    data = _fetch(dataset, index, auto_collation, collate_fn)
            except Exception:
                data = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
        payload = _pickled(data, worker_id)
        result_queue.put((task_id, payload))
        del data, payload
    if done_event.is_set():  # the loader is shutting down: nobody reads the results any more
        result_queue.cancel_join_thread()
    else:
        # Retired mid-pass (its share of an IterableDataset is done): flush what is buffered before
        # exiting. A process that exits while its queue thread writes takes the result queue's
        # cross-process write lock with it, and the other workers' results would never arrive.
        result_queue.close()
        result_queue.join_thread()
