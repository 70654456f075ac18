"""The collectives and point-to-point calls, with PyTorch's names and arguments.

Every call first checks its arguments on this rank, then (except the calls DDP makes on tensors
it has already checked) that all ranks are making the same call on tensors of the same dtype and
shape: one small all-gather of each rank's signature. MPI itself would sum mismatched buffers
into garbage, truncate them or hang; this turns that into a DistBackendError naming what each
rank passed."""
import enum

import numpy as np

from ..tensor import Tensor
from ._state import member_group, resolve_group
from ._work import DistBackendError, Work

_DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
_MAX_DIMS = 8  # dims kept in a signature; the element count covers the rest


class ReduceOp(enum.Enum):
    """How all_reduce / reduce / reduce_scatter_tensor combine the ranks' tensors. AVG is SUM
    divided by the world size (floating-point tensors only); BAND/BOR/BXOR are bitwise (integer
    and bool tensors)."""
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


_CALLS = ("all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter_tensor", "gather",
          "scatter", "reduce", "send")


_DEVICES = ("cpu", "cuda")


def signature(call, tensor, root=-1, op=None):
    """What this rank is about to do, as int64s: the call, its root rank, its op, the tensor's
    dtype, device type (with NCCL, CUDA and CPU tensors take different paths), element count,
    rank and leading dims."""
    shape = tuple(tensor.shape)
    dims = list(shape[:_MAX_DIMS]) + [-1] * (_MAX_DIMS - min(len(shape), _MAX_DIMS))
    return [_CALLS.index(call), root, -1 if op is None else op.value, _DTYPES.index(tensor.dtype.name),
            _DEVICES.index(tensor.device.type), tensor.numel(), len(shape)] + dims


def describe_tensor(sig):
    """'float32 tensor of shape (3, 4)' (' on cuda' for a CUDA tensor) for a signature."""
    dtype, device, ndim, dims = sig[3], sig[4], sig[6], sig[7:]
    shape = tuple(dims[:min(ndim, _MAX_DIMS)]) + (("...",) if ndim > _MAX_DIMS else ())
    return f"{_DTYPES[dtype]} tensor of shape {shape}" + (f" on {_DEVICES[device]}" if device else "")


def describe(sig):
    """'all_reduce(op=SUM) on a float32 tensor of shape (3,)' for a signature."""
    call, root, op = sig[:3]
    text = _CALLS[call] + (f"(op={ReduceOp(op).name})" if op >= 0 else "")
    if root >= 0:
        text += f" with root rank {root}"
    return f"{text} on a {describe_tensor(sig)}"


def gather_ints(pg, ints, what):
    """Every rank's list of ints (a small all-gather, bounded by the timeout): rows by rank."""
    mine = np.asarray(ints, dtype=np.int64)
    everyone = np.empty((pg.size, mine.size), dtype=np.int64)
    Work(what, [pg.comm.Iallgather(mine, everyone)], pg.timeout).wait()
    return everyone


def _check_agreement(pg, sig):
    """All ranks' signatures, compared; DistBackendError naming each rank's call if they differ."""
    everyone = gather_ints(pg, sig, "the ranks' agreement check")
    if (everyone == everyone[pg.rank]).all():
        return
    lines = "; ".join(f"rank {r}: {describe(row.tolist())}" for r, row in enumerate(everyone))
    raise DistBackendError(f"pyengine.distributed: the ranks called different collectives or passed different "
                           f"tensors (this is rank {pg.rank}): {lines}")


