"""Rank 0 first: the work one process should do for all (write a checkpoint, prepare a data set)."""
import contextlib

from ._state import barrier, get_rank


@contextlib.contextmanager
def rank0_first():
    """Run the body on rank 0 first and on the other ranks after it (e.g. rank 0 unpacks a data
    set, the others then read it):

        with pyengine.distributed.rank0_first():
            train_set = load_dataset(...)
    """
    if get_rank() != 0:
        barrier()
    yield
    if get_rank() == 0:
        barrier()


def save(obj, f):
    """pyengine.save(obj, f) on rank 0 only, then every rank waits until the file is written (so
    each may load it at once). The ranks' models are equal under DistributedDataParallel, so one
    copy is the checkpoint."""
    if get_rank() == 0:
        from ..io import save as save_file
        save_file(obj, f)
    barrier()
