"""Every collective against the result computed from what each rank must have held: float32,
float64 and int64 (plus the 16-bit floats and bool for all_reduce), contiguous and strided
tensors, sizes 0, 1 and several MiB; the argument checks; async_op. Usage: collectives.py OUT_DIR"""
import os

import numpy as np

import pyengine as pe
import pyengine.distributed as dist
from _collective_checks import DTYPES, SIZES, check_every_collective
from _common import Checks, out_dir, raises, start

rank, world = start()
check = Checks(rank)


for dtype in DTYPES:
    for n in SIZES:
        check_every_collective(check, rank, world, dtype, n, "cpu")

# all_to_all_single with uneven parts: rank r sends (r + 2j) % 3 rows of 2 to rank j, values saying
# who sent them to whom
def part(src, dst):
    rows = (src + 2 * dst) % 3
    return np.arange(rows * 2, dtype=np.float64).reshape(rows, 2) + 1000 * src + 100 * dst


for strided in (False, True):
    src = np.concatenate([part(rank, j) for j in range(world)])
    t_in = pe.tensor(src) if not strided else pe.tensor(np.asfortranarray(src)).t().contiguous().t()
    want = np.concatenate([part(j, rank) for j in range(world)])
    out = pe.full(want.shape, -1.0, dtype=pe.float64)
    dist.all_to_all_single(out, t_in, output_split_sizes=[(j + 2 * rank) % 3 for j in range(world)],
                           input_split_sizes=[(rank + 2 * j) % 3 for j in range(world)])
    check(f"all_to_all_single uneven strided={strided}", np.array_equal(out.numpy(), want))

# the half types and bool: reduced in float32 / logically
for dtype in ("float16", "bfloat16"):
    t = pe.full((3, 4), 0.5 + rank, dtype=getattr(pe, dtype)).t()  # strided too
    dist.all_reduce(t)
    want = sum(0.5 + r for r in range(world))
    check(f"all_reduce {dtype}", t.dtype == getattr(pe, dtype) and np.allclose(t.float().numpy(), want))
flags = pe.tensor([rank == 0, False, True])
dist.all_reduce(flags)  # SUM on bool: any
check("all_reduce bool SUM", flags.tolist() == [True, False, True])
flags = pe.tensor([rank == 0, False, True])
dist.all_reduce(flags, dist.ReduceOp.PRODUCT)  # all
check("all_reduce bool PRODUCT", flags.tolist() == [world == 1, False, True])
bits = pe.tensor([1 << rank, 0b1111], dtype=pe.int64)
dist.all_reduce(bits, dist.ReduceOp.BOR)
check("all_reduce BOR", bits.tolist() == [(1 << world) - 1, 0b1111])

# zero-copy: a contiguous CPU tensor's own storage is what MPI wrote
t = pe.ones(4)
ptr = t.data_ptr()
dist.all_reduce(t)
check("all_reduce in place, same storage", t.data_ptr() == ptr and t.tolist() == [float(world)] * 4)

# a collective writes its tensor in place: autograd's version counter moves, as for any in-place op
t = pe.ones(3)
v = t._version
dist.all_reduce(t)
sent = pe.ones(2)
sv = sent._version
if world > 1:
    w = dist.isend(sent, dst=(rank + 1) % world, tag=5)
    dist.recv(pe.zeros(2), src=(rank - 1) % world, tag=5)
    w.wait()
check("version bumped", t._version > v and sent._version == sv)

# async_op: Work handles
works = []
tensors = [pe.full((1000,), float(rank)) for _ in range(4)]
for t in tensors:
    works.append(dist.all_reduce(t, async_op=True))
check("async Work type", all(isinstance(w, dist.Work) for w in works))
for w in works:
    check("async wait", w.wait() is True and w.is_completed() and w.is_success())
want = float(sum(range(world)))
check("async results", all(t[0].item() == want and t[-1].item() == want for t in tensors))
w = dist.barrier(async_op=True)
check("async barrier", w.wait() and w.is_completed())
check("blocking returns None", dist.all_reduce(pe.ones(1)) is None and dist.barrier() is None)

# argument errors: raised on this rank before anything is sent


check("bad op", raises(TypeError, lambda: dist.all_reduce(pe.ones(2), "sum"), "ReduceOp"))
check("AVG on ints", raises(TypeError, lambda: dist.all_reduce(pe.ones(2, dtype=pe.int64), dist.ReduceOp.AVG),
                           "floating-point"))
check("BAND on floats", raises(TypeError, lambda: dist.all_reduce(pe.ones(2), dist.ReduceOp.BAND), "integer"))
check("not a tensor", raises(TypeError, lambda: dist.all_reduce(np.ones(2)), "pyengine Tensor"))
check("bad src", raises(ValueError, lambda: dist.broadcast(pe.ones(2), src=world), f"src={world}"))
check("no src", raises(TypeError, lambda: dist.broadcast(pe.ones(2)), "src must be a rank"))
check("short list", raises(ValueError, lambda: dist.all_gather([pe.ones(2)] * (world + 1), pe.ones(2)),
                           f"list of {world} tensors"))
check("list shape", raises(ValueError, lambda: dist.all_gather([pe.ones(3)] * world, pe.ones(2)), "shape"))
check("output size", raises(ValueError, lambda: dist.all_gather_into_tensor(pe.ones(world * 2 + 1), pe.ones(2)),
                            f"{world * 2} elements"))
