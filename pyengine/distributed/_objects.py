"""Collectives on picklable Python objects (PyTorch's all_gather_object, broadcast_object_list):
a small config, a metric, a vocabulary - not tensors. Pickled bytes travel through the same
bounded, non-blocking MPI calls as tensors; like PyTorch's, unpickling trusts the other ranks."""
import pickle

import numpy as np

from ._collectives import _root, gather_ints
from ._state import member_group
from ._work import Work


def _as_bytes(obj):
    return np.frombuffer(pickle.dumps(obj), dtype=np.uint8)


def all_gather_object(object_list, obj, group=None):
    """object_list[r] = group rank r's `obj`, on every rank (object_list: one entry per rank of the group)."""
    g = member_group(group, "all_gather_object")
    if g is None:
        return None
    pg = g.mpi
    if not isinstance(object_list, list) or len(object_list) != pg.size:
        raise ValueError(f"all_gather_object: object_list must be a list of {pg.size} entries (one per rank), got "
                         f"{len(object_list) if isinstance(object_list, list) else type(object_list).__name__}")
    mine = _as_bytes(obj)
    sizes = gather_ints(pg, [mine.size], "all_gather_object's sizes")[:, 0]
    everyone = np.empty(int(sizes.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    Work("all_gather_object", [pg.comm.Iallgatherv(mine, [everyone, (sizes, offsets[:-1])])], pg.timeout,
         buffers=(mine, everyone)).wait()
    for r in range(pg.size):
        object_list[r] = pickle.loads(everyone[offsets[r]:offsets[r + 1]].tobytes())


def broadcast_object_list(object_list, src=None, group=None, group_src=None):
    """Rank src's object_list entries replace every other rank's (the lists have the same length)."""
    g = member_group(group, "broadcast_object_list")
    if g is None:
        return None
    pg = g.mpi
    src = _root(g, src, group_src, "broadcast_object_list", "src")
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: object_list must be a list, got {type(object_list).__name__}")
    payload = _as_bytes(object_list) if pg.rank == src else None
    size = np.array([payload.size if payload is not None else 0, len(object_list)], dtype=np.int64)
    Work("broadcast_object_list's size", [pg.comm.Ibcast(size, root=src)], pg.timeout, buffers=(size,)).wait()
    if size[1] != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sends {size[1]} objects, this rank's object_list has "
                         f"{len(object_list)} entries")
    if payload is None:
        payload = np.empty(int(size[0]), dtype=np.uint8)
    Work("broadcast_object_list", [pg.comm.Ibcast(payload, root=src)], pg.timeout, buffers=(payload,)).wait()
    if pg.rank != src:
        object_list[:] = pickle.loads(payload.tobytes())
