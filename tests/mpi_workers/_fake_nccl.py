"""A stand-in for libnccl.so.2 on the emulated GPU, whose device memory is host memory: the same
functions, arguments and result codes as nccl.h (pyengine's ctypes prototypes are checked
against the real header elsewhere), doing each collective with mpi4py on the memory at the
pointers it is given. It lets the 'nccl' backend's own logic - communicator bootstrap, pointers,
counts, dtypes, ops, groups of point-to-point calls, strided staging, async errors, the watchdog
- run under mpiexec without a GPU.

Like a GPU stream, a call does its communication before it returns (the emulated stream is
synchronous), so a peer that never joins keeps the call waiting - until ncclCommAbort, which the
watchdog calls from its thread, makes it give up. Test hooks: `hang_next_s` (this rank joins the
next collective that many seconds late: a stuck GPU), `error_after_next` (an error code that
ncclCommGetAsyncError reports once the next collective has run: a GPU fault), and `calls`
(every call's name and pointers)."""
import ctypes
import os
import threading
import time

import numpy as np
from mpi4py import MPI

SUCCESS, INTERNAL_ERROR, INVALID_ARGUMENT = 0, 3, 4
VERSION = 22003  # 2.20.3
_NP = {0: np.int8, 1: np.uint8, 2: np.int32, 4: np.int64, 6: np.float16, 7: np.float32, 8: np.float64, 9: "bf16"}
_ITEMSIZE = {0: 1, 1: 1, 2: 4, 4: 8, 6: 2, 7: 4, 8: 8, 9: 2}
_TAG = 7777


def _out(ref):
    """The object behind ctypes.byref(x) (a CArgObject) or a pointer."""
    return ref._obj if hasattr(ref, "_obj") else ref.contents


def _raw(ptr, count, dtype):
    """A NumPy view of `count` elements at device (= host) address ptr; bfloat16 as uint16 bits."""
    nbytes = count * _ITEMSIZE[dtype]
    if nbytes == 0:
        return np.empty(0, dtype=np.uint16 if dtype == 9 else _NP[dtype])
    buf = (ctypes.c_char * nbytes).from_address(ptr)
    return np.frombuffer(buf, dtype=np.uint16 if dtype == 9 else _NP[dtype])


def _widen(a, dtype):
    """Values to reduce: 16-bit floats in float32 (as NCCL accumulates them)."""
    if dtype == 9:
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32) if dtype == 6 else a.copy()


def _narrow(values, dtype):
    if dtype == 9:  # round to nearest even
        bits = values.astype(np.float32).view(np.uint32)
        return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return values.astype(np.float16) if dtype == 6 else values


class _Comm:
    def __init__(self, mpi, rank, size):
        self.mpi, self.rank, self.size = mpi, rank, size
        self.aborted = False
        self.abandoned = []  # requests left behind by an abort (completed at drain())


