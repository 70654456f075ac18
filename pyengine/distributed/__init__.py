"""pyengine.distributed: PyTorch's torch.distributed for data-parallel training across
processes and machines, on MPI (Open MPI or MPICH through mpi4py), and on NVIDIA's NCCL for
CUDA tensors (init_process_group("nccl")).

    mpiexec -n 4 python train.py          # each process: init_process_group("mpi"), then DDP

Collectives work in place on tensors, with PyTorch's names and arguments; contiguous CPU
tensors go to MPI without a copy. Every call is bounded by the process group's timeout, the ranks
are checked to be making the same call on matching tensors, and an uncaught exception on one rank
aborts them all. See docs/scaling.md."""
from ._all_to_all import all_to_all, all_to_all_single
from ._collectives import (P2POp, ReduceOp, all_gather, all_gather_into_tensor, all_reduce, broadcast, gather, irecv,
                           batch_isend_irecv, isend, recv, reduce, reduce_scatter_tensor, scatter, send)
from ._groups import (get_global_rank, get_group_rank, get_process_group_ranks, new_group, new_subgroups,
                      new_subgroups_by_enumeration)
from ._objects import all_gather_object, broadcast_object_list
from ._process_group import ProcessGroup
from ._rank0 import rank0_first, save
from ._state import (GroupMember, barrier, destroy_process_group, get_backend, get_node_local_rank, get_rank,
                     get_world_size, group, init_process_group, is_available, is_initialized, is_mpi_available,
                     is_nccl_available)
from ._work import DistBackendError, DistError, Work
from ..nn.parallel._grad_bucket import GradBucket  # what a DDP communication hook is given

__all__ = ["DistBackendError", "DistError", "GradBucket", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work",
           "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all",
           "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
           "destroy_process_group", "gather", "get_backend", "get_global_rank", "get_group_rank",
           "get_node_local_rank", "get_process_group_ranks", "get_rank", "get_world_size", "group",
           "init_process_group", "irecv", "is_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "isend", "new_group", "new_subgroups", "new_subgroups_by_enumeration", "rank0_first", "recv", "reduce",
           "reduce_scatter_tensor", "save", "scatter", "send"]
