"""Sub-groups (PyTorch's new_group and its relatives): collectives among some of the ranks - one
machine's ranks, pipeline stages, a model-parallel shard - each group on its own MPI
communicator (and, with NCCL, its own NCCL communicator, made at its first CUDA collective).

new_group is a collective over every rank of the default group, members or not, as in PyTorch:
the ranks first check (a small all-gather, bounded by the timeout) that they all ask for the same
group, then split the world's communicator."""
import zlib

from ._collectives import gather_ints
from ._mpi_backend import MPIBackend
from ._objects import all_gather_object
from ._process_group import ProcessGroup, _short
from ._state import (_CPU_BACKEND_ALIASES, GroupMember, _check_nccl_can_start, _pg, _seconds, resolve_group,
                     world_group)
from ._work import DistBackendError


def _rank_list(ranks, size, what):
    if ranks is None:
        return list(range(size))
    try:
        ranks = [r for r in ranks]
    except TypeError:
        raise TypeError(f"{what}: ranks must be a list of ranks, got {ranks!r}") from None
    for r in ranks:
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < size:
            raise ValueError(f"{what}: ranks must be ranks of the default group (0 .. {size - 1}), got {r!r}")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"{what}: ranks must not repeat, got {ranks}")
    if not ranks:
        raise ValueError(f"{what}: ranks must not be empty")
    return sorted(ranks)  # group ranks follow global ranks, whatever order they were given in


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of `ranks` (global ranks; None: all). Every rank of the default group must call it,
    with the same ranks; the ranks left out get GroupMember.NON_GROUP_MEMBER. backend: the
    default group's unless given ("mpi"/"gloo", or "nccl" for CUDA tensors); timeout: the default
    group's unless given."""
    what = "new_group"
    world = world_group()
    if use_local_synchronization:
        raise ValueError(f"{what}: use_local_synchronization=True is not supported: every rank of the default "
                         f"group calls new_group (the MPI communicator is split over all of them)")
    ranks = _rank_list(ranks, world.size(), what)
    backend = world.name() if backend is None else str(backend).lower()
    backend = "mpi" if backend in _CPU_BACKEND_ALIASES else backend
    if backend not in ("mpi", "nccl"):
        raise ValueError(f"{what}: unknown backend {backend!r}; pyengine has ['mpi', 'nccl']")
    if backend == "nccl" and world.cuda is None:
        _check_nccl_can_start()
    seconds = world.mpi.timeout if timeout is None else _seconds(timeout)
    _agree(world, ranks, backend, what)
    MPI = world.mpi.MPI
    member = world.rank() in ranks
    comm = world.mpi.comm.Split(0 if member else MPI.UNDEFINED, world.rank())
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    mpi = MPIBackend(seconds, comm=comm)
    g = ProcessGroup(mpi, ranks, backend == "nccl", group_desc or f"group{len(_pg.groups) + 1}")
    _pg.groups.append(g)
    return g


def _agree(world, ranks, backend, what):
    """Every rank must be creating the same group: DistBackendError naming each rank's request."""
    mine = [len(ranks), zlib.crc32(repr(ranks).encode()), ("mpi", "nccl").index(backend)]
    everyone = gather_ints(world.mpi, mine, f"{what}'s agreement check")
    if (everyone == everyone[world.rank()]).all():
        return
    asked = [None] * world.size()
    all_gather_object(asked, (ranks, backend))  # what each asked for, to say so
    lines = "; ".join(f"rank {r}: ranks {_short(rk)} backend {b}" for r, (rk, b) in enumerate(asked))
    raise DistBackendError(f"pyengine.distributed: the ranks called new_group with different ranks or backends "
                           f"(this is rank {world.rank()}): {lines}")


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None, pg_options=None,
                                 group_desc=None):
    """One group per list of ranks (the lists must not overlap); (this rank's group or None, all
    groups this rank made - its own, as in PyTorch each rank keeps only the groups it is in)."""
    lists = [list(r) for r in ranks_per_subgroup_list]
    seen = [r for rs in lists for r in rs]
    if len(set(seen)) != len(seen):
        raise ValueError(f"new_subgroups_by_enumeration: a rank is in more than one subgroup: {lists}")
    mine, groups = None, []
    for rs in lists:
        g = new_group(rs, timeout=timeout, backend=backend, group_desc=group_desc)
        if g is not GroupMember.NON_GROUP_MEMBER:
            mine = g
            groups.append(g)
    return mine, groups


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None, group_desc=None):
    """Cut the default group into consecutive groups of group_size ranks (default: the number of
    CUDA devices, i.e. one group per machine); (this rank's group, its groups)."""
    world = world_group()
    if group is not None:
        raise ValueError("new_subgroups: group is not supported (subgroups of the default group only)")
    if group_size is None:
        from .. import cuda
        group_size = cuda.device_count()
    if isinstance(group_size, bool) or not isinstance(group_size, int) or not 0 < group_size <= world.size():
        raise ValueError(f"new_subgroups: group_size must be in 1 .. {world.size()}, got {group_size!r}")
    if world.size() % group_size:
        raise ValueError(f"new_subgroups: the world size {world.size()} is not divisible by group_size {group_size}")
    lists = [list(range(s, s + group_size)) for s in range(0, world.size(), group_size)]
    return new_subgroups_by_enumeration(lists, timeout=timeout, backend=backend, group_desc=group_desc)


def get_process_group_ranks(group):
    """The global ranks of `group`, in group-rank order."""
    g = resolve_group(group, "get_process_group_ranks")
    if g is None:
        raise ValueError("get_process_group_ranks: this rank is not in the group")
    return list(g.ranks)


def get_global_rank(group, group_rank):
    """The global rank of `group`'s rank group_rank."""
    g = resolve_group(group, "get_global_rank")
    if g is None or isinstance(group_rank, bool) or not isinstance(group_rank, int) \
            or not 0 <= group_rank < len(g.ranks):
        raise ValueError(f"get_global_rank: group rank {group_rank!r} is not part of the group")
    return g.ranks[group_rank]


def get_group_rank(group, global_rank):
    """`group`'s rank for global rank global_rank."""
    g = resolve_group(group, "get_group_rank")
    if g is None or global_rank not in g.ranks:
        raise ValueError(f"get_group_rank: global rank {global_rank!r} is not part of the group")
    return g.ranks.index(global_rank)

