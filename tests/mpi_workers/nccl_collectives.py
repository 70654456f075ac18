"""The 'nccl' backend on the emulated GPU, with _fake_nccl standing in for libnccl: every
collective on CUDA tensors against the math, what reaches NCCL (pointers, counts, dtypes, ops),
CPU tensors still over MPI, the dtype/op rules, DDP of a CUDA model, and the errors.
Usage: nccl_collectives.py OUT_DIR"""
import numpy as np

import _fake_nccl
import pyengine as pe
import pyengine.distributed as dist
from _ddp_models import ddp_matches_one_process
from _collective_checks import DTYPES, SIZES, check_every_collective
from _common import Checks, out_dir, raises, start

fake = _fake_nccl.install()
rank, world = start(backend="nccl")
check = Checks(rank)




check("backend name", dist.get_backend() == "nccl")
check("no communicator before a CUDA tensor", not fake.comms)
for dtype in DTYPES:
    for n in SIZES:
        check_every_collective(check, rank, world, dtype, n, "cuda")
check("one communicator, made once", [c for c in fake.calls if c[0] == "ncclCommInitRank"] == [
    ("ncclCommInitRank", world, rank)])

# what NCCL is given: the tensor's own device memory, its count, NCCL's codes for dtype and op
t = pe.ones(6, device="cuda")
fake.calls.clear()
dist.all_reduce(t, dist.ReduceOp.AVG)
check("zero copy: the tensor's pointer, in place", fake.calls == [
    ("ncclAllReduce", t.data_ptr(), t.data_ptr(), 6, 7, 4)], fake.calls)
check("AVG", t.cpu().tolist() == [1.0] * 6)

# CPU tensors still travel over MPI in an 'nccl' group (NCCL is not called)
fake.calls.clear()
c = pe.full((3,), float(rank))
dist.all_reduce(c)
check("CPU tensors over MPI", not fake.calls and c.tolist() == [float(sum(range(world)))] * 3)

# the half types go to NCCL as they are (ncclFloat16, ncclBfloat16)
for dtype, code in (("float16", 6), ("bfloat16", 9)):
    t = pe.full((3, 4), 0.5 + rank, dtype=getattr(pe, dtype), device="cuda").t()  # strided too
    fake.calls.clear()
    dist.all_reduce(t)
    want = sum(0.5 + r for r in range(world))
    check(f"all_reduce {dtype}", t.dtype == getattr(pe, dtype) and np.allclose(t.float().cpu().numpy(), want)
          and fake.calls[0][4] == code, fake.calls)

# bool as uint8: SUM/MAX are "any" (ncclMax), PRODUCT/MIN "all" (ncclMin)
flags = pe.tensor([rank == 0, False, True], device="cuda")
dist.all_reduce(flags)
check("all_reduce bool SUM", flags.cpu().tolist() == [True, False, True])
flags = pe.tensor([rank == 0, False, True], device="cuda")
dist.all_reduce(flags, dist.ReduceOp.PRODUCT)
check("all_reduce bool PRODUCT", flags.cpu().tolist() == [world == 1, False, True])
# what NCCL cannot do, said before anything is sent
check("no bitwise ops", raises(TypeError, lambda: dist.all_reduce(pe.ones(2, dtype=pe.int64, device="cuda"),
                                                                  dist.ReduceOp.BOR), "NCCL has no bitwise"))
check("no int16", raises(TypeError, lambda: dist.all_reduce(pe.ones(2, dtype=pe.int16, device="cuda")),
                         "NCCL cannot carry pyengine.int16"))
check("usable after argument errors", dist.all_reduce(pe.ones(1, device="cuda")) is None)

# async work: the event after the NCCL call
works = [dist.all_reduce(pe.full((100,), float(rank), device="cuda"), async_op=True) for _ in range(3)]
check("async", all(w.wait() and w.is_completed() and w.is_success() for w in works))

# DDP of a CUDA model: its buckets go over NCCL, and it equals one process on the whole batch
fake.calls.clear()
diff, _ = ddp_matches_one_process(rank, world, "cuda", bucket_cap_mb=0.0001)
names = [c[0] for c in fake.calls]
check("DDP over NCCL", names.count("ncclBroadcast") >= 1 and names.count("ncclAllReduce") >= 2 * 2, names)
check("DDP equals one process", diff < 1e-5, diff)

# ranks that pass tensors on different devices: the agreement check names them
if world > 1:
    msg = ""
    try:
        dist.all_reduce(pe.zeros(2, device="cuda" if rank == 0 else "cpu"))
    except dist.DistBackendError as e:
        msg = str(e)
    check("device mismatch detected", "rank 0: all_reduce(op=SUM) on a float32 tensor of shape (2,) on cuda; rank 1: "
          "all_reduce(op=SUM) on a float32 tensor of shape (2,)" in msg and msg.count(" on cuda") == 1, msg)

# an error NCCL reports asynchronously (a GPU fault, a lost peer): raised, the communicator aborted
if world > 1:
    t = pe.ones(2, device="cuda")
    if rank == 0:
        fake.error_after_next = _fake_nccl.INTERNAL_ERROR
    msg = ""
    try:
        dist.all_reduce(t)
    except dist.DistBackendError as e:
        msg = str(e)
    if rank == 0:
        check("async error raised", "NCCL reported an error: internal error" in msg and "injected" in msg
              and fake.aborts == 1, msg)
        check("aborted communicator refuses", raises(dist.DistBackendError, lambda: dist.all_reduce(t), "aborted"))
    else:
        check("peer unaffected", msg == "" and t.cpu().tolist() == [float(world)] * 2, msg)

dist.destroy_process_group()
check("destroyed", not dist.is_initialized() and (rank == 0 and world > 1 or not fake.comms))
check.report(out_dir())