# ----------------------------------------------------------------------- argument checks
def _tensor(t, what, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {name} must be a pyengine Tensor, got {type(t).__name__}")
    if t.dtype.name not in _DTYPES:
        raise TypeError(f"{what}: {name} has dtype {t.dtype}, which the MPI backend cannot carry")
    return t


def _op(op, tensor, what):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a pyengine.distributed.ReduceOp, got {op!r}")
    floating = tensor.is_floating_point()
    if op is ReduceOp.AVG and not floating:
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating-point tensor, got {tensor.dtype}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and floating:
        raise TypeError(f"{what}: ReduceOp.{op.name} needs an integer or bool tensor, got {tensor.dtype}")
    return op


def _rank(pg, rank, what, name):
    """A group rank of backend pg, checked."""
    if rank is None or isinstance(rank, bool) or not isinstance(rank, (int, np.integer)):
        raise TypeError(f"{what}: {name} must be a rank (an int), got {rank!r}")
    if not 0 <= rank < pg.size:
        raise ValueError(f"{what}: {name}={rank} is not a rank of this group of {pg.size} processes")
    return int(rank)


def _same_as(t, ref, what, name):
    _tensor(t, what, name)
    if t.dtype != ref.dtype or tuple(t.shape) != tuple(ref.shape):
        raise ValueError(f"{what}: {name} must have tensor's dtype and shape ({ref.dtype}, {tuple(ref.shape)}), "
                         f"got {t.dtype}, {tuple(t.shape)}")


def _list(tensors, pg, ref, what, name):
    if not isinstance(tensors, (list, tuple)) or len(tensors) != pg.size:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{what}: {name} must be a list of {pg.size} tensors (one per rank), got {got}")
    for i, t in enumerate(tensors):
        _same_as(t, ref, what, f"{name}[{i}]")


def _root_list(pg, root, tensors, ref, what, name, role):
    """gather's and scatter's list: one tensor like `ref` per rank on the root, nothing elsewhere.
    True on the root."""
    if pg.rank == root:
        _list(tensors, pg, ref, what, name)
        return True
    if tensors:
        raise ValueError(f"{what}: {name} must be given on the {role} rank {root} only (this is rank {pg.rank})")
    return False


def _sized(t, ref, count, what, name):
    _tensor(t, what, name)
    if t.dtype != ref.dtype or t.numel() != count:
        raise ValueError(f"{what}: {name} must be a {ref.dtype} tensor of {count} elements, got {t.dtype} "
                         f"with {t.numel()} (shape {tuple(t.shape)})")


def _root(g, rank, group_rank, what, name):
    """The group rank of a root or peer given as a global rank (dst=, src=) or as a group rank
    (group_dst=, group_src=)."""
    if rank is not None and group_rank is not None:
        raise ValueError(f"{what}: give {name} or group_{name}, not both")
    if group_rank is not None:
        return _rank(g.mpi, group_rank, what, f"group_{name}")
    if rank is None or isinstance(rank, bool) or not isinstance(rank, (int, np.integer)):
        raise TypeError(f"{what}: {name} must be a rank (an int), got {rank!r}")
    return g.group_rank(int(rank), what, name)


def _run(work, async_op):
    if async_op:
        return work
    work.wait()


def _begin(what, g, tensor, root=-1, op=None):
    """The backend that carries `tensor` in group g, after the ranks' agreement is checked."""
    pg = g.backend_for(tensor)
    pg.check_usable(tensor)
    if pg.size > 1:
        _check_agreement(pg, signature(what, tensor, root, op))
    return pg


# ----------------------------------------------------------------------- collectives
# Each returns None at once on a rank that is not in `group` (PyTorch's behaviour, with its warning).
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `tensor` over the group's ranks with `op`, in place: afterwards every rank holds the result."""
    _tensor(tensor, "all_reduce")
    _op(op, tensor, "all_reduce")
    g = member_group(group, "all_reduce")
    if g is None:
        return None
    pg = _begin("all_reduce", g, tensor, op=op)
    return _run(pg.start_all_reduce(tensor, op.name), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Combine `tensor` over the group's ranks with `op` into rank dst's tensor (the others' are unchanged)."""
    _tensor(tensor, "reduce")
    _op(op, tensor, "reduce")
    g = member_group(group, "reduce")
    if g is None:
        return None
    dst = _root(g, dst, group_dst, "reduce", "dst")
    pg = _begin("reduce", g, tensor, dst, op)
    return _run(pg.start_reduce(tensor, op.name, dst), async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy rank src's `tensor` into every other rank's `tensor`."""
    _tensor(tensor, "broadcast")
    g = member_group(group, "broadcast")
    if g is None:
        return None
    src = _root(g, src, group_src, "broadcast", "src")
    pg = _begin("broadcast", g, tensor, src)
    return _run(pg.start_broadcast(tensor, src), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] = group rank r's `tensor`, on every rank."""
    _tensor(tensor, "all_gather")
    g = member_group(group, "all_gather")
    if g is None:
        return None
    _list(tensor_list, g.mpi, tensor, "all_gather", "tensor_list")
    pg = _begin("all_gather", g, tensor)
    from ..creation import empty
    gathered = empty((pg.size,) + tuple(tensor.shape), dtype=tensor.dtype, device=tensor.device)
    work = pg.start_all_gather_into(gathered, tensor)
    work._result = list(tensor_list)
    return _run(work.add_final(lambda: _copy_rows(gathered, tensor_list)), async_op)


def _copy_rows(gathered, tensors):
    from .. import _C
    for row, t in zip(gathered, tensors):
        _C.copy_(t._impl, row._impl)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor holds the group's input tensors one after another (size x input's
    elements: shape (size * n, ...) or (size, n, ...))."""
    _tensor(input_tensor, "all_gather_into_tensor", "input_tensor")
    g = member_group(group, "all_gather_into_tensor")
    if g is None:
        return None
    _sized(output_tensor, input_tensor, g.size() * input_tensor.numel(), "all_gather_into_tensor", "output_tensor")
    pg = _begin("all_gather_into_tensor", g, input_tensor)
    return _run(pg.start_all_gather_into(output_tensor, input_tensor), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `input` over the group's ranks with `op`, and give group rank r the r-th of size
    equal parts of the result, in `output`."""
    _tensor(input, "reduce_scatter_tensor", "input")
    _op(op, input, "reduce_scatter_tensor")
    g = member_group(group, "reduce_scatter_tensor")
    if g is None:
        return None
    if input.numel() % g.size():
        raise ValueError(f"reduce_scatter_tensor: input has {input.numel()} elements, which do not split into "
                         f"{g.size()} equal parts")
    _sized(output, input, input.numel() // g.size(), "reduce_scatter_tensor", "output")
    pg = _begin("reduce_scatter_tensor", g, input, op=op)
    return _run(pg.start_reduce_scatter_into(output, input, op.name), async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """On rank dst, gather_list[r] = group rank r's `tensor`; the other ranks pass no gather_list."""
    _tensor(tensor, "gather")
    g = member_group(group, "gather")
    if g is None:
        return None
    dst = _root(g, dst, group_dst, "gather", "dst")
    gathered = None
    if _root_list(g.mpi, dst, gather_list, tensor, "gather", "gather_list", "destination"):
        from ..creation import empty
        gathered = empty((g.size(),) + tuple(tensor.shape), dtype=tensor.dtype, device=tensor.device)
    pg = _begin("gather", g, tensor, dst)
    work = pg.start_gather_into(gathered, tensor, dst)
    if gathered is not None:
        work.add_final(lambda: _copy_rows(gathered, gather_list))
    return _run(work, async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Group rank r's `tensor` = rank src's scatter_list[r]; the other ranks pass no scatter_list."""
    _tensor(tensor, "scatter")
    g = member_group(group, "scatter")
    if g is None:
        return None
    src = _root(g, src, group_src, "scatter", "src")
    source = None
    if _root_list(g.mpi, src, scatter_list, tensor, "scatter", "scatter_list", "source"):
        from ..ops.shape import stack
        source = stack(list(scatter_list)).detach()
    pg = _begin("scatter", g, tensor, src)
    return _run(pg.start_scatter_from(tensor, source, src), async_op)


# ----------------------------------------------------------------------- point to point
def _tag(tag, what):
    if isinstance(tag, bool) or not isinstance(tag, (int, np.integer)) or not 0 <= tag < 2 ** 20:
        raise ValueError(f"{what}: tag must be an int in [0, 2**20), got {tag!r}")
    return int(tag)


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending `tensor` to rank dst; returns a Work (wait() before changing the tensor)."""
    _tensor(tensor, "isend")
    g = member_group(group, "isend")
    if g is None:
        return None
    dst = _root(g, dst, group_dst, "isend", "dst")
    return g.backend_for(tensor).start_send(tensor, signature("send", tensor), dst, _tag(tag, "isend"))


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into `tensor` from rank src (None: any rank); returns a Work. A sender
    whose tensor differs in dtype or shape makes wait() raise DistBackendError."""
    _tensor(tensor, "irecv")
    g = member_group(group, "irecv")
    if g is None:
        return None
    pg = g.backend_for(tensor)
    src = None if src is None and group_src is None else _root(g, src, group_src, "irecv", "src")
    mine = signature("send", tensor)
    return pg.start_recv(tensor, mine, src, _tag(tag, "irecv"), _recv_mismatch(g, mine))


def _recv_mismatch(g, mine):
    """mismatch(theirs, sender): the error of a receive whose sender (a group rank) sent a tensor
    unlike this rank's (signature `mine`), in global ranks."""
    def mismatch(theirs, sender):
        return DistBackendError(f"pyengine.distributed: rank {g.ranks[g.rank()]} expected to receive a "
                                f"{describe_tensor(mine)}, rank {g.ranks[sender]} sent a {describe_tensor(theirs)}")
    return mismatch


class P2POp:
    """One send or receive for batch_isend_irecv: op is isend or irecv, peer the other rank."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError(f"P2POp: op must be pyengine.distributed.isend or irecv, got {op!r}")
        _tensor(tensor, "P2POp")
        if peer is None and group_peer is None:
            raise ValueError("P2POp: peer must be given (the rank to send to or receive from)")
        self.op, self.tensor, self.peer, self.group_peer, self.tag = op, tensor, peer, group_peer, _tag(tag, "P2POp")
        self.group = group


def batch_isend_irecv(p2p_op_list):
    """Start every send and receive in the list at once; returns their Works. On the 'nccl'
    backend they run as one NCCL group: the way for two ranks to exchange CUDA tensors both ways
    (a lone NCCL send waits for its receive, so isend-then-recv on both ranks would deadlock)."""
    ops = list(p2p_op_list) if isinstance(p2p_op_list, (list, tuple)) else None
    if not ops or not all(isinstance(p, P2POp) for p in ops):
        raise ValueError(f"batch_isend_irecv: p2p_op_list must be a non-empty list of P2POp, got {p2p_op_list!r}")
    if len({p.tensor.device.type for p in ops}) > 1 or len({id(p.group) for p in ops}) > 1:
        raise ValueError("batch_isend_irecv: the ops must all have one group and one device type (one backend "
                         "carries them)")
    g = member_group(ops[0].group, "batch_isend_irecv")
    if g is None:
        return None
    pg = g.backend_for(ops[0].tensor)
    if not hasattr(pg, "start_batch"):  # MPI: non-blocking sends and receives never wait for each other
        return Work.batch(p.op(p.tensor, p.peer, group=p.group, tag=p.tag, **{
            ("group_dst" if p.op is isend else "group_src"): p.group_peer}) for p in ops)
    items = []
    for p in ops:
        sending = p.op is isend
        peer = _root(g, p.peer, p.group_peer, "batch_isend_irecv", "peer")
        mine = signature("send", p.tensor)
        items.append((sending, p.tensor, mine, peer, p.tag, _recv_mismatch(g, mine)))
    return pg.start_batch(items)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send `tensor` to rank dst; returns once it is delivered or buffered."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into `tensor` from rank src (None: any rank); returns the sender's global rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return resolve_group(group, "recv").ranks[work.source]
