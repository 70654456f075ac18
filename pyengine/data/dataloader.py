"""DataLoader: batches of samples in sequential, shuffled or sampler-given order, loaded in the
main process (num_workers=0) or by worker processes (see _multiprocess.py), with PyTorch's
arguments, defaults and errors."""
import multiprocessing

import numpy as np

from ._worker import get_worker_info  # noqa: F401  (re-exported, as torch.utils.data.dataloader does)
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


def default_convert(data):
    """What DataLoader does to each sample when batch_size=None: NumPy arrays and numbers become
    tensors, containers are converted element by element, anything else passes through."""
    import pyengine
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return pyengine.tensor(data)
    if isinstance(data, np.number):
        return pyengine.tensor(data.item())
    if isinstance(data, dict):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (tuple, list)):
        return type(data)(default_convert(d) for d in data)
    return data


def default_collate(samples):
    """Stack a list of samples into a batch: tensors are stacked, NumPy arrays and numbers become
    a tensor, strings stay a list, and tuples/lists/dicts are collated field by field."""
    import pyengine
    first = samples[0]
    if isinstance(first, pyengine.Tensor):
        return pyengine.stack(samples)
    if isinstance(first, np.ndarray):
        return pyengine.tensor(np.stack(samples))
    if isinstance(first, (bool, int, float, np.number)):
        return pyengine.tensor(samples)
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # namedtuple
        return type(first)(*(default_collate(list(field)) for field in zip(*samples)))
    if isinstance(first, (tuple, list)):
        lengths = {len(s) for s in samples}
        if len(lengths) != 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        return type(first)(default_collate(list(field)) for field in zip(*samples))
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(first).__name__}")


def _fetch_map_batch(dataset, indices, collate_fn):
    """The samples of a map-style dataset at `indices`, collated. With the default collate and a
    dataset that fetches a whole batch at once (__getitems__, e.g. TensorDataset), a batch
    costs one gather per tensor."""
    if collate_fn is default_collate and hasattr(dataset, "__getitems__"):
        batch = dataset.__getitems__(indices)  # pyengine's may come collated already (a tuple of batches)
        return batch if isinstance(batch, tuple) else default_collate(batch)
    return collate_fn([dataset[i] for i in indices])


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: the dataset itself decides what comes next."""

    def __iter__(self):
        while True:
            yield None


def _check_context(context, num_workers):
    """multiprocessing_context as PyTorch accepts it: None, a start-method name or a context."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError("multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                         f"but got num_workers={num_workers}")
    if isinstance(context, str):
        valid = multiprocessing.get_all_start_methods()
        if context not in valid:
            raise ValueError(f"multiprocessing_context option should specify a valid start method in {valid!r}, "
                             f"but got multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError("multiprocessing_context option should be a valid context object or a string specifying "
                        f"the start method, but got multiprocessing_context={context}")
    return context


class DataLoader:
    """Iterate over `dataset` in batches, as torch.utils.data.DataLoader.

    num_workers > 0 loads batches in that many worker processes (each with its own copy of the
    dataset and its own seed; see get_worker_info), keeping prefetch_factor batches per worker
    in flight and returning them in order (in_order=False: as they arrive). A worker's exception
    is re-raised here with its traceback; a worker that dies raises RuntimeError; timeout > 0
    bounds the wait for one batch. persistent_workers keeps the workers between epochs.
    pin_memory and pin_memory_device are accepted and have no effect (there is no pinned memory
    on pyengine's CPU path).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             f"multiprocessing. (got num_workers={num_workers!r})")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _check_context(multiprocessing_context, num_workers)
        self.in_order = in_order
        self.persistent_workers = persistent_workers
        self.generator = generator

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # checks batch_size and drop_last

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator = None

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What yields one fetch's index: a batch of indices, or one index without auto-batching."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError when the IterableDataset has no length, as in PyTorch
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return self._single_process_iter()
        from ._multiprocess import MultiProcessIter
        if self.persistent_workers:
            if self._iterator is None:
                self._iterator = MultiProcessIter(self)
            else:
                self._iterator.reset()
            return self._iterator
        return MultiProcessIter(self)

    def _single_process_iter(self):
        if self._iterable:
            it = iter(self.dataset)
            if not self._auto_collation:
                for sample in it:
                    yield self.collate_fn(sample)
                return
            while True:
                batch = []
                for sample in it:
                    batch.append(sample)
                    if len(batch) == self.batch_size:
                        break
                if not batch or (self.drop_last and len(batch) < self.batch_size):
                    return
                yield self.collate_fn(batch)
        for index in self._index_sampler:
            if self._auto_collation:
                yield _fetch_map_batch(self.dataset, index, self.collate_fn)
            else:
                yield self.collate_fn(self.dataset[index])
