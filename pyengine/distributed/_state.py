"""The default process group (which backend, this process's rank, the world size, the
timeout) and how a `group=` argument finds its ProcessGroup.

Rank and world size come from the MPI launcher (mpiexec / mpirun); a program started without one
is a world of one process (MPI's singleton start), so the same script runs alone or launched."""
import datetime
import importlib.util
import os
import sys
import time
import warnings

from ._mpi_backend import MPIBackend
from ._process_group import ProcessGroup

_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default for its CPU backends
_BACKENDS = ("mpi", "nccl")
# PyTorch's CPU backend name: a script written for torch.distributed says "gloo"; here the CPU
# backend is MPI, so "gloo" means "mpi" (the processes still come from mpiexec, not torchrun).
_CPU_BACKEND_ALIASES = ("gloo",)
_ABORT_GRACE_S = 1.0


class _Named:
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return self._name


class group:  # noqa: N801 - PyTorch's name: dist.group.WORLD
    """WORLD stands for the default group (every rank), wherever a `group=` is taken."""
    WORLD = _Named("pyengine.distributed.group.WORLD")


class GroupMember:
    """PyTorch's GroupMember: WORLD, and NON_GROUP_MEMBER - what new_group returns on the ranks
    it leaves out (a collective given it does nothing and returns None, as in PyTorch)."""
    WORLD = group.WORLD
    NON_GROUP_MEMBER = _Named("pyengine.distributed.GroupMember.NON_GROUP_MEMBER")


class _State:
    world = None            # the default ProcessGroup while initialized
    groups = []             # the sub-groups new_group made (destroyed with the world)
    previous_excepthook = None


_pg = _State()


def is_available():
    """True: pyengine.distributed can be imported (its backends may still be missing)."""
    return True


def is_mpi_available():
    """Whether the 'mpi' backend can start: mpi4py is installed."""
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available():
    """Whether this pyengine has the 'nccl' backend: built for real CUDA GPUs, and the NCCL library
    installed (pip install nvidia-nccl-cu12). As in PyTorch, it says nothing of whether a GPU is
    present (pyengine.cuda.is_available() does). The library is only loaded once a CUDA tensor
    reaches a collective."""
    from .. import cuda
    from . import _nccl_lib
    return cuda.is_built() and not cuda.is_emulated() and _nccl_lib.find_library() is not None


def is_initialized():
    """Whether init_process_group has been called (and destroy_process_group not since)."""
    return _pg.world is not None


def _seconds(timeout):
    if timeout is None:
        return _DEFAULT_TIMEOUT.total_seconds()
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be a positive datetime.timedelta, got {timeout!r}")
    return float(seconds)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join the default process group. backend: "mpi" (CPU tensors; the default; PyTorch's "gloo"
    is taken as "mpi") - rank and world size come from the MPI launcher (`mpiexec -n 4 python
    train.py`); world_size / rank, when given (or set in the environment as WORLD_SIZE / RANK, the
    way torchrun starts processes), must agree with it. timeout (a timedelta; default 30 minutes)
    bounds every collective: a rank that waits longer for the others raises DistBackendError.

    backend="nccl": CUDA tensors are reduced on the GPUs by NVIDIA's NCCL (loaded at the first
    CUDA collective; pip install nvidia-nccl-cu12); CPU tensors still go over MPI. Each rank
    uses its own GPU: put its tensors on f"cuda:{get_node_local_rank()}".

    Once initialized, an uncaught exception on any rank aborts every rank (MPI_Abort) after its
    traceback is printed, so the others never wait for a rank that is gone."""
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    backend = "mpi" if backend is None else str(backend).lower()
    backend = "mpi" if backend in _CPU_BACKEND_ALIASES else backend
    if backend not in _BACKENDS:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; pyengine has {list(_BACKENDS)} "
                         f"('mpi' for CPU tensors, launched with mpiexec; 'gloo' is taken as 'mpi')")
    if backend == "nccl":
        _check_nccl_can_start()
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not supported: with the 'mpi' "
                         f"backend the MPI launcher sets up the processes (leave init_method unset)")
    if store is not None:
        raise ValueError("init_process_group: store is not supported by the 'mpi' backend")
    seconds = _seconds(timeout)
    pg = MPIBackend(seconds)
    for name, given, actual in (("world_size", world_size, pg.size), ("rank", rank, pg.rank)):
        if given not in (-1, None) and given != actual:
            pg.close()
            raise ValueError(f"init_process_group: {name}={given} was given, but the MPI launcher started "
                             f"this process with {name} {actual}")
    for var, actual in (("WORLD_SIZE", pg.size), ("RANK", pg.rank)):
        # torchrun's variables, disagreeing with MPI: the processes were not started by mpiexec, and
        # each would silently train alone as a world of one.
        if os.environ.get(var, str(actual)) != str(actual):
            pg.close()
            raise ValueError(f"init_process_group: the environment says {var}={os.environ[var]} (a torchrun-style "
                             f"launch?), but MPI started this process as {var.lower()} {actual}: start pyengine's "
                             f"processes with mpiexec -n N")
    _pg.world = ProcessGroup(pg, range(pg.size), backend == "nccl", group_name or "default_pg")
    if pg.size > 1:
        _pg.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def _check_nccl_can_start():
    """The 'nccl' backend's preconditions, checked at init_process_group as PyTorch does: CUDA
    GPUs (not the emulated one, which NCCL cannot drive) and the NCCL library."""
    from .. import cuda
    from . import _nccl_lib
    if _nccl_lib.test_library_in_use():
        return
    if not cuda.is_available():
        raise RuntimeError("init_process_group: the 'nccl' backend needs CUDA GPUs, and "
                           "pyengine.cuda.is_available() is False here; use backend='mpi' for CPU tensors")
    if cuda.is_emulated():
        raise RuntimeError("init_process_group: the 'nccl' backend needs real CUDA GPUs; this pyengine runs the "
                           "emulated GPU (PYENGINE_CUDA=EMU), which NCCL cannot drive: use backend='mpi', which "
                           "carries CUDA tensors through host memory")
    if _nccl_lib.find_library() is None:
        raise RuntimeError(f"init_process_group: the 'nccl' backend needs the NCCL library, and none was found: "
                           f"{_nccl_lib._INSTALL}")


def _abort_on_uncaught(kind, value, tb):
    """An uncaught exception on one rank: print it, then abort the whole job (the other ranks
    would otherwise wait for this one until their timeout)."""
    previous = _pg.previous_excepthook or sys.__excepthook__
    previous(kind, value, tb)
    backend = _pg.world.mpi if _pg.world is not None else None
    if backend is not None:
        sys.stderr.write(f"pyengine.distributed: rank {backend.rank} failed; aborting all {backend.size} ranks\n")
        sys.stderr.flush()
        # The launcher forwards each rank's output asynchronously and MPI_Abort tears the job
        # down at once: give it a moment to deliver the traceback, the one clue to the failure.
        time.sleep(_ABORT_GRACE_S)
        backend.MPI.COMM_WORLD.Abort(1)


def destroy_process_group(group=None):
    """Leave the default process group and every sub-group (init_process_group may be called
    again); given a sub-group, destroy only that one."""
    g = resolve_group(group, "destroy_process_group")
    if g is None:
        return
    if g is not _pg.world:
        g.close()
        _pg.groups.remove(g)
        return
    for sub in _pg.groups:
        sub.close()
    _pg.groups = []
    _pg.world = None
    if _pg.previous_excepthook is not None:
        sys.excepthook, _pg.previous_excepthook = _pg.previous_excepthook, None
    g.close()


def world_group():
    """The default ProcessGroup, or PyTorch's error when there is none."""
    if _pg.world is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _pg.world


