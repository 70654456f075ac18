"""ProcessGroup: a set of ranks that run collectives together - the world (init_process_group)
or a sub-group (new_group) - with the backends that carry its tensors.

Inside a group, ranks are numbered 0 .. size-1 in the order of their global ranks (PyTorch's
"group ranks"); the backends work in group ranks (each group has its own MPI communicator), the
public API speaks global ranks (dst=, src=) or group ranks (group_dst=, group_src=)."""


class ProcessGroup:
    """A group of ranks. rank() and size() are this process's group rank and the group's size."""

    def __init__(self, mpi, ranks, use_nccl, name):
        self.mpi = mpi  # the MPIBackend on the group's own communicator
        self.ranks = tuple(ranks)  # global ranks, by group rank
        self.cuda = None  # with NCCL: the NCCLBackend for CUDA tensors (its communicator made at first use)
        if use_nccl:
            from ._nccl_backend import NCCLBackend
            self.cuda = NCCLBackend(mpi)
        self.group_name = name
        self.destroyed = False

    def rank(self):
        return self.mpi.rank

    def size(self):
        return self.mpi.size

    def name(self):
        """The backend's name: "mpi", or "nccl" (which carries CUDA tensors; CPU tensors go over MPI)."""
        return "nccl" if self.cuda is not None else "mpi"

    def backend_for(self, tensor):
        """The backend that carries `tensor`: NCCL for CUDA tensors when the group has it, else MPI."""
        if self.cuda is not None and tensor.device.type == "cuda":
            return self.cuda
        return self.mpi

    def group_rank(self, global_rank, what, name):
        """The group rank of global rank `global_rank`; ValueError naming the group's ranks if it is
        not in the group."""
        try:
            return self.ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"{what}: {name}={global_rank} is not a rank of this group of {self.size()} processes "
                             f"(its global ranks: {_short(self.ranks)})") from None

    def close(self):
        if not self.destroyed:
            self.destroyed = True
            if self.cuda is not None:
                self.cuda.close()
            self.mpi.close()

    def __repr__(self):
        return f"<pyengine.distributed.ProcessGroup {self.group_name!r} ranks={_short(self.ranks)} {self.name()}>"


def _short(ranks, limit=16):
    """[0, 1, 2] - or the first `limit` ranks and how many more."""
    ranks = list(ranks)
    return str(ranks) if len(ranks) <= limit else f"[{', '.join(map(str, ranks[:limit]))}, ... ({len(ranks)} ranks)]"