class FakeNccl:
    def __init__(self):
        self.comms = {}
        self.calls = []
        self.hang_next_s = 0.0
        self.error_after_next = SUCCESS
        self.async_error = SUCCESS
        self.aborts = 0
        self._group = None
        self._lock = threading.Lock()

    # ----- bookkeeping -----
    def _comm(self, handle):
        return self.comms[handle if isinstance(handle, int) else handle.value]

    def _late(self):
        """A stuck GPU: this rank starts the collective hang_next_s late."""
        if self.hang_next_s:
            time.sleep(self.hang_next_s)
            self.hang_next_s = 0.0

    def _wait(self, comm, requests):
        """Poll like a GPU kernel spinning on its peers, until done or the communicator is aborted."""
        while not MPI.Request.Testall(requests):
            if comm.aborted:
                comm.abandoned += requests
                return
            time.sleep(1e-4)
        self.async_error, self.error_after_next = self.error_after_next or self.async_error, SUCCESS

    # ----- nccl.h -----
    def ncclGetVersion(self, version):
        _out(version).value = VERSION
        return SUCCESS

    def ncclGetUniqueId(self, uid):
        # like NCCL's, the id says where the communicator's rank 0 is: here, its MPI world rank
        _out(uid).internal = f"fake-nccl:{MPI.COMM_WORLD.Get_rank()}:{os.urandom(8).hex()}".encode()
        return SUCCESS

    def ncclCommInitRank(self, comm_out, nranks, uid, rank):
        """NCCL's bootstrap, over MPI_COMM_WORLD: every rank tells rank 0 (found from the id) who
        it is, rank 0 answers with the member list, and the members make their communicator."""
        world = MPI.COMM_WORLD
        _, root, nonce = bytes(uid.internal).decode().split(":")
        tag = 1000 + int(nonce, 16) % 30000
        if rank == 0:
            members = [world.Get_rank()] + [None] * (nranks - 1)
            for _ in range(nranks - 1):
                their_rank, their_world_rank = world.recv(source=MPI.ANY_SOURCE, tag=tag)
                members[their_rank] = their_world_rank
            for r in members[1:]:
                world.send(members, dest=r, tag=tag)
        else:
            world.send((rank, world.Get_rank()), dest=int(root), tag=tag)
            members = world.recv(source=int(root), tag=tag)
        if None in members or members[rank] != world.Get_rank():
            return INVALID_ARGUMENT
        mpi = world.Create_group(world.Get_group().Incl(members))
        handle = len(self.comms) + 1
        self.comms[handle] = _Comm(mpi, rank, nranks)
        _out(comm_out).value = handle
        self.calls.append(("ncclCommInitRank", nranks, rank))
        return SUCCESS

    def ncclCommDestroy(self, handle):
        comm = self.comms.pop(handle if isinstance(handle, int) else handle.value)
        comm.mpi.Free()
        return SUCCESS

    def ncclCommAbort(self, handle):
        with self._lock:
            self._comm(handle).aborted = True
            self.aborts += 1
        return SUCCESS

    def ncclCommGetAsyncError(self, handle, result):
        _out(result).value = self.async_error
        return SUCCESS

    def ncclGetErrorString(self, result):
        return {SUCCESS: b"no error", INTERNAL_ERROR: b"internal error - please report this issue to the NCCL "
                b"developers", INVALID_ARGUMENT: b"invalid argument (run with NCCL_DEBUG=WARN for details)"
                }.get(result, b"unknown result code")

    def ncclGetLastError(self, handle):
        return b"fake NCCL: injected error" if self.async_error else b""

    def _reduce(self, comm, send, recv, count, dtype, op, root=None):
        ops = {0: MPI.SUM, 1: MPI.PROD, 2: MPI.MAX, 3: MPI.MIN, 4: MPI.SUM}
        self._late()
        mine = _widen(_raw(send, count, dtype), dtype)
        total = np.empty_like(mine)
        if root is None:
            request = comm.mpi.Iallreduce(mine, total, ops[op])
        else:
            request = comm.mpi.Ireduce(mine, total, ops[op], root=root)
        self._wait(comm, [request])
        if comm.aborted or (root is not None and comm.rank != root):
            return SUCCESS
        if op == 4:
            total = total / comm.size if total.dtype.kind == "f" else total // comm.size
        _raw(recv, count, dtype)[...] = _narrow(total, dtype)
        return SUCCESS

    def ncclAllReduce(self, send, recv, count, dtype, op, comm, stream):
        self.calls.append(("ncclAllReduce", send, recv, count, dtype, op))
        return self._reduce(self._comm(comm), send, recv, count, dtype, op)

    def ncclReduce(self, send, recv, count, dtype, op, root, comm, stream):
        self.calls.append(("ncclReduce", send, recv, count, dtype, op, root))
        return self._reduce(self._comm(comm), send, recv, count, dtype, op, root)

    def ncclBroadcast(self, send, recv, count, dtype, root, comm, stream):
        self.calls.append(("ncclBroadcast", send, recv, count, dtype, root))
        c = self._comm(comm)
        self._late()
        data = _raw(send if c.rank == root else recv, count, dtype).copy()
        self._wait(c, [c.mpi.Ibcast(data, root=root)])
        if not c.aborted:
            _raw(recv, count, dtype)[...] = data
        return SUCCESS

    def ncclAllGather(self, send, recv, sendcount, dtype, comm, stream):
        self.calls.append(("ncclAllGather", send, recv, sendcount, dtype))
        c = self._comm(comm)
        self._late()
        mine = _raw(send, sendcount, dtype).copy()
        everyone = np.empty(sendcount * c.size, dtype=mine.dtype)
        self._wait(c, [c.mpi.Iallgather(mine, everyone)])
        if not c.aborted:
            _raw(recv, sendcount * c.size, dtype)[...] = everyone
        return SUCCESS

    def ncclReduceScatter(self, send, recv, recvcount, dtype, op, comm, stream):
        self.calls.append(("ncclReduceScatter", send, recv, recvcount, dtype, op))
        c = self._comm(comm)
        scratch = np.empty(recvcount * c.size, dtype=np.uint16 if dtype == 9 else _NP[dtype])
        addr = scratch.ctypes.data if scratch.size else 0
        self._reduce(c, send, addr, recvcount * c.size, dtype, op)
        if not c.aborted:
            _raw(recv, recvcount, dtype)[...] = scratch[c.rank * recvcount:(c.rank + 1) * recvcount]
        return SUCCESS

    # point to point: queued inside a group, started together at ncclGroupEnd
    def ncclSend(self, send, count, dtype, peer, comm, stream):
        self.calls.append(("ncclSend", send, count, dtype, peer))
        return self._p2p(comm, lambda c: c.mpi.Isend(_raw(send, count, dtype).copy(), dest=peer, tag=_TAG))

    def ncclRecv(self, recv, count, dtype, peer, comm, stream):
        self.calls.append(("ncclRecv", recv, count, dtype, peer))
        return self._p2p(comm, lambda c: c.mpi.Irecv(_raw(recv, count, dtype), source=peer, tag=_TAG))

    def _p2p(self, handle, start):
        c = self._comm(handle)
        self._late()
        if self._group is None:
            self._wait(c, [start(c)])
        else:
            self._group.append((c, start))
        return SUCCESS

    def ncclGroupStart(self):
        self._group = []
        return SUCCESS

    def ncclGroupEnd(self):
        group, self._group = self._group, None
        started = [(c, start(c)) for c, start in group]
        if started:
            self._wait(started[0][0], [r for _, r in started])
        return SUCCESS

    def drain(self):
        """Let collectives an abort left behind finish (the late peer joins them) before MPI ends."""
        for c in self.comms.values():
            MPI.Request.Waitall(c.abandoned)


def install():
    """Make pyengine's 'nccl' backend use a FakeNccl; returns it."""
    from pyengine.distributed import _nccl_lib
    fake = FakeNccl()
    _nccl_lib.use_library(fake)
    return fake
