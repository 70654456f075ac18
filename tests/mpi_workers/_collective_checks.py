"""Every collective and point-to-point call checked against the values every rank must hold, for
one dtype and size, contiguous and strided, on one device: shared by the MPI backend's worker
(CPU tensors) and the NCCL backend's (CUDA tensors)."""
import numpy as np

import pyengine as pe
import pyengine.distributed as dist

SIZES = (0, 1, 5, 2 * 1024 * 1024 + 3)  # the last: 8 MiB of float32 (16 of float64/int64)
DTYPES = ("float32", "float64", "int64")
OPS = {"SUM": lambda xs: np.sum(xs, axis=0), "MAX": lambda xs: np.max(xs, axis=0),
       "MIN": lambda xs: np.min(xs, axis=0), "PRODUCT": lambda xs: np.prod(xs, axis=0)}


def value(r, n, dtype):
    """Rank r's data of n elements (small integers: sums and products are exact in every dtype)."""
    a = (np.arange(n) % 7 + r + 1) * (1 if r % 2 == 0 else -1)
    return a.astype(dtype)


def as_tensor(a, strided, device="cpu"):
    """a pyengine tensor equal to `a` on `device`; strided: a non-contiguous view of a bigger tensor."""
    if not strided:
        return pe.tensor(a, device=device)
    big = pe.zeros(2 * a.size, dtype=getattr(pe, str(a.dtype)), device=device)
    view = big[::2]
    view.copy_(pe.tensor(a, device=device))
    assert not view.is_contiguous() or a.size <= 1
    return view


def check_every_collective(check, rank, world, dtype, n, device):
    """check(name, ok, detail) for each collective on rank `rank` of `world`."""
    def host(t):
        assert t.device.type == device, (t.device, device)
        return t.cpu().numpy()

    def tensor(a, strided):
        return as_tensor(a, strided, device)

    everyone = np.stack([value(r, n, dtype) for r in range(world)])
    for strided in (False, True):
        tag = f"{dtype} n={n} strided={strided} {device}"
        for opname, fn in OPS.items():
            if opname == "PRODUCT" and n > 100:
                continue
            t = tensor(value(rank, n, dtype), strided)
            dist.all_reduce(t, getattr(dist.ReduceOp, opname))
            check(f"all_reduce {opname} {tag}", np.array_equal(host(t), fn(everyone)))
        if dtype != "int64":
            t = tensor(value(rank, n, dtype), strided)
            dist.all_reduce(t, dist.ReduceOp.AVG)
            check(f"all_reduce AVG {tag}", np.allclose(host(t), everyone.mean(0)))
        for src in range(world):
            t = tensor(value(rank, n, dtype), strided)
            dist.broadcast(t, src=src)
            check(f"broadcast src={src} {tag}", np.array_equal(host(t), everyone[src]))
        outs = [tensor(np.zeros(n, dtype), strided) for _ in range(world)]
        dist.all_gather(outs, tensor(value(rank, n, dtype), strided))
        check(f"all_gather {tag}", all(np.array_equal(host(o), everyone[r]) for r, o in enumerate(outs)))
        out = tensor(np.zeros(world * n, dtype), strided)
        dist.all_gather_into_tensor(out, tensor(value(rank, n, dtype), strided))
        check(f"all_gather_into_tensor {tag}", np.array_equal(host(out), everyone.reshape(-1)))
        full = np.stack([value(r, world * n, dtype) for r in range(world)])
        out = tensor(np.zeros(n, dtype), strided)
        dist.reduce_scatter_tensor(out, tensor(value(rank, world * n, dtype), strided))
        check(f"reduce_scatter_tensor {tag}", np.array_equal(host(out), full.sum(0)[rank * n:(rank + 1) * n]))
        dst = world - 1
        gl = [tensor(np.zeros(n, dtype), strided) for _ in range(world)] if rank == dst else None
        dist.gather(tensor(value(rank, n, dtype), strided), gl, dst=dst)
        if rank == dst:
            check(f"gather {tag}", all(np.array_equal(host(o), everyone[r]) for r, o in enumerate(gl)))
        t = tensor(np.zeros(n, dtype), strided)
        sl = [tensor(value(r, n, dtype), strided) for r in range(world)] if rank == 0 else None
        dist.scatter(t, sl, src=0)
        check(f"scatter {tag}", np.array_equal(host(t), everyone[rank]))
        t = tensor(value(rank, n, dtype), strided)
        dist.reduce(t, dst=0, op=dist.ReduceOp.SUM)
        check(f"reduce {tag}", np.array_equal(host(t), everyone.sum(0) if rank == 0 else everyone[rank]))
        # all to all: equal parts of n rows; the list form with parts of different shapes
        out = tensor(np.zeros(world * n, dtype), strided)
        dist.all_to_all_single(out, tensor(value(rank, world * n, dtype), strided))
        check(f"all_to_all_single {tag}", np.array_equal(host(out), np.concatenate(
            [value(j, world * n, dtype)[rank * n:(rank + 1) * n] for j in range(world)])))
        if n <= 5:
            outs = [tensor(np.zeros((j + 1) * n, dtype), strided) for j in range(world)]
            ins = [tensor(value(rank * world + j, (rank + 1) * n, dtype), strided) for j in range(world)]
            dist.all_to_all(outs, ins)
            check(f"all_to_all {tag}", all(np.array_equal(host(o), value(j * world + rank, (j + 1) * n, dtype))
                                           for j, o in enumerate(outs)))
        # point to point around the ring: isend + recv (MPI), one batch (both backends: on NCCL a
        # lone send waits for its receive, so only a batch can send and receive at once)
        nxt, prv = (rank + 1) % world, (rank - 1) % world
        if device == "cpu":
            t = tensor(np.zeros(n, dtype), strided)
            send = dist.isend(tensor(value(rank, n, dtype), strided), dst=nxt, tag=3)
            got = dist.recv(t, src=prv, tag=3)
            send.wait()
            check(f"send/recv {tag}", got == prv and np.array_equal(host(t), everyone[prv]))
        t = tensor(np.zeros(n, dtype), strided)
        works = dist.batch_isend_irecv([dist.P2POp(dist.isend, tensor(value(rank, n, dtype), strided), nxt, tag=4),
                                        dist.P2POp(dist.irecv, t, prv, tag=4)])
        for w in works:
            w.wait()
        check(f"batch_isend_irecv {tag}", np.array_equal(host(t), everyone[prv]))