check("uneven scatter", raises(ValueError, lambda: dist.reduce_scatter_tensor(pe.ones(1), pe.ones(world + 1)),
                               "equal parts") or world == 1)
if world > 1:  # each rank names another rank as the root, and passes a list only a root may pass
    other = (rank + 1) % world
    check("gather_list off the root", raises(ValueError, lambda: dist.gather(pe.ones(2), [pe.ones(2)] * world,
                                                                             dst=other), "destination rank"))
    check("scatter_list off the root", raises(ValueError, lambda: dist.scatter(pe.ones(2), [pe.ones(2)] * world,
                                                                               src=other), "source rank"))
check("P2POp op", raises(ValueError, lambda: dist.P2POp(dist.send, pe.ones(1), 0), "isend or irecv"))
check("empty batch", raises(ValueError, lambda: dist.batch_isend_irecv([]), "non-empty list of P2POp"))
check("all_to_all_single splits", raises(ValueError, lambda: dist.all_to_all_single(
    pe.zeros(world), pe.zeros(world), input_split_sizes=[world + 1] + [0] * (world - 1)), "summing to input's"))
check("all_to_all list", raises(ValueError, lambda: dist.all_to_all([pe.zeros(1)], [pe.zeros(1)] * world)
                                if world > 1 else dist.all_to_all([], []), f"list of {world} tensors"))
check("other group", raises(ValueError, lambda: dist.all_reduce(pe.ones(1), group="g"), "group"))
check("second init", raises(ValueError, lambda: dist.init_process_group("mpi"), "twice"))

# Python objects
objs = [None] * world
dist.all_gather_object(objs, {"rank": rank, "name": "r" * rank, "values": list(range(rank))})
check("all_gather_object", objs == [{"rank": r, "name": "r" * r, "values": list(range(r))} for r in range(world)])
box = [{"lr": 0.1, "rank": rank}, "config", None] if rank == world - 1 else [None, None, None]
dist.broadcast_object_list(box, src=world - 1)
check("broadcast_object_list", box == [{"lr": 0.1, "rank": world - 1}, "config", None])
check("all_gather_object list length", raises(ValueError, lambda: dist.all_gather_object([None], 1) if world > 1
                                              else dist.all_gather_object([], 1), f"list of {world} entries"))

# ranks that disagree: every rank learns what every rank passed
if world > 1:
    msg = ""
    try:  # rank 0 expects one row more from rank 1 than rank 1 sends it
        splits = [1] * world
        out_splits = [1, 2] + [1] * (world - 2) if rank == 0 else splits
        dist.all_to_all_single(pe.zeros(sum(out_splits), 3), pe.zeros(world, 3), out_splits, splits)
    except dist.DistBackendError as e:
        msg = str(e)
    check("all_to_all sizes disagree", "rank 1 sends 3 elements to rank 0, which expects 6 from it" in msg, msg)
if world > 1:
    msg = ""
    try:
        dist.all_reduce(pe.zeros(3 + rank))
    except dist.DistBackendError as e:
        msg = str(e)
    check("shape mismatch detected", all(f"rank {r}: all_reduce(op=SUM) on a float32 tensor of shape ({3 + r},)"
                                         in msg for r in range(world)), msg)
    try:
        dist.broadcast(pe.zeros(2), src=0) if rank == 0 else dist.all_reduce(pe.zeros(2))
        msg = ""
    except dist.DistBackendError as e:
        msg = str(e)
    check("different collectives detected", "broadcast with root rank 0" in msg and "all_reduce" in msg, msg)
    try:
        dist.all_reduce(pe.zeros(2, dtype=pe.float64 if rank else pe.float32))
        msg = ""
    except dist.DistBackendError as e:
        msg = str(e)
    check("dtype mismatch detected", "float64" in msg and "float32" in msg, msg)
    if rank in (0, 1):  # a receiver whose tensor does not match the sender's
        try:
            if rank == 0:
                dist.send(pe.zeros(4), dst=1, tag=9)
            else:
                dist.recv(pe.zeros(5), src=0, tag=9)
            msg = ""
        except dist.DistBackendError as e:
            msg = str(e)
        check("recv mismatch", rank == 0 or ("shape (5,)" in msg and "shape (4,)" in msg), msg)
    # after the errors, the group still works
    t = pe.ones(2)
    dist.all_reduce(t)
    check("usable after errors", t.tolist() == [float(world)] * 2)

dist.destroy_process_group()
check("destroyed", not dist.is_initialized())
check("world_size must match the launcher's", raises(ValueError, lambda: dist.init_process_group(
    "mpi", world_size=world + 1), f"world_size={world + 1} was given") and not dist.is_initialized())
os.environ["WORLD_SIZE"] = str(world + 2)  # as torchrun would set it, disagreeing with mpiexec
check("torchrun's WORLD_SIZE must match", raises(ValueError, lambda: dist.init_process_group("gloo"),
                                                 "WORLD_SIZE=" + str(world + 2)) and not dist.is_initialized())
os.environ["WORLD_SIZE"], os.environ["RANK"] = str(world), str(rank)
# agreeing values are accepted, "gloo" is the CPU backend, and a second group works
dist.init_process_group("gloo", rank=rank, world_size=world)
check("gloo is mpi", dist.get_backend() == "mpi")
t = pe.ones(1)
dist.all_reduce(t)
check("re-initialized", t.item() == world)
dist.destroy_process_group()
check.report(out_dir())