def resolve_group(g, what):
    """The ProcessGroup a `group=` argument names (None and group.WORLD: the default group), or
    None on a rank that new_group left out of it."""
    world = world_group()
    if g is None or g is group.WORLD:
        return world
    if g is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(g, ProcessGroup):
        raise ValueError(f"{what}: group must be None, pyengine.distributed.group.WORLD or a group new_group made, "
                         f"got {g!r}")
    if g.destroyed:
        raise ValueError(f"{what}: {g!r} was destroyed (destroy_process_group)")
    return g


def member_group(g, what):
    """resolve_group, warning (as PyTorch does) when this rank is not in the group: the caller
    then does nothing and returns None."""
    pg = resolve_group(g, what)
    if pg is None:
        warnings.warn(f"Running {what} on global rank {world_group().rank()} which does not belong to the given "
                      f"group.", stacklevel=3)
    return pg


def get_rank(group=None):
    """This process's rank in the group: 0 .. get_world_size(group) - 1 (-1 if it is not in it)."""
    g = resolve_group(group, "get_rank")
    return -1 if g is None else g.rank()


def get_world_size(group=None):
    """The number of processes in the group (-1 on a rank that is not in it)."""
    g = resolve_group(group, "get_world_size")
    return -1 if g is None else g.size()


def get_backend(group=None):
    """The backend's name: "mpi", or "nccl" (which carries CUDA tensors; CPU tensors go over MPI)."""
    g = resolve_group(group, "get_backend")
    if g is None:
        raise ValueError("get_backend: this rank is not in the group")
    return g.name()


# Where launchers put a process's rank on its own machine: torchrun, MPICH/Hydra, Open MPI.
_LOCAL_RANK_VARS = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")


def get_node_local_rank(fallback_rank=None):
    """This process's rank among those on its machine (to pick a GPU: f"cuda:{local_rank}"), from
    the launcher's environment: LOCAL_RANK (PyTorch's), else MPICH's or Open MPI's variable; else
    fallback_rank when given; else RuntimeError. Needs no process group."""
    for var in _LOCAL_RANK_VARS:
        if var in os.environ:
            return int(os.environ[var])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(f"get_node_local_rank: none of {', '.join(_LOCAL_RANK_VARS)} is in the environment (no "
                       f"launcher set it); pass fallback_rank= to run without one")


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group has reached this barrier (or the timeout has passed)."""
    g = member_group(group, "barrier")
    if g is None:
        return None
    work = g.mpi.start_barrier()
    if async_op:
        return work
    work.wait()
